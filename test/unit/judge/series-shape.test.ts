/**
 * One answer, one series: the rule that an answer holds no more series than its query's
 * aggregation promises, on its own and inside an analysis (with an in-memory store answering
 * what a query layer merging per-store answers would).
 */
import { describe, expect, it } from 'vitest';
import { JudgeError } from '../../../src/errors.js';
import { createJudge } from '../../../src/judge/judge.js';
import { parseAnalysisRequest, type AnalysisRequest } from '../../../src/judge/request.js';
import { checkSeriesShape, type SeriesShape } from '../../../src/judge/series-shape.js';
import {
  DEFAULT_APP_LABELS,
  type Grid,
  type MeshSeries,
  type Series,
} from '../../../src/judge/metrics-source.js';
import type { PrometheusClient } from '../../../src/prometheus/client.js';
import { ISTIO_NAMES, QUERY_TEMPLATES, namedQuery } from '../../../src/prometheus/promql.js';
import { createPrometheusSource } from '../../../src/prometheus/source.js';

const ONE: SeriesShape = { kind: 'one' };
const PER_LE: SeriesShape = { kind: 'one-per', labels: ['le'], required: ['le'] };
const PER_POD_LE: SeriesShape = { kind: 'one-per', labels: ['pod', 'le'], required: ['le'] };
const PER_POD_CODE: SeriesShape = { kind: 'one-per', labels: ['pod', 'response_code'], required: [] };
const s = (labels: Record<string, string>): Series => ({ labels, samples: [{ t: 60, v: 1 }] });

function refusal(series: Series[], shape: SeriesShape, name = 'q'): string | undefined {
  try {
    checkSeriesShape(series, { name, shape });
    return undefined;
  } catch (e) {
    expect(e).toBeInstanceOf(JudgeError);
    expect((e as JudgeError).code).toBe('prometheus_bad_response');
    return (e as JudgeError).message;
  }
}

describe('checkSeriesShape', () => {
  it('accepts no series and one series, whatever its labels, where one is promised', () => {
    expect(refusal([], ONE)).toBeUndefined();
    expect(refusal([s({})], ONE)).toBeUndefined();
    expect(refusal([s({ replica: 'a', cluster: 'eu' })], ONE)).toBeUndefined();
  });

  it('refuses two series where one is promised, whatever their labels, naming the query and the series', () => {
    expect(refusal([s({ store: 'a' }), s({ store: 'b' })], ONE, 'canaryRequests')).toBe(
      'Prometheus answered 2 series to canaryRequests, whose aggregation promises at most one series: {store="a"}, {store="b"}; refused, not added up',
    );
    expect(refusal([s({}), s({ prometheus_replica: 'b' })], ONE)).toMatch(
      /^Prometheus answered 2 series to q, .*: \{\}, \{prometheus_replica="b"\}; refused/,
    );
    expect(refusal([s({}), s({})], ONE)).toMatch(/^Prometheus answered 2 series to q/);
  });

  it('lists four series and counts the rest', () => {
    const many = Array.from({ length: 7 }, (_, i) => s({ shard: String(i) }));
    expect(refusal(many, ONE)).toBe(
      'Prometheus answered 7 series to q, whose aggregation promises at most one series: {shard="0"}, {shard="1"}, {shard="2"}, {shard="3"} and 3 more; refused, not added up',
    );
  });

  it('accepts one series per le, other labels or not', () => {
    expect(refusal([], PER_LE)).toBeUndefined();
    expect(refusal([s({ le: '100' }), s({ le: '+Inf' })], PER_LE)).toBeUndefined();
    expect(refusal([s({ le: '100', store: 'a' }), s({ le: '+Inf', store: 'a' })], PER_LE)).toBeUndefined();
  });

  it('refuses two series for one le, naming the le and both series', () => {
    expect(
      refusal(
        [s({ le: '100', store: 'a' }), s({ le: '+Inf', store: 'a' }), s({ le: '100', store: 'b' })],
        PER_LE,
        'canaryBuckets',
      ),
    ).toBe(
      'Prometheus answered 2 series for {le="100"} to canaryBuckets, whose aggregation promises one series per le: {le="100", store="a"}, {le="100", store="b"}; refused, not added up',
    );
  });

  it('accepts one series per pod and le, and refuses two for one pod and le whatever else differs', () => {
    const ok = [s({ pod: 'a', le: '100' }), s({ pod: 'b', le: '100' }), s({ pod: 'a', le: '+Inf' })];
    expect(refusal(ok, PER_POD_LE)).toBeUndefined();
    expect(refusal([...ok, s({ pod: 'b', le: '100', cluster: 'eu' })], PER_POD_LE, 'stableBuckets')).toBe(
      'Prometheus answered 2 series for {pod="b", le="100"} to stableBuckets, whose aggregation promises one series per (pod, le): {pod="b", le="100"}, {pod="b", le="100", cluster="eu"}; refused, not added up',
    );
  });

  it('refuses series that differ outside the grouping labels, even for different pods', () => {
    const a = s({ pod: 'x', response_code: '200', store: 'a' });
    const b = s({ pod: 'y', response_code: '200', store: 'b' });
    expect(refusal([a, s({ pod: 'x', response_code: '503', store: 'a' })], PER_POD_CODE)).toBeUndefined();
    expect(refusal([a, b], PER_POD_CODE, 'canaryRequests')).toBe(
      'Prometheus answered series that differ in labels outside (pod, response_code) to canaryRequests, whose aggregation promises one series per (pod, response_code): {pod="x", response_code="200", store="a"}, {pod="y", response_code="200", store="b"}; refused, not added up',
    );
    expect(refusal([s({ pod: 'x', le: '1' }), s({ pod: 'y', le: '1', replica: 'b' })], PER_POD_LE)).toMatch(
      /^Prometheus answered series that differ in labels outside \(pod, le\)/,
    );
  });

  it('groups a series without a grouping label under its empty value, as PromQL does', () => {
    expect(refusal([s({ response_code: '200' }), s({ response_code: '503' })], PER_POD_CODE)).toBeUndefined();
    expect(
      refusal([s({ response_code: '200' }), s({ pod: '', response_code: '200', store: 'b' })], PER_POD_CODE),
    ).toMatch(
      /^Prometheus answered 2 series for \{pod="", response_code="200"\} to q, whose aggregation promises one series per \(pod, response_code\)/,
    );
  });

  it('refuses a series without the label it is grouped by', () => {
    expect(refusal([s({ le: '100' }), s({ store: 'b' })], PER_LE, 'stableBuckets')).toBe(
      'Prometheus answered a series without le to stableBuckets, whose aggregation promises one series per le: {store="b"}; refused, not added up',
    );
  });

  it('quotes label values as JSON and cuts long label sets', () => {
    const msg = refusal([s({}), s({ x: 'a"b', y: 'z'.repeat(200) })], ONE) ?? '';
    expect(msg).toContain('{x="a\\"b", y="zzz');
    expect(msg).toContain('...; refused');
  });
});

