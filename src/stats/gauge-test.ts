/**
 * The anytime-valid gauge test: one value per analysis interval and side (CPU per request,
 * memory, queue depth, a business gauge), judged on the paired interval comparison.
 *
 * Pairing. Interval i gives a canary value c_i and a stable value s_i, measured over the same
 * minute, so load, time of day and traffic mix act on both. Each pair becomes a *degradation*
 * g_i in the tolerance's units:
 *
 *     relative, higher is worse:  g_i = c_i / s_i − 1         (0.1 = canary 10 % above stable)
 *     relative, lower is worse:   g_i = 1 − c_i / s_i         (0.1 = canary 10 % below stable)
 *     absolute, higher is worse:  g_i = c_i − s_i             (in the gauge's own unit)
 *     absolute, lower is worse:   g_i = s_i − c_i
 *
 * A relative gauge must not be negative; a stable value of 0 gives g = ±∞ when the canary is
 * not 0 (worse / better without bound) and g = 0 when both are 0.
 *
 * The test (a sequential sign test). Fail asks whether the canary exceeds the tolerance τ in
 * more than half of the intervals. Null H0: P(g_i > τ | the past) ≤ 1/2 in every interval, i.e.
 * the conditional median degradation is at most τ. Under H0 the indicator 1{g_i > τ} is a coin
 * with P(heads) ≤ 1/2 whatever the distribution of the values (heavy tails, any unit, any
 * scale), so for each alternative p > 1/2 the product of
 *     LR_i(p) = (2p)^{x_i} (2(1 − p))^{1 − x_i},        x_i = 1{g_i > τ},
 * is a non-negative supermartingale (E[LR_i | past] = 1 + (2p − 1)(2 P(x_i = 1) − 1) ≤ 1), and so
 * is a mixture over p with weights summing to 1. Ville's inequality gives P(sup_t E_t ≥ 1/α) ≤ α
 * under any number of looks and any stopping rule. Fail when the running maximum reaches 1/α.
 *
 * Pass is the mirror test: null "the degradation is at least the critical effect κ", i.e.
 * P(g_i < κ | past) ≤ 1/2, on the indicators 1{g_i < κ}, rejected at 1/β. So a canary whose
 * median degradation is κ or more passes with probability at most β, however often it is looked
 * at. Inverting both tests over every threshold gives a confidence sequence [lower, upper] for
 * the median degradation: Fail ⇔ lower > τ, Pass ⇔ upper < κ.
 *
 * A tie (g_i exactly τ, e.g. two constant equal series with τ = 0) counts as "not worse" for
 * Fail and "not better" for Pass, so ties never help either decision.
 *
 * What it does not claim: it judges the median of the paired comparison, not the mean. A canary
 * that is worse only in rare spikes (the same median, a larger mean) is not caught; nor is a
 * canary that is worse only in less than half of the intervals. The validity needs the
 * conditional median of g_i given the past; independent intervals, or noise shared by both sides
 * (which the pairing cancels), satisfy it; noise that is autocorrelated *differently* on the two
 * sides does not, and raises the false-Fail rate (measured in bench/gauge-simulation.ts,
 * docs/statistics.md §11).
 */
import { logSumExp } from './special-functions.js';
import type { Reason, Verdict } from './types.js';

export type GaugeDirection = 'higher_is_worse' | 'lower_is_worse';
export type GaugeScale = 'relative' | 'absolute';

export interface GaugeTestParams {
  /** Level of the Fail test over the whole rollout (any number of looks), e.g. 0.01. */
  readonly alpha: number;
  /**
   * Risk of the Pass test: a canary whose median degradation is at least `criticalEffect` passes
   * with probability at most beta, over any number of looks. e.g. 0.05.
   */
  readonly beta: number;
  readonly direction: GaugeDirection;
  /** `relative`: degradation as a fraction of the stable's value; `absolute`: in the gauge's unit. */
  readonly scale: GaugeScale;
  /** Degradation tolerated (≥ 0): Fail needs evidence that the median degradation exceeds it. */
  readonly tolerance: number;
  /** Degradation a Pass must rule out (> tolerance). */
  readonly criticalEffect: number;
  /** Fewer paired intervals than this are `insufficient_data` before any statistics. Default 5. */
  readonly minIntervals?: number;
}

