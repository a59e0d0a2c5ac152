/**
 * The parameters of a count check (error-rate, latency, ratio): the request's values or the
 * count test's defaults, α split across the analysis' checks (Bonferroni, alphaForCheck) so
 * that the whole card fails a good release with probability ≤ α however many checks it has and
 * however often it looks.
 */
import {
  DEFAULT_CHECK_WEIGHT,
  DEFAULT_COUNT_TEST_PARAMS,
  DEFAULT_CRITICAL,
  alphaForCheck,
  defaultCriticalEffect,
} from '../../stats/index.js';
import type { ErrorRateCheckRequest, LatencyCheckRequest, RatioCheckRequest } from '../request.js';
import type { CheckParams } from '../types.js';

export type CountCheckRequest = ErrorRateCheckRequest | LatencyCheckRequest | RatioCheckRequest;

export function countParams(c: CountCheckRequest, nChecks: number): CheckParams {
  const d = DEFAULT_COUNT_TEST_PARAMS;
  const margin = c.margin ?? d.margin;
  return {
    alpha: alphaForCheck(c.alpha ?? d.alpha, nChecks),
    margin,
    criticalEffect: c.criticalEffect ?? defaultCriticalEffect(margin),
    power: c.power ?? d.power,
    criticalIncrease: c.criticalIncrease ?? d.criticalIncrease ?? 0,
    weight: c.weight ?? DEFAULT_CHECK_WEIGHT,
    critical: c.critical ?? DEFAULT_CRITICAL,
  };
}