describe('the shapes the query templates declare', () => {
  const vars = { selector: 'a="b"' };
  const cases = Object.keys(QUERY_TEMPLATES) as MeshSeries[];

  it.each(cases)('%s: its outer aggregation promises what it declares', (name) => {
    const other = {
      ...ISTIO_NAMES,
      labels: { ...ISTIO_NAMES.labels, pod: 'pod_name', responseCode: 'code' },
    };
    for (const mesh of [ISTIO_NAMES, { ...ISTIO_NAMES, scrapeLabels: [] }, other]) {
      const { text: promql, shape } = namedQuery(name, vars, mesh);
      const grouped = /^sum by \(([a-z_, ]+)\) \(/.exec(promql);
      if (shape.kind === 'one') {
        expect(promql).toMatch(/^sum\(/);
        expect(promql.endsWith(')')).toBe(true);
      } else {
        expect(grouped?.[1]).toBe(shape.labels.join(', '));
        expect(shape.labels).toEqual(expect.arrayContaining([...shape.required]));
      }
    }
  });
});

// ---- inside an analysis ------------------------------------------------------------------

const T0 = 1_700_000_000 - (1_700_000_000 % 60);
const config = {
  deadlineMs: 2000,
  queryConcurrency: 4,
  lookbackSeconds: 86400,
  mesh: ISTIO_NAMES,
  durationUnit: 'milliseconds' as const,
};

function req(extra: Record<string, unknown> = {}): AnalysisRequest {
  const r = parseAnalysisRequest({
    rollout: { name: 'catalogo', namespace: 'shop' },
    selector: { mode: 'pod-hash', canary: 'abc12', stable: 'def34' },
    start: new Date(T0 * 1000).toISOString(),
    end: new Date((T0 + 1800) * 1000).toISOString(),
    checks: [{ type: 'error-rate' }, { type: 'latency', thresholdMs: 250 }],
    ...extra,
  });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.value;
}

/** A raw counter growing by `v` per step from 0 at the range's start. */
const counter = (v: number, r: Grid, labels: Record<string, string> = {}): Series => {
  const n = (r.end - r.start) / r.step + 1;
  return { labels, samples: Array.from({ length: n }, (_, i) => ({ t: r.start + i * r.step, v: i * v })) };
};

/**
 * Per interval: canary 1,000 requests with 20 errors (2%), stable 1,000 with 10 (1%): a Fail.
 * With `extra`, the canary's request query also answers a second series of 1,000 requests of the
 * same pod and code under another label — added up, the canary is at 1% like the stable.
 */
function store(extra: { requests?: boolean; buckets?: boolean; presence?: boolean }): PrometheusClient {
  return {
    async resultType() {
      return 'vector' as const;
    },
    async queryRange(q, r) {
      if (q.startsWith('sum(')) {
        return extra.presence === true
          ? [counter(1, r, { store: 'a' }), counter(1, r, { store: 'b' })]
          : [counter(1, r)];
      }
      // A query may serve both sides (`catalogo-(?:abc12|def34)-…`): each side selected answers.
      return ['abc12', 'def34']
        .filter((hash) => q.includes(hash))
        .flatMap((hash) => {
          const canary = hash === 'abc12';
          const pod = `catalogo-${hash}-xyz`;
          if (q.includes('_bucket')) {
            const h = [counter(980, r, { pod, le: '250' }), counter(1000, r, { pod, le: '+Inf' })];
            return canary && extra.buckets === true
              ? [...h, counter(1000, r, { pod, le: '+Inf', store: 'b' })]
              : h;
          }
          const bad = canary ? 20 : 10;
          const codes = [
            counter(1000 - bad, r, { pod, response_code: '200' }),
            counter(bad, r, { pod, response_code: '503' }),
          ];
          return canary && extra.requests === true
            ? [...codes, counter(1000, r, { pod, response_code: '200', store: 'b' })]
            : codes;
        });
    },
    async ping() {
      return { reachable: true as const, latencyMs: 1 };
    },
  };
}

const judge = (extra: Parameters<typeof store>[0]) =>
  createJudge({
    source: createPrometheusSource(store(extra), { mesh: ISTIO_NAMES, app: DEFAULT_APP_LABELS }),
    config,
    name: 't',
  });

describe('an analysis whose store answers several series where one is promised', () => {
  it('the honest answer Fails the canary on errors', async () => {
    const r = await judge({}).analyze(req());
    expect(r.checks[0]).toMatchObject({ name: 'error-rate', verdict: 'Fail' });
    expect(r.verdict).toBe('Fail');
  });

  it('refuses the error-rate check (Inconclusive query_error) instead of summing it into a Pass', async () => {
    const r = await judge({ requests: true }).analyze(req());
    expect(r.checks[0]).toMatchObject({
      name: 'error-rate',
      verdict: 'Inconclusive',
      reason: 'query_error',
      canary: null,
      error: {
        code: 'prometheus_bad_response',
        message:
          'Prometheus answered 2 series for {pod="catalogo-abc12-xyz", response_code="200"} to canaryRequests, whose aggregation promises one series per (pod, response_code): {pod="catalogo-abc12-xyz", response_code="200"}, {pod="catalogo-abc12-xyz", response_code="200", store="b"}; refused, not added up',
      },
    });
    expect(r.checks[1]?.reason).toBe('no_regression');
    expect(r.verdict).toBe('Inconclusive');
  });

  it('refuses the latency check when a bucket comes twice', async () => {
    const r = await judge({ buckets: true }).analyze(req());
    expect(r.checks[1]).toMatchObject({ name: 'latency', reason: 'query_error' });
    expect(r.checks[1]?.error?.message).toMatch(
      /^Prometheus answered 2 series for \{pod="catalogo-abc12-xyz", le="\+Inf"\} to canaryBuckets/,
    );
    expect(r.checks[0]?.verdict).toBe('Fail');
  });

  it('answers prometheus_bad_response for the analysis when every check was refused', async () => {
    await expect(
      judge({ requests: true }).analyze(req({ checks: [{ type: 'error-rate' }] })),
    ).rejects.toMatchObject({
      code: 'prometheus_bad_response',
      message: expect.stringMatching(/^Prometheus answered 2 series for .* to canaryRequests/),
    });
  });

  it('refuses a first-sample search answered with several series (the window cannot be trusted)', async () => {
    await expect(
      judge({ presence: true }).analyze(req({ start: 'canary-first-sample', end: undefined })),
    ).rejects.toMatchObject({
      code: 'prometheus_bad_response',
      message: expect.stringMatching(/^Prometheus answered 2 series to presence,/),
    });
  });
});