/** One component of the betting mixture: alternative P(indicator) = p, with prior weight. */
export interface SignMixtureComponent {
  readonly p: number;
  readonly weight: number;
}

/**
 * Mixture over the alternative probability that an interval is on the tested side. Most weight on
 * 0.7–0.8 (a canary worse than the tolerance in 70–80 % of minutes); 0.97 lets a canary worse in
 * every minute fail after 10 intervals at α = 0.01 (the least any sign test needs is
 * log2(1/α) ≈ 6.6). Chosen by hand, not tuned on the simulation.
 */
export const GAUGE_MIXTURE: readonly SignMixtureComponent[] = [
  { p: 0.6, weight: 0.2 },
  { p: 0.7, weight: 0.3 },
  { p: 0.8, weight: 0.25 },
  { p: 0.9, weight: 0.15 },
  { p: 0.97, weight: 0.1 },
];

export const DEFAULT_GAUGE_MIN_INTERVALS = 5;

/** The reasons a gauge check can give (a subset of the count test's, with the same meaning). */
export type GaugeReason = Extract<
  Reason,
  | 'regression_detected'
  | 'no_regression'
  | 'insufficient_data'
  | 'no_canary_traffic'
  | 'no_stable_traffic'
  | 'invalid_data'
>;

export interface GaugeSideSummary {
  /** Intervals with a value on this side. */
  readonly intervals: number;
  /** Median of the side's values over the paired intervals; null when there are none. */
  readonly median: number | null;
}

export interface GaugeEvidence {
  /** Current value of the e-process. */
  readonly eValue: number;
  /** Running maximum over the intervals (the decision uses it). */
  readonly maxEValue: number;
  /** The e-value at which the test rejects (1/α for Fail, 1/β for Pass). */
  readonly threshold: number;
  /** Intervals whose indicator was 1 (worse than the tolerance / better than the critical effect). */
  readonly hits: number;
}

export interface GaugeTestResult {
  readonly verdict: Verdict;
  readonly reason: GaugeReason;
  /** Intervals where both sides had a value: the ones that entered the test. */
  readonly intervals: number;
  /** Intervals with a value on one side only (left out: there is nothing to pair them with). */
  readonly unpaired: { readonly canaryOnly: number; readonly stableOnly: number };
  readonly canary: GaugeSideSummary;
  readonly stable: GaugeSideSummary;
  readonly degradation: {
    readonly scale: GaugeScale;
    /** Median of the paired degradations; null without pairs. */
    readonly estimate: number | null;
    /** Lower end of the confidence sequence at level α (Fail ⇔ lower > tolerance); null = unbounded. */
    readonly lower: number | null;
    /** Upper end at level β (Pass ⇔ upper < criticalEffect); null = unbounded. */
    readonly upper: number | null;
  };
  /** Against "median degradation ≤ tolerance". */
  readonly fail: GaugeEvidence;
  /** Against "median degradation ≥ criticalEffect". */
  readonly pass: GaugeEvidence;
  /** Anytime-valid p-value of the Fail test: min(1, 1 / fail.maxEValue). */
  readonly pValue: number;
  /**
   * A check of the method's assumption: the runs test of the degradations above/below their
   * median (see {@link runsTest}); null when there are too few pairs or a single run.
   */
  readonly serialDependence: SerialDependence | null;
  /** What the data problem was, for invalid_data. */
  readonly problem?: string;
}

export class GaugeTestParamError extends RangeError {
  constructor(
    readonly field: keyof GaugeTestParams,
    message: string,
  ) {
    super(message);
    this.name = 'GaugeTestParamError';
  }
}

