/**
 * One scorecard call, decided by the project's own code on the series the judge would have read
 * from Prometheus: the error-rate check, the latency check and the scorecard that combines them
 * (both critical). The only place the benchmark touches the decision code, so that a change of
 * the judge's entry points is one edit here.
 */
import type { Series } from '../../src/judge/metrics-source.js';
import { evaluateErrorRate } from '../../src/judge/checks/error-rate.js';
import { evaluateLatency } from '../../src/judge/checks/latency.js';
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
  const err = evaluateErrorRate(
    {
      canaryRequests: data.canaryRequests,
      canaryErrors: data.canaryErrors,
      stableRequests: data.stableRequests,
      stableErrors: data.stableErrors,
    },
    params.errorRate,
  );
  const lat = evaluateLatency(
    {
      canaryBuckets: data.canaryBuckets,
      stableBuckets: data.stableBuckets,
      stableBaseline: data.stableBaseline,
    },
    { quantile: params.latencyQuantile },
    params.latency,
    'milliseconds',
  );
  const card = scorecard([
    {
      name: 'error-rate',
      verdict: err.verdict,
      weight: params.errorRate.weight,
      critical: params.errorRate.critical,
      alpha: params.errorRate.alpha,
    },
    {
      name: 'latency',
      verdict: lat.result.verdict,
      weight: params.latency.weight,
      critical: params.latency.critical,
      alpha: params.latency.alpha,
    },
  ]);
  // The check counts against the edge at or above the stable's quantile and, where Istio's
  // coarse buckets leave that edge too few requests, a lower one as well.
  const t = lat.threshold;
  const edges = [t.lowMs, t.ms].filter(
    (v, i, all): v is number => typeof v === 'number' && all.indexOf(v) === i,
  );
  return {
    verdict: card.verdict,
    errorRate: err.verdict,
    latency: lat.result.verdict,
    latencyThresholdsMs: edges,
  };
}
