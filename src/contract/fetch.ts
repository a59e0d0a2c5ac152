/**
 * The contract gate's only network I/O: one bounded GET of a contract request. No redirect is
 * followed (a 3xx is the answer, and the contract judges it), the body is read up to a size
 * cap, each request has its own timeout under the check's deadline. A target that cannot be
 * reached is an error (never an answer, so never a Pass); a slow one a timeout.
 */

import { JudgeError } from '../errors.js';
import type { Answer } from './compare.js';

export interface FetchLimits {
  readonly timeoutMs: number;
  readonly maxResponseBytes: number;
}

export type FetchAnswer = (url: URL, signal: AbortSignal) => Promise<Answer>;

async function readCapped(res: Response, max: number): Promise<Buffer | undefined> {
  if (res.body === null) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body) {
    size += (chunk as Uint8Array).byteLength;
    if (size > max) {
      await res.body.cancel().catch(() => undefined);
      return undefined;
    }
    chunks.push(Buffer.from(chunk as Uint8Array));
  }
  return Buffer.concat(chunks);
}

/** A fetcher bounded by `limits`; `signal` is the whole check's deadline. */
export function createFetchAnswer(limits: FetchLimits): FetchAnswer {
  return async (url, signal) => {
    const timeout = AbortSignal.timeout(limits.timeoutMs);
    const both = AbortSignal.any([signal, timeout]);
    const what = `${url.origin}${url.pathname}${url.search}`;
    try {
      const res = await fetch(url, {
        method: 'GET',
        redirect: 'manual',
        headers: { accept: 'application/json' },
        signal: both,
      });
      const raw = await readCapped(res, limits.maxResponseBytes);
      if (raw === undefined)
        return { status: res.status, body: { kind: 'too-large', limitBytes: limits.maxResponseBytes } };
      try {
        return {
          status: res.status,
          body: { kind: 'json', value: JSON.parse(raw.toString('utf8')) as unknown },
        };
      } catch {
        return { status: res.status, body: { kind: 'not-json' } };
      }
    } catch (e) {
      if (signal.aborted) {
        const reason: unknown = signal.reason;
        throw reason instanceof JudgeError
          ? reason
          : new JudgeError('deadline_exceeded', `the contract check's deadline passed during GET ${what}`);
      }
      if (timeout.aborted)
        throw new JudgeError(
          'contract_target_timeout',
          `GET ${what}: no answer within ${limits.timeoutMs} ms`,
        );
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      throw new JudgeError(
        'contract_target_unavailable',
        `GET ${what}: ${cause?.code ?? cause?.message ?? (e instanceof Error ? e.message : String(e))}`,
        { cause: e },
      );
    }
  };
}
