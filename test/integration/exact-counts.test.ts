/**
 * Exact counts, against a real Prometheus: Istio-shaped traffic generated request by request
 * (harness/ground-truth.ts) — pods born at random seconds and scraped at random phases, so a
 * series' first sample holds up to a whole scrape interval of requests; a new stable pod, a
 * second canary pod, a canary pod going away, restarts, a second caller and a new response code
 * mid-window — backfilled once with promtool for 15 s, 30 s and 60 s scrapes, each shifted
 * against the judge's minute grid by many offsets. For every interval of every window the judge's
 * counts (its `timeline`) equal what the scraped samples reveal, requests, errors and requests
 * over 100 ms; the identical releases are never failed at any look; and the reproduction of the
 * extrapolation defect (a canary born 45 s after a grid point, one scrape interval of requests
 * in its first sample) is counted exactly and not failed, where `increase()` on the same data
 * counts something else.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPrometheus, type PrometheusHandle } from '../support/prometheus.js';
import { Rng } from '../support/random.js';
import {
  GT_BUCKETS,
  groundTruth,
  openMetricsOf,
  truthIn,
  type GroundTruth,
  type GtPod,
  type GtScenario,
} from './harness/ground-truth.js';
import { startJudge, type JudgeHandle } from './harness/judge.js';

const CANARY_HASH = '6b7f9c8d5';
const STABLE_HASH = '5d4c7b9f8';
const SECONDS = 30 * 60;
const I = 60;
/** Offsets (s) of the data against the minute grid, per scrape interval. */
const OFFSETS: Readonly<Record<number, readonly number[]>> = {
  15: Array.from({ length: 15 }, (_, i) => i),
  30: Array.from({ length: 10 }, (_, i) => 3 * i),
  60: Array.from({ length: 10 }, (_, i) => 6 * i),
};
const LE_100 = GT_BUCKETS.indexOf(100);

/** The reproduction: 100 req/s, canary 5%, canary born so its first sample is 45 s past a grid point. */
const REPRO_GRID = 20 * 60;
/**
 * A draw in which the canary's first sample holds a little more than the next 15 s for the
 * 100 ms bucket but not for `+Inf`: increase() then extrapolates the two by different rules.
 */
const REPRO_SEED = 50;

let prom: PrometheusHandle;
let judge: JudgeHandle;
let t0: number;
const scenarios: { s: GtScenario; g: GroundTruth }[] = [];
let repro: { s: GtScenario; g: GroundTruth };

const iso = (unix: number): string => new Date(unix * 1000).toISOString();

function scenario(scrape: number, offset: number): GtScenario {
  const r = new Rng(scrape * 1000 + offset, 7);
  const int = (a: number, b: number): number => a + Math.floor(r.uniform() * (b - a + 1));
  const phase = (): number => int(0, scrape - 1);
  const pod = (side: 'canary' | 'stable', i: number, o: Omit<GtPod, 'name' | 'side' | 'phase'>): GtPod => ({
    name: `catalogo-${side === 'canary' ? CANARY_HASH : STABLE_HASH}-p${i}x`,
    side,
    phase: phase(),
    ...o,
  });
  return {
    namespace: `exact-${scrape}-${offset}`,
    start: t0 + offset,
    seconds: SECONDS,
    scrape,
    seed: scrape * 1000 + offset,
    grid: I,
    secondCallerFrom: int(600, 900),
    code500From: int(500, 1000),
    errorRate: 0.01,
    medianMs: 40,
    sigma: 0.6,
    pods: [
      pod('stable', 1, { rps: 40, from: int(1, 10), resetAt: [int(600, 1500)] }),
      pod('stable', 2, { rps: 40, from: int(1, 30) }),
      pod('stable', 3, { rps: 20, from: int(700, 1100) }),
      pod('canary', 1, { rps: 5, from: int(300, 420), until: int(1400, 1600) }),
      pod('canary', 2, { rps: 5, from: int(900, 1200), resetAt: [int(1250, 1350)] }),
    ],
  };
}

function reproScenario(): GtScenario {
  // Scraped every 15 s at phase 0 (on the grid): requests from 31 s past the grid point on, so
  // the canary's first sample, 45 s past it, holds one scrape interval of requests.
  return {
    namespace: 'exact-repro',
    start: t0,
    seconds: SECONDS,
    scrape: 15,
    seed: REPRO_SEED,
    grid: I,
    secondCallerFrom: SECONDS + 1,
    code500From: SECONDS + 1,
    errorRate: 0.001,
    medianMs: 40,
    sigma: 0.6,
    pods: [
      { name: `catalogo-${STABLE_HASH}-a1x`, side: 'stable', rps: 47.5, from: 1, phase: 0 },
      { name: `catalogo-${STABLE_HASH}-a2x`, side: 'stable', rps: 47.5, from: 1, phase: 0 },
      { name: `catalogo-${CANARY_HASH}-c1x`, side: 'canary', rps: 5, from: REPRO_GRID + 31, phase: 0 },
    ],
  };
}

