/**
 * The judge's only network I/O: PromQL range queries against Prometheus (or any store with the
 * Prometheus HTTP API: Thanos, Mimir, VictoriaMetrics). Every failure becomes a JudgeError with a
 * Prometheus code, so the HTTP layer can answer 502/503/504 and Argo retries.
 */

import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
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
  /**
   * The type of `query`'s result, from a dry instant query at Unix time 0 (where no store holds
   * data, so nothing is read): the store's own parser checks the expression. An expression it
   * refuses (HTTP 400 bad_data) is `invalid_request` with its message; outages as for queries.
   */
  resultType(query: string, options?: QueryOptions): Promise<ResultType>;
}

export type ResultType = 'vector' | 'matrix' | 'scalar' | 'string';
const RESULT_TYPES: readonly string[] = ['vector', 'matrix', 'scalar', 'string'];

export type QueryKind = 'range' | 'ping' | 'parse';

export interface PrometheusClientOptions {
  /** Base URL, e.g. http://prometheus:9090 or https://mimir/prometheus. */
  readonly url: string;
  /** Per-query timeout (ms). */
  readonly timeoutMs: number;
  /** Headers sent with every query (authorization, tenant, extras), already assembled. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Observer for metrics: duration of each query and the error code when it failed. */
  readonly onQuery?: (kind: QueryKind, seconds: number, error: ErrorCode | undefined) => void;
  /**
   * Largest answer read (bytes, default {@link DEFAULT_MAX_RESPONSE_BYTES}); a longer one is
   * abandoned as it streams in and answered 502, so one huge answer can neither exhaust memory
   * nor hold the event loop in JSON.parse for seconds.
   */
  readonly maxResponseBytes?: number;
}

/**
 * The largest legitimate answer is a latency query at the 11,000-point limit: ~20 `le` series of
 * ~25 bytes a point, about 6 MB. Parsing is synchronous (JSON.parse, then the samples): an
 * 8 MiB answer holds the event loop for roughly 0.2-0.8 s on two busy cores (a 16 MiB one
 * 0.7-2 s), so the cap stays close to the largest legitimate answer.
 */
export const DEFAULT_MAX_RESPONSE_BYTES = 8 * 1024 * 1024;

/**
 * Largest magnitude read as a count. Beyond 2^53 a float no longer counts requests one by one
 * and a sum over a window can overflow to Infinity, so such a value is read as NaN: the judge
 * refuses it as invalid data instead of computing with it.
 */
export const MAX_COUNT = 2 ** 53;

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

/** A sample value, or undefined when it is not one; huge magnitudes become NaN (MAX_COUNT). */
function parseValue(raw: unknown): number | undefined {
  if (typeof raw !== 'string' || raw.length === 0) return undefined;
  const v = Number(raw);
  // Number() alone also takes " 1", "0x1f", "0b1", "Infinity": refuse what Prometheus never
  // writes by looking at both ends (a digit or '.' at the end; a digit, sign or '.' first, and no
  // radix prefix). This runs once per point: a regex here doubled the cost of a large answer.
  if (!Number.isNaN(v)) {
    const last = raw.charCodeAt(raw.length - 1);
    const lastOk = (last >= 48 && last <= 57) || last === 46;
    const first = raw.charCodeAt(0);
    const digitAt = first === 43 || first === 45 ? 1 : 0;
    const lead = raw.charCodeAt(digitAt);
    const leadOk = (lead >= 48 && lead <= 57) || lead === 46;
    const radix =
      lead === 48 &&
      raw.length > digitAt + 1 &&
      /[a-zA-Z]/.test(raw.charAt(digitAt + 1)) &&
      raw.charAt(digitAt + 1) !== 'e' &&
      raw.charAt(digitAt + 1) !== 'E';
    if (!lastOk || !leadOk || radix) {
      // Prometheus encodes infinities as "+Inf" / "-Inf" (Number() reads neither).
      return undefined;
    }
    return Math.abs(v) > MAX_COUNT ? Number.NaN : v;
  }
  if (raw === 'NaN') return Number.NaN;
  if (raw === '+Inf' || raw === 'Inf') return Number.POSITIVE_INFINITY;
  if (raw === '-Inf') return Number.NEGATIVE_INFINITY;
  return undefined;
}

