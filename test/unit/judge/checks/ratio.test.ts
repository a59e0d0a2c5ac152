/**
 * The ratio check: its request schema (the `$selector` placeholder and what is refused), the
 * application matchers it renders and escapes, the exact differencing of counters sampled at the
 * grid points, its decisions and refusals of counts that are not counts, and the judge's dry
 * parse of the expressions (a refusal is a 400 naming the field). Against a real Prometheus:
 * test/integration/ratio-prometheus.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { JudgeError } from '../../../../src/errors.js';
import {
  CHECK_KINDS,
  countParams,
  countResultOf,
  type EvaluationContext,
} from '../../../../src/judge/checks/index.js';
import { ratioIntervals } from '../../../../src/judge/checks/ratio.js';
import { createJudge } from '../../../../src/judge/judge.js';
import { parseAnalysisRequest, type RatioCheckRequest } from '../../../../src/judge/request.js';
import { appSide } from '../../../../src/judge/checks/app-sides.js';
import { DEFAULT_APP_LABELS, type Grid, type Series } from '../../../../src/judge/metrics-source.js';
import type { PrometheusClient, ResultType } from '../../../../src/prometheus/client.js';
import { byPod, fillSelector, renderAppSelector } from '../../../../src/prometheus/expression.js';
import { ISTIO_NAMES } from '../../../../src/prometheus/promql.js';
import { createPrometheusSource } from '../../../../src/prometheus/source.js';
import { parseRequestBody } from '../../../../src/server/http/request-body.js';
import { AnalyzeRequest, toRequestModel } from '../../../../src/server/grpc/mapping.js';

const BAD = 'catalogo_searches_total{result="empty", $selector}';
const TOTAL = 'catalogo_searches_total{$selector}';

function body(check: Record<string, unknown>, mode = 'pod-hash'): Record<string, unknown> {
  const sides = mode === 'pod-hash' ? { canary: 'abc12', stable: 'def34' } : { canary: 'v2', stable: 'v1' };
  return {
    rollout: { name: 'catalogo', namespace: 'shop' },
    selector: { mode, ...(mode === 'service' ? { canary: 'catalogo-canary', stable: 'catalogo' } : sides) },
    checks: [{ type: 'ratio', bad: BAD, total: TOTAL, ...check }],
  };
}

function errorsOf(b: Record<string, unknown>): { field: string; message: string }[] {
  const r = parseRequestBody(b);
  return r.ok ? [] : [...r.errors];
}

describe('ratio check request', () => {
  it('accepts bad and total with $selector, and the common options as Argo strings', () => {
    const r = parseRequestBody(body({ alpha: '0.01', criticalIncrease: '0.001', critical: 'true' }));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const c = r.value.checks[0] as RatioCheckRequest;
    expect(c).toMatchObject({ type: 'ratio', bad: BAD, total: TOTAL, alpha: 0.01, critical: true });
  });

  it.each([
    [
      'no placeholder',
      { bad: 'catalogo_searches_total{result="empty"}' },
      'checks[0].bad',
      /must contain \$selector/,
    ],
    [
      'Argo-style braces',
      { total: 'catalogo_searches_total{{{selector}}}' },
      'checks[0].total',
      /must not contain \{\{/,
    ],
    [
      'another placeholder',
      { bad: 'foo{$selector, x="$namespace"}' },
      'checks[0].bad',
      /unknown placeholder \$namespace/,
    ],
    ['a control character', { bad: 'foo{$selector}\r' }, 'checks[0].bad', /control characters/],
    ['too long', { bad: `foo{$selector}${' '.repeat(2000)}` }, 'checks[0].bad', /at most 2000/],
    ['a missing total', { total: undefined }, 'checks[0].total', /.+/],
  ])('refuses %s, naming the field', (_, change, field, message) => {
    const errors = errorsOf(body(change));
    expect(errors.map((e) => e.field)).toContain(field);
    expect(errors.find((e) => e.field === field)?.message).toMatch(message);
  });

  it('refuses a ratio check in selector mode service: application metrics carry no Service', () => {
    const errors = errorsOf(body({}, 'service'));
    expect(errors).toEqual([
      {
        field: 'checks[0].type',
        message: expect.stringMatching(/selector mode service.*pod-hash or version/),
      },
    ]);
  });

  it('arrives the same over gRPC (RatioCheck in the Check oneof)', () => {
    const m = AnalyzeRequest.fromPartial({
      rollout: { name: 'catalogo', namespace: 'shop' },
      selector: { mode: { $case: 'podHash', value: { canary: 'abc12', stable: 'def34' } } },
      checks: [{ kind: { $case: 'ratio', value: { bad: BAD, total: TOTAL } }, alpha: 0.01 }],
    });
    const r = parseAnalysisRequest(toRequestModel(m));
    expect(r.ok && r.value.checks[0]).toMatchObject({ type: 'ratio', bad: BAD, total: TOTAL, alpha: 0.01 });
  });
});

describe('application matchers for $selector', () => {
  const side = (mode: 'pod-hash' | 'version' | 'service', value: string, rollout = 'catalogo') => ({
    mode,
    rollout,
    namespace: 'shop',
    value,
  });

  it('pod-hash: namespace and the pod-name pattern, with the configured label names', () => {
    expect(renderAppSelector(side('pod-hash', 'abc12'), DEFAULT_APP_LABELS)).toBe(
      'namespace="shop", pod=~"catalogo-abc12-[a-z0-9]+"',
    );
    expect(
      renderAppSelector(side('pod-hash', 'abc12'), {
        namespace: 'kubernetes_namespace',
        pod: 'pod_name',
        version: 'v',
      }),
    ).toBe('kubernetes_namespace="shop", pod_name=~"catalogo-abc12-[a-z0-9]+"');
  });

  it("version: the rollout's pods with that version label; a dotted rollout name is escaped in the regex", () => {
    expect(renderAppSelector(side('version', 'v1.2', 'shop.catalogo'), DEFAULT_APP_LABELS)).toBe(
      'namespace="shop", pod=~"shop\\\\.catalogo-[a-z0-9]+-[a-z0-9]+", version="v1.2"',
    );
  });

  it("carries the request's extra matchers after its own, quoted, and refuses one on its own labels", () => {
    const scoped = { ...side('pod-hash', 'abc12'), matchers: { cluster: 'eu-west-1"}' } };
    expect(renderAppSelector(scoped, DEFAULT_APP_LABELS)).toBe(
      'namespace="shop", pod=~"catalogo-abc12-[a-z0-9]+", cluster="eu-west-1\\"}"',
    );
    expect(() =>
      renderAppSelector({ ...side('pod-hash', 'abc12'), matchers: { namespace: 'x' } }, DEFAULT_APP_LABELS),
    ).toThrow(/cannot be an extra matcher/);
  });

  it('service: none', () => {
    expect(renderAppSelector(side('service', 'catalogo-canary'), DEFAULT_APP_LABELS)).toBeNull();
  });

  it('fills every $selector and wraps the expression per pod, deduplicated across scrapes', () => {
    const filled = fillSelector('a{$selector} + ignoring(x) b{$selector}', 'pod="p"');
    expect(filled).toBe('a{pod="p"} + ignoring(x) b{pod="p"}');
    expect(byPod('sum', filled, DEFAULT_APP_LABELS, ['job', 'instance'])).toEqual({
      text: 'sum by (namespace, pod) (max without (job, instance) (a{pod="p"} + ignoring(x) b{pod="p"}))',
      shape: { kind: 'one-per', labels: ['namespace', 'pod'], required: [] },
    });
    expect(byPod('sum', 'a{pod="p"}', DEFAULT_APP_LABELS, []).text).toBe(
      'sum by (namespace, pod) (a{pod="p"})',
    );
  });
});

describe('ratio evaluation', () => {
  const sides = {
    canary: { mode: 'pod-hash', rollout: 'catalogo', namespace: 'shop', value: 'abc12' },
    stable: { mode: 'pod-hash', rollout: 'catalogo', namespace: 'shop', value: 'def34' },
  } as const;
  const ctx: EvaluationContext = {
    sides,
    interval: '60s',
    intervalSeconds: 60,
    mesh: ISTIO_NAMES,
    appSides: { canary: appSide(sides.canary)!, stable: appSide(sides.stable)! },
    appLabels: DEFAULT_APP_LABELS,
    grids: { window: { start: 0, step: 60, end: 60 * 30 }, withHour: null },
    durationUnit: 'milliseconds',
    timeline: false,
  };
  const check = (extra: Record<string, unknown> = {}) => {
    const r = parseRequestBody(body(extra));
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    return r.value.checks[0] as RatioCheckRequest;
  };
  const C_POD = 'catalogo-abc12-x7k2p';
  const S_POD = 'catalogo-def34-q9z4m';
  /** A pod's counter growing by `per` each interval from `from`, on the whole grid. */
  const counter = (pod: string, per: number, from = 1000): Series[] => [
    {
      labels: { namespace: 'shop', pod },
      samples: Array.from({ length: 31 }, (_, k) => ({ t: k * 60, v: from + k * per })),
    },
  ];
  const answers = (canary: [number, number], stable: [number, number]) => ({
    canaryBad: counter(C_POD, canary[0], 10),
    canaryTotal: counter(C_POD, canary[1]),
    stableBad: counter(S_POD, stable[0], 10),
    stableTotal: counter(S_POD, stable[1]),
  });
  const evaluate = (c: RatioCheckRequest, a: ReturnType<typeof answers>) =>
    CHECK_KINDS.ratio.evaluate(c, a, countParams(c, 1), ctx);

  it('plans each expression per side over the window, its baseline point included', () => {
    const plan = CHECK_KINDS.ratio.plan(check(), ctx);
    expect(Object.keys(plan).sort()).toEqual(Object.keys(answers([0, 1], [0, 1])).sort());
    const source = createPrometheusSource({} as PrometheusClient, {
      mesh: ISTIO_NAMES,
      app: DEFAULT_APP_LABELS,
    });
    expect(plan.canaryBad?.request).toEqual({ expression: check().bad, perPod: 'sum', side: sides.canary });
    expect(source.query(plan.canaryBad!.request).text).toBe(
      'sum by (namespace, pod) (max without (job, instance) (catalogo_searches_total{result="empty", namespace="shop", pod=~"catalogo-abc12-[a-z0-9]+"}))',
    );
    expect(plan.stableTotal).toMatchObject({ range: 'window' });
  });

  it('passes a canary like the stable and fails one with three times the bad events', () => {
    const same = evaluate(check({ criticalIncrease: 0.01 }), answers([20, 1000], [60, 3000]));
    expect(countResultOf(same).verdict).toBe('Pass');
    expect(countResultOf(same).canary).toEqual({ requests: 30_000, bad: 600, rate: 0.02 });
    expect(same.summary).toMatch(/^ratio: canary 2\.0% \(600\/30000\) vs stable 2\.0% \(1800\/90000\)/);
    const worse = evaluate(check(), answers([60, 1000], [60, 3000]));
    expect(countResultOf(worse).verdict).toBe('Fail');
    expect(countResultOf(worse).reason).toBe('regression_detected');
  });

  it('refuses more bad events than events as invalid_data, never a Pass', () => {
    const swapped = evaluate(check({ criticalIncrease: 0.01 }), answers([1000, 20], [3000, 60]));
    expect(countResultOf(swapped).reason).toBe('invalid_data');
    expect(countResultOf(swapped).verdict).toBe('Inconclusive');
    expect(swapped.summary).toMatch(/more bad events than events on the canary side.*invalid data refused/);
    expect(swapped.summary).toMatch(/events, stable/);
  });

  it('refuses increases that are not whole numbers (a rate, not a counter) as invalid_data', () => {
    const r = evaluate(check({ criticalIncrease: 0.01 }), answers([0.5, 1000], [1.5, 3000]));
    expect(countResultOf(r).reason).toBe('invalid_data');
    expect(r.summary).toMatch(/not whole numbers/);
  });

  it('refuses a NaN counter as invalid_data', () => {
    const a = answers([20, 1000], [60, 3000]);
    a.stableTotal = [{ labels: { namespace: 'shop', pod: S_POD }, samples: [{ t: 60, v: Number.NaN }] }];
    expect(evaluate(check(), a).reason).toBe('invalid_data');
  });

  it.each([
    ['another namespace', { namespace: 'other', pod: C_POD }],
    ["another rollout's pod", { namespace: 'shop', pod: 'catalogo-v2-abc12-x7k2p' }],
    ['the stable side', { namespace: 'shop', pod: S_POD }],
    ['no pod label (summed away)', { namespace: 'shop' }],
  ])(
    "refuses a series from %s in a side's answer (a part of the expression without $selector)",
    (_, labels) => {
      const a = answers([20, 1000], [60, 3000]);
      a.canaryTotal = [...a.canaryTotal, { labels, samples: [{ t: 60, v: 5 }] }];
      const r = evaluate(check({ criticalIncrease: 0.01 }), a);
      expect(countResultOf(r).reason).toBe('invalid_data');
      expect(r.summary).toMatch(/total answered a series that is not a canary pod's, .*needs \$selector/);
    },
  );
});

