/**
 * AnalyzePluginConfig over the wire: the metric plugin's configuration, as Argo hands it, is read
 * by the judge with the HTTP body's rules (string-typed numbers and booleans, the one request
 * model, its messages), filled from the AnalysisRun, and a refusal is INVALID_ARGUMENT naming
 * the configuration's field in the trailers, as the plugin shows it.
 */

import { Client, Metadata, credentials, status, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AnalyzePluginConfigRequest,
  AnalyzePluginConfigResponse,
  type PluginRun,
} from '../../../../src/gen/canary_judge/v1/plugin.js';
import type { AnalysisResult, Judge } from '../../../../src/judge/index.js';
import { PLUGIN_KEYS } from '../../../../src/judge/plugin-config.js';
import type { AnalysisRequest } from '../../../../src/judge/request.js';
import { createLogger } from '../../../../src/observability/index.js';
import { parseRequestBody } from '../../../../src/server/http/request-body.js';
import { startGrpcServer, type RunningGrpcServer } from '../../../../src/server/grpc/server.js';
import { CODE_TRAILER, FIELD_TRAILER } from '../../../../src/server/grpc/status.js';

const result: AnalysisResult = {
  verdict: 'Pass',
  score: 100,
  summary: 'Pass',
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

const TOKEN = 'plugin-config-test-token';
let server: RunningGrpcServer;
let client: Client;
const seen: AnalysisRequest[] = [];

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
    authToken: TOKEN,
  });
  client = new Client(`127.0.0.1:${server.port}`, credentials.createInsecure());
});

afterAll(async () => {
  client.close();
  await server.stop();
});

/** The run of step 2 of the catalogo Rollout, as the plugin forwards it. */
const RUN: PluginRun = {
  name: 'catalogo-6b7f9c8d5-2-1',
  namespace: 'shop',
  rollout: 'catalogo',
  labels: { 'rollouts-pod-template-hash': '6b7f9c8d5', 'step-index': '2' },
  args: { 'stable-hash': '5d4c7b9f8' },
};

interface Answer {
  readonly error: ServiceError | null;
  readonly response: AnalyzePluginConfigResponse | undefined;
  readonly request: AnalysisRequest | undefined;
}

function call(config: string | Uint8Array, run: PluginRun | undefined = RUN, token = TOKEN): Promise<Answer> {
  const before = seen.length;
  const md = new Metadata();
  md.set('authorization', `Bearer ${token}`);
  const bytes = Buffer.from(config);
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      '/canary_judge.v1.PluginService/AnalyzePluginConfig',
      (m: AnalyzePluginConfigRequest) => Buffer.from(AnalyzePluginConfigRequest.encode(m).finish()),
      (b: Buffer) => AnalyzePluginConfigResponse.decode(b),
      AnalyzePluginConfigRequest.fromPartial({ config: bytes, run }),
      md,
      { deadline: Date.now() + 10_000 },
      (error, response) =>
        resolve({ error, response, request: seen.length > before ? seen[seen.length - 1] : undefined }),
    );
  });
}

const SHIPPED = JSON.stringify({
  address: 'canary-judge.canary-judge.svc.cluster.local:9090',
  timeout: '15s',
  selector: { mode: 'pod-hash', stable: '5d4c7b9f8' },
  start: 'canary-first-sample',
  interval: '60s',
  checks: [
    {
      type: 'error-rate',
      name: 'error-rate',
      errorCodes: '5xx',
      alpha: '0.01',
      margin: '0',
      power: '0.8',
      criticalEffect: '5',
      criticalIncrease: '0.01',
      critical: 'true',
    },
    { type: 'latency', name: 'latency', quantile: '0.99', criticalEffect: '5', critical: 'true' },
  ],
});

