/**
 * Latency from classic Prometheus histograms (cumulative `_bucket` counts per `le`).
 *
 * Two uses: (1) quantile estimates for the explanation, computed exactly as PromQL's
 * `histogram_quantile` computes them (checked against a real Prometheus in the unit tests);
 * (2) turning "requests slower than a threshold" into a bad count per interval, so latency goes
 * through the same count test as errors.
 *
 * A classic histogram only knows counts at its bucket edges. "How many requests took longer than
 * T" is exact only when T is an edge; otherwise it is an interpolation guess. The count helpers
 * therefore never interpolate: they move the threshold to the nearest edge at or above it (see
 * {@link thresholdEdge}) and count exactly above that edge, for canary and stable alike.
 */

import { binomialIsf, binomialPpf } from './distributions.js';
import type { HistogramBucket, IntervalCounts } from './types.js';

/**
 * Validated, sorted, coalesced, monotone buckets — the form PromQL computes on. `le` strictly
 * increasing, counts non-decreasing. May be empty.
 */
interface CleanBucket {
  le: number;
  count: number;
}

function checkBuckets(buckets: readonly HistogramBucket[], what: string): void {
  for (let i = 0; i < buckets.length; i++) {
    const b = buckets[i] as HistogramBucket;
    if (typeof b.le !== 'number' || Number.isNaN(b.le)) {
      throw new RangeError(`${what}[${i}].le must be a number or ±Infinity, got ${String(b.le)}`);
    }
    if (typeof b.count !== 'number' || !Number.isFinite(b.count) || b.count < 0) {
      throw new RangeError(`${what}[${i}].count must be a finite number ≥ 0, got ${String(b.count)}`);
    }
  }
}

/**
 * Prometheus' preprocessing: sort by `le`, merge buckets with the same bound (e.g. `le="1"` and
 * `le="1.0"` series) by adding their counts, then replace any decrease in the cumulative counts
 * by the running maximum (the "monotonicity fix" for inconsistent or extrapolated data).
 */
function normalize(buckets: readonly HistogramBucket[]): CleanBucket[] {
  const sorted = buckets.map((b) => ({ le: b.le, count: b.count }));
  // Buckets usually arrive in bound order (the judge sorts its series once): sort only if not.
  let inOrder = true;
  for (let i = 1; i < sorted.length && inOrder; i++)
    inOrder = (sorted[i - 1] as CleanBucket).le <= (sorted[i] as CleanBucket).le;
  if (!inOrder) sorted.sort((a, b) => a.le - b.le);
  const out: CleanBucket[] = [];
  for (const b of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && last.le === b.le) last.count += b.count;
    else out.push(b);
  }
  let max = -Infinity;
  for (const b of out) {
    if (b.count > max) max = b.count;
    else b.count = max;
  }
  return out;
}

function checkQuantile(q: number): void {
  if (typeof q !== 'number' || !(q >= 0 && q <= 1)) {
    throw new RangeError(`quantile must be within [0, 1], got ${String(q)}`);
  }
}

