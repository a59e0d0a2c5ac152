/**
 * The gRPC mapping: a proto request becomes the judge's request model and goes through the same
 * schema as an HTTP body (same defaults, same rules, field paths renamed to the proto message), results come back with every number and null
 * intact through the wire encoding, and every error code has its status.
 */

import { Metadata, status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, JudgeError } from '../../../../src/errors.js';
import {
  AnalyzeRequest,
  AnalyzeResponse,
  Check,
  CheckType,
  LatencyThreshold_Basis,
  LatencyThreshold_Source,
  Reason,
  Scorecard_Reason,
  Verdict,
  Window_StartSource,
} from '../../../../src/gen/canary_judge/v1/judge.js';
import type { AnalysisResult, CheckResult } from '../../../../src/judge/index.js';
import {
  CODE_TRAILER,
  FIELD_TRAILER,
  GRPC_STATUS,
  REASON,
  SCORECARD_REASON,
  toAnalyzeResponse,
  toProtoFieldError,
  toRequestModel,
  toStatus,
  VERDICT,
} from '../../../../src/server/grpc/index.js';
import { parseAnalysisRequest } from '../../../../src/judge/request.js';
import { parseRequestBody } from '../../../../src/server/http/request-body.js';

const valid = (): AnalyzeRequest =>
  AnalyzeRequest.fromPartial({
    rollout: { name: 'catalogo', namespace: 'catalogo' },
    selector: { mode: { $case: 'podHash', value: { canary: '6b7f9c8d5', stable: '5d4c7b9f8' } } },
    checks: [{ kind: { $case: 'errorRate', value: {} } }],
  });

/** A request through the wire encoding, as the server receives it. */
const wire = (m: AnalyzeRequest): AnalyzeRequest => AnalyzeRequest.decode(AnalyzeRequest.encode(m).finish());

function errorsOf(m: AnalyzeRequest): { field: string; message: string }[] {
  const parsed = parseAnalysisRequest(toRequestModel(m));
  if (parsed.ok) throw new Error('expected the request to be refused');
  return parsed.errors.map((e) => toProtoFieldError(e.field, e.message, m));
}

