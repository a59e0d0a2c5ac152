/**
 * One analysis as every transport runs it: the judge's own metrics, one log line with the
 * rollout and the verdict summary, and any failure turned into a JudgeError (an unexpected one
 * becomes `internal`, logged with its stack, never sent). Transports only parse, authorize and
 * map the result or the error code to their own wire format.
 */

import { JudgeError, isJudgeError } from '../errors.js';
import type { AnalysisResult, Judge } from '../judge/index.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { AnalysisRequest } from './http/schema.js';

export interface ObservedAnalysisOptions {
  readonly judge: Judge;
  readonly logger: Logger;
  readonly metrics?: Metrics | undefined;
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
  o.metrics?.inFlight.inc();
  try {
    const result = await o.judge.analyze(request, { signal });
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
    const log = err.code === 'internal' ? o.logger.error.bind(o.logger) : o.logger.warn.bind(o.logger);
    log('analysis failed', {
      ...context,
      ...rollout,
      code: err.code,
      message: err.message,
      ...(err.code === 'internal' && err.cause instanceof Error ? { cause: err.cause.stack } : {}),
    });
    throw err;
  } finally {
    o.metrics?.inFlight.dec();
  }
}
