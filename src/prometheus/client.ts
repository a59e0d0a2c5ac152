/**
 * The judge's only network I/O: PromQL range queries against Prometheus (or any store with the
 * Prometheus HTTP API: Thanos, Mimir, VictoriaMetrics). Every failure becomes a JudgeError with a
 * Prometheus code, so the HTTP layer can answer 502/503/504 and Argo retries.
 */

import { JudgeError, type ErrorCode } from '../errors.js';

export interface Sample {
  /** Unix time in seconds. */
  readonly t: number;
  /** Parsed value; NaN and ±Inf are kept as such for the judge to refuse. */
  readonly v: number;
}

export interface Series {
  readonly labels: Readonly<Record<string, string>>;
  readonly samples: readonly Sample[];
}

export interface RangeSpec {
  /** Unix seconds. */
  readonly start: number;
  readonly end: number;
  /** Seconds. */
  readonly step: number;
}

export interface QueryOptions {
  /** Aborts the query when the analysis deadline passes (→ deadline_exceeded). */
  readonly signal?: AbortSignal;
  /** Called once per query with its wall-clock span (ms, performance.now()), success or not. */
  readonly onSpan?: (startMs: number, endMs: number) => void;
}

export type Reachability =
  | { readonly reachable: true; readonly latencyMs: number }
  | { readonly reachable: false; readonly error: { code: ErrorCode; message: string } };

/** What the judge needs from a metrics store. */
export interface PrometheusClient {
  queryRange(query: string, range: RangeSpec, options?: QueryOptions): Promise<Series[]>;
  /** Evaluates `vector(1)`: cheap, and works on every PromQL-compatible store. */
  ping(signal?: AbortSignal): Promise<Reachability>;
}

export type QueryKind = 'range' | 'ping';

export interface PrometheusClientOptions {
  /** Base URL, e.g. http://prometheus:9090 or https://mimir/prometheus. */
  readonly url: string;
  /** Per-query timeout (ms). */
  readonly timeoutMs: number;
  /** Headers sent with every query (authorization, tenant, extras), already assembled. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Observer for metrics: duration of each query and the error code when it failed. */
  readonly onQuery?: (kind: QueryKind, seconds: number, error: ErrorCode | undefined) => void;
  readonly fetch?: typeof fetch;
}

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

function parseValue(raw: unknown): number {
  if (typeof raw !== 'string') return Number.NaN;
  // Prometheus encodes floats as strings, including "NaN", "+Inf", "-Inf".
  if (raw === '+Inf' || raw === 'Inf') return Number.POSITIVE_INFINITY;
  if (raw === '-Inf') return Number.NEGATIVE_INFINITY;
  return Number(raw);
}

function badResponse(message: string): JudgeError {
  return new JudgeError('prometheus_bad_response', message);
}

/** Turns a decoded `/api/v1/query_range` body into series; anything unexpected is a 502. */
export function parseMatrix(body: unknown): Series[] {
  if (body === null || typeof body !== 'object') throw badResponse('Prometheus answered a non-object JSON body');
  const b = body as { status?: unknown; data?: { resultType?: unknown; result?: unknown } };
  if (b.status !== 'success') throw badResponse(`Prometheus answered status ${JSON.stringify(b.status)}`);
  if (b.data?.resultType !== 'matrix' || !Array.isArray(b.data.result)) {
    throw badResponse(`Prometheus answered resultType ${JSON.stringify(b.data?.resultType)}, expected matrix`);
  }
  return b.data.result.map((s: unknown) => {
    const series = s as { metric?: unknown; values?: unknown };
    if (series.metric === null || typeof series.metric !== 'object' || !Array.isArray(series.values)) {
      throw badResponse('Prometheus answered a malformed series');
    }
    const samples = series.values.map((p: unknown) => {
      if (!Array.isArray(p) || p.length !== 2 || typeof p[0] !== 'number') {
        throw badResponse('Prometheus answered a malformed sample');
      }
      return { t: p[0], v: parseValue(p[1]) };
    });
    return { labels: series.metric as Record<string, string>, samples };
  });
}