describe('proto request → the request model', () => {
  it('parses a full request exactly as the equivalent HTTP body', () => {
    const m = wire(
      AnalyzeRequest.fromPartial({
        rollout: { name: 'catalogo', namespace: 'shop' },
        selector: {
          mode: { $case: 'service', value: { canary: 'catalogo-canary', stable: 'catalogo-stable' } },
        },
        start: '2026-01-02T15:04:05Z',
        end: '2026-01-02T16:04:05Z',
        interval: '30s',
        failBelow: 60,
        checks: [
          Check.fromPartial({
            name: 'errors',
            alpha: 0.005,
            margin: 0,
            criticalEffect: 1.5,
            power: 0.9,
            weight: 2,
            critical: false,
            kind: { $case: 'errorRate', value: { errorCodes: '5xx,429', responseFlags: 'UO,URX' } },
          }),
          Check.fromPartial({
            kind: { $case: 'latency', value: { threshold: { $case: 'quantile', value: 0.99 } } },
          }),
          Check.fromPartial({
            name: 'slo',
            kind: { $case: 'latency', value: { threshold: { $case: 'thresholdMs', value: 250 } } },
          }),
        ],
      }),
    );
    const http = {
      rollout: { name: 'catalogo', namespace: 'shop' },
      selector: { mode: 'service', canary: 'catalogo-canary', stable: 'catalogo-stable' },
      start: '2026-01-02T15:04:05Z',
      end: '2026-01-02T16:04:05Z',
      interval: '30s',
      failBelow: '60',
      checks: [
        {
          type: 'error-rate',
          name: 'errors',
          alpha: '0.005',
          margin: '0',
          criticalEffect: '1.5',
          power: '0.9',
          weight: '2',
          critical: 'false',
          errorCodes: '5xx,429',
          responseFlags: 'UO,URX',
        },
        { type: 'latency', quantile: 0.99 },
        { type: 'latency', name: 'slo', thresholdMs: 250 },
      ],
    };
    const fromProto = parseAnalysisRequest(toRequestModel(m));
    expect(fromProto.ok).toBe(true);
    expect(fromProto).toEqual(parseRequestBody(http));
    // margin 0 and critical false are values, not "unset": proto3 optional keeps them.
    if (fromProto.ok) {
      expect(fromProto.value.checks[0]).toMatchObject({ margin: 0, critical: false });
      expect(fromProto.value.failBelow).toBe(60);
    }
  });

  it('carries the extra matchers as HTTP does, and an empty map as none', () => {
    const m = wire(AnalyzeRequest.fromPartial({ ...valid(), matchers: { cluster: 'eu-west-1' } }));
    const parsed = parseAnalysisRequest(toRequestModel(m));
    expect(parsed.ok && parsed.value.matchers).toEqual({ cluster: 'eu-west-1' });
    expect(parsed).toEqual(
      parseRequestBody({
        rollout: { name: 'catalogo', namespace: 'catalogo' },
        selector: { mode: 'pod-hash', canary: '6b7f9c8d5', stable: '5d4c7b9f8' },
        checks: [{ type: 'error-rate' }],
        matchers: '{"cluster":"eu-west-1"}',
      }),
    );
    expect(toRequestModel(wire(valid()))).not.toHaveProperty('matchers');
    expect(errorsOf(AnalyzeRequest.fromPartial({ ...valid(), matchers: { __name__: 'up' } }))[0]?.field).toBe(
      'matchers.__name__',
    );
  });

  it('leaves unset fields to the same defaults as HTTP', () => {
    const parsed = parseAnalysisRequest(toRequestModel(wire(valid())));
    expect(parsed).toEqual(
      parseRequestBody({
        rollout: { name: 'catalogo', namespace: 'catalogo' },
        selector: { mode: 'pod-hash', canary: '6b7f9c8d5', stable: '5d4c7b9f8' },
        checks: [{ type: 'error-rate' }],
      }),
    );
    if (!parsed.ok) throw new Error('refused');
    expect(parsed.value.start).toBe('canary-first-sample');
    expect(parsed.value.interval).toEqual({ text: '60s', seconds: 60 });
    expect(parsed.value.checks[0]?.name).toBeUndefined();
    expect(parsed.value.checks[0]?.alpha).toBeUndefined();
  });

  it.each([
    ['podHash', 'pod-hash', 'abc123', 'def456'],
    ['service', 'service', 'catalogo-canary', 'catalogo-stable'],
    ['version', 'version', 'v1.2', 'v1.1'],
  ] as const)('maps selector %s to mode %s', ($case, mode, canary, stable) => {
    const m = valid();
    m.selector = { mode: { $case, value: { canary, stable } } };
    const parsed = parseAnalysisRequest(toRequestModel(wire(m)));
    expect(parsed.ok && parsed.value.selector).toEqual({ mode, canary, stable });
  });

  it.each<[string, (m: AnalyzeRequest) => void, string, RegExp]>([
    [
      'a bad rollout name',
      (m) => (m.rollout = { name: 'Catalogo', namespace: 'catalogo' }),
      'rollout.name',
      /DNS-1123 subdomain/,
    ],
    ['no rollout', (m) => (m.rollout = undefined), 'rollout', /^rollout is required$/],
    ['no selector', (m) => (m.selector = undefined), 'selector', /^selector is required$/],
    [
      'a selector with no mode',
      (m) => (m.selector = { mode: undefined }),
      'selector.mode',
      /one of podHash, service or version/,
    ],
    [
      'a service name with an injection',
      (m) =>
        (m.selector = {
          mode: { $case: 'service', value: { canary: 'x"} or vector(1) #', stable: 'catalogo-stable' } },
        }),
      'selector.service.canary',
      /DNS-1123 label/,
    ],
    [
      'equal canary and stable',
      (m) => (m.selector = { mode: { $case: 'version', value: { canary: 'v1', stable: 'v1' } } }),
      'selector.version.canary',
      /must differ/,
    ],
    [
      'a check with no kind',
      (m) => (m.checks = [{ name: '', kind: undefined }]),
      'checks[0].kind',
      /one of errorRate, latency, ratio or gauge/,
    ],
    [
      'a latency check with no threshold',
      (m) => (m.checks = [{ name: '', kind: { $case: 'latency', value: { threshold: undefined } } }]),
      'checks[0].latency.thresholdMs',
      /exactly one of thresholdMs/,
    ],
    [
      'bad error codes',
      (m) => (m.checks = [{ name: '', kind: { $case: 'errorRate', value: { errorCodes: '5xx;429' } } }]),
      'checks[0].errorRate.errorCodes',
      /comma-separated/,
    ],
    [
      'a NaN alpha',
      (m) =>
        (m.checks = [
          { name: '', alpha: Number.NaN, kind: { $case: 'errorRate', value: { errorCodes: '' } } },
        ]),
      'checks[0].alpha',
      /^checks\[0\]\.alpha must be a finite number$/,
    ],
    [
      'alpha above 0.5',
      (m) => (m.checks = [{ name: '', alpha: 0.6, kind: { $case: 'errorRate', value: { errorCodes: '' } } }]),
      'checks[0].alpha',
      /≤ 0\.5/,
    ],
    [
      'a critical effect within the margin',
      (m) =>
        (m.checks = [
          {
            name: '',
            margin: 0.5,
            criticalEffect: 1.4,
            kind: { $case: 'errorRate', value: { errorCodes: '' } },
          },
        ]),
      'checks[0].criticalEffect',
      /greater than 1 \+ margin/,
    ],
    [
      'duplicate check names',
      (m) =>
        (m.checks = [
          { name: '', kind: { $case: 'errorRate', value: { errorCodes: '' } } },
          { name: 'error-rate', kind: { $case: 'errorRate', value: { errorCodes: '429' } } },
        ]),
      'checks[1].name',
      /duplicate check name "error-rate"/,
    ],
    ['no checks', (m) => (m.checks = []), 'checks', /at least one check/],
    ['a bad interval', (m) => (m.interval = '90x'), 'interval', /30s, 1m or 2h/],
    ['a start that is no time', (m) => (m.start = 'yesterday'), 'start', /RFC 3339/],
  ])('refuses %s, naming %s', (_what, change, field, message) => {
    const m = valid();
    change(m);
    const [first] = errorsOf(wire(m));
    expect(first?.field).toBe(field);
    expect(first?.message).toMatch(message);
  });
});

