/**
 * The ratio check against a real Prometheus (Debian package) holding 45 minutes of an
 * application's own counter, backfilled by promtool: `catalogo_searches_total` per pod, labelled
 * `result="found"|"empty"`, as the pod discovery labels it (`namespace`, `pod`, `job`,
 * `instance`). The check asks for searches with no result among all searches. Each scenario is
 * a namespace: `same` (canary and stable at 5 % empty; the canary's counter resets mid-window),
 * `worse` (canary at 15 %), both beside a neighbour Rollout whose name extends ours with 90 %
 * empty, and the stable pod scraped by two jobs (counted once). A bad expression is a 400
 * naming the field and Prometheus' parse error; Prometheus down is a 503.
 */

import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AnalyzeRequest,
  CheckType,
  JudgeServiceClient,
  Verdict,
  type AnalyzeResponse,
} from '../../src/gen/canary_judge/v1/judge.js';
import { createPrometheusClient } from '../../src/prometheus/client.js';
import { Rng } from '../support/random.js';
import { startPrometheus, type PrometheusHandle } from '../support/prometheus.js';
import { startJudge, type JudgeHandle } from './harness/judge.js';
import { CANARY_HASH, ROLLOUT, STABLE_HASH } from './harness/scenarios.js';

const HISTORY = 45 * 60;
const MINUTES = 40;
const SCRAPE = 15;
const BAD = 'catalogo_searches_total{result="empty", $selector}';
const TOTAL = 'catalogo_searches_total{$selector}';

interface Pod {
  readonly namespace: string;
  readonly pod: string;
  /** Searches per second and the share with no result. */
  readonly rate: number;
  readonly empty: number;
  /** Scrape jobs exporting it (two: the same series scraped twice). */
  readonly jobs?: readonly string[];
  /** Second of the history at which its process restarts (counters back to zero). */
  readonly restartAt?: number;
}

const pods = (namespace: string, canaryEmpty: number): Pod[] => [
  {
    namespace,
    pod: `${ROLLOUT}-${CANARY_HASH}-c4x7q`,
    rate: 4,
    empty: canaryEmpty,
    ...(namespace === 'same' ? { restartAt: 20 * 60 + 7 } : {}),
  },
  { namespace, pod: `${ROLLOUT}-${STABLE_HASH}-s8k2m`, rate: 12, empty: 0.05, jobs: ['pods', 'pods-again'] },
  // A neighbour whose pods' names start like ours: never selected.
  { namespace, pod: `${ROLLOUT}-v2-${CANARY_HASH}-n1b9z`, rate: 20, empty: 0.9 },
];

const PODS = [...pods('same', 0.05), ...pods('worse', 0.15)];

let prom: PrometheusHandle;
let judge: JudgeHandle;
let grpc: JudgeServiceClient;
let t0: number;
/** Each pod's counter values by result at each scrape second (s = 0, 15, …). */
const values = new Map<string, { found: number[]; empty: number[] }>();

const iso = (unix: number): string => new Date(unix * 1000).toISOString();

function history(): string {
  const lines: string[] = ['# TYPE catalogo_searches counter'];
  PODS.forEach((p, i) => {
    const rng = new Rng(42, i);
    const v = { found: [] as number[], empty: [] as number[] };
    let found = 0;
    let empty = 0;
    for (let s = 0; s <= HISTORY; s += SCRAPE) {
      if (s > 0) {
        if (p.restartAt !== undefined && s - SCRAPE < p.restartAt && s >= p.restartAt) {
          found = 0;
          empty = 0;
        }
        const n = rng.poisson(p.rate * SCRAPE);
        const e = rng.binomial(n, p.empty);
        empty += e;
        found += n - e;
      }
      v.found.push(found);
      v.empty.push(empty);
      for (const job of p.jobs ?? ['pods']) {
        const labels = `job="${job}",instance="10.0.0.${i}:8080",namespace="${p.namespace}",pod="${p.pod}"`;
        lines.push(`catalogo_searches_total{${labels},result="found"} ${found} ${t0 + s}`);
        lines.push(`catalogo_searches_total{${labels},result="empty"} ${empty} ${t0 + s}`);
      }
    }
    values.set(`${p.namespace}/${p.pod}`, v);
  });
  // OpenMetrics wants a family's samples grouped by series, in time order.
  const [head, ...samples] = lines;
  const bySeries = new Map<string, string[]>();
  for (const l of samples) {
    const key = l.slice(0, l.lastIndexOf('}') + 1);
    bySeries.set(key, [...(bySeries.get(key) ?? []), l]);
  }
  return [head, ...[...bySeries.values()].flat(), '# EOF', ''].join('\n');
}

