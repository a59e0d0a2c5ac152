/**
 * The gauge check: its request schema (defaults, what is refused), its plan (one expression per
 * side, per pod, at the grid points), its evaluation on synthetic series (Pass for identical
 * sides, Fail for a clear degradation, never a Pass on NaN or missing values, a foreign series
 * refused, serial dependence said), and its record in both answers (JSON and proto). Against a
 * real Prometheus: test/integration/gauge-prometheus.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { CHECK_KINDS, type EvaluationContext } from '../../../../src/judge/checks/index.js';
import { gaugeValues } from '../../../../src/judge/checks/gauge.js';
import { recordFields } from '../../../../src/judge/records.js';
import type { GaugeCheckRequest } from '../../../../src/judge/request.js';
import type { AnalysisResult, CheckResult, GaugeCheckParams } from '../../../../src/judge/types.js';
import type { Series } from '../../../../src/judge/metrics-source.js';
import { appSide } from '../../../../src/judge/checks/app-sides.js';
import { DEFAULT_APP_LABELS, type SideSelector } from '../../../../src/judge/metrics-source.js';
import { ISTIO_NAMES } from '../../../../src/prometheus/promql.js';
import { createPrometheusSource } from '../../../../src/prometheus/source.js';
import { parseRequestBody } from '../../../../src/server/http/request-body.js';
import {
  AnalyzeRequest,
  AnalyzeResponse,
  toAnalyzeResponse,
  toRequestModel,
} from '../../../../src/server/grpc/mapping.js';
import { CheckType as PbCheckType } from '../../../../src/gen/canary_judge/v1/judge.js';

const VALUE = 'avg_over_time(catalogo_queue_depth{$selector}[1m])';

function body(check: Record<string, unknown>, mode = 'pod-hash'): Record<string, unknown> {
  const sides =
    mode === 'service'
      ? { canary: 'catalogo-canary', stable: 'catalogo' }
      : { canary: 'abc12', stable: 'def34' };
  return {
    rollout: { name: 'catalogo', namespace: 'shop' },
    selector: { mode, ...sides },
    checks: [{ type: 'gauge', value: VALUE, ...check }],
  };
}

function errorsOf(b: Record<string, unknown>): { field: string; message: string }[] {
  const r = parseRequestBody(b);
  return r.ok ? [] : [...r.errors];
}

const check = (extra: Record<string, unknown> = {}): GaugeCheckRequest => {
  const r = parseRequestBody(body(extra));
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.value.checks[0] as GaugeCheckRequest;
};

describe('gauge check request', () => {
  it('accepts a value with $selector and its options as Argo strings, with documented defaults', () => {
    const c = check({ tolerance: '0.05', criticalEffect: '0.2', power: '0.9', alpha: '0.02' });
    expect(c).toMatchObject({
      type: 'gauge',
      value: VALUE,
      tolerance: 0.05,
      criticalEffect: 0.2,
      power: 0.9,
    });
    expect(CHECK_KINDS.gauge.params(c, 2)).toEqual({
      alpha: 0.01,
      power: 0.9,
      weight: 1,
      critical: false,
      direction: 'higher-is-worse',
      scale: 'relative',
      tolerance: 0.05,
      criticalEffect: 0.2,
    });
    expect(CHECK_KINDS.gauge.params(check(), 1)).toMatchObject({
      alpha: 0.01,
      power: 0.95,
      tolerance: 0.1,
      criticalEffect: 0.3,
      direction: 'higher-is-worse',
      scale: 'relative',
    });
  });

  it.each([
    ['no placeholder', { value: 'catalogo_queue_depth' }, 'checks[0].value', /must contain \$selector/],
    ['an unknown direction', { direction: 'up' }, 'checks[0].direction', /higher-is-worse or lower-is-worse/],
    ['an unknown scale', { scale: 'log' }, 'checks[0].scale', /relative or absolute/],
    ['a negative tolerance', { tolerance: -1 }, 'checks[0].tolerance', /≥ 0/],
    [
      'a critical effect not above the tolerance',
      { tolerance: 0.3, criticalEffect: 0.2 },
      'checks[0].criticalEffect',
      /greater than tolerance \(0\.3\)/,
    ],
    [
      'the default critical effect below a larger tolerance',
      { tolerance: 0.5 },
      'checks[0].criticalEffect',
      /greater than tolerance \(0\.5\)/,
    ],
    [
      'an absolute scale without a tolerance',
      { scale: 'absolute', criticalEffect: 30 },
      'checks[0].tolerance',
      /absolute gauge check needs tolerance/,
    ],
    [
      'a relative decrease above 100 %',
      { direction: 'lower-is-worse', criticalEffect: 1.5 },
      'checks[0].criticalEffect',
      /at most 1/,
    ],
    ['a count option (margin)', { margin: 0.1 }, 'checks[0].margin', /unknown field/],
    [
      'a count option (criticalIncrease)',
      { criticalIncrease: 0.01 },
      'checks[0].criticalIncrease',
      /unknown field/,
    ],
  ])('refuses %s', (_, extra, field, message) => {
    const errs = errorsOf(body(extra));
    expect(errs.map((e) => e.field)).toContain(field);
    expect(errs.find((e) => e.field === field)?.message).toMatch(message);
  });

  it('refuses a gauge check in selector mode service (its series carry pods, not Services)', () => {
    const errs = errorsOf(body({}, 'service'));
    expect(errs[0]?.field).toBe('checks[0].type');
    expect(errs[0]?.message).toMatch(/a gauge check cannot tell canary from stable by Service/);
  });

  it('arrives from gRPC as the same model (GaugeCheck in the Check oneof, criticalEffect on Check)', () => {
    const m = AnalyzeRequest.fromPartial({
      rollout: { name: 'catalogo', namespace: 'shop' },
      selector: { mode: { $case: 'podHash', value: { canary: 'abc12', stable: 'def34' } } },
      checks: [
        {
          name: 'queue',
          criticalEffect: 40,
          kind: {
            $case: 'gauge',
            value: { value: VALUE, direction: 'lower-is-worse', scale: 'absolute', tolerance: 10 },
          },
        },
      ],
    });
    expect(toRequestModel(m)['checks']).toEqual([
      {
        type: 'gauge',
        name: 'queue',
        criticalEffect: 40,
        value: VALUE,
        direction: 'lower-is-worse',
        scale: 'absolute',
        tolerance: 10,
      },
    ]);
  });
});

const sideSelector = (value: string): SideSelector => ({
  mode: 'pod-hash',
  rollout: 'catalogo',
  namespace: 'shop',
  value,
});
const sides = { canary: sideSelector('abc12'), stable: sideSelector('def34') };
const side = (value: string) => appSide(sideSelector(value))!;

describe('gauge evaluation', () => {
  const N = 30;
  const ctx: EvaluationContext = {
    sides,
    interval: '60s',
    intervalSeconds: 60,
    mesh: ISTIO_NAMES,
    appSides: { canary: side('abc12'), stable: side('def34') },
    appLabels: DEFAULT_APP_LABELS,
    grids: { window: { start: 0, step: 60, end: 60 * N }, withHour: null },
    durationUnit: 'milliseconds',
    timeline: false,
  };
  const C_POD = 'catalogo-abc12-x7k2p';
  const S_POD = 'catalogo-def34-q9z4m';
  /** A pod's value at every grid point (the baseline point too), from `at(k)`. */
  const pod = (name: string, at: (k: number) => number): Series => ({
    labels: { namespace: 'shop', pod: name },
    samples: Array.from({ length: N + 1 }, (_, k) => ({ t: k * 60, v: at(k) })),
  });
  /** Shared load (both sides see it) and a small per-side wobble. */
  const load = (k: number) => 100 + 20 * Math.sin(k / 3);
  const wobble = (k: number, seed: number) => {
    const x = Math.sin(k * 12.9898 + seed * 78.233) * 43758.5453;
    return (x - Math.floor(x)) * 12 - 6;
  };
  const evaluate = (c: GaugeCheckRequest, canary: Series[], stable: Series[]) =>
    CHECK_KINDS.gauge.evaluate(c, { canary, stable }, CHECK_KINDS.gauge.params(c, 1), ctx);

  it('plans the expression per side, per pod, over the window', async () => {
    const parsed: string[] = [];
    const source = createPrometheusSource(
      {
        queryRange: () => Promise.resolve([]),
        resultType: (q) => {
          parsed.push(q);
          return Promise.resolve('vector');
        },
      },
      { mesh: ISTIO_NAMES, app: DEFAULT_APP_LABELS },
    );
    const plan = CHECK_KINDS.gauge.plan(check(), ctx);
    expect(Object.keys(plan).sort()).toEqual(['canary', 'stable']);
    expect(plan.canary?.request).toEqual({ expression: check().value, perPod: 'avg', side: sides.canary });
    expect(source.query(plan.canary!.request).text).toBe(
      'avg by (namespace, pod) (max without (job, instance) (avg_over_time(catalogo_queue_depth{namespace="shop", pod=~"catalogo-abc12-[a-z0-9]+"}[1m])))',
    );
    expect(plan.stable).toMatchObject({ range: 'window' });
    const expressions = CHECK_KINDS.gauge.expressions?.(check(), ctx) ?? [];
    expect(expressions).toEqual([
      { field: 'value', expression: check().value, side: sides.canary, holds: 'gauge values' },
    ]);
    for (const e of expressions) await source.checkExpression(e);
    expect(parsed).toEqual([
      'avg_over_time(catalogo_queue_depth{namespace="shop", pod=~"catalogo-abc12-[a-z0-9]+"}[1m])',
    ]);
  });

  it("averages a side's pods at each interval's end, leaving out the baseline point and off-grid samples", () => {
    const a: Series = { labels: {}, samples: [0, 60, 90, 120].map((t) => ({ t, v: t })) };
    const b: Series = { labels: {}, samples: [{ t: 120, v: 20 }] };
    expect(gaugeValues([a, b], { start: 0, step: 60, end: 180 })).toEqual([60, 70, null]);
  });

  it('passes identical sides and fails a canary 50 % higher', () => {
    const same = evaluate(
      check(),
      [pod(C_POD, (k) => load(k) + wobble(k, 1))],
      [pod(S_POD, (k) => load(k) + wobble(k, 2))],
    );
    expect(same.verdict).toBe('Pass');
    expect(same.reason).toBe('no_regression');
    expect(same.summary).toMatch(
      /^gauge \(higher is worse\): canary median \d+ vs stable \d+ over 30 paired intervals/,
    );
    expect(same.summary).toMatch(/→ no regression$/);
    const worse = evaluate(
      check(),
      [pod(C_POD, (k) => 1.5 * load(k) + wobble(k, 1))],
      [pod(S_POD, (k) => load(k) + wobble(k, 2))],
    );
    expect(worse.verdict).toBe('Fail');
    expect(worse.reason).toBe('regression_detected');
    expect(worse.record.kind).toBe('gauge');
    expect(worse.summary).toMatch(/degradation \+5\d%/);
    // Lower is worse: the same higher canary is no regression.
    const better = evaluate(
      check({ direction: 'lower-is-worse' }),
      [pod(C_POD, (k) => 1.5 * load(k))],
      [pod(S_POD, (k) => load(k))],
    );
    expect(better.verdict).toBe('Pass');
  });

  it('never passes on NaN or missing values: they are left out, and all-NaN is no traffic', () => {
    const nan = evaluate(check(), [pod(C_POD, () => Number.NaN)], [pod(S_POD, load)]);
    expect(nan.verdict).toBe('Inconclusive');
    expect(nan.reason).toBe('no_canary_traffic');
    const none = evaluate(check(), [], [pod(S_POD, load)]);
    expect(none.verdict).toBe('Inconclusive');
    expect(none.reason).toBe('no_canary_traffic');
    // Only 3 intervals with a canary value: too few pairs to pass.
    const few = evaluate(
      check(),
      [pod(C_POD, (k) => (k % 10 === 0 ? load(k) : Number.NaN))],
      [pod(S_POD, load)],
    );
    expect(few.verdict).toBe('Inconclusive');
    expect(few.reason).toBe('insufficient_data');
    expect(few.summary).toMatch(/interval\(s\) with one side only left out/);
    const inf = evaluate(check(), [pod(C_POD, () => Number.POSITIVE_INFINITY)], [pod(S_POD, load)]);
    expect(inf.reason).toBe('invalid_data');
  });

  it("refuses a series that is not one of the side's pods", () => {
    const r = evaluate(check(), [pod(C_POD, load), pod('other-abc12-zzz', load)], [pod(S_POD, load)]);
    expect(r.verdict).toBe('Inconclusive');
    expect(r.reason).toBe('invalid_data');
    expect(r.summary).toMatch(/value answered a series that is not a canary pod's, .*needs \$selector/);
  });

  it('says so in its summary when the intervals drift together (serial dependence)', () => {
    // A canary above the stable in long stretches, then below: few runs around the median.
    const drift = (k: number) => (Math.floor(k / 8) % 2 === 0 ? 1.3 : 0.8);
    const r = evaluate(check(), [pod(C_POD, (k) => 100 * drift(k))], [pod(S_POD, () => 100)]);
    expect(r.record.kind === 'gauge' && r.record.result.serialDependence?.suspected).toBe(true);
    expect(r.summary).toMatch(/serial dependence suspected: runs test z=-\d/);
  });
});

