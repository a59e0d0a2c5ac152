/**
 * The gauge check against a real Prometheus (Debian package) holding 45 minutes of an
 * application's own gauge, backfilled by promtool: `catalogo_queue_depth` per pod, labelled as
 * the pod discovery labels it (`namespace`, `pod`, `job`, `instance`), noisy around a level
 * that moves with a load both sides share. Each scenario is a namespace: `same` (canary and
 * stable from the same distribution; the stable has two pods) and `worse` (the canary's queue
 * 60 % deeper), beside a neighbour Rollout whose name extends ours with a queue ten times as
 * deep. The check is asked over HTTP, over gRPC's Analyze and through the metric plugin's
 * method (PluginService/AnalyzePluginConfig, the configuration as Argo hands it).
 */

import { Client, credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AnalyzeRequest,
  CheckType,
  JudgeServiceClient,
  Verdict,
  type AnalyzeResponse,
} from '../../src/gen/canary_judge/v1/judge.js';
import {
  AnalyzePluginConfigRequest,
  AnalyzePluginConfigResponse,
} from '../../src/gen/canary_judge/v1/plugin.js';
import { Rng } from '../support/random.js';
import { startPrometheus, type PrometheusHandle } from '../support/prometheus.js';
import { startJudge, type JudgeHandle } from './harness/judge.js';
import { CANARY_HASH, ROLLOUT, STABLE_HASH } from './harness/scenarios.js';

const HISTORY = 45 * 60;
const MINUTES = 40;
const SCRAPE = 15;
const VALUE = 'avg_over_time(catalogo_queue_depth{$selector}[1m])';

interface Pod {
  readonly namespace: string;
  readonly pod: string;
  /** The pod's level as a multiple of the shared load. */
  readonly level: number;
}

const pods = (namespace: string, canary: number): Pod[] => [
  { namespace, pod: `${ROLLOUT}-${CANARY_HASH}-c4x7q`, level: canary },
  { namespace, pod: `${ROLLOUT}-${STABLE_HASH}-s8k2m`, level: 1 },
  { namespace, pod: `${ROLLOUT}-${STABLE_HASH}-t5w3n`, level: 1 },
  // A neighbour whose pods' names start like ours: never selected.
  { namespace, pod: `${ROLLOUT}-v2-${CANARY_HASH}-n1b9z`, level: 10 },
];

const PODS = [...pods('same', 1), ...pods('worse', 1.6)];

let prom: PrometheusHandle;
let judge: JudgeHandle;
let grpc: JudgeServiceClient;
let t0: number;

const iso = (unix: number): string => new Date(unix * 1000).toISOString();

function history(): string {
  const lines: string[] = ['# TYPE catalogo_queue_depth gauge'];
  PODS.forEach((p, i) => {
    const rng = new Rng(7, i);
    const labels = `job="pods",instance="10.0.0.${i}:8080",namespace="${p.namespace}",pod="${p.pod}"`;
    for (let s = 0; s <= HISTORY; s += SCRAPE) {
      // Load both sides share (a slow wave), times the pod's level, with its own noise.
      const load = 40 + 15 * Math.sin((2 * Math.PI * s) / 1800);
      const v = Math.max(0, p.level * load * (1 + 0.15 * rng.normal()));
      lines.push(`catalogo_queue_depth{${labels}} ${v.toFixed(3)} ${t0 + s}`);
    }
  });
  return [...lines, '# EOF', ''].join('\n');
}

function request(namespace: string, check: Record<string, unknown> = {}) {
  return {
    rollout: { name: ROLLOUT, namespace },
    selector: { mode: 'pod-hash', canary: CANARY_HASH, stable: STABLE_HASH },
    start: iso(t0),
    end: iso(t0 + MINUTES * 60),
    interval: '60s',
    checks: [{ type: 'gauge', name: 'queue-depth', value: VALUE, tolerance: '0.1', ...check }],
  };
}

beforeAll(async () => {
  const now = Math.floor(Date.now() / 1000);
  t0 = Math.floor((now - HISTORY - 600) / 60) * 60;
  prom = await startPrometheus({ backfill: history() });
  judge = await startJudge(prom.url);
  grpc = new JudgeServiceClient(`127.0.0.1:${judge.service.grpcPort ?? 0}`, credentials.createInsecure());
});

afterAll(async () => {
  grpc?.close();
  await judge?.close();
  await prom?.close();
});

