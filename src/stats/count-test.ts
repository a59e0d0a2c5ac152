/**
 * The count check: is the canary's bad-request rate (errors, or requests slower than a threshold)
 * worse than the stable's by more than the allowed margin? Answers Fail / Pass / Inconclusive
 * from per-interval counts, valid however many times the judge looks (docs/statistics.md).
 *
 *  - Fail:  the running maximum of the mixture e-process reached 1/α (Ville: P ≤ α under H0).
 *           With several thresholds (latency's two bucket edges) the e-processes are averaged:
 *           an average of e-processes on one filtration is one, so the bound stays α.
 *  - Pass:  no Fail, and the data rule out the step's tolerance in one of two ways —
 *           power: the exposures seen so far give power ≥ `power` against `criticalEffect`;
 *           floor: a time-uniform upper bound on the canary's rate lies below
 *           max(criticalEffect × L, L + criticalIncrease), L a time-uniform lower bound on the
 *           stable's (rate-bound.ts): with probability ≥ 1 − β no look passes this way a canary
 *           at or beyond that tolerance. The floor is what lets a clean service (no bad requests
 *           at all) pass. Either way, a canary whose effect interval lies wholly above
 *           1 + margin and reaching at least halfway (geometrically) to the critical effect is
 *           held (`suspected_regression`) until the evidence settles.
 *  - Inconclusive: everything else, with a reason and, when short of data, roughly how many more
 *    intervals at the current traffic would settle it — or, when the stable side has no bad
 *    request and the step no absolute tolerance, that no traffic can (`needs`); edge cases (no
 *    traffic, invalid counts) are answered before any statistics and are never a Pass.
 */
import { rateRatio, EFFECT_CONFIDENCE } from './effect.js';
import { addPowerTerms, powerFromTerms, powerTerms, runningPower } from './power.js';
import { rateBounds } from './rate-bound.js';
import { DEFAULT_MIXTURE, runEProcess, type MixtureComponent } from './sequential.js';
import { logSumExp } from './special-functions.js';
import type {
  CountTestParams,
  CountTestResult,
  EdgeResult,
  EffectEstimate,
  FloorReport,
  IntervalCounts,
  Reason,
  SideSummary,
  TimelinePoint,
  Verdict,
} from './types.js';

/** Defaults for a count check; per-step values for the shipped templates: docs/statistics.md. */
export const DEFAULT_COUNT_TEST_PARAMS: CountTestParams = {
  alpha: 0.01,
  margin: 0,
  criticalEffect: 2,
  power: 0.8,
  criticalIncrease: 0,
};

/**
 * The critical effect of a check that names none: the default above, but never less than
 * 1 + margin + 0.5 (a critical effect must exceed 1 + margin, and one barely above it would take
 * forever to rule out).
 */
export function defaultCriticalEffect(margin: number): number {
  return Math.max(DEFAULT_COUNT_TEST_PARAMS.criticalEffect, 1 + margin + 0.5);
}

/**
 * Risk β of the floor: the probability, over the whole rollout, that some look passes through
 * the floor a canary whose rate is at or beyond its step's tolerance (split evenly between the
 * canary's upper and the stable's lower bound, and between thresholds when there are several).
 */
export const DEFAULT_FLOOR_BETA = 0.05;

/**
 * Confidence of the interval that holds a Pass (`suspected_regression`). Stricter than the 95 %
 * of the reported interval: under H0 the pooled ratio's interval lies above 1 at a given look
 * with probability (1 − confidence)/2, and with much data such a drift persists for the rest of
 * a gate, so a 95 % hold kept about 2 % of identical releases from passing the last gate.
 */
export const HOLD_CONFIDENCE = 0.99;

/** Most intervals ahead that the "how long until it settles" estimate looks (a day of minutes). */
export const MAX_SETTLE_INTERVALS = 1440;

/** Recent intervals averaged for the traffic the estimate assumes from now on. */
const SETTLE_RECENT_INTERVALS = 5;

/** Largest e-value reported (JSON has no Infinity); the decision itself works in log space. */
export const MAX_REPORTED_E_VALUE = 1e300;

