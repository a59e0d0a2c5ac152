/**
 * The judge's own logic with an in-memory PrometheusClient behind the Prometheus metrics
 * source: how one failing check, an outage, a deadline and the query pool behave. (A real
 * Prometheus cannot be made to fail one query of an analysis and not the others;
 * test/integration covers the judge against a real one.)
 */

import { describe, expect, it } from 'vitest';
import { JudgeError } from '../../../src/errors.js';
import { createJudge } from '../../../src/judge/judge.js';
import { errorRateIntervals, evaluateLatency, histogramsByTime } from '../../../src/judge/checks/index.js';
import { createLimiter, unionLength } from '../../../src/judge/pool.js';
import { DEFAULT_APP_LABELS, type Grid, type Series } from '../../../src/judge/metrics-source.js';
import type { PrometheusClient } from '../../../src/prometheus/client.js';
import { ISTIO_NAMES } from '../../../src/prometheus/promql.js';
import { createPrometheusSource } from '../../../src/prometheus/source.js';
import { parseAnalysisRequest, type AnalysisRequest } from '../../../src/judge/request.js';

const T0 = 1_700_000_000 - (1_700_000_000 % 60);

function req(extra: Record<string, unknown> = {}): AnalysisRequest {
  const r = parseAnalysisRequest({
    rollout: { name: 'catalogo', namespace: 'shop' },
    selector: { mode: 'pod-hash', canary: 'abc12', stable: 'def34' },
    start: new Date(T0 * 1000).toISOString(),
    end: new Date((T0 + 600) * 1000).toISOString(),
    checks: [{ type: 'error-rate' }, { type: 'latency', thresholdMs: 250 }],
    ...extra,
  });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.value;
}

const series = (values: number[], range: Grid, labels: Record<string, string> = {}): Series => ({
  labels,
  samples: values.map((v, i) => ({ t: range.start + i * range.step, v })),
});

/** A raw counter growing by `v` per step over the range, from 0 at its start. */
const counter = (v: number, r: Grid, labels: Record<string, string> = {}): Series => {
  const n = (r.end - r.start) / r.step + 1;
  return series(
    Array.from({ length: n }, (_, i) => i * v),
    r,
    labels,
  );
};

/**
 * One pod per side the query selects: a query may serve both sides (`catalogo-(?:abc12|def34)-…`),
 * and each side keeps its own pods' series.
 */
const podsOf = (q: string): string[] =>
  ['abc12', 'def34'].filter((h) => q.includes(h)).map((h) => `catalogo-${h}-p`);

/** A store answering per query: 1000 requests/interval per side, 1% errors, 2% over 250 ms. */
function fakeProm(
  answer?: (q: string, r: Grid) => Series[] | Promise<Series[]>,
): PrometheusClient & { maxInFlight: number; calls: string[] } {
  let inFlight = 0;
  const p = {
    maxInFlight: 0,
    calls: [] as string[],
    async queryRange(
      q: string,
      r: Grid,
      o: { signal?: AbortSignal; onSpan?: (a: number, b: number) => void } = {},
    ) {
      p.calls.push(q);
      inFlight++;
      p.maxInFlight = Math.max(p.maxInFlight, inFlight);
      const s = performance.now();
      try {
        await new Promise((res) => setTimeout(res, 5));
        if (o.signal?.aborted) throw new JudgeError('deadline_exceeded', 'aborted');
        if (answer) return await answer(q, r);
        // The presence query (`sum(…)` of the request counter) answers one series.
        if (q.startsWith('sum(')) return [counter(1000, r, {})];
        if (q.includes('_bucket')) {
          return podsOf(q).flatMap((pod) => [
            counter(980, r, { pod, le: '250' }),
            counter(1000, r, { pod, le: '+Inf' }),
          ]);
        }
        return podsOf(q).flatMap((pod) => [
          counter(990, r, { pod, response_code: '200' }),
          counter(10, r, { pod, response_code: '503' }),
        ]);
      } finally {
        inFlight--;
        o.onSpan?.(s, performance.now());
      }
    },
    async ping() {
      return { reachable: true as const, latencyMs: 1 };
    },
    async resultType() {
      return 'vector' as const;
    },
  };
  return p;
}

/** The Prometheus metrics source over a client, with the configured names. */
const source = (client: PrometheusClient) =>
  createPrometheusSource(client, { mesh: ISTIO_NAMES, app: DEFAULT_APP_LABELS });

const config = {
  deadlineMs: 2000,
  queryConcurrency: 2,
  lookbackSeconds: 86400,
  mesh: ISTIO_NAMES,
  durationUnit: 'milliseconds' as const,
};

