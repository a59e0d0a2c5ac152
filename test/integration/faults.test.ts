/**
 * The full judge (HTTP, in-process) against a fault-injecting stand-in for Prometheus
 * (harness/fault-prometheus.ts): each fault a query layer, a proxy or a bad day can produce,
 * with the exact answer the judge gives. The honest data is a clear Fail (canary 1% errors vs
 * stable 0.5%), so a fault that made the judge miscount would show as a Pass.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startFaultPrometheus,
  CANARY_HASH,
  STABLE_HASH,
  type FaultPrometheus,
} from './harness/fault-prometheus.js';
import { startJudge, type JudgeHandle } from './harness/judge.js';

let prom: FaultPrometheus;
let judge: JudgeHandle;
const TOKEN = 'upstream-secret-token-value';

/** 30 one-minute intervals ending at the last full hour. */
const end = Math.floor(Date.now() / 3_600_000) * 3600;
const start = end - 30 * 60;
const iso = (s: number): string => new Date(s * 1000).toISOString();

const errorRate = { type: 'error-rate', alpha: '0.01', criticalEffect: '2', power: '0.8', critical: 'true' };
const latency = { type: 'latency', thresholdMs: '250', alpha: '0.01', criticalEffect: '2', power: '0.8' };

function body(checks: unknown[] = [errorRate]) {
  return {
    rollout: { name: 'catalogo', namespace: 'catalogo' },
    selector: { mode: 'pod-hash', canary: CANARY_HASH, stable: STABLE_HASH },
    start: iso(start),
    end: iso(end),
    interval: '60s',
    checks,
  };
}

beforeAll(async () => {
  prom = await startFaultPrometheus();
  judge = await startJudge(prom.url, { CANARY_JUDGE_PROMETHEUS_BEARER_TOKEN: TOKEN });
});

afterAll(async () => {
  await judge?.close();
  await prom?.close();
});

describe('honest data', () => {
  it('fails the canary with twice the stable error rate', async () => {
    prom.fault = 'none';
    const r = await judge.analyze(body());
    expect(r.status).toBe(200);
    expect(r.body.verdict).toBe('Fail');
    expect(r.body.checks[0]).toMatchObject({
      reason: 'regression_detected',
      canary: { requests: 30_000, bad: 300 },
      stable: { requests: 270_000, bad: 1350 },
    });
  });
});

describe('duplicated or misplaced points are refused, never summed into a Pass', () => {
  it.each([
    [
      'duplicate-timestamps',
      `Prometheus answered two points at t=${start} in one series: duplicated data, refused`,
    ],
    [
      'duplicate-series',
      `Prometheus answered two series with the same labels {pod="catalogo-${CANARY_HASH}-x2x4z", response_code="200"}: duplicated data, refused`,
    ],
    [
      'off-grid',
      `Prometheus answered a point at t=${start + 30}, off the requested grid (${start} to ${end} every 60s), refused`,
    ],
  ] as const)('%s: 502 when it is the only check', async (fault, message) => {
    prom.fault = fault;
    const r = await judge.analyze(body());
    expect(r.status).toBe(502);
    expect(r.body).toEqual({ error: { code: 'prometheus_bad_response', message } });
  });

  it.each(['duplicate-timestamps', 'duplicate-series', 'off-grid'] as const)(
    '%s: the check is Inconclusive query_error beside a healthy check, and the card does not pass',
    async (fault) => {
      prom.fault = fault;
      const r = await judge.analyze(body([errorRate, latency]));
      expect(r.status).toBe(200);
      expect(r.body.verdict).toBe('Inconclusive');
      expect(r.body.checks[0]).toMatchObject({
        name: 'error-rate',
        verdict: 'Inconclusive',
        reason: 'query_error',
        error: { code: 'prometheus_bad_response' },
      });
      expect(r.body.checks[1]).toMatchObject({
        name: 'latency',
        reason: expect.not.stringMatching(/query_error/),
      });
    },
  );
});

describe('malformed answers are a 502, never a 500', () => {
  it.each([
    ['null-result', 'Prometheus answered a malformed series'],
    ['object-result', 'Prometheus answered resultType "matrix", expected matrix'],
    ['number-values', 'Prometheus answered a malformed sample'],
  ] as const)('%s', async (fault, message) => {
    prom.fault = fault;
    const r = await judge.analyze(body([errorRate, latency]));
    expect(r.status).toBe(502);
    expect(r.body).toEqual({ error: { code: 'prometheus_bad_response', message } });
  });
});

