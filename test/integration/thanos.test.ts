/**
 * The judge behind Thanos (built by scripts/thanos.sh): three real Prometheus servers with
 * external labels — cluster `eu` as an HA pair (replicas r0 and r1, the same data) and cluster
 * `us` — each with a Thanos sidecar, and two Thanos Query instances over all three: one
 * deduplicating on `replica`, one not. The same Rollout (same pod-template hashes, same pod
 * names) runs in both clusters in namespace `multi`, healthy in `eu` and with a bad canary in
 * `us`; the holdout scenarios of the other integration tests live in `eu` only. The
 * deduplicating instance takes the stores as strict endpoints, as a query layer the judge relies
 * on must: a non-strict one drops a store it finds down and then answers from the others
 * without a warning (measured: the judge then Passed `multi` on `eu`'s data alone).
 *
 * Asserted: the judge through Thanos gives the verdicts and counts of the judge on one of the
 * Prometheus servers; without deduplication the replica label must be among the judge's scrape
 * labels, or every count doubles; `matchers` keeps a comparison within one cluster; the tenant
 * header reaches the query layer; a store down is never a Pass (the answer names the store).
 */

import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startJudge, type JudgeHandle } from './harness/judge.js';
import { CANARY_HASH, ROLLOUT, STABLE_HASH, combined, scenarioWorkloads } from './harness/scenarios.js';
import { openMetrics } from './harness/simulation.js';
import { startThanos, waitForStores, type ThanosHandle } from './harness/thanos.js';

/** Seconds of history backfilled: the hour the holdout scenarios need to Pass, and a little more. */
const HISTORY = 65 * 60;
const MINUTES = 60;
const SEED = 42;
const TENANT = 'team-a';

let thanos: ThanosHandle;
/** On eu/r0's Prometheus alone. */
let direct: JudgeHandle;
/** Through the recording proxy to the deduplicating Thanos Query, with a tenant. */
let viaThanos: JudgeHandle;
/** On the Thanos Query without deduplication: with `replica` as a scrape label, and without. */
let noDedupReplica: JudgeHandle;
let noDedupPlain: JudgeHandle;
let proxy: Server;
const seen: { path: string; headers: IncomingHttpHeaders }[] = [];
let t0: number;

const iso = (unix: number): string => new Date(unix * 1000).toISOString();

function request(namespace: string, minutes: number, extra: Record<string, unknown> = {}) {
  return {
    rollout: { name: ROLLOUT, namespace },
    selector: { mode: 'pod-hash', canary: CANARY_HASH, stable: STABLE_HASH },
    start: iso(t0),
    end: iso(t0 + minutes * 60),
    interval: '60s',
    checks: [{ type: 'error-rate' }, { type: 'latency', quantile: 0.99 }],
    ...extra,
  };
}

