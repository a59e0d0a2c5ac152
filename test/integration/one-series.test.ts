/**
 * One answer, one series, against real Prometheus servers: store `a` holds a rollout whose canary
 * answers 503 twice as often as its stable (a clear Fail); store `b` holds the canary's
 * successful requests once more — an extra series of the canary's request count, nothing of its
 * errors. A naive query layer in front of both (harness/merging-layer.ts) answers the judge's
 * `sum(…)` with one series per store, tagged `store="a"` and `store="b"`: not identical
 * duplicates, so only the rule that a query promising one series must get at most one catches
 * it. Added up, the canary's request count doubles, its error rate halves to the stable's, and
 * the Fail becomes a Pass — which the same data summed inside one Prometheus shows.
 */

import { credentials, Metadata } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AnalyzeRequest,
  Check,
  JudgeServiceClient,
  Reason,
  Verdict,
  type AnalyzeResponse,
} from '../../src/gen/canary_judge/v1/judge.js';
import { startPrometheus, type PrometheusHandle } from '../support/prometheus.js';
import { startJudge, type JudgeHandle } from './harness/judge.js';
import { startMergingLayer, type MergingLayer } from './harness/merging-layer.js';
import { CANARY_HASH, ROLLOUT, STABLE_HASH, scenarioWorkloads } from './harness/scenarios.js';
import { openMetrics, type WorkloadSpec } from './harness/simulation.js';

/** Seconds of history backfilled: the 40-minute window and a little more. */
const HISTORY = 45 * 60;
const SEED = 42;
const MINUTES = 40;

let storeA: PrometheusHandle;
let storeB: PrometheusHandle;
let layer: MergingLayer;
/** The judge on store `a` alone, and through the layer over `a` and `b`. */
let direct: JudgeHandle;
let layered: JudgeHandle;
let grpc: JudgeServiceClient;
let t0: number;

const iso = (unix: number): string => new Date(unix * 1000).toISOString();
const isCanary = (w: WorkloadSpec): boolean => w.rollout === ROLLOUT && w.hash === CANARY_HASH;

/** The rollout in `namespace`: stable 1% errors, canary 2% (no neighbours: selectors are not at stake). */
function regressed(namespace: string): WorkloadSpec[] {
  return scenarioWorkloads('healthy', namespace)
    .filter((w) => w.rollout === ROLLOUT)
    .map((w) => (isCanary(w) ? { ...w, errorRate: 0.02 } : w));
}

/** The canary's request counters once more, every request a success: the extra series. */
function extraCanaryRequests(namespace: string): string[] {
  const canary = regressed(namespace).filter(isCanary);
  const text = openMetrics(
    { seed: SEED + 1, workloads: canary.map((w) => ({ ...w, errorRate: 0 })) },
    t0,
    HISTORY,
    15,
  );
  return text.split('\n').filter((l) => l.startsWith('istio_requests_total{'));
}

/**
 * Store `a`: namespaces `doubled` and `clean` (the same rollout; store `b` has extra series for
 * `doubled` only) and `summed`, where the extra series sit inside this one Prometheus under a
 * label of their own, so that Prometheus' own `sum()` adds them in.
 */
function storeAText(): string {
  const text = openMetrics(
    { seed: SEED, workloads: [...regressed('doubled'), ...regressed('clean'), ...regressed('summed')] },
    t0,
    HISTORY,
    15,
  );
  const extra = extraCanaryRequests('summed').map((l) => l.replace('{', '{store="b",'));
  const histogram = '# TYPE istio_request_duration_milliseconds histogram';
  return text.replace(`${histogram}\n`, `${extra.join('\n')}\n${histogram}\n`);
}

function storeBText(): string {
  return ['# TYPE istio_requests counter', ...extraCanaryRequests('doubled'), '# EOF', ''].join('\n');
}

const errorRate = { type: 'error-rate' };
const latency = { type: 'latency', thresholdMs: 250 };

function request(namespace: string, checks: unknown[] = [errorRate, latency]) {
  return {
    rollout: { name: ROLLOUT, namespace },
    selector: { mode: 'pod-hash', canary: CANARY_HASH, stable: STABLE_HASH },
    start: iso(t0),
    end: iso(t0 + MINUTES * 60),
    interval: '60s',
    checks,
  };
}

function analyzeGrpc(namespace: string): Promise<AnalyzeResponse> {
  const req = AnalyzeRequest.fromPartial({
    rollout: { name: ROLLOUT, namespace },
    selector: { mode: { $case: 'podHash', value: { canary: CANARY_HASH, stable: STABLE_HASH } } },
    start: iso(t0),
    end: iso(t0 + MINUTES * 60),
    interval: '60s',
    checks: [
      Check.fromPartial({ kind: { $case: 'errorRate', value: {} } }),
      Check.fromPartial({
        kind: { $case: 'latency', value: { threshold: { $case: 'thresholdMs', value: 250 } } },
      }),
    ],
  });
  return new Promise((resolve, reject) => {
    grpc.analyze(req, new Metadata(), { deadline: Date.now() + 30_000 }, (error, response) =>
      error === null ? resolve(response) : reject(error),
    );
  });
}

