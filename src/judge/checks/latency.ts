/**
 * The latency check: requests slower than a threshold are the "bad" count, compared canary vs
 * stable like an error rate. This file is the whole answer to "how does latency choose its bad
 * requests":
 *
 *  - Fixed SLO (`thresholdMs`): one threshold, the bucket edge at or above the SLO.
 *  - Stable quantile (`quantile`, e.g. 0.99): the stable's latency histogram — from the hour
 *    before the window when it has enough requests above the quantile, else from the window —
 *    gives two bucket edges (latencyEdges in src/stats/histogram.ts): the edge at or above the
 *    quantile, and the largest edge with at least 1 − q of the stable's requests above it. With
 *    Istio's coarse buckets the first can hold ten times fewer requests than the quantile
 *    promises (too few events to ever pass); the second always holds enough, but a regression
 *    only in the far tail shows at the first. Both are tested at once: their e-processes are
 *    averaged for Fail, either may give the Pass, and a regression suspected at either holds it
 *    (decideThresholds in src/stats/count-test.ts).
 *
 * A threshold that does not depend on the data under test (the baseline hour) stays the same at
 * every look, so the sequential test sees one growing sequence of counts.
 *
 * Queries: the raw cumulative bucket counters per pod and `le` of each side at the window's grid
 * points (the stable's from an hour before the window when a stable quantile needs its history),
 * differenced by the judge (../counts/counter-increases.ts): whole requests, no extrapolation.
 */
import type { DurationUnit } from '../../config/config.js';
import {
  decideCounts,
  decideThresholds,
  histogramQuantile,
  latencyEdges,
  latencyIntervalCountsAt,
  sumHistograms,
  thresholdEdge,
  type CountTestOptions,
  type CountTestResult,
  type EdgeResult,
  type HistogramBucket,
  type IntervalCounts,
} from '../../stats/index.js';
import type { LatencyCheckRequest } from '../request.js';
import type { CheckParams, CheckResult, LatencyThreshold, QuantileEstimates } from '../types.js';
import type { Series, SideSelector } from '../metrics-source.js';
import type { CounterGrid } from '../counts/counter-increases.js';
import { countParams } from './count-params.js';
import {
  countOutcome,
  type CheckKind,
  type PlannedQuery,
  type QueryAnswers,
  type QueryRange,
} from './kind.js';
import {
  hasInvalidBuckets,
  histogramsByTime,
  increasesByClass,
  intervalSeries,
  presentAny,
  timelineEntries,
} from './series.js';
import { checkSummary, latencyWhat } from './summary.js';

/** Per-interval `sum by (le)` series per side, and the stable's hour before the window. */
type Query = 'canaryBuckets' | 'stableBuckets' | 'stableBaseline';
/** The raw bucket counters per side (pod × le) the check queries. */
type Planned = 'canaryBuckets' | 'stableBuckets';

/**
 * The number a bucket bound spells, as the key of its bucket: Prometheus 3 stores the bounds it
 * scrapes as OpenMetrics writes them ("250.0", "1.8e+06"), 2.x as the target wrote them ("250",
 * "1800000"). `+Inf` and what is no number keep their spelling.
 */
function boundKey(le: string): string {
  if (le === '+Inf') return le;
  const n = Number(le);
  return Number.isNaN(n) ? le : String(n);
}

/**
 * A pod's bucket series whose bounds are the same number, merged into one under that number: one
 * counter under two spellings, as a Prometheus 2 → 3 upgrade leaves it (the old series until the
 * upgrade and for the look-back after it, the new one from it on) and a query layer over servers
 * of both majors answers it. Differenced apart, the new spelling would be a series born inside
 * the window, its whole count since the pod started counted as new requests; merged, the larger
 * value at each point (as a series scraped twice keeps its maximum), it is the one counter it is.
 * Series with one spelling only are returned as they are (their buckets are keyed by number
 * where they are counted, {@link bucketCounts}).
 */
