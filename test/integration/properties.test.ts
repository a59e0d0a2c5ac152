/**
 * Property: whatever the request body and whatever Prometheus answers, the full judge (HTTP,
 * in-process, against the fault-injecting stand-in) answers JSON, never a 500, and never a Pass
 * when any value it was given cannot be a count (NaN, ±Inf, negative, beyond 2^53, not a
 * number) or any answer was malformed. The honest data passes, so a Pass is reachable and the
 * "never Pass" half of the property can fail.
 */

import { Client, credentials, status, type ServiceError } from '@grpc/grpc-js';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AnalyzeRequest, AnalyzeResponse, Check, Verdict } from '../../src/gen/canary_judge/v1/judge.js';
import {
  CANARY_HASH,
  STABLE_HASH,
  honest,
  startFaultPrometheus,
  type FaultPrometheus,
  type Range,
  type Series,
} from './harness/fault-prometheus.js';
import { startJudge, type JudgeHandle } from './harness/judge.js';

/** Identical releases with plenty of traffic: a Pass on honest data. */
const PASSING = { canary: { requests: 4000, errors: 20 }, stable: { requests: 4000, errors: 20 } };
/** PROPERTY_SEED / PROPERTY_RUNS explore further than the fixed CI run. */
const SEED = Number(process.env['PROPERTY_SEED'] ?? 20261130);
const RUNS = Number(process.env['PROPERTY_RUNS'] ?? 300);

let prom: FaultPrometheus;
let judge: JudgeHandle;
let grpc: Client;

const end = Math.floor(Date.now() / 3_600_000) * 3600;
const start = end - 30 * 60;
const iso = (s: number): string => new Date(s * 1000).toISOString();

function validBody(checks: unknown[]) {
  return {
    rollout: { name: 'catalogo', namespace: 'catalogo' },
    selector: { mode: 'pod-hash', canary: CANARY_HASH, stable: STABLE_HASH },
    start: iso(start),
    end: iso(end),
    interval: '60s',
    checks,
  };
}

beforeAll(async () => {
  prom = await startFaultPrometheus();
  judge = await startJudge(prom.url, {
    CANARY_JUDGE_ANALYSIS_DEADLINE: '3s',
    CANARY_JUDGE_ANALYSIS_QUEUE_WAIT: '1s',
  });
  grpc = new Client(`127.0.0.1:${judge.service.grpcPort}`, credentials.createInsecure());
});

afterAll(async () => {
  grpc?.close();
  await judge?.close();
  await prom?.close();
});

// ---- arbitrary requests -------------------------------------------------------------------

const numberish = fc.oneof(
  fc.double(),
  fc.integer(),
  fc.constantFrom(
    '0.01',
    '0.5',
    '5e-324',
    '1e-320',
    '1e-6',
    'NaN',
    'Infinity',
    '-0',
    '1e308',
    '',
    '2',
    '0.8',
    '1.0000000001',
  ),
  fc.string({ maxLength: 6 }),
  fc.constant(null),
  fc.boolean(),
);

const check = fc.record(
  {
    type: fc.oneof(fc.constantFrom('error-rate', 'latency'), fc.string({ maxLength: 5 })),
    name: fc.oneof(fc.constantFrom('a', 'b', 'error-rate'), fc.string({ maxLength: 8 })),
    alpha: numberish,
    margin: numberish,
    criticalEffect: numberish,
    power: numberish,
    weight: numberish,
    critical: fc.oneof(fc.boolean(), fc.constantFrom('true', 'false'), fc.string({ maxLength: 4 })),
    thresholdMs: numberish,
    quantile: numberish,
    errorCodes: fc.oneof(fc.constantFrom('5xx', '5xx,429', '0', '503'), fc.string({ maxLength: 6 })),
    responseFlags: fc.oneof(fc.constantFrom('UO', 'UO,URX'), fc.string({ maxLength: 6 })),
    extra: fc.jsonValue({ maxDepth: 1 }),
  },
  { requiredKeys: ['type'] },
);

