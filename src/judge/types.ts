/** What an analysis answers: one result per check and the combined verdict. */

import type { ErrorCode } from '../errors.js';
import type { CheckRequest, SelectorMode } from './request.js';
import type {
  CountTestParams,
  EdgeResult,
  EffectEstimate,
  FloorReport,
  Evidence,
  GaugeScale,
  GaugeTestResult,
  PowerReport,
  Reason,
  ScorecardReason,
  SideSummary,
  Verdict,
} from '../stats/index.js';

/** Engine reasons, plus the judge's own: this check's queries failed (the others still ran). */
export type CheckReason = Reason | 'query_error';

/** The check kinds, as the request schema (./request.ts) names them. */
export type CheckType = CheckRequest['type'];

/** What every check's parameters say: its share of α, and its place on the scorecard. */
export interface BaseCheckParams {
  readonly alpha: number;
  readonly weight: number;
  readonly critical: boolean;
}

/** Parameters of a count check (error-rate, latency, ratio). */
export interface CheckParams extends CountTestParams, BaseCheckParams {
  /** Absolute increase a Pass must rule out besides the ratio; 0 = ratio only. */
  readonly criticalIncrease: number;
}

/**
 * Parameters of a gauge check (src/judge/checks/gauge.ts): `alpha` is the Fail test's level,
 * `power` = 1 − β of the Pass test; tolerance and criticalEffect are degradations in the
 * scale's units (a fraction of the stable's value, or the gauge's own unit).
 */
export interface GaugeCheckParams extends BaseCheckParams {
  readonly power: number;
  /** Which way is worse, in the request's words. */
  readonly direction: 'higher-is-worse' | 'lower-is-worse';
  readonly scale: GaugeScale;
  readonly tolerance: number;
  readonly criticalEffect: number;
}

/** The parameters of any kind of check (each kind's own, in CheckResult's `params`). */
export type AnyCheckParams = CheckParams | GaugeCheckParams;

/** A gauge check's evidence record in the answer: the gauge test's numbers (src/stats/gauge-test.ts). */
export type GaugeEvidenceRecord = Omit<GaugeTestResult, 'verdict' | 'reason'>;

export interface LatencyThreshold {
  /** The bucket edge counted against, in milliseconds (null when none could be chosen). */
  readonly ms: number | null;
  readonly source: 'slo' | 'stable-quantile';
  /** The requested SLO (source slo). */
  readonly requestedMs?: number;
  /** The quantile and the stable's estimate of it (source stable-quantile). */
  readonly quantile?: number;
  readonly stableQuantileMs?: number | null;
  /** Which stable data gave the quantile: the hour before the window, or the window itself. */
  readonly basis?: 'stable-before-window' | 'stable-in-window';
  /**
   * Stable quantile: the largest edge with at least 1 − quantile of the stable's requests above
   * it (null when none); tested beside `ms` when it differs (checks/latency.ts).
   */
  readonly lowMs?: number | null;
  /** The edge whose counts the result reports (the one that decided), ms. */
  readonly decidingMs?: number;
}

export interface QuantileEstimates {
  readonly p50: number | null;
  readonly p95: number | null;
  readonly p99: number | null;
}

export interface CheckResult {
  readonly name: string;
  readonly type: CheckType;
  readonly verdict: Verdict;
  readonly reason: CheckReason;
  readonly summary: string;
  /** The parameters in force; a gauge check's are GaugeCheckParams. */
  readonly params: AnyCheckParams;
  /** The count fields below are the count kinds' record; null or absent for a gauge check. */
  readonly canary: SideSummary | null;
  readonly stable: SideSummary | null;
  readonly effect: EffectEstimate | null;
  readonly evidence: Evidence | null;
  readonly power: PowerReport | null;
  /** Intervals with traffic on both sides that entered the test. */
  readonly intervals: number;
  readonly errorCodes?: string;
  /** Envoy response flags counted as errors besides the codes (error-rate, when asked). */
  readonly responseFlags?: string;
  readonly threshold?: LatencyThreshold;
  /** Latency estimates for humans, milliseconds. */
  readonly quantiles?: { readonly canary: QuantileEstimates; readonly stable: QuantileEstimates };
  /** The floor: time-uniform rate bounds against the step's tolerance (absent for refused data). */
  readonly floor?: FloorReport;
  /** Every threshold, when the check counted against several (latency's two edges). */
  readonly edges?: readonly (EdgeResult & { readonly ms: number | null })[];
  /**
   * Short of data (insufficient_data): about how many more minutes at the recent traffic would
   * let the check pass if the canary behaved like the stable; null = more than a day.
   */
  readonly settleMinutes?: number | null;
  /** The evidence interval by interval, when the request asked for it (`timeline: true`). */
  readonly timeline?: readonly TimelineEntry[];
  /** A gauge check's record (its kind's evidence; absent for the count kinds). */
  readonly gauge?: GaugeEvidenceRecord;
  readonly error?: { readonly code: ErrorCode; readonly message: string };
  readonly queries: readonly string[];
}

/**
 * One interval of a check's evidence: its counts (for latency, the deciding edge's slow
 * requests), and the test's e-value (Fail at `evidence.threshold`) and power against the
 * critical effect after it.
 */
export interface TimelineEntry {
  /** RFC 3339 end of the interval (its counts are the increase over the interval before). */
  readonly end: string;
  readonly canary: { readonly requests: number; readonly bad: number };
  readonly stable: { readonly requests: number; readonly bad: number };
  readonly eValue: number;
  readonly power: number;
}

export interface AnalysisWindow {
  /** RFC 3339; null when no canary sample was found in the look-back window. */
  readonly start: string | null;
  readonly end: string;
  readonly interval: string;
  /** Complete intervals in the window. */
  readonly intervals: number;
  readonly startSource: 'explicit' | 'canary-first-sample';
}

export interface AnalysisTiming {
  /** Wall time of the whole analysis, ms. */
  readonly totalMs: number;
  /** Wall time during which at least one Prometheus query was in flight, ms. */
  readonly prometheusMs: number;
  readonly queries: number;
}

export interface AnalysisResult {
  readonly verdict: Verdict;
  readonly score: number;
  readonly summary: string;
  readonly judge: string;
  readonly rollout: { readonly name: string; readonly namespace: string };
  readonly selector: { readonly mode: SelectorMode; readonly canary: string; readonly stable: string };
  readonly window: AnalysisWindow;
  /** How the checks were combined (src/stats/scorecard.ts). */
  readonly scorecard?: {
    readonly reason: ScorecardReason;
    readonly maxScore: number;
    readonly failBelow: number;
    /** Σ of the checks' α: the bound on failing a good release. */
    readonly familyWiseAlpha: number | null;
  };
  readonly checks: readonly CheckResult[];
  readonly timing: AnalysisTiming;
  /**
   * The compact record for an AnalysisTemplate that selects an object (`jsonPath:
   * "{$.measurement}"`, conditions on `result.verdict`). The shipped templates read `{$.summary}`
   * instead: the dashboard shows an object value as `[object Object]`, a string as text.
   */
  readonly measurement?: { readonly verdict: Verdict; readonly score: number; readonly summary: string };
}
