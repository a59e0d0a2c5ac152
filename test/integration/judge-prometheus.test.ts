/**
 * The judge over HTTP against a real Prometheus (Debian package), with one hour of
 * deterministic history backfilled by promtool. Each scenario lives in its own namespace, next
 * to two badly failing neighbours whose names share a prefix with the rollout or its canary.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPrometheus, type PrometheusHandle } from '../support/prometheus.js';
import { startJudge, type JudgeHandle } from './harness/judge.js';
import { Simulation, openMetrics } from './harness/simulation.js';
import {
  CANARY_HASH,
  CANARY_SERVICE,
  CANARY_VERSION,
  STABLE_HASH,
  STABLE_SERVICE,
  STABLE_VERSION,
  combined,
  scenarioWorkloads,
  type ScenarioName,
} from './harness/scenarios.js';

const NAMES: ScenarioName[] = [
  'healthy',
  'error-3x',
  'slow-tail',
  'no-canary',
  'counter-reset',
  'late-canary',
];
const HOUR = 3600;
const SEED = 42;

let prom: PrometheusHandle;
let judge: JudgeHandle;
/** Start of the backfilled history (unix s, on the minute). */
let t0: number;

const iso = (unix: number): string => new Date(unix * 1000).toISOString();

function request(namespace: string, minutes: number, extra: Record<string, unknown> = {}) {
  return {
    rollout: { name: 'catalogo', namespace },
    selector: { mode: 'pod-hash', canary: CANARY_HASH, stable: STABLE_HASH },
    start: iso(t0),
    end: iso(t0 + minutes * 60),
    interval: '60s',
    checks: [{ type: 'error-rate' }, { type: 'latency', quantile: 0.99 }],
    ...extra,
  };
}

/** True request totals per workload of one scenario after `seconds` (same seed, same data). */
function truth(name: ScenarioName, seconds: number): { canary: number; stable: number } {
  const sim = new Simulation(combined([name], SEED));
  for (let s = 0; s < seconds; s++) sim.tick();
  const w = scenarioWorkloads(name);
  const idx = (hash: string) => w.findIndex((x) => x.hash === hash && x.rollout === 'catalogo');
  return { canary: sim.totals(idx(CANARY_HASH)).requests, stable: sim.totals(idx(STABLE_HASH)).requests };
}

beforeAll(async () => {
  const now = Math.floor(Date.now() / 1000);
  t0 = Math.floor((now - HOUR - 600) / 60) * 60;
  prom = await startPrometheus({ backfill: openMetrics(combined(NAMES, SEED), t0, HOUR, 15) });
  judge = await startJudge(prom.url);
});

afterAll(async () => {
  await judge?.close();
  await prom?.close();
});