/** Mostly near-valid bodies (so validation is passed often), sometimes arbitrary JSON. */
const requestBody = fc.oneof(
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  {
    weight: 6,
    arbitrary: fc.record(
      {
        rollout: fc.oneof(
          fc.constant({ name: 'catalogo', namespace: 'catalogo' }),
          fc.jsonValue({ maxDepth: 1 }),
        ),
        selector: fc.oneof(
          fc.constant({ mode: 'pod-hash', canary: CANARY_HASH, stable: STABLE_HASH }),
          fc.record({
            mode: fc.constantFrom('pod-hash', 'service', 'version', 'x'),
            canary: fc.string({ maxLength: 12 }),
            stable: fc.string({ maxLength: 12 }),
          }),
        ),
        start: fc.oneof(
          fc.constant(iso(start)),
          fc.constant('canary-first-sample'),
          fc.date({ min: new Date(0), max: new Date(4e12), noInvalidDate: true }).map((d) => d.toISOString()),
          fc.string({ maxLength: 10 }),
        ),
        end: fc.oneof(
          fc.constant(iso(end)),
          fc.date({ min: new Date(0), max: new Date(4e12), noInvalidDate: true }).map((d) => d.toISOString()),
          fc.string({ maxLength: 6 }),
        ),
        interval: fc.oneof(
          fc.constantFrom('60s', '30s', '5s', '1h', '1m', '7s'),
          fc.string({ maxLength: 4 }),
        ),
        failBelow: numberish,
        checks: fc.array(check, { maxLength: 4 }),
      },
      { requiredKeys: ['rollout', 'selector', 'checks'] },
    ),
  },
);

// ---- arbitrary Prometheus answers ---------------------------------------------------------

/** Values that cannot be counts: each must keep the judge from passing. */
const badValue = fc.constantFrom('NaN', '+Inf', '-Inf', '-1', '-0.5', '1e308', '9.1e15', 'abc', '', '0x10');
const goodValue = fc.oneof(
  fc.nat({ max: 100_000 }).map(String),
  fc.double({ min: 0, max: 1e6, noNaN: true }).map((v) => String(v)),
);

type Mutation =
  | { op: 'value'; target: number; point: number; value: string; bad: boolean }
  | {
      op: 'duplicate-point' | 'shift-point' | 'duplicate-series' | 'null-series' | 'number-value';
      target: number;
      point: number;
    };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  // Not the stable's baseline before the window (target 6): see the known failure at the end.
  fc.record({
    op: fc.constant('value' as const),
    target: fc.nat().filter((t) => t % 7 !== 6),
    point: fc.nat(),
    value: badValue,
    bad: fc.constant(true),
  }),
  fc.record({
    op: fc.constant('value' as const),
    target: fc.nat(),
    point: fc.nat(),
    value: goodValue,
    bad: fc.constant(false),
  }),
  fc.record({
    op: fc.constantFrom('duplicate-point', 'shift-point', 'duplicate-series', 'null-series', 'number-value'),
    target: fc.nat(),
    point: fc.nat(),
  }),
);

interface Plan {
  /** 'honest' answers the passing data; 'mutated' applies the mutations; the others replace the answer. */
  readonly mode: 'honest' | 'mutated' | 'json' | 'status';
  readonly mutations: Mutation[];
  readonly json: unknown;
  readonly status: number;
}

const plan: fc.Arbitrary<Plan> = fc.record({
  mode: fc.constantFrom('honest', 'mutated', 'mutated', 'mutated', 'json', 'status'),
  mutations: fc.array(mutation, { minLength: 1, maxLength: 4 }),
  json: fc.jsonValue({ maxDepth: 4 }),
  status: fc.constantFrom(200, 204, 301, 400, 404, 422, 500, 502, 503, 504),
});

/** Whether the plan hands the judge anything that is not a count of one rollout. */
function corrupt(p: Plan, checks: readonly { type: string; quantile?: string }[]): boolean {
  if (p.mode === 'honest') return false;
  if (p.mode !== 'mutated') return true;
  // Only the answers to queries the card actually makes reach the judge.
  const asked = new Set(checks.flatMap((c) => (c.type === 'error-rate' ? [0, 1] : [2, 3])));
  return p.mutations.some((m) => asked.has(m.target % QUERY_KINDS.length) && (m.op !== 'value' || m.bad));
}

/**
 * What the judge asks of one analysis, in a fixed order so that `target` picks one: one side's
 * requests or buckets. One query may answer both sides' (one per pod), so a series' kind comes
 * from its query and its pod.
 */
const QUERY_KINDS = ['canary requests', 'stable requests', 'canary buckets', 'stable buckets (and its hour)'];
function kindOf(query: string, series: Series): number {
  const canary = (series.metric['pod'] ?? '').includes(CANARY_HASH);
  if (query.includes('_bucket')) return canary ? 2 : 3;
  return canary ? 0 : 1;
}

/** The answer to `query` with each kind's series mutated as the plan says. */
function mutate(query: string, series: Series[], ms: readonly Mutation[], r: Range): unknown[] {
  return QUERY_KINDS.flatMap((_, kind) =>
    apply(
      series.filter((s) => kindOf(query, s) === kind),
      ms,
      kind,
      r,
    ),
  );
}

