/**
 * The HTTP transport to Prometheus: one POST of a form, with a timeout, the caller's abort, a
 * cap on the answer's size, and no redirects followed. It resolves with the status and the
 * body's text; what they mean is decided by the client.
 */

import { Pool } from 'undici';
import { JudgeError } from '../errors.js';
import { badResponse, connectionError, deadlinePassed } from './errors.js';

export interface TransportOptions {
  /** Base URL, e.g. http://prometheus:9090 or https://mimir/prometheus. */
  readonly url: string;
  /** Per-request timeout (ms). */
  readonly timeoutMs: number;
  /** Headers sent with every request (authorization, tenant, extras), already assembled. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Largest answer read (bytes); a longer one is abandoned as it streams in. */
  readonly maxResponseBytes: number;
}

export type Post = (
  path: string,
  form: string,
  signal: AbortSignal | undefined,
) => Promise<{ status: number; text: string }>;

export function createTransport(options: TransportOptions): Post {
  const base = new URL(`${options.url.replace(/\/+$/, '')}/`);
  // undici's pool rather than fetch or node:http: per query, fetch's WHATWG layers (Request,
  // Headers, web streams, composed abort signals) cost more CPU than everything else the judge
  // does with the answer, and node:http's request objects and socket streams about a quarter of
  // it. Keep-alive connections, reused by every analysis; undici never follows redirects.
  const pool = new Pool(base.origin, { keepAliveTimeout: 30_000 });
  const prefix = base.pathname;
  const maxBytes = options.maxResponseBytes;
  // Uncompressed answers: they are small (tens of KB, capped) and the judge runs next to its
  // metrics store, while inflating them cost about a third of the judge's CPU per analysis.
  const headers: Record<string, string> = {
    ...options.headers,
    'content-type': 'application/x-www-form-urlencoded',
    accept: 'application/json',
    'accept-encoding': 'identity',
  };

  return (path, form, outer) =>
    new Promise((resolve, reject) => {
      let settled = false;
      const stop = new AbortController();
      const finish = (e: JudgeError | undefined, value?: { status: number; text: string }): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        outer?.removeEventListener('abort', onAbort);
        if (e !== undefined) {
          stop.abort(e);
          reject(e);
        } else resolve(value as { status: number; text: string });
      };
      const onAbort = (): void => finish(deadlinePassed());
      const timer = setTimeout(
        () =>
          finish(
            new JudgeError('prometheus_timeout', `Prometheus did not answer within ${options.timeoutMs} ms`),
          ),
        options.timeoutMs,
      );
      if (outer?.aborted === true) {
        onAbort();
        return;
      }
      outer?.addEventListener('abort', onAbort, { once: true });
      pool
        .request({
          origin: base.origin,
          path: prefix + path.replace(/^\//, ''),
          method: 'POST',
          headers,
          body: form,
          signal: stop.signal,
        })
        .then(
          ({ statusCode: status, headers: answerHeaders, body }) => {
            if (settled) {
              body.destroy();
              return;
            }
            if (status >= 300 && status < 400) {
              body.destroy();
              // A redirect would re-send the query and the auth and tenant headers to wherever
              // the Location points, and its answer would be trusted: refuse it instead.
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
            if (Number(answerHeaders['content-length']) > maxBytes) {
              body.destroy();
              finish(tooLarge());
              return;
            }
            const chunks: Buffer[] = [];
            let total = 0;
            body.on('data', (chunk: Buffer) => {
              total += chunk.length;
              if (total > maxBytes) {
                body.destroy();
                finish(tooLarge());
              } else chunks.push(chunk);
            });
            body.on('end', () =>
              finish(undefined, { status, text: Buffer.concat(chunks, total).toString('utf8') }),
            );
            body.on('error', (e) => finish(connectionError(e)));
          },
          (e: unknown) => finish(connectionError(e)),
        );
    });
}
