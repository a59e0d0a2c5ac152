/**
 * The metrics-source seam: the judge runs against any source that answers named series of a side
 * over a grid (here one in memory, with no PromQL at all), reports the source's own query texts,
 * and never asks for more points per series than the source answers (Prometheus: 11,000).
 */
import { describe, expect, it } from 'vitest';
import { createJudge } from '../../../src/judge/judge.js';
import {
  DEFAULT_APP_LABELS,
  type Grid,
  type MetricsSource,
  type SeriesRequest,
  type Series,
} from '../../../src/judge/metrics-source.js';
import { parseAnalysisRequest, type AnalysisRequest } from '../../../src/judge/request.js';
import { ISTIO_NAMES } from '../../../src/prometheus/promql.js';
import { createPrometheusSource } from '../../../src/prometheus/source.js';

const T0 = 1_700_000_000 - (1_700_000_000 % 60);
const NOW = (T0 + 1800) * 1000;

const config = {
  deadlineMs: 5000,
  queryConcurrency: 2,
  lookbackSeconds: 86400,
  mesh: ISTIO_NAMES,
  durationUnit: 'milliseconds' as const,
};

function req(extra: Record<string, unknown> = {}): AnalysisRequest {
  const r = parseAnalysisRequest({
    rollout: { name: 'catalogo', namespace: 'shop' },
    selector: { mode: 'pod-hash', canary: 'abc12', stable: 'def34' },
    start: new Date((T0 - 1200) * 1000).toISOString(),
    checks: [{ type: 'error-rate' }, { type: 'latency', thresholdMs: 250 }],
    ...extra,
  });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.value;
}

const points = (g: Grid): number => Math.round((g.end - g.start) / g.step) + 1;

/** A raw counter growing by `v` per step from 0 at the grid's start. */
const counter = (v: number, g: Grid, labels: Record<string, string>): Series => ({
  labels,
  samples: Array.from({ length: points(g) }, (_, i) => ({ t: g.start + i * g.step, v: i * v })),
});

/**
 * A source in memory: answers the mesh's named series by name and side (the canary with 3% of
 * 5xx, the stable with 1%, both 2% over 250 ms), and records what it was asked.
 */
function memorySource(maxPoints: number): MetricsSource & {
  asked: SeriesRequest[];
  grids: Grid[];
} {
  const asked: SeriesRequest[] = [];
  const grids: Grid[] = [];
  return {
    asked,
    grids,
    maxPoints,
    ownLabels: new Set(['pod', 'code', 'le']),
    query(request) {
      asked.push(request);
      if (!('series' in request)) throw new Error('no caller expressions here');
      const text = `${request.series} of ${request.side.value}`;
      return request.series === 'presence'
        ? { text, shape: { kind: 'one' } }
        : { text, shape: { kind: 'one-per', labels: ['pod', 'code', 'le'], required: [] } };
    },
    fetch(query, grid) {
      grids.push(grid);
      const canary = query.text.endsWith('abc12');
      const pod = canary ? 'catalogo-abc12-x' : 'catalogo-def34-y';
      if (query.text.startsWith('presence')) return Promise.resolve([counter(1, grid, {})]);
      if (query.text.startsWith('latencyBuckets'))
        return Promise.resolve([
          counter(980, grid, { pod, le: '250' }),
          counter(1000, grid, { pod, le: '+Inf' }),
        ]);
      const bad = canary ? 30 : 10;
      return Promise.resolve([
        counter(1000 - bad, grid, { pod, code: '200' }),
        counter(bad, grid, { pod, code: '503' }),
      ]);
    },
    checkExpression: () => Promise.reject(new Error('no caller expressions here')),
  };
}

describe('the judge behind the metrics-source seam', () => {
  it('asks for named series of each side and reports the source’s own query texts', async () => {
    const source = memorySource(11_000);
    const judge = createJudge({
      source,
      config: {
        ...config,
        mesh: { ...ISTIO_NAMES, labels: { ...ISTIO_NAMES.labels, responseCode: 'code' } },
      },
      name: 't',
      now: () => NOW,
    });
    const r = await judge.analyze(req());
    expect(r.checks.map((c) => [c.type, c.verdict])).toEqual([
      ['error-rate', 'Fail'],
      ['latency', 'Pass'],
    ]);
    expect(r.checks[0]?.canary).toMatchObject({ requests: 50_000, bad: 1500 });
    expect(r.checks[0]?.stable).toMatchObject({ requests: 50_000, bad: 500 });
    expect(r.checks[1]?.canary).toMatchObject({ requests: 50_000, bad: 1000 });
    expect(r.checks[0]?.queries).toEqual(['requestsByCode of abc12', 'requestsByCode of def34']);
    expect(r.checks[1]?.queries).toEqual(['latencyBuckets of abc12', 'latencyBuckets of def34']);
    const sides = source.asked.map((a) =>
      'series' in a ? `${a.series}/${a.side.mode}/${a.side.value}` : '',
    );
    expect(sides.sort()).toEqual([
      'latencyBuckets/pod-hash/abc12',
      'latencyBuckets/pod-hash/def34',
      'presence/pod-hash/abc12',
      'requestsByCode/pod-hash/abc12',
      'requestsByCode/pod-hash/def34',
    ]);
  });

  it('refuses an extra matcher on a label the source itself sets', async () => {
    const judge = createJudge({ source: memorySource(11_000), config, name: 't', now: () => NOW });
    await expect(judge.analyze(req({ matchers: { code: '200' } }))).rejects.toMatchObject({
      code: 'invalid_request',
      field: 'matchers.code',
    });
  });

  it('never asks for more points per series than the source answers: the window is cut at its limit', async () => {
    const source = memorySource(100);
    const judge = createJudge({ source, config, name: 't', now: () => NOW });
    const long = await judge.analyze(req({ start: new Date((T0 - 20 * 86400) * 1000).toISOString() }));
    expect(long.window.intervals).toBe(99);
    await judge.analyze(req({ start: 'canary-first-sample' }));
    expect(source.grids.length).toBeGreaterThan(0);
    expect(Math.max(...source.grids.map(points))).toBeLessThanOrEqual(100);
    expect(source.grids.some((g) => points(g) === 100)).toBe(true);
  });

  it("Prometheus' limit is 11,000 points: a 20-day window of 60 s intervals keeps its last 10,999", async () => {
    const asked: Grid[] = [];
    const prometheus = createPrometheusSource(
      {
        queryRange: (_q, grid) => {
          asked.push(grid);
          return Promise.resolve([]);
        },
        resultType: () => Promise.resolve('vector'),
      },
      { mesh: ISTIO_NAMES, app: DEFAULT_APP_LABELS },
    );
    expect(prometheus.maxPoints).toBe(11_000);
    const judge = createJudge({ source: prometheus, config, name: 't', now: () => NOW });
    const r = await judge.analyze(req({ start: new Date((T0 - 20 * 86400) * 1000).toISOString() }));
    expect(r.window.intervals).toBe(10_999);
    expect(Math.max(...asked.map(points))).toBe(11_000);
  });
});
