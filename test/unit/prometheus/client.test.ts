/**
 * Error mapping of the Prometheus client. The misbehaving answers (HTTP 500, garbage JSON, a
 * wrong result type) come from a small local HTTP server standing in for a broken Prometheus:
 * a real one does not answer like that on demand. Outage and hang against a real Prometheus
 * are in test/integration.
 */

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createQueryRunner } from '../../../src/judge/query-runner.js';
import { DEFAULT_APP_LABELS, type Series } from '../../../src/judge/metrics-source.js';
import { createPrometheusClient, parseMatrix } from '../../../src/prometheus/client.js';
import { ISTIO_NAMES } from '../../../src/prometheus/promql.js';
import { createPrometheusSource } from '../../../src/prometheus/source.js';

let server: Server;
let base: string;
const seenHeaders: Record<string, string | string[] | undefined>[] = [];

const ANSWERS: Record<string, [number, string]> = {
  '/ok/api/v1/query_range': [
    200,
    JSON.stringify({
      status: 'success',
      data: {
        resultType: 'matrix',
        result: [
          {
            metric: { le: '+Inf' },
            values: [
              [60, '1.5'],
              [120, 'NaN'],
              [180, '+Inf'],
            ],
          },
        ],
      },
    }),
  ],
  '/e500/api/v1/query_range': [
    500,
    JSON.stringify({ status: 'error', errorType: 'internal', error: 'oops' }),
  ],
  '/e503/api/v1/query_range': [503, 'Service Unavailable'],
  '/e422/api/v1/query_range': [
    422,
    JSON.stringify({ status: 'error', errorType: 'execution', error: 'many-to-many matching not allowed' }),
  ],
  '/etimeout/api/v1/query_range': [
    503,
    JSON.stringify({
      status: 'error',
      errorType: 'timeout',
      error: 'query timed out in expression evaluation',
    }),
  ],
  '/garbage/api/v1/query_range': [200, '<html>proxy login</html>'],
  '/vector/api/v1/query_range': [
    200,
    JSON.stringify({ status: 'success', data: { resultType: 'vector', result: [] } }),
  ],
  '/dup/api/v1/query_range': [
    200,
    JSON.stringify({
      status: 'success',
      data: {
        resultType: 'matrix',
        result: [
          {
            metric: {},
            values: [
              [60, '1'],
              [60, '1'],
              [120, '2'],
            ],
          },
        ],
      },
    }),
  ],
  '/partial/api/v1/query_range': [
    200,
    JSON.stringify({
      status: 'success',
      data: { resultType: 'matrix', result: [{ metric: {}, values: [[60, '1']] }] },
      warnings: [
        'No StoreAPIs matched for this query: store 10.0.0.7:10901 (token s3cr3t-token-value) unavailable',
        'second store down',
      ],
    }),
  ],
  '/badwarnings/api/v1/query_range': [
    200,
    JSON.stringify({
      status: 'success',
      data: { resultType: 'matrix', result: [] },
      warnings: [42],
    }),
  ],
  '/nowarnings/api/v1/query_range': [
    200,
    JSON.stringify({
      status: 'success',
      data: { resultType: 'matrix', result: [] },
      warnings: [],
      infos: ['PromQL info: metric might not be a counter, name does not end in _total'],
    }),
  ],
  '/leak/api/v1/query_range': [502, '<html>upstream said: Authorization: Bearer s3cr3t-token-value</html>'],
  '/leak/api/v1/query': [502, '<html>upstream said: Authorization: Bearer s3cr3t-token-value</html>'],
  '/leakjson/api/v1/query_range': [
    400,
    JSON.stringify({ status: 'error', errorType: 'bad_data', error: 'bad header Bearer s3cr3t-token-value' }),
  ],
};