export interface CountTestOptions {
  /** Mixing distribution over alternatives (multiples of 1 + margin). Default: DEFAULT_MIXTURE. */
  readonly mixture?: readonly MixtureComponent[];
  /** Risk of the floor (see DEFAULT_FLOOR_BETA). */
  readonly floorBeta?: number;
  /**
   * Estimate, when short of data, how many more intervals would settle the check (default
   * true). It never changes the verdict; simulations that only need verdicts turn it off.
   */
  readonly estimateSettle?: boolean;
  /** Also return the evidence interval by interval (`timeline`); never changes the verdict. */
  readonly timeline?: boolean;
}

/** Thrown for parameters outside their domain (a programming or request-validation error). */
export class CountTestParamError extends RangeError {
  constructor(
    readonly field: keyof CountTestParams | 'mixture' | 'floorBeta',
    message: string,
  ) {
    super(message);
    this.name = 'CountTestParamError';
  }
}

/** Returns the problems with `params` (empty when they are usable). */
export function checkCountTestParams(
  params: CountTestParams,
): { field: keyof CountTestParams; message: string }[] {
  const problems: { field: keyof CountTestParams; message: string }[] = [];
  const { alpha, margin, criticalEffect, power } = params;
  const increase = params.criticalIncrease ?? 0;
  // 1/α must stay a finite threshold even after a split across several thresholds.
  if (!(Number.isFinite(alpha) && alpha > 0 && alpha < 1 && Number.isFinite(4 / alpha))) {
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
  if (!(Number.isFinite(increase) && increase >= 0 && increase < 1)) {
    problems.push({
      field: 'criticalIncrease',
      message: `criticalIncrease must be in [0, 1), got ${String(increase)}`,
    });
  }
  return problems;
}

function isCount(v: number): boolean {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0;
}

function summary(requests: number, bad: number): SideSummary {
  return { requests, bad, rate: requests > 0 ? bad / requests : null };
}

const NO_EFFECT: EffectEstimate = { ratio: null, lower: null, upper: null, confidence: EFFECT_CONFIDENCE };

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
    effect: NO_EFFECT,
    evidence: { eValue: 1, threshold: 1 / params.alpha, pValue: 1 },
    power: { achieved: 0, required: params.power, criticalEffect: params.criticalEffect },
    intervals,
  };
}

/** One threshold's counts after the edge-case checks. */
interface Cleaned {
  readonly intervals: IntervalCounts[];
  readonly canary: SideSummary;
  readonly stable: SideSummary;
  readonly usable: number;
  readonly invalid: boolean;
}

function clean(intervals: readonly IntervalCounts[]): Cleaned {
  // Bad counts above the total can come from increase() extrapolating the two counters
  // differently; they are capped at the total (a canary whose every request failed must still
  // be able to fail), not refused.
  let invalid = false;
  const out: IntervalCounts[] = [];
  let nc = 0;
  let xc = 0;
  let ns = 0;
  let xs = 0;
  let usable = 0;
  for (const iv of intervals) {
    if (
      !isCount(iv.canaryTotal) ||
      !isCount(iv.canaryBad) ||
      !isCount(iv.stableTotal) ||
      !isCount(iv.stableBad)
    ) {
      invalid = true;
      continue;
    }
    const c: IntervalCounts = {
      canaryTotal: iv.canaryTotal,
      canaryBad: Math.min(iv.canaryBad, iv.canaryTotal),
      stableTotal: iv.stableTotal,
      stableBad: Math.min(iv.stableBad, iv.stableTotal),
    };
    out.push(c);
    nc += c.canaryTotal;
    xc += c.canaryBad;
    ns += c.stableTotal;
    xs += c.stableBad;
    if (c.canaryTotal > 0 && c.stableTotal > 0) usable++;
  }
  // Sums of finite counts can still overflow (1e308 + 1e308): that is not a count either.
  if (![nc, xc, ns, xs].every(Number.isFinite)) invalid = true;
  return { intervals: out, canary: summary(nc, xc), stable: summary(ns, xs), usable, invalid };
}

/**
 * The floor: is the canary's rate shown to be below the step's tolerance
 * max(criticalEffect × stable, stable + criticalIncrease), at risk β?
 */