describe('ratio counts on the grid', () => {
  const pod = (name: string, points: [number, number][]) => ({
    labels: { namespace: 'shop', pod: name },
    samples: points.map(([t, v]) => ({ t, v })),
  });
  const grid = { start: 0, step: 60, end: 180 };

  it('reads a restart from the pod as a whole: a bad counter that grew past its old value still restarts', () => {
    const r = ratioIntervals(
      {
        canaryTotal: [
          pod('catalogo-abc12-a', [
            [0, 1000],
            [60, 1100],
            [120, 50],
            [180, 150],
          ]),
        ],
        // After the restart at 120 the pod's bad counter (12) is above its old value (11).
        canaryBad: [
          pod('catalogo-abc12-a', [
            [0, 10],
            [60, 11],
            [120, 12],
            [180, 13],
          ]),
        ],
        stableTotal: [
          pod('catalogo-def34-b', [
            [0, 0],
            [60, 100],
            [120, 200],
            [180, 300],
          ]),
        ],
        stableBad: [],
      },
      grid,
    );
    expect(r.times).toEqual([60, 120, 180]);
    expect(r.intervals.map((i) => [i.canaryBad, i.canaryTotal])).toEqual([
      [1, 100],
      [12, 50],
      [1, 100],
    ]);
    expect(r.intervals.map((i) => [i.stableBad, i.stableTotal])).toEqual([
      [0, 100],
      [0, 100],
      [0, 100],
    ]);
  });
});

