/**
 * The scorecard: several check verdicts → one verdict and a 0–100 score (docs/scorecard.md).
 *
 * Error rate across checks. A card Fails falsely only if at least one of its checks Fails
 * falsely, so running each of k checks at level α/k ({@link alphaForCheck}, Bonferroni) bounds
 * the probability of a false card Fail by k × α/k = α — for any dependence between the checks,
 * and, because each count check is anytime-valid, however many times the judge looks. The card
 * reports Σ αᵢ of its checks as `familyWiseAlpha` so the bound actually achieved is visible.
 *
 * Verdict rules, in order:
 *  1. no checks → Inconclusive (`no_checks`);
 *  2. any critical check Fails → Fail (`critical_failure`);
 *  3. the best score still reachable — 100 × (weight of checks that did not Fail) / (total
 *     weight), i.e. the score if every Inconclusive check later passed — is below `failBelow`
 *     → Fail (`score_below_threshold`);
 *  4. every check Passes → Pass (`all_passed`);
 *  5. otherwise Inconclusive (`checks_failed` when some non-critical check failed without
 *     reaching rule 3, `checks_inconclusive` otherwise).
 * The reported `score` is 100 × (weight of passing checks) / (total weight). Inconclusive
 * never becomes Pass (rule 4 needs every check to pass), and an Inconclusive check never makes
 * the card Fail (rule 3 counts it as if it had passed).
 */

import type { Verdict } from './types.js';

export interface ScorecardCheck {
  readonly name: string;
  readonly verdict: Verdict;
  /** Relative weight in the score; finite and > 0. Default 1. */
  readonly weight?: number;
  /** A critical check's Fail fails the whole card. Default false. */
  readonly critical?: boolean;
  /** The level the check ran at (for `familyWiseAlpha`); optional. */
  readonly alpha?: number;
}

export interface ScorecardOptions {
  /**
   * The card Fails when the best reachable score is below this (0–100). Default 75: with four
   * equally weighted non-critical checks one Fail leaves Inconclusive, two Fail the card.
   * 100 makes every Fail fail the card; 0 means only critical checks can fail it.
   */
  readonly failBelow?: number;
}

export type ScorecardReason =
  | 'no_checks'
  | 'critical_failure'
  | 'score_below_threshold'
  | 'all_passed'
  | 'checks_failed'
  | 'checks_inconclusive';

export interface ScorecardResult {
  readonly verdict: Verdict;
  readonly reason: ScorecardReason;
  /** 100 × weight of passing checks / total weight (0 when there are no checks). */
  readonly score: number;
  /** 100 × weight of checks that did not fail / total weight: the best score still reachable. */
  readonly maxScore: number;
  readonly failBelow: number;
  readonly failed: readonly string[];
  readonly criticalFailed: readonly string[];
  readonly inconclusive: readonly string[];
  /** Σ of the checks' α when every check reports one: the bound on a false card Fail. */
  readonly familyWiseAlpha: number | null;
  /** One line for humans. */
  readonly summary: string;
}

export const DEFAULT_FAIL_BELOW = 75;
/** A check's weight in the score when the request names none. */
export const DEFAULT_CHECK_WEIGHT = 1;
/** Whether a check's Fail fails the card on its own, when the request does not say. */
export const DEFAULT_CRITICAL = false;

/**
 * The level each of `nChecks` checks should run at so that the card's chance of failing a good
 * release stays ≤ `alpha`: Bonferroni, α / nChecks. Valid whatever the dependence between the
 * checks (they share traffic and time windows, so they are rarely independent).
 */
export function alphaForCheck(alpha: number, nChecks: number): number {
  if (typeof alpha !== 'number' || !(alpha > 0 && alpha < 1)) {
    throw new RangeError(`alpha must be in (0, 1), got ${String(alpha)}`);
  }
  if (!Number.isInteger(nChecks) || nChecks < 1) {
    throw new RangeError(`nChecks must be an integer ≥ 1, got ${String(nChecks)}`);
  }
  return alpha / nChecks;
}

/** Sum in a fixed (sorted) order so the result does not depend on the order of the checks. */
const stableSum = (values: readonly number[]): number =>
  [...values].sort((a, b) => a - b).reduce((s, v) => s + v, 0);

