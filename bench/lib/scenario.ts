/**
 * Simulated canary rollouts: per-minute canary and stable request counts and "bad" counts
 * (errors, or requests slower than a latency threshold), with the Rollout's traffic weight
 * stepping up on a fixed schedule. Every rule in the benchmark reads the same simulated history.
 */
import type { HistogramBucket } from '../../src/stats/types.js';
import { normalCdf } from '../../src/stats/special-functions.js';
import type { Rng } from '../../test/support/random.js';

export interface Schedule {
  /** Canary traffic weights in percent, one per step. */
  readonly steps: readonly number[];
  /** Minutes each step is held. */
  readonly stepMinutes: number;
}

export interface Minute {
  /** 0-based step index and the canary weight (percent) during this minute. */
  readonly step: number;
  readonly weight: number;
  readonly canaryTotal: number;
  readonly canaryBad: number;
  readonly stableTotal: number;
  readonly stableBad: number;
  /** Expected extra bad requests the canary caused this minute: (p_canary − p_stable) × canary requests. */
  readonly excessBad: number;
  /** Latency scenario only: this minute's cumulative bucket counts per side. */
  readonly canaryHist?: readonly HistogramBucket[];
  readonly stableHist?: readonly HistogramBucket[];
}

export interface Rollout {
  readonly minutes: readonly Minute[];
  /** True probability that a stable / canary request is bad. */
  readonly pStable: number;
  readonly pCanary: number;
}

function stepOf(schedule: Schedule, minute: number): number {
  return Math.min(schedule.steps.length - 1, Math.floor(minute / schedule.stepMinutes));
}

/** Error-rate scenario: requests ~ Poisson(60 R w), errors ~ Binomial(requests, p). */
export function simulateErrorRollout(
  rng: Rng,
  schedule: Schedule,
  rps: number,
  pStable: number,
  ratio: number,
): Rollout {
  const pCanary = Math.min(1, pStable * ratio);
  const minutes: Minute[] = [];
  const total = schedule.steps.length * schedule.stepMinutes;
  for (let t = 0; t < total; t++) {
    const step = stepOf(schedule, t);
    const w = (schedule.steps[step] as number) / 100;
    const canaryTotal = rng.poisson(60 * rps * w);
    const stableTotal = rng.poisson(60 * rps * (1 - w));
    const canaryBad = rng.binomial(canaryTotal, pCanary);
    const stableBad = rng.binomial(stableTotal, pStable);
    minutes.push({
      step,
      weight: w * 100,
      canaryTotal,
      canaryBad,
      stableTotal,
      stableBad,
      excessBad: (pCanary - pStable) * canaryTotal,
    });
  }
  return { minutes, pStable, pCanary };
}

/** Istio's default buckets for istio_request_duration_milliseconds. */
export const ISTIO_BUCKETS_MS = [
  0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000,
  3600000,
];

export interface LatencyModel {
  /** Median latency of the stable, ms; latencies are log-normal. */
  readonly medianMs: number;
  /** Log-scale standard deviation. */
  readonly sigma: number;
  /** The canary's latencies are the stable's times this factor (so every quantile, tail included, is that much slower). */
  readonly slowdown: number;
}

function bucketProbabilities(medianMs: number, sigma: number): number[] {
  // P(latency ≤ le) for each finite edge, then 1 for +Inf.
  return [...ISTIO_BUCKETS_MS.map((le) => normalCdf(Math.log(le / medianMs) / sigma)), 1];
}

/** Probability that one request is slower than `edgeMs` under the model. */
export function probabilityAbove(edgeMs: number, medianMs: number, sigma: number): number {
  return 1 - normalCdf(Math.log(edgeMs / medianMs) / sigma);
}

/** Draws a histogram of `n` requests (multinomial over the buckets via conditional binomials). */
function drawHistogram(rng: Rng, n: number, cdf: readonly number[]): HistogramBucket[] {
  const out: HistogramBucket[] = [];
  let remaining = n;
  let cum = 0;
  let prevP = 0;
  for (let i = 0; i < cdf.length; i++) {
    const p = cdf[i] as number;
    const mass = p - prevP;
    const restMass = 1 - prevP;
    const draw =
      i === cdf.length - 1
        ? remaining
        : rng.binomial(remaining, restMass > 0 ? Math.min(1, mass / restMass) : 0);
    remaining -= draw;
    cum += draw;
    prevP = p;
    out.push({
      le: i < ISTIO_BUCKETS_MS.length ? (ISTIO_BUCKETS_MS[i] as number) : Number.POSITIVE_INFINITY,
      count: cum,
    });
  }
  return out;
}

/**
 * Latency scenario: per-minute histograms per side. Bad counts are the requests above
 * `edgeMs` (the bucket edge the latency check counts against).
 */
export function simulateLatencyRollout(
  rng: Rng,
  schedule: Schedule,
  rps: number,
  model: LatencyModel,
  edgeMs: number,
): Rollout {
  const stableCdf = bucketProbabilities(model.medianMs, model.sigma);
  const canaryCdf = bucketProbabilities(model.medianMs * model.slowdown, model.sigma);
  const pStable = probabilityAbove(edgeMs, model.medianMs, model.sigma);
  const pCanary = probabilityAbove(edgeMs, model.medianMs * model.slowdown, model.sigma);
  const edgeIndex = ISTIO_BUCKETS_MS.indexOf(edgeMs);
  if (edgeIndex < 0) throw new RangeError(`latency edge ${edgeMs} is not an Istio bucket bound`);
  const minutes: Minute[] = [];
  const total = schedule.steps.length * schedule.stepMinutes;
  for (let t = 0; t < total; t++) {
    const step = stepOf(schedule, t);
    const w = (schedule.steps[step] as number) / 100;
    const canaryTotal = rng.poisson(60 * rps * w);
    const stableTotal = rng.poisson(60 * rps * (1 - w));
    const canaryHist = drawHistogram(rng, canaryTotal, canaryCdf);
    const stableHist = drawHistogram(rng, stableTotal, stableCdf);
    const canaryBad = canaryTotal - (canaryHist[edgeIndex] as HistogramBucket).count;
    const stableBad = stableTotal - (stableHist[edgeIndex] as HistogramBucket).count;
    minutes.push({
      step,
      weight: w * 100,
      canaryTotal,
      canaryBad,
      stableTotal,
      stableBad,
      excessBad: (pCanary - pStable) * canaryTotal,
      canaryHist,
      stableHist,
    });
  }
  return { minutes, pStable, pCanary };
}