const seenForms: URLSearchParams[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    seenHeaders.push(req.headers);
    const body: Buffer[] = [];
    req.on('data', (c: Buffer) => body.push(c));
    req.on('end', () => seenForms.push(new URLSearchParams(Buffer.concat(body).toString('utf8'))));
    if (req.url?.startsWith('/slow')) {
      setTimeout(() => res.end('{}'), 1000);
      return;
    }
    if (req.url?.startsWith('/redirect')) {
      res.writeHead(307, { Location: `http://127.0.0.1:1/api/v1/query_range` });
      res.end();
      return;
    }
    if (req.url?.startsWith('/huge')) {
      // 1 MiB of a well-formed but endless answer, without a Content-Length.
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write('{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[');
      const chunk = `${'[60,"1"],'.repeat(1024)}`;
      for (let i = 0; i < 120; i++) res.write(chunk);
      res.end('[60,"1"]]}]}}');
      return;
    }
    const a = ANSWERS[req.url ?? ''] ?? [404, 'not found'];
    res.writeHead(a[0], { 'Content-Type': 'application/json' });
    res.end(a[1]);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const range = { start: 60, end: 180, step: 60 };
const client = (path: string, timeoutMs = 2000, maxResponseBytes?: number) =>
  createPrometheusClient({
    url: `${base}${path}`,
    timeoutMs,
    headers: { Authorization: 'Bearer t', 'X-Scope-OrgID': 'team-a' },
    ...(maxResponseBytes === undefined ? {} : { maxResponseBytes }),
  });
const leaky = (path: string) =>
  createPrometheusClient({
    url: `${base}${path}`,
    timeoutMs: 2000,
    headers: { Authorization: 'Bearer s3cr3t-token-value' },
  });
const matrix = (result: unknown) => ({ status: 'success', data: { resultType: 'matrix', result } });
const series = (labels: Record<string, string>, points: [number, number][]): Series => ({
  labels,
  samples: points.map(([t, v]) => ({ t, v })),
});

describe('Prometheus client', () => {
  it('parses a matrix, keeping NaN and +Inf for the judge to refuse, and sends the configured headers', async () => {
    const s = await client('/ok').queryRange('up', range);
    expect(s).toEqual([
      {
        labels: { le: '+Inf' },
        samples: [
          { t: 60, v: 1.5 },
          { t: 120, v: Number.NaN },
          { t: 180, v: Number.POSITIVE_INFINITY },
        ],
      },
    ]);
    const h = seenHeaders[seenHeaders.length - 1];
    expect(h?.['authorization']).toBe('Bearer t');
    expect(h?.['x-scope-orgid']).toBe('team-a');
    expect(h?.['accept-encoding']).toBe('identity');
  });

  it.each([
    ['/e500', 'prometheus_bad_response', /HTTP 500 \(internal\): oops/],
    ['/e422', 'prometheus_bad_response', /many-to-many/],
    ['/e503', 'prometheus_unavailable', /HTTP 503/],
    ['/etimeout', 'prometheus_timeout', /timed out/],
    ['/garbage', 'prometheus_bad_response', /not JSON/],
    ['/vector', 'prometheus_bad_response', /expected matrix/],
  ])('maps %s to %s', async (path, code, message) => {
    await expect(client(path).queryRange('up', range)).rejects.toMatchObject({
      code,
      message: expect.stringMatching(message),
    });
  });

  it('maps a refused connection to prometheus_unavailable', async () => {
    // A port that was just free: nothing listens there.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const c = createPrometheusClient({ url: `http://127.0.0.1:${port}`, timeoutMs: 2000 });
    await expect(c.queryRange('up', range)).rejects.toMatchObject({
      code: 'prometheus_unavailable',
      message: expect.stringMatching(/ECONNREFUSED/),
    });
    expect(await c.ping()).toMatchObject({ reachable: false, error: { code: 'prometheus_unavailable' } });
  });

  it('maps its own timeout to prometheus_timeout and the caller abort to deadline_exceeded', async () => {
    await expect(client('/slow', 100).queryRange('up', range)).rejects.toMatchObject({
      code: 'prometheus_timeout',
    });
    await expect(
      client('/slow', 5000).queryRange('up', range, { signal: AbortSignal.timeout(100) }),
    ).rejects.toMatchObject({ code: 'deadline_exceeded' });
  });

  it('asks for a complete answer (partial_response=false, for Thanos Query)', async () => {
    await client('/ok').queryRange('up', range);
    // The body is read after the answer; wait for its 'end'.
    await new Promise((r) => setTimeout(r, 20));
    const form = seenForms[seenForms.length - 1];
    expect(form?.get('partial_response')).toBe('false');
    expect(form?.get('query')).toBe('up');
  });

  it('refuses an answer with warnings as possibly partial, quoting the first with credentials masked', async () => {
    await expect(leaky('/partial').queryRange('up', range)).rejects.toMatchObject({
      code: 'prometheus_bad_response',
      message:
        'Prometheus answered with warnings, refused as possibly partial data (a store behind the query layer may be down): No StoreAPIs matched for this query: store 10.0.0.7:10901 (token ***) unavailable (and 1 more)',
    });
    await expect(client('/badwarnings').queryRange('up', range)).rejects.toMatchObject({
      code: 'prometheus_bad_response',
      message: 'Prometheus answered a malformed warnings list',
    });
    // An empty list, and Prometheus 3's infos, are not warnings.
    await expect(client('/nowarnings').queryRange('up', range)).resolves.toEqual([]);
  });

  it('counts an answer with warnings as a failed query in the metrics', async () => {
    const seen: (string | undefined)[] = [];
    const c = createPrometheusClient({
      url: `${base}/partial`,
      timeoutMs: 2000,
      onQuery: (_kind, _s, error) => seen.push(error),
    });
    await expect(c.queryRange('up', range)).rejects.toMatchObject({ code: 'prometheus_bad_response' });
    expect(seen).toEqual(['prometheus_bad_response']);
  });

  it('refuses an answer with two points at one time instead of summing them', async () => {
    const source = createPrometheusSource(client('/dup'), { mesh: ISTIO_NAMES, app: DEFAULT_APP_LABELS });
    const runner = createQueryRunner(source, { deadlineMs: 5000, concurrency: 1 });
    const answer = runner.run({ name: 'requests', text: 'up', shape: { kind: 'one' } }, range);
    await expect(answer.finally(() => runner.close())).rejects.toMatchObject({
      code: 'prometheus_bad_response',
      message: 'Prometheus answered two points at t=60 in one series: duplicated data, refused',
    });
  });

  it('does not follow a redirect, which would resend the query and the credentials elsewhere', async () => {
    await expect(client('/redirect').queryRange('up', range)).rejects.toMatchObject({
      code: 'prometheus_bad_response',
      message: expect.stringMatching(
        /^Prometheus answered a redirect \(HTTP 307\); redirects are not followed/,
      ),
    });
  });

  it('abandons an answer larger than the cap as it streams in', async () => {
    await expect(
      client('/huge', 5000, 256 * 1024).queryRange('up', { start: 60, end: 60, step: 60 }),
    ).rejects.toMatchObject({
      code: 'prometheus_bad_response',
      message: expect.stringMatching(/more than 262144 bytes/),
    });
  });

  it('never repeats a non-API error body, and masks the credentials in an API error', async () => {
    const e1 = await leaky('/leak')
      .queryRange('up', range)
      .catch((e: unknown) => e);
    expect(e1).toMatchObject({ code: 'prometheus_bad_response', message: 'Prometheus answered HTTP 502' });
    const e2 = await leaky('/leakjson')
      .queryRange('up', range)
      .catch((e: unknown) => e);
    expect(e2).toMatchObject({
      code: 'prometheus_bad_response',
      message: 'Prometheus answered HTTP 400 (bad_data): bad header ***',
    });
    expect(await leaky('/leak').ping()).toEqual({
      reachable: false,
      error: { code: 'prometheus_bad_response', message: 'Prometheus answered HTTP 502' },
    });
  });

  it.each([
    ['a null series', [null], /malformed series/],
    ['a series that is an array', [[1, 2]], /malformed series/],
    ['a label value that is not a string', [{ metric: { le: 1 }, values: [] }], /label value/],
    ['a value that is a number', [{ metric: {}, values: [[60, 1]] }], /malformed sample/],
    ['an empty value', [{ metric: {}, values: [[60, '']] }], /malformed sample/],
    ['a hexadecimal value', [{ metric: {}, values: [[60, '0x10']] }], /malformed sample/],
    ['a null sample', [{ metric: {}, values: [null] }], /malformed sample/],
  ])('refuses %s as a bad response (502), never a crash', (_what, result, message) => {
    expect(() => parseMatrix(matrix(result))).toThrow(message);
  });

  it('reads every float Prometheus writes, and nothing Number() would take besides', () => {
    const values = ['0', '1', '-0', '+1', '.5', '5.', '1.5e+3', '2E-2', '0e5', '0.25', 'NaN', '+Inf', '-Inf'];
    const read = parseMatrix(
      matrix([{ metric: {}, values: values.map((v, i) => [60 * (i + 1), v]) }]),
    )[0]?.samples.map((p) => p.v);
    expect(read).toEqual([
      0,
      1,
      -0,
      1,
      0.5,
      5,
      1500,
      0.02,
      0,
      0.25,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
    ]);
    for (const bad of [' 1', '1 ', '0x1f', '0b1', '0o7', '-0x1', 'Infinity', '-Infinity', '1e', '1_0', '']) {
      expect(() => parseMatrix(matrix([{ metric: {}, values: [[60, bad]] }])), bad).toThrow(
        /malformed sample/,
      );
    }
  });

  it('reads values too large to be counts as NaN, for the judge to refuse as invalid data', () => {
    expect(
      parseMatrix(
        matrix([
          {
            metric: {},
            values: [
              [60, '1e308'],
              [120, '-1e300'],
              [180, '9007199254740992'],
            ],
          },
        ]),
      ),
    ).toEqual([
      series({}, [
        [60, Number.NaN],
        [120, Number.NaN],
        [180, 2 ** 53],
      ]),
    ]);
  });

  it('refuses malformed series', () => {
    expect(() =>
      parseMatrix({
        status: 'success',
        data: { resultType: 'matrix', result: [{ metric: {}, values: [['x', '1']] }] },
      }),
    ).toThrow(/malformed sample/);
    expect(() => parseMatrix({ status: 'error' })).toThrow(/status "error"/);
    expect(() => parseMatrix(null)).toThrow(/non-object/);
  });
});