/** Combines check verdicts into the card's verdict and score (rules in the module comment). */
export function scorecard(
  checks: readonly ScorecardCheck[],
  options: ScorecardOptions = {},
): ScorecardResult {
  const failBelow = options.failBelow ?? DEFAULT_FAIL_BELOW;
  if (typeof failBelow !== 'number' || !(failBelow >= 0 && failBelow <= 100)) {
    throw new RangeError(`failBelow must be within [0, 100], got ${String(failBelow)}`);
  }
  const weights = checks.map((c, i) => {
    const w = c.weight ?? 1;
    if (typeof w !== 'number' || !Number.isFinite(w) || w <= 0) {
      throw new RangeError(`checks[${i}].weight must be a finite number > 0, got ${String(w)}`);
    }
    if (c.verdict !== 'Pass' && c.verdict !== 'Fail' && c.verdict !== 'Inconclusive') {
      throw new RangeError(
        `checks[${i}].verdict must be Pass, Fail or Inconclusive, got ${String(c.verdict)}`,
      );
    }
    if (c.alpha !== undefined && !(c.alpha > 0 && c.alpha < 1)) {
      throw new RangeError(`checks[${i}].alpha must be in (0, 1), got ${String(c.alpha)}`);
    }
    return w;
  });
  const sorted = <T extends string>(v: T[]): T[] => v.sort();
  const failed = sorted(checks.filter((c) => c.verdict === 'Fail').map((c) => c.name));
  const criticalFailed = sorted(
    checks.filter((c) => c.verdict === 'Fail' && c.critical === true).map((c) => c.name),
  );
  const inconclusive = sorted(checks.filter((c) => c.verdict === 'Inconclusive').map((c) => c.name));
  const alphas = checks.map((c) => c.alpha);
  const familyWiseAlpha =
    checks.length > 0 && alphas.every((a): a is number => a !== undefined)
      ? Math.min(1, stableSum(alphas))
      : null;

  if (checks.length === 0) {
    return {
      verdict: 'Inconclusive',
      reason: 'no_checks',
      score: 0,
      maxScore: 0,
      failBelow,
      failed,
      criticalFailed,
      inconclusive,
      familyWiseAlpha,
      summary: 'Inconclusive: no checks to judge',
    };
  }
  const total = stableSum(weights);
  const passW = stableSum(weights.filter((_, i) => checks[i]?.verdict === 'Pass'));
  const notFailW = stableSum(weights.filter((_, i) => checks[i]?.verdict !== 'Fail'));
  // Ratio first: w / w is exactly 1, so an all-pass card scores exactly 100.
  const score = 100 * (passW / total);
  const maxScore = 100 * (notFailW / total);
  const base = { score, maxScore, failBelow, failed, criticalFailed, inconclusive, familyWiseAlpha };
  const pct = (v: number): string => `${Math.round(v)}`;

  if (criticalFailed.length > 0) {
    return {
      ...base,
      verdict: 'Fail',
      reason: 'critical_failure',
      summary: `Fail: critical check${criticalFailed.length > 1 ? 's' : ''} ${criticalFailed.join(', ')} failed`,
    };
  }
  if (maxScore < failBelow) {
    return {
      ...base,
      verdict: 'Fail',
      reason: 'score_below_threshold',
      summary: `Fail: ${failed.join(', ')} failed; score at most ${pct(maxScore)} < ${failBelow}`,
    };
  }
  if (failed.length === 0 && inconclusive.length === 0) {
    return {
      ...base,
      verdict: 'Pass',
      reason: 'all_passed',
      summary: `Pass: all ${checks.length} checks passed`,
    };
  }
  if (failed.length > 0) {
    return {
      ...base,
      verdict: 'Inconclusive',
      reason: 'checks_failed',
      summary: `Inconclusive: ${failed.join(', ')} failed (score at most ${pct(maxScore)} ≥ ${failBelow})${
        inconclusive.length > 0 ? `; ${inconclusive.join(', ')} inconclusive` : ''
      }`,
    };
  }
  return {
    ...base,
    verdict: 'Inconclusive',
    reason: 'checks_inconclusive',
    summary: `Inconclusive: ${inconclusive.join(', ')} not decided yet`,
  };
}
