/**
 * Errors Node's HTTP parser raises before a request reaches the app (headers too large, a
 * malformed request line, a NUL in a header, a request that never finished arriving). Node
 * answers those with an empty body; the judge's promise is that every error is JSON, so the
 * server's `clientError` event writes the same `{"error":{…}}` body as every other error.
 */

import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { JudgeError } from '../../errors.js';

/** Status and message for a parser error code (llhttp's HPE_* and Node's own). */
function classify(code: string | undefined): { status: number; message: string } {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return { status: 431, message: 'the request headers are too large' };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, message: 'the request did not arrive in time' };
    default:
      return { status: 400, message: 'the request is not valid HTTP' };
  }
}

/** A `clientError` listener: answers JSON when the socket can still take it, then closes. */
export function answerClientError(err: Error & { code?: string }, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const { status, message } = classify(err.code);
  const body = JSON.stringify(new JudgeError('invalid_request', message, { field: 'request' }).toBody());
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Bad Request'}\r\n` +
      'Content-Type: application/json; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Connection: close\r\n\r\n' +
      body,
  );
}