describe('AnalyzePluginConfig', () => {
  it('reads the shipped template’s configuration: args as strings, the rest from the AnalysisRun', async () => {
    const { error, response, request } = await call(SHIPPED);
    expect(error).toBeNull();
    expect(response).toMatchObject({ verdict: 'Pass', score: 100, summary: 'Pass' });
    expect(response?.metadata).toMatchObject({ verdict: 'Pass', score: '100', judge: 'canary-judge/test' });
    expect(request).toMatchObject({
      rollout: { name: 'catalogo', namespace: 'shop' },
      selector: { mode: 'pod-hash', canary: '6b7f9c8d5', stable: '5d4c7b9f8' },
      interval: { text: '60s', seconds: 60 },
      checks: [
        { type: 'error-rate', alpha: 0.01, margin: 0, power: 0.8, criticalEffect: 5, critical: true },
        { type: 'latency', quantile: 0.99, criticalEffect: 5, critical: true },
      ],
    });
  });

  it('is the HTTP API’s request: the same body POSTed would be the same analysis', async () => {
    const { request } = await call(SHIPPED);
    const { address: _a, timeout: _t, ...rest } = JSON.parse(SHIPPED) as Record<string, unknown>;
    const http = parseRequestBody({
      ...rest,
      rollout: { name: 'catalogo', namespace: 'shop' },
      selector: { mode: 'pod-hash', canary: '6b7f9c8d5', stable: '5d4c7b9f8' },
    });
    expect(http.ok && http.value).toEqual(request);
  });

  it('takes empty strings and nulls as not set, and what the template says over the run', async () => {
    const { error, request } = await call(
      JSON.stringify({
        address: '',
        timeout: null,
        rollout: { name: 'catalogo-eu', namespace: '' },
        selector: { mode: 'service', canary: 'catalogo-canary', stable: 'catalogo-stable' },
        start: '',
        interval: null,
        failBelow: '75.5',
        checks: [
          { type: 'error-rate', alpha: '', margin: null, weight: 2, critical: false, responseFlags: '' },
        ],
      }),
    );
    expect(error).toBeNull();
    expect(request).toMatchObject({
      rollout: { name: 'catalogo-eu', namespace: 'shop' },
      selector: { mode: 'service', canary: 'catalogo-canary', stable: 'catalogo-stable' },
      start: 'canary-first-sample',
      interval: { text: '60s', seconds: 60 },
      failBelow: 75.5,
      checks: [{ type: 'error-rate', weight: 2, critical: false }],
    });
    expect(request?.checks[0]).not.toHaveProperty('alpha');
    expect(request?.checks[0]).not.toHaveProperty('responseFlags');
  });

  it('ignores only the plugin’s own keys, address and timeout', () => {
    expect(PLUGIN_KEYS).toEqual(['address', 'timeout']);
  });

  it.each<[string, string, PluginRun | undefined, string, string]>([
    [
      'a check type the judge does not know (the plugin forwards it all the same)',
      '{"selector":{"stable":"5d4c7b9f8"},"checks":[{"type":"a-kind-added-later"}]}',
      RUN,
      'checks[0].type',
      'check type must be',
    ],
    [
      'a number out of range',
      '{"selector":{"stable":"5d4c7b9f8"},"checks":[{"type":"error-rate","alpha":"0.7"}]}',
      RUN,
      'checks[0].alpha',
      'alpha must be ≤ 0.5',
    ],
    [
      'a number that is not one',
      '{"selector":{"stable":"5d4c7b9f8"},"checks":[{"type":"error-rate","alpha":"x"}]}',
      RUN,
      'checks[0].alpha',
      'checks[0].alpha must be a number or a numeric string',
    ],
    [
      'a misspelt field',
      '{"selector":{"stable":"5d4c7b9f8"},"critcalEffect":"2","checks":[{"type":"error-rate"}]}',
      RUN,
      'critcalEffect',
      'unknown field: critcalEffect',
    ],
    [
      'no checks',
      '{"selector":{"stable":"5d4c7b9f8"},"checks":[]}',
      RUN,
      'checks',
      'at least one check is required',
    ],
    [
      'pod-hash mode without the stable’s hash',
      '{"checks":[{"type":"error-rate"}]}',
      RUN,
      'selector.stable',
      'valueFrom.podTemplateHashValue: Stable',
    ],
    [
      'pod-hash mode in a run without the canary’s hash',
      '{"selector":{"stable":"5d4c7b9f8"},"checks":[{"type":"error-rate"}]}',
      { ...RUN, labels: {} },
      'selector.canary',
      'AnalysisRun shop/catalogo-6b7f9c8d5-2-1 has no rollouts-pod-template-hash label',
    ],
    [
      'a run no Rollout controls',
      '{"selector":{"stable":"5d4c7b9f8"},"checks":[{"type":"error-rate"}]}',
      { ...RUN, rollout: '' },
      'rollout.name',
      'is not owned by a Rollout: set rollout.name in the plugin configuration',
    ],
    ['a configuration that is not JSON', '{"checks":', RUN, 'config', 'the plugin configuration is not JSON'],
    ['a configuration that is not an object', '[1,2]', RUN, 'config', 'must be a JSON object'],
    ['no configuration', '', RUN, 'config', 'no plugin configuration in the metric'],
  ])('refuses %s with INVALID_ARGUMENT naming the field', async (_what, config, run, field, message) => {
    const { error, request } = await call(config, run);
    expect(request).toBeUndefined();
    expect(error?.code).toBe(status.INVALID_ARGUMENT);
    expect(error?.details).toContain(message);
    expect(error?.metadata.get(CODE_TRAILER)).toEqual(['invalid_request']);
    expect(error?.metadata.get(FIELD_TRAILER)).toEqual([field]);
  });

  it('requires the token, as Analyze does', async () => {
    const { error, request } = await call(SHIPPED, RUN, 'wrong');
    expect(error?.code).toBe(status.UNAUTHENTICATED);
    expect(request).toBeUndefined();
  });

  it('answers bytes that are not a request with INVALID_ARGUMENT, never INTERNAL', async () => {
    const answer = await new Promise<ServiceError | null>((resolve) => {
      const md = new Metadata();
      md.set('authorization', `Bearer ${TOKEN}`);
      client.makeUnaryRequest(
        '/canary_judge.v1.PluginService/AnalyzePluginConfig',
        (b: Uint8Array) => Buffer.from(b),
        (b: Buffer) => AnalyzePluginConfigResponse.decode(b),
        Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]),
        md,
        { deadline: Date.now() + 10_000 },
        (error) => resolve(error),
      );
    });
    expect(answer?.code).toBe(status.INVALID_ARGUMENT);
    expect(answer?.metadata.get(FIELD_TRAILER)).toEqual(['request']);
  });
});
