/**
 * Requests Node's HTTP parser refuses before express sees them still get a JSON error body:
 * a raw socket writes what no HTTP client would send.
 */

import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answerClientError } from '../../../../src/server/http/client-errors.js';

let server: Server;
let port: number;

beforeAll(async () => {
  server = createServer((_req, res) => res.end('{}'));
  server.on('clientError', answerClientError);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

function raw(bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let out = '';
    s.on('data', (b) => (out += b.toString()));
    s.on('end', () => resolve(out));
    s.on('error', reject);
    s.end(bytes);
  });
}

function parse(answer: string): { status: number; contentType: string | undefined; body: unknown } {
  const [head = '', body = ''] = answer.split('\r\n\r\n');
  const lines = head.split('\r\n');
  const status = Number(lines[0]?.split(' ')[1]);
  const contentType = lines
    .find((l) => l.toLowerCase().startsWith('content-type:'))
    ?.slice(13)
    .trim();
  return { status, contentType, body: JSON.parse(body) };
}

describe('errors raised by the HTTP parser', () => {
  it.each([
    ['a malformed request line', 'GARBAGE\r\n\r\n', 400, 'the request is not valid HTTP'],
    [
      'a NUL byte in a header',
      'GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\u0000b\r\n\r\n',
      400,
      'the request is not valid HTTP',
    ],
    [
      'headers larger than the limit',
      `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
      431,
      'the request headers are too large',
    ],
  ])('answers %s with JSON', async (_what, bytes, status, message) => {
    const r = parse(await raw(bytes));
    expect(r.status).toBe(status);
    expect(r.contentType).toMatch(/^application\/json/);
    expect(r.body).toEqual({ error: { code: 'invalid_request', message, field: 'request' } });
  });
});