beforeAll(async () => {
  t0 = Math.floor((Date.now() / 1000 - HISTORY - 600) / 60) * 60;
  [storeA, storeB] = await Promise.all([
    startPrometheus({ backfill: storeAText() }),
    startPrometheus({ backfill: storeBText() }),
  ]);
  layer = await startMergingLayer([
    { name: 'a', url: storeA.url },
    { name: 'b', url: storeB.url },
  ]);
  direct = await startJudge(storeA.url);
  layered = await startJudge(layer.url);
  const port = layered.service.grpcPort;
  if (port === undefined) throw new Error('the judge started without its gRPC API');
  grpc = new JudgeServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
});

afterAll(async () => {
  grpc?.close();
  await layered?.close();
  await direct?.close();
  await layer?.close();
  await storeB?.close();
  await storeA?.close();
});

describe('an extra series with other labels that doubles the canary request count', () => {
  it('the data: the rollout Fails on one store, and Passes once the extra series is summed in', async () => {
    const clean = await direct.analyze(request('clean'));
    const summed = await direct.analyze(request('summed'));
    expect(clean.status).toBe(200);
    expect(summed.status).toBe(200);
    const [c, s] = [clean.body.checks[0], summed.body.checks[0]];
    expect(c).toMatchObject({ name: 'error-rate', verdict: 'Fail', reason: 'regression_detected' });
    expect(clean.body.verdict).toBe('Fail');
    expect(s.canary.requests / c.canary.requests).toBeGreaterThan(1.9);
    expect(s.canary.requests / c.canary.requests).toBeLessThan(2.1);
    expect(s).toMatchObject({ name: 'error-rate', verdict: 'Pass' });
    expect(summed.body.verdict).toBe('Pass');
  });

  it('through the layer, series from two stores where the aggregation promises one per pod and code: the check is refused, never summed into a Pass', async () => {
    const r = await layered.analyze(request('doubled'));
    expect(r.status).toBe(200);
    expect(r.body.verdict).toBe('Inconclusive');
    const [er, lat] = r.body.checks;
    expect(er).toMatchObject({
      name: 'error-rate',
      verdict: 'Inconclusive',
      reason: 'query_error',
      canary: null,
      error: {
        code: 'prometheus_bad_response',
        message: expect.stringMatching(
          /^Prometheus answered series that differ in labels outside \(pod, response_code\) to canaryRequests, whose aggregation promises one series per \(pod, response_code\): \{pod="catalogo-[^"]+", response_code="200", store="a"\}, \{pod="catalogo-[^"]+", response_code="200", store="b"\}; refused, not added up$/,
        ),
      },
    });
    // The latency check's queries got one series per pod and le (store b holds no histogram): decided.
    expect(lat.reason).not.toBe('query_error');
    expect(lat.canary.requests).toBeGreaterThan(40_000);
  });

  it('with the error-rate check alone the analysis is a 502 naming the query and the series', async () => {
    const r = await layered.analyze(request('doubled', [errorRate]));
    expect(r.status).toBe(502);
    expect(r.body.error.code).toBe('prometheus_bad_response');
    expect(r.body.error.message).toMatch(
      /^Prometheus answered series that differ .* to canaryRequests, .*store="b"\}/,
    );
  });

  it('over gRPC the same: the check REASON_QUERY_ERROR, the analysis not a Pass', async () => {
    const g = await analyzeGrpc('doubled');
    expect(g.verdict).toBe(Verdict.VERDICT_INCONCLUSIVE);
    expect(g.checks[0]?.reason).toBe(Reason.REASON_QUERY_ERROR);
    expect(g.checks[1]?.reason).not.toBe(Reason.REASON_QUERY_ERROR);
  });

  it('a clean answer through the layer (its own label on every series) gives the verdict and counts of the store alone', async () => {
    const alone = await direct.analyze(request('clean'));
    const through = await layered.analyze(request('clean'));
    expect(through.status).toBe(200);
    expect(through.body.verdict).toBe('Fail');
    // Prometheus adds a side's series in no fixed order: the sums may differ in the last bits.
    const same = (a: { requests: number; bad: number }, b: { requests: number; bad: number }): void => {
      expect(a.requests).toBeCloseTo(b.requests, 6);
      expect(a.bad).toBeCloseTo(b.bad, 6);
    };
    for (const i of [0, 1]) {
      expect(through.body.checks[i].verdict).toBe(alone.body.checks[i].verdict);
      same(through.body.checks[i].canary, alone.body.checks[i].canary);
      same(through.body.checks[i].stable, alone.body.checks[i].stable);
    }
  });
});