function badResponse(message: string): JudgeError {
  return new JudgeError('prometheus_bad_response', message);
}

/** Turns a decoded `/api/v1/query_range` body into series; anything unexpected is a 502. */
export function parseMatrix(body: unknown): Series[] {
  if (body === null || typeof body !== 'object')
    throw badResponse('Prometheus answered a non-object JSON body');
  const b = body as { status?: unknown; data?: { resultType?: unknown; result?: unknown } };
  if (b.status !== 'success') throw badResponse(`Prometheus answered status ${JSON.stringify(b.status)}`);
  if (b.data?.resultType !== 'matrix' || !Array.isArray(b.data.result)) {
    throw badResponse(
      `Prometheus answered resultType ${JSON.stringify(b.data?.resultType)}, expected matrix`,
    );
  }
  return b.data.result.map((s: unknown) => {
    if (s === null || typeof s !== 'object' || Array.isArray(s))
      throw badResponse('Prometheus answered a malformed series');
    const series = s as { metric?: unknown; values?: unknown };
    if (
      series.metric === null ||
      typeof series.metric !== 'object' ||
      Array.isArray(series.metric) ||
      !Array.isArray(series.values)
    ) {
      throw badResponse('Prometheus answered a malformed series');
    }
    const labels: Record<string, string> = {};
    for (const [k, v] of Object.entries(series.metric)) {
      if (typeof v !== 'string')
        throw badResponse('Prometheus answered a series with a label value that is not a string');
      labels[k] = v;
    }
    const values = series.values as unknown[];
    const samples: Sample[] = new Array<Sample>(values.length);
    for (let i = 0; i < values.length; i++) {
      const p = values[i];
      const v =
        Array.isArray(p) && p.length === 2 && typeof p[0] === 'number' && Number.isFinite(p[0])
          ? parseValue(p[1])
          : undefined;
      if (v === undefined) throw badResponse('Prometheus answered a malformed sample');
      samples[i] = { t: (p as [number, string])[0], v };
    }
    return { labels, samples };
  });
}

/** Timestamps within this much of a grid point are on it (Prometheus prints milliseconds). */
const GRID_TOLERANCE_SECONDS = 1e-3;

/**
 * Checks that a range answer can be per-interval counts of one query: at most one point per
 * grid step in each series, every point on the requested grid (start + k·step, within
 * [start, end]), and no two series with the same labels. Prometheus itself never answers
 * otherwise; a query layer merging HA replicas or shards without deduplication, a broken
 * federation or a proxy can, and summing such points would inflate or skew the counts (a Fail
 * turned into a Pass). Throws prometheus_bad_response naming the first defect.
 */