describe('verdicts from a real Prometheus', () => {
  it('answers Inconclusive for a healthy canary after 2 minutes and Pass after an hour', async () => {
    const early = await judge.analyze(request('healthy', 2));
    expect(early.status).toBe(200);
    expect(early.body.verdict).toBe('Inconclusive');
    expect(early.body.checks.some((c: any) => c.reason === 'insufficient_data')).toBe(true);
    expect(early.body.window.intervals).toBe(2);

    const late = await judge.analyze(request('healthy', 60));
    expect(late.status).toBe(200);
    expect(late.body.verdict).toBe('Pass');
    expect(late.body.score).toBe(100);
    for (const c of late.body.checks) {
      expect(c.reason).toBe('no_regression');
      expect(c.power.achieved).toBeGreaterThanOrEqual(c.power.required);
    }
    expect(late.body.summary).toMatch(/^Pass /);
    expect(late.body.measurement).toEqual({ verdict: 'Pass', score: 100, summary: late.body.summary });
  });

  it('fails a canary with 3x the stable error rate', async () => {
    const r = await judge.analyze(request('error-3x', 60));
    expect(r.status).toBe(200);
    expect(r.body.verdict).toBe('Fail');
    const er = r.body.checks.find((c: any) => c.type === 'error-rate');
    expect(er.verdict).toBe('Fail');
    expect(er.reason).toBe('regression_detected');
    expect(er.effect.ratio).toBeGreaterThan(2.5);
    expect(er.effect.ratio).toBeLessThan(3.5);
    expect(er.evidence.eValue).toBeGreaterThanOrEqual(er.evidence.threshold);
    expect(r.body.summary).toMatch(
      /^Fail error-rate: canary (2\.\d|3\.\d)% \(\d+\/\d+\) vs stable (0\.9\d|1\.\d)% \(\d+\/\d+\), ratio /,
    );
  });

  it('returns the evidence over time on request: one point per interval, ending where the verdict ends', async () => {
    const plain = await judge.analyze(request('error-3x', 30));
    const r = await judge.analyze(request('error-3x', 30, { timeline: 'true' }));
    expect(r.status).toBe(200);
    expect(r.body.verdict).toBe(plain.body.verdict);
    for (const c of r.body.checks) {
      const same = plain.body.checks.find((p: any) => p.name === c.name);
      expect(same.timeline).toBeUndefined();
      expect(c.timeline).toHaveLength(r.body.window.intervals);
      const ends = c.timeline.map((p: any) => Date.parse(p.end) / 1000);
      ends.slice(1).forEach((t: number, i: number) => expect(t - (ends[i] as number)).toBe(60));
      expect(ends.at(-1)).toBe(t0 + 30 * 60);
      const last = c.timeline.at(-1);
      expect(last.eValue).toBeCloseTo(c.evidence.eValue, 6);
      expect(last.power).toBeCloseTo(c.power.achieved, 9);
      const sum = (k: 'canary' | 'stable', f: 'requests' | 'bad') =>
        c.timeline.reduce((s: number, p: any) => s + p[k][f], 0);
      expect(sum('canary', 'requests')).toBeCloseTo(c.canary.requests, 6);
      expect(sum('stable', 'bad')).toBeCloseTo(c.stable.bad, 6);
    }
    const er = r.body.checks.find((c: any) => c.type === 'error-rate');
    expect(Math.max(...er.timeline.map((p: any) => p.eValue))).toBeGreaterThanOrEqual(er.evidence.threshold);
  });

  it('fails a canary whose slow tail grew by half, on the latency check only', async () => {
    const r = await judge.analyze(request('slow-tail', 60));
    expect(r.body.verdict).toBe('Fail');
    const lat = r.body.checks.find((c: any) => c.type === 'latency');
    const er = r.body.checks.find((c: any) => c.type === 'error-rate');
    expect(lat.reason).toBe('regression_detected');
    expect(lat.threshold).toMatchObject({ source: 'stable-quantile', quantile: 0.99, ms: 500 });
    expect(lat.effect.ratio).toBeGreaterThan(1.2);
    expect(er.verdict).not.toBe('Fail');
  });

  it('answers Inconclusive with no_canary_traffic when the canary gets no requests', async () => {
    const r = await judge.analyze(request('no-canary', 60));
    expect(r.body.verdict).toBe('Inconclusive');
    for (const c of r.body.checks) expect(c.reason).toBe('no_canary_traffic');

    // Searching for the canary's first sample finds none: still Inconclusive, never Pass.
    const first = await judge.analyze({ ...request('no-canary', 60), start: 'canary-first-sample' });
    expect(first.body.verdict).toBe('Inconclusive');
    expect(first.body.window.start).toBeNull();
    for (const c of first.body.checks) expect(c.reason).toBe('no_canary_traffic');
  });

  it('does not mix in rollouts whose names share a prefix, in any selector mode', async () => {
    const want = truth('healthy', HOUR);
    const modes = [
      { mode: 'pod-hash', canary: CANARY_HASH, stable: STABLE_HASH },
      { mode: 'service', canary: CANARY_SERVICE, stable: STABLE_SERVICE },
      { mode: 'version', canary: CANARY_VERSION, stable: STABLE_VERSION },
    ];
    for (const selector of modes) {
      const r = await judge.analyze(request('healthy', 60, { selector, checks: [{ type: 'error-rate' }] }));
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      const c = r.body.checks[0];
      // The neighbours answer 50% errors: mixed in, they would push the rates far above 1%.
      expect(c.canary.rate, selector.mode).toBeLessThan(0.015);
      expect(c.stable.rate, selector.mode).toBeLessThan(0.015);
      // Exact counts: every request of catalogo's hour (its last sample is at the window's end),
      // and none of its neighbours'.
      expect(c.canary.requests, selector.mode).toBe(want.canary);
      expect(c.stable.requests, selector.mode).toBe(want.stable);
      expect(r.body.verdict, selector.mode).toBe('Pass');
    }
  });

  it('counts through counter resets inside the window', async () => {
    const want = truth('counter-reset', HOUR);
    const r = await judge.analyze(request('counter-reset', 60));
    expect(r.body.verdict).toBe('Pass');
    const c = r.body.checks.find((x: any) => x.type === 'error-rate');
    // A reset read naively (last − first) would lose the 30 or 40 minutes before it; what is lost
    // is only what the pods served after their last scrape before the restart (< 15 s).
    expect(c.canary.requests / want.canary).toBeGreaterThan(0.99);
    expect(c.stable.requests / want.stable).toBeGreaterThan(0.99);
    expect(c.canary.requests).toBeLessThanOrEqual(want.canary);
    expect(c.stable.requests).toBeLessThanOrEqual(want.stable);
  });

  it('finds the canary first sample itself and agrees with the explicit start', async () => {
    const explicit = await judge.analyze(request('error-3x', 30));
    const found = await judge.analyze({ ...request('error-3x', 30), start: 'canary-first-sample' });
    expect(found.body.window.startSource).toBe('canary-first-sample');
    // The first sample lies in the first minute of the history.
    const start = Date.parse(found.body.window.start) / 1000;
    expect(start).toBeGreaterThanOrEqual(t0 - 60);
    expect(start).toBeLessThanOrEqual(t0 + 60);
    expect(found.body.verdict).toBe(explicit.body.verdict);
  });

  it('takes the stable quantile threshold from the stable history before the canary when there is one', async () => {
    const r = await judge.analyze({ ...request('late-canary', 60), start: 'canary-first-sample' });
    expect(r.status).toBe(200);
    // The canary's first sample is 20 minutes into the history.
    const start = Date.parse(r.body.window.start) / 1000;
    expect(start).toBeGreaterThanOrEqual(t0 + 1200 - 120);
    expect(start).toBeLessThanOrEqual(t0 + 1200);
    const lat = r.body.checks.find((c: any) => c.type === 'latency');
    expect(lat.threshold).toMatchObject({
      source: 'stable-quantile',
      basis: 'stable-before-window',
      ms: 500,
    });
    // Two queries: the stable's covers the hour before the window too (one range query).
    expect(lat.queries).toHaveLength(2);
    expect(r.body.verdict).toBe('Pass');

    // Without history before the window, the window's own stable data sets it.
    const own = await judge.analyze(request('healthy', 60));
    expect(own.body.checks.find((c: any) => c.type === 'latency').threshold.basis).toBe('stable-in-window');
  });

  it('counts Envoy response flags as errors on request, with a query Prometheus accepts', async () => {
    const plain = await judge.analyze(request('error-3x', 60, { checks: [{ type: 'error-rate' }] }));
    const flags = await judge.analyze(
      request('error-3x', 60, { checks: [{ type: 'error-rate', responseFlags: 'UO,URX' }] }),
    );
    expect(flags.status, JSON.stringify(flags.body)).toBe(200);
    const c = flags.body.checks[0];
    expect(c.responseFlags).toBe('UO,URX');
    expect(c.queries[0]).toMatch(/^sum by \(pod, response_code, response_flags\) /);
    // The synthetic 503s carry no flag ("-"), so the counts are those of the codes alone.
    expect(c.canary).toEqual(plain.body.checks[0].canary);
    expect(c.verdict).toBe('Fail');
  });

  it('reports the PromQL it ran, with the escaped selectors', async () => {
    const r = await judge.analyze(request('healthy', 10));
    const er = r.body.checks.find((c: any) => c.type === 'error-rate');
    const hashes = [CANARY_HASH, STABLE_HASH].sort().join('|');
    expect(er.queries).toEqual([
      `sum by (pod, response_code) (max without (job, instance) (istio_requests_total{reporter="destination", destination_workload_namespace="healthy", pod=~"catalogo-(?:${hashes})-[a-z0-9]+"}))`,
    ]);
    // One range query for both sides' requests; latency at the stable's p99 asks one per side,
    // the stable's also covering the hour before the window.
    expect(r.body.timing.queries).toBe(3);
    expect(r.body.timing.prometheusMs).toBeGreaterThan(0);
    expect(r.body.timing.prometheusMs).toBeLessThanOrEqual(r.body.timing.totalMs);
  });
});

