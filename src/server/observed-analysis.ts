/**
 * One analysis as every transport runs it: the judge's own metrics, one log line with the
 * rollout and the verdict summary, and any failure turned into a JudgeError (an unexpected one
 * becomes `internal`, logged with its stack, never sent). Transports only parse, authorize and
 * map the result or the error code to their own wire format.
 *
 * It also holds the two promises every transport makes: admission control (a bounded number of
 * analyses in flight, see admission.ts) and the deadline end to end — the time spent waiting
 * for a slot counts against the analysis deadline, and an answer is given at the deadline even
 * if the judge has not noticed its abort yet (its slot stays taken until it has).
 */

import { JudgeError, isJudgeError } from '../errors.js';
import type { AnalysisResult, Judge } from '../judge/index.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { AnalysisRequest } from '../judge/request.js';
import type { Admission } from './admission.js';

/** How long after the deadline an analysis that ignores its abort is answered anyway (ms). */
const DEADLINE_GRACE_MS = 250;

export interface ObservedAnalysisOptions {
  readonly judge: Judge;
  readonly logger: Logger;
  readonly metrics?: Metrics | undefined;
  /** Bound on analyses in flight; none when undefined. */
  readonly admission?: Admission | undefined;
  /** Whole-analysis deadline (ms) counted from arrival, queueing included; none when undefined. */
  readonly deadlineMs?: number | undefined;
}

/** Runs `request`; resolves with the verdict or rejects with a JudgeError. */
export async function runObservedAnalysis(
  o: ObservedAnalysisOptions,
  request: AnalysisRequest,
  signal: AbortSignal,
  /** Who asked, for the log line: e.g. `{ requestId }` or `{ transport: 'grpc', peer }`. */
  context: Readonly<Record<string, string>>,
): Promise<AnalysisResult> {
  const rollout = { rollout: request.rollout.name, namespace: request.rollout.namespace };
  const started = performance.now();
  let release: (() => void) | undefined;
  let inFlight = false;
  const deadline = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  try {
    release = await o.admission?.acquire(signal);
    o.metrics?.inFlight.inc();
    inFlight = true;
    let analysis = o.judge.analyze(request, {
      signal: o.deadlineMs === undefined ? signal : AbortSignal.any([signal, deadline.signal]),
    });
    // The slot is freed when the judge has really stopped, not when the caller was answered.
    const settled = analysis.then(
      () => undefined,
      () => undefined,
    );
    const slot = release;
    release = undefined;
    void settled.finally(() => slot?.());
    if (o.deadlineMs !== undefined) {
      const deadlineMs = o.deadlineMs;
      const waited = performance.now() - started;
      const expired = (): JudgeError =>
        new JudgeError(
          'deadline_exceeded',
          `the analysis took longer than its ${deadlineMs} ms deadline${waited >= 1 ? ` (${Math.round(waited)} ms of it waiting for a slot)` : ''}`,
        );
      const remaining = Math.max(0, deadlineMs - waited);
      analysis = Promise.race([
        analysis,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            deadline.abort(expired());
            timer = setTimeout(() => reject(expired()), DEADLINE_GRACE_MS);
          }, remaining);
        }),
      ]);
    }
    const result = await analysis;
    o.metrics?.analysisDuration.observe({ verdict: result.verdict }, (performance.now() - started) / 1000);
    for (const c of result.checks) o.metrics?.checkVerdicts.inc({ check_type: c.type, verdict: c.verdict });
    o.logger.info('analysis', {
      ...context,
      ...rollout,
      verdict: result.verdict,
      score: result.score,
      summary: result.summary,
      totalMs: result.timing.totalMs,
      prometheusMs: result.timing.prometheusMs,
    });
    return result;
  } catch (e) {
    const err = isJudgeError(e) ? e : new JudgeError('internal', 'internal error', { cause: e });
    o.metrics?.analysisDuration.observe({ verdict: 'error' }, (performance.now() - started) / 1000);
    // A refusal under overload is load shedding, counted in the request metrics: a warning per
    // refusal would add a log line to every request the judge has no time for.
    const log =
      err.code === 'internal'
        ? o.logger.error.bind(o.logger)
        : err.code === 'overloaded'
          ? o.logger.debug.bind(o.logger)
          : o.logger.warn.bind(o.logger);
    log('analysis failed', {
      ...context,
      ...rollout,
      code: err.code,
      message: err.message,
      ...(err.code === 'internal' && err.cause instanceof Error ? { cause: err.cause.stack } : {}),
    });
    throw err;
  } finally {
    clearTimeout(timer);
    release?.();
    if (inFlight) o.metrics?.inFlight.dec();
  }
}
