/**
 * JSON in and out of node:http: a request body read whole up to a byte limit and parsed, and an
 * answer written with its length. Every failure to read a body is a JudgeError, so the app maps
 * it like any other: too long → payload_too_large (413), not JSON or not sent as plain UTF-8 →
 * invalid_request on `body` (400).
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
import { JudgeError } from '../../errors.js';

/** An empty body reads as `{}` (the schema then names what is missing), as JSON parsers of HTTP bodies usually do. */
const EMPTY_BODY = {};

const UTF8 = /^utf-?8$/i;

/**
 * The body of `req` parsed as JSON (any JSON value: the request schema judges it), whatever its
 * Content-Type says: Argo's web provider may send JSON without a JSON content type. A body over
 * `limitBytes` is refused as soon as its length (declared or received) passes the limit; the
 * connection is then closed after the answer rather than read to its end.
 */
export function readJsonBody(
  req: IncomingMessage,
  res: ServerResponse,
  limitBytes: number,
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const encoding = req.headers['content-encoding'];
    if (encoding !== undefined && encoding.toLowerCase() !== 'identity') {
      refuse(
        new JudgeError(
          'invalid_request',
          `the request body must not be compressed (Content-Encoding: ${encoding})`,
          { field: 'body' },
        ),
      );
      return;
    }
    const charset = /;\s*charset=("?)([^";]+)\1/i.exec(req.headers['content-type'] ?? '')?.[2];
    if (charset !== undefined && !UTF8.test(charset)) {
      refuse(
        new JudgeError('invalid_request', `the request body must be UTF-8 (charset ${charset})`, {
          field: 'body',
        }),
      );
      return;
    }
    const tooLarge = (): JudgeError =>
      new JudgeError('payload_too_large', `the request body is larger than ${limitBytes / 1024} KiB`);
    if (Number(req.headers['content-length']) > limitBytes) {
      refuse(tooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let total = 0;
    const onData = (chunk: Buffer): void => {
      total += chunk.length;
      if (total > limitBytes) {
        done();
        refuse(tooLarge());
      } else chunks.push(chunk);
    };
    const onEnd = (): void => {
      done();
      const text = Buffer.concat(chunks, total).toString('utf8');
      if (text.trim() === '') {
        resolve(EMPTY_BODY);
        return;
      }
      try {
        resolve(JSON.parse(text));
      } catch {
        reject(new JudgeError('invalid_request', 'the request body is not valid JSON', { field: 'body' }));
      }
    };
    const onError = (): void => {
      done();
      reject(new JudgeError('invalid_request', 'the request body did not arrive whole', { field: 'body' }));
    };
    const done = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);

    /** Refuses without reading (the rest of) the body: the connection closes after the answer. */
    function refuse(e: JudgeError): void {
      if (!res.headersSent) res.setHeader('Connection', 'close');
      reject(e);
    }
  });
}

/** Writes `body` as the JSON answer with `status`. */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.end(text);
}
