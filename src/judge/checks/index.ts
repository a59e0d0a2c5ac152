/**
 * The registry of check kinds: one module each, looked up by the request's `type`. Adding a
 * kind = its module here + its request schema + its proto message; judge.ts and the metrics
 * source do not change (unless the kind needs a series of the mesh the source has no name for).
 */
import type { CheckRequest } from '../request.js';
import type { AnyCheckParams, CheckType } from '../types.js';
import { errorRate } from './error-rate.js';
import type { CheckKind } from './kind.js';
import { latency } from './latency.js';
import { ratio } from './ratio.js';
import { gauge } from './gauge.js';

type KindOf<T extends CheckType> = CheckKind<Extract<CheckRequest, { type: T }>, string, AnyCheckParams>;

export const CHECK_KINDS: { readonly [T in CheckType]: KindOf<T> } = {
  'error-rate': errorRate,
  latency: latency,
  ratio: ratio,
  gauge: gauge,
};

/** The kind module of a check, typed for that check (TypeScript cannot correlate the union). */
export function kindOf(c: CheckRequest): CheckKind<CheckRequest, string, AnyCheckParams> {
  return CHECK_KINDS[c.type];
}

export type {
  CheckContext,
  CheckKind,
  CheckOutcome,
  CountDetails,
  CountRecord,
  EvaluationContext,
  EvidenceRecord,
  GaugeRecord,
  PlannedQuery,
  QueryAnswers,
  QueryPlan,
  QueryRange,
} from './kind.js';
export { errorRateIntervals, evaluateErrorRate } from './error-rate.js';
export { evaluateLatency, type LatencyOutcome, type LatencySpec } from './latency.js';
export { checkSummary, latencyWhat } from './summary.js';
export { countParams, type CountCheckRequest } from './count-params.js';
export { countOutcome, countResultOf } from './kind.js';
export { histogramsByTime, pointsByTime } from './series.js';
