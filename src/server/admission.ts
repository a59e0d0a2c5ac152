/**
 * Admission control: at most `maxInFlight` analyses computed at once, a short queue behind them,
 * and a fast `overloaded` (HTTP 503, gRPC UNAVAILABLE) beyond it. Every analysis costs a few
 * Prometheus queries; taking all comers only moves the queue into Prometheus, where every
 * analysis slows down together until they all miss the deadline. Refusing the excess at once
 * keeps the answers that are given within the deadline, and Argo retries a 503 after 10 s.
 */

import { JudgeError } from '../errors.js';

export interface AdmissionOptions {
  /** Analyses computed at the same time. */
  readonly maxInFlight: number;
  /** Analyses waiting for a slot; one more is refused at once. */
  readonly maxQueued: number;
  /** Longest wait for a slot (ms) before the analysis is refused. */
  readonly queueWaitMs: number;
}

export interface Admission {
  /**
   * Resolves with the slot's release function, or rejects with `overloaded` (queue full or
   * waited out) or with the signal's reason when the caller gives up while queued.
   */
  acquire(signal?: AbortSignal): Promise<() => void>;
  /**
   * The error `acquire` would reject with at once (every slot taken and the queue full), or
   * undefined: lets a transport refuse before it reads and validates the request.
   */
  refusal(): JudgeError | undefined;
  readonly inFlight: number;
  readonly queued: number;
}

/** Why a wait ended: the signal's reason (the server aborts with a JudgeError), always an Error. */
function abortReason(signal: AbortSignal | undefined): Error {
  const r: unknown = signal?.reason;
  return r instanceof Error ? r : new JudgeError('internal', 'the request was aborted');
}

interface Waiter {
  grant(): void;
}

export function createAdmission(o: AdmissionOptions): Admission {
  if (!(Number.isInteger(o.maxInFlight) && o.maxInFlight >= 1))
    throw new RangeError(`maxInFlight must be an integer ≥ 1, got ${o.maxInFlight}`);
  if (!(Number.isInteger(o.maxQueued) && o.maxQueued >= 0))
    throw new RangeError(`maxQueued must be an integer ≥ 0, got ${o.maxQueued}`);
  let active = 0;
  const queue: Waiter[] = [];

  const releaser = (): (() => void) => {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = queue.shift();
      // The slot passes straight to the next waiter: `active` stays the same.
      if (next !== undefined) next.grant();
      else active--;
    };
  };

  const full = (): JudgeError | undefined =>
    active >= o.maxInFlight && queue.length >= o.maxQueued
      ? new JudgeError(
          'overloaded',
          `the judge is computing ${active} analyses and ${queue.length} are waiting; retry shortly`,
        )
      : undefined;

  return {
    refusal: full,
    get inFlight() {
      return active;
    },
    get queued() {
      return queue.length;
    },
    acquire(signal) {
      if (signal?.aborted === true) return Promise.reject(abortReason(signal));
      if (active < o.maxInFlight) {
        active++;
        return Promise.resolve(releaser());
      }
      const refused = full();
      if (refused !== undefined) return Promise.reject(refused);
      return new Promise<() => void>((resolve, reject) => {
        const leave = (): void => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          const i = queue.indexOf(waiter);
          if (i >= 0) queue.splice(i, 1);
        };
        const waiter: Waiter = {
          grant() {
            leave();
            resolve(releaser());
          },
        };
        const onAbort = (): void => {
          leave();
          reject(abortReason(signal));
        };
        const timer = setTimeout(() => {
          leave();
          reject(
            new JudgeError('overloaded', `no analysis slot freed within ${o.queueWaitMs} ms; retry shortly`),
          );
        }, o.queueWaitMs);
        signal?.addEventListener('abort', onAbort, { once: true });
        queue.push(waiter);
      });
    },
  };
}