describe('values that are no counts are invalid data', () => {
  it.each(['huge-values', 'nan-values'] as const)(
    '%s: every check Inconclusive invalid_data',
    async (fault) => {
      prom.fault = fault;
      const r = await judge.analyze(body([errorRate, latency]));
      expect(r.status).toBe(200);
      expect(r.body.verdict).toBe('Inconclusive');
      expect(r.body.checks.map((c: { reason: string }) => c.reason)).toEqual([
        'invalid_data',
        'invalid_data',
      ]);
    },
  );
});

describe('a huge or endless answer', () => {
  it('abandons a 100 MB answer at the size cap: a 502 well within the deadline, and the service stays responsive', async () => {
    prom.fault = 'huge-answer';
    const t0 = performance.now();
    const pending = judge.analyze(body());
    // /healthz answers while the answer streams in.
    const h0 = performance.now();
    const health = await fetch(`${judge.url}/healthz`);
    const healthMs = performance.now() - h0;
    const r = await pending;
    const elapsed = performance.now() - t0;
    expect(health.status).toBe(200);
    expect(healthMs).toBeLessThan(1_000);
    expect(r.status).toBe(502);
    expect(r.body).toEqual({
      error: {
        code: 'prometheus_bad_response',
        message: `Prometheus answered more than ${8 * 1024 * 1024} bytes (CANARY_JUDGE_PROMETHEUS_MAX_RESPONSE_BYTES); narrow the query or raise the limit`,
      },
    });
    expect(elapsed).toBeLessThan(8_000);
    // The judge stopped reading each answer soon after the cap: the 8 MiB it read, plus what
    // the sockets' buffers held, far from the 100 MB.
    await new Promise((r2) => setTimeout(r2, 200));
    expect(prom.huge.aborted).toBeGreaterThan(0);
    expect(prom.huge.maxWritten).toBeLessThan(40 * 1024 * 1024);
  });

  it('answers 504 at the deadline when the body drips in', async () => {
    prom.fault = 'drip';
    const hurried = await startJudge(prom.url, {
      CANARY_JUDGE_ANALYSIS_DEADLINE: '1s',
      CANARY_JUDGE_ANALYSIS_QUEUE_WAIT: '500ms',
    });
    try {
      const t0 = performance.now();
      const r = await hurried.analyze(body());
      const elapsed = performance.now() - t0;
      expect(r.status).toBe(504);
      expect(r.body.error.code).toBe('deadline_exceeded');
      expect(elapsed).toBeLessThan(1_000 + 1_000);
    } finally {
      await hurried.close();
    }
  });
});

describe('redirects and upstream error bodies', () => {
  it('does not follow a redirect: the query and the token never reach the other host', async () => {
    const other = await startFaultPrometheus();
    try {
      prom.fault = 'redirect';
      prom.redirectTo = other.url;
      const r = await judge.analyze(body());
      expect(r.status).toBe(502);
      expect(r.body.error.code).toBe('prometheus_bad_response');
      expect(r.body.error.message).toMatch(
        /^Prometheus answered a redirect \(HTTP 307\); redirects are not followed/,
      );
      expect(other.hits).toEqual([]);
    } finally {
      await other.close();
    }
  });

  it('never repeats an upstream body that echoes the credentials, in 502s or /readyz', async () => {
    prom.fault = 'echo-credentials';
    const r = await judge.analyze(body());
    expect(r.status).toBe(502);
    expect(r.body).toEqual({
      error: { code: 'prometheus_bad_response', message: 'Prometheus answered HTTP 500' },
    });
    const fresh = await startJudge(prom.url, { CANARY_JUDGE_PROMETHEUS_BEARER_TOKEN: TOKEN });
    try {
      const ready = await (await fetch(`${fresh.url}/readyz`)).text();
      expect(ready).not.toContain(TOKEN);
      expect(JSON.parse(ready)).toEqual({
        status: 'ready',
        prometheus: {
          reachable: false,
          error: { code: 'prometheus_bad_response', message: 'Prometheus answered HTTP 500' },
        },
      });
    } finally {
      await fresh.close();
    }
  });
});

describe('/readyz', () => {
  it('asks Prometheus once for a burst of probes', async () => {
    prom.fault = 'none';
    const fresh = await startJudge(prom.url);
    try {
      const before = prom.hits.filter((h) => h.path === '/api/v1/query').length;
      const answers = await Promise.all(
        Array.from({ length: 200 }, () => fetch(`${fresh.url}/readyz`).then((r) => r.status)),
      );
      expect(answers.every((s) => s === 200)).toBe(true);
      expect(prom.hits.filter((h) => h.path === '/api/v1/query').length - before).toBe(1);
    } finally {
      await fresh.close();
    }
  });
});