/** The problems with `params` (empty when usable). */
export function checkGaugeTestParams(params: GaugeTestParams): GaugeTestParamError[] {
  const out: GaugeTestParamError[] = [];
  const { alpha, beta, tolerance, criticalEffect, scale, direction } = params;
  const minIntervals = params.minIntervals ?? DEFAULT_GAUGE_MIN_INTERVALS;
  if (!(alpha > 0 && alpha < 1))
    out.push(new GaugeTestParamError('alpha', `alpha must be in (0, 1), got ${alpha}`));
  if (!(beta > 0 && beta < 1))
    out.push(new GaugeTestParamError('beta', `beta must be in (0, 1), got ${beta}`));
  if (!(tolerance >= 0 && Number.isFinite(tolerance)))
    out.push(new GaugeTestParamError('tolerance', `tolerance must be a finite number ≥ 0, got ${tolerance}`));
  if (!(criticalEffect > tolerance && Number.isFinite(criticalEffect)))
    out.push(
      new GaugeTestParamError(
        'criticalEffect',
        `criticalEffect must be finite and greater than tolerance (${tolerance}), got ${criticalEffect}`,
      ),
    );
  if (scale === 'relative' && direction === 'lower_is_worse' && criticalEffect > 1)
    out.push(
      new GaugeTestParamError(
        'criticalEffect',
        `a relative decrease is at most 1 (100 %), so criticalEffect must be ≤ 1, got ${criticalEffect}`,
      ),
    );
  if (!(Number.isInteger(minIntervals) && minIntervals >= 1))
    out.push(
      new GaugeTestParamError('minIntervals', `minIntervals must be an integer ≥ 1, got ${minIntervals}`),
    );
  return out;
}

/** A value that is missing in an interval: no sample (null) or PromQL's NaN (e.g. 0/0). */
const isMissing = (v: number | null): v is null => v === null || Number.isNaN(v);

/** Degradation of one pair in the tolerance's units (see the module comment). */
export function pairDegradation(
  canary: number,
  stable: number,
  scale: GaugeScale,
  direction: GaugeDirection,
): number {
  const sign = direction === 'higher_is_worse' ? 1 : -1;
  if (scale === 'absolute') return sign * (canary - stable);
  if (stable === 0) return canary === 0 ? 0 : sign * Number.POSITIVE_INFINITY;
  return sign * (canary / stable - 1);
}

const LOG_MIXTURE = GAUGE_MIXTURE.map((c) => ({
  logWeight: Math.log(c.weight),
  hit: Math.log(2 * c.p),
  miss: Math.log(2 * (1 - c.p)),
}));

/**
 * The sign e-process over the degradations in time order for indicator x_i = hit(g_i): its log
 * value after the last interval, the log of its running maximum (E_0 = 1 included), and the hits.
 */
export function signEProcess(
  degradations: readonly number[],
  hit: (g: number) => boolean,
): { logE: number; logMax: number; hits: number } {
  const sums = LOG_MIXTURE.map(() => 0);
  const terms = LOG_MIXTURE.map((c) => c.logWeight);
  let logMax = 0;
  let logE = 0;
  let hits = 0;
  for (const g of degradations) {
    const x = hit(g);
    if (x) hits++;
    LOG_MIXTURE.forEach((c, k) => {
      const sum = (sums[k] as number) + (x ? c.hit : c.miss);
      sums[k] = sum;
      terms[k] = c.logWeight + sum;
    });
    logE = logSumExp(terms);
    if (logE > logMax) logMax = logE;
  }
  return { logE, logMax, hits };
}

/** Running-max log e-value of "median ≤ m" (Fail side) at threshold m. */
const failLogMax = (g: readonly number[], m: number): number => signEProcess(g, (v) => v > m).logMax;
/** Running-max log e-value of "median ≥ m" (Pass side) at threshold m. */
const passLogMax = (g: readonly number[], m: number): number => signEProcess(g, (v) => v < m).logMax;

/**
 * The confidence sequence for the median degradation, by inverting both tests over every
 * threshold (the e-values only change at the observed degradations, and are monotone in the
 * threshold, so a binary search over the sorted distinct values finds each end).
 *   lower = sup { m : Fail test of "median ≤ m" rejected at 1/α }   (null if none is)
 *   upper = inf { m : Pass test of "median ≥ m" rejected at 1/β }   (null if none is)
 */