export function validateRangeAnswer(series: readonly Series[], range: RangeSpec): void {
  const seen = new Set<string>();
  for (const s of series) {
    const key = JSON.stringify(Object.entries(s.labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    if (seen.has(key)) {
      throw badResponse(
        `Prometheus answered two series with the same labels ${describeLabels(s.labels)}: duplicated data, refused`,
      );
    }
    seen.add(key);
    let last = Number.NEGATIVE_INFINITY;
    for (const p of s.samples) {
      const k = (p.t - range.start) / range.step;
      const onGrid = Math.abs(k - Math.round(k)) * range.step <= GRID_TOLERANCE_SECONDS;
      if (!onGrid || p.t < range.start - GRID_TOLERANCE_SECONDS || p.t > range.end + GRID_TOLERANCE_SECONDS) {
        throw badResponse(
          `Prometheus answered a point at t=${p.t}, off the requested grid (${range.start} to ${range.end} every ${range.step}s), refused`,
        );
      }
      if (p.t <= last + GRID_TOLERANCE_SECONDS) {
        throw badResponse(
          p.t >= last - GRID_TOLERANCE_SECONDS
            ? `Prometheus answered two points at t=${p.t} in one series: duplicated data, refused`
            : `Prometheus answered points out of time order (t=${p.t} after t=${last}), refused`,
        );
      }
      last = p.t;
    }
  }
}

/** `{k="v", …}` for an error message, cut at 120 characters. */
export function describeLabels(labels: Readonly<Record<string, string>>): string {
  const text = `{${Object.entries(labels)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(', ')}}`;
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

/** Creates a client over the Prometheus HTTP API (POST form bodies: long queries fit). */
export function createPrometheusClient(options: PrometheusClientOptions): PrometheusClient {
  const base = new URL(`${options.url.replace(/\/+$/, '')}/`);
  const https = base.protocol === 'https:';
  // node:http rather than fetch: per query, fetch's WHATWG layers (Request, Headers, web
  // streams, composed abort signals) cost more CPU than everything else the judge does with
  // the answer. Keep-alive, so the queries of every analysis reuse a few connections; no
  // redirects are followed (node:http never does).
  const agent = https
    ? new HttpsAgent({ keepAlive: true, scheduling: 'lifo' })
    : new HttpAgent({ keepAlive: true, scheduling: 'lifo' });
  const send = https ? httpsRequest : httpRequest;
  const maxBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  // Uncompressed answers: they are small (tens of KB, capped) and the judge runs next to its
  // metrics store, while inflating them cost about a third of the judge's CPU per analysis.
  const headers = {
    ...options.headers,
    'Content-Type': 'application/x-www-form-urlencoded',
    Accept: 'application/json',
    'Accept-Encoding': 'identity',
  };
  // Values never to repeat in an error message, whatever an upstream error body echoes back.
  const secrets = Object.values(options.headers ?? {})
    .flatMap((v) => [v, ...v.split(/\s+/)])
    .filter((v) => v.length >= 8);

  /** POSTs the form; resolves with the status and the body, read up to the cap. */
  function post(
    path: string,
    form: string,
    outer: AbortSignal | undefined,
  ): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
      let settled = false;
      const finish = (e: JudgeError | undefined, value?: { status: number; text: string }): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        outer?.removeEventListener('abort', onAbort);
        if (e !== undefined) {
          req.destroy();
          reject(e);
        } else resolve(value as { status: number; text: string });
      };
      const onAbort = (): void =>
        finish(new JudgeError('deadline_exceeded', 'the analysis deadline passed while querying Prometheus'));
      const timer = setTimeout(
        () =>
          finish(
            new JudgeError('prometheus_timeout', `Prometheus did not answer within ${options.timeoutMs} ms`),
          ),
        options.timeoutMs,
      );
      const url = new URL(path.replace(/^\//, ''), base);
      const req = send(
        url,
        { method: 'POST', agent, headers: { ...headers, 'Content-Length': Buffer.byteLength(form) } },
        (res) => {
          const status = res.statusCode ?? 0;
          if (status >= 300 && status < 400) {
            // A redirect would re-send the query and the auth and tenant headers to wherever the
            // Location points, and its answer would be trusted: refuse it instead.
            finish(
              badResponse(
                `Prometheus answered a redirect (HTTP ${status}); redirects are not followed: set CANARY_JUDGE_PROMETHEUS_URL to the final address`,
              ),
            );
            return;
          }
          const tooLarge = (): JudgeError =>
            badResponse(
              `Prometheus answered more than ${maxBytes} bytes (CANARY_JUDGE_PROMETHEUS_MAX_RESPONSE_BYTES); narrow the query or raise the limit`,
            );
          if (Number(res.headers['content-length']) > maxBytes) {
            finish(tooLarge());
            return;
          }
          const chunks: Buffer[] = [];
          let total = 0;
          res.on('data', (chunk: Buffer) => {
            total += chunk.length;
            if (total > maxBytes) finish(tooLarge());
            else chunks.push(chunk);
          });
          res.on('end', () =>
            finish(undefined, { status, text: Buffer.concat(chunks, total).toString('utf8') }),
          );
          res.on('error', (e) => finish(connectionError(e)));
          res.on('aborted', () => finish(connectionError(new Error('the answer was cut off'))));
        },
      );
      req.on('error', (e) => finish(connectionError(e)));
      if (outer?.aborted === true) onAbort();
      else outer?.addEventListener('abort', onAbort, { once: true });
      req.end(form);
    });
  }

  async function call(
    kind: QueryKind,
    path: string,
    form: Record<string, string>,
    outer?: AbortSignal,
    /** Turns a failure into what it means for this call, before it is recorded. */
    refine: (e: JudgeError) => JudgeError = (e) => e,
  ): Promise<unknown> {
    const started = performance.now();
    let error: ErrorCode | undefined;
    try {
      const { status, text } = await post(path, new URLSearchParams(form).toString(), outer);
      // The body may have taken the whole budget to arrive: do not start parsing after it.
      if (outer?.aborted === true)
        throw new JudgeError('deadline_exceeded', 'the analysis deadline passed while querying Prometheus');
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      if (status < 200 || status >= 300) throw statusError(status, json, secrets);
      if (json === undefined)
        throw badResponse(`Prometheus answered HTTP ${status} with a body that is not JSON`);
      return json;
    } catch (e) {
      const err = e instanceof JudgeError ? refine(e) : e;
      error = err instanceof JudgeError ? err.code : 'prometheus_bad_response';
      throw err;
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
        const series = parseMatrix(body);
        validateRangeAnswer(series, range);
        return series;
      } finally {
        qo.onSpan?.(started, performance.now());
      }
    },
    async resultType(query, qo = {}) {
      const started = performance.now();
      try {
        // Only the query can be bad in this call: a 400 bad_data is Prometheus' parser refusing
        // the expression, the caller's mistake (recorded as such), not Prometheus trouble.
        const refusal = (e: JudgeError): JudgeError => {
          const refused = PARSE_REFUSAL.exec(e.message);
          return refused === null
            ? e
            : new JudgeError('invalid_request', `Prometheus cannot parse it: ${refused[1] as string}`);
        };
        const body = (await call('parse', '/api/v1/query', { query, time: '0' }, qo.signal, refusal)) as {
          status?: unknown;
          data?: { resultType?: unknown };
        } | null;
        const type = body?.data?.resultType;
        if (body?.status !== 'success' || typeof type !== 'string' || !RESULT_TYPES.includes(type))
          throw badResponse('Prometheus answered a dry instant query without a result type');
        return type as ResultType;
      } finally {
        qo.onSpan?.(started, performance.now());
      }
    },
    async ping(signal) {
      const started = performance.now();
      try {
        const body = (await call('ping', '/api/v1/query', { query: 'vector(1)' }, signal)) as {
          status?: unknown;
        } | null;
        if (body?.status !== 'success')
          throw badResponse('Prometheus did not answer status success to vector(1)');
        return { reachable: true, latencyMs: performance.now() - started };
      } catch (e) {
        const err = e instanceof JudgeError ? e : badResponse('Prometheus answered vector(1) unexpectedly');
        // Readiness is polled by anyone who can reach the port: the code and the HTTP status
        // only, never text from the upstream.
        return { reachable: false, error: { code: err.code, message: pingMessage(err) } };
      }
    },
  };
}

