/**
 * The shipped catalogo Rollout as a plan of stages (read from rollouts/catalogo/rollout.yaml and
 * the scorecard template's defaults), and one simulated rollout through it the way Argo Rollouts
 * runs it. Used by bench/shipped-rollout.ts.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { decideCounts } from '../../src/stats/count-test.js';
import { alphaForCheck } from '../../src/stats/scorecard.js';
import type { CountTestParams, IntervalCounts } from '../../src/stats/types.js';
import type { Rng } from './random.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export type Stage =
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

export function shippedPlan(): { stages: Stage[]; checkAlpha: number } {
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

export interface RunOutcome {
  readonly decision: 'rollback' | 'promoted' | 'inconclusive';
  readonly minute: number;
  readonly weight: number;
  /** Expected extra bad requests the canary caused until the decision. */
  readonly blast: number;
  /** Per gate: minutes from its start to its Pass (null: never passed). */
  readonly gatePass: (number | null)[];
}

export function simulateShipped(stages: readonly Stage[], rng: Rng, rps: number, pStable: number, ratio: number): RunOutcome {
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
