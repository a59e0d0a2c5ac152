/**
 * The canary benchmark: simulated rollouts (error-rate and latency regressions of several sizes),
 * six decision rules side by side on the same data, and a CPU micro-benchmark of one analysis.
 *
 *   npm run bench                         # defaults: N = 1000 rollouts per scenario, seed 1
 *   npm run bench -- --rollouts 200 --rps 100 --ratios 1,2,5
 *
 * Every parameter has a flag (`--help`). Writes bench/results/<name>.json and, with
 * --write-readme, the results table in bench/README.md between the generated-table markers.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { RECOMMENDED_STEP_PARAMS, type StepParams } from '../src/stats/count-test.js';
import { DEFAULT_MIXTURE, type MixtureComponent } from '../src/stats/sequential.js';
import { thresholdFromStableQuantile } from '../src/stats/histogram.js';
import { normalCdf as cdf } from '../src/stats/special-functions.js';
import type { CountTestParams } from '../src/stats/types.js';
import { cpuBenchmark, type CpuResult } from './lib/cpu.js';
import { Rng } from '../test/support/random.js';
import {
  argoThresholdRule,
  flaggerRule,
  kayentaRule,
  naiveZRule,
  oracleSprtRule,
  oursRule,
  type Kind,
  type Outcome,
  type Rule,
} from './lib/rules.js';
import {
  ISTIO_BUCKETS_MS,
  simulateErrorRollout,
  simulateLatencyRollout,
  type Rollout,
  type Schedule,
} from './lib/scenario.js';
import { summarize, type Summary } from './lib/summary.js';
import { renderMarkdown } from './lib/report.js';

const here = dirname(fileURLToPath(import.meta.url));

const { values: flags } = parseArgs({
  options: {
    rollouts: { type: 'string', default: '1000' },
    seed: { type: 'string', default: '1' },
    rps: { type: 'string', default: '100,20' },
    steps: { type: 'string', default: '1,5,10,25,50' },
    'step-minutes': { type: 'string', default: '10' },
    'p-stable': { type: 'string', default: '0.005' },
    ratios: { type: 'string', default: '1,1.5,2,5,20' },
    slowdowns: { type: 'string', default: '1,1.2,2' },
    'latency-median-ms': { type: 'string', default: '40' },
    'latency-sigma': { type: 'string', default: '0.7' },
    'latency-quantile': { type: 'string', default: '0.99' },
    'latency-slo-ms': { type: 'string', default: '500' },
    alpha: { type: 'string' },
    margin: { type: 'string' },
    'critical-effects': { type: 'string' },
    powers: { type: 'string' },
    mixture: { type: 'string' },
    'gated-steps': { type: 'string' },
    'oracle-null-alternative': { type: 'string', default: '1.5' },
    rules: { type: 'string', default: 'ours,flagger,argo,kayenta,naive-z,oracle' },
    'no-latency': { type: 'boolean', default: false },
    'cpu-runs': { type: 'string', default: '20000' },
    'no-cpu': { type: 'boolean', default: false },
    name: { type: 'string', default: 'latest' },
    'write-readme': { type: 'boolean', default: false },
    quiet: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
  strict: true,
});

if (flags.help) {
  console.log(
    readFileSync(join(here, 'README.md'), 'utf8').split('<!-- flags -->')[1]?.split('<!-- /flags -->')[0] ??
      '',
  );
  process.exit(0);
}

function numbers(s: string, what: string): number[] {
  const out = s.split(',').map((x) => Number(x.trim()));
  if (out.length === 0 || out.some((x) => !Number.isFinite(x)))
    throw new Error(`--${what}: expected numbers separated by commas, got "${s}"`);
  return out;
}
function num(s: string, what: string): number {
  const v = Number(s);
  if (!Number.isFinite(v)) throw new Error(`--${what}: expected a number, got "${s}"`);
  return v;
}

const N = num(flags.rollouts, 'rollouts');
const seed = num(flags.seed, 'seed');
const schedule: Schedule = {
  steps: numbers(flags.steps, 'steps'),
  stepMinutes: num(flags['step-minutes'], 'step-minutes'),
};
const pStable = num(flags['p-stable'], 'p-stable');

// Our per-step parameters: the recommended template values, with CLI overrides.
const recommended: readonly StepParams[] = schedule.steps.map((w) => {
  let best = RECOMMENDED_STEP_PARAMS[0] as StepParams;
  for (const s of RECOMMENDED_STEP_PARAMS)
    if (s.maxWeight >= w && (best.maxWeight < w || s.maxWeight < best.maxWeight)) best = s;
  return best;
});
const crit =
  flags['critical-effects'] === undefined ? null : numbers(flags['critical-effects'], 'critical-effects');
const pows = flags.powers === undefined ? null : numbers(flags.powers, 'powers');
const stepParams: CountTestParams[] = recommended.map((r, i) => ({
  alpha: flags.alpha === undefined ? r.params.alpha : num(flags.alpha, 'alpha'),
  margin: flags.margin === undefined ? r.params.margin : num(flags.margin, 'margin'),
  criticalEffect: crit === null ? r.params.criticalEffect : (crit[Math.min(i, crit.length - 1)] as number),
  power: pows === null ? r.params.power : (pows[Math.min(i, pows.length - 1)] as number),
}));
const mixture: readonly MixtureComponent[] =
  flags.mixture === undefined
    ? DEFAULT_MIXTURE
    : flags.mixture.split(',').map((pair) => {
        const [m, w] = pair.split(':').map(Number);
        if (!(m !== undefined && w !== undefined && m > 1 && w > 0))
          throw new Error(`--mixture: expected multiplier:weight pairs, got "${pair}"`);
        return { multiplier: m, weight: w };
      });

// Steps with a Pass gate, 1-based on the command line (default: every step).
const gated =
  flags['gated-steps'] === undefined
    ? undefined
    : new Set(numbers(flags['gated-steps'], 'gated-steps').map((i) => i - 1));

const allRules: Rule[] = [
  oursRule(stepParams, mixture, gated),
  flaggerRule(),
  argoThresholdRule(),
  kayentaRule(),
  naiveZRule(),
  oracleSprtRule(0.01, num(flags['oracle-null-alternative'], 'oracle-null-alternative')),
];
const wanted = new Set(flags.rules.split(','));
const rules = allRules.filter((r) => wanted.has(r.name));

// The latency check counts requests above the bucket edge at or above the stable's quantile.
const latencyMedian = num(flags['latency-median-ms'], 'latency-median-ms');
const latencySigma = num(flags['latency-sigma'], 'latency-sigma');
const latencyQuantile = num(flags['latency-quantile'], 'latency-quantile');
function latencyEdge(): number {
  // The stable's expected histogram (1e6 requests) gives the edge the judge would pick.
  const buckets = [
    ...ISTIO_BUCKETS_MS.map((le) => ({
      le,
      count: Math.round(1e6 * cdf(Math.log(le / latencyMedian) / latencySigma)),
    })),
    { le: Number.POSITIVE_INFINITY, count: 1e6 },
  ];
  const t = thresholdFromStableQuantile(latencyQuantile, buckets);
  if (t === null) throw new Error('latency model gives no usable stable quantile');
  return t.edge;
}

interface ScenarioSpec {
  readonly kind: Kind;
  readonly rps: number;
  /** Error ratio k, or latency slowdown factor. */
  readonly effect: number;
}