/** The parser's message in a 400 bad_data answer (statusError's wording), without its preamble. */
const PARSE_REFUSAL = /^Prometheus answered HTTP 400 \(bad_data\): (?:invalid parameter "query": )?(.+)$/;

function pingMessage(err: JudgeError): string {
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

/** A transport failure (refused, reset, DNS, TLS): Prometheus cannot be reached now. */
function connectionError(e: unknown): JudgeError {
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
function statusError(status: number, json: unknown, secrets: readonly string[]): JudgeError {
  const j = json as { status?: unknown; errorType?: unknown; error?: unknown } | null | undefined;
  const apiError =
    j !== null && typeof j === 'object' && j.status === 'error' && typeof j.error === 'string'
      ? j.error
      : undefined;
  const errorType =
    j !== null && typeof j === 'object' && typeof j.errorType === 'string'
      ? j.errorType.slice(0, 40)
      : undefined;
  let detail = '';
  if (apiError !== undefined) {
    let text = apiError.replace(/\s+/g, ' ').trim();
    for (const s of secrets) text = text.split(s).join('***');
    detail = `: ${text.length > 200 ? `${text.slice(0, 197)}...` : text}`;
  }
  const message = `Prometheus answered HTTP ${status}${errorType ? ` (${errorType})` : ''}${detail}`;
  if (status === 504 || errorType === 'timeout') return new JudgeError('prometheus_timeout', message);
  if (status === 503) return new JudgeError('prometheus_unavailable', message);
  return new JudgeError('prometheus_bad_response', message);
}