const RESULT: AnalysisResult = {
  verdict: 'Fail',
  score: 37.5,
  summary: 'Fail error-rate: canary 3.1% (31/1000) vs stable 1.0% (200/20000)',
  judge: 'canary-judge/0.1.0',
  rollout: { name: 'catalogo', namespace: 'catalogo' },
  selector: { mode: 'pod-hash', canary: '6b7f9c8d5', stable: '5d4c7b9f8' },
  window: {
    start: '2026-01-02T15:00:00.000Z',
    end: '2026-01-02T16:00:00.000Z',
    interval: '60s',
    intervals: 60,
    startSource: 'explicit',
  },
  checks: [
    {
      name: 'error-rate',
      type: 'error-rate',
      verdict: 'Fail',
      reason: 'regression_detected',
      summary: 'error-rate: canary 3.1% (31/1000) vs stable 1.0% (200/20000)',
      params: {
        alpha: 0.01,
        margin: 0,
        criticalEffect: 2,
        power: 0.8,
        criticalIncrease: 0,
        weight: 1,
        critical: true,
      },
      canary: { requests: 1000.25, bad: 31, rate: 0.030992 },
      stable: { requests: 20000, bad: 200, rate: 0.01 },
      effect: { ratio: 3.1, lower: 2.05, upper: 4.52, confidence: 0.95 },
      evidence: { eValue: 1.5e12, threshold: 100, pValue: 6.7e-13 },
      power: { achieved: 0.97, required: 0.8, criticalEffect: 2 },
      intervals: 58,
      errorCodes: '5xx',
      queries: ['sum(increase(istio_requests_total{reporter="destination"}[60s]))'],
    },
    {
      name: 'latency',
      type: 'latency',
      verdict: 'Inconclusive',
      reason: 'no_canary_traffic',
      summary: 'latency: no canary requests',
      params: {
        alpha: 0.01,
        margin: 0,
        criticalEffect: 2,
        power: 0.8,
        criticalIncrease: 0,
        weight: 1,
        critical: true,
      },
      canary: { requests: 0, bad: 0, rate: null },
      stable: { requests: 20000, bad: 210, rate: 0.0105 },
      effect: { ratio: null, lower: null, upper: null, confidence: 0.95 },
      evidence: { eValue: 1, threshold: 100, pValue: 1 },
      power: { achieved: 0, required: 0.8, criticalEffect: 2 },
      intervals: 0,
      threshold: { ms: 500, source: 'stable-quantile', quantile: 0.99, stableQuantileMs: 480.5 },
      quantiles: { canary: { p50: null, p95: null, p99: null }, stable: { p50: 25, p95: 250, p99: 480.5 } },
      queries: ['q1', 'q2'],
    },
    {
      name: 'custom',
      type: 'error-rate',
      verdict: 'Inconclusive',
      reason: 'query_error',
      summary: 'custom: query error',
      params: {
        alpha: 0.005,
        margin: 0.1,
        criticalEffect: 2,
        power: 0.8,
        criticalIncrease: 0,
        weight: 0.5,
        critical: false,
      },
      canary: null,
      stable: null,
      effect: null,
      evidence: null,
      power: null,
      intervals: 0,
      error: { code: 'prometheus_bad_response', message: 'Prometheus answered status "error"' },
      queries: [],
    },
  ],
  timing: { totalMs: 12.345, prometheusMs: 9.87, queries: 6 },
  scorecard: { reason: 'critical_failure', maxScore: 37.5, failBelow: 75, familyWiseAlpha: 0.025 },
};

