/**
 * The query runner of one analysis: every query of the metrics source goes through it, so it
 * alone owns the bounded pool, the cache (two checks asking the same query share one), the deadline,
 * the wall-clock spans of the timing report, the rule that the first outage or timeout stops
 * the other queries (the analysis answers 5xx anyway), and the rule that an answer holds no
 * more series than its query promises (./series-shape.ts) and every answer can be counts at
 * all (./range-answer.ts).
 */
import { JudgeError, isJudgeError } from '../errors.js';
import type { ExpressionCheck, Grid, MetricsSource, Series, SourceQuery } from './metrics-source.js';
import { createLimiter, unionLength } from './pool.js';
import { validateRangeAnswer } from './range-answer.js';
import { checkSeriesShape, type ShapedQuery } from './series-shape.js';

export interface QueryRunner {
  /** The answer to `query` over `range`; refused (prometheus_bad_response) beyond its shape. */
  run(query: ShapedQuery & Pick<SourceQuery, 'pick'>, range: Grid): Promise<Series[]>;
  /** A caller's expression checked by the source's own parser (a dry query that reads no data). */
  checkExpression(check: ExpressionCheck): Promise<void>;
  /** Aborted at the deadline, on an outage, or when the caller's signal aborts. */
  readonly signal: AbortSignal;
  /** Queries actually sent, and the time during which at least one was in flight (ms). */
  stats(): { queries: number; prometheusMs: number };
  /** Stops the deadline timer. */
  close(): void;
}

export function createQueryRunner(
  source: MetricsSource,
  opts: { deadlineMs: number; concurrency: number; signal?: AbortSignal },
): QueryRunner {
  const spans: [number, number][] = [];
  let queries = 0;
  const deadline = new AbortController();
  const timer = setTimeout(
    () =>
      deadline.abort(
        new JudgeError(
          'deadline_exceeded',
          `the analysis took longer than its ${opts.deadlineMs} ms deadline`,
        ),
      ),
    opts.deadlineMs,
  );
  const giveUp = new AbortController();
  const signal = AbortSignal.any([
    deadline.signal,
    giveUp.signal,
    ...(opts.signal === undefined ? [] : [opts.signal]),
  ]);
  const limit = createLimiter(opts.concurrency);
  const cache = new Map<string, Promise<Series[]>>();
  return {
    signal,
    async run(query, range) {
      const key = `${query.text}\u0000${range.start}\u0000${range.end}\u0000${range.step}`;
      let p = cache.get(key);
      if (p === undefined) {
        p = limit(async () => {
          if (signal.aborted) throw deadlineError(signal);
          queries++;
          try {
            const series = await source.fetch(query, range, {
              signal,
              onSpan: (s, e) => spans.push([s, e]),
            });
            validateRangeAnswer(series, range);
            return series;
          } catch (e) {
            if (isJudgeError(e) && (e.code === 'prometheus_unavailable' || e.code === 'prometheus_timeout'))
              giveUp.abort(e);
            throw e;
          }
        });
        cache.set(key, p);
      }
      const series = await p;
      checkSeriesShape(series, query);
      return query.pick === undefined ? series : query.pick(series);
    },
    checkExpression(check) {
      return limit(async () => {
        if (signal.aborted) throw deadlineError(signal);
        queries++;
        try {
          return await source.checkExpression(check, { signal, onSpan: (s, e) => spans.push([s, e]) });
        } catch (e) {
          if (isJudgeError(e) && (e.code === 'prometheus_unavailable' || e.code === 'prometheus_timeout'))
            giveUp.abort(e);
          throw e;
        }
      });
    },
    stats: () => ({ queries, prometheusMs: unionLength(spans) }),
    close: () => clearTimeout(timer),
  };
}

/** The error an aborted analysis answers with: the deadline's own, or a generic one. */
export function deadlineError(signal: AbortSignal): JudgeError {
  const r: unknown = signal.reason;
  return isJudgeError(r) ? r : new JudgeError('deadline_exceeded', 'the analysis was aborted');
}

/** Any failure as a JudgeError; a query aborted by our deadline reports the deadline. */
export function asJudgeError(e: unknown, signal: AbortSignal): JudgeError {
  if (isJudgeError(e)) {
    if (e.code === 'deadline_exceeded' && signal.aborted) return deadlineError(signal);
    return e;
  }
  if (signal.aborted) return deadlineError(signal);
  return new JudgeError('internal', `internal error: ${e instanceof Error ? e.message : String(e)}`, {
    cause: e,
  });
}
