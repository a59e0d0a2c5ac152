/**
 * Power of the count test: how likely the e-process would have reached 1/α by now if the canary's
 * bad-request rate were `criticalEffect` × the stable's, given the exposures actually observed.
 *
 * Definition (see docs/statistics.md). Let r̂ = Σ stableBad / Σ stableTotal (stable side only, so a
 * worse canary can never buy itself a Pass). Under the critical alternative θc, interval i would
 * have X_c,i ~ Poisson(θc r̂ n_c,i) canary and X_s,i ~ Poisson(r̂ n_s,i) stable bad requests. Each
 * mixture component k has log likelihood ratio L_k = Σ_i X_c,i·A_k,i + X_s,i·B_k,i with
 * A = log(p_k/p_0), B = log((1−p_k)/(1−p_0)); its mean and variance are exact sums
 *     μ_k = Σ λ_c,i A_k,i + λ_s,i B_k,i,     σ²_k = Σ λ_c,i A²_k,i + λ_s,i B²_k,i.
 * The mixture is at least w_k·exp(L_k), so the test has rejected at the end whenever some
 * L_k ≥ log(1/α) − log w_k. The reported power is
 *     max_k Φ((μ_k − log(1/(α w_k))) / σ_k),
 * a normal-approximation lower bound on the probability that the final value (and so the
 * running maximum the test uses) has crossed the threshold.
 */
import { canaryShare, logRatioPerBad, type MixtureComponent } from './sequential.js';
import { normalCdf } from './special-functions.js';
import type { IntervalCounts } from './types.js';

export function countTestPower(
  intervals: readonly IntervalCounts[],
  theta0: number,
  criticalEffect: number,
  alpha: number,
  mixture: readonly MixtureComponent[],
): number {
  const terms = powerTerms(intervals, theta0, criticalEffect, mixture);
  return terms === null ? 0 : powerFromTerms(terms, alpha, mixture);
}

/** The per-component sums μ_k and σ²_k of the module comment, and the stable rate r̂ they used. */
export interface PowerTerms {
  readonly rate: number;
  readonly mu: readonly number[];
  readonly variance: readonly number[];
}

/** μ_k and σ²_k over the intervals; null when the stable has no bad requests (power is 0). */
export function powerTerms(
  intervals: readonly IntervalCounts[],
  theta0: number,
  criticalEffect: number,
  mixture: readonly MixtureComponent[],
): PowerTerms | null {
  let stableBad = 0;
  let stableTotal = 0;
  for (const iv of intervals) {
    stableBad += iv.stableBad;
    stableTotal += iv.stableTotal;
  }
  if (!(stableTotal > 0) || !(stableBad > 0) || !(criticalEffect > theta0)) return null;
  const rate = stableBad / stableTotal;
  const mu = new Array<number>(mixture.length).fill(0);
  const variance = new Array<number>(mixture.length).fill(0);
  for (const iv of intervals)
    addPowerTerms(mu, variance, iv.canaryTotal, iv.stableTotal, rate, theta0, criticalEffect, mixture);
  return { rate, mu, variance };
}

/** Adds one interval's exposure (nc canary, ns stable requests) to μ and σ², in place. */
export function addPowerTerms(
  mu: number[],
  variance: number[],
  nc: number,
  ns: number,
  rate: number,
  theta0: number,
  criticalEffect: number,
  mixture: readonly MixtureComponent[],
): void {
  if (!(nc > 0 && ns > 0)) return;
  const q = canaryShare(nc, ns);
  const lambdaC = criticalEffect * rate * nc;
  const lambdaS = rate * ns;
  for (let j = 0; j < mixture.length; j++) {
    const { a, b } = logRatioPerBad(theta0 * (mixture[j] as MixtureComponent).multiplier, theta0, q);
    mu[j] = (mu[j] as number) + lambdaC * a + lambdaS * b;
    variance[j] = (variance[j] as number) + lambdaC * a * a + lambdaS * b * b;
  }
}

/** max_k Φ((μ_k − log(1/(α w_k))) / σ_k). */
export function powerFromTerms(
  terms: { readonly mu: readonly number[]; readonly variance: readonly number[] },
  alpha: number,
  mixture: readonly MixtureComponent[],
): number {
  const totalWeight = mixture.reduce((s, c) => s + c.weight, 0);
  let best = 0;
  for (let j = 0; j < mixture.length; j++) {
    const sd = Math.sqrt(terms.variance[j] as number);
    if (!(sd > 0)) continue;
    const w = (mixture[j] as MixtureComponent).weight / totalWeight;
    const needed = Math.log(1 / alpha) - Math.log(w);
    const pw = normalCdf(((terms.mu[j] as number) - needed) / sd);
    if (pw > best) best = pw;
  }
  return best;
}

/**
 * The power of the test after each interval, as {@link countTestPower} would report it on the
 * intervals up to there: μ_k and σ²_k are the stable rate r̂ times sums that only grow, so one
 * pass keeps the rate-free sums and scales them by the rate seen so far. 0 while the stable has
 * shown no bad request (or the critical effect is not above θ0).
 */
export function runningPower(
  intervals: readonly IntervalCounts[],
  theta0: number,
  criticalEffect: number,
  alpha: number,
  mixture: readonly MixtureComponent[],
): number[] {
  const muPerRate = new Array<number>(mixture.length).fill(0);
  const varPerRate = new Array<number>(mixture.length).fill(0);
  let stableBad = 0;
  let stableTotal = 0;
  const out: number[] = [];
  for (const iv of intervals) {
    stableBad += iv.stableBad;
    stableTotal += iv.stableTotal;
    // addPowerTerms with rate 1 adds exactly the rate-free parts.
    addPowerTerms(muPerRate, varPerRate, iv.canaryTotal, iv.stableTotal, 1, theta0, criticalEffect, mixture);
    if (!(stableTotal > 0) || !(stableBad > 0) || !(criticalEffect > theta0)) {
      out.push(0);
      continue;
    }
    const rate = stableBad / stableTotal;
    const terms = { mu: muPerRate.map((m) => m * rate), variance: varPerRate.map((v) => v * rate) };
    out.push(powerFromTerms(terms, alpha, mixture));
  }
  return out;
}
