/**
 * The HTTP layer alone (supertest). The judge and the Prometheus ping are stand-ins here: this
 * file checks transport behaviour (auth, validation, error mapping, response shape); the judge
 * against a real Prometheus is covered in test/integration.
 */

import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, HTTP_STATUS, JudgeError, type ErrorCode } from '../../../../src/errors.js';
import type { AnalysisResult, Judge } from '../../../../src/judge/index.js';
import { createLogger, createMetrics } from '../../../../src/observability/index.js';
import type { Reachability } from '../../../../src/prometheus/client.js';
import { createApp, type AppOptions } from '../../../../src/server/http/app.js';

const body = {
  rollout: { name: 'catalogo', namespace: 'catalogo' },
  selector: { mode: 'pod-hash', canary: '6b7f9c8d5', stable: '5d4c7b9f8' },
  checks: [{ type: 'error-rate', alpha: '0.01' }],
};

const result: AnalysisResult = {
  verdict: 'Fail',
  score: 0,
  summary:
    'Fail error-rate: canary 3.1% (31/1000) vs stable 1.0% (990/99000), ratio 3.1 [2.2, 4.3], e=412 ≥ 100 → regression',
  judge: 'canary-judge/test',
  rollout: { name: 'catalogo', namespace: 'catalogo' },
  selector: { mode: 'pod-hash', canary: '6b7f9c8d5', stable: '5d4c7b9f8' },
  window: {
    start: '2026-01-01T00:00:00.000Z',
    end: '2026-01-01T00:30:00.000Z',
    interval: '60s',
    intervals: 30,
    startSource: 'canary-first-sample',
  },
  scorecard: { reason: 'critical_failure', maxScore: 0, failBelow: 75, familyWiseAlpha: 0.01 },
  checks: [],
  timing: { totalMs: 3, prometheusMs: 2, queries: 4 },
};

function app(
  overrides: Partial<AppOptions> & { analyze?: Judge['analyze']; ping?: () => Promise<Reachability> } = {},
) {
  const metrics = createMetrics('test', { processMetrics: false });
  const seen: unknown[] = [];
  const judge: Judge = overrides.analyze
    ? { analyze: overrides.analyze }
    : {
        analyze: async (r) => {
          seen.push(r);
          return result;
        },
      };
  const a = createApp({
    judge,
    prometheus: { ping: overrides.ping ?? (async () => ({ reachable: true, latencyMs: 1 })) },
    logger: createLogger({ level: 'error', silent: true }),
    metrics,
    ...overrides,
  });
  return { a, metrics, seen };
}

describe('POST /api/v1/analyses', () => {
  it('answers 200 with the verdict and passes the parsed request to the judge', async () => {
    const { a, seen } = app();
    const res = await request(a).post('/api/v1/analyses').send(body).expect(200);
    expect(res.body.verdict).toBe('Fail');
    expect(res.body.summary).toMatch(/^Fail error-rate/);
    expect(res.headers['content-type']).toMatch(/application\/json/);
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(seen[0]).toMatchObject({
      checks: [{ type: 'error-rate', alpha: 0.01 }],
      interval: { seconds: 60 },
    });
  });

  it('parses a JSON body sent without a JSON content type (as Argo may send it)', async () => {
    const { a } = app();
    await request(a)
      .post('/api/v1/analyses')
      .set('Content-Type', 'text/plain')
      .send(JSON.stringify(body))
      .expect(200);
  });

  it('keeps a well-formed X-Request-Id from the caller', async () => {
    const { a } = app();
    const res = await request(a).post('/api/v1/analyses').set('X-Request-Id', 'argo-run-42').send(body);
    expect(res.headers['x-request-id']).toBe('argo-run-42');
  });

  it('answers 400 naming the field, and never calls the judge', async () => {
    const { a, seen } = app();
    const res = await request(a)
      .post('/api/v1/analyses')
      .send({ ...body, checks: [{ type: 'error-rate', alpha: 'lots' }] })
      .expect(400);
    expect(res.body).toEqual({
      error: {
        code: 'invalid_request',
        message: 'checks[0].alpha must be a number or a numeric string',
        field: 'checks[0].alpha',
      },
    });
    expect(seen).toHaveLength(0);
  });

  it('refuses a PromQL injection attempt in a label value with 400', async () => {
    const { a, seen } = app();
    const res = await request(a)
      .post('/api/v1/analyses')
      .send({ ...body, selector: { mode: 'pod-hash', canary: 'abc"} or vector(1) #', stable: '5d4c7b9f8' } })
      .expect(400);
    expect(res.body.error.field).toBe('selector.canary');
    expect(seen).toHaveLength(0);
  });

  it('lists every problem when there are several', async () => {
    const { a } = app();
    const res = await request(a)
      .post('/api/v1/analyses')
      .send({ rollout: { name: 'x' }, checks: [] })
      .expect(400);
    expect(res.body.error.details.map((d: { field: string }) => d.field)).toEqual(
      expect.arrayContaining(['rollout.namespace', 'selector', 'checks']),
    );
  });

  it('answers 400 JSON for a body that is not JSON', async () => {
    const { a } = app();
    const res = await request(a)
      .post('/api/v1/analyses')
      .set('Content-Type', 'application/json')
      .send('{"rollout":')
      .expect(400);
    expect(res.body).toEqual({
      error: { code: 'invalid_request', message: 'the request body is not valid JSON', field: 'body' },
    });
  });

  it('answers 413 JSON for a body over 64 KiB', async () => {
    const { a } = app();
    const res = await request(a)
      .post('/api/v1/analyses')
      .send({ ...body, pad: 'x'.repeat(70_000) })
      .expect(413);
    expect(res.body.error.code).toBe('payload_too_large');
  });

  it.each(ERROR_CODES.filter((c) => c !== 'invalid_request'))(
    'maps a judge error %s to its status with a JSON body',
    async (code: ErrorCode) => {
      const { a } = app({
        analyze: async () => {
          throw new JudgeError(code, `boom ${code}`);
        },
      });
      const res = await request(a).post('/api/v1/analyses').send(body);
      expect(res.status).toBe(HTTP_STATUS[code]);
      expect(res.body).toEqual({ error: { code, message: `boom ${code}` } });
    },
  );

  it('answers 500 JSON without a stack trace for an unexpected exception', async () => {
    const { a } = app({
      analyze: async () => {
        throw new TypeError('secret internals at /src/x.ts:1');
      },
    });
    const res = await request(a).post('/api/v1/analyses').send(body).expect(500);
    expect(res.body).toEqual({ error: { code: 'internal', message: 'internal error' } });
  });

  it('maps Prometheus trouble to 502/503/504', () => {
    expect(HTTP_STATUS.prometheus_bad_response).toBe(502);
    expect(HTTP_STATUS.prometheus_unavailable).toBe(503);
    expect(HTTP_STATUS.prometheus_timeout).toBe(504);
    expect(HTTP_STATUS.deadline_exceeded).toBe(504);
  });

  it('answers 503 shutting_down once shutdown began', async () => {
    const { a } = app({ isShuttingDown: () => true });
    const res = await request(a).post('/api/v1/analyses').send(body).expect(503);
    expect(res.body.error.code).toBe('shutting_down');
  });
});

