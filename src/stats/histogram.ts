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
  buckets.forEach((b, i) => {
    if (typeof b.le !== 'number' || Number.isNaN(b.le)) {
      throw new RangeError(`${what}[${i}].le must be a number or ±Infinity, got ${String(b.le)}`);
    }
    if (typeof b.count !== 'number' || !Number.isFinite(b.count) || b.count < 0) {
      throw new RangeError(`${what}[${i}].count must be a finite number ≥ 0, got ${String(b.count)}`);
    }
  });
}

/**
 * Prometheus' preprocessing: sort by `le`, merge buckets with the same bound (e.g. `le="1"` and
 * `le="1.0"` series) by adding their counts, then replace any decrease in the cumulative counts
 * by the running maximum (the "monotonicity fix" for inconsistent or extrapolated data).
 */
function normalize(buckets: readonly HistogramBucket[]): CleanBucket[] {
  const sorted = buckets.map((b) => ({ le: b.le, count: b.count })).sort((a, b) => a.le - b.le);
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
  if (typeof edge !== 'number' || !Number.isFinite(edge)) {
    throw new RangeError(`edge must be a finite bucket bound, got ${String(edge)}`);
  }
  return intervals.map((iv, i) => {
    const side = (buckets: readonly HistogramBucket[], name: string): [number, number] => {
      const what = `intervals[${i}].${name}`;
      checkBuckets(buckets, what);
      if (buckets.length === 0) return [0, 0];
      const b = normalize(buckets);
      const last = b[b.length - 1] as CleanBucket;
      if (last.le !== Infinity) throw new RangeError(`${what} has no le=+Inf bucket`);
      const at = b.find((x) => x.le === edge);
      if (at === undefined) throw new RangeError(`${what} has no bucket with le=${edge}`);
      return [last.count, last.count - at.count];
    };
    const [canaryTotal, canaryBad] = side(iv.canary, 'canary');
    const [stableTotal, stableBad] = side(iv.stable, 'stable');
    return { canaryTotal, canaryBad, stableTotal, stableBad };
  });
}
