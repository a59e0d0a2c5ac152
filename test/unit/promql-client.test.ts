/**
 * Error mapping of the Prometheus client. The misbehaving answers (HTTP 500, garbage JSON, a
 * wrong result type) come from a small local HTTP server standing in for a broken Prometheus:
 * a real one does not answer like that on demand. Outage and hang against a real Prometheus
 * are in test/integration.
 */

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPrometheusClient, parseMatrix } from '../../src/prometheus/client.js';

let server: Server;
let base: string;
const seenHeaders: Record<string, string | string[] | undefined>[] = [];

const ANSWERS: Record<string, [number, string]> = {
  '/ok/api/v1/query_range': [200, JSON.stringify({ status: 'success', data: { resultType: 'matrix', result: [{ metric: { le: '+Inf' }, values: [[60, '1.5'], [120, 'NaN'], [180, '+Inf']] }] } })],
  '/e500/api/v1/query_range': [500, JSON.stringify({ status: 'error', errorType: 'internal', error: 'oops' })],
  '/e503/api/v1/query_range': [503, 'Service Unavailable'],
  '/e422/api/v1/query_range': [422, JSON.stringify({ status: 'error', errorType: 'execution', error: 'many-to-many matching not allowed' })],
  '/etimeout/api/v1/query_range': [503, JSON.stringify({ status: 'error', errorType: 'timeout', error: 'query timed out in expression evaluation' })],
  '/garbage/api/v1/query_range': [200, '<html>proxy login</html>'],
  '/vector/api/v1/query_range': [200, JSON.stringify({ status: 'success', data: { resultType: 'vector', result: [] } })],
};

beforeAll(async () => {
  server = createServer((req, res) => {
    seenHeaders.push(req.headers);
    if (req.url?.startsWith('/slow')) {
      setTimeout(() => res.end('{}'), 1000);
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
const client = (path: string, timeoutMs = 2000) =>
  createPrometheusClient({ url: `${base}${path}`, timeoutMs, headers: { Authorization: 'Bearer t', 'X-Scope-OrgID': 'team-a' } });

describe('Prometheus client', () => {
  it('parses a matrix, keeping NaN and +Inf for the judge to refuse, and sends the configured headers', async () => {
    const s = await client('/ok').queryRange('up', range);
    expect(s).toEqual([{ labels: { le: '+Inf' }, samples: [{ t: 60, v: 1.5 }, { t: 120, v: Number.NaN }, { t: 180, v: Number.POSITIVE_INFINITY }] }]);
    const h = seenHeaders[seenHeaders.length - 1];
    expect(h?.['authorization']).toBe('Bearer t');
    expect(h?.['x-scope-orgid']).toBe('team-a');
  });

  it.each([
    ['/e500', 'prometheus_bad_response', /HTTP 500 \(internal\): oops/],
    ['/e422', 'prometheus_bad_response', /many-to-many/],
    ['/e503', 'prometheus_unavailable', /HTTP 503/],
    ['/etimeout', 'prometheus_timeout', /timed out/],
    ['/garbage', 'prometheus_bad_response', /not JSON/],
    ['/vector', 'prometheus_bad_response', /expected matrix/],
  ])('maps %s to %s', async (path, code, message) => {
    await expect(client(path).queryRange('up', range)).rejects.toMatchObject({ code, message: expect.stringMatching(message) });
  });

  it('maps a refused connection to prometheus_unavailable', async () => {
    // A port that was just free: nothing listens there.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const c = createPrometheusClient({ url: `http://127.0.0.1:${port}`, timeoutMs: 2000 });
    await expect(c.queryRange('up', range)).rejects.toMatchObject({ code: 'prometheus_unavailable', message: expect.stringMatching(/ECONNREFUSED/) });
    expect(await c.ping()).toMatchObject({ reachable: false, error: { code: 'prometheus_unavailable' } });
  });

  it('maps its own timeout to prometheus_timeout and the caller abort to deadline_exceeded', async () => {
    await expect(client('/slow', 100).queryRange('up', range)).rejects.toMatchObject({ code: 'prometheus_timeout' });
    await expect(client('/slow', 5000).queryRange('up', range, { signal: AbortSignal.timeout(100) })).rejects.toMatchObject({ code: 'deadline_exceeded' });
  });

  it('refuses malformed series', () => {
    expect(() => parseMatrix({ status: 'success', data: { resultType: 'matrix', result: [{ metric: {}, values: [['x', '1']] }] } })).toThrow(/malformed sample/);
    expect(() => parseMatrix({ status: 'error' })).toThrow(/status "error"/);
    expect(() => parseMatrix(null)).toThrow(/non-object/);
  });
});