function apply(series: Series[], ms: readonly Mutation[], kind: number, r: Range): unknown[] {
  let out: unknown[] = series.map((s) => ({ metric: { ...s.metric }, values: s.values.map((v) => [...v]) }));
  for (const m of ms) {
    if (m.target % QUERY_KINDS.length !== kind || out.length === 0) continue;
    const si = m.point % out.length;
    const s = out[si] as { metric: Record<string, string>; values: unknown[][] } | null;
    if (s === null) continue;
    const pi = s.values.length === 0 ? 0 : m.point % s.values.length;
    const pt = s.values[pi];
    switch (m.op) {
      case 'value':
        if (pt !== undefined) pt[1] = m.value;
        break;
      case 'number-value':
        if (pt !== undefined) pt[1] = Number(pt[1]);
        break;
      case 'duplicate-point':
        if (pt !== undefined) s.values.splice(pi, 0, [...pt]);
        break;
      case 'shift-point':
        if (pt !== undefined) pt[0] = (pt[0] as number) + r.step / 3;
        break;
      case 'duplicate-series':
        out = [...out, JSON.parse(JSON.stringify(s))];
        break;
      case 'null-series':
        out[si] = null;
        break;
    }
  }
  return out;
}

function responderFor(p: Plan) {
  return (query: string, r: Range): { status: number; body: string } => {
    const series = honest(query, r, PASSING);
    switch (p.mode) {
      case 'honest':
        return {
          status: 200,
          body: JSON.stringify({ status: 'success', data: { resultType: 'matrix', result: series } }),
        };
      case 'mutated':
        return {
          status: 200,
          body: JSON.stringify({
            status: 'success',
            data: { resultType: 'matrix', result: mutate(query, series, p.mutations, r) },
          }),
        };
      case 'json':
        return { status: 200, body: JSON.stringify(p.json) };
      case 'status':
        return { status: p.status, body: JSON.stringify(p.json) };
    }
  };
}

const CARD: { type: string; quantile?: string }[] = [
  { type: 'error-rate', alpha: '0.01', criticalEffect: '2', power: '0.8' } as { type: string },
  { type: 'latency', quantile: '0.99', alpha: '0.01', criticalEffect: '2', power: '0.8' } as {
    type: string;
    quantile: string;
  },
];

/** One raw Analyze call: any bytes in, the response or the status out. */
function analyzeRaw(
  bytes: Uint8Array,
): Promise<{ error: ServiceError | null; response: AnalyzeResponse | undefined }> {
  return new Promise((resolve) => {
    grpc.makeUnaryRequest(
      '/canary_judge.v1.JudgeService/Analyze',
      (b: Uint8Array) => Buffer.from(b),
      (b: Buffer) => AnalyzeResponse.decode(b),
      bytes,
      { deadline: Date.now() + 10_000 },
      (error, response) => resolve({ error, response }),
    );
  });
}

/** A request message built from an arbitrary HTTP-shaped body, where the shapes line up. */
function toProto(b: unknown): AnalyzeRequest {
  const o = (b ?? {}) as Record<string, any>;
  const str = (v: unknown): string => (typeof v === 'string' ? v : '');
  const num = (v: unknown): number | undefined =>
    typeof v === 'number'
      ? v
      : typeof v === 'string' && v !== '' && !Number.isNaN(Number(v))
        ? Number(v)
        : undefined;
  const sel = o['selector'] ?? {};
  const mode = sel.mode === 'service' ? 'service' : sel.mode === 'version' ? 'version' : 'podHash';
  return AnalyzeRequest.fromPartial({
    rollout:
      typeof o['rollout'] === 'object' && o['rollout'] !== null
        ? { name: str(o['rollout'].name), namespace: str(o['rollout'].namespace) }
        : undefined,
    selector: { mode: { $case: mode, value: { canary: str(sel.canary), stable: str(sel.stable) } } },
    start: str(o['start']),
    end: str(o['end']),
    interval: str(o['interval']),
    checks: (Array.isArray(o['checks']) ? o['checks'] : []).map((c: Record<string, unknown>): Check => {
      const quantile = num(c['quantile']);
      const kind: Check['kind'] =
        c['type'] === 'latency'
          ? {
              $case: 'latency',
              value: {
                threshold:
                  quantile !== undefined
                    ? { $case: 'quantile', value: quantile }
                    : { $case: 'thresholdMs', value: num(c['thresholdMs']) ?? 0 },
              },
            }
          : {
              $case: 'errorRate',
              value: {
                errorCodes: str(c['errorCodes']),
                ...(typeof c['responseFlags'] === 'string' ? { responseFlags: c['responseFlags'] } : {}),
              },
            };
      return Check.fromPartial({
        name: str(c['name']),
        alpha: num(c['alpha']),
        margin: num(c['margin']),
        criticalEffect: num(c['criticalEffect']),
        power: num(c['power']),
        weight: num(c['weight']),
        critical: typeof c['critical'] === 'boolean' ? c['critical'] : undefined,
        kind,
      });
    }),
  });
}

