/**
 * Admission control and the end-to-end deadline, on the HTTP transport with a stand-in judge
 * whose analyses end when the test says so: which requests are computed, which wait, which are
 * refused at once with 503 overloaded, and that a judge ignoring its abort is still answered at
 * the deadline.
 */

import request from 'supertest';
import { describe, expect, it } from 'vitest';
import type { AnalysisResult, Judge } from '../../../src/judge/index.js';
import { createLogger, createMetrics } from '../../../src/observability/index.js';
import { createAdmission } from '../../../src/server/admission.js';
import { createApp } from '../../../src/server/http/app.js';

const body = {
  rollout: { name: 'catalogo', namespace: 'catalogo' },
  selector: { mode: 'pod-hash', canary: '6b7f9c8d5', stable: '5d4c7b9f8' },
  checks: [{ type: 'error-rate' }],
};

const result = {
  verdict: 'Inconclusive',
  score: 100,
  summary: 'Inconclusive error-rate: not enough data yet',
  judge: 'canary-judge/test',
  rollout: { name: 'catalogo', namespace: 'catalogo' },
  selector: { mode: 'pod-hash', canary: '6b7f9c8d5', stable: '5d4c7b9f8' },
  window: {
    start: null,
    end: '2026-01-01T00:30:00.000Z',
    interval: '60s',
    intervals: 0,
    startSource: 'canary-first-sample',
  },
  checks: [],
  timing: { totalMs: 1, prometheusMs: 0, queries: 1 },
} satisfies AnalysisResult;

/** A judge whose analyses wait until released; counts how many started. */
function gatedJudge() {
  const gates: (() => void)[] = [];
  let started = 0;
  const judge: Judge = {
    analyze: () => {
      started++;
      return new Promise((resolve) => gates.push(() => resolve(result)));
    },
  };
  return {
    judge,
    started: () => started,
    releaseAll: () => {
      for (const g of gates.splice(0)) g();
    },
  };
}

function appWith(
  judge: Judge,
  admission = createAdmission({ maxInFlight: 2, maxQueued: 1, queueWaitMs: 5_000 }),
  deadlineMs = 10_000,
) {
  return createApp({
    judge,
    prometheus: { ping: async () => ({ reachable: true, latencyMs: 1 }) },
    logger: createLogger({ level: 'error', silent: true }),
    metrics: createMetrics('test', { processMetrics: false }),
    admission,
    deadlineMs,
  });
}

const until = async (cond: () => boolean): Promise<void> => {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
};

