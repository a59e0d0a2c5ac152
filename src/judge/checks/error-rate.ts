/**
 * The error-rate check: bad requests are responses with the listed status codes (and, when
 * asked, Envoy response flags). Four window queries — requests and errors per side — give
 * per-interval counts for the count test (src/stats/count-test.ts).
 */
import { renderQuery } from '../../prometheus/promql.js';
import type { Series } from '../../prometheus/client.js';
import {
  decideCounts,
  type CountTestOptions,
  type CountTestResult,
  type IntervalCounts,
} from '../../stats/index.js';
import type { ErrorRateCheckRequest } from '../request.js';
import type { CheckParams } from '../types.js';
import type { CheckContext, CheckKind, QueryAnswers } from './kind.js';
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
    const errors = (selector: string): string =>
      c.responseFlags === undefined
        ? renderQuery('errors', { selector, interval, errorCodes }, m)
        : renderQuery(
            'errorsWithFlags',
            { selector, interval, errorCodes, responseFlags: c.responseFlags },
            m,
          );
    return {
      canaryRequests: {
        promql: renderQuery('requests', { selector: ctx.canarySelector, interval }, m),
        range: 'window',
      },
      canaryErrors: { promql: errors(ctx.canarySelector), range: 'window' },
      stableRequests: {
        promql: renderQuery('requests', { selector: ctx.stableSelector, interval }, m),
        range: 'window',
      },
      stableErrors: { promql: errors(ctx.stableSelector), range: 'window' },
    };
  },
  evaluate(c, answers, params, ctx: CheckContext) {
    const { times, ...result } = evaluateErrorRate(answers, params, { timeline: ctx.timeline });
    const timeline = timelineEntries(times, result.timeline);
    return {
      result,
      summary: checkSummary(c.name ?? c.type, result.reason, result, {
        intervalSeconds: ctx.intervalSeconds,
      }),
      details: {
        errorCodes: c.errorCodes ?? DEFAULT_ERROR_CODES,
        ...(c.responseFlags === undefined ? {} : { responseFlags: c.responseFlags }),
        ...(timeline === undefined ? {} : { timeline }),
      },
    };
  },
};
