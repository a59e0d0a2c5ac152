/**
 * The gauge check: one value per analysis interval and side from the application's own metrics
 * (CPU per request, memory, queue depth, a business gauge), judged by the anytime-valid gauge
 * test (src/stats/gauge-test.ts, docs/statistics.md §11).
 *
 * The request's `value` is one PromQL instant-vector expression with `$selector` where the side's
 * label matchers go (filled, escaped and checked by Prometheus' parser as for a ratio check,
 * src/prometheus/expression.ts). For each side the judge queries it at the window's grid points,
 * one series per pod (`avg by (namespace, pod)` after deduplicating double scrapes), and the side's
 * value in an interval is the mean over its pods of their value at the interval's end. An
 * expression that should average over the interval says so itself (`avg_over_time(x[1m])`,
 * `rate(x[1m])`); one that should add a pod's series up says `sum by (namespace, pod) (…)`.
 *
 * Never a Pass on data that is not there: an interval where a side has no value, or a pod
 * answered NaN (PromQL's 0/0), is left out of the pairing (the test needs enough paired
 * intervals to pass); an infinite value, a negative one on a relative scale, or a series that is
 * not one of the side's pods is `invalid_data`.
 */
import { DEFAULT_APP_LABELS, type Series } from '../metrics-source.js';
import {
  DEFAULT_CHECK_WEIGHT,
  DEFAULT_COUNT_TEST_PARAMS,
  DEFAULT_CRITICAL,
  alphaForCheck,
  decideGauge,
  type GaugeTestResult,
} from '../../stats/index.js';
import { gridIntervals, type CounterGrid } from '../counts/counter-increases.js';
import { fmtNum, fmtPct } from '../format.js';
import {
  DEFAULT_GAUGE_CRITICAL_EFFECT,
  DEFAULT_GAUGE_POWER,
  DEFAULT_GAUGE_TOLERANCE,
  type GaugeCheckRequest,
} from '../request.js';
import type { GaugeCheckParams } from '../types.js';
import type { CheckKind } from './kind.js';
import { foreignSeries } from './app-sides.js';
import { verdictTail } from './summary.js';

type Side = 'canary' | 'stable';
const SIDES: readonly Side[] = ['canary', 'stable'];

/**
 * A side's value in each interval of the grid (at its end): the mean over the side's pods with
 * a sample there; null where none has one. A pod's NaN makes the interval's value NaN (missing).
 */
export function gaugeValues(series: readonly Series[], grid: CounterGrid | null): (number | null)[] {
  if (grid === null) return [];
  const n = gridIntervals(grid);
  const sum = new Array<number>(n).fill(0);
  const pods = new Array<number>(n).fill(0);
  for (const s of series)
    for (const p of s.samples) {
      const k = (p.t - grid.start) / grid.step;
      const i = Math.round(k);
      // The baseline point (i = 0) starts the window; interval i ends at point i.
      if (Math.abs(k - i) > 1e-6 || i < 1 || i > n) continue;
      sum[i - 1] = (sum[i - 1] as number) + p.v;
      pods[i - 1] = (pods[i - 1] as number) + 1;
    }
  return sum.map((v, i) => ((pods[i] as number) === 0 ? null : v / (pods[i] as number)));
}

/** A degradation in words: "+12%" of the stable's value, or "+3.1" in the gauge's unit. */
function degradationText(x: number | null, relative: boolean): string {
  if (x === null) return relative ? '∞' : 'n/a';
  const s = relative ? fmtPct(x) : fmtNum(x, 3);
  return x > 0 ? `+${s}` : s;
}

