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
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { decideCounts } from '../src/stats/count-test.js';
import { alphaForCheck } from '../src/stats/scorecard.js';
import type { CountTestParams, IntervalCounts } from '../src/stats/types.js';
import { Rng } from './lib/random.js';

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

// ---- The plan, from the shipped files ----

type Stage =
  | { readonly kind: 'gate'; readonly weight: number; readonly params: CountTestParams; readonly maxLooks: number }
  | { readonly kind: 'pause'; readonly weight: number; readonly minutes: number };

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : {});
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

function readYaml(path: string): Obj[] {
  return parseAllDocuments(readFileSync(join(root, path), 'utf8')).map((d) => obj(d.toJS()));
}

function argValue(args: unknown, name: string): string | undefined {
  const a = list(args).map(obj).find((x) => x['name'] === name);
  return typeof a?.['value'] === 'string' ? a['value'] : undefined;
}

function minutesOf(duration: string): number {
  const m = /^(\d+)(s|m|h)$/.exec(duration);
  if (m === null) throw new Error(`pause duration "${duration}" is not <n>s|m|h`);
  const n = Number(m[1]);
  return Math.ceil(m[2] === 's' ? n / 60 : m[2] === 'h' ? n * 60 : n);
}

function shippedPlan(): { stages: Stage[]; checkAlpha: number } {
  const template = readYaml('analysis-templates/canary-judge-scorecard.yaml')[0] as Obj;
  const tArgs = obj(template['spec'])['args'];
  const num = (name: string): number => {
    const v = Number(argValue(tArgs, name));
    if (!Number.isFinite(v)) throw new Error(`scorecard template: arg ${name} has no numeric default`);
    return v;
  };
  const checks = 2; // error rate and latency, both in every scorecard call
  const checkAlpha = alphaForCheck(num('alpha'), checks);
  const defaultWait = num('max-wait');
  const rollout = readYaml('rollouts/catalogo/rollout.yaml').find((d) => d['kind'] === 'Rollout');
  if (rollout === undefined) throw new Error('rollouts/catalogo/rollout.yaml: no Rollout');
  const steps = list(obj(obj(obj(rollout['spec'])['strategy'])['canary'])['steps']).map(obj);
  const stages: Stage[] = [];
  let weight = 0;
  for (const step of steps) {
    if (typeof step['setWeight'] === 'number') weight = step['setWeight'];
    else if (step['pause'] !== undefined) {
      const d = obj(step['pause'])['duration'];
      if (typeof d !== 'string') throw new Error('an indefinite pause is not simulated');
      stages.push({ kind: 'pause', weight, minutes: minutesOf(d) });
    } else if (step['analysis'] !== undefined) {
      const args = obj(step['analysis'])['args'];
      const criticalEffect = Number(argValue(args, 'critical-effect'));
      const maxLooks = Number(argValue(args, 'max-wait') ?? defaultWait);
      stages.push({
        kind: 'gate',
        weight,
        maxLooks,
        params: { alpha: checkAlpha, margin: num('margin'), criticalEffect, power: num('power') },
      });
    }
  }
  return { stages, checkAlpha };
}

// ---- One rollout ----

interface RunOutcome {
  readonly decision: 'rollback' | 'promoted' | 'inconclusive';
  readonly minute: number;
  readonly weight: number;
  /** Expected extra bad requests the canary caused until the decision. */
  readonly blast: number;
  /** Per gate: minutes from its start to its Pass (null: never passed). */
  readonly gatePass: (number | null)[];
}

function simulate(stages: readonly Stage[], rng: Rng, rps: number, pStable: number, ratio: number): RunOutcome {
  const pCanary = Math.min(1, pStable * ratio);
  const history: IntervalCounts[] = [];
  const gatePass: (number | null)[] = [];
  let blast = 0;
  let minute = 0;
  let needsPerson = false;
  const look = (weight: number, params: CountTestParams) => {
    const w = weight / 100;
    const canaryTotal = rng.poisson(60 * rps * w);
    const stableTotal = rng.poisson(60 * rps * (1 - w));
    history.push({
      canaryTotal,
      canaryBad: rng.binomial(canaryTotal, pCanary),
      stableTotal,
      stableBad: rng.binomial(stableTotal, pStable),
    });
    blast += (pCanary - pStable) * canaryTotal;
    minute++;
    return decideCounts(history, params).verdict;
  };
  // Fail does not depend on the critical effect, so pauses look with the last gate's params.
  let lastParams: CountTestParams | undefined;
  for (const stage of stages) {
    if (stage.kind === 'gate') {
      lastParams = stage.params;
      let passed: number | null = null;
      for (let t = 1; t <= stage.maxLooks && passed === null; t++) {
        const v = look(stage.weight, stage.params);
        if (v === 'Fail') return { decision: 'rollback', minute, weight: stage.weight, blast, gatePass };
        if (v === 'Pass') passed = t;
      }
      gatePass.push(passed);
      // Inconclusive after max-wait: a person promotes (at once, in this model) and the guard goes on.
      if (passed === null) needsPerson = true;
    } else {
      for (let t = 0; t < stage.minutes; t++) {
        if (lastParams === undefined) break; // no guard before the first analysis step
        if (look(stage.weight, lastParams) === 'Fail') return { decision: 'rollback', minute, weight: stage.weight, blast, gatePass };
      }
    }
  }
  return { decision: needsPerson ? 'inconclusive' : 'promoted', minute, weight: 100, blast, gatePass };
}

// ---- Report ----

function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const h = (s.length - 1) / 2;
  return ((s[Math.floor(h)] as number) + (s[Math.ceil(h)] as number)) / 2;
}
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
const results: Obj[] = [];
for (const rps of numbers('rps', flags.rps)) {
  for (const ratio of numbers('ratios', flags.ratios)) {
    const outcomes: RunOutcome[] = [];
    for (let i = 0; i < n; i++) outcomes.push(simulate(stages, new Rng(seed + 1000 * rps + Math.round(100 * ratio), i), rps, pStable, ratio));
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
