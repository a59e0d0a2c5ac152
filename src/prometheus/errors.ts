/**
 * Error classification of the Prometheus adapter: every failure of a query (transport, HTTP
 * status, an answer the judge cannot use) becomes a JudgeError with one of the Prometheus codes,
 * and text that came from upstream is quoted only from a Prometheus API error, truncated and
 * with the configured credentials masked.
 */

import { JudgeError } from '../errors.js';

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
]);

function causeCode(e: unknown): string | undefined {
  let cur: unknown = e;
  for (let i = 0; i < 4 && cur !== null && typeof cur === 'object'; i++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}

export function badResponse(message: string): JudgeError {
  return new JudgeError('prometheus_bad_response', message);
}

export function deadlinePassed(): JudgeError {
  return new JudgeError('deadline_exceeded', 'the analysis deadline passed while querying Prometheus');
}

/**
 * Values never to repeat in an error message, whatever an upstream body echoes back: every
 * configured header value, and each word of it (a bearer token without its scheme).
 */
export function secretsOf(headers: Readonly<Record<string, string>> | undefined): string[] {
  return Object.values(headers ?? {})
    .flatMap((v) => [v, ...v.split(/\s+/)])
    .filter((v) => v.length >= 8);
}

/** Upstream text fit for an error message: one line, credentials masked, at most 200 characters. */
export function quoteUpstream(text: string, secrets: readonly string[]): string {
  let t = text.replace(/\s+/g, ' ').trim();
  for (const s of secrets) t = t.split(s).join('***');
  return t.length > 200 ? `${t.slice(0, 197)}...` : t;
}

/** A transport failure (refused, reset, DNS, TLS): Prometheus cannot be reached now. */
export function connectionError(e: unknown): JudgeError {
  const code = causeCode(e);
  if (code !== undefined && CONNECTION_CODES.has(code)) {
    return new JudgeError('prometheus_unavailable', `Prometheus is unreachable (${code})`, { cause: e });
  }
  return new JudgeError(
    'prometheus_unavailable',
    `Prometheus request failed: ${e instanceof Error ? e.message : String(e)}${code ? ` (${code})` : ''}`,
    { cause: e },
  );
}

/**
 * An HTTP error from upstream. Only a Prometheus API error (JSON with `errorType`/`error`) is
 * quoted, truncated and with the configured credentials masked: other bodies come from proxies
 * and load balancers and may echo anything, the request's own headers included.
 */
export function statusError(status: number, json: unknown, secrets: readonly string[]): JudgeError {
  const j = json as { status?: unknown; errorType?: unknown; error?: unknown } | null | undefined;
  const apiError =
    j !== null && typeof j === 'object' && j.status === 'error' && typeof j.error === 'string'
      ? j.error
      : undefined;
  const errorType =
    j !== null && typeof j === 'object' && typeof j.errorType === 'string'
      ? j.errorType.slice(0, 40)
      : undefined;
  const detail = apiError === undefined ? '' : `: ${quoteUpstream(apiError, secrets)}`;
  const message = `Prometheus answered HTTP ${status}${errorType ? ` (${errorType})` : ''}${detail}`;
  if (status === 504 || errorType === 'timeout') return new JudgeError('prometheus_timeout', message);
  if (status === 503) return new JudgeError('prometheus_unavailable', message);
  return new JudgeError('prometheus_bad_response', message);
}

/**
 * A successful answer that carries `warnings`: a query layer (Thanos Query, a federating
 * proxy) answers 200 with warnings when a store behind it failed and the answer holds only the
 * rest of the data. Counts from part of the data can turn a Fail into a Pass, so the answer is
 * refused (prometheus_bad_response: the check is Inconclusive, Argo retries), quoting the first
 * warning. Undefined when there are none.
 */
export function warningsError(
  warnings: readonly string[],
  secrets: readonly string[],
): JudgeError | undefined {
  if (warnings.length === 0) return undefined;
  const more = warnings.length > 1 ? ` (and ${warnings.length - 1} more)` : '';
  return badResponse(
    `Prometheus answered with warnings, refused as possibly partial data (a store behind the query layer may be down): ${quoteUpstream(warnings[0] as string, secrets)}${more}`,
  );
}

/** What readiness reports: the code and the HTTP status only, never text from the upstream. */
export function pingMessage(err: JudgeError): string {
  const status = /HTTP (\d{3})/.exec(err.message)?.[1];
  switch (err.code) {
    case 'prometheus_timeout':
    case 'deadline_exceeded':
      return 'Prometheus did not answer vector(1) in time';
    case 'prometheus_unavailable':
      return status === undefined ? 'Prometheus is unreachable' : `Prometheus answered HTTP ${status}`;
    default:
      return status === undefined
        ? 'Prometheus answered vector(1) unexpectedly'
        : `Prometheus answered HTTP ${status}`;
  }
}