export function toleranceFloor(
  canary: { readonly requests: number; readonly bad: number },
  stable: { readonly requests: number; readonly bad: number },
  criticalEffect: number,
  criticalIncrease: number,
  beta: number,
): FloorReport {
  const canaryUpper = rateBounds(canary.bad, canary.requests, beta / 2).upper;
  const stableLower = rateBounds(stable.bad, stable.requests, beta / 2).lower;
  const allowed = Math.max(criticalEffect * stableLower, stableLower + criticalIncrease);
  return { canaryUpper, stableLower, allowed, met: canaryUpper < allowed, beta };
}

/** Everything one threshold contributes to the decision. */
interface EdgeAssessment {
  readonly data: Cleaned;
  readonly logE: readonly number[];
  readonly effect: EffectEstimate;
  readonly power: number;
  readonly floor: FloorReport;
  readonly passes: boolean;
  readonly suspected: boolean;
}

function assessEdge(
  data: Cleaned,
  params: CountTestParams,
  theta0: number,
  alphaEach: number,
  betaEach: number,
  mixture: readonly MixtureComponent[],
): EdgeAssessment {
  const trace = runEProcess(data.intervals, theta0, mixture);
  const terms = powerTerms(data.intervals, theta0, params.criticalEffect, mixture);
  const power = terms === null ? 0 : powerFromTerms(terms, alphaEach, mixture);
  const floor = toleranceFloor(
    data.canary,
    data.stable,
    params.criticalEffect,
    params.criticalIncrease ?? 0,
    betaEach,
  );
  const pooled = {
    canaryTotal: data.canary.requests,
    canaryBad: data.canary.bad,
    stableTotal: data.stable.requests,
    stableBad: data.stable.bad,
  };
  const effect = rateRatio(pooled);
  // The hold's own interval is only needed when the reported one already lies above 1 + margin.
  const hold = effect.lower !== null && effect.lower > theta0 ? rateRatio(pooled, HOLD_CONFIDENCE) : effect;
  return {
    data,
    logE: trace.logE,
    effect,
    power,
    floor,
    passes: power >= params.power || floor.met,
    // Power (or the floor) says a critical regression would have shown by now, but the data say
    // the canary is worse than allowed and cannot show it nearer to 1 + margin than to the
    // critical effect: not evidence enough to fail at level α, and no reason to wave the step
    // through either. A canary shown worse than 1 + margin but also shown in the lower half
    // (geometrically) of the way to the critical effect is not held: with much data the interval
    // is narrow, and an identical release whose pooled ratio drifted above 1 by chance would
    // otherwise stay held for the rest of its gate.
    suspected:
      hold.lower !== null &&
      hold.lower > theta0 &&
      (hold.upper === null || hold.upper >= Math.sqrt(theta0 * params.criticalEffect)),
  };
}

function flatTimeline(intervals: readonly IntervalCounts[]): TimelinePoint[] {
  return intervals.map((iv) => ({ ...iv, eValue: 1, power: 0 }));
}

/** The deciding threshold's counts with the test's e-value and best power after each interval. */
function timelineOf(
  counts: readonly IntervalCounts[],
  logPath: readonly number[],
  edges: readonly EdgeAssessment[],
  params: CountTestParams,
  theta0: number,
  alphaEach: number,
  mixture: readonly MixtureComponent[],
): TimelinePoint[] {
  const powers = edges.map((e) =>
    runningPower(e.data.intervals, theta0, params.criticalEffect, alphaEach, mixture),
  );
  return counts.map((iv, t) => ({
    canaryTotal: iv.canaryTotal,
    canaryBad: iv.canaryBad,
    stableTotal: iv.stableTotal,
    stableBad: iv.stableBad,
    eValue: Math.min(MAX_REPORTED_E_VALUE, Math.exp(logPath[t] ?? 0)),
    power: Math.max(...powers.map((p) => p[t] ?? 0)),
  }));
}

/**
 * Roughly how many more intervals like the recent ones would let this threshold pass if the
 * canary behaved like the stable from now on; null when not within MAX_SETTLE_INTERVALS.
 */