/** Index of the first bucket (excluding the last) whose cumulative count reaches `rank`. */
function searchRank(b: readonly CleanBucket[], rank: number): number {
  let lo = 0;
  let hi = b.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((b[mid] as CleanBucket).count >= rank) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Value at cumulative `rank` by linear interpolation within its bucket (PromQL's rule). */
function valueAtRank(b: readonly CleanBucket[], rank: number): number {
  const i = searchRank(b, rank);
  if (i === b.length - 1) return (b[b.length - 2] as CleanBucket).le;
  const cur = b[i] as CleanBucket;
  if (i === 0 && cur.le <= 0) return cur.le;
  let start = 0;
  let count = cur.count;
  let r = rank;
  if (i > 0) {
    const prev = b[i - 1] as CleanBucket;
    start = prev.le;
    count -= prev.count;
    r -= prev.count;
  }
  return start + (cur.le - start) * (r / count);
}

/** Buckets usable for a quantile: ≥ 2 bounds, the highest +Inf, at least one observation. */
function quantileReady(buckets: readonly HistogramBucket[]): CleanBucket[] | null {
  checkBuckets(buckets, 'buckets');
  if (buckets.length === 0) return null;
  const b = normalize(buckets);
  const last = b[b.length - 1] as CleanBucket;
  if (last.le !== Infinity || b.length < 2 || last.count === 0) return null;
  return b;
}

/**
 * The q-quantile of a classic histogram, exactly as PromQL's `histogram_quantile(q, buckets)`
 * (Prometheus 2.42 `bucketQuantile`):
 * - buckets are sorted by `le`, equal bounds merged, decreasing counts lifted to the running max;
 * - rank = q × (count of the +Inf bucket); the answer lies in the first bucket whose cumulative
 *   count reaches the rank, interpolated linearly between its lower and upper bound;
 * - the lowest bucket starts at 0 when its upper bound is > 0; when it is ≤ 0 its bound is returned;
 * - a rank in the +Inf bucket returns the upper bound of the second-highest bucket.
 *
 * Newer Prometheus versions also snap cumulative counts that differ by ≤ 1e-12 relative (float
 * noise from `sum`) before the monotonicity fix; that changes results only at that noise level.
 *
 * Where Prometheus answers NaN — no +Inf bucket, fewer than 2 buckets, zero observations, or the
 * 0/0 of q = 0 with an empty lowest bucket — this returns `null`. Unlike PromQL (which answers
 * ±Inf), q outside [0, 1] is a caller error and throws, as do NaN bounds and NaN, infinite or
 * negative counts.
 */
export function histogramQuantile(q: number, buckets: readonly HistogramBucket[]): number | null {
  checkQuantile(q);
  const b = quantileReady(buckets);
  if (b === null) return null;
  const v = valueAtRank(b, q * (b[b.length - 1] as CleanBucket).count);
  return Number.isNaN(v) ? null : v;
}

/** Total observations (the +Inf bucket after the monotonicity fix); 0 for no buckets. */
export function histogramTotal(buckets: readonly HistogramBucket[]): number {
  checkBuckets(buckets, 'buckets');
  if (buckets.length === 0) return 0;
  const b = normalize(buckets);
  const last = b[b.length - 1] as CleanBucket;
  if (last.le !== Infinity) throw new RangeError('buckets must include le=+Inf (the total count)');
  return last.count;
}

/**
 * Adds histograms bucket by bucket (e.g. the intervals of a window, or several pods), as
 * `sum by (le)` does. Bounds are matched by value.
 */
export function sumHistograms(histograms: readonly (readonly HistogramBucket[])[]): HistogramBucket[] {
  const acc = new Map<number, number>();
  histograms.forEach((h, j) => {
    checkBuckets(h, `histograms[${j}]`);
    for (const b of h) acc.set(b.le, (acc.get(b.le) ?? 0) + b.count);
  });
  return [...acc.entries()].sort((a, b) => a[0] - b[0]).map(([le, count]) => ({ le, count }));
}

/**
 * The bucket edge used for a latency threshold: the smallest finite `le` ≥ `threshold`, or null
 * when the threshold lies above every finite edge (then nothing can be counted as slower).
 *
 * Why at-or-above: a classic histogram counts exactly only at its edges. Moving the threshold up
 * to the next edge never labels a request that met the threshold as bad; the check then tests
 * "slower than the edge" exactly, and reports the edge so the looser effective SLO is visible.
 * Thresholds are in the unit of `le` (milliseconds for Istio's `_milliseconds` histograms,
 * seconds for most client libraries); converting is the caller's job.
 */
export function thresholdEdge(threshold: number, buckets: readonly HistogramBucket[]): number | null {
  if (typeof threshold !== 'number' || !Number.isFinite(threshold)) {
    throw new RangeError(`threshold must be a finite number, got ${String(threshold)}`);
  }
  checkBuckets(buckets, 'buckets');
  let best: number | null = null;
  for (const b of buckets) {
    if (Number.isFinite(b.le) && b.le >= threshold && (best === null || b.le < best)) best = b.le;
  }
  return best;
}

export interface CountAboveResult {
  /** The edge actually used (smallest finite le ≥ threshold); null when there is none. */
  readonly edge: number | null;
  /** Observations above `edge` (total − count(le = edge)); null when edge is null. */
  readonly above: number | null;
  /** All observations (count of the +Inf bucket). */
  readonly total: number;
}

/**
 * Requests slower than `threshold`, counted exactly at the bucket edge at or above it (see
 * {@link thresholdEdge}): `above = total − count(le = edge)`, after Prometheus' merge and
 * monotonicity fix. Requests between the threshold and that edge count as good. Empty buckets
 * mean no requests (total 0). Buckets without +Inf are refused (no total).
 */
export function countAbove(threshold: number, buckets: readonly HistogramBucket[]): CountAboveResult {
  const edge = thresholdEdge(threshold, buckets);
  const total = histogramTotal(buckets);
  if (edge === null) return { edge, above: null, total };
  return { edge, above: total - countAtEdge(buckets, edge, 'buckets'), total };
}

/** Cumulative count at exactly `le = edge`, after merge + monotonicity fix. Throws if absent. */
function countAtEdge(buckets: readonly HistogramBucket[], edge: number, what: string): number {
  const found = normalize(buckets).find((b) => b.le === edge);
  if (found === undefined) throw new RangeError(`${what} has no bucket with le=${edge}`);
  return found.count;
}

export interface StableQuantileThreshold {
  /** The stable's q-quantile as histogram_quantile reports it. */
  readonly quantile: number;
  /** The bucket edge at or above it: the threshold the latency check counts against. */
  readonly edge: number;
}

/**
 * The threshold for a relative latency check: the stable's q-quantile (0 < q < 1), moved up to
 * the bucket edge at or above it. The edge is taken from the bucket the quantile's rank falls
 * in, not by comparing floating-point values, so a quantile that lands exactly on an edge keeps
 * that edge. When the rank falls in the +Inf bucket the edge is the highest finite bound (as
 * histogram_quantile answers). Returns null when the stable has no usable histogram or the
 * highest finite bound is ≤ 0.
 */
export function thresholdFromStableQuantile(
  q: number,
  stableBuckets: readonly HistogramBucket[],
): StableQuantileThreshold | null {
  checkQuantile(q);
  if (q === 0 || q === 1) throw new RangeError(`quantile for a threshold must be in (0, 1), got ${q}`);
  const b = quantileReady(stableBuckets);
  if (b === null) return null;
  const rank = q * (b[b.length - 1] as CleanBucket).count;
  const i = searchRank(b, rank);
  const edge = (b[Math.min(i, b.length - 2)] as CleanBucket).le;
  const quantile = valueAtRank(b, rank);
  if (!(edge > 0) || Number.isNaN(quantile)) return null;
  return { quantile, edge };
}

export interface LatencyEdges extends StableQuantileThreshold {
  /**
   * The largest bucket edge with at least a share 1 − q of the stable's requests above it: the
   * threshold that keeps the events the quantile promises, however coarse the buckets. Equal to
   * `edge` when the quantile's edge already holds that share; null when no finite edge does.
   */
  readonly lowEdge: number | null;
}

/**
 * The thresholds of a relative latency check (latency.ts in src/judge/checks). With coarse
 * buckets (Istio's …, 50, 100, 250, 500 ms) the edge at or above the stable's p99 can hold ten
 * times fewer requests than 1 %: a test on it has too few events to ever rule out a slowdown.
 * The low edge — the largest edge with ≥ (1 − q) of the stable's requests above it — always has
 * them; the check tests both edges (the high one catches tail-only regressions). Returns null
 * when the stable has no usable histogram (as {@link thresholdFromStableQuantile}).
 */
export function latencyEdges(q: number, stableBuckets: readonly HistogramBucket[]): LatencyEdges | null {
  const high = thresholdFromStableQuantile(q, stableBuckets);
  if (high === null) return null;
  const b = normalize(stableBuckets);
  const total = (b[b.length - 1] as CleanBucket).count;
  let lowEdge: number | null = null;
  for (const x of b) {
    if (Number.isFinite(x.le) && x.le > 0 && x.le <= high.edge && total - x.count >= (1 - q) * total)
      lowEdge = x.le;
  }
  return { ...high, lowEdge };
}

/** Canary and stable histograms for one analysis interval (increase over the interval). */
export interface IntervalHistograms {
  readonly canary: readonly HistogramBucket[];
  readonly stable: readonly HistogramBucket[];
}

/**
 * Per-interval counts for the count test: total = +Inf count, bad = total − count(le = edge),
 * per side. An empty bucket list means no requests on that side in that interval. `edge` must be
 * a finite bucket bound present in every non-empty histogram (pick it with {@link thresholdEdge}
 * or {@link thresholdFromStableQuantile}); a missing edge or a histogram without +Inf throws a
 * RangeError naming the interval and side, because counting against a different edge would
 * silently change what "slow" means.
 */
export function latencyIntervalCounts(
  intervals: readonly IntervalHistograms[],
  edge: number,
): IntervalCounts[] {
  return latencyIntervalCountsAt(intervals, [edge])[0] as IntervalCounts[];
}

/**
 * {@link latencyIntervalCounts} for several edges at once (one list of counts per edge, in the
 * order given): each histogram is normalised once, whatever the number of edges.
 */
export function latencyIntervalCountsAt(
  intervals: readonly IntervalHistograms[],
  edges: readonly number[],
): IntervalCounts[][] {
  for (const edge of edges) {
    if (typeof edge !== 'number' || !Number.isFinite(edge)) {
      throw new RangeError(`edge must be a finite bucket bound, got ${String(edge)}`);
    }
  }
  const out: IntervalCounts[][] = edges.map(() => []);
  intervals.forEach((iv, i) => {
    const side = (buckets: readonly HistogramBucket[], name: string): { total: number; bad: number[] } => {
      const what = `intervals[${i}].${name}`;
      checkBuckets(buckets, what);
      if (buckets.length === 0) return { total: 0, bad: edges.map(() => 0) };
      const b = normalize(buckets);
      const last = b[b.length - 1] as CleanBucket;
      if (last.le !== Infinity) throw new RangeError(`${what} has no le=+Inf bucket`);
      return {
        total: last.count,
        bad: edges.map((edge) => {
          const at = b.find((x) => x.le === edge);
          if (at === undefined) throw new RangeError(`${what} has no bucket with le=${edge}`);
          return last.count - at.count;
        }),
      };
    };
    const canary = side(iv.canary, 'canary');
    const stable = side(iv.stable, 'stable');
    edges.forEach((_, j) => {
      (out[j] as IntervalCounts[]).push({
        canaryTotal: canary.total,
        canaryBad: canary.bad[j] as number,
        stableTotal: stable.total,
        stableBad: stable.bad[j] as number,
      });
    });
  });
  return out;
}

/** A confidence interval for a quantile of the observations behind a histogram. */
export interface QuantileInterval {
  readonly q: number;
  readonly confidence: number;
  /** Whole observations the interval rests on: the +Inf count rounded down. */
  readonly n: number;
  /** histogram_quantile(q): the point estimate. */
  readonly estimate: number;
  /** 1-based order-statistic ranks bounding the quantile; null = unbounded on that side. */
  readonly lowerRank: number | null;
  readonly upperRank: number | null;
  /** The ranks' values interpolated as histogram_quantile does; null = unbounded. */
  readonly lower: number | null;
  readonly upper: number | null;
  /**
   * Bucket-edge bounds that need no within-bucket assumption: the lower edge of the bucket
   * holding the lower rank, the upper edge of the bucket holding the upper rank (null when that
   * is the +Inf bucket, or the rank is unbounded).
   */
  readonly lowerEdge: number | null;
  readonly upperEdge: number | null;
}

/**
 * A distribution-free confidence interval for the q-quantile (0 < q < 1), for the explanation.
 *
 * Method: the order-statistic interval. With n observations and B ~ Binomial(n, q), the
 * interval [X_(l), X_(u)] with l = the smallest k with P(B ≤ k) ≥ γ/2 and u = 1 + the smallest k
 * with P(B > k) ≤ γ/2 (γ = 1 − confidence) covers the true quantile of any continuous
 * distribution with probability ≥ confidence — the same ranks as scipy's
 * `quantile_test(...).confidence_interval()`. l = 0 or u = n + 1 means that side is unbounded
 * (too few observations for the confidence asked).
 *
 * The histogram does not hold X_(l) and X_(u) themselves, only the buckets they fall in. Two
 * mappings are reported: `lower`/`upper` interpolate the ranks linearly within their buckets,
 * exactly as {@link histogramQuantile} does for the estimate (same assumption, same units);
 * `lowerEdge`/`upperEdge` take the enclosing bucket edges, which keep the coverage guarantee
 * with no assumption about the shape inside buckets. In a seeded simulation (lognormal latency,
 * n = 2000, p99, 95%) the edge bounds covered the true p99 400/400 times with Istio's coarse
 * buckets and 391/400 with 5 ms buckets; the interpolated bounds covered 384/400 with 5 ms
 * buckets but 0/400 with the coarse ones (linear interpolation is biased where the density
 * changes within a bucket). Use the edge bounds for any decision. Fractional counts (from `increase()`) use
 * n = floor(total) observations, and rank k is read at cumulative count k × total / n.
 *
 * Returns null when there is no usable histogram (no +Inf bucket, < 2 buckets, < 1 observation).
 */
export function histogramQuantileInterval(
  q: number,
  buckets: readonly HistogramBucket[],
  confidence = 0.95,
): QuantileInterval | null {
  checkQuantile(q);
  if (q === 0 || q === 1) throw new RangeError(`quantile for an interval must be in (0, 1), got ${q}`);
  if (typeof confidence !== 'number' || !(confidence > 0 && confidence < 1)) {
    throw new RangeError(`confidence must be within (0, 1), got ${String(confidence)}`);
  }
  const b = quantileReady(buckets);
  if (b === null) return null;
  const total = (b[b.length - 1] as CleanBucket).count;
  const n = Math.floor(total);
  if (n < 1) return null;
  const estimate = valueAtRank(b, q * total);
  if (Number.isNaN(estimate)) return null;
  const tail = (1 - confidence) / 2;
  const l = binomialPpf(tail, n, q);
  const u = binomialIsf(tail, n, q) + 1;
  const scale = total / n;
  const last = b.length - 1;

  let lower: number | null = null;
  let lowerEdge: number | null = null;
  if (l >= 1) {
    const r = l * scale;
    lower = valueAtRank(b, r);
    const i = searchRank(b, r);
    const first = b[0] as CleanBucket;
    lowerEdge = i > 0 ? (b[i - 1] as CleanBucket).le : first.le > 0 ? 0 : null;
  }
  let upper: number | null = null;
  let upperEdge: number | null = null;
  if (u <= n) {
    const r = u * scale;
    const i = searchRank(b, r);
    if (i < last) {
      upper = valueAtRank(b, r);
      upperEdge = (b[i] as CleanBucket).le;
    }
  }
  return {
    q,
    confidence,
    n,
    estimate,
    lowerRank: l >= 1 ? l : null,
    upperRank: u <= n ? u : null,
    lower,
    upper,
    lowerEdge,
    upperEdge,
  };
}
