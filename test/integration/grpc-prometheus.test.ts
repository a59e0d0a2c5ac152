/**
 * The gRPC API end to end: a grpc-js client (the generated one) on a loopback port, the judge
 * service as main.ts starts it, a real Prometheus (Debian package) backfilled with one hour of
 * deterministic Istio-shaped history by promtool. Checks that gRPC answers what HTTP answers,
 * refuses what HTTP refuses, and never answers a verdict when Prometheus is away.
 */

import { credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AnalyzeRequest,
  Check,
  JudgeServiceClient,
  Reason,
  Scorecard_Reason,
  Verdict,
  type AnalyzeResponse,
} from '../../src/gen/canary_judge/v1/judge.js';
import {
  HealthCheckResponse_ServingStatus as Serving,
  HealthClient,
  type HealthCheckResponse,
} from '../../src/gen/grpc/health/v1/health.js';
import { CODE_TRAILER, FIELD_TRAILER } from '../../src/server/grpc/index.js';
import { startJudge, type JudgeHandle } from './harness/judge.js';
import { startPrometheus, type PrometheusHandle } from '../support/prometheus.js';
import { CANARY_HASH, STABLE_HASH, combined, type ScenarioName } from './harness/scenarios.js';
import { openMetrics } from './harness/simulation.js';

const NAMES: ScenarioName[] = ['healthy', 'error-3x', 'no-canary'];
const HOUR = 3600;
const TOKEN = 'grpc-test-token-0123456789';
const VERDICT_NAME: Record<string, Verdict> = {
  Pass: Verdict.VERDICT_PASS,
  Fail: Verdict.VERDICT_FAIL,
  Inconclusive: Verdict.VERDICT_INCONCLUSIVE,
};

let prom: PrometheusHandle;
let judge: JudgeHandle;
let client: JudgeServiceClient;
const extraJudges: JudgeHandle[] = [];
const clients: { close(): void }[] = [];
let t0: number;

const iso = (unix: number): string => new Date(unix * 1000).toISOString();

function httpBody(namespace: string, minutes: number) {
  return {
    rollout: { name: 'catalogo', namespace },
    selector: { mode: 'pod-hash', canary: CANARY_HASH, stable: STABLE_HASH },
    start: iso(t0),
    end: iso(t0 + minutes * 60),
    interval: '60s',
    checks: [{ type: 'error-rate' }, { type: 'latency', quantile: 0.99 }],
  };
}

function grpcRequest(namespace: string, minutes: number, checks?: Check[]): AnalyzeRequest {
  return AnalyzeRequest.fromPartial({
    rollout: { name: 'catalogo', namespace },
    selector: { mode: { $case: 'podHash', value: { canary: CANARY_HASH, stable: STABLE_HASH } } },
    start: iso(t0),
    end: iso(t0 + minutes * 60),
    interval: '60s',
    checks: checks ?? [
      Check.fromPartial({ kind: { $case: 'errorRate', value: {} } }),
      Check.fromPartial({
        kind: { $case: 'latency', value: { threshold: { $case: 'quantile', value: 0.99 } } },
      }),
    ],
  });
}

function bearer(token = TOKEN): Metadata {
  const m = new Metadata();
  m.set('authorization', `Bearer ${token}`);
  return m;
}

function connect(port: number): JudgeServiceClient {
  const c = new JudgeServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
  clients.push(c);
  return c;
}

type Outcome = { ok: true; response: AnalyzeResponse } | { ok: false; error: ServiceError };

/** One Analyze call; resolves with the response or the status, never throws. */
function analyze(
  c: JudgeServiceClient,
  req: AnalyzeRequest,
  metadata = bearer(),
  deadlineMs = 30_000,
): Promise<Outcome> {
  return new Promise((resolve) => {
    c.analyze(req, metadata, { deadline: Date.now() + deadlineMs }, (error, response) => {
      if (error !== null) resolve({ ok: false, error });
      else resolve({ ok: true, response });
    });
  });
}

