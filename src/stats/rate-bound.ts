/**
 * Time-uniform confidence bounds for a bad-request rate: the interval [lower, upper] contains the
 * true rate at every look of the analysis at once, with probability ≥ 1 − β, however many looks
 * there are. They let a check Pass a service whose rates are near zero (no events for the ratio
 * test): "the canary's rate is below the step's tolerance" can be shown from its exposure alone.
 *
 * Model. Bad requests of one side arrive as a Poisson stream with a constant rate p per request:
 * after N requests (the exposure, known before the interval's outcome), X ~ Poisson(p N). For a
 * candidate rate p0, the gamma-mixture likelihood ratio
 *     M(p0) = ∫ (p/p0)^X e^{−(p − p0) N} dG(p)
 *           = e^{p0 N} p0^{−X} Σ_j w_j b_j^a Γ(a + X) / (Γ(a) (b_j + N)^{a+X})
 * with G a mixture of Gamma(shape a, rate b_j) priors is a non-negative martingale with mean 1
 * when p0 is the true rate, so by Ville's inequality P(∃ t: M_t(p) ≥ 1/β) ≤ β. The confidence
 * sequence is {p0 : M(p0) < 1/β}. log M is p0 N − X log p0 plus a constant, convex in p0, so the
 * set is an interval around X / N, whose ends are found by Newton's method on log p0. The mixture spreads the prior
 * over rates from 10⁻⁶ to 10⁻² so that a clean side (X = 0) pays almost nothing for it:
 * upper ≈ (log(1/β) + 0.4) / N for N of a few thousand.
 *
 * Counts may be fractional (PromQL increase() extrapolates); the formulas take real X.
 */
import { logGamma, logSumExp } from './special-functions.js';

/** Shape of every gamma component: a = 1 (exponential priors) keeps mass near a rate of 0. */
const PRIOR_SHAPE = 1;
/** Rates of the gamma components (prior means 1/b: 10⁻², 10⁻³, …, 10⁻⁶), equal weights. */
const PRIOR_RATES = [1e2, 1e3, 1e4, 1e5, 1e6] as const;

export interface RateBounds {
  /** Lower bound on the rate (0 when the data cannot exclude a rate of 0). */
  readonly lower: number;
  /** Upper bound on the rate. */
  readonly upper: number;
}

/** log of the mixture constant: log Σ_j w_j b_j^a Γ(a+X) / (Γ(a) (b_j + N)^{a+X}). */
function logMixtureConstant(x: number, n: number): number {
  const a = PRIOR_SHAPE;
  const lg = logGamma(a + x) - logGamma(a);
  const terms = PRIOR_RATES.map((b) => a * Math.log(b) - (a + x) * Math.log(b + n) + lg);
  return logSumExp(terms) - Math.log(PRIOR_RATES.length);
}

/** log M(p0) for x bad requests out of exposure n. */
export function logRateMartingale(p0: number, x: number, n: number): number {
  const k = logMixtureConstant(x, n);
  return p0 * n - (x > 0 ? x * Math.log(p0) : 0) + k;
}

/**
 * Time-uniform bounds at level β for the rate of a side that had `bad` bad requests out of
 * `requests` so far. Throws RangeError for counts or β outside their domain.
 */
export function rateBounds(bad: number, requests: number, beta: number): RateBounds {
  if (!(Number.isFinite(bad) && bad >= 0 && Number.isFinite(requests) && requests >= 0 && bad <= requests)) {
    throw new RangeError(
      `rateBounds needs 0 ≤ bad ≤ requests, finite; got ${String(bad)} / ${String(requests)}`,
    );
  }
  if (!(beta > 0 && beta < 1)) throw new RangeError(`beta must be in (0, 1), got ${String(beta)}`);
  if (requests === 0) return { lower: 0, upper: 1 };
  const c = Math.log(1 / beta);
  const k = logMixtureConstant(bad, requests);
  // A bad count so small that X / N underflows is, numerically, no bad request at all.
  if (bad === 0 || !(bad / requests > 0)) {
    // log M(p0) = p0 N + k, increasing: every p0 below the root is in the set.
    return { lower: 0, upper: Math.min(1, Math.max(0, (c - k) / requests)) };
  }
  // h(u) = log M(e^u) − c is convex in u with its minimum at u* = log(X / N).
  const h = (u: number): number => Math.exp(u) * requests - bad * u + k - c;
  const uStar = Math.log(bad / requests);
  if (!(h(uStar) < 0)) {
    // M at the estimate is a Bayes factor against the best-fitting rate, so it is ≤ 1 and this
    // cannot happen in exact arithmetic; if rounding says otherwise, claim nothing.
    return { lower: 0, upper: 1 };
  }
  // Newton's method from outside the set: on a convex function it converges monotonically.
  const root = (direction: 1 | -1): number => {
    let step = 1;
    let u = uStar + direction * step;
    while (h(u) < 0) {
      step *= 2;
      u = uStar + direction * step;
    }
    for (let i = 0; i < 100; i++) {
      const slope = Math.exp(u) * requests - bad;
      const next = u - h(u) / slope;
      if (!Number.isFinite(next) || Math.abs(next - u) <= 1e-13 * Math.max(1, Math.abs(u))) break;
      u = next;
    }
    return Math.exp(u);
  };
  const lower = root(-1);
  const upper = root(1);
  // Never a bound narrower than the data allow: a failed iteration claims nothing.
  if (!(
    Number.isFinite(lower) &&
    Number.isFinite(upper) &&
    lower <= bad / requests &&
    upper >= bad / requests
  )) {
    return { lower: 0, upper: 1 };
  }
  return { lower, upper: Math.min(1, upper) };
}