/** Forwards everything to `target`, recording each request's path and headers. */
async function startRecordingProxy(target: string): Promise<Server> {
  const to = new URL(target);
  const server = createServer((req, res) => {
    seen.push({ path: req.url ?? '', headers: req.headers });
    const up = httpRequest(
      { host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return server;
}

/**
 * The same verdict, reason per check and the same counts, exactly. Thanos v0.42 evaluates PromQL
 * with the Prometheus 3 engine, whose range selectors leave out the sample at the window's start
 * (Prometheus 2's include it), so counts from `increase()` would differ by a few percent between
 * the two; the judge reads the raw counters at the grid points, which both engines answer alike.
 */
/** Largest relative difference of the counts seen (printed at the end, for the record). */
const largest = { requests: 0, bad: 0 };

function expectSameOutcome(got: any, want: any, label: string): void {
  expect(got.verdict, label).toBe(want.verdict);
  expect(got.checks.length, label).toBe(want.checks.length);
  got.checks.forEach((c: any, i: number) => {
    const w = want.checks[i];
    expect([c.name, c.verdict, c.reason], label).toEqual([w.name, w.verdict, w.reason]);
    for (const side of ['canary', 'stable'] as const) {
      if (w[side] === null) {
        expect(c[side], `${label} ${c.name} ${side}`).toBeNull();
        continue;
      }
      for (const k of ['requests', 'bad'] as const) {
        largest[k] = Math.max(largest[k], Math.abs(c[side][k] - w[side][k]) / Math.max(w[side][k], 1));
        expect(c[side][k], `${label} ${c.name} ${side}.${k}`).toBe(w[side][k]);
      }
    }
  });
}

beforeAll(async () => {
  t0 = Math.floor((Date.now() / 1000 - HISTORY - 600) / 60) * 60;
  const eu = openMetrics(
    {
      seed: SEED,
      workloads: [
        ...combined(['healthy', 'error-3x', 'slow-tail'], SEED).workloads,
        ...scenarioWorkloads('healthy', 'multi'),
      ],
    },
    t0,
    HISTORY,
    15,
  );
  const us = openMetrics(
    { seed: SEED + 7, workloads: scenarioWorkloads('error-3x', 'multi') },
    t0,
    HISTORY,
    15,
  );
  thanos = await startThanos(
    [
      { cluster: 'eu', replica: 'r0', openMetrics: eu },
      { cluster: 'eu', replica: 'r1', openMetrics: eu },
      { cluster: 'us', replica: 'r0', openMetrics: us },
    ],
    [{ replicaLabels: ['replica'], strict: true }, { replicaLabels: [] }],
  );
  const [dedup, noDedup] = thanos.queries as [string, string];
  proxy = await startRecordingProxy(dedup);
  direct = await startJudge(thanos.replicas[0]?.prometheusUrl as string);
  viaThanos = await startJudge(`http://127.0.0.1:${(proxy.address() as AddressInfo).port}`, {
    CANARY_JUDGE_PROMETHEUS_TENANT: TENANT,
    // Thanos Query's own default tenant header (--query.tenant-header).
    CANARY_JUDGE_PROMETHEUS_TENANT_HEADER: 'THANOS-TENANT',
  });
  noDedupReplica = await startJudge(noDedup, { CANARY_JUDGE_SCRAPE_LABELS: 'job,instance,replica' });
  noDedupPlain = await startJudge(noDedup);
}, 600_000);

afterAll(async () => {
  console.log(
    `thanos vs direct: largest relative count difference ${(100 * largest.requests).toFixed(2)}% (requests), ${(100 * largest.bad).toFixed(2)}% (bad)`,
  );
  await noDedupPlain?.close();
  await noDedupReplica?.close();
  await viaThanos?.close();
  await direct?.close();
  await new Promise((r) => (proxy === undefined ? r(undefined) : proxy.close(r)));
  await thanos?.close();
});

const CASES: [string, number][] = [
  ['healthy', 2],
  ['healthy', MINUTES],
  ['error-3x', MINUTES],
  ['slow-tail', MINUTES],
];

describe('the judge behind Thanos Query', () => {
  it('gives the verdicts and counts of the judge on one Prometheus, for the holdout scenarios', async () => {
    const verdicts = new Set<string>();
    for (const [ns, minutes] of CASES) {
      const a = await direct.analyze(request(ns, minutes));
      const b = await viaThanos.analyze(request(ns, minutes));
      const scoped = await viaThanos.analyze(request(ns, minutes, { matchers: { cluster: 'eu' } }));
      expect(a.status, `${ns}@${minutes}`).toBe(200);
      expect(b.status, `${ns}@${minutes}`).toBe(200);
      expectSameOutcome(b.body, a.body, `${ns}@${minutes}`);
      expectSameOutcome(scoped.body, a.body, `${ns}@${minutes} scoped`);
      verdicts.add(a.body.verdict);
    }
    // The comparison has teeth: it covers a Pass, a Fail and an Inconclusive.
    expect([...verdicts].sort()).toEqual(['Fail', 'Inconclusive', 'Pass']);
  });

  it('sends the tenant header to the query layer with every query, and asks for no partial answers', async () => {
    const before = seen.length;
    await viaThanos.analyze(request('healthy', MINUTES));
    const queries = seen.slice(before).filter((s) => s.path.startsWith('/api/v1/query_range'));
    expect(queries.length).toBeGreaterThan(0);
    for (const q of queries) expect(q.headers['thanos-tenant']).toBe(TENANT);
  });

  it('without deduplication: with replica among the scrape labels, the counts of one Prometheus', async () => {
    for (const [ns, minutes] of CASES) {
      const a = await direct.analyze(request(ns, minutes));
      const b = await noDedupReplica.analyze(request(ns, minutes));
      expectSameOutcome(b.body, a.body, `${ns}@${minutes}`);
    }
  });

  it('without deduplication and without replica among the scrape labels, every count doubles', async () => {
    // Compared with the deduplicated answer of the same engine: exactly twice, both sides.
    const a = await viaThanos.analyze(request('healthy', MINUTES));
    const b = await noDedupPlain.analyze(request('healthy', MINUTES));
    expect(b.status).toBe(200);
    for (const i of [0, 1])
      for (const side of ['canary', 'stable'])
        expect(b.body.checks[i][side].requests / a.body.checks[i][side].requests).toBeCloseTo(2, 9);
  });

  it('with matchers, compares within one cluster: two clusters share the pod-template hash', async () => {
    const unscoped = await viaThanos.analyze(request('multi', MINUTES));
    const eu = await viaThanos.analyze(request('multi', MINUTES, { matchers: { cluster: 'eu' } }));
    const us = await viaThanos.analyze(request('multi', MINUTES, { matchers: { cluster: 'us' } }));
    const euDirect = await direct.analyze(request('multi', MINUTES));
    expectSameOutcome(eu.body, euDirect.body, 'multi scoped to eu');
    expect(eu.body.verdict).toBe('Pass');
    expect(us.body.verdict).toBe('Fail');
    expect(unscoped.body.verdict).not.toBe('Pass');
    // Unscoped, each side is the sum of both clusters.
    const er = (r: { body: any }) => r.body.checks[0];
    expect(er(unscoped).canary.requests).toBeCloseTo(er(eu).canary.requests + er(us).canary.requests, 6);
    // Every query of the checks carried the matcher (the unit tests cover the presence query).
    const queries = eu.body.checks.flatMap((c: any) => Object.values(c.queries ?? {}));
    expect(queries.length).toBeGreaterThan(0);
    for (const q of queries) expect(q).toContain('cluster="eu"');
  });

  it('with a store down (a strict endpoint), no Pass: the analysis is refused naming the store', async () => {
    const us = thanos.replicas[2];
    if (us === undefined) throw new Error('no us replica');
    // With every store up, the eu-only view of `multi` would pass; the us store holds its bad canary.
    await us.stopSidecar();
    try {
      // What Thanos would answer if allowed: a partial answer, 200 with warnings.
      const raw = await fetch(
        `${thanos.queries[0]}/api/v1/query?query=${encodeURIComponent('count(istio_requests_total)')}&partial_response=true`,
      );
      const rawBody = (await raw.json()) as { warnings?: string[] };
      expect(rawBody.warnings?.length ?? 0).toBeGreaterThan(0);

      const r = await viaThanos.analyze(request('multi', MINUTES));
      expect(r.body.verdict).not.toBe('Pass');
      expect(r.status).toBe(502);
      expect(r.body.error.code).toBe('prometheus_bad_response');
      expect(r.body.error.message).toMatch(/^Prometheus answered HTTP \d{3}/);
      expect(r.body.error.message).toContain('cluster="us"');
      // Once Thanos Query has found the store unhealthy, a strict endpoint stays in its set: the
      // query still fails, never answers from the other stores as if they were all.
      await new Promise((res) => setTimeout(res, 12_000));
      const later = await viaThanos.analyze(request('multi', MINUTES));
      expect(later.status).toBe(502);
      expect(later.body.error.message).toContain('cluster="us"');
    } finally {
      await us.startSidecar();
      await waitForStores(thanos.queries[0] as string, 3);
    }
  });
});