function intervalsToSettle(
  e: EdgeAssessment,
  params: CountTestParams,
  theta0: number,
  alphaEach: number,
  betaEach: number,
  mixture: readonly MixtureComponent[],
): number | null {
  const recent = e.data.intervals
    .filter((iv) => iv.canaryTotal > 0 && iv.stableTotal > 0)
    .slice(-SETTLE_RECENT_INTERVALS);
  if (recent.length === 0) return null;
  const nc = recent.reduce((s, iv) => s + iv.canaryTotal, 0) / recent.length;
  const ns = recent.reduce((s, iv) => s + iv.stableTotal, 0) / recent.length;
  const rate = e.data.stable.requests > 0 ? e.data.stable.bad / e.data.stable.requests : 0;
  const terms = powerTerms(e.data.intervals, theta0, params.criticalEffect, mixture);
  const settles = (m: number): boolean => {
    if (terms !== null) {
      // m intervals at the same shares add m times one interval's terms (they are linear in n).
      const mu = [...terms.mu];
      const variance = [...terms.variance];
      addPowerTerms(mu, variance, m * nc, m * ns, terms.rate, theta0, params.criticalEffect, mixture);
      if (powerFromTerms({ mu, variance }, alphaEach, mixture) >= params.power) return true;
    }
    const canary = { requests: e.data.canary.requests + m * nc, bad: e.data.canary.bad + m * nc * rate };
    const stable = { requests: e.data.stable.requests + m * ns, bad: e.data.stable.bad + m * ns * rate };
    return toleranceFloor(canary, stable, params.criticalEffect, params.criticalIncrease ?? 0, betaEach).met;
  };
  if (!settles(MAX_SETTLE_INTERVALS)) return null;
  let lo = 0;
  let hi = MAX_SETTLE_INTERVALS;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (settles(mid)) hi = mid;
    else lo = mid;
  }
  return hi;
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
  return decideThresholds([intervals], params, options);
}

/**
 * Decides one check counted against several thresholds at once (latency's bucket edges): one
 * list of per-interval counts per threshold, all over the same requests. Fail when the average
 * of the thresholds' e-processes reaches 1/α; Pass when some threshold passes at α/J and β/J
 * (J thresholds) and none is suspected of a regression. The result's counts, effect and power
 * are the deciding threshold's; `edges` has every threshold's.
 */
