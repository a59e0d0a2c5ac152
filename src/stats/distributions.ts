/**
 * Discrete distributions used by the histogram quantile interval and the Mann-Whitney test,
 * built on the special functions in special-functions.ts (shared with the count test).
 */

import { regularizedIncompleteBeta } from './special-functions.js';

function checkBinomial(n: number, p: number): void {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`binomial n must be an integer ≥ 0, got ${n}`);
  if (!(p >= 0 && p <= 1)) throw new RangeError(`binomial p must be within [0, 1], got ${p}`);
}

/** P(B ≤ k) for B ~ Binomial(n, p), via I_{1−p}(n − k, k + 1). */
export function binomialCdf(k: number, n: number, p: number): number {
  checkBinomial(n, p);
  const kk = Math.floor(k);
  if (kk < 0) return 0;
  if (kk >= n) return 1;
  if (p === 0) return 1;
  if (p === 1) return 0;
  return regularizedIncompleteBeta(1 - p, n - kk, kk + 1);
}

/** P(B > k) for B ~ Binomial(n, p), via I_p(k + 1, n − k) (accurate in the upper tail). */
export function binomialSf(k: number, n: number, p: number): number {
  checkBinomial(n, p);
  const kk = Math.floor(k);
  if (kk < 0) return 1;
  if (kk >= n) return 0;
  if (p === 0) return 0;
  if (p === 1) return 1;
  return regularizedIncompleteBeta(p, kk + 1, n - kk);
}

/**
 * Relative slack when comparing a computed CDF with the probability asked for: exact ties
 * (e.g. P(B ≤ 0) = 0.5 for n = 1, p = 0.5) must resolve as scipy resolves them, and the
 * incomplete beta loses digits for large n (~1e-10 relative at n ≈ 5e4).
 */
const TIE_SLACK = 1e-8;

/** Smallest k in [0, n] with P(B ≤ k) ≥ prob (scipy's `binom.ppf`). */
export function binomialPpf(prob: number, n: number, p: number): number {
  checkBinomial(n, p);
  if (!(prob >= 0 && prob <= 1)) throw new RangeError(`probability must be within [0, 1], got ${prob}`);
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (binomialCdf(mid, n, p) >= prob * (1 - TIE_SLACK)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Smallest k in [0, n] with P(B > k) ≤ prob (scipy's `binom.isf`). */
export function binomialIsf(prob: number, n: number, p: number): number {
  checkBinomial(n, p);
  if (!(prob >= 0 && prob <= 1)) throw new RangeError(`probability must be within [0, 1], got ${prob}`);
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (binomialSf(mid, n, p) <= prob * (1 + TIE_SLACK)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
