/**
 * The count check: is the canary's bad-request rate (errors, or requests slower than a threshold)
 * worse than the stable's by more than the allowed margin? Answers Fail / Pass / Inconclusive
 * from per-interval counts, valid however many times the judge looks (docs/statistics.md).
 *
 *  - Fail:  the running maximum of the mixture e-process reached 1/α (Ville: P ≤ α under H0).
 *  - Pass:  no Fail, the exposures seen so far give power ≥ `power` against `criticalEffect`, and
 *           the effect interval does not lie wholly above 1 + margin (a canary that looks
 *           worse is held, `suspected_regression`, until the evidence settles either way).
 *  - Inconclusive: everything else, with a reason; edge cases (no traffic, invalid counts) are
 *    answered before any statistics and are never a Pass.
 */
import { rateRatio, EFFECT_CONFIDENCE } from './effect.js';
import { countTestPower } from './power.js';
import { DEFAULT_MIXTURE, runEProcess, type MixtureComponent } from './sequential.js';
import type { CountTestParams, CountTestResult, IntervalCounts, Reason, SideSummary, Verdict } from './types.js';

/** Defaults for a count check; per-step values for the shipped templates: docs/statistics.md. */
export const DEFAULT_COUNT_TEST_PARAMS: CountTestParams = {
  alpha: 0.01,
  margin: 0,
  criticalEffect: 2,
  power: 0.8,
};

/** Largest e-value reported (JSON has no Infinity); the decision itself works in log space. */
export const MAX_REPORTED_E_VALUE = 1e300;

export interface CountTestOptions {
  /** Mixing distribution over alternatives (multiples of 1 + margin). Default: DEFAULT_MIXTURE. */
  readonly mixture?: readonly MixtureComponent[];
}

/** Thrown for parameters outside their domain (a programming or request-validation error). */
export class CountTestParamError extends RangeError {
  constructor(
    readonly field: keyof CountTestParams | 'mixture',
    message: string,
  ) {
    super(message);
    this.name = 'CountTestParamError';
  }
}

/** Returns the problems with `params` (empty when they are usable). */
export function checkCountTestParams(params: CountTestParams): { field: keyof CountTestParams; message: string }[] {
  const problems: { field: keyof CountTestParams; message: string }[] = [];
  const { alpha, margin, criticalEffect, power } = params;
  if (!(Number.isFinite(alpha) && alpha > 0 && alpha < 1)) {
    problems.push({ field: 'alpha', message: `alpha must be in (0, 1), got ${String(alpha)}` });
  }
  if (!(Number.isFinite(margin) && margin >= 0)) {
    problems.push({ field: 'margin', message: `margin must be a finite number ≥ 0, got ${String(margin)}` });
  }
  if (!(Number.isFinite(criticalEffect) && criticalEffect > 1 + (Number.isFinite(margin) ? margin : 0))) {
    problems.push({
      field: 'criticalEffect',
      message: `criticalEffect must be a finite ratio > 1 + margin (${String(1 + margin)}), got ${String(criticalEffect)}`,
    });
  }
  if (!(Number.isFinite(power) && power > 0 && power < 1)) {
    problems.push({ field: 'power', message: `power must be in (0, 1), got ${String(power)}` });
  }
  return problems;
}

function isCount(v: number): boolean {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0;
}

function summary(requests: number, bad: number): SideSummary {
  return { requests, bad, rate: requests > 0 ? bad / requests : null };
}

function inconclusive(
  reason: Reason,
  params: CountTestParams,
  canary: SideSummary,
  stable: SideSummary,
  intervals: number,
): CountTestResult {
  return {
    verdict: 'Inconclusive',
    reason,
    canary,
    stable,
    effect: { ratio: null, lower: null, upper: null, confidence: EFFECT_CONFIDENCE },
    evidence: { eValue: 1, threshold: 1 / params.alpha, pValue: 1 },
    power: { achieved: 0, required: params.power, criticalEffect: params.criticalEffect },
    intervals,
  };
}

/**
 * Decides one count check over the analysis window (all intervals since the canary's first
 * sample, oldest first). Throws CountTestParamError for unusable parameters; never throws for
 * bad data (that is `invalid_data`).
 */