async function analyzeOk(req: AnalyzeRequest): Promise<AnalyzeResponse> {
  const r = await analyze(client, req);
  if (!r.ok) throw new Error(`Analyze failed: ${r.error.code} ${r.error.details}`);
  return r.response;
}

async function analyzeError(
  c: JudgeServiceClient,
  req: AnalyzeRequest,
  metadata?: Metadata,
  deadlineMs?: number,
): Promise<ServiceError> {
  const r = await analyze(c, req, metadata, deadlineMs);
  if (r.ok) throw new Error(`expected an error, got verdict ${Verdict[r.response.verdict]}`);
  return r.error;
}

function healthCheck(h: HealthClient, service: string): Promise<HealthCheckResponse | ServiceError> {
  return new Promise((resolve) => h.check({ service }, (err, res) => resolve(err ?? res)));
}

async function inFlight(j: JudgeHandle): Promise<number> {
  const text = await (await fetch(`${j.url}/metrics`)).text();
  const m = /^canary_judge_analyses_in_flight (\S+)$/m.exec(text);
  if (m === null) throw new Error('no in-flight gauge in /metrics');
  return Number(m[1]);
}

const grpcPort = (j: JudgeHandle): number => {
  const p = j.service.grpcPort;
  if (p === undefined) throw new Error('the judge started without its gRPC API');
  return p;
};

beforeAll(async () => {
  const now = Math.floor(Date.now() / 1000);
  t0 = Math.floor((now - HOUR - 600) / 60) * 60;
  prom = await startPrometheus({ backfill: openMetrics(combined(NAMES, 42), t0, HOUR, 15) });
  judge = await startJudge(prom.url, { CANARY_JUDGE_AUTH_TOKEN: TOKEN });
  client = connect(grpcPort(judge));
});

afterAll(async () => {
  for (const c of clients) c.close();
  for (const j of extraJudges) await j.close();
  await judge?.close();
  if (prom !== undefined) {
    prom.resume();
    await prom.close();
  }
});

