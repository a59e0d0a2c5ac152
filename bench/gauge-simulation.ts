/**
 * The gauge test (src/stats/gauge-test.ts) under repeated looks: the judge looks after every
 * interval for up to 60 intervals and the run is rolled back at the first Fail.
 *
 *   npx tsx bench/gauge-simulation.ts                       # N = 10000 null runs, 1000 per degradation, seed 1
 *   npx tsx bench/gauge-simulation.ts --null-runs 400 --power-runs 100   # quicker
 *
 * Reports, per noise shape (bench/lib/gauge-sim.ts):
 * - the false-rollback rate with identical sides and at the least favourable null (the canary's
 *   median degradation exactly at the tolerance), with a 95 % Clopper–Pearson interval;
 * - for identical sides, how soon and how often the check passes;
 * - how often the runs test (serialDependence) flags drift on the 60 intervals;
 * - for real degradations: the share rolled back within 60 intervals, the median and 90th
 *   percentile look of the rollback, and the share that passed at some look before.
 * Writes bench/results/gauge-simulation.json and prints markdown tables.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  lookEveryInterval,
  NOISE_SHAPES,
  shapeScale,
  simulateGauge,
  type NoiseShape,
} from './lib/gauge-sim.js';
import { decideGauge, type GaugeTestParams } from '../src/stats/gauge-test.js';
import { betaQuantile } from '../src/stats/special-functions.js';
import { Rng } from '../test/support/random.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');

const { values: flags } = parseArgs({
  options: {
    'null-runs': { type: 'string', default: '10000' },
    'power-runs': { type: 'string', default: '1000' },
    seed: { type: 'string', default: '1' },
    intervals: { type: 'string', default: '60' },
  },
});
const nullRuns = Number(flags['null-runs']);
const powerRuns = Number(flags['power-runs']);
const seed = Number(flags.seed);
const intervals = Number(flags.intervals);

const relative: GaugeTestParams = {
  alpha: 0.01,
  beta: 0.05,
  direction: 'higher_is_worse',
  scale: 'relative',
  tolerance: 0.1,
  criticalEffect: 0.3,
};
/** For the absolute shape: the same tolerances in the gauge's unit (its scale is 10). */
const absolute: GaugeTestParams = { ...relative, scale: 'absolute', tolerance: 10, criticalEffect: 30 };
const paramsFor = (shape: NoiseShape): GaugeTestParams =>
  shapeScale(shape) === 'absolute' ? absolute : relative;
/** Effects are stated relative; the absolute shape gets them × 100 (its median is 100). */
const effectFor = (shape: NoiseShape, relativeEffect: number): number =>
  shapeScale(shape) === 'absolute' ? 100 * relativeEffect : relativeEffect;

function clopperPearson(x: number, n: number): [number, number] {
  const lo = x === 0 ? 0 : betaQuantile(0.025, x, n - x + 1);
  const hi = x === n ? 1 : betaQuantile(0.975, x + 1, n - x);
  return [lo, hi];
}

function quantile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}

let stream = 0;
function run(shape: NoiseShape, effect: number, n: number) {
  const params = paramsFor(shape);
  const fails: number[] = [];
  const passes: number[] = [];
  let passedBeforeFail = 0;
  let driftFlagged = 0;
  for (let i = 0; i < n; i++) {
    const rng = new Rng(seed, stream++);
    const { canary, stable } = simulateGauge(rng, shape, effect, intervals);
    const o = lookEveryInterval(canary, stable, params);
    if (decideGauge(canary, stable, params, { bounds: false }).serialDependence?.suspected === true)
      driftFlagged++;
    if (o.firstFail !== null) fails.push(o.firstFail);
    if (o.firstPass !== null) {
      passes.push(o.firstPass);
      if (o.firstFail !== null) passedBeforeFail++;
    }
  }
  fails.sort((a, b) => a - b);
  passes.sort((a, b) => a - b);
  const [lo, hi] = clopperPearson(fails.length, n);
  return {
    shape,
    scale: shapeScale(shape),
    effect,
    runs: n,
    fails: fails.length,
    failRate: fails.length / n,
    failRateCI95: [lo, hi],
    failLookMedian: quantile(fails, 0.5),
    failLookP90: quantile(fails, 0.9),
    passes: passes.length,
    passRate: passes.length / n,
    passLookMedian: quantile(passes, 0.5),
    passLookP90: quantile(passes, 0.9),
    passedBeforeFail,
    driftFlagged,
    driftFlaggedRate: driftFlagged / n,
  };
}

const started = Date.now();
const cpu0 = process.cpuUsage();
const nulls = NOISE_SHAPES.flatMap((shape) => [
  { kind: 'identical', ...run(shape, 0, nullRuns) },
  {
    kind: 'at tolerance',
    ...run(shape, effectFor(shape, relative.tolerance), nullRuns),
  },
]);
const power = (['gaussian', 'lognormal', 'student-t2', 'common-ar1'] as const).flatMap((shape) =>
  [0.2, 0.3, 0.5, 1].map((e) => run(shape, effectFor(shape, e), powerRuns)),
);
const seconds = (Date.now() - started) / 1000;
const cpu = process.cpuUsage(cpu0);

const pct = (x: number): string => `${(100 * x).toFixed(2)} %`;
const lines: string[] = [];
lines.push(
  `False rollbacks (α = ${relative.alpha}, a look every interval, up to ${intervals} intervals, ${nullRuns} runs each):`,
  '',
  '| noise | canary | false Fail | 95 % CI | passed by 60 | median look of Pass | drift flagged at 60 |',
  '|---|---|---|---|---|---|---|',
);
for (const r of nulls)
  lines.push(
    `| ${r.shape} | ${r.kind} | ${r.fails}/${r.runs} = ${pct(r.failRate)} | ${pct(r.failRateCI95[0] as number)}–${pct(
      r.failRateCI95[1] as number,
    )} | ${pct(r.passRate)} | ${r.passLookMedian ?? '–'} | ${pct(r.driftFlaggedRate)} |`,
  );
lines.push(
  '',
  `Power (tolerance ${relative.tolerance}, critical effect ${relative.criticalEffect}, β = ${relative.beta}; ${powerRuns} runs each; absolute shape: effects × 100 in its unit):`,
  '',
  '| noise | degradation | rolled back by 60 | median look | p90 look | passed before |',
  '|---|---|---|---|---|---|',
);
for (const r of power)
  lines.push(
    `| ${r.shape} | ${r.effect} | ${pct(r.failRate)} | ${r.failLookMedian ?? '–'} | ${r.failLookP90 ?? '–'} | ${pct(
      r.passes / r.runs,
    )} |`,
  );
const table = lines.join('\n');
console.log(table);
console.log(`\n${seconds.toFixed(1)} s wall, ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s CPU`);

const git = (...args: string[]): string => execFileSync('git', args, { cwd: root, encoding: 'utf8' }).trim();
writeFileSync(
  join(here, 'results', 'gauge-simulation.json'),
  `${JSON.stringify(
    {
      command: `npx tsx bench/gauge-simulation.ts${process.argv.slice(2).length ? ` ${process.argv.slice(2).join(' ')}` : ''}`,
      date: new Date().toISOString(),
      node: process.version,
      seed,
      intervals,
      nullRuns,
      powerRuns,
      seconds,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      srcCommit: git('rev-parse', '--short', 'HEAD'),
      srcDirty: git('status', '--porcelain', 'src', 'bench').length > 0,
      params: { relative, absolute },
      nulls,
      power,
      table,
    },
    null,
    1,
  )}\n`,
);