/** The one line a person reads for a gauge check. */
export function gaugeSummary(name: string, r: GaugeTestResult, p: GaugeCheckParams, note?: string): string {
  const rel = p.scale === 'relative';
  const worse = p.direction === 'higher-is-worse' ? 'higher' : 'lower';
  const head = `${name} (${worse} is worse)`;
  const unpaired =
    r.unpaired.canaryOnly + r.unpaired.stableOnly > 0
      ? `, ${r.unpaired.canaryOnly + r.unpaired.stableOnly} interval(s) with one side only left out`
      : '';
  if (r.reason !== 'regression_detected' && r.reason !== 'no_regression' && r.degradation.estimate === null) {
    const problem = note ?? r.problem;
    return (
      `${head}: canary ${r.canary.intervals} interval(s) with a value, stable ${r.stable.intervals}, ` +
      `${r.intervals} paired${unpaired}${problem === undefined ? '' : ` (${problem})`} → ${verdictTail(r.reason)}`
    );
  }
  const d = r.degradation;
  const bounds = `[${d.lower === null ? '−∞' : degradationText(d.lower, rel)}, ${d.upper === null ? '∞' : degradationText(d.upper, rel)}]`;
  const parts = [
    `canary median ${fmtNum(r.canary.median, 3)} vs stable ${fmtNum(r.stable.median, 3)} over ${r.intervals} paired intervals${unpaired}`,
    `degradation ${degradationText(d.estimate, rel)} ${bounds}`,
    `tolerance ${degradationText(p.tolerance, rel)}, ruled out ${degradationText(p.criticalEffect, rel)}`,
    `fail e=${fmtNum(r.fail.maxEValue, 3)} ${r.fail.maxEValue >= r.fail.threshold ? '≥' : 'below'} ${fmtNum(r.fail.threshold, 3)}`,
  ];
  if (r.reason !== 'regression_detected')
    parts.push(
      `pass e=${fmtNum(r.pass.maxEValue, 3)} ${r.pass.maxEValue >= r.pass.threshold ? '≥' : 'below'} ${fmtNum(r.pass.threshold, 3)}`,
    );
  const drift =
    r.serialDependence?.suspected === true
      ? ` (serial dependence suspected: runs test z=${fmtNum(r.serialDependence.z, 3)}, the false-Fail rate may exceed alpha)`
      : '';
  return `${head}: ${parts.join(', ')} → ${verdictTail(r.reason)}${drift}`;
}

export const gauge: CheckKind<GaugeCheckRequest, Side, GaugeCheckParams> = {
  params(c, nChecks) {
    const scale = c.scale ?? 'relative';
    return {
      alpha: alphaForCheck(c.alpha ?? DEFAULT_COUNT_TEST_PARAMS.alpha, nChecks),
      power: c.power ?? DEFAULT_GAUGE_POWER,
      weight: c.weight ?? DEFAULT_CHECK_WEIGHT,
      critical: c.critical ?? DEFAULT_CRITICAL,
      direction: c.direction ?? 'higher-is-worse',
      scale,
      // The schema requires both on an absolute scale.
      tolerance: c.tolerance ?? DEFAULT_GAUGE_TOLERANCE,
      criticalEffect: c.criticalEffect ?? DEFAULT_GAUGE_CRITICAL_EFFECT,
    };
  },
  expressions(c, ctx) {
    return [{ field: 'value', expression: c.value, side: ctx.sides.canary, holds: 'gauge values' }];
  },
  plan(c, ctx) {
    const query = (side: Side) => ({
      request: { expression: c.value, perPod: 'avg' as const, side: ctx.sides[side] },
      range: 'window' as const,
    });
    return { canary: query('canary'), stable: query('stable') };
  },
  evaluate(c, answers, params, ctx) {
    const labels = ctx.appLabels ?? DEFAULT_APP_LABELS;
    let foreign: string | undefined;
    for (const side of SIDES) {
      const own = ctx.appSides?.[side];
      const f =
        own === undefined || own === null ? undefined : foreignSeries(answers[side] ?? [], own, labels);
      if (f !== undefined && foreign === undefined)
        foreign = `value answered a series that is not a ${side} pod's, ${f}: every selector of the expression needs $selector, and the namespace and pod labels must stay`;
    }
    const values = (side: Side) =>
      foreign === undefined ? gaugeValues(answers[side] ?? [], ctx.grids.window) : [];
    const decided = decideGauge(values('canary'), values('stable'), {
      alpha: params.alpha,
      beta: 1 - params.power,
      direction: params.direction === 'higher-is-worse' ? 'higher_is_worse' : 'lower_is_worse',
      scale: params.scale,
      tolerance: params.tolerance,
      criticalEffect: params.criticalEffect,
    });
    const result: GaugeTestResult =
      foreign === undefined
        ? decided
        : { ...decided, verdict: 'Inconclusive', reason: 'invalid_data', problem: foreign };
    return {
      verdict: result.verdict,
      reason: result.reason,
      summary: gaugeSummary(c.name ?? c.type, result, params),
      record: { kind: 'gauge', result },
    };
  },
};
