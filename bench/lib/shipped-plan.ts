/**
 * The shipped catalogo Rollout as a plan the benchmark can run: its steps (read from
 * rollouts/catalogo/rollout.yaml), each analysis step's scorecard parameters (the step's args
 * over the defaults of analysis-templates/canary-judge-scorecard.yaml) and the background
 * guard's (analysis-templates/canary-judge-guard.yaml, from the Rollout's `startingStep`).
 *
 * A scorecard call runs two checks, error rate and latency, both critical, each at the
 * template's alpha split over the two (alphaForCheck, as the judge does).
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { alphaForCheck } from '../../src/stats/scorecard.js';
import type { CheckParams } from '../../src/judge/types.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The parameters of one scorecard call: its two checks and the latency quantile. */
export interface CardParams {
  readonly errorRate: CheckParams;
  readonly latency: CheckParams;
  readonly latencyQuantile: number;
}

export type Stage =
  | {
      readonly kind: 'gate';
      /** Canary weight, percent. */
      readonly weight: number;
      readonly card: CardParams;
      /** Measurements before the run ends Inconclusive (the template's count, `max-wait`). */
      readonly maxLooks: number;
      /** Index of the Rollout step this stage comes from. */
      readonly step: number;
    }
  | { readonly kind: 'pause'; readonly weight: number; readonly minutes: number; readonly step: number };

export interface ShippedPlan {
  readonly stages: readonly Stage[];
  /** The background guard's card, and the step index it starts at (null: no guard). */
  readonly guard: { readonly card: CardParams; readonly startingStep: number } | null;
  /** α of each check (the template's α over its two checks). */
  readonly checkAlpha: number;
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : {});
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

function readYaml(path: string): Obj[] {
  return parseAllDocuments(readFileSync(join(root, path), 'utf8')).map((d) => obj(d.toJS()));
}

function argValue(args: unknown, name: string): string | undefined {
  const a = list(args)
    .map(obj)
    .find((x) => x['name'] === name);
  return typeof a?.['value'] === 'string' ? a['value'] : undefined;
}

function minutesOf(duration: string): number {
  const m = /^(\d+)(s|m|h)$/.exec(duration);
  if (m === null) throw new Error(`pause duration "${duration}" is not <n>s|m|h`);
  const n = Number(m[1]);
  return Math.ceil(m[2] === 's' ? n / 60 : m[2] === 'h' ? n * 60 : n);
}

/** Template args with their defaults, overridden by a step's args; a lookup that parses numbers. */
function argReader(
  templatePath: string,
): (stepArgs: unknown) => (name: string, optional?: boolean) => number | undefined {
  const template = readYaml(templatePath)[0] as Obj;
  const tArgs = obj(template['spec'])['args'];
  return (stepArgs) =>
    (name, optional = false) => {
      const raw = argValue(stepArgs, name) ?? argValue(tArgs, name);
      if (raw === undefined) {
        if (optional) return undefined;
        throw new Error(
          `${templatePath}: arg ${name} has no value (neither the step nor the template sets it)`,
        );
      }
      const v = Number(raw);
      if (!Number.isFinite(v)) throw new Error(`${templatePath}: arg ${name} = "${raw}" is not a number`);
      return v;
    };
}

const CHECKS_PER_CARD = 2; // error rate and latency, both in every scorecard call

function cardParams(arg: (name: string, optional?: boolean) => number | undefined): CardParams {
  const alpha = alphaForCheck(arg('alpha') as number, CHECKS_PER_CARD);
  // criticalIncrease: the absolute tolerance, when the templates carry it (0: ratio only).
  const check = {
    alpha,
    margin: arg('margin') as number,
    criticalEffect: arg('critical-effect') as number,
    criticalIncrease: arg('critical-increase', true) ?? 0,
    power: arg('power') as number,
    weight: 1,
    critical: true,
  };
  const params: CheckParams = check;
  return { errorRate: params, latency: params, latencyQuantile: arg('latency-quantile') as number };
}

function isContractGate(step: Record<string, unknown>): boolean {
  if (step['analysis'] === undefined) return false;
  const templates = list(obj(step['analysis'])['templates']).map(obj);
  return templates.length === 1 && templates[0]?.['templateName'] === 'canary-judge-contract';
}

export function shippedPlan(): ShippedPlan {
  const scorecardArgs = argReader('analysis-templates/canary-judge-scorecard.yaml');
  const rollout = readYaml('rollouts/catalogo/rollout.yaml').find((d) => d['kind'] === 'Rollout');
  if (rollout === undefined) throw new Error('rollouts/catalogo/rollout.yaml: no Rollout');
  const canary = obj(obj(obj(rollout['spec'])['strategy'])['canary']);
  const steps = list(canary['steps']).map(obj);
  const stages: Stage[] = [];
  let weight = 0;
  steps.forEach((step, i) => {
    if (typeof step['setWeight'] === 'number') weight = step['setWeight'];
    else if (step['setCanaryScale'] !== undefined) {
      // Pods, not traffic: nothing to simulate.
    } else if (isContractGate(step) && weight === 0) {
      // The API contract gate runs before any traffic and replays requests, not statistics: an
      // identical release passes it, a breaking one never reaches the traffic simulated here.
    } else if (step['pause'] !== undefined) {
      const d = obj(step['pause'])['duration'];
      if (typeof d !== 'string') throw new Error('an indefinite pause is not simulated');
      stages.push({ kind: 'pause', weight, minutes: minutesOf(d), step: i });
    } else if (step['analysis'] !== undefined) {
      const templates = list(obj(step['analysis'])['templates']).map(obj);
      if (templates.length !== 1 || templates[0]?.['templateName'] !== 'canary-judge-scorecard') {
        throw new Error(`step ${i}: only an analysis with the canary-judge-scorecard template is simulated`);
      }
      const arg = scorecardArgs(obj(step['analysis'])['args']);
      stages.push({
        kind: 'gate',
        weight,
        card: cardParams(arg),
        maxLooks: arg('max-wait') as number,
        step: i,
      });
    }
  });
  const bg = obj(canary['analysis']);
  let guard: ShippedPlan['guard'] = null;
  if (list(bg['templates']).length > 0) {
    // catalogo's own business check beside the guard (its namespaced AnalysisTemplate, a ratio
    // check on the application's counter) is about events this benchmark does not simulate.
    const names = list(bg['templates'])
      .map(obj)
      .filter((t) => !(t['clusterScope'] !== true && t['templateName'] === 'catalogo-empty-searches'))
      .map((t) => t['templateName']);
    if (names.length !== 1 || names[0] !== 'canary-judge-guard')
      throw new Error(`background analysis ${JSON.stringify(names)} is not simulated`);
    const arg = argReader('analysis-templates/canary-judge-guard.yaml')(bg['args']);
    guard = {
      card: cardParams(arg),
      startingStep: typeof bg['startingStep'] === 'number' ? bg['startingStep'] : 0,
    };
  }
  const firstGate = stages.find((s) => s.kind === 'gate');
  return {
    stages,
    guard,
    checkAlpha: firstGate?.kind === 'gate' ? firstGate.card.errorRate.alpha : Number.NaN,
  };
}

/** The plan with every gate waiting up to `looks` measurements (how long would a gate need?). */
export function withMaxWait(plan: ShippedPlan, looks: number): ShippedPlan {
  return { ...plan, stages: plan.stages.map((s) => (s.kind === 'gate' ? { ...s, maxLooks: looks } : s)) };
}