describe('the judge checks the expressions with the store before anything else', () => {
  const request = (checks: Record<string, unknown>[]) => {
    const r = parseAnalysisRequest({
      rollout: { name: 'catalogo', namespace: 'shop' },
      selector: { mode: 'pod-hash', canary: 'abc12', stable: 'def34' },
      start: '2026-01-01T00:00:00Z',
      end: '2026-01-01T00:10:00Z',
      checks,
    });
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    return r.value;
  };
  const store = (resultType: (q: string) => ResultType): PrometheusClient & { ranges: string[] } => {
    const ranges: string[] = [];
    return {
      ranges,
      async queryRange(q: string, r: Grid) {
        ranges.push(q);
        return [
          {
            labels: q.startsWith('sum by (namespace, pod)')
              ? { namespace: 'shop', pod: `${/pod=~"([a-z0-9-]+)-\[a-z0-9\]\+"/.exec(q)?.[1] ?? ''}-x1` }
              : {},
            samples: [{ t: r.start, v: 1 }],
          },
        ];
      },
      async ping() {
        return { reachable: true as const, latencyMs: 1 };
      },
      async resultType(q: string) {
        if (q.includes('(('))
          throw new JudgeError('invalid_request', 'Prometheus cannot parse it: 1:5: parse error');
        return resultType(q);
      },
    };
  };
  const judge = (p: PrometheusClient) =>
    createJudge({
      source: createPrometheusSource(p, { mesh: ISTIO_NAMES, app: DEFAULT_APP_LABELS }),
      config: {
        deadlineMs: 2000,
        queryConcurrency: 2,
        lookbackSeconds: 3600,
        mesh: ISTIO_NAMES,
        durationUnit: 'milliseconds',
      },
      name: 'canary-judge/test',
    });

  it("a refused expression is invalid_request naming the field and the parser's message; nothing is queried", async () => {
    const p = store(() => 'vector');
    const err = await judge(p)
      .analyze(request([{ type: 'error-rate' }, { type: 'ratio', bad: 'sum((a{$selector})', total: TOTAL }]))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JudgeError);
    expect(err).toMatchObject({ code: 'invalid_request', field: 'checks[1].bad' });
    expect((err as Error).message).toMatch(
      /^checks\[1\]\.bad \(sum\(\(a\{namespace="shop", pod=~"catalogo-abc12-\[a-z0-9\]\+"\}\)\): .*parse error/,
    );
    expect(p.ranges).toEqual([]);
  });

  it('a range vector is refused: bad and total are instant vectors of counters', async () => {
    const p = store((q) => (q.includes('[5m]') ? 'matrix' : 'vector'));
    const err = await judge(p)
      .analyze(request([{ type: 'ratio', bad: BAD, total: 'catalogo_searches_total{$selector}[5m]' }]))
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'invalid_request', field: 'checks[0].total' });
    expect((err as Error).message).toMatch(
      /instant vector of counters; Prometheus reads it as a range vector/,
    );
  });

  it('accepted expressions are queried per pod over the window', async () => {
    const p = store(() => 'vector');
    const r = await judge(p).analyze(request([{ type: 'ratio', bad: BAD, total: TOTAL }]));
    expect(r.checks[0]?.type).toBe('ratio');
    expect(p.ranges.filter((q) => q.startsWith('sum by (namespace, pod)'))).toHaveLength(4);
    expect(r.checks[0]?.summary).not.toMatch(/invalid/);
    expect(r.checks[0]?.queries).toContain(
      'sum by (namespace, pod) (max without (job, instance) (catalogo_searches_total{namespace="shop", pod=~"catalogo-def34-[a-z0-9]+"}))',
    );
  });
});