export function medianConfidenceSequence(
  degradations: readonly number[],
  alpha: number,
  beta: number,
): { lower: number | null; upper: number | null } {
  const values = [...new Set(degradations)].sort((a, b) => a - b);
  const logA = Math.log(1 / alpha);
  const logB = Math.log(1 / beta);
  let lower: number | null = null;
  // Rejected for every m below the smallest value iff rejected with every indicator at 1.
  if (values.length > 0 && failLogMax(degradations, Number.NEGATIVE_INFINITY) >= logA) {
    // Smallest value v with failLogMax(v) < logA (exists: at the largest value no indicator is 1).
    let lo = 0;
    let hi = values.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (failLogMax(degradations, values[mid] as number) < logA) hi = mid;
      else lo = mid + 1;
    }
    lower = values[lo] as number;
  }
  let upper: number | null = null;
  if (values.length > 0 && passLogMax(degradations, Number.POSITIVE_INFINITY) >= logB) {
    // Largest value v with passLogMax(v) < logB (exists: at the smallest value no indicator is 1).
    let lo = 0;
    let hi = values.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (passLogMax(degradations, values[mid] as number) < logB) lo = mid;
      else hi = mid - 1;
    }
    upper = values[lo] as number;
  }
  return { lower, upper };
}

function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  if (s.length % 2 === 1) return s[mid] as number;
  const a = s[mid - 1] as number;
  const b = s[mid] as number;
  // Both infinite with opposite signs: no meaningful middle.
  const m = (a + b) / 2;
  return Number.isNaN(m) ? null : m;
}

export interface GaugeTestOptions {
  /**
   * Compute the confidence sequence (default true). false skips it (lower and upper are then
   * null) for callers that need only the verdict, such as simulations looking every interval;
   * the verdict does not depend on it.
   */
  readonly bounds?: boolean;
}

/** Fewer paired intervals than this get no runs test (its normal approximation is poor). */
export const RUNS_TEST_MIN_INTERVALS = 10;
/** z at or below which serial dependence is reported as suspected (one-sided 1 %). */
export const RUNS_TEST_Z = -2.326;

export interface SerialDependence {
  /** Runs of consecutive intervals on the same side of the median degradation. */
  readonly runs: number;
  /** Their expected number if the intervals were independent. */
  readonly expectedRuns: number;
  /** (runs − expected) / sd; clearly negative = long stretches on one side = drift. */
  readonly z: number;
  /** z ≤ RUNS_TEST_Z: the false-Fail rate may exceed α (docs/statistics.md §11). */
  readonly suspected: boolean;
}

/**
 * Wald–Wolfowitz runs test of the degradations in time order, split at their median (values ≥
 * the median on one side, as statsmodels' runstest_1samp(cutoff='median', correction=False)).
 * The gauge test needs each interval's degradation to be on either side of its median with
 * probability ½ given the past; drift that the pairing does not cancel (each side's noise
 * autocorrelated on its own) shows as too few runs. Null below RUNS_TEST_MIN_INTERVALS pairs or
 * with a single run (e.g. a constant degradation, which is no drift).
 */
export function runsTest(degradations: readonly number[]): SerialDependence | null {
  const n = degradations.length;
  if (n < RUNS_TEST_MIN_INTERVALS) return null;
  const m = median(degradations);
  if (m === null) return null;
  const above = degradations.map((g) => g >= m);
  const n1 = above.filter(Boolean).length;
  const n2 = n - n1;
  if (n1 === 0 || n2 === 0) return null;
  let runs = 1;
  for (let i = 1; i < n; i++) if (above[i] !== above[i - 1]) runs++;
  const product = n1 * n2;
  const expectedRuns = (2 * product) / n + 1;
  const variance = (2 * product * (2 * product - n)) / (n * n * (n - 1));
  if (!(variance > 0)) return null;
  const z = (runs - expectedRuns) / Math.sqrt(variance);
  return { runs, expectedRuns, z, suspected: z <= RUNS_TEST_Z };
}

const noEvidence = (threshold: number): GaugeEvidence => ({ eValue: 1, maxEValue: 1, threshold, hits: 0 });

/**
 * Judges a gauge: `canary[i]` and `stable[i]` are the two sides' values in interval i (same grid,
 * same length; null or NaN = no value in that interval). Throws GaugeTestParamError on bad
 * parameters and RangeError when the arrays differ in length.
 *
 * Edge cases before any statistics:
 *   an infinite value, or a negative one with a relative scale → Inconclusive / invalid_data;
 *   no canary value at all → no_canary_traffic; no stable value → no_stable_traffic;
 *   fewer than minIntervals intervals with both values → insufficient_data.
 * Then Fail (regression_detected) when the Fail e-process's running maximum reaches 1/α; else
 * Pass (no_regression) when the Pass e-process's reaches 1/β; else insufficient_data.
 */
