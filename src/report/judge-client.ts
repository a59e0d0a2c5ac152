/**
 * Asks the judge for the evidence over the canary's whole life: the latest judge request of the
 * Rollout's AnalysisRuns, sent again with `timeline: true` up to now, or up to `end` once the
 * Rollout is done with the canary (src/report/snapshot.ts, `evidenceEnd`). Its window starts where
 * the analyses' own does (the shipped templates: the canary's first sample in Prometheus), so
 * it covers every weight the canary had and the report shows what the analyses judged. The
 * answer is the HTTP API's (docs/api.md).
 */
import type { AnalysisResult } from '../judge/types.js';

export class ReportError extends Error {
  override readonly name = 'ReportError';
}

export interface JudgeCall {
  readonly url: string;
  readonly body: Record<string, unknown>;
  readonly token?: string;
  readonly timeoutMs?: number;
  /** RFC 3339 end of the window; without it, now (a request's own `end` is never kept). */
  readonly end?: string;
}

/** The judge's answer with the timeline; throws ReportError with the judge's own message. */
export async function fetchEvidence(call: JudgeCall): Promise<AnalysisResult> {
  const body: Record<string, unknown> = { ...call.body, timeline: true };
  delete body['end'];
  if (call.end !== undefined) body['end'] = call.end;
  let res: Response;
  try {
    res = await fetch(call.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(call.token === undefined ? {} : { authorization: `Bearer ${call.token}` }),
      },
      body: JSON.stringify(body),
      redirect: 'error',
      signal: AbortSignal.timeout(call.timeoutMs ?? 30_000),
    });
  } catch (e) {
    throw new ReportError(
      `cannot reach the judge at ${call.url}: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ReportError(`the judge at ${call.url} answered ${res.status} with a body that is not JSON`);
  }
  if (!res.ok) {
    const err = (json as { error?: { code?: string; message?: string } }).error;
    throw new ReportError(
      `the judge answered ${res.status}${err?.code === undefined ? '' : ` ${err.code}`}: ${err?.message ?? text.slice(0, 200)}`,
    );
  }
  return json as AnalysisResult;
}
