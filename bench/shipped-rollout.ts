/**
 * The shipped catalogo Rollout simulated the way Argo Rollouts runs it, which the fixed-schedule
 * benchmark (bench/run.ts) does not model: a gated step moves on at its first Pass, or waits up
 * to its `max-wait` looks and then pauses Inconclusive for a person; plain pauses last their
 * duration; the background guard aborts at the first Fail at any weight.
 *
 * The plan is read from rollouts/catalogo/rollout.yaml (weights, each analysis step's
 * critical-effect and max-wait, pause durations) and the scorecard template's defaults (alpha,
 * power, margin, split between its two checks). Only the error-rate check is simulated; the
 * latency check would add its own share of false rollbacks under the same family-wise alpha.
 *
 *   npx tsx bench/shipped-rollout.ts                       # N = 1000 per scenario, seed 1
 *   npx tsx bench/shipped-rollout.ts --rollouts 200 --rps 100 --ratios 1,5
 *
 * Writes bench/results/shipped-rollout.json and prints a markdown table.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Rng } from './lib/random.js';
import { shippedPlan, simulateShipped, type RunOutcome, type Stage } from './lib/shipped-plan.js';
import { dist } from './lib/summary.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

const { values: flags } = parseArgs({
  options: {
    rollouts: { type: 'string', default: '1000' },
    seed: { type: 'string', default: '1' },
    rps: { type: 'string', default: '100,20' },
    ratios: { type: 'string', default: '1,1.5,2,5,20' },
    'p-stable': { type: 'string', default: '0.005' },
    help: { type: 'boolean', default: false },
  },
});
if (flags.help) {
  console.log('usage: npx tsx bench/shipped-rollout.ts [--rollouts N] [--seed S] [--rps 100,20] [--ratios 1,1.5,2,5,20] [--p-stable 0.005]');
  process.exit(0);
}

function numbers(flag: string, value: string): number[] {
  const out = value.split(',').map(Number);
  if (out.length === 0 || out.some((v) => !Number.isFinite(v) || v <= 0)) {
    console.error(`--${flag}: expected positive numbers separated by commas, got "${value}"`);
    process.exit(2);
  }
  return out;
}

const median = (values: number[]): number | null => dist(values).median;
const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;
const fmt = (x: number | null, digits = 0): string => (x === null ? '–' : x.toFixed(digits));

const n = Number(flags.rollouts);
const seed = Number(flags.seed);
const pStable = Number(flags['p-stable']);
const { stages, checkAlpha } = shippedPlan();
const gates = stages.filter((s): s is Extract<Stage, { kind: 'gate' }> => s.kind === 'gate');
const started = Date.now();
console.error(
  `plan: ${stages.map((s) => (s.kind === 'gate' ? `${s.weight}% gate (critical ${s.params.criticalEffect}×, ≤${s.maxLooks} looks)` : `${s.weight}% pause ${s.minutes} min`)).join(' → ')}; α per check ${checkAlpha}`,
);

const rows: string[] = [];
const results: object[] = [];
for (const rps of numbers('rps', flags.rps)) {
  for (const ratio of numbers('ratios', flags.ratios)) {
    const outcomes: RunOutcome[] = [];
    for (let i = 0; i < n; i++) outcomes.push(simulateShipped(stages, new Rng(seed + 1000 * rps + Math.round(100 * ratio), i), rps, pStable, ratio));
    const rb = outcomes.filter((o) => o.decision === 'rollback');
    const done = outcomes.filter((o) => o.decision !== 'rollback');
    const share = (d: RunOutcome['decision']) => outcomes.filter((o) => o.decision === d).length / n;
    const perGate = gates.map((_, g) => {
      const mins = outcomes.map((o) => o.gatePass[g]).filter((v): v is number => typeof v === 'number');
      return { passedRate: mins.length / n, medianMinutes: median(mins) };
    });
    const summary = {
      rps,
      ratio,
      n,
      rollbackRate: rb.length / n,
      promotedRate: share('promoted'),
      inconclusiveRate: share('inconclusive'),
      medianMinuteOfRollback: median(rb.map((o) => o.minute)),
      medianWeightAtRollback: median(rb.map((o) => o.weight)),
      medianBlast: median(rb.map((o) => o.blast)),
      rolledBackAtOrBelow5: rb.filter((o) => o.weight <= 5).length / n,
      medianMinutesToFullRollout: median(done.map((o) => o.minute)),
      gates: perGate,
    };
    results.push(summary);
    rows.push(
      `| R=${rps} k=${ratio} | ${pct(summary.rollbackRate)} | ${pct(summary.promotedRate)} | ${pct(summary.inconclusiveRate)} | ` +
        `${pct(summary.rolledBackAtOrBelow5)} | ${fmt(summary.medianMinuteOfRollback)} | ${fmt(summary.medianWeightAtRollback)}% | ${fmt(summary.medianBlast, 1)} | ` +
        `${fmt(summary.medianMinutesToFullRollout)} | ${perGate.map((g) => `${pct(g.passedRate)} · ${fmt(g.medianMinutes)}`).join(' | ')} |`,
    );
    console.error(rows[rows.length - 1]);
  }
}

const header =
  `| scenario | rolled back | promoted automatically | needed a person | rolled back at ≤ 5% | minute of rollback | weight at rollback | blast radius | minutes to 100% | ` +
  `${gates.map((g) => `${g.weight}% gate passed · minutes`).join(' | ')} |\n` +
  `|---|---:|---:|---:|---:|---:|---:|---:|---:|${gates.map(() => '---:').join('|')}|`;
const command = `npx tsx bench/shipped-rollout.ts --rollouts ${n} --seed ${seed} --rps ${flags.rps} --ratios ${flags.ratios} --p-stable ${pStable}`;
console.log(`Command: \`${command}\` (${((Date.now() - started) / 1000).toFixed(0)} s). Medians; minutes since the rollout started.\n`);
console.log(`${header}\n${rows.join('\n')}`);

const out = join(root, 'bench', 'results', 'shipped-rollout.json');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify({ command, date: new Date().toISOString().slice(0, 10), node: process.version, stages, checkAlpha, results }, null, 2)}\n`);
console.error(`wrote ${out}`);