const scenarios: ScenarioSpec[] = [];
for (const rps of numbers(flags.rps, 'rps')) {
  for (const k of numbers(flags.ratios, 'ratios')) scenarios.push({ kind: 'errors', rps, effect: k });
  if (!flags['no-latency'])
    for (const s of numbers(flags.slowdowns, 'slowdowns'))
      scenarios.push({ kind: 'latency', rps, effect: s });
}

const edge = flags['no-latency'] ? 0 : latencyEdge();
const latencySloMs = num(flags['latency-slo-ms'], 'latency-slo-ms');

export interface ScenarioResult {
  readonly kind: Kind;
  readonly rps: number;
  readonly effect: number;
  /** True bad-request probability per side and their ratio. */
  readonly pStable: number;
  readonly pCanary: number;
  readonly trueRatio: number;
  readonly rules: Record<string, Summary>;
}

const started = Date.now();
const results: ScenarioResult[] = [];
scenarios.forEach((sc, si) => {
  const outcomes: Record<string, Outcome[]> = Object.fromEntries(rules.map((r) => [r.name, [] as Outcome[]]));
  let pS = 0;
  let pC = 0;
  for (let i = 0; i < N; i++) {
    const rng = new Rng(seed, si * 1_000_003 + i);
    const rollout: Rollout =
      sc.kind === 'errors'
        ? simulateErrorRollout(rng, schedule, sc.rps, pStable, sc.effect)
        : simulateLatencyRollout(
            rng,
            schedule,
            sc.rps,
            { medianMs: latencyMedian, sigma: latencySigma, slowdown: sc.effect },
            edge,
          );
    pS = rollout.pStable;
    pC = rollout.pCanary;
    for (const r of rules)
      (outcomes[r.name] as Outcome[]).push(r.run(rollout, { schedule, kind: sc.kind, latencySloMs }));
  }
  const res: ScenarioResult = {
    kind: sc.kind,
    rps: sc.rps,
    effect: sc.effect,
    pStable: pS,
    pCanary: pC,
    trueRatio: pC / pS,
    rules: Object.fromEntries(rules.map((r) => [r.name, summarize(outcomes[r.name] as Outcome[], schedule)])),
  };
  results.push(res);
  if (!flags.quiet) {
    const line = rules
      .map((r) => {
        const s = res.rules[r.name] as Summary;
        return `${r.name} rb=${(100 * s.rollbackRate).toFixed(1)}% t50=${s.timeToRollback.median ?? '-'} blast50=${s.blast.median?.toFixed(1) ?? '-'} prom=${(100 * s.promotedRate).toFixed(1)}% inc=${(100 * s.inconclusiveRate).toFixed(1)}%`;
      })
      .join(' | ');
    console.log(
      `[${sc.kind} R=${sc.rps} ${sc.kind === 'errors' ? 'k' : 'slowdown'}=${sc.effect} ratio=${(pC / pS).toFixed(2)}] ${line}`,
    );
  }
});
const simSeconds = (Date.now() - started) / 1000;