/** Searches and empty ones of a pod between the window's first and last grid points. */
function truth(namespace: string, pod: string): { requests: number; bad: number } {
  const v = values.get(`${namespace}/${pod}`);
  if (v === undefined) throw new Error(`no pod ${pod}`);
  const last = (MINUTES * 60) / SCRAPE;
  const at = (k: number) => (v.found[k] as number) + (v.empty[k] as number);
  return { requests: at(last) - at(0), bad: (v.empty[last] as number) - (v.empty[0] as number) };
}

function request(namespace: string, check: Record<string, unknown> = {}) {
  return {
    rollout: { name: ROLLOUT, namespace },
    selector: { mode: 'pod-hash', canary: CANARY_HASH, stable: STABLE_HASH },
    start: iso(t0),
    end: iso(t0 + MINUTES * 60),
    interval: '60s',
    checks: [
      {
        type: 'ratio',
        name: 'empty-searches',
        bad: BAD,
        total: TOTAL,
        // The shipped last gate's tolerance, so that a clean canary can pass.
        criticalIncrease: '0.01',
        ...check,
      },
    ],
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

describe('ratio check on an application counter, real Prometheus', () => {
  it('passes a canary like its stable, through a counter reset, counting a twice-scraped pod once', async () => {
    const r = await judge.analyze(request('same'));
    expect(r.status).toBe(200);
    const c = r.body.checks[0];
    expect(c).toMatchObject({
      name: 'empty-searches',
      type: 'ratio',
      verdict: 'Pass',
      reason: 'no_regression',
    });
    expect(r.body.verdict).toBe('Pass');
    // The stable is exported by two scrape jobs: its counts are the pod's, once, exactly.
    expect(c.stable).toMatchObject(truth('same', `${ROLLOUT}-${STABLE_HASH}-s8k2m`));
    // The canary restarted: the minutes after the reset count from zero, nothing is negative.
    const canary = truth('same', `${ROLLOUT}-${CANARY_HASH}-c4x7q`);
    expect(c.canary.requests).toBeGreaterThan(0.9 * 4 * MINUTES * 60);
    expect(c.canary.bad).toBeGreaterThan(0);
    expect(c.canary.requests).not.toBe(canary.requests);
    expect(c.summary).toMatch(/^empty-searches: canary [\d.]+% \(\d+\/\d+\) vs stable/);
    expect(c.queries).toContain(
      `sum by (namespace, pod) (max without (job, instance) (catalogo_searches_total{result="empty", namespace="same", pod=~"${ROLLOUT}-${CANARY_HASH}-[a-z0-9]+"}))`,
    );
  });

  it("fails a canary with three times the stable's empty searches, on exact counts", async () => {
    const r = await judge.analyze(request('worse'));
    expect(r.status).toBe(200);
    const c = r.body.checks[0];
    expect(c).toMatchObject({ verdict: 'Fail', reason: 'regression_detected' });
    expect(r.body.verdict).toBe('Fail');
    expect(c.canary).toMatchObject(truth('worse', `${ROLLOUT}-${CANARY_HASH}-c4x7q`));
    expect(c.stable).toMatchObject(truth('worse', `${ROLLOUT}-${STABLE_HASH}-s8k2m`));
    expect(c.effect.lower).toBeGreaterThan(2);
  });

  it("answers 400 naming the field and Prometheus' parse error for an expression it cannot parse", async () => {
    const r = await judge.analyze(
      request('same', { bad: 'sum(catalogo_searches_total{result="empty", $selector}' }),
    );
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({ code: 'invalid_request', field: 'checks[0].bad' });
    expect(r.body.error.message).toMatch(
      /^checks\[0\]\.bad \(.+\): Prometheus cannot parse it: 1:\d+: parse error: /,
    );
  });

  it('answers 400 for a range vector and for a regex Prometheus refuses', async () => {
    const range = await judge.analyze(request('same', { total: 'catalogo_searches_total{$selector}[5m]' }));
    expect(range.status).toBe(400);
    expect(range.body.error).toMatchObject({ field: 'checks[0].total' });
    expect(range.body.error.message).toMatch(/reads it as a range vector/);
    const regex = await judge.analyze(
      request('same', { bad: 'catalogo_searches_total{result=~"(", $selector}' }),
    );
    expect(regex.status).toBe(400);
    expect(regex.body.error.message).toMatch(/error parsing regexp/);
  });

  it("refuses counts from pods that are not the side's (a part of the expression without $selector), never a Pass", async () => {
    const r = await judge.analyze(
      request('same', {
        bad: 'catalogo_searches_total{result="empty", $selector} or catalogo_searches_total{result="empty", namespace="worse"}',
      }),
    );
    expect(r.status).toBe(200);
    expect(r.body.checks[0]).toMatchObject({ verdict: 'Inconclusive', reason: 'invalid_data' });
    expect(r.body.checks[0].summary).toMatch(
      /bad answered a series that is not a canary pod's, \{namespace="worse"/,
    );
  });

  it('is the same check over gRPC: a Fail on the regression, INVALID_ARGUMENT naming ratio.bad', async () => {
    const call = (bad: string) =>
      new Promise<AnalyzeResponse>((resolve, reject) =>
        grpc.analyze(
          AnalyzeRequest.fromPartial({
            rollout: { name: ROLLOUT, namespace: 'worse' },
            selector: { mode: { $case: 'podHash', value: { canary: CANARY_HASH, stable: STABLE_HASH } } },
            start: iso(t0),
            end: iso(t0 + MINUTES * 60),
            interval: '60s',
            checks: [{ kind: { $case: 'ratio', value: { bad, total: TOTAL } }, criticalIncrease: 0.01 }],
          }),
          new Metadata(),
          { deadline: Date.now() + 30_000 },
          (error, response) => (error === null ? resolve(response) : reject(error)),
        ),
      );
    const r = await call(BAD);
    expect(r.verdict).toBe(Verdict.VERDICT_FAIL);
    expect(r.checks[0]).toMatchObject({ type: CheckType.CHECK_TYPE_RATIO, name: 'ratio' });
    expect(r.checks[0]?.canary).toMatchObject(truth('worse', `${ROLLOUT}-${CANARY_HASH}-c4x7q`));
    const err = (await call('sum(catalogo_searches_total{$selector}').catch(
      (e: unknown) => e,
    )) as ServiceError;
    expect(err.code).toBe(3); // INVALID_ARGUMENT
    expect(err.metadata.get('canary-judge-error-field')).toEqual(['checks[0].ratio.bad']);
    expect(err.details).toMatch(/^checks\[0\]\.ratio\.bad \(.+\): Prometheus cannot parse it: .*parse error/);
  });

  it("reads the result type from Prometheus' parser, and records a refused expression as the caller's", async () => {
    const seen: [string, string | undefined][] = [];
    const client = createPrometheusClient({
      url: prom.url,
      timeoutMs: 5000,
      onQuery: (kind, _s, error) => seen.push([kind, error]),
    });
    expect(await client.resultType('catalogo_searches_total{pod="x"}')).toBe('vector');
    expect(await client.resultType('catalogo_searches_total[5m]')).toBe('matrix');
    expect(await client.resultType('1 + 1')).toBe('scalar');
    await expect(client.resultType('sum(catalogo_searches_total')).rejects.toMatchObject({
      code: 'invalid_request',
      message: expect.stringMatching(/^Prometheus cannot parse it: 1:\d+: parse error: /),
    });
    expect(seen).toEqual([
      ['parse', undefined],
      ['parse', undefined],
      ['parse', undefined],
      ['parse', 'invalid_request'],
    ]);
  });

  it('answers 503 when Prometheus is down, never a verdict', async () => {
    await prom.stop();
    try {
      const r = await judge.analyze(request('same'));
      expect(r.status).toBe(503);
      expect(r.body.error.code).toBe('prometheus_unavailable');
    } finally {
      await prom.start();
    }
  });
});