export function decideGauge(
  canary: readonly (number | null)[],
  stable: readonly (number | null)[],
  params: GaugeTestParams,
  options: GaugeTestOptions = {},
): GaugeTestResult {
  const problems = checkGaugeTestParams(params);
  if (problems.length > 0) throw problems[0] as GaugeTestParamError;
  if (canary.length !== stable.length)
    throw new RangeError(
      `canary and stable must cover the same intervals (${canary.length} ≠ ${stable.length})`,
    );
  const { alpha, beta, tolerance, criticalEffect, scale, direction } = params;
  const minIntervals = params.minIntervals ?? DEFAULT_GAUGE_MIN_INTERVALS;

  const pairs: { c: number; s: number }[] = [];
  let canaryOnly = 0;
  let stableOnly = 0;
  let canaryAny = 0;
  let stableAny = 0;
  let problem: string | undefined;
  for (let i = 0; i < canary.length; i++) {
    const c = canary[i] as number | null;
    const s = stable[i] as number | null;
    for (const [side, v] of [
      ['canary', c],
      ['stable', s],
    ] as const) {
      if (isMissing(v) || problem !== undefined) continue;
      if (!Number.isFinite(v)) problem = `${side} value in interval ${i} is ${v}`;
      else if (scale === 'relative' && v < 0)
        problem = `${side} value in interval ${i} is negative (${v}); a relative tolerance needs values ≥ 0`;
    }
    if (!isMissing(c)) canaryAny++;
    if (!isMissing(s)) stableAny++;
    if (isMissing(c) && isMissing(s)) continue;
    if (isMissing(s)) canaryOnly++;
    else if (isMissing(c)) stableOnly++;
    else pairs.push({ c, s });
  }

  const summary = (side: 'c' | 's', n: number): GaugeSideSummary => ({
    intervals: n,
    median: median(pairs.map((p) => p[side])),
  });
  const base = {
    intervals: pairs.length,
    unpaired: { canaryOnly, stableOnly },
    canary: summary('c', canaryAny),
    stable: summary('s', stableAny),
  };
  const refused = (reason: GaugeReason): GaugeTestResult => ({
    verdict: 'Inconclusive',
    reason,
    ...base,
    degradation: { scale, estimate: null, lower: null, upper: null },
    fail: noEvidence(1 / alpha),
    pass: noEvidence(1 / beta),
    pValue: 1,
    serialDependence: null,
    ...(problem === undefined ? {} : { problem }),
  });
  if (problem !== undefined) return refused('invalid_data');
  if (canaryAny === 0) return refused('no_canary_traffic');
  if (stableAny === 0) return refused('no_stable_traffic');
  if (pairs.length < minIntervals) return refused('insufficient_data');

  const g = pairs.map((p) => pairDegradation(p.c, p.s, scale, direction));
  const failE = signEProcess(g, (v) => v > tolerance);
  const passE = signEProcess(g, (v) => v < criticalEffect);
  const failed = failE.logMax >= Math.log(1 / alpha);
  const passed = !failed && passE.logMax >= Math.log(1 / beta);
  const cs =
    options.bounds === false ? { lower: null, upper: null } : medianConfidenceSequence(g, alpha, beta);
  return {
    verdict: failed ? 'Fail' : passed ? 'Pass' : 'Inconclusive',
    reason: failed ? 'regression_detected' : passed ? 'no_regression' : 'insufficient_data',
    ...base,
    degradation: { scale, estimate: median(g), ...cs },
    fail: {
      eValue: Math.exp(failE.logE),
      maxEValue: Math.exp(failE.logMax),
      threshold: 1 / alpha,
      hits: failE.hits,
    },
    pass: {
      eValue: Math.exp(passE.logE),
      maxEValue: Math.exp(passE.logMax),
      threshold: 1 / beta,
      hits: passE.hits,
    },
    pValue: Math.min(1, Math.exp(-failE.logMax)),
    serialDependence: runsTest(g),
  };
}