/** Creates a client over the Prometheus HTTP API (POST form bodies: long queries fit). */
export function createPrometheusClient(options: PrometheusClientOptions): PrometheusClient {
  const base = options.url.replace(/\/+$/, '');
  const doFetch = options.fetch ?? fetch;
  const headers = { ...options.headers, 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' };

  async function call(kind: QueryKind, path: string, form: Record<string, string>, outer?: AbortSignal): Promise<unknown> {
    const started = performance.now();
    const timeout = AbortSignal.timeout(options.timeoutMs);
    const signal = outer === undefined ? timeout : AbortSignal.any([outer, timeout]);
    let error: ErrorCode | undefined;
    try {
      let res: Response;
      try {
        res = await doFetch(`${base}${path}`, {
          method: 'POST',
          headers,
          body: new URLSearchParams(form).toString(),
          signal,
        });
      } catch (e) {
        throw classifyFetchError(e, outer, timeout, options.timeoutMs);
      }
      let text: string;
      try {
        text = await res.text();
      } catch (e) {
        throw classifyFetchError(e, outer, timeout, options.timeoutMs);
      }
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      if (!res.ok) throw statusError(res.status, json, text);
      if (json === undefined) throw badResponse(`Prometheus answered HTTP ${res.status} with a body that is not JSON`);
      return json;
    } catch (e) {
      error = e instanceof JudgeError ? e.code : 'prometheus_bad_response';
      throw e;
    } finally {
      options.onQuery?.(kind, (performance.now() - started) / 1000, error);
    }
  }

  return {
    async queryRange(query, range, qo = {}) {
      const started = performance.now();
      try {
        const body = await call(
          'range',
          '/api/v1/query_range',
          { query, start: String(range.start), end: String(range.end), step: String(range.step) },
          qo.signal,
        );
        return parseMatrix(body);
      } finally {
        qo.onSpan?.(started, performance.now());
      }
    },
    async ping(signal) {
      const started = performance.now();
      try {
        const body = (await call('ping', '/api/v1/query', { query: 'vector(1)' }, signal)) as { status?: unknown };
        if (body?.status !== 'success') throw badResponse('Prometheus did not answer status success to vector(1)');
        return { reachable: true, latencyMs: performance.now() - started };
      } catch (e) {
        const err = e instanceof JudgeError ? e : badResponse(String(e));
        return { reachable: false, error: { code: err.code, message: err.message } };
      }
    },
  };
}

function classifyFetchError(e: unknown, outer: AbortSignal | undefined, timeout: AbortSignal, timeoutMs: number): JudgeError {
  if (outer?.aborted === true) {
    return new JudgeError('deadline_exceeded', 'the analysis deadline passed while querying Prometheus', { cause: e });
  }
  if (timeout.aborted) {
    return new JudgeError('prometheus_timeout', `Prometheus did not answer within ${timeoutMs} ms`, { cause: e });
  }
  const code = causeCode(e);
  if (code !== undefined && CONNECTION_CODES.has(code)) {
    return new JudgeError('prometheus_unavailable', `Prometheus is unreachable (${code})`, { cause: e });
  }
  const cause = e instanceof Error && e.cause instanceof Error ? `: ${e.cause.message}` : '';
  return new JudgeError(
    'prometheus_unavailable',
    `Prometheus request failed: ${e instanceof Error ? e.message : String(e)}${cause}${code ? ` (${code})` : ''}`,
    { cause: e },
  );
}

function statusError(status: number, json: unknown, text: string): JudgeError {
  const j = json as { errorType?: unknown; error?: unknown } | undefined;
  const detail = typeof j?.error === 'string' ? j.error : text.slice(0, 200).replace(/\s+/g, ' ').trim();
  const errorType = typeof j?.errorType === 'string' ? j.errorType : undefined;
  const message = `Prometheus answered HTTP ${status}${errorType ? ` (${errorType})` : ''}: ${detail}`;
  if (status === 504 || errorType === 'timeout') return new JudgeError('prometheus_timeout', message);
  if (status === 503) return new JudgeError('prometheus_unavailable', message);
  return new JudgeError('prometheus_bad_response', message);
}
