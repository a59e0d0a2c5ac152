/**
 * The gRPC contract from Go, the language of its main client (the native Argo Rollouts metric
 * plugin): Go code is generated from proto/ with protoc-gen-go and protoc-gen-go-grpc (through
 * buf, as a plugin module would), a small grpc-go client (test/integration/grpc-go) is built,
 * and it talks to the judge service over a real Prometheus. It also asks grpc-go's own health
 * client, so the hand-written grpc.health.v1 contract is checked against the real one. Needs Go
 * (as the Argo contract stage does); modules come from the Go module proxy or its cache.
 */

import { execFile, spawn } from 'node:child_process';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startJudge, type JudgeHandle } from './harness/judge.js';
import { startPrometheus, type PrometheusHandle } from '../support/prometheus.js';
import { CANARY_HASH, STABLE_HASH, combined } from './harness/scenarios.js';
import { openMetrics } from './harness/simulation.js';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');
const HOUR = 3600;
const TOKEN = 'grpc-go-test-token-0123456789';

let tmp: string;
let judgecall: string;
let prom: PrometheusHandle;
let judge: JudgeHandle;
let t0: number;

interface CallOutput {
  health: string;
  ok: boolean;
  verdict?: string;
  response?: any;
  code?: string;
  message?: string;
  trailer?: Record<string, string>;
}

/** Runs the Go client with a request in proto3 JSON on stdin. */
function call(request: unknown, token = TOKEN): Promise<CallOutput> {
  return new Promise((resolve, reject) => {
    const child = spawn(judgecall, ['-addr', `127.0.0.1:${judge.service.grpcPort ?? 0}`, '-token', token], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) reject(new Error(`judgecall exited ${code}: ${err}`));
      else resolve(JSON.parse(out) as CallOutput);
    });
    child.stdin.end(JSON.stringify(request));
  });
}

const iso = (unix: number): string => new Date(unix * 1000).toISOString();

/** The request as a Go plugin would build it, in proto3 JSON (the form docs/grpc.md shows). */
function request(
  namespace: string,
  checks: unknown[] = [
    { errorRate: { errorCodes: '5xx' } },
    { name: 'latency', latency: { quantile: 0.99 } },
  ],
) {
  return {
    rollout: { name: 'catalogo', namespace },
    selector: { podHash: { canary: CANARY_HASH, stable: STABLE_HASH } },
    start: iso(t0),
    end: iso(t0 + HOUR),
    interval: '60s',
    checks,
  };
}

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'canary-judge-grpc-go-'));
  await cp(join(root, 'test/integration/grpc-go'), tmp, { recursive: true });
  const env = { ...process.env, GOFLAGS: '-mod=readonly' };
  await run(
    'go',
    [
      'build',
      '-o',
      join(tmp, 'bin') + '/',
      'google.golang.org/protobuf/cmd/protoc-gen-go',
      'google.golang.org/grpc/cmd/protoc-gen-go-grpc',
    ],
    { cwd: tmp, env },
  );
  await writeFile(
    join(tmp, 'buf.gen.yaml'),
    [
      'version: v2',
      'managed:',
      '  enabled: true',
      '  override:',
      '    - file_option: go_package_prefix',
      '      value: canaryjudge.test/judgecall/gen',
      'plugins:',
      `  - local: ${join(tmp, 'bin/protoc-gen-go')}`,
      '    out: gen',
      '    opt: paths=source_relative',
      `  - local: ${join(tmp, 'bin/protoc-gen-go-grpc')}`,
      '    out: gen',
      '    opt: paths=source_relative',
      '',
    ].join('\n'),
  );
  // Only the judge's own contract: health comes from grpc-go, the real published one.
  await run(
    join(root, 'node_modules/.bin/buf'),
    [
      'generate',
      'proto',
      '--template',
      join(tmp, 'buf.gen.yaml'),
      '--path',
      'proto/canary_judge',
      '--output',
      tmp,
    ],
    { cwd: root },
  );
  judgecall = join(tmp, 'bin/judgecall');
  await run('go', ['build', '-o', judgecall, '.'], { cwd: tmp, env });

  const now = Math.floor(Date.now() / 1000);
  t0 = Math.floor((now - HOUR - 600) / 60) * 60;
  prom = await startPrometheus({
    backfill: openMetrics(combined(['healthy', 'error-3x'], 42), t0, HOUR, 15),
  });
  judge = await startJudge(prom.url, { CANARY_JUDGE_AUTH_TOKEN: TOKEN });
}, 600_000);

afterAll(async () => {
  await judge?.close();
  await prom?.close();
  if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
});

describe('a grpc-go client', () => {
  it('gets the same Fail for a 3x-error canary as the HTTP API, with every number', async () => {
    const out = await call(request('error-3x'));
    expect(out.health).toBe('SERVING');
    expect(out.ok).toBe(true);
    expect(out.verdict).toBe('VERDICT_FAIL');

    const http = await judge.analyze(
      {
        rollout: { name: 'catalogo', namespace: 'error-3x' },
        selector: { mode: 'pod-hash', canary: CANARY_HASH, stable: STABLE_HASH },
        start: iso(t0),
        end: iso(t0 + HOUR),
        interval: '60s',
        checks: [
          { type: 'error-rate', errorCodes: '5xx' },
          { type: 'latency', name: 'latency', quantile: 0.99 },
        ],
      },
      { Authorization: `Bearer ${TOKEN}` },
    );
    expect(http.body.verdict).toBe('Fail');
    const r = out.response;
    expect(r.score ?? 0).toBe(http.body.score);
    expect(r.summary).toBe(http.body.summary);
    const er = r.checks[0];
    const her = http.body.checks[0];
    expect(er.reason).toBe('REASON_REGRESSION_DETECTED');
    expect(er.type).toBe('CHECK_TYPE_ERROR_RATE');
    expect(er.canary).toEqual(her.canary);
    expect(er.stable).toEqual(her.stable);
    expect(er.effect).toEqual(her.effect);
    expect(er.evidence).toEqual(her.evidence);
    expect(er.queries).toEqual(her.queries);
    expect(r.checks[1].threshold.source).toBe('SOURCE_STABLE_QUANTILE');
  });

  it('gets a Pass for a healthy canary', async () => {
    const out = await call(request('healthy'));
    expect(out.verdict).toBe('VERDICT_PASS');
    expect(out.response.checks.map((c: any) => c.reason)).toEqual([
      'REASON_NO_REGRESSION',
      'REASON_NO_REGRESSION',
    ]);
  });

  it('reads INVALID_ARGUMENT and the field from the trailers', async () => {
    const out = await call(request('healthy', [{ alpha: 0.7, errorRate: {} }]));
    expect(out.ok).toBe(false);
    expect(out.code).toBe('InvalidArgument');
    expect(out.message).toBe('checks[0].alpha: alpha must be ≤ 0.5');
    expect(out.trailer).toMatchObject({
      'canary-judge-error-code': 'invalid_request',
      'canary-judge-error-field': 'checks[0].alpha',
    });
  });

  it('is refused without the token', async () => {
    const out = await call(request('healthy'), 'wrong-token-wrong-token');
    expect(out.code).toBe('Unauthenticated');
    expect(out.trailer).toMatchObject({ 'canary-judge-error-code': 'unauthorized' });
  });
});
