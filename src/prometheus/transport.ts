/**
 * The HTTP transport to Prometheus: one POST of a form, with a timeout, the caller's abort, a
 * cap on the answer's size, and no redirects followed. It resolves with the status and the
 * body's text; what they mean is decided by the client.
 */

import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
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
  const https = base.protocol === 'https:';
  // node:http rather than fetch: per query, fetch's WHATWG layers (Request, Headers, web
  // streams, composed abort signals) cost more CPU than everything else the judge does with
  // the answer. Keep-alive, so the queries of every analysis reuse a few connections; no
  // redirects are followed (node:http never does).
  const agent = https
    ? new HttpsAgent({ keepAlive: true, scheduling: 'lifo' })
    : new HttpAgent({ keepAlive: true, scheduling: 'lifo' });
  const send = https ? httpsRequest : httpRequest;
  const maxBytes = options.maxResponseBytes;
  // Uncompressed answers: they are small (tens of KB, capped) and the judge runs next to its
  // metrics store, while inflating them cost about a third of the judge's CPU per analysis.
  const headers = {
    ...options.headers,
    'Content-Type': 'application/x-www-form-urlencoded',
    Accept: 'application/json',
    'Accept-Encoding': 'identity',
  };

  return (path, form, outer) =>
    new Promise((resolve, reject) => {
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
      const onAbort = (): void => finish(deadlinePassed());
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
