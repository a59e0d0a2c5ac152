/**
 * Checks turn Prometheus series into per-interval counts and ask the statistics engine for a
 * decision. Edge cases are left to the engine's own guards (no traffic, NaN → invalid_data), so
 * missing data can never come out as a Pass.
 */

import {
  decideCounts,
  histogramQuantile,
  latencyIntervalCounts,
  sumHistograms,
  thresholdEdge,
  thresholdFromStableQuantile,
  type CountTestResult,
  type HistogramBucket,
  type IntervalCounts,
} from '../stats/index.js';
import type { Series } from '../prometheus/client.js';
import type { DurationUnit } from '../config/config.js';
import { fmtCount, fmtMs, fmtNum, fmtPct } from './format.js';
import type { CheckParams, CheckReason, LatencyThreshold, QuantileEstimates } from './types.js';

/** Points of a single-series result by timestamp; an empty result is an empty map. */
export function pointsByTime(series: readonly Series[]): Map<number, number> {
  const out = new Map<number, number>();
  for (const s of series) {
    for (const p of s.samples) out.set(p.t, (out.get(p.t) ?? 0) + p.v);
  }
  return out;
}

/**
 * Per-interval counts from the four error-rate series. An interval exists where either side
 * has a request count; a side without a point there had no traffic in it. A missing error
 * series means no errors (Istio creates a response-code series only once that code is seen);
 * NaN values pass through for the engine to refuse.
 */
export function errorRateIntervals(
  canaryRequests: readonly Series[],
  canaryErrors: readonly Series[],
  stableRequests: readonly Series[],
  stableErrors: readonly Series[],
): IntervalCounts[] {
  const cr = pointsByTime(canaryRequests);
  const ce = pointsByTime(canaryErrors);
  const sr = pointsByTime(stableRequests);
  const se = pointsByTime(stableErrors);
  const times = [...new Set([...cr.keys(), ...sr.keys()])].sort((a, b) => a - b);
  return times.map((t) => ({
    canaryTotal: cr.get(t) ?? 0,
    canaryBad: cr.has(t) ? (ce.get(t) ?? 0) : 0,
    stableTotal: sr.get(t) ?? 0,
    stableBad: sr.has(t) ? (se.get(t) ?? 0) : 0,
  }));
}

/** `sum by (le)` series → histogram per timestamp. */
export function histogramsByTime(series: readonly Series[]): Map<number, HistogramBucket[]> {
  const out = new Map<number, HistogramBucket[]>();
  for (const s of series) {
    const raw = s.labels['le'];
    if (raw === undefined) continue;
    const le = raw === '+Inf' ? Number.POSITIVE_INFINITY : Number(raw);
    for (const p of s.samples) {
      let h = out.get(p.t);
      if (h === undefined) out.set(p.t, (h = []));
      h.push({ le, count: p.v });
    }
  }
  return out;
}

function hasInvalid(h: Map<number, HistogramBucket[]>): boolean {
  for (const buckets of h.values()) {
    for (const b of buckets) if (!(Number.isFinite(b.count) && b.count >= 0) || Number.isNaN(b.le)) return true;
  }
  return false;
}

/** The engine's answer for data that cannot be counted (NaN, no usable edge): invalid_data. */
function invalid(params: CheckParams): CountTestResult {
  return decideCounts([{ canaryTotal: Number.NaN, canaryBad: Number.NaN, stableTotal: Number.NaN, stableBad: Number.NaN }], params);
}

/** Requests expected above the quantile before the pre-window stable data is trusted for it. */
export const MIN_TAIL_FOR_BASELINE = 20;

export interface LatencyOutcome {
  readonly result: CountTestResult;
  readonly threshold: LatencyThreshold;
  readonly quantiles: { readonly canary: QuantileEstimates; readonly stable: QuantileEstimates };
  /** Why no threshold could be used, for the summary. */
  readonly note?: string;
}

function toMs(le: number, unit: DurationUnit): number {
  return unit === 'seconds' ? le * 1000 : le;
}