describe('the gauge record in the answers', () => {
  const c = check({ name: 'queue' });
  const params = CHECK_KINDS.gauge.params(c, 1) as GaugeCheckParams;
  const series = (pod: string, f: number): Series => ({
    labels: { namespace: 'shop', pod },
    samples: Array.from({ length: 21 }, (_, k) => ({ t: k * 60, v: f * (100 + (k % 3)) })),
  });
  const o = CHECK_KINDS.gauge.evaluate(
    c,
    { canary: [series('catalogo-abc12-a', 2)], stable: [series('catalogo-def34-b', 1)] },
    params,
    {
      sides,
      interval: '60s',
      intervalSeconds: 60,
      mesh: ISTIO_NAMES,
      appSides: { canary: side('abc12'), stable: side('def34') },
      appLabels: DEFAULT_APP_LABELS,
      grids: { window: { start: 0, step: 60, end: 1200 }, withHour: null },
      durationUnit: 'milliseconds',
      timeline: false,
    },
  );
  const result: CheckResult = {
    name: 'queue',
    type: 'gauge',
    verdict: o.verdict,
    reason: o.reason,
    summary: o.summary,
    params,
    ...recordFields(o.record, 60),
    queries: ['q1', 'q2'],
  };

  it('JSON: the count fields null, the gauge test under `gauge`', () => {
    expect(o.verdict).toBe('Fail');
    expect(result).toMatchObject({
      canary: null,
      stable: null,
      effect: null,
      evidence: null,
      power: null,
      intervals: 20,
    });
    expect(result.gauge).toMatchObject({
      intervals: 20,
      unpaired: { canaryOnly: 0, stableOnly: 0 },
      canary: { intervals: 20, median: 202 },
      stable: { intervals: 20, median: 101 },
      degradation: { scale: 'relative', estimate: 1 },
      fail: { threshold: 100, hits: 20 },
    });
    expect(result.gauge?.pValue).toBeLessThan(0.01);
    expect(JSON.parse(JSON.stringify(result)).gauge).not.toHaveProperty('verdict');
  });

  it('proto: GaugeResult with the same numbers, CheckParams with margin and criticalIncrease 0', () => {
    const answer: AnalysisResult = {
      verdict: 'Fail',
      score: 0,
      summary: o.summary,
      judge: 'canary-judge/test',
      rollout: { name: 'catalogo', namespace: 'shop' },
      selector: { mode: 'pod-hash', canary: 'abc12', stable: 'def34' },
      window: {
        start: null,
        end: '2026-01-01T00:20:00Z',
        interval: '60s',
        intervals: 20,
        startSource: 'explicit',
      },
      checks: [result],
      timing: { totalMs: 1, prometheusMs: 1, queries: 2 },
    };
    const pb = AnalyzeResponse.decode(AnalyzeResponse.encode(toAnalyzeResponse(answer)).finish());
    const r = pb.checks[0]!;
    expect(r.type).toBe(PbCheckType.CHECK_TYPE_GAUGE);
    expect(r.canary).toBeUndefined();
    expect(r.params).toEqual({
      alpha: 0.01,
      margin: 0,
      criticalEffect: 0.3,
      power: 0.95,
      weight: 1,
      critical: false,
      criticalIncrease: 0,
    });
    const g = result.gauge!;
    expect(r.gauge).toMatchObject({
      direction: 'higher-is-worse',
      scale: 'relative',
      tolerance: 0.1,
      canaryOnly: 0,
      stableOnly: 0,
      canary: { intervals: 20, median: 202 },
      stable: { intervals: 20, median: 101 },
      estimate: g.degradation.estimate,
      lower: g.degradation.lower,
      fail: { eValue: g.fail.eValue, maxEValue: g.fail.maxEValue, threshold: 100, hits: 20 },
      pass: { threshold: g.pass.threshold, hits: g.pass.hits },
      pValue: g.pValue,
    });
    // An unbounded upper end (a stable of 0 would give one) stays unset, like a JSON null.
    expect(r.gauge?.upper).toBe(g.degradation.upper ?? undefined);
  });
});