export function decideCounts(
  intervals: readonly IntervalCounts[],
  params: CountTestParams,
  options: CountTestOptions = {},
): CountTestResult {
  const problems = checkCountTestParams(params);
  if (problems.length > 0) {
    const first = problems[0] as { field: keyof CountTestParams; message: string };
    throw new CountTestParamError(first.field, first.message);
  }
  const mixture = options.mixture ?? DEFAULT_MIXTURE;
  if (mixture.length === 0 || mixture.some((c) => !(c.multiplier > 1 && Number.isFinite(c.multiplier) && c.weight > 0))) {
    throw new CountTestParamError('mixture', 'mixture components need multiplier > 1 and weight > 0');
  }

  // Edge cases before statistics. Bad counts above the total can come from increase()
  // extrapolating the two counters differently; they are capped at the total (a canary whose
  // every request failed must still be able to fail), not refused.
  let invalid = false;
  const clean: IntervalCounts[] = [];
  let nc = 0;
  let xc = 0;
  let ns = 0;
  let xs = 0;
  let usable = 0;
  for (const iv of intervals) {
    if (!isCount(iv.canaryTotal) || !isCount(iv.canaryBad) || !isCount(iv.stableTotal) || !isCount(iv.stableBad)) {
      invalid = true;
      continue;
    }
    const c: IntervalCounts = {
      canaryTotal: iv.canaryTotal,
      canaryBad: Math.min(iv.canaryBad, iv.canaryTotal),
      stableTotal: iv.stableTotal,
      stableBad: Math.min(iv.stableBad, iv.stableTotal),
    };
    clean.push(c);
    nc += c.canaryTotal;
    xc += c.canaryBad;
    ns += c.stableTotal;
    xs += c.stableBad;
    if (c.canaryTotal > 0 && c.stableTotal > 0) usable++;
  }
  const canary = summary(nc, xc);
  const stable = summary(ns, xs);
  if (invalid) return inconclusive('invalid_data', params, canary, stable, usable);
  if (!(nc > 0)) return inconclusive('no_canary_traffic', params, canary, stable, usable);
  if (!(ns > 0)) return inconclusive('no_stable_traffic', params, canary, stable, usable);
  if (usable === 0) return inconclusive('insufficient_data', params, canary, stable, usable);

  const theta0 = 1 + params.margin;
  const trace = runEProcess(clean, theta0, mixture);
  const achieved = countTestPower(clean, theta0, params.criticalEffect, params.alpha, mixture);
  const logThreshold = Math.log(1 / params.alpha);

  const effect = rateRatio({ canaryTotal: nc, canaryBad: xc, stableTotal: ns, stableBad: xs });

  let verdict: Verdict;
  let reason: Reason;
  if (trace.logMax >= logThreshold) {
    verdict = 'Fail';
    reason = 'regression_detected';
  } else if (achieved < params.power) {
    verdict = 'Inconclusive';
    reason = 'insufficient_data';
  } else if (effect.lower !== null && effect.lower > theta0) {
    // Power says a critical regression would have shown by now, but the data say the canary is
    // worse than allowed by some smaller amount: not evidence enough to fail at level α, and no
    // reason to wave the step through either.
    verdict = 'Inconclusive';
    reason = 'suspected_regression';
  } else {
    verdict = 'Pass';
    reason = 'no_regression';
  }
  return {
    verdict,
    reason,
    canary,
    stable,
    effect,
    evidence: {
      eValue: Math.min(MAX_REPORTED_E_VALUE, Math.exp(trace.logFinal)),
      threshold: 1 / params.alpha,
      pValue: Math.min(1, Math.exp(-trace.logMax)),
    },
    power: { achieved, required: params.power, criticalEffect: params.criticalEffect },
    intervals: usable,
  };
}

/** Count-test parameters for a Rollout step, by the largest canary weight (percent) they fit. */
export interface StepParams {
  readonly maxWeight: number;
  readonly params: CountTestParams;
}

/**
 * Recommended per-step parameters for the shipped analysis templates: early, small steps only
 * have to rule out large regressions before moving on; later steps rule out smaller ones.
 * Tuned with the benchmark (bench/README.md); rationale in docs/statistics.md.
 */
export const RECOMMENDED_STEP_PARAMS: readonly StepParams[] = [
  { maxWeight: 1, params: { ...DEFAULT_COUNT_TEST_PARAMS, criticalEffect: 8, power: 0.8 } },
  { maxWeight: 5, params: { ...DEFAULT_COUNT_TEST_PARAMS, criticalEffect: 3, power: 0.8 } },
  { maxWeight: 10, params: { ...DEFAULT_COUNT_TEST_PARAMS, criticalEffect: 2, power: 0.8 } },
  { maxWeight: 25, params: { ...DEFAULT_COUNT_TEST_PARAMS, criticalEffect: 1.75, power: 0.8 } },
  { maxWeight: 100, params: { ...DEFAULT_COUNT_TEST_PARAMS, criticalEffect: 1.5, power: 0.8 } },
];
