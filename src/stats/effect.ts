/**
 * Effect estimate for a count check: the canary/stable bad-rate ratio with an exact conditional
 * confidence interval.
 *
 * With Poisson bad counts X_c ~ Poisson(θ λ N_c), X_s ~ Poisson(λ N_s) over the whole window, the
 * canary count given the total m = X_c + X_s is Binomial(m, p) with
 *     p = θ Q / (θ Q + 1 − Q),       Q = N_c / (N_c + N_s),
 * so θ = p (1 − Q) / (Q (1 − p)) is a monotone map of p. The interval is the Clopper–Pearson
 * interval for p (beta quantiles, which accept fractional counts) mapped through that function;
 * the point estimate is the ratio of observed rates, which is the same map applied to x/m.
 * This pools the window and assumes a constant ratio and baseline over it (the sequential test
 * does not need that). It explains a verdict and can hold a Pass (count-test.ts); it never makes a
 * Fail.
 */
import { betaQuantile } from './special-functions.js';
import type { EffectEstimate } from './types.js';

/** Confidence level of reported effect intervals. */
export const EFFECT_CONFIDENCE = 0.95;

export interface PooledCounts {
  readonly canaryTotal: number;
  readonly canaryBad: number;
  readonly stableTotal: number;
  readonly stableBad: number;
}

/** Clopper–Pearson interval for a binomial proportion; x and n may be fractional (0 ≤ x ≤ n). */
export function clopperPearson(x: number, n: number, confidence: number): { lower: number; upper: number } {
  if (!(n > 0)) return { lower: 0, upper: 1 };
  const tail = (1 - confidence) / 2;
  const lower = x > 0 ? betaQuantile(tail, x, n - x + 1) : 0;
  const upper = n - x > 0 ? betaQuantile(1 - tail, x + 1, n - x) : 1;
  return { lower, upper };
}

function finiteOrNull(v: number): number | null {
  return Number.isFinite(v) ? v : null;
}

function ratioFromShare(p: number, q: number): number | null {
  if (p >= 1) return null; // unbounded
  return finiteOrNull((p * (1 - q)) / (q * (1 - p)));
}

/**
 * Rate ratio canary/stable with a `confidence` interval. `ratio` is null when the stable side has
 * no bad requests (or neither has); `upper` is null when the interval is unbounded above.
 */
export function rateRatio(c: PooledCounts, confidence: number = EFFECT_CONFIDENCE): EffectEstimate {
  const m = c.canaryBad + c.stableBad;
  if (!(c.canaryTotal > 0) || !(c.stableTotal > 0) || !(m > 0)) {
    return { ratio: null, lower: null, upper: null, confidence };
  }
  const q = c.canaryTotal / (c.canaryTotal + c.stableTotal);
  const ci = clopperPearson(c.canaryBad, m, confidence);
  // Degenerate magnitudes (underflow to 0/0) come back as null rather than NaN.
  const ratio =
    c.stableBad > 0 ? finiteOrNull(c.canaryBad / c.canaryTotal / (c.stableBad / c.stableTotal)) : null;
  return {
    ratio,
    lower: ratioFromShare(ci.lower, q),
    upper: ratioFromShare(ci.upper, q),
    confidence,
  };
}