function estimates(buckets: readonly HistogramBucket[], unit: DurationUnit): QuantileEstimates {
  const q = (p: number): number | null => {
    const v = histogramQuantile(p, buckets);
    return v === null ? null : Number(toMs(v, unit).toPrecision(4));
  };
  return { p50: q(0.5), p95: q(0.95), p99: q(0.99) };
}

/**
 * The latency check: requests slower than a threshold are the "bad" count. The threshold is a
 * fixed SLO, or the stable's q-quantile over the window; either way it is moved to the bucket
 * edge at or above it and reported.
 */
export function latencyOutcome(
  canarySeries: readonly Series[],
  stableSeries: readonly Series[],
  spec: { thresholdMs?: number; quantile?: number },
  params: CheckParams,
  unit: DurationUnit,
  /** The stable's histogram over the hour before the window (one point), when queried. */
  baselineSeries?: readonly Series[],
): LatencyOutcome {
  const canary = histogramsByTime(canarySeries);
  const stable = histogramsByTime(stableSeries);
  const source = spec.quantile !== undefined ? 'stable-quantile' : 'slo';
  const base: LatencyThreshold =
    source === 'slo'
      ? { ms: null, source, requestedMs: spec.thresholdMs as number }
      : { ms: null, source, quantile: spec.quantile as number, stableQuantileMs: null };
  const emptyQ: QuantileEstimates = { p50: null, p95: null, p99: null };
  if (hasInvalid(canary) || hasInvalid(stable)) {
    return { result: invalid(params), threshold: base, quantiles: { canary: emptyQ, stable: emptyQ }, note: 'NaN or negative bucket counts' };
  }
  const times = [...new Set([...canary.keys(), ...stable.keys()])].sort((a, b) => a - b);
  const intervals = times.map((t) => ({ canary: canary.get(t) ?? [], stable: stable.get(t) ?? [] }));
  const canaryAll = sumHistograms(intervals.map((i) => i.canary));
  const stableAll = sumHistograms(intervals.map((i) => i.stable));
  const quantiles = { canary: estimates(canaryAll, unit), stable: estimates(stableAll, unit) };

  // With no traffic on a side, let the engine say so (its edge-case guards come first).
  const noTraffic = (h: readonly HistogramBucket[]): boolean => !h.some((b) => b.le === Number.POSITIVE_INFINITY && b.count > 0);
  if (noTraffic(canaryAll) || noTraffic(stableAll)) {
    const counts = intervals.map((i) => ({
      canaryTotal: i.canary.find((b) => b.le === Number.POSITIVE_INFINITY)?.count ?? 0,
      canaryBad: 0,
      stableTotal: i.stable.find((b) => b.le === Number.POSITIVE_INFINITY)?.count ?? 0,
      stableBad: 0,
    }));
    return { result: decideCounts(counts, params), threshold: base, quantiles };
  }

  let edge: number | null;
  let threshold: LatencyThreshold;
  if (spec.quantile !== undefined) {
    // Prefer the stable's latency from before the window: a threshold that does not depend on
    // the data under test stays the same at every look. Fall back to the window's stable data
    // when there is too little history for the quantile (fewer than 20 requests above it).
    const baseline = sumHistograms([...histogramsByTime(baselineSeries ?? []).values()]);
    const baselineTotal = baseline.find((b) => b.le === Number.POSITIVE_INFINITY)?.count ?? 0;
    const useBaseline = !hasInvalid(new Map([[0, baseline]])) && baselineTotal * (1 - spec.quantile) >= MIN_TAIL_FOR_BASELINE;
    const t = useBaseline ? thresholdFromStableQuantile(spec.quantile, baseline) : thresholdFromStableQuantile(spec.quantile, stableAll);
    edge = t?.edge ?? null;
    threshold = {
      ms: edge === null ? null : toMs(edge, unit),
      source: 'stable-quantile',
      quantile: spec.quantile,
      stableQuantileMs: t === null ? null : Number(toMs(t.quantile, unit).toPrecision(4)),
      basis: useBaseline ? 'stable-before-window' : 'stable-in-window',
    };
  } else {
    const requestedMs = spec.thresholdMs as number;
    const inUnit = unit === 'seconds' ? requestedMs / 1000 : requestedMs;
    edge = thresholdEdge(inUnit, [...canaryAll, ...stableAll]);
    threshold = { ms: edge === null ? null : toMs(edge, unit), source: 'slo', requestedMs };
  }
  if (edge === null) {
    return { result: invalid(params), threshold, quantiles, note: 'no histogram bucket edge at or above the threshold' };
  }
  let counts: IntervalCounts[];
  try {
    counts = latencyIntervalCounts(intervals, edge);
  } catch (e) {
    // A side whose buckets lack the edge (different bucket layouts): refuse rather than guess.
    return { result: invalid(params), threshold, quantiles, note: e instanceof Error ? e.message : String(e) };
  }
  return { result: decideCounts(counts, params), threshold, quantiles };
}