export function mergeBoundSpellings(counters: readonly Series[], podLabel = 'pod'): Series[] {
  const groups = new Map<string, Series[]>();
  for (const s of counters) {
    const le = s.labels['le'];
    const key = JSON.stringify([s.labels[podLabel] ?? '', le === undefined ? null : boundKey(le)]);
    const g = groups.get(key);
    if (g === undefined) groups.set(key, [s]);
    else g.push(s);
  }
  if (groups.size === counters.length) return [...counters];
  const out: Series[] = [];
  for (const members of groups.values()) {
    const first = members[0] as Series;
    if (members.length === 1) {
      out.push(first);
      continue;
    }
    const byTime = new Map<number, number>();
    for (const m of members) {
      for (const p of m.samples) {
        const prev = byTime.get(p.t);
        // NaN stays NaN (Math.max), for the engine to refuse.
        byTime.set(p.t, prev === undefined ? p.v : Math.max(prev, p.v));
      }
    }
    const le = first.labels['le'];
    out.push({
      labels: le === undefined ? first.labels : { ...first.labels, le: boundKey(le) },
      samples: [...byTime.entries()].sort((a, b) => a[0] - b[0]).map(([t, v]) => ({ t, v })),
    });
  }
  return out;
}

/**
 * One side's raw bucket counters (per pod and `le`, at the points of `grid`) → one series per
 * `le` with a point per interval of the window (the intervals ending after `windowStart`) in
 * which the side had counters, and, for the intervals before it, one series per `le` with one
 * point at `windowStart`: their sum (the stable's hour before the window).
 */
export function bucketCounts(
  counters: readonly Series[],
  grid: CounterGrid,
  windowStart: number,
  podLabel = 'pod',
): { window: Series[]; before: Series[] } {
  const byLe = increasesByClass(mergeBoundSpellings(counters, podLabel), grid, podLabel, (l) => {
    const le = l['le'];
    return le === undefined ? undefined : boundKey(le);
  });
  const first = byLe.values().next();
  if (first.done === true) return { window: [], before: [] };
  const present = presentAny(byLe.values(), first.value.times.length);
  const window: Series[] = [];
  const before: Series[] = [];
  const hasBefore = first.value.times.some((t) => t <= windowStart);
  for (const [le, c] of byLe) {
    window.push(intervalSeries(c, present, { le }, windowStart));
    if (!hasBefore) continue;
    let sum = 0;
    c.times.forEach((t, i) => {
      if (t <= windowStart) sum += c.increases[i] as number;
    });
    before.push({ labels: { le }, samples: [{ t: windowStart, v: sum }] });
  }
  return { window, before };
}

/** The per-interval series of both sides from their raw counters. */
export function latencyData(
  answers: QueryAnswers<Planned>,
  grids: { readonly window: CounterGrid | null; readonly stable: CounterGrid | null },
  podLabel = 'pod',
): Partial<QueryAnswers<Query>> {
  if (grids.window === null || grids.stable === null) return {};
  const start = grids.window.start;
  const canary = bucketCounts(answers.canaryBuckets ?? [], grids.window, start, podLabel);
  const stable = bucketCounts(answers.stableBuckets ?? [], grids.stable, start, podLabel);
  return { canaryBuckets: canary.window, stableBuckets: stable.window, stableBaseline: stable.before };
}

/** Requests expected above the quantile before the pre-window stable data is trusted for it. */
export const MIN_TAIL_FOR_BASELINE = 20;

export type LatencySpec = { readonly thresholdMs: number } | { readonly quantile: number };