beforeAll(async () => {
  // On the hour, two hours back: whole hours keep the grid of every namespace the same.
  t0 = Math.floor(Date.now() / 1000 / 3600) * 3600 - 2 * 3600;
  for (const scrape of [15, 30, 60]) {
    for (const offset of OFFSETS[scrape] as number[]) {
      const s = scenario(scrape, offset);
      scenarios.push({ s, g: groundTruth(s) });
    }
  }
  const rs = reproScenario();
  repro = { s: rs, g: groundTruth(rs) };
  prom = await startPrometheus({ backfill: openMetricsOf([...scenarios.map((x) => x.g), repro.g]) });
  judge = await startJudge(prom.url);
}, 180_000);

afterAll(async () => {
  await judge?.close();
  await prom?.close();
});

interface Counts {
  requests: number;
  bad: number;
}
interface Entry {
  end: string;
  canary: Counts;
  stable: Counts;
}

function body(namespace: string, start: number | 'canary-first-sample', end: number, checks: unknown[]) {
  return {
    rollout: { name: 'catalogo', namespace },
    selector: { mode: 'pod-hash', canary: CANARY_HASH, stable: STABLE_HASH },
    start: start === 'canary-first-sample' ? start : iso(start),
    end: iso(end),
    interval: `${I}s`,
    timeline: true,
    checks,
  };
}

/** The 5% gate of the shipped Rollout: error rate and latency at the stable's p99, 3× or +0.3 pp. */
const GATE = [
  { type: 'error-rate', alpha: 0.01, criticalEffect: 3, criticalIncrease: 0.003 },
  { type: 'latency', quantile: 0.99, alpha: 0.01, criticalEffect: 3, criticalIncrease: 0.003 },
];
const COUNTED = [{ type: 'error-rate' }, { type: 'latency', thresholdMs: 100 }];

/** Compares every interval of the window (a, b] with the truth; returns the intervals compared. */
function compare(x: { s: GtScenario; g: GroundTruth }, a: number, b: number, checks: any[]): number {
  const [er, lat] = checks as [{ timeline: Entry[] }, { timeline: Entry[]; threshold: { ms: number } }];
  expect(lat.threshold.ms).toBe(100);
  const byEnd = (tl: Entry[]) => new Map(tl.map((e) => [Date.parse(e.end) / 1000, e]));
  const erAt = byEnd(er.timeline);
  const latAt = byEnd(lat.timeline);
  let n = 0;
  for (let end = a + I; end <= b; end += I) {
    const where = `${x.s.namespace} interval ending ${end - t0}s`;
    for (const side of ['canary', 'stable'] as const) {
      const truth = truthIn(x.g.observations[side], end - I, end);
      const e = erAt.get(end)?.[side] ?? { requests: 0, bad: 0 };
      const l = latAt.get(end)?.[side] ?? { requests: 0, bad: 0 };
      expect([e.requests, e.bad, l.requests, l.bad], `${where} ${side}`).toEqual([
        truth.requests,
        truth.errors,
        truth.requests,
        truth.over[LE_100],
      ]);
    }
    n++;
  }
  return n;
}