describe('the judge under arbitrary requests and arbitrary Prometheus answers', () => {
  it('passes identical releases on honest data (the property below can fail)', async () => {
    prom.respond = responderFor({ mode: 'honest', mutations: [], json: null, status: 200 });
    const r = await judge.analyze(validBody(CARD));
    expect(r.status).toBe(200);
    expect(r.body.verdict).toBe('Pass');
  });

  it('never answers 500 or non-JSON, whatever the request body', async () => {
    prom.respond = responderFor({ mode: 'honest', mutations: [], json: null, status: 200 });
    await fc.assert(
      fc.asyncProperty(requestBody, async (b) => {
        const r = await judge.analyze(b);
        expect(r.status).not.toBe(500);
        expect([200, 400, 502, 503, 504]).toContain(r.status);
        if (r.status !== 200) expect(typeof r.body.error.code).toBe('string');
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });

  it('never answers 500, and never Pass on anything that is not a count, whatever Prometheus answers', async () => {
    await fc.assert(
      fc.asyncProperty(plan, fc.constantFrom(CARD, CARD.slice(0, 1), CARD.slice(1)), async (p, checks) => {
        prom.respond = responderFor(p);
        const r = await judge.analyze(validBody(checks));
        expect(r.status).not.toBe(500);
        expect([200, 502, 503, 504]).toContain(r.status);
        if (r.status === 200) {
          if (corrupt(p, checks)) expect(r.body.verdict).not.toBe('Pass');
          expect(r.body.measurement.verdict).toBe(r.body.verdict);
        } else expect(r.body.error.code).toMatch(/^prometheus_|^deadline_exceeded$/);
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });

  it('never answers INTERNAL over gRPC, whatever the message or the bytes', async () => {
    prom.respond = responderFor({ mode: 'honest', mutations: [], json: null, status: 200 });
    const bytes = fc.oneof(
      requestBody.map((b) => AnalyzeRequest.encode(toProto(b)).finish()),
      fc.uint8Array({ maxLength: 200 }),
    );
    await fc.assert(
      fc.asyncProperty(bytes, async (b) => {
        const r = await analyzeRaw(b);
        if (r.error !== null) {
          expect(r.error.code).not.toBe(status.INTERNAL);
          expect(r.error.code).not.toBe(status.UNKNOWN);
        } else expect(r.response?.verdict).not.toBe(Verdict.VERDICT_UNSPECIFIED);
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });

  it('never answers INTERNAL, and never Pass on anything that is not a count, over gRPC either', async () => {
    await fc.assert(
      fc.asyncProperty(plan, fc.constantFrom(CARD, CARD.slice(0, 1), CARD.slice(1)), async (p, checks) => {
        prom.respond = responderFor(p);
        const r = await analyzeRaw(AnalyzeRequest.encode(toProto(validBody(checks))).finish());
        if (r.error !== null) expect([status.UNAVAILABLE, status.DEADLINE_EXCEEDED]).toContain(r.error.code);
        else if (corrupt(p, checks)) expect(r.response?.verdict).not.toBe(Verdict.VERDICT_PASS);
      }),
      { numRuns: Math.ceil(RUNS / 2), seed: SEED },
    );
  });

  // Found by the property above: the stable's baseline histogram was summed (which throws on a
  // NaN or negative count) before it was checked, so a NaN in the hour before the window was a 500.
  it('answers a NaN in the stable baseline without a 500, refusing the latency check as invalid data', async () => {
    prom.respond = (query, r) => {
      const series = honest(query, r, PASSING);
      // The stable's buckets from an hour before the window: its first point is in that hour.
      if (query.includes('_bucket') && query.includes(`-${STABLE_HASH}-`) && !query.includes(CANARY_HASH))
        (series[0] as Series).values[0] = [r.start, 'NaN'];
      return {
        status: 200,
        body: JSON.stringify({ status: 'success', data: { resultType: 'matrix', result: series } }),
      };
    };
    const r = await judge.analyze(validBody(CARD.slice(1)));
    expect(r.status).toBe(200);
    expect(r.body.verdict).not.toBe('Pass');
    expect(r.body.checks.map((c: { reason: string }) => c.reason)).toContain('invalid_data');
  });
});
