/**
 * Traffic for the shipped-Rollout benchmark, shaped like what the judge reads from Prometheus:
 * per one-minute interval and per side, the request count per Istio default duration bucket
 * (independent Poisson draws, so a side's total is their sum), the 5xx count among them
 * (binomial), and the stable's histogram over the hour before the canary started.
 *
 * Latencies are log-normal (median m, σ), discretised into Istio's default
 * `istio_request_duration_milliseconds` buckets. A latency regression is either the whole
 * distribution slower (every latency × factor) or a tail-only one (a share of the requests,
 * chosen at random, get a fixed extra delay).
 */
import { normalCdf } from '../../src/stats/special-functions.js';
import type { Rng } from '../../test/support/random.js';

/** Istio's default bucket bounds for istio_request_duration_milliseconds (then +Inf). */
export const ISTIO_LE_MS: readonly number[] = [
  0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000,
  3600000,
];
/** The `le` label values as Prometheus returns them, +Inf last. */
export const ISTIO_LE_LABELS: readonly string[] = [...ISTIO_LE_MS.map(String), '+Inf'];
export const BUCKETS = ISTIO_LE_LABELS.length;

export interface LatencyShape {
  readonly medianMs: number;
  readonly sigma: number;
}

/** How the canary's latency differs from the stable's. */
export type LatencyChange =
  | { readonly kind: 'none' }
  | { readonly kind: 'slower'; readonly factor: number }
  | { readonly kind: 'tail'; readonly share: number; readonly extraMs: number };

/** P(latency ≤ x) for the log-normal shape. */
function lognormalCdf(x: number, s: LatencyShape): number {
  if (!(x > 0)) return 0;
  if (x === Number.POSITIVE_INFINITY) return 1;
  return normalCdf(Math.log(x / s.medianMs) / s.sigma);
}

/** P(latency ≤ x) for the stable shape with `change` applied. */
export function latencyCdf(x: number, shape: LatencyShape, change: LatencyChange): number {
  switch (change.kind) {
    case 'none':
      return lognormalCdf(x, shape);
    case 'slower':
      return lognormalCdf(x / change.factor, shape);
    case 'tail':
      return (
        (1 - change.share) * lognormalCdf(x, shape) + change.share * lognormalCdf(x - change.extraMs, shape)
      );
  }
}

/** Probability of each bucket (non-cumulative, `ISTIO_LE_LABELS` order); sums to 1. */
export function bucketProbabilities(shape: LatencyShape, change: LatencyChange): number[] {
  const out: number[] = [];
  let prev = 0;
  for (const le of [...ISTIO_LE_MS, Number.POSITIVE_INFINITY]) {
    const c = latencyCdf(le, shape, change);
    out.push(Math.max(0, c - prev));
    prev = c;
  }
  return out;
}

/** Probability that one request is slower than `thresholdMs` (a bucket bound). */
export function shareSlowerThan(thresholdMs: number, shape: LatencyShape, change: LatencyChange): number {
  return 1 - latencyCdf(thresholdMs, shape, change);
}

/**
 * One side's traffic in one interval: cumulative counts per bucket (`le` order, the last is the
 * total) and the 5xx count. `out` is filled in place (length BUCKETS).
 */
export function drawInterval(
  rng: Rng,
  meanPerMinute: number,
  probs: readonly number[],
  errorRate: number,
  out: number[],
): { total: number; errors: number } {
  let cum = 0;
  for (let i = 0; i < BUCKETS; i++) {
    const p = probs[i] as number;
    if (p > 0) cum += rng.poisson(meanPerMinute * p);
    out[i] = cum;
  }
  return { total: cum, errors: rng.binomial(cum, errorRate) };
}