export function decideThresholds(
  perThreshold: readonly (readonly IntervalCounts[])[],
  params: CountTestParams,
  options: CountTestOptions = {},
): CountTestResult {
  const problems = checkCountTestParams(params);
  if (problems.length > 0) {
    const first = problems[0] as { field: keyof CountTestParams; message: string };
    throw new CountTestParamError(first.field, first.message);
  }
  const mixture = options.mixture ?? DEFAULT_MIXTURE;
  if (
    mixture.length === 0 ||
    mixture.some((c) => !(c.multiplier > 1 && Number.isFinite(c.multiplier) && c.weight > 0))
  ) {
    throw new CountTestParamError('mixture', 'mixture components need multiplier > 1 and weight > 0');
  }
  const beta = options.floorBeta ?? DEFAULT_FLOOR_BETA;
  if (!(beta > 0 && beta < 1))
    throw new CountTestParamError('floorBeta', `floorBeta must be in (0, 1), got ${String(beta)}`);
  if (perThreshold.length === 0) throw new CountTestParamError('mixture', 'at least one threshold is needed');

  // Edge cases before statistics, on the first threshold (every threshold counts the same
  // requests; only which of them are bad differs).
  const cleaned = perThreshold.map(clean);
  const first = cleaned[0] as Cleaned;
  const { canary, stable, usable } = first;
  if (cleaned.some((c) => c.invalid)) return inconclusive('invalid_data', params, canary, stable, usable);
  // Before any statistics the evidence is flat: e-value 1, power 0, the counts as they came.
  const flat = options.timeline === true ? { timeline: flatTimeline(first.intervals) } : {};
  if (!(canary.requests > 0))
    return { ...inconclusive('no_canary_traffic', params, canary, stable, usable), ...flat };
  if (!(stable.requests > 0))
    return { ...inconclusive('no_stable_traffic', params, canary, stable, usable), ...flat };
  if (usable === 0) return { ...inconclusive('insufficient_data', params, canary, stable, usable), ...flat };

  const J = cleaned.length;
  const theta0 = 1 + params.margin;
  const alphaEach = params.alpha / J;
  const betaEach = beta / J;
  const edges = cleaned.map((d) => assessEdge(d, params, theta0, alphaEach, betaEach, mixture));

  // The average of the thresholds' e-processes, interval by interval, and its running maximum.
  const steps = (edges[0] as EdgeAssessment).logE.length;
  let logFinal = 0;
  let logMax = 0;
  const logPath: number[] = [];
  for (let t = 0; t < steps; t++) {
    logFinal = logSumExp(edges.map((e) => e.logE[t] as number)) - Math.log(J);
    if (logFinal > logMax) logMax = logFinal;
    logPath.push(logFinal);
  }

  let verdict: Verdict;
  let reason: Reason;
  let decidingIndex: number;
  const indexOf = (pred: (e: EdgeAssessment) => boolean): number => edges.findIndex(pred);
  const byPower = edges.reduce(
    (best, e, i) => (e.power > (edges[best] as EdgeAssessment).power ? i : best),
    0,
  );
  if (logMax >= Math.log(1 / params.alpha)) {
    verdict = 'Fail';
    reason = 'regression_detected';
    decidingIndex = edges.reduce(
      (best, e, i) => ((e.logE.at(-1) ?? 0) > ((edges[best] as EdgeAssessment).logE.at(-1) ?? 0) ? i : best),
      0,
    );
  } else if (!edges.some((e) => e.passes)) {
    verdict = 'Inconclusive';
    reason = 'insufficient_data';
    decidingIndex = byPower;
  } else if (edges.some((e) => e.suspected)) {
    verdict = 'Inconclusive';
    reason = 'suspected_regression';
    decidingIndex = indexOf((e) => e.suspected);
  } else {
    verdict = 'Pass';
    reason = 'no_regression';
    decidingIndex = indexOf((e) => e.passes);
  }
  const deciding = edges[decidingIndex] as EdgeAssessment;
  // With no bad request on the stable side the ratio has no baseline (power 0) and the floor
  // allows max(k × 0, 0 + criticalIncrease): without an absolute tolerance no look passes while
  // the stable stays clean, and no projection of the traffic changes that (it assumes the canary
  // behaves like the stable, so it adds no stable bad request).
  const needsIncrease =
    reason === 'insufficient_data' &&
    !((params.criticalIncrease ?? 0) > 0) &&
    edges.every((e) => !(e.data.stable.bad > 0));
  let settle: number | null | undefined;
  if (reason !== 'insufficient_data' || options.estimateSettle === false) {
    settle = undefined;
  } else if (needsIncrease) {
    settle = null;
  } else {
    const estimates = edges.map((e) => intervalsToSettle(e, params, theta0, alphaEach, betaEach, mixture));
    settle = estimates.reduce<number | null>(
      (best, v) => (v !== null && (best === null || v < best) ? v : best),
      null,
    );
  }
  return {
    verdict,
    reason,
    canary: deciding.data.canary,
    stable: deciding.data.stable,
    effect: deciding.effect,
    evidence: {
      eValue: Math.min(MAX_REPORTED_E_VALUE, Math.exp(logFinal)),
      threshold: 1 / params.alpha,
      pValue: Math.min(1, Math.exp(-logMax)),
    },
    power: {
      achieved: Math.max(...edges.map((e) => e.power)),
      required: params.power,
      criticalEffect: params.criticalEffect,
    },
    floor: deciding.floor,
    intervals: usable,
    ...(settle === undefined ? {} : { settleIntervals: settle }),
    ...(needsIncrease ? { needs: 'criticalIncrease' as const } : {}),
    ...(options.timeline === true
      ? { timeline: timelineOf(deciding.data.intervals, logPath, edges, params, theta0, alphaEach, mixture) }
      : {}),
    ...(J > 1
      ? {
          edges: edges.map((e): EdgeResult => ({
            canary: e.data.canary,
            stable: e.data.stable,
            effect: e.effect,
            eValue: Math.min(MAX_REPORTED_E_VALUE, Math.exp(e.logE.at(-1) ?? 0)),
            power: e.power,
            floor: e.floor,
          })),
          decidingEdge: decidingIndex,
        }
      : {}),
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