describe('exact counts against the truth of the scraped samples', () => {
  it('every interval of every alignment: requests, errors and slow requests equal the truth', async () => {
    let intervals = 0;
    let withBirth = 0;
    for (const x of scenarios) {
      const a = Math.ceil(x.s.start / I) * I;
      const b = Math.floor((x.s.start + x.s.seconds) / I) * I;
      const r = await judge.analyze(body(x.s.namespace, a, b, COUNTED));
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      intervals += compare(x, a, b, r.body.checks);
      withBirth += x.s.pods.length;
    }
    // 35 alignments × 29 or 30 intervals, each side compared.
    expect(intervals).toBeGreaterThan(1000);
    expect(withBirth).toBe(175);
  });

  it('counts from the first sample on a window that starts at the canary, whole requests only', async () => {
    for (const x of scenarios.filter((_, i) => i % 5 === 0)) {
      const b = Math.floor((x.s.start + x.s.seconds) / I) * I;
      const r = await judge.analyze(body(x.s.namespace, 'canary-first-sample', b, COUNTED));
      expect(r.status).toBe(200);
      const a = Date.parse(r.body.window.start) / 1000;
      // The grid point before the canary's first sample (one scrape interval after its birth at most).
      const first = (x.g.observations.canary[0] as { t: number }).t;
      expect(a).toBeLessThan(first);
      expect(a).toBeGreaterThanOrEqual(first - I);
      compare(x, a, b, r.body.checks);
      for (const c of r.body.checks)
        for (const k of ['canary', 'stable']) expect(Number.isInteger(c[k].requests)).toBe(true);
    }
  });

  it('never fails the identical releases, at any look of the 5% gate', async () => {
    const verdicts = new Map<string, number>();
    for (const x of scenarios) {
      const born = Math.min(...x.s.pods.filter((p) => p.side === 'canary').map((p) => p.from)) + x.s.start;
      const first = Math.ceil(born / I) * I;
      const last = Math.floor((x.s.start + x.s.seconds) / I) * I;
      for (let end = first; end <= last; end += end - first < 8 * I ? I : 5 * I) {
        const r = await judge.analyze({
          ...body(x.s.namespace, 'canary-first-sample', end, GATE),
          timeline: false,
        });
        expect(r.status).toBe(200);
        expect(r.body.verdict, `${x.s.namespace} look at ${end - t0}s: ${r.body.summary}`).not.toBe('Fail');
        verdicts.set(r.body.verdict, (verdicts.get(r.body.verdict) ?? 0) + 1);
      }
    }
    // The looks decide too: not every answer is "not enough data yet".
    expect(verdicts.get('Pass') ?? 0).toBeGreaterThan(0);
  });
});

describe("the issue's reproduction: a canary born 45 s after a grid point", () => {
  it('counts its first look exactly and does not fail it; increase() on the same data does not count requests', async () => {
    const g = t0 + REPRO_GRID;
    const r = await judge.analyze(body('exact-repro', 'canary-first-sample', g + I, GATE));
    expect(r.status).toBe(200);
    expect(r.body.window.start).toBe(iso(g));
    expect(r.body.verdict).not.toBe('Fail');
    const truth = truthIn(repro.g.observations.canary, g, g + I);
    // One scrape interval of requests in the first sample (45 s), then 15 s more.
    expect(truth.requests).toBeGreaterThan(100);
    const [er, lat] = r.body.checks;
    expect(er.canary.requests).toBe(truth.requests);
    expect(lat.canary.requests).toBe(truth.requests);
    const edge = GT_BUCKETS.indexOf(lat.threshold.lowMs ?? lat.threshold.ms);
    expect(lat.edges.at(0).canary.bad).toBe(truth.over[edge]);

    // The same look from increase(), as the judge queried it before: each bucket extrapolated by
    // its own rule, so a third of the canary's requests look slower than 100 ms (truth: 7%).
    const selector = `reporter="destination", destination_workload_namespace="exact-repro", pod=~"catalogo-${CANARY_HASH}-[a-z0-9]+"`;
    const q = `sum by (le) (increase(istio_request_duration_milliseconds_bucket{${selector}}[60s]))`;
    const res = await fetch(
      `${prom.url}/api/v1/query?${new URLSearchParams({ query: q, time: String(g + I) }).toString()}`,
    );
    const old = (await res.json()) as {
      data: { result: { metric: { le: string }; value: [number, string] }[] };
    };
    // By number: Prometheus 3 spells the bound "100.0" (docs/failure-modes.md, "Prometheus 3").
    const bound = (le: string): number => (le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le));
    const at = (le: string): number =>
      Number(old.data.result.find((x) => bound(x.metric.le) === bound(le))?.value[1]);
    const oldSlow = (at('+Inf') - at('100')) / at('+Inf');
    const slow = (truth.over[LE_100] as number) / truth.requests;
    expect(slow).toBeLessThan(0.1);
    // Prometheus 3 extrapolates otherwise (measured: 114 requests where 2.42 says 159, the
    // truth, and 102 at or below 100 ms on both): its slow share is 10.5%, not 36%, but still
    // not the 6.9% of the samples.
    const info = (await (await fetch(`${prom.url}/api/v1/status/buildinfo`)).json()) as {
      data: { version: string };
    };
    if (info.data.version.startsWith('2.')) expect(oldSlow).toBeGreaterThan(0.3);
    expect(Math.abs(oldSlow - slow)).toBeGreaterThan(0.03);
  });
});
