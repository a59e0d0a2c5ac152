/**
 * The error-rate check: bad requests are responses with the listed status codes (and, when
 * asked, Envoy response flags). Four window queries — requests and errors per side — give
 * per-interval counts for the count test (src/stats/count-test.ts).
 */
import { namedQuery } from '../../prometheus/promql.js';
import type { Series } from '../../prometheus/client.js';
import {
  decideCounts,
  type CountTestOptions,
  type CountTestResult,
  type IntervalCounts,
} from '../../stats/index.js';
import type { ErrorRateCheckRequest } from '../request.js';
import type { CheckParams } from '../types.js';
import type { CheckContext, CheckKind, PlannedQuery, QueryAnswers } from './kind.js';
import { pointsByTime, timelineEntries } from './series.js';
import { checkSummary } from './summary.js';

/** Status codes counted as errors when the check names none. */
export const DEFAULT_ERROR_CODES = '5xx';

type Query = 'canaryRequests' | 'canaryErrors' | 'stableRequests' | 'stableErrors';

/**
 * Per-interval counts from the four series. An interval exists where either side has a request
 * count; a side without a point there had no traffic in it. A missing error series means no
 * errors (Istio creates a response-code series only once that code is seen); NaN values pass
 * through for the engine to refuse.
 */
export function errorRateIntervals(
  canaryRequests: readonly Series[],
  canaryErrors: readonly Series[],
  stableRequests: readonly Series[],
  stableErrors: readonly Series[],
): IntervalCounts[] {
  return errorRateSeries(canaryRequests, canaryErrors, stableRequests, stableErrors).intervals;
}

/** {@link errorRateIntervals} with each interval's timestamp (Unix seconds, its end). */
export function errorRateSeries(
  canaryRequests: readonly Series[],
  canaryErrors: readonly Series[],
  stableRequests: readonly Series[],
  stableErrors: readonly Series[],
): { times: number[]; intervals: IntervalCounts[] } {
  const cr = pointsByTime(canaryRequests);
  const ce = pointsByTime(canaryErrors);
  const sr = pointsByTime(stableRequests);
  const se = pointsByTime(stableErrors);
  const times = [...new Set([...cr.keys(), ...sr.keys()])].sort((a, b) => a - b);
  const intervals = times.map((t) => ({
    canaryTotal: cr.get(t) ?? 0,
    canaryBad: cr.has(t) ? (ce.get(t) ?? 0) : 0,
    stableTotal: sr.get(t) ?? 0,
    stableBad: sr.has(t) ? (se.get(t) ?? 0) : 0,
  }));
  return { times, intervals };
}

/** The engine's decision on the four answers (also what the benchmark calls at every look). */
export function evaluateErrorRate(
  data: QueryAnswers<Query>,
  params: CheckParams,
  options: CountTestOptions = {},
): CountTestResult & { readonly times: readonly number[] } {
  const { times, intervals } = errorRateSeries(
    data.canaryRequests ?? [],
    data.canaryErrors ?? [],
    data.stableRequests ?? [],
    data.stableErrors ?? [],
  );
  return { ...decideCounts(intervals, params, options), times };
}

export const errorRate: CheckKind<ErrorRateCheckRequest, Query> = {
  plan(c, ctx) {
    const m = ctx.mesh;
    const interval = ctx.interval;
    const errorCodes = c.errorCodes ?? DEFAULT_ERROR_CODES;
    const errors = (selector: string): PlannedQuery => ({
      ...(c.responseFlags === undefined
        ? namedQuery('errors', { selector, interval, errorCodes }, m)
        : namedQuery(
            'errorsWithFlags',
            { selector, interval, errorCodes, responseFlags: c.responseFlags },
            m,
          )),
      range: 'window',
    });
    const requests = (selector: string): PlannedQuery => ({
      ...namedQuery('requests', { selector, interval }, m),
      range: 'window',
    });
    return {
      canaryRequests: requests(ctx.canarySelector),
      canaryErrors: errors(ctx.canarySelector),
      stableRequests: requests(ctx.stableSelector),
      stableErrors: errors(ctx.stableSelector),
    };
  },
  evaluate(c, answers, params, ctx: CheckContext) {
    const { times, ...result } = evaluateErrorRate(answers, params, { timeline: ctx.timeline });
    const timeline = timelineEntries(times, result.timeline);
    return {
      result,
      summary: checkSummary(c.name ?? c.type, result.reason, result, {
        intervalSeconds: ctx.intervalSeconds,
        bad: 'errors',
      }),
      details: {
        errorCodes: c.errorCodes ?? DEFAULT_ERROR_CODES,
        ...(c.responseFlags === undefined ? {} : { responseFlags: c.responseFlags }),
        ...(timeline === undefined ? {} : { timeline }),
      },
    };
  },
};