describe('bearer token', () => {
  const token = 'a-long-enough-test-token';

  it('refuses a missing or wrong token with 401 JSON', async () => {
    const { a, seen } = app({ authToken: token });
    for (const h of [undefined, 'Bearer nope', `Basic ${token}`, token]) {
      const req = request(a).post('/api/v1/analyses');
      if (h !== undefined) req.set('Authorization', h);
      const res = await req.send(body);
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('unauthorized');
    }
    expect(seen).toHaveLength(0);
  });

  it('accepts the right token, and leaves probes open', async () => {
    const { a } = app({ authToken: token });
    await request(a).post('/api/v1/analyses').set('Authorization', `Bearer ${token}`).send(body).expect(200);
    await request(a).get('/healthz').expect(200);
    await request(a).get('/readyz').expect(200);
  });
});

describe('probes, metrics and unknown paths', () => {
  it('reports Prometheus reachability in /readyz without failing on it', async () => {
    const { a } = app({
      ping: async () => ({ reachable: false, error: { code: 'prometheus_unavailable', message: 'down' } }),
    });
    const res = await request(a).get('/readyz').expect(200);
    expect(res.body).toEqual({
      status: 'ready',
      prometheus: { reachable: false, error: { code: 'prometheus_unavailable', message: 'down' } },
    });
  });

  it('fails /readyz while shutting down, so the Service stops sending traffic', async () => {
    const { a } = app({ isShuttingDown: () => true });
    await request(a).get('/readyz').expect(503);
    await request(a).get('/healthz').expect(200);
  });

  it('counts requests by endpoint, status and verdict on its own registry', async () => {
    const { a } = app();
    await request(a).post('/api/v1/analyses').send(body).expect(200);
    await request(a).post('/api/v1/analyses').send({}).expect(400);
    const res = await request(a).get('/metrics').expect(200);
    expect(res.text).toContain(
      'canary_judge_http_requests_total{endpoint="analyses",status="200",verdict="Fail"} 1',
    );
    expect(res.text).toContain(
      'canary_judge_http_requests_total{endpoint="analyses",status="400",verdict="none"} 1',
    );
    expect(res.text).toMatch(/canary_judge_build_info\{version="test",nodejs="[\d.]+"\} 1/);
    expect(res.text).toContain('canary_judge_analysis_duration_seconds_bucket');
  });

  it('answers 404 JSON for unknown paths and methods', async () => {
    const { a } = app();
    const res = await request(a).get('/api/v1/analyses').expect(404);
    expect(res.body.error.code).toBe('not_found');
    await request(a).get('/nope').expect(404);
  });
});