let cpu: CpuResult | null = null;
if (!flags['no-cpu']) {
  cpu = cpuBenchmark(
    num(flags['cpu-runs'], 'cpu-runs'),
    stepParams[stepParams.length - 1] as CountTestParams,
    seed,
  );
  if (!flags.quiet) {
    console.log(
      `CPU: one 60-interval analysis median ${cpu.medianMicros.toFixed(1)} µs, p90 ${cpu.p90Micros.toFixed(1)} µs wall, ${cpu.meanCpuMicros.toFixed(1)} µs process CPU per call, ${cpu.runs} runs`,
    );
  }
}

const command = `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim();
const report = {
  command,
  date: new Date().toISOString(),
  node: process.version,
  seed,
  rollouts: N,
  schedule,
  pStable,
  latency: flags['no-latency']
    ? null
    : {
        medianMs: latencyMedian,
        sigma: latencySigma,
        quantile: latencyQuantile,
        edgeMs: edge,
        sloMs: latencySloMs,
      },
  ours: { stepParams, mixture, gatedSteps: gated === undefined ? 'all' : [...gated].map((i) => i + 1) },
  rules: rules.map((r) => ({ name: r.name, label: r.label })),
  scenarios: results,
  cpu,
  simulationSeconds: simSeconds,
};
mkdirSync(join(here, 'results'), { recursive: true });
const jsonPath = join(here, 'results', `${flags.name}.json`);
writeFileSync(jsonPath, `${JSON.stringify(report, null, 2)}\n`);
const md = renderMarkdown(report);
if (flags['write-readme']) {
  const readmePath = join(here, 'README.md');
  const readme = readFileSync(readmePath, 'utf8');
  const begin = '<!-- results -->';
  const end = '<!-- /results -->';
  const a = readme.indexOf(begin);
  const b = readme.indexOf(end);
  if (a < 0 || b < a) throw new Error('bench/README.md lacks the <!-- results --> markers');
  writeFileSync(readmePath, `${readme.slice(0, a + begin.length)}\n${md}\n${readme.slice(b)}`);
}
if (!flags.quiet) console.log(`\nwrote ${jsonPath} (${simSeconds.toFixed(1)} s of simulation)`);
export type BenchReport = typeof report;
