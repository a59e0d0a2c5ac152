/**
 * The gRPC request's wire check: the table of known fields follows the .proto file, a request
 * with unknown fields or bytes that are not protobuf is INVALID_ARGUMENT (as an unknown key or
 * a body that is not JSON is a 400 over HTTP), never INTERNAL, and valid requests go through.
 */

import { readFileSync } from 'node:fs';
import { Client, Metadata, credentials, status, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AnalyzeRequest, AnalyzeResponse, Check } from '../../../../src/gen/canary_judge/v1/judge.js';
import type { AnalysisResult, Judge } from '../../../../src/judge/index.js';
import { createLogger } from '../../../../src/observability/index.js';
import { createAdmission } from '../../../../src/server/admission.js';
import { startGrpcServer, type RunningGrpcServer } from '../../../../src/server/grpc/server.js';
import { CODE_TRAILER, FIELD_TRAILER } from '../../../../src/server/grpc/status.js';
import { REQUEST_FIELDS, wireProblem, type FieldKind } from '../../../../src/server/grpc/wire.js';

/** message name → field number → type, as written in the .proto file. */
function protoFields(): Record<string, Record<number, string>> {
  const text = readFileSync(
    new URL('../../../../proto/canary_judge/v1/judge.proto', import.meta.url),
    'utf8',
  );
  const out: Record<string, Record<number, string>> = {};
  for (const m of text.matchAll(/^message (\w+) \{([\s\S]*?)^\}/gm)) {
    const fields: Record<number, string> = {};
    for (const f of (m[2] as string).matchAll(/^\s*(?:optional |repeated )?([\w.]+) \w+ = (\d+);/gm))
      fields[Number(f[2])] = f[1] as string;
    out[m[1] as string] = fields;
  }
  return out;
}

const full = AnalyzeRequest.fromPartial({
  rollout: { name: 'catalogo', namespace: 'catalogo' },
  selector: { mode: { $case: 'podHash', value: { canary: '6b7f9c8d5', stable: '5d4c7b9f8' } } },
  start: '2026-01-01T00:00:00Z',
  end: '2026-01-01T01:00:00Z',
  interval: '60s',
  failBelow: 75,
  checks: [
    Check.fromPartial({
      name: 'errors',
      alpha: 0.01,
      margin: 0,
      criticalEffect: 2,
      power: 0.8,
      weight: 1,
      critical: true,
      criticalIncrease: 0.001,
      kind: { $case: 'errorRate', value: { errorCodes: '5xx', responseFlags: 'UO' } },
    }),
    Check.fromPartial({
      name: 'latency',
      kind: { $case: 'latency', value: { threshold: { $case: 'quantile', value: 0.99 } } },
    }),
  ],
});
const bytes = (m: AnalyzeRequest): Uint8Array => AnalyzeRequest.encode(m).finish();
/** `b` plus one more field: number `field`, wire type `wire`, and its payload bytes. */
const withField = (b: Uint8Array, field: number, wire: number, payload: number[]): Uint8Array =>
  Uint8Array.from([...b, field * 8 + wire, ...payload]);

describe('the request field table', () => {
  it('matches every request message of the .proto file, field by field', () => {
    const proto = protoFields();
    for (const [message, fields] of Object.entries(REQUEST_FIELDS)) {
      const expected = Object.fromEntries(
        Object.entries(fields).map(([n, k]: [string, FieldKind]) => [n, k]),
      );
      expect({ message, fields: proto[message] }).toEqual({ message, fields: expected });
    }
  });
});

describe('wireProblem', () => {
  it('accepts a request using every field', () => {
    expect(wireProblem(bytes(full))).toBeUndefined();
  });

  it.each<[string, Uint8Array, string]>([
    ['an unknown top-level field', withField(bytes(full), 12, 0, [1]), 'unknown field 12 in AnalyzeRequest'],
    // checks (6, length 2) holding field 9 (varint 1), which Check does not have.
    [
      'an unknown field inside a check',
      Uint8Array.from([6 * 8 + 2, 2, 9 * 8 + 0, 1]),
      'unknown field 9 in AnalyzeRequest.6',
    ],
    [
      'a known field with the wrong wire type',
      Uint8Array.from([3 * 8 + 0, 1]),
      'field 3 of AnalyzeRequest has wire type 0, expected 2',
    ],
    [
      'a length running past the end',
      Uint8Array.from([3 * 8 + 2, 50, 65]),
      'field 3 of AnalyzeRequest runs past the end of the message',
    ],
    ['a truncated varint', Uint8Array.from([0x80]), 'truncated varint'],
  ])('refuses %s', (_what, b, problem) => {
    expect(wireProblem(b)).toBe(problem);
  });
});

