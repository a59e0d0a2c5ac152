/**
 * One scorecard call, decided by the project's own code on the series the judge would have read
 * from Prometheus: the error-rate check, the latency check and the scorecard that combines them
 * (both critical). The only place the benchmark touches the decision code, so that a change of
 * the judge's entry points is one edit here.
 */
import type { Series } from '../../src/prometheus/client.js';
import { errorRateIntervals, latencyOutcome } from '../../src/judge/checks.js';
import { decideCounts } from '../../src/stats/count-test.js';
import { scorecard } from '../../src/stats/scorecard.js';
import type { Verdict } from '../../src/stats/types.js';
import type { CardParams } from './shipped-plan.js';

/** What Prometheus answers for one analysis window, as the judge's checks take it. */
export interface CardData {
  readonly canaryRequests: Series[];
  readonly canaryErrors: Series[];
  readonly stableRequests: Series[];
  readonly stableErrors: Series[];
  /** `sum by (le)` of the duration buckets per interval, one series per `le`. */
  readonly canaryBuckets: Series[];
  readonly stableBuckets: Series[];
  /** The stable's buckets over the hour before the window: one series per `le`, one sample. */
  readonly stableBaseline: Series[];
}

export interface CardLook {
  readonly verdict: Verdict;
  readonly errorRate: Verdict;
  readonly latency: Verdict;
  /** The bucket edge(s) the latency check counted against, ms (empty when none was chosen). */
  readonly latencyThresholdsMs: readonly number[];
}

export function judgeCard(data: CardData, params: CardParams): CardLook {
  const err = decideCounts(
    errorRateIntervals(data.canaryRequests, data.canaryErrors, data.stableRequests, data.stableErrors),
    params.errorRate,
  );
  const lat = latencyOutcome(
    data.canaryBuckets,
    data.stableBuckets,
    { quantile: params.latencyQuantile },
    params.latency,
    'milliseconds',
    data.stableBaseline,
  );
  const card = scorecard([
    { name: 'error-rate', verdict: err.verdict, weight: params.errorRate.weight, critical: params.errorRate.critical, alpha: params.errorRate.alpha },
    { name: 'latency', verdict: lat.result.verdict, weight: params.latency.weight, critical: params.latency.critical, alpha: params.latency.alpha },
  ]);
  return {
    verdict: card.verdict,
    errorRate: err.verdict,
    latency: lat.result.verdict,
    latencyThresholdsMs: lat.threshold.ms === null ? [] : [lat.threshold.ms],
  };
}