describe('result → proto response', () => {
  const r = AnalyzeResponse.decode(AnalyzeResponse.encode(toAnalyzeResponse(RESULT)).finish());

  it('carries the verdict, score, summary and window', () => {
    expect(r.verdict).toBe(Verdict.VERDICT_FAIL);
    expect(r.score).toBe(37.5);
    expect(r.summary).toBe(RESULT.summary);
    expect(r.judge).toBe('canary-judge/0.1.0');
    expect(r.selector?.mode).toEqual({
      $case: 'podHash',
      value: { canary: '6b7f9c8d5', stable: '5d4c7b9f8' },
    });
    expect(r.window).toEqual({
      start: '2026-01-02T15:00:00.000Z',
      end: '2026-01-02T16:00:00.000Z',
      interval: '60s',
      intervals: 60,
      startSource: Window_StartSource.START_SOURCE_EXPLICIT,
    });
    expect(r.timing).toEqual({ totalMs: 12.345, prometheusMs: 9.87, queries: 6 });
    expect(r.scorecard).toEqual({
      reason: Scorecard_Reason.REASON_CRITICAL_FAILURE,
      maxScore: 37.5,
      failBelow: 75,
      familyWiseAlpha: 0.025,
    });
  });

  it('keeps every number of a check, bit for bit', () => {
    const c = r.checks[0];
    expect(c?.type).toBe(CheckType.CHECK_TYPE_ERROR_RATE);
    expect(c?.reason).toBe(Reason.REASON_REGRESSION_DETECTED);
    expect(c?.canary).toEqual({ requests: 1000.25, bad: 31, rate: 0.030992 });
    expect(c?.effect).toEqual({ ratio: 3.1, lower: 2.05, upper: 4.52, confidence: 0.95 });
    expect(c?.evidence).toEqual({ eValue: 1.5e12, threshold: 100, pValue: 6.7e-13 });
    expect(c?.power).toEqual({ achieved: 0.97, required: 0.8, criticalEffect: 2 });
    expect(c?.params).toEqual(RESULT.checks[0]?.params);
    expect(c?.errorCodes).toBe('5xx');
    expect(c?.intervals).toBe(58);
    expect(c?.queries).toEqual(RESULT.checks[0]?.queries);
  });

  it('carries the floor, the time to settle and both latency edges', () => {
    const lat = RESULT.checks[1] as CheckResult;
    const floor = { canaryUpper: 0.002, stableLower: 0.0009, allowed: 0.0045, met: true, beta: 0.05 };
    const edge = (ms: number, bad: number) => ({
      ms,
      canary: { requests: 1000, bad, rate: bad / 1000 },
      stable: { requests: 9000, bad: 9 * bad, rate: bad / 1000 },
      effect: { ratio: 1, lower: 0.5, upper: 2, confidence: 0.95 },
      eValue: 0.4,
      power: 0.3,
      floor,
    });
    const withEdges: AnalysisResult = {
      ...RESULT,
      checks: [
        {
          ...lat,
          reason: 'insufficient_data',
          floor,
          settleMinutes: null,
          threshold: {
            ms: 250,
            source: 'stable-quantile',
            quantile: 0.99,
            lowMs: 100,
            decidingMs: 100,
            basis: 'stable-before-window',
          },
          edges: [edge(100, 60), edge(250, 2)],
        },
      ],
    };
    const c = AnalyzeResponse.decode(AnalyzeResponse.encode(toAnalyzeResponse(withEdges)).finish()).checks[0];
    expect(c?.floor).toEqual(floor);
    // More than a day: the settle message is there, its minutes unset.
    expect(c?.settle).toEqual({});
    expect(c?.threshold).toMatchObject({
      lowMs: 100,
      decidingMs: 100,
      basis: LatencyThreshold_Basis.BASIS_STABLE_BEFORE_WINDOW,
    });
    expect(c?.edges.map((e) => [e.ms, e.canary?.bad])).toEqual([
      [100, 60],
      [250, 2],
    ]);
  });

  it('carries the timeline point by point, counts with their rate when there were requests', () => {
    const er = RESULT.checks[0] as CheckResult;
    const timeline = [
      {
        end: '2026-01-02T15:05:00.000Z',
        canary: { requests: 0, bad: 0 },
        stable: { requests: 900, bad: 1 },
        eValue: 1,
        power: 0,
      },
      {
        end: '2026-01-02T15:06:00.000Z',
        canary: { requests: 40, bad: 2 },
        stable: { requests: 880, bad: 3 },
        eValue: 3.25,
        power: 0.125,
      },
    ];
    const out = toAnalyzeResponse({ ...RESULT, checks: [{ ...er, timeline }] });
    const c = AnalyzeResponse.decode(AnalyzeResponse.encode(out).finish()).checks[0];
    expect(c?.timeline).toEqual([
      { ...timeline[0], canary: { requests: 0, bad: 0 }, stable: { requests: 900, bad: 1, rate: 1 / 900 } },
      {
        ...timeline[1],
        canary: { requests: 40, bad: 2, rate: 0.05 },
        stable: { requests: 880, bad: 3, rate: 3 / 880 },
      },
    ]);
    const without = AnalyzeResponse.decode(AnalyzeResponse.encode(toAnalyzeResponse(RESULT)).finish());
    expect(without.checks[0]?.timeline).toEqual([]);
  });

  it('turns nulls into unset fields, never into 0', () => {
    const lat = r.checks[1];
    expect(lat?.canary).toEqual({ requests: 0, bad: 0 });
    expect(lat?.canary?.rate).toBeUndefined();
    expect(lat?.effect?.ratio).toBeUndefined();
    expect(lat?.effect?.lower).toBeUndefined();
    expect(lat?.threshold).toEqual({
      ms: 500,
      source: LatencyThreshold_Source.SOURCE_STABLE_QUANTILE,
      quantile: 0.99,
      stableQuantileMs: 480.5,
      // proto3: an enum that was not given reads as its zero value.
      basis: LatencyThreshold_Basis.BASIS_UNSPECIFIED,
    });
    expect(lat?.quantiles).toEqual({ canary: {}, stable: { p50: 25, p95: 250, p99: 480.5 } });

    const failed = r.checks[2];
    expect(failed?.reason).toBe(Reason.REASON_QUERY_ERROR);
    expect(failed?.canary).toBeUndefined();
    expect(failed?.effect).toBeUndefined();
    expect(failed?.evidence).toBeUndefined();
    expect(failed?.power).toBeUndefined();
    expect(failed?.error).toEqual({
      code: 'prometheus_bad_response',
      message: 'Prometheus answered status "error"',
    });

    const noWindow = toAnalyzeResponse({ ...RESULT, window: { ...RESULT.window, start: null } });
    expect(AnalyzeResponse.decode(AnalyzeResponse.encode(noWindow).finish()).window?.start).toBeUndefined();
  });

  it('gives every verdict and reason its own enum value, never UNSPECIFIED', () => {
    const verdicts = Object.values(VERDICT);
    const reasons = Object.values(REASON);
    expect(new Set(verdicts).size).toBe(verdicts.length);
    expect(new Set(reasons).size).toBe(reasons.length);
    expect(verdicts).not.toContain(Verdict.VERDICT_UNSPECIFIED);
    expect(reasons).not.toContain(Reason.REASON_UNSPECIFIED);
    const card = Object.values(SCORECARD_REASON);
    expect(new Set(card).size).toBe(card.length);
    expect(card).not.toContain(Scorecard_Reason.REASON_UNSPECIFIED);
  });
});