// ---- over the wire ----------------------------------------------------------------------

const result: AnalysisResult = {
  verdict: 'Inconclusive',
  score: 100,
  summary: 'Inconclusive',
  judge: 'canary-judge/test',
  rollout: { name: 'catalogo', namespace: 'catalogo' },
  selector: { mode: 'pod-hash', canary: '6b7f9c8d5', stable: '5d4c7b9f8' },
  window: {
    start: null,
    end: '2026-01-01T01:00:00.000Z',
    interval: '60s',
    intervals: 0,
    startSource: 'explicit',
  },
  checks: [],
  timing: { totalMs: 1, prometheusMs: 0, queries: 0 },
};

let server: RunningGrpcServer;
let client: Client;
const seen: unknown[] = [];

beforeAll(async () => {
  const judge: Judge = {
    analyze: async (r) => {
      seen.push(r);
      return result;
    },
  };
  server = await startGrpcServer({
    judge,
    logger: createLogger({ level: 'error', silent: true }),
    host: '127.0.0.1',
    port: 0,
  });
  client = new Client(`127.0.0.1:${server.port}`, credentials.createInsecure());
});

afterAll(async () => {
  client.close();
  await server.stop();
});

function call(raw: Uint8Array): Promise<{ error: ServiceError | null; trailers: Metadata | undefined }> {
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      '/canary_judge.v1.JudgeService/Analyze',
      (b: Uint8Array) => Buffer.from(b),
      (b: Buffer) => AnalyzeResponse.decode(b),
      raw,
      new Metadata(),
      { deadline: Date.now() + 10_000 },
      (error) => resolve({ error, trailers: error?.metadata }),
    );
  });
}

describe('Analyze with bytes that are not an AnalyzeRequest', () => {
  it.each<[string, Uint8Array]>([
    ['garbage', Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x01])],
    ['an unknown field', withField(bytes(full), 12, 0, [1])],
    ['random bytes', Uint8Array.from({ length: 64 }, (_, i) => (i * 97 + 13) % 256)],
  ])('answers %s with INVALID_ARGUMENT naming the request, never INTERNAL', async (_what, raw) => {
    const before = seen.length;
    const { error, trailers } = await call(raw);
    expect(error?.code).toBe(status.INVALID_ARGUMENT);
    expect(error?.details).toMatch(/^request: the request is not a valid canary_judge\.v1\.AnalyzeRequest: /);
    expect(trailers?.get(CODE_TRAILER)).toEqual(['invalid_request']);
    expect(trailers?.get(FIELD_TRAILER)).toEqual(['request']);
    expect(seen.length).toBe(before);
  });

  it('still takes a request with every field, response flags included', async () => {
    const { error } = await call(bytes(AnalyzeRequest.fromPartial({ ...full, start: '', end: '' })));
    expect(error).toBeNull();
    expect(seen[seen.length - 1]).toMatchObject({
      checks: [
        { type: 'error-rate', responseFlags: 'UO', critical: true },
        { type: 'latency', quantile: 0.99 },
      ],
    });
  });
});

describe('admission over gRPC', () => {
  it('refuses an analysis beyond the bound with UNAVAILABLE and the overloaded code, like HTTP 503', async () => {
    let release: (() => void) | undefined;
    const gated: Judge = { analyze: () => new Promise((resolve) => (release = () => resolve(result))) };
    const admission = createAdmission({ maxInFlight: 1, maxQueued: 0, queueWaitMs: 0 });
    const s = await startGrpcServer({
      judge: gated,
      logger: createLogger({ level: 'error', silent: true }),
      host: '127.0.0.1',
      port: 0,
      admission,
    });
    const c = new Client(`127.0.0.1:${s.port}`, credentials.createInsecure());
    const once = (): Promise<ServiceError | null> =>
      new Promise((resolve) => {
        c.makeUnaryRequest(
          '/canary_judge.v1.JudgeService/Analyze',
          (b: Uint8Array) => Buffer.from(b),
          (b: Buffer) => AnalyzeResponse.decode(b),
          bytes(AnalyzeRequest.fromPartial({ ...full, start: '', end: '' })),
          { deadline: Date.now() + 10_000 },
          (error) => resolve(error),
        );
      });
    try {
      const first = once();
      for (let i = 0; i < 200 && admission.inFlight === 0; i++) await new Promise((r) => setTimeout(r, 5));
      const refused = await once();
      expect(refused?.code).toBe(status.UNAVAILABLE);
      expect(refused?.metadata.get(CODE_TRAILER)).toEqual(['overloaded']);
      release?.();
      expect(await first).toBeNull();
    } finally {
      c.close();
      await s.stop();
    }
  });
});
