/**
 * Combines check results into the analysis verdict and score with the engine's scorecard
 * (src/stats/scorecard.ts: critical checks, weights, failBelow; alpha split across checks
 * happens before the checks run, see checkParams in judge.ts).
 */

import { scorecard, type ScorecardReason, type Verdict } from '../stats/index.js';
import type { CheckResult } from './types.js';

export interface Combined {
  readonly verdict: Verdict;
  readonly score: number;
  readonly reason: ScorecardReason;
  readonly maxScore: number;
  readonly failBelow: number;
  readonly familyWiseAlpha: number | null;
  /** The one-line summary of the analysis. */
  readonly summary: string;
}

export function combineChecks(
  checks: readonly CheckResult[],
  failBelow: number | undefined,
  headline?: string,
): Combined {
  const card = scorecard(
    checks.map((c) => ({
      name: c.name,
      verdict: c.verdict,
      weight: c.params.weight,
      critical: c.params.critical,
      alpha: c.params.alpha,
    })),
    failBelow === undefined ? {} : { failBelow },
  );
  // The checks that decided the verdict come first: that is what a person reads first.
  const rank = (c: CheckResult): number => (c.verdict === card.verdict ? 0 : c.verdict === 'Fail' ? 1 : 2);
  const details = [...checks]
    .sort((a, b) => rank(a) - rank(b))
    .map((c) => c.summary)
    .join('; ');
  // When the card's own rule decided (a non-critical Fail below or above failBelow), say so.
  const cardNote =
    card.reason === 'score_below_threshold' || card.reason === 'checks_failed'
      ? ` | ${card.summary.replace(/^\w+: /, '')}`
      : '';
  const summary = `${card.verdict}${headline ? ` (${headline})` : ''} ${details}${cardNote}`;
  return {
    verdict: card.verdict,
    score: Math.round(card.score * 10) / 10,
    reason: card.reason,
    maxScore: Math.round(card.maxScore * 10) / 10,
    failBelow: card.failBelow,
    familyWiseAlpha: card.familyWiseAlpha,
    summary,
  };
}