describe('gauge check on an application gauge, real Prometheus', () => {
  it('passes a canary whose gauge is distributed like its stable', async () => {
    const r = await judge.analyze(request('same'));
    expect(r.status).toBe(200);
    const c = r.body.checks[0];
    expect(c).toMatchObject({ name: 'queue-depth', type: 'gauge', verdict: 'Pass', reason: 'no_regression' });
    expect(r.body.verdict).toBe('Pass');
    expect(c).toMatchObject({ canary: null, stable: null, effect: null, evidence: null, power: null });
    expect(c.params).toMatchObject({ tolerance: 0.1, criticalEffect: 0.3, scale: 'relative', power: 0.95 });
    expect(c.gauge.intervals).toBe(MINUTES);
    expect(c.gauge.unpaired).toEqual({ canaryOnly: 0, stableOnly: 0 });
    // The neighbour (ten times as deep) is not in either side: both medians are near the load.
    expect(c.gauge.canary.median).toBeGreaterThan(25);
    expect(c.gauge.canary.median).toBeLessThan(60);
    expect(Math.abs(c.gauge.degradation.estimate)).toBeLessThan(0.1);
    expect(c.gauge.degradation.upper).toBeLessThan(0.3);
    expect(c.summary).toMatch(
      /^queue-depth \(higher is worse\): canary median [\d.]+ vs stable [\d.]+ over 40 paired/,
    );
    expect(c.queries).toContain(
      `avg by (namespace, pod) (max without (job, instance) (avg_over_time(catalogo_queue_depth{namespace="same", pod=~"${ROLLOUT}-${CANARY_HASH}-[a-z0-9]+"}[1m])))`,
    );
  });

  it('fails a canary whose queue is 60 % deeper', async () => {
    const r = await judge.analyze(request('worse'));
    expect(r.status).toBe(200);
    const c = r.body.checks[0];
    expect(c).toMatchObject({ verdict: 'Fail', reason: 'regression_detected' });
    expect(r.body.verdict).toBe('Fail');
    expect(c.gauge.degradation.lower).toBeGreaterThan(0.1);
    expect(c.gauge.degradation.estimate).toBeGreaterThan(0.4);
    expect(c.gauge.fail.maxEValue).toBeGreaterThanOrEqual(c.gauge.fail.threshold);
  });

  it("answers 400 naming the field and Prometheus' parse error, and refuses a range vector", async () => {
    const bad = await judge.analyze(request('same', { value: 'avg(catalogo_queue_depth{$selector}' }));
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'invalid_request', field: 'checks[0].value' });
    expect(bad.body.error.message).toMatch(/Prometheus cannot parse it: 1:\d+: parse error: /);
    const range = await judge.analyze(request('same', { value: 'catalogo_queue_depth{$selector}[5m]' }));
    expect(range.status).toBe(400);
    expect(range.body.error.message).toMatch(/must be an instant vector of gauge values; .*range vector/);
  });

  it('is the same check over gRPC: a Fail with the GaugeResult, INVALID_ARGUMENT naming gauge.value', async () => {
    const call = (value: string) =>
      new Promise<AnalyzeResponse>((resolve, reject) =>
        grpc.analyze(
          AnalyzeRequest.fromPartial({
            rollout: { name: ROLLOUT, namespace: 'worse' },
            selector: { mode: { $case: 'podHash', value: { canary: CANARY_HASH, stable: STABLE_HASH } } },
            start: iso(t0),
            end: iso(t0 + MINUTES * 60),
            interval: '60s',
            checks: [{ kind: { $case: 'gauge', value: { value, tolerance: 0.1 } } }],
          }),
          new Metadata(),
          { deadline: Date.now() + 30_000 },
          (error, response) => (error === null ? resolve(response) : reject(error)),
        ),
      );
    const r = await call(VALUE);
    expect(r.verdict).toBe(Verdict.VERDICT_FAIL);
    expect(r.checks[0]).toMatchObject({
      type: CheckType.CHECK_TYPE_GAUGE,
      name: 'gauge',
      intervals: MINUTES,
    });
    expect(r.checks[0]?.gauge).toMatchObject({
      direction: 'higher-is-worse',
      scale: 'relative',
      tolerance: 0.1,
    });
    expect(r.checks[0]?.gauge?.lower).toBeGreaterThan(0.1);
    const err = (await call('avg(catalogo_queue_depth{$selector}').catch((e: unknown) => e)) as ServiceError;
    expect(err.code).toBe(3); // INVALID_ARGUMENT
    expect(err.metadata.get('canary-judge-error-field')).toEqual(['checks[0].gauge.value']);
  });

  it('is the same check through the metric plugin: its configuration forwarded as given', async () => {
    const client = new Client(`127.0.0.1:${judge.service.grpcPort ?? 0}`, credentials.createInsecure());
    try {
      // The rollout and its namespace come from the AnalysisRun, as Argo runs the plugin.
      const config = () =>
        JSON.stringify({
          address: 'canary-judge.canary-judge.svc.cluster.local:9090',
          selector: { mode: 'pod-hash', stable: STABLE_HASH },
          start: iso(t0),
          end: iso(t0 + MINUTES * 60),
          interval: '60s',
          checks: [{ type: 'gauge', name: 'queue-depth', value: VALUE, tolerance: '0.1', critical: 'true' }],
        });
      const call = (namespace: string) =>
        new Promise<AnalyzePluginConfigResponse>((resolve, reject) =>
          client.makeUnaryRequest(
            '/canary_judge.v1.PluginService/AnalyzePluginConfig',
            (m: AnalyzePluginConfigRequest) => Buffer.from(AnalyzePluginConfigRequest.encode(m).finish()),
            (b: Buffer) => AnalyzePluginConfigResponse.decode(b),
            AnalyzePluginConfigRequest.fromPartial({
              config: Buffer.from(config()),
              run: {
                name: `${ROLLOUT}-${CANARY_HASH}-2-1`,
                namespace,
                rollout: ROLLOUT,
                labels: { 'rollouts-pod-template-hash': CANARY_HASH },
                args: {},
              },
            }),
            new Metadata(),
            { deadline: Date.now() + 30_000 },
            (error, response) =>
              error === null && response !== undefined
                ? resolve(response)
                : reject(error ?? new Error('none')),
          ),
        );
      const same = await call('same');
      expect(same.verdict).toBe('Pass');
      expect(same.metadata['queue-depth.verdict']).toBe('Pass (no_regression)');
      expect(same.metadata['queue-depth.gauge']).toMatch(
        /^canary median [\d.e+-]+ vs stable [\d.e+-]+, degradation /,
      );
      const worse = await call('worse');
      expect(worse.verdict).toBe('Fail');
      expect(worse.summary).toMatch(/queue-depth \(higher is worse\): .*→ regression/);
    } finally {
      client.close();
    }
  });
});
