/**
 * The anytime-valid evidence behind a count check: a mixture likelihood-ratio e-process on
 * "did this bad request land on the canary?".
 *
 * Model. In interval i the canary served n_c requests and the stable n_s; bad requests occur as
 * Poisson streams with rates λ_c = θ·λ_s (θ is the canary/stable rate ratio, λ_s may change from
 * interval to interval). Conditional on the interval's total bad count m_i, each bad request is on
 * the canary with probability
 *     p(θ; q_i) = θ q_i / (θ q_i + 1 − q_i),       q_i = n_c / (n_c + n_s),
 * which does not involve the unknown baseline rate. The null is θ ≤ θ0 = 1 + margin.
 *
 * For one alternative θ > θ0 the likelihood ratio of interval i is
 *     LR_i(θ) = (p(θ)/p(θ0))^{x_c} · ((1 − p(θ))/(1 − p(θ0)))^{x_s},
 * and the product over intervals is a non-negative supermartingale under every θ' ≤ θ0 (p is
 * increasing in θ, so the expectation of each factor is ≤ 1). A convex mixture over a grid of
 * alternatives keeps that property, so by Ville's inequality P(sup_t E_t ≥ 1/α) ≤ α whatever the
 * number of looks and however the analysis decides to stop.
 *
 * The log of LR_i is linear in the counts, so fractional counts from `increase()` extrapolation
 * enter the same formula (see docs/statistics.md for what that does to the guarantee).
 */
import { logSumExp } from './special-functions.js';
import type { IntervalCounts } from './types.js';

/** One component of the mixture: alternative ratio θ_k = θ0 · multiplier, with prior weight. */
export interface MixtureComponent {
  readonly multiplier: number;
  readonly weight: number;
}

/**
 * Default mixing distribution, as multiples of the null ratio θ0 = 1 + margin. Most weight sits
 * on the small effects (1.5×, 2×) because they need the most evidence and their detection delay
 * costs the most failed requests; 5× keeps a large share so a bad release is stopped within the
 * 1% step; 3× and 20× fill the gaps. Chosen with the benchmark (bench/README.md): with it every
 * regression k ≥ 1.5 is rolled back within ~1.25× of the time and blast radius of an SPRT that
 * knows k.
 */
export const DEFAULT_MIXTURE: readonly MixtureComponent[] = [
  { multiplier: 1.5, weight: 0.35 },
  { multiplier: 2, weight: 0.2 },
  { multiplier: 3, weight: 0.1 },
  { multiplier: 5, weight: 0.25 },
  { multiplier: 20, weight: 0.1 },
];

/** p(θ; q): probability that a bad request is on the canary when the rate ratio is θ. */
export function canaryShareOfBad(theta: number, q: number): number {
  return (theta * q) / (theta * q + 1 - q);
}

/** The canary's share of requests in an interval, safe against overflow of nc + ns. */
export function canaryShare(nc: number, ns: number): number {
  const sum = nc + ns;
  return Number.isFinite(sum) ? nc / sum : nc / 2 / (nc / 2 + ns / 2);
}

/**
 * Per-request log likelihood ratios of alternative θ against θ0 at canary share q:
 * a for a bad request on the canary, b for one on the stable. With D(θ) = 1 + (θ − 1) q,
 *     b = log((1 − p(θ)) / (1 − p(θ0))) = −log(D(θ) / D(θ0)),   a = log(θ/θ0) + b,
 * which stays finite and exact for every q in [0, 1] (no 1 − p cancellation).
 */
export function logRatioPerBad(theta: number, theta0: number, q: number): { a: number; b: number } {
  const b = Math.log1p((theta0 - 1) * q) - Math.log1p((theta - 1) * q);
  return { a: Math.log(theta / theta0) + b, b };
}

export interface EProcessTrace {
  /** log E_t after each interval (intervals without usable data repeat the previous value). */
  readonly logE: readonly number[];
  /** log E at the last interval (0 when there is none). */
  readonly logFinal: number;
  /** max(0, max_t log E_t): log of the running maximum, which Ville's inequality bounds. */
  readonly logMax: number;
  /** Per-component log likelihood ratio at the end. */
  readonly componentLogLR: readonly number[];
}

/**
 * Runs the mixture e-process over the intervals. Counts must already be validated (finite,
 * non-negative, bad ≤ total); intervals where either side served no requests carry no
 * information about θ and leave the process unchanged.
 */
export function runEProcess(
  intervals: readonly IntervalCounts[],
  theta0: number,
  mixture: readonly MixtureComponent[] = DEFAULT_MIXTURE,
): EProcessTrace {
  const k = mixture.length;
  const totalWeight = mixture.reduce((s, c) => s + c.weight, 0);
  const logW = mixture.map((c) => Math.log(c.weight / totalWeight));
  const thetas = mixture.map((c) => theta0 * c.multiplier);
  const logLR = new Array<number>(k).fill(0);
  const terms = new Array<number>(k).fill(0);
  const logE: number[] = [];
  let current = 0;
  let logMax = 0;
  for (const iv of intervals) {
    const nc = iv.canaryTotal;
    const ns = iv.stableTotal;
    const xc = iv.canaryBad;
    const xs = iv.stableBad;
    if (nc > 0 && ns > 0 && xc + xs > 0) {
      const q = canaryShare(nc, ns);
      for (let j = 0; j < k; j++) {
        const { a, b } = logRatioPerBad(thetas[j] as number, theta0, q);
        logLR[j] = (logLR[j] as number) + (xc > 0 ? xc * a : 0) + (xs > 0 ? xs * b : 0);
        terms[j] = (logW[j] as number) + (logLR[j] as number);
      }
      current = logSumExp(terms);
      if (current > logMax) logMax = current;
    }
    logE.push(current);
  }
  return { logE, logFinal: current, logMax, componentLogLR: logLR };
}
