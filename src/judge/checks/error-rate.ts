/**
 * The error-rate check: bad requests are responses with the listed status codes (and, when
 * asked, Envoy response flags). One window query per side — the raw request counters per pod
 * and response code (and flags) at the grid points — gives per-interval requests and errors
 * (the differences taken in ../counts/counter-increases.ts, the codes classified here) for the
 * count test (src/stats/count-test.ts).
 */
import type { MeshNames, Series, SideSelector } from '../metrics-source.js';
import {
  decideCounts,
  type CountTestOptions,
  type CountTestResult,
  type IntervalCounts,
} from '../../stats/index.js';
import type { ErrorRateCheckRequest } from '../request.js';
import type { CheckParams } from '../types.js';
import type { CounterGrid } from '../counts/counter-increases.js';
import { countParams } from './count-params.js';
import {
  countOutcome,
  type CheckKind,
  type EvaluationContext,
  type PlannedQuery,
  type QueryAnswers,
} from './kind.js';
import { increasesByClass, intervalSeries, pointsByTime, presentAny, timelineEntries } from './series.js';
import { checkSummary } from './summary.js';

/** Status codes counted as errors when the check names none. */
export const DEFAULT_ERROR_CODES = '5xx';

/** Per-interval series of requests and errors per side, as the engine's input is built. */
type Query = 'canaryRequests' | 'canaryErrors' | 'stableRequests' | 'stableErrors';
/** The raw counters per side (pod × response code [× flags]) the check queries. */
type Planned = 'canaryRequests' | 'stableRequests';

/** Which responses count as errors: codes (`5xx,429`) and, optionally, Envoy response flags. */
export interface ErrorClass {
  readonly errorCodes: string;
  readonly responseFlags?: string;
}

/** `"5xx,429"` → `5..|429`: the response-code pattern (codes validated at the edge). */
export function codePattern(errorCodes: string): string {
  return errorCodes
    .split(',')
    .map((c) => c.trim().replace(/x/g, '.'))
    .join('|');
}

/**
 * A test of one series' labels: is it errors? The code pattern is anchored as a PromQL regex
 * matcher is; a flag counts when the series' flags label equals one of the listed flags.
 */
export function errorClassifier(
  c: ErrorClass,
  labels: Pick<MeshNames['labels'], 'responseCode' | 'responseFlags'>,
): (l: Readonly<Record<string, string>>) => boolean {
  const codes = new RegExp(`^(?:${codePattern(c.errorCodes)})$`);
  const flags = new Set(c.responseFlags === undefined ? [] : c.responseFlags.split(','));
  return (l) => codes.test(l[labels.responseCode] ?? '') || flags.has(l[labels.responseFlags] ?? '');
}

/**
 * One side's raw request counters (per pod and code, at the grid points) → its per-interval
 * requests and errors, each one series with a point per interval in which the side had counters.
 */
export function sideCounts(
  counters: readonly Series[],
  grid: CounterGrid,
  isError: (l: Readonly<Record<string, string>>) => boolean,
  podLabel = 'pod',
): { requests: Series; errors: Series } {
  const byClass = increasesByClass(counters, grid, podLabel, (l) => (isError(l) ? 'error' : 'ok'));
  const ok = byClass.get('ok');
  const err = byClass.get('error');
  const any = ok ?? err;
  if (any === undefined)
    return { requests: { labels: {}, samples: [] }, errors: { labels: {}, samples: [] } };
  const present = presentAny(byClass.values(), any.times.length);
  const errors = err?.increases ?? any.times.map(() => 0);
  const requests = any.times.map((_, i) => (ok?.increases[i] ?? 0) + (errors[i] as number));
  return {
    requests: intervalSeries({ times: any.times, increases: requests }, present),
    errors: intervalSeries({ times: any.times, increases: errors }, present),
  };
}

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

/**
 * The engine's decision on the four per-interval series (also what the benchmark calls at
 * every look).
 */
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

/** The four per-interval series from the two sides' raw counters on the window's grid. */
export function errorRateData(
  answers: QueryAnswers<Planned>,
  grid: CounterGrid | null,
  isError: (l: Readonly<Record<string, string>>) => boolean,
  podLabel = 'pod',
): QueryAnswers<Query> {
  if (grid === null) return {};
  const canary = sideCounts(answers.canaryRequests ?? [], grid, isError, podLabel);
  const stable = sideCounts(answers.stableRequests ?? [], grid, isError, podLabel);
  return {
    canaryRequests: [canary.requests],
    canaryErrors: [canary.errors],
    stableRequests: [stable.requests],
    stableErrors: [stable.errors],
  };
}

export const errorRate: CheckKind<ErrorRateCheckRequest, Planned, CheckParams> = {
  params: countParams,
  plan(c, ctx) {
    const series = c.responseFlags === undefined ? 'requestsByCode' : 'requestsByCodeAndFlags';
    const counters = (side: SideSelector, alongside: SideSelector): PlannedQuery => ({
      request: { series, side, alongside },
      range: 'window',
    });
    const { canary, stable } = ctx.sides;
    return { canaryRequests: counters(canary, stable), stableRequests: counters(stable, canary) };
  },
  evaluate(c, answers, params, ctx: EvaluationContext) {
    const isError = errorClassifier(
      {
        errorCodes: c.errorCodes ?? DEFAULT_ERROR_CODES,
        ...(c.responseFlags === undefined ? {} : { responseFlags: c.responseFlags }),
      },
      ctx.mesh.labels,
    );
    const data = errorRateData(answers, ctx.grids.window, isError, ctx.mesh.labels.pod);
    const { times, ...result } = evaluateErrorRate(data, params, { timeline: ctx.timeline });
    const timeline = timelineEntries(times, result.timeline);
    return countOutcome(
      result,
      checkSummary(c.name ?? c.type, result.reason, result, {
        intervalSeconds: ctx.intervalSeconds,
        bad: 'errors',
      }),
      {
        errorCodes: c.errorCodes ?? DEFAULT_ERROR_CODES,
        ...(c.responseFlags === undefined ? {} : { responseFlags: c.responseFlags }),
        ...(timeline === undefined ? {} : { timeline }),
      },
    );
  },
};