export interface LatencyOutcome {
  readonly result: CountTestResult;
  readonly threshold: LatencyThreshold;
  readonly quantiles: { readonly canary: QuantileEstimates; readonly stable: QuantileEstimates };
  /** Why no threshold could be used, for the summary. */
  readonly note?: string;
  /** Each interval's timestamp (Unix seconds), in the order of the engine's timeline. */
  readonly times?: readonly number[];
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

/** The engine's answer for data that cannot be counted (NaN, no usable edge): invalid_data. */
function invalid(params: CheckParams): CountTestResult {
  return decideCounts(
    [{ canaryTotal: Number.NaN, canaryBad: Number.NaN, stableTotal: Number.NaN, stableBad: Number.NaN }],
    params,
  );
}

const totalOf = (h: readonly HistogramBucket[]): number =>
  h.find((b) => b.le === Number.POSITIVE_INFINITY)?.count ?? 0;

/**
 * Series → thresholds → per-interval counts → the engine's decision (also what the benchmark
 * calls at every look). `stableBaseline` is the stable's histogram over the hour before the
 * window (one point per bucket), when a stable-quantile threshold asked for it.
 */
export function evaluateLatency(
  data: Partial<QueryAnswers<Query>>,
  spec: LatencySpec,
  params: CheckParams,
  unit: DurationUnit,
  options: CountTestOptions = {},
): LatencyOutcome {
  const canary = histogramsByTime(data.canaryBuckets ?? []);
  const stable = histogramsByTime(data.stableBuckets ?? []);
  const base: LatencyThreshold =
    'thresholdMs' in spec
      ? { ms: null, source: 'slo', requestedMs: spec.thresholdMs }
      : { ms: null, source: 'stable-quantile', quantile: spec.quantile, stableQuantileMs: null };
  const emptyQ: QuantileEstimates = { p50: null, p95: null, p99: null };
  if (hasInvalidBuckets(canary.values()) || hasInvalidBuckets(stable.values())) {
    return {
      result: invalid(params),
      threshold: base,
      quantiles: { canary: emptyQ, stable: emptyQ },
      note: 'NaN or negative bucket counts',
    };
  }
  const times = [...new Set([...canary.keys(), ...stable.keys()])].sort((a, b) => a - b);
  const intervals = times.map((t) => ({ canary: canary.get(t) ?? [], stable: stable.get(t) ?? [] }));
  const canaryAll = sumHistograms(intervals.map((i) => i.canary));
  const stableAll = sumHistograms(intervals.map((i) => i.stable));
  const quantiles = { canary: estimates(canaryAll, unit), stable: estimates(stableAll, unit) };

  // With no traffic on a side, let the engine say so (its edge-case guards come first).
  if (!(totalOf(canaryAll) > 0) || !(totalOf(stableAll) > 0)) {
    const counts = intervals.map((i) => ({
      canaryTotal: totalOf(i.canary),
      canaryBad: 0,
      stableTotal: totalOf(i.stable),
      stableBad: 0,
    }));
    return { result: decideCounts(counts, params, options), threshold: base, quantiles, times };
  }

  let edges: number[];
  let threshold: LatencyThreshold;
  if ('quantile' in spec) {
    const q = spec.quantile;
    // NaN or negative counts in the hour before the window: the store is answering garbage, and
    // a threshold from the window alone would hide that. Refused like the window's own.
    const baselinePoints = [...histogramsByTime(data.stableBaseline ?? []).values()];
    if (hasInvalidBuckets(baselinePoints)) {
      const t: LatencyThreshold = { ...base, basis: 'stable-before-window' };
      return {
        result: invalid(params),
        threshold: t,
        quantiles,
        note: "NaN or negative bucket counts in the stable's hour before the window",
      };
    }
    const baseline = sumHistograms(baselinePoints);
    const useBaseline = totalOf(baseline) * (1 - q) >= MIN_TAIL_FOR_BASELINE;
    const e = latencyEdges(q, useBaseline ? baseline : stableAll);
    edges = e === null ? [] : e.lowEdge === null || e.lowEdge === e.edge ? [e.edge] : [e.lowEdge, e.edge];
    threshold = {
      ms: e === null ? null : toMs(e.edge, unit),
      source: 'stable-quantile',
      quantile: q,
      stableQuantileMs: e === null ? null : Number(toMs(e.quantile, unit).toPrecision(4)),
      basis: useBaseline ? 'stable-before-window' : 'stable-in-window',
      ...(e === null ? {} : { lowMs: e.lowEdge === null ? null : toMs(e.lowEdge, unit) }),
    };
  } else {
    const inUnit = unit === 'seconds' ? spec.thresholdMs / 1000 : spec.thresholdMs;
    const edge = thresholdEdge(inUnit, [...canaryAll, ...stableAll]);
    edges = edge === null ? [] : [edge];
    threshold = { ms: edge === null ? null : toMs(edge, unit), source: 'slo', requestedMs: spec.thresholdMs };
  }
  if (edges.length === 0) {
    return {
      result: invalid(params),
      threshold,
      quantiles,
      note: 'no histogram bucket edge at or above the threshold',
    };
  }
  let perEdge: IntervalCounts[][];
  try {
    perEdge = latencyIntervalCountsAt(intervals, edges);
  } catch (err) {
    // A side whose buckets lack the edge (different bucket layouts): refuse rather than guess.
    return {
      result: invalid(params),
      threshold,
      quantiles,
      note: err instanceof Error ? err.message : String(err),
    };
  }
  const result = decideThresholds(perEdge, params, options);
  if (edges.length === 1) return { result, threshold, quantiles, times };
  const deciding = edges[result.decidingEdge ?? 0] as number;
  return { result, threshold: { ...threshold, decidingMs: toMs(deciding, unit) }, quantiles, times };
}

/** Plain SLO or stable quantile, from the request (the schema guarantees exactly one). */
function specOf(c: LatencyCheckRequest): LatencySpec {
  return c.thresholdMs !== undefined ? { thresholdMs: c.thresholdMs } : { quantile: c.quantile as number };
}

/** The stable's query also covers the hour before the window when a stable quantile needs it. */
const stableRange = (c: LatencyCheckRequest): QueryRange =>
  c.quantile === undefined ? 'window' : 'withHour';

/** The edges with their bounds in ms: the low edge first, then the quantile's edge. */
function edgesWithMs(edges: readonly EdgeResult[], t: LatencyThreshold): NonNullable<CheckResult['edges']> {
  const ms = [t.lowMs ?? null, t.ms];
  return edges.map((e, i) => ({ ...e, ms: ms[i] ?? null }));
}

export const latency: CheckKind<LatencyCheckRequest, Planned, CheckParams> = {
  params: countParams,
  plan(c, ctx) {
    const { canary, stable } = ctx.sides;
    // Over the same grid (a plain SLO), one query can serve both sides; a stable quantile needs
    // the stable's hour before the window, which the canary's counts do not.
    const shared = stableRange(c) === 'window';
    const buckets = (side: SideSelector, other: SideSelector, range: QueryRange): PlannedQuery => ({
      request: { series: 'latencyBuckets', side, ...(shared ? { alongside: other } : {}) },
      range,
    });
    return {
      canaryBuckets: buckets(canary, stable, 'window'),
      stableBuckets: buckets(stable, canary, stableRange(c)),
    };
  },
  evaluate(c, answers, params, ctx) {
    const data = latencyData(
      answers,
      { window: ctx.grids.window, stable: ctx.grids[stableRange(c)] },
      ctx.mesh.labels.pod,
    );
    const o = evaluateLatency(data, specOf(c), params, ctx.durationUnit, { timeline: ctx.timeline });
    const timeline = timelineEntries(o.times ?? [], o.result.timeline);
    const what = latencyWhat(o.threshold);
    return countOutcome(
      o.result,
      checkSummary(c.name ?? c.type, o.result.reason, o.result, {
        what,
        intervalSeconds: ctx.intervalSeconds,
        bad: 'slow requests',
        ...(o.note === undefined ? {} : { note: o.note }),
      }),
      {
        threshold: o.threshold,
        quantiles: o.quantiles,
        ...(timeline === undefined ? {} : { timeline }),
        ...(o.result.edges === undefined ? {} : { edges: edgesWithMs(o.result.edges, o.threshold) }),
      },
    );
  },
};