describe('admission control', () => {
  it('computes up to the bound, queues a few, refuses the rest at once with 503 overloaded', async () => {
    const g = gatedJudge();
    const admission = createAdmission({ maxInFlight: 2, maxQueued: 1, queueWaitMs: 5_000 });
    const a = appWith(g.judge, admission);
    const inFlight = [0, 1, 2].map(() =>
      request(a)
        .post('/api/v1/analyses')
        .send(body)
        .then((r) => r),
    );
    await until(() => admission.inFlight === 2 && admission.queued === 1);
    expect(g.started()).toBe(2);
    const refused = await request(a).post('/api/v1/analyses').send(body);
    expect(refused.status).toBe(503);
    expect(refused.body.error.code).toBe('overloaded');
    expect(refused.body.error.message).toBe(
      'the judge is computing 2 analyses and 1 are waiting; retry shortly',
    );
    // Refused before the body is read or validated: a refusal must cost next to nothing.
    const unread = await request(a).post('/api/v1/analyses').send('{"not": "an analysis"');
    expect([unread.status, unread.body.error.code]).toEqual([503, 'overloaded']);
    // Releasing the first two lets the queued one in; then everything is answered.
    g.releaseAll();
    await until(() => g.started() === 3);
    g.releaseAll();
    const answers = await Promise.all(inFlight);
    expect(answers.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(admission.inFlight).toBe(0);
  });

  it('refuses a queued analysis whose wait for a slot runs out', async () => {
    const g = gatedJudge();
    const admission = createAdmission({ maxInFlight: 1, maxQueued: 4, queueWaitMs: 50 });
    const a = appWith(g.judge, admission);
    const first = request(a)
      .post('/api/v1/analyses')
      .send(body)
      .then((r) => r);
    await until(() => admission.inFlight === 1);
    const waited = await request(a).post('/api/v1/analyses').send(body);
    expect(waited.status).toBe(503);
    expect(waited.body.error).toEqual({
      code: 'overloaded',
      message: 'no analysis slot freed within 50 ms; retry shortly',
    });
    g.releaseAll();
    expect((await first).status).toBe(200);
  });
});

describe('the deadline, end to end', () => {
  it('answers 504 at the deadline even when the judge ignores its abort, and frees the slot only when the judge stops', async () => {
    const g = gatedJudge();
    const admission = createAdmission({ maxInFlight: 1, maxQueued: 0, queueWaitMs: 0 });
    const a = appWith(g.judge, admission, 100);
    const t0 = performance.now();
    const res = await request(a).post('/api/v1/analyses').send(body);
    const elapsed = performance.now() - t0;
    expect(res.status).toBe(504);
    expect(res.body.error).toEqual({
      code: 'deadline_exceeded',
      message: 'the analysis took longer than its 100 ms deadline',
    });
    // The deadline plus the grace for a judge that does not stop (generous bound: CI machines).
    expect(elapsed).toBeLessThan(2_000);
    expect(admission.inFlight).toBe(1);
    g.releaseAll();
    await until(() => admission.inFlight === 0);
    expect(admission.inFlight).toBe(0);
  });

  it('passes the abort to the judge at the deadline, with the deadline as its reason', async () => {
    let reason: unknown;
    const judge: Judge = {
      analyze: (_r, o) =>
        new Promise((_, reject) => {
          o?.signal?.addEventListener('abort', () => {
            reason = o.signal?.reason;
            reject(o.signal?.reason as Error);
          });
        }),
    };
    const res = await request(appWith(judge, undefined, 80))
      .post('/api/v1/analyses')
      .send(body);
    expect(res.status).toBe(504);
    expect(reason).toMatchObject({ code: 'deadline_exceeded' });
  });
});

describe('shutdown', () => {
  it('closes the connection of an answer given after shutdown began, even for a request that arrived before', async () => {
    let shuttingDown = false;
    const judge: Judge = {
      analyze: async () => {
        // SIGTERM arrives while this analysis is being computed.
        shuttingDown = true;
        return result;
      },
    };
    const a = createApp({
      judge,
      prometheus: { ping: async () => ({ reachable: true, latencyMs: 1 }) },
      logger: createLogger({ level: 'error', silent: true }),
      metrics: createMetrics('test', { processMetrics: false }),
      isShuttingDown: () => shuttingDown,
    });
    const res = await request(a).post('/api/v1/analyses').send(body).expect(200);
    expect(res.headers['connection']).toBe('close');
    const refused = await request(a).post('/api/v1/analyses').send(body).expect(503);
    expect(refused.headers['connection']).toBe('close');
    expect(refused.body.error.code).toBe('shutting_down');
  });
});

describe('/readyz', () => {
  it('asks Prometheus at most once per cache period, however often it is probed', async () => {
    let pings = 0;
    const a = createApp({
      judge: gatedJudge().judge,
      prometheus: {
        ping: async () => {
          pings++;
          return { reachable: true, latencyMs: 1 };
        },
      },
      logger: createLogger({ level: 'error', silent: true }),
      metrics: createMetrics('test', { processMetrics: false }),
      readyCacheMs: 60_000,
    });
    await Promise.all(Array.from({ length: 50 }, () => request(a).get('/readyz').expect(200)));
    expect(pings).toBe(1);
  });
});