describe('Analyze over gRPC', () => {
  it.each([
    ['healthy', 'Pass'],
    ['error-3x', 'Fail'],
    ['no-canary', 'Inconclusive'],
  ] as const)('answers the HTTP API verdict, score and counts for %s (%s)', async (namespace, expected) => {
    const http = await judge.analyze(httpBody(namespace, 60), { Authorization: `Bearer ${TOKEN}` });
    expect(http.status).toBe(200);
    expect(http.body.verdict).toBe(expected);
    const g = await analyzeOk(grpcRequest(namespace, 60));

    expect(g.verdict).toBe(VERDICT_NAME[expected]);
    expect(g.score).toBe(http.body.score);
    expect(g.summary).toBe(http.body.summary);
    expect(g.window?.intervals).toBe(http.body.window.intervals);
    expect(g.window?.start).toBe(http.body.window.start);
    expect(g.scorecard?.maxScore).toBe(http.body.scorecard.maxScore);
    expect(g.scorecard?.failBelow).toBe(http.body.scorecard.failBelow);
    expect(Scorecard_Reason[g.scorecard?.reason ?? Scorecard_Reason.REASON_UNSPECIFIED]).toBe(
      `REASON_${String(http.body.scorecard.reason).toUpperCase()}`,
    );
    expect(g.checks).toHaveLength(http.body.checks.length);
    g.checks.forEach((c, i) => {
      const h = http.body.checks[i];
      expect(c.name).toBe(h.name);
      expect(Reason[c.reason]).toBe(`REASON_${String(h.reason).toUpperCase()}`);
      expect(c.canary?.requests).toBe(h.canary.requests);
      expect(c.canary?.bad).toBe(h.canary.bad);
      expect(c.canary?.rate ?? null).toBe(h.canary.rate);
      expect(c.stable?.requests).toBe(h.stable.requests);
      expect(c.evidence).toEqual(h.evidence);
      expect(c.power).toEqual(h.power);
      expect(c.queries).toEqual(h.queries);
    });
  });

  it('explains a Fail with the effect, the evidence and the PromQL', async () => {
    const g = await analyzeOk(grpcRequest('error-3x', 60));
    const er = g.checks.find((c) => c.name === 'error-rate');
    expect(er?.reason).toBe(Reason.REASON_REGRESSION_DETECTED);
    expect(er?.effect?.ratio).toBeGreaterThan(2.5);
    expect(er?.effect?.ratio).toBeLessThan(3.5);
    expect(er?.evidence?.eValue).toBeGreaterThanOrEqual(er?.evidence?.threshold ?? Infinity);
    // One query for both sides' requests: each side's hash in its pod pattern.
    expect(
      er?.queries.some((q) => /pod=~"catalogo-\(\?:\w+\|\w+\)-/.test(q) && q.includes(CANARY_HASH)),
    ).toBe(true);
  });

  it('refuses an invalid request with INVALID_ARGUMENT naming the proto field', async () => {
    const bad = grpcRequest('healthy', 60, [
      Check.fromPartial({ alpha: 0.7, kind: { $case: 'errorRate', value: {} } }),
    ]);
    const e = await analyzeError(client, bad);
    expect(e.code).toBe(status.INVALID_ARGUMENT);
    expect(e.details).toBe('checks[0].alpha: alpha must be ≤ 0.5');
    expect(e.metadata.get(CODE_TRAILER)).toEqual(['invalid_request']);
    expect(e.metadata.get(FIELD_TRAILER)).toEqual(['checks[0].alpha']);

    const injected = grpcRequest('healthy', 60);
    injected.selector = {
      mode: { $case: 'service', value: { canary: 'x"} or vector(1) #', stable: 'catalogo-stable' } },
    };
    const e2 = await analyzeError(client, injected);
    expect(e2.code).toBe(status.INVALID_ARGUMENT);
    expect(e2.metadata.get(FIELD_TRAILER)).toEqual(['selector.service.canary']);
  });

  it('counts calls by method, status and verdict in /metrics', async () => {
    const text = await (await fetch(`${judge.url}/metrics`)).text();
    const count = (labels: string): number =>
      Number(
        new RegExp(`^canary_judge_grpc_requests_total\\{${labels}\\} (\\S+)$`, 'm').exec(text)?.[1] ?? 0,
      );
    // Earlier tests in this file: three verdicts (Pass, Fail, Inconclusive), one more Fail, two refusals.
    expect(count('method="Analyze",code="OK",verdict="Fail"')).toBeGreaterThanOrEqual(2);
    expect(count('method="Analyze",code="OK",verdict="Pass"')).toBeGreaterThanOrEqual(1);
    expect(count('method="Analyze",code="INVALID_ARGUMENT",verdict="none"')).toBe(2);
  });

  it('requires the bearer token on Analyze, not on health', async () => {
    const none = await analyzeError(client, grpcRequest('healthy', 60), new Metadata());
    expect(none.code).toBe(status.UNAUTHENTICATED);
    const wrong = await analyzeError(client, grpcRequest('healthy', 60), bearer('not-the-token-at-all'));
    expect(wrong.code).toBe(status.UNAUTHENTICATED);
    expect(wrong.metadata.get(CODE_TRAILER)).toEqual(['unauthorized']);

    const health = new HealthClient(`127.0.0.1:${grpcPort(judge)}`, credentials.createInsecure());
    clients.push(health);
    expect(await healthCheck(health, '')).toEqual({ status: Serving.SERVING });
    expect(await healthCheck(health, 'canary_judge.v1.JudgeService')).toEqual({ status: Serving.SERVING });
    const unknown = await healthCheck(health, 'no.such.Service');
    expect((unknown as ServiceError).code).toBe(status.NOT_FOUND);
  });
});

describe('Prometheus trouble over gRPC', () => {
  it('answers UNAVAILABLE, not a verdict, while Prometheus is stopped, and recovers', async () => {
    const before = await analyzeOk(grpcRequest('healthy', 60));
    await prom.stop();
    try {
      const e = await analyzeError(client, grpcRequest('healthy', 60));
      expect(e.code).toBe(status.UNAVAILABLE);
      expect(e.metadata.get(CODE_TRAILER)).toEqual(['prometheus_unavailable']);
      expect(e.details).toMatch(/unreachable/);
    } finally {
      await prom.start();
    }
    const after = await analyzeOk(grpcRequest('healthy', 60));
    expect(after.verdict).toBe(before.verdict);
    expect(after.checks[0]?.canary).toEqual(before.checks[0]?.canary);
  });

  it('answers DEADLINE_EXCEEDED when Prometheus hangs', async () => {
    const impatient = await startJudge(prom.url, { CANARY_JUDGE_PROMETHEUS_TIMEOUT: '300ms' });
    extraJudges.push(impatient);
    const c = connect(grpcPort(impatient));
    prom.pause(); // SIGSTOP: connections are accepted, never answered
    try {
      const e = await analyzeError(c, grpcRequest('healthy', 60), new Metadata());
      expect(e.code).toBe(status.DEADLINE_EXCEEDED);
      expect(e.metadata.get(CODE_TRAILER)).toEqual(['prometheus_timeout']);
    } finally {
      prom.resume();
    }
    expect((await analyze(c, grpcRequest('healthy', 60), new Metadata())).ok).toBe(true);
  });

  it("stops the analysis when the client's own deadline passes", async () => {
    const patient = await startJudge(prom.url, {
      CANARY_JUDGE_PROMETHEUS_TIMEOUT: '30s',
      CANARY_JUDGE_ANALYSIS_DEADLINE: '30s',
    });
    extraJudges.push(patient);
    const c = connect(grpcPort(patient));
    prom.pause();
    try {
      const e = await analyzeError(c, grpcRequest('healthy', 60), new Metadata(), 400);
      expect(e.code).toBe(status.DEADLINE_EXCEEDED);
      // The server saw the cancellation and let go of the analysis long before its own 30 s.
      const until = Date.now() + 3000;
      while ((await inFlight(patient)) !== 0 && Date.now() < until)
        await new Promise((r) => setTimeout(r, 50));
      expect(await inFlight(patient)).toBe(0);
    } finally {
      prom.resume();
    }
  });
});

describe('graceful shutdown', () => {
  it('finishes an in-flight analysis, turns health NOT_SERVING and refuses new calls', async () => {
    const j = await startJudge(prom.url);
    const port = grpcPort(j);
    const c = connect(port);
    const health = new HealthClient(`127.0.0.1:${port}`, credentials.createInsecure());
    clients.push(health);
    const seen: Serving[] = [];
    const watch = health.watch({ service: '' });
    const watchEnded = new Promise<void>((resolve) => {
      watch.on('data', (r: HealthCheckResponse) => seen.push(r.status));
      watch.on('end', () => resolve());
      watch.on('error', () => resolve());
    });
    while (seen.length === 0) await new Promise((r) => setTimeout(r, 20));
    expect(seen).toEqual([Serving.SERVING]);

    prom.pause();
    let stopped: Promise<void>;
    let inflight: Promise<Outcome>;
    try {
      inflight = analyze(c, grpcRequest('error-3x', 60), new Metadata());
      while ((await inFlight(j)) !== 1) await new Promise((r) => setTimeout(r, 20));
      stopped = j.close();
      await watchEnded;
      expect(seen).toEqual([Serving.SERVING, Serving.NOT_SERVING]);
    } finally {
      prom.resume();
    }
    const r = await inflight;
    expect(r.ok && r.response.verdict).toBe(Verdict.VERDICT_FAIL);
    await stopped;
    const after = await analyzeError(c, grpcRequest('healthy', 60), new Metadata(), 2000);
    expect(after.code).toBe(status.UNAVAILABLE);
  });
});
