/**
 * The analyses' only network I/O: PromQL range queries against Prometheus (or any store with the
 * Prometheus HTTP API: Thanos, Mimir, VictoriaMetrics). Every failure becomes a JudgeError with a
 * Prometheus code, so the HTTP layer can answer 502/503/504 and Argo retries. The pieces: the
 * HTTP transport (./transport.ts), JSON decoding (./decode.ts) and error classification with
 * secret masking (./errors.ts); the rule that a range answer can be counts at all belongs to the
 * judge (src/judge/range-answer.ts).
 */

import { JudgeError, type ErrorCode } from '../errors.js';
import type { FetchOptions, Grid, Series } from '../judge/metrics-source.js';
import { parseMatrix, parseMatrixText, readWarnings } from './decode.js';
import { badResponse, deadlinePassed, pingMessage, secretsOf, statusError, warningsError } from './errors.js';
import { createTransport } from './transport.js';

export { MAX_COUNT, parseMatrix, readWarnings } from './decode.js';

export type Reachability =
  | { readonly reachable: true; readonly latencyMs: number }
  | { readonly reachable: false; readonly error: { code: ErrorCode; message: string } };

/** The Prometheus HTTP API as the metrics source (./source.ts) and readiness use it. */
export interface PrometheusClient {
  queryRange(query: string, range: Grid, options?: FetchOptions): Promise<Series[]>;
  /** Evaluates `vector(1)`: cheap, and works on every PromQL-compatible store. */
  ping(signal?: AbortSignal): Promise<Reachability>;
  /**
   * The type of `query`'s result, from a dry instant query at Unix time 0 (where no store holds
   * data, so nothing is read): the store's own parser checks the expression. An expression it
   * refuses (HTTP 400 bad_data) is `invalid_request` with its message; outages as for queries.
   */
  resultType(query: string, options?: FetchOptions): Promise<ResultType>;
}

export type ResultType = 'vector' | 'matrix' | 'scalar' | 'string';
const RESULT_TYPES: readonly string[] = ['vector', 'matrix', 'scalar', 'string'];

export type QueryKind = 'range' | 'ping' | 'parse';

/** What one call read: the answer's JSON body, or what a plain reader took from its text. */
type CallAnswer<T> =
  { readonly json: unknown; readonly plain?: undefined } | { readonly json?: undefined; readonly plain: T };

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

/** Creates a client over the Prometheus HTTP API (POST form bodies: long queries fit). */
export function createPrometheusClient(options: PrometheusClientOptions): PrometheusClient {
  const post = createTransport({
    url: options.url,
    timeoutMs: options.timeoutMs,
    ...(options.headers === undefined ? {} : { headers: options.headers }),
    maxResponseBytes: options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES,
  });
  const secrets = secretsOf(options.headers);

  /**
   * One call: its JSON body (`json`), or — when `plain` recognises a successful answer's text —
   * what `plain` read from it (`plain`), skipping JSON.parse.
   */
  async function call<T = never>(
    kind: QueryKind,
    path: string,
    form: Record<string, string>,
    outer?: AbortSignal,
    /** Turns a failure into what it means for this call, before it is recorded. */
    refine: (e: JudgeError) => JudgeError = (e) => e,
    plain?: (text: string) => T | undefined,
  ): Promise<CallAnswer<T>> {
    const started = performance.now();
    let error: ErrorCode | undefined;
    try {
      const { status, text } = await post(path, new URLSearchParams(form).toString(), outer);
      // The body may have taken the whole budget to arrive: do not start parsing after it.
      if (outer?.aborted === true) throw deadlinePassed();
      const read = plain !== undefined && status >= 200 && status < 300 ? plain(text) : undefined;
      if (read !== undefined) return { plain: read };
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      if (status < 200 || status >= 300) throw statusError(status, json, secrets);
      if (json === undefined)
        throw badResponse(`Prometheus answered HTTP ${status} with a body that is not JSON`);
      const partial = warningsError(readWarnings(json), secrets);
      if (partial !== undefined) throw partial;
      return { json };
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
        const answer = await call(
          'range',
          '/api/v1/query_range',
          {
            query,
            start: String(range.start),
            end: String(range.end),
            step: String(range.step),
            // Thanos Query: refuse to answer from part of the stores rather than answer 200
            // with warnings (which are refused anyway). Prometheus and others ignore it.
            partial_response: 'false',
          },
          qo.signal,
          undefined,
          parseMatrixText,
        );
        return answer.plain ?? parseMatrix(answer.json);
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
        const body = (await call('parse', '/api/v1/query', { query, time: '0' }, qo.signal, refusal))
          .json as {
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
        const body = (await call('ping', '/api/v1/query', { query: 'vector(1)' }, signal)).json as {
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