describe('error codes → gRPC status', () => {
  it('maps every code, Prometheus trouble to retryable statuses', () => {
    expect(Object.keys(GRPC_STATUS).sort()).toEqual([...ERROR_CODES].sort());
    expect(GRPC_STATUS.invalid_request).toBe(status.INVALID_ARGUMENT);
    expect(GRPC_STATUS.unauthorized).toBe(status.UNAUTHENTICATED);
    expect(GRPC_STATUS.prometheus_unavailable).toBe(status.UNAVAILABLE);
    expect(GRPC_STATUS.prometheus_bad_response).toBe(status.UNAVAILABLE);
    expect(GRPC_STATUS.prometheus_timeout).toBe(status.DEADLINE_EXCEEDED);
    expect(GRPC_STATUS.deadline_exceeded).toBe(status.DEADLINE_EXCEEDED);
    expect(GRPC_STATUS.shutting_down).toBe(status.UNAVAILABLE);
    expect(GRPC_STATUS.internal).toBe(status.INTERNAL);
    for (const code of ERROR_CODES) expect(GRPC_STATUS[code], code).not.toBe(status.OK);
  });

  it('puts the closed code and the field in the trailers', () => {
    const s = toStatus(new JudgeError('invalid_request', 'alpha must be > 0', { field: 'checks[0].alpha' }));
    expect(s.code).toBe(status.INVALID_ARGUMENT);
    expect(s.details).toBe('checks[0].alpha: alpha must be > 0');
    expect(s.metadata).toBeInstanceOf(Metadata);
    expect(s.metadata.get(CODE_TRAILER)).toEqual(['invalid_request']);
    expect(s.metadata.get(FIELD_TRAILER)).toEqual(['checks[0].alpha']);

    const down = toStatus(new JudgeError('prometheus_unavailable', 'Prometheus is unreachable'));
    expect(down.details).toBe('Prometheus is unreachable');
    expect(down.metadata.get(FIELD_TRAILER)).toEqual([]);
  });
});