const VERDICT_TAIL: Readonly<Record<CheckReason, string>> = {
  regression_detected: 'regression',
  no_regression: 'no regression',
  insufficient_data: 'not enough data yet',
  suspected_regression: 'canary looks worse than allowed, Pass held',
  no_canary_traffic: 'no canary traffic',
  no_stable_traffic: 'no stable traffic',
  invalid_data: 'invalid data refused',
  query_error: 'query failed',
};

/** One line explaining a check's verdict with its numbers. */
export function checkSummary(
  name: string,
  reason: CheckReason,
  r: CountTestResult | null,
  extra: { what?: string; note?: string } = {},
): string {
  const head = extra.what === undefined ? name : `${name} ${extra.what}`;
  if (r === null) return `${head}: ${extra.note ?? 'query failed'} → ${VERDICT_TAIL[reason]}`;
  if (reason === 'no_canary_traffic' || reason === 'no_stable_traffic' || reason === 'invalid_data') {
    const side = `canary ${fmtCount(r.canary.requests)} req, stable ${fmtCount(r.stable.requests)} req`;
    return `${head}: ${side}${extra.note ? ` (${extra.note})` : ''} → ${VERDICT_TAIL[reason]}`;
  }
  const rates =
    `canary ${fmtPct(r.canary.rate)} (${fmtCount(r.canary.bad)}/${fmtCount(r.canary.requests)}) ` +
    `vs stable ${fmtPct(r.stable.rate)} (${fmtCount(r.stable.bad)}/${fmtCount(r.stable.requests)})`;
  const ratio =
    r.effect.ratio === null
      ? 'ratio n/a'
      : `ratio ${fmtNum(r.effect.ratio)} [${fmtNum(r.effect.lower)}, ${r.effect.upper === null ? '∞' : fmtNum(r.effect.upper)}]`;
  const ev = r.evidence;
  // No '<' or '>': Argo's Go JSON encoder stores them as \u003c / \u003e in the AnalysisRun.
  const e = `e=${fmtNum(ev.eValue, 3)} ${ev.eValue >= ev.threshold ? '≥' : 'below'} ${fmtNum(ev.threshold, 3)}`;
  const pw = `power ${r.power.achieved.toFixed(2)} ${r.power.achieved >= r.power.required ? '≥' : 'below'} ${r.power.required} for ${fmtNum(r.power.criticalEffect)}×`;
  const parts = reason === 'regression_detected' ? [rates, ratio, e] : [rates, ratio, e, pw];
  return `${head}: ${parts.join(', ')} → ${VERDICT_TAIL[reason]}`;
}

export function latencyWhat(t: LatencyThreshold): string {
  if (t.ms === null) return t.source === 'slo' ? `over ${fmtMs(t.requestedMs ?? null)}` : `over stable p${(t.quantile ?? 0) * 100}`;
  return t.source === 'slo' ? `over ${fmtMs(t.ms)}` : `over ${fmtMs(t.ms)} (stable p${Number(((t.quantile ?? 0) * 100).toPrecision(4))} edge)`;
}