describe('Prometheus trouble', () => {
  it('answers 504 when Prometheus hangs, then recovers', async () => {
    // A real Prometheus, frozen with SIGSTOP: it accepts connections and never answers.
    const impatient = await startJudge(prom.url, { CANARY_JUDGE_PROMETHEUS_TIMEOUT: '300ms' });
    const hurried = await startJudge(prom.url, {
      CANARY_JUDGE_PROMETHEUS_TIMEOUT: '5s',
      CANARY_JUDGE_ANALYSIS_DEADLINE: '300ms',
    });
    prom.pause();
    try {
      const timeout = await impatient.analyze(request('healthy', 60));
      expect(timeout.status).toBe(504);
      expect(timeout.body.error.code).toBe('prometheus_timeout');
      const deadline = await hurried.analyze(request('healthy', 60));
      expect(deadline.status).toBe(504);
      expect(deadline.body.error.code).toBe('deadline_exceeded');
    } finally {
      prom.resume();
    }
    const after = await impatient.analyze(request('healthy', 60));
    expect(after.status).toBe(200);
    await impatient.close();
    await hurried.close();
  });

  it('answers 503 JSON while Prometheus is stopped, and recovers when it is back', async () => {
    const before = await judge.analyze(request('healthy', 60));
    expect(before.status).toBe(200);

    await prom.stop();
    const during = await judge.analyze(request('healthy', 60));
    expect(during.status).toBe(503);
    expect(during.body).toEqual({
      error: { code: 'prometheus_unavailable', message: expect.stringMatching(/unreachable/) },
    });
    const ready = await fetch(`${judge.url}/readyz`);
    expect(ready.status).toBe(200); // readiness reports the outage but does not fail on it
    expect(((await ready.json()) as any).prometheus.reachable).toBe(false);

    await prom.start();
    const after = await judge.analyze(request('healthy', 60));
    expect(after.status).toBe(200);
    expect(after.body.verdict).toBe(before.body.verdict);
    expect(after.body.checks[0].canary).toEqual(before.body.checks[0].canary);
  });
});
