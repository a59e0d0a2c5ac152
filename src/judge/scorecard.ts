/**
 * Combines check results into the analysis verdict and score.
 */

import type { Verdict } from '../stats/index.js';
import type { CheckResult } from './types.js';

export interface Combined {
  readonly verdict: Verdict;
  readonly score: number;
  /** Check summaries, the ones that decided the verdict first. */
  readonly explain: readonly string[];
}

export function combineChecks(checks: readonly CheckResult[]): Combined {
  const total = checks.reduce((s, c) => s + c.params.weight, 0);
  const passed = checks.filter((c) => c.verdict === 'Pass').reduce((s, c) => s + c.params.weight, 0);
  const score = total > 0 ? Math.round((100 * passed) / total) : 0;
  const criticalFail = checks.some((c) => c.verdict === 'Fail' && c.params.critical);
  const verdict: Verdict = criticalFail ? 'Fail' : checks.every((c) => c.verdict === 'Pass') ? 'Pass' : checks.some((c) => c.verdict === 'Fail') ? 'Fail' : 'Inconclusive';
  const order = (c: CheckResult): number => (c.verdict === verdict ? 0 : 1);
  const explain = [...checks].sort((a, b) => order(a) - order(b)).map((c) => c.summary);
  return { verdict, score: verdict === 'Fail' && criticalFail ? 0 : score, explain };
}
