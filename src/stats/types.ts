/**
 * The typed boundary between the judge (which turns Prometheus series into counts) and the
 * statistics engine (pure functions, no I/O). Everything the engine decides comes back as one
 * of these closed unions, with the numbers that explain it.
 */

export type Verdict = 'Pass' | 'Fail' | 'Inconclusive';

/** Why a check ended the way it did. Closed set: add here, and the compiler finds every switch. */
export type Reason =
  | 'regression_detected' // Fail: evidence that canary is worse than stable by more than the margin
  | 'no_regression' // Pass: no evidence, and enough data to have caught the critical effect
  | 'insufficient_data' // Inconclusive: some data, not enough power yet
  | 'suspected_regression' // Inconclusive: power reached, but the effect interval lies above 1 + margin
  | 'no_canary_traffic' // Inconclusive: zero canary requests in the window
  | 'no_stable_traffic' // Inconclusive: zero stable requests in the window (nothing to compare to)
  | 'invalid_data'; // Inconclusive: NaN / negative / infinite counts were found and refused

/**
 * Counts for one analysis interval (one Prometheus step). Counts may be fractional because
 * PromQL `increase()` extrapolates; they are never negative or NaN once they reach the engine
 * (the engine re-checks and answers `invalid_data` if they are).
 */
export interface IntervalCounts {
  readonly canaryTotal: number;
  readonly canaryBad: number;
  readonly stableTotal: number;
  readonly stableBad: number;
}

/** Parameters of one count check (error rate, or latency turned into "slower than threshold"). */
export interface CountTestParams {
  /** Level of the anytime-valid test over the whole rollout, e.g. 0.01. */
  readonly alpha: number;
  /** Allowed relative margin δ: the null is canaryRate ≤ (1 + δ) × stableRate. e.g. 0.1. */
  readonly margin: number;
  /** Rate ratio canary/stable the data must be able to detect before a Pass, e.g. 2. */
  readonly criticalEffect: number;
  /** Probability of detecting `criticalEffect` that the data must reach before a Pass, e.g. 0.8. */
  readonly power: number;
  /**
   * Absolute increase of the bad-request rate the step tolerates besides the ratio, e.g. 0.001
   * (+0.1 percentage point): a canary whose rate is shown below max(criticalEffect × stable,
   * stable + criticalIncrease) may Pass without the ratio test's power (docs/statistics.md).
   * Default 0: the tolerance is the ratio alone.
   */
  readonly criticalIncrease?: number;
}

export interface SideSummary {
  readonly requests: number;
  readonly bad: number;
  /** bad / requests, or null when requests is 0 (never NaN in output). */
  readonly rate: number | null;
}

export interface EffectEstimate {
  /** Point estimate of canaryRate / stableRate; null when it cannot be estimated. */
  readonly ratio: number | null;
  readonly lower: number | null;
  readonly upper: number | null;
  /** Confidence level of [lower, upper], e.g. 0.95. */
  readonly confidence: number;
}

export interface Evidence {
  /** Current value of the mixture e-process against H0: ratio ≤ 1 + margin. ≥ 0. */
  readonly eValue: number;
  /** The e-value at which the test rejects: 1 / alpha. */
  readonly threshold: number;
  /** Anytime-valid p-value: min(1, 1 / running max of the e-process). */
  readonly pValue: number;
}

export interface PowerReport {
  /** Probability that the test would have rejected by now if the true ratio were criticalEffect. */
  readonly achieved: number;
  readonly required: number;
  readonly criticalEffect: number;
}

/** The floor of a count check (count-test.ts): time-uniform rate bounds against the tolerance. */
export interface FloorReport {
  /** Upper bound on the canary's bad-request rate. */
  readonly canaryUpper: number;
  /** Lower bound on the stable's. */
  readonly stableLower: number;
  /** The tolerance at that bound: max(criticalEffect × stableLower, stableLower + criticalIncrease). */
  readonly allowed: number;
  /** canaryUpper < allowed: the canary is shown within the step's tolerance. */
  readonly met: boolean;
  /** Risk of the bounds (both sides together). */
  readonly beta: number;
}

/** One threshold of a check counted against several (latency's bucket edges). */
export interface EdgeResult {
  readonly canary: SideSummary;
  readonly stable: SideSummary;
  readonly effect: EffectEstimate;
  /** This threshold's own e-value (the decision uses the average over thresholds). */
  readonly eValue: number;
  /** Power at this threshold, at its share α/J of the level. */
  readonly power: number;
  readonly floor: FloorReport;
}

export interface CountTestResult {
  readonly verdict: Verdict;
  readonly reason: Reason;
  readonly canary: SideSummary;
  readonly stable: SideSummary;
  readonly effect: EffectEstimate;
  readonly evidence: Evidence;
  readonly power: PowerReport;
  /** Number of intervals with data that entered the test. */
  readonly intervals: number;
  /** The deciding threshold's floor; absent when the data were refused before any statistics. */
  readonly floor?: FloorReport;
  /**
   * When short of data (insufficient_data): about how many more intervals at the recent traffic
   * would let the check pass if the canary behaved like the stable; null = more than a day's worth.
   */
  readonly settleIntervals?: number | null;
  /**
   * Set with insufficient_data when no amount of traffic like the window's can Pass at these
   * parameters: the stable side had no bad request at any threshold (no baseline for the ratio,
   * so power is 0) and the step states no absolute tolerance (criticalIncrease 0), so the floor
   * allows nothing either. `settleIntervals` is then null; what would let the check pass is a
   * `criticalIncrease` (docs/statistics.md §4c).
   */
  readonly needs?: 'criticalIncrease';
  /** Every threshold, when the check counted against several; `decidingEdge` indexes it. */
  readonly edges?: readonly EdgeResult[];
  readonly decidingEdge?: number;
  /** The evidence interval by interval, when asked for (CountTestOptions.timeline). */
  readonly timeline?: readonly TimelinePoint[];
}

/**
 * One interval of a check's evidence over time: that interval's counts (the deciding
 * threshold's, for a check with several), and the e-value and power the test had after it.
 */
export interface TimelinePoint extends IntervalCounts {
  /** The test's e-value after this interval (the average over thresholds); Fail at 1/α. */
  readonly eValue: number;
  /** Power against the critical effect on the intervals up to this one (best threshold's). */
  readonly power: number;
}

/** One histogram snapshot for one side in one interval: cumulative counts per upper bound `le`. */
export interface HistogramBucket {
  /** Upper bound; the last bucket is +Infinity. */
  readonly le: number;
  /** Cumulative count of observations ≤ le (as Prometheus `_bucket` series). */
  readonly count: number;
}