describe('judge', () => {
  it('computes every check over the window and reports the queries and timing', async () => {
    const prom = fakeProm();
    const r = await createJudge({ source: source(prom), config, name: 'canary-judge/test' }).analyze(req());
    expect(r.window).toEqual({
      start: new Date(T0 * 1000).toISOString(),
      end: new Date((T0 + 600) * 1000).toISOString(),
      interval: '60s',
      intervals: 10,
      startSource: 'explicit',
    });
    expect(r.checks.map((c) => c.name)).toEqual(['error-rate', 'latency']);
    expect(r.checks[0]?.canary).toEqual({ requests: 10_000, bad: 100, rate: 0.01 });
    expect(r.checks[1]?.canary).toEqual({ requests: 10_000, bad: 200, rate: 0.02 });
    expect(r.checks[1]?.threshold).toEqual({ ms: 250, source: 'slo', requestedMs: 250 });
    // One query per check, for both sides: the raw counters on the grid, the baseline point
    // included, each side keeping its own pods' series.
    expect(r.timing.queries).toBe(2);
    expect(r.checks[0]?.queries).toEqual([
      'sum by (pod, response_code) (max without (job, instance) (istio_requests_total{reporter="destination", destination_workload_namespace="shop", pod=~"catalogo-(?:abc12|def34)-[a-z0-9]+"}))',
    ]);
    expect(r.checks[1]?.queries).toHaveLength(1);
    expect(r.checks[0]?.stable).toEqual({ requests: 10_000, bad: 100, rate: 0.01 });
    expect(r.judge).toBe('canary-judge/test');
    expect(prom.maxInFlight).toBeLessThanOrEqual(2);
  });

  it('adds the extra matchers to every query of both sides, the presence query included', async () => {
    const prom = fakeProm();
    await createJudge({ source: source(prom), config, name: 't' }).analyze(
      req({ start: 'canary-first-sample', matchers: { region: 'eu', cluster: 'eu-west-1' } }),
    );
    // The presence query, then one per check for both sides.
    expect(prom.calls).toHaveLength(3);
    for (const q of prom.calls) expect(q).toContain('[a-z0-9]+", cluster="eu-west-1", region="eu"');
    expect(prom.calls.some((q) => q.includes('catalogo-abc12-'))).toBe(true);
    expect(prom.calls.filter((q) => q.includes('catalogo-(?:abc12|def34)-'))).toHaveLength(2);
  });

  it.each(['pod', 'reporter', 'response_code', 'destination_workload_namespace'])(
    'refuses an extra matcher on %s, a label of its own selector or queries (400, before any query)',
    async (label) => {
      const prom = fakeProm();
      const e = await createJudge({ source: source(prom), config, name: 't' })
        .analyze(req({ matchers: { [label]: 'x' } }))
        .catch((err: unknown) => err);
      expect(e).toMatchObject({ code: 'invalid_request', field: `matchers.${label}` });
      expect(prom.calls).toEqual([]);
    },
  );

  it('turns one check whose queries Prometheus rejects into an error entry, never a Pass', async () => {
    const base = fakeProm();
    const prom = fakeProm((q, r) => {
      if (q.includes('_bucket'))
        throw new JudgeError('prometheus_bad_response', 'Prometheus answered HTTP 422 (execution): boom');
      return base.queryRange(q, r);
    });
    const r = await createJudge({ source: source(prom), config, name: 't' }).analyze(req());
    const lat = r.checks.find((c) => c.type === 'latency');
    expect(lat).toMatchObject({
      verdict: 'Inconclusive',
      reason: 'query_error',
      error: { code: 'prometheus_bad_response' },
    });
    expect(lat?.summary).toMatch(/^latency: Prometheus answered HTTP 422/);
    expect(r.checks.find((c) => c.type === 'error-rate')?.reason).not.toBe('query_error');
    expect(r.verdict).not.toBe('Pass');
  });

  it('fails the whole analysis with 502 when every check failed', async () => {
    const prom = fakeProm(() => {
      throw new JudgeError('prometheus_bad_response', 'bad');
    });
    await expect(
      createJudge({ source: source(prom), config, name: 't' }).analyze(req()),
    ).rejects.toMatchObject({
      code: 'prometheus_bad_response',
    });
  });

  it('fails the whole analysis when Prometheus is unavailable, so Argo retries', async () => {
    const prom = fakeProm(() => {
      throw new JudgeError('prometheus_unavailable', 'Prometheus is unreachable (ECONNREFUSED)');
    });
    await expect(
      createJudge({ source: source(prom), config, name: 't' }).analyze(req()),
    ).rejects.toMatchObject({
      code: 'prometheus_unavailable',
    });
  });

  it('stops the other queries at the first timeout instead of waiting for each', async () => {
    let first = true;
    const prom = fakeProm(
      (_q, _r) =>
        new Promise((resolve, reject) => {
          if (first) {
            first = false;
            setTimeout(
              () => reject(new JudgeError('prometheus_timeout', 'Prometheus did not answer within 20 ms')),
              20,
            );
          } else setTimeout(() => resolve([]), 1500);
        }),
    );
    // The fake honours the abort only after its own delay, so measure through a real signal check.
    const started = performance.now();
    await expect(
      createJudge({
        source: source(prom),
        config: { ...config, deadlineMs: 5000, queryConcurrency: 1 },
        name: 't',
      }).analyze(req()),
    ).rejects.toMatchObject({
      code: 'prometheus_timeout',
    });
    // Queued queries never start once the analysis gave up (pool of 1, 2 queries).
    expect(prom.calls.length).toBeLessThan(2);
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it('answers deadline_exceeded when the analysis outlives its deadline', async () => {
    const prom = fakeProm(() => new Promise((res) => setTimeout(() => res([]), 200)));
    await expect(
      createJudge({ source: source(prom), config: { ...config, deadlineMs: 50 }, name: 't' }).analyze(req()),
    ).rejects.toMatchObject({
      code: 'deadline_exceeded',
    });
  });

  it('answers Inconclusive for empty results and for NaN, never Pass', async () => {
    const empty = await createJudge({ source: source(fakeProm(() => [])), config, name: 't' }).analyze(req());
    expect(empty.verdict).toBe('Inconclusive');
    expect(empty.checks.every((c) => c.reason === 'no_canary_traffic')).toBe(true);

    const nan = await createJudge({
      source: source(
        fakeProm((q, r) => {
          const n = (r.end - r.start) / r.step + 1;
          if (q.includes('_bucket'))
            return podsOf(q).flatMap((pod) => [
              series(new Array(n).fill(Number.NaN), r, { pod, le: '250' }),
              series(new Array(n).fill(1000), r, { pod, le: '+Inf' }),
            ]);
          return podsOf(q).map((pod) => series(new Array(n).fill(Number.NaN), r, { pod }));
        }),
      ),
      config,
      name: 't',
    }).analyze(req());
    expect(nan.verdict).toBe('Inconclusive');
    expect(nan.checks.map((c) => c.reason)).toEqual(['invalid_data', 'invalid_data']);
  });

  it('finds the canary first sample with one query and starts the window one step before it', async () => {
    const now = (T0 + 3600) * 1000;
    const prom = fakeProm((q, r) => {
      if (q.startsWith('sum(')) {
        // The canary's counter exists from T0 + 600 on.
        const n = (r.end - r.start) / r.step + 1;
        return [
          {
            labels: {},
            samples: Array.from({ length: n }, (_, i) => ({ t: r.start + i * r.step, v: 1 })).filter(
              (s) => s.t >= T0 + 600,
            ),
          },
        ];
      }
      return [];
    });
    const r = await createJudge({ source: source(prom), config, name: 't', now: () => now }).analyze(
      req({ start: 'canary-first-sample', end: undefined }),
    );
    expect(r.window.start).toBe(new Date((T0 + 540) * 1000).toISOString());
    expect(r.window.startSource).toBe('canary-first-sample');
    expect(r.window.intervals).toBe(51);
  });

  it('sets a stable-quantile threshold from the stable history before the window', async () => {
    const base = fakeProm();
    const prom = fakeProm((q, r) => {
      if (!q.includes('_bucket')) return base.queryRange(q, r);
      if (q.includes('def34')) {
        // The stable's query covers the hour before the window too: its counters there read 0
        // an hour before, then nothing (a gap), then the hour's requests at the window start —
        // p99 edge 1000 ms. In the window, 1000 requests per interval.
        expect(r).toEqual({ start: T0 - 3600, end: T0 + 600, step: 60 });
        const at = (le: string, hour: number, perStep: number): Series => ({
          labels: { pod: 'p', le },
          samples: [
            { t: T0 - 3600, v: 0 },
            ...Array.from({ length: 11 }, (_, i) => ({ t: T0 + 60 * i, v: hour + i * perStep })),
          ],
        });
        return [at('250', 9_000, 980), at('1000', 9_950, 995), at('+Inf', 10_000, 1000)];
      }
      expect(r).toEqual({ start: T0, end: T0 + 600, step: 60 });
      return [
        counter(980, r, { pod: 'p', le: '250' }),
        counter(995, r, { pod: 'p', le: '1000' }),
        counter(1000, r, { pod: 'p', le: '+Inf' }),
      ];
    });
    const r = await createJudge({ source: source(prom), config, name: 't' }).analyze(
      req({ checks: [{ type: 'latency', quantile: 0.99 }] }),
    );
    // 10% of the baseline is slower than 250 ms, 0.5% slower than 1000 ms: both edges are tested.
    expect(r.checks[0]?.threshold).toMatchObject({ ms: 1000, lowMs: 250, basis: 'stable-before-window' });
    expect(r.checks[0]?.edges?.map((e) => [e.ms, e.canary.bad])).toEqual([
      [250, 200],
      [1000, 50],
    ]);
  });

  it('clamps an end in the future to now', async () => {
    const now = (T0 + 300) * 1000 + 5_000;
    const r = await createJudge({ source: source(fakeProm()), config, name: 't', now: () => now }).analyze(
      req(),
    );
    expect(r.window.end).toBe(new Date((T0 + 300) * 1000).toISOString());
    expect(r.window.intervals).toBe(5);
  });

  it('never queries twice the same series within one analysis', async () => {
    const prom = fakeProm();
    await createJudge({ source: source(prom), config, name: 't' }).analyze(
      req({ checks: [{ type: 'error-rate' }, { type: 'error-rate', name: 'strict', alpha: 0.001 }] }),
    );
    // One query for both sides' requests, shared by the two checks.
    expect(prom.calls).toHaveLength(1);
  });
});

describe('series to counts', () => {
  const r: Grid = { start: 60, end: 180, step: 60 };

  it('aligns sides by timestamp, a missing error series meaning no errors', () => {
    const counts = errorRateIntervals(
      [series([100, 100, 100], r)],
      [],
      [series([0, 1000, 1000], r)],
      [series([5, 6], { ...r, start: 120 })],
    );
    expect(counts).toEqual([
      { canaryTotal: 100, canaryBad: 0, stableTotal: 0, stableBad: 0 },
      { canaryTotal: 100, canaryBad: 0, stableTotal: 1000, stableBad: 5 },
      { canaryTotal: 100, canaryBad: 0, stableTotal: 1000, stableBad: 6 },
    ]);
  });

  it('groups histogram series by timestamp, with +Inf as Infinity', () => {
    const h = histogramsByTime([series([1, 2], r, { le: '100' }), series([3, 4], r, { le: '+Inf' })]);
    expect(h.get(60)).toEqual([
      { le: 100, count: 1 },
      { le: Number.POSITIVE_INFINITY, count: 3 },
    ]);
  });

  it('refuses a latency threshold above every bucket edge rather than guessing', () => {
    const c = [series([90], r, { le: '100' }), series([100], r, { le: '+Inf' })];
    const o = evaluateLatency(
      { canaryBuckets: c, stableBuckets: c },
      { thresholdMs: 5000 },
      {
        alpha: 0.01,
        margin: 0,
        criticalEffect: 2,
        power: 0.8,
        criticalIncrease: 0,
        weight: 1,
        critical: true,
      },
      'milliseconds',
    );
    expect(o.result.reason).toBe('invalid_data');
    expect(o.note).toMatch(/no histogram bucket edge/);
  });

  it('converts thresholds for histograms in seconds', () => {
    const c = [series([90], r, { le: '0.25' }), series([100], r, { le: '+Inf' })];
    const o = evaluateLatency(
      { canaryBuckets: c, stableBuckets: c },
      { thresholdMs: 250 },
      {
        alpha: 0.01,
        margin: 0,
        criticalEffect: 2,
        power: 0.8,
        criticalIncrease: 0,
        weight: 1,
        critical: true,
      },
      'seconds',
    );
    expect(o.threshold.ms).toBe(250);
    expect(o.result.canary).toEqual({ requests: 100, bad: 10, rate: 0.1 });
  });
});

describe('query pool', () => {
  it('never runs more than its limit at once, and runs everything', async () => {
    const limit = createLimiter(3);
    let active = 0;
    let max = 0;
    const done = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        limit(async () => {
          active++;
          max = Math.max(max, active);
          await new Promise((r) => setTimeout(r, 2));
          active--;
          return i;
        }),
      ),
    );
    expect(max).toBe(3);
    expect(done).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it('measures the time during which at least one query ran', () => {
    expect(
      unionLength([
        [0, 10],
        [5, 15],
        [20, 30],
      ]),
    ).toBe(25);
    expect(unionLength([])).toBe(0);
  });
});
