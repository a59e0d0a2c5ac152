/**
 * A fault-injecting stand-in for Prometheus: a real HTTP server on loopback that speaks the
 * range-query API for the judge's own queries and answers with whatever fault a test switches
 * on. A real Prometheus never returns duplicate points, off-grid points, `result: [null]` or a
 * 100 MB answer on demand; the proxies, query layers and broken federations that do are what
 * this stands in for. Everything the judge does with honest data is tested against the real
 * Prometheus elsewhere in this directory.
 *
 * The honest data: every interval the canary serves 1,000 requests with 10 errors (1%) and the
 * stable 9,000 with 45 (0.5%), latency identical on both sides — a Fail on errors.
 */

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export const CANARY_HASH = '6b7f9c8d5';
export const STABLE_HASH = '5d4c7b9f8';

/** Per interval, per side. */
export const TRAFFIC = {
  canary: { requests: 1000, errors: 10 },
  stable: { requests: 9000, errors: 45 },
} as const;

/** Traffic for honest answers; {@link TRAFFIC} unless a test sets its own. */
export type Traffic = {
  readonly canary: { requests: number; errors: number };
  readonly stable: { requests: number; errors: number };
};

/** Cumulative share of requests at or below each bucket edge (ms), the same on both sides. */
const BUCKETS: readonly [string, number][] = [
  ['50', 0.6],
  ['100', 0.9],
  ['250', 0.98],
  ['500', 0.995],
  ['1000', 1],
  ['+Inf', 1],
];

export type Fault =
  | 'none'
  /** Every point of the canary's request series twice. */
  | 'duplicate-timestamps'
  /** The canary's request series twice, identical labels. */
  | 'duplicate-series'
  /** The canary's request points half an interval off the grid. */
  | 'off-grid'
  /** `result: [null]` for every range query. */
  | 'null-result'
  /** `result: {}` for every range query. */
  | 'object-result'
  /** A sample whose value is a JSON number instead of a string. */
  | 'number-values'
  /** 1e308 for every value of every query. */
  | 'huge-values'
  /** NaN for every value. */
  | 'nan-values'
  /** A 100 MB well-formed answer to every range query, sent as fast as the socket takes it. */
  | 'huge-answer'
  /** Headers at once, then the body one byte every 50 ms. */
  | 'drip'
  /** 307 to `redirectTo` for every query. */
  | 'redirect'
  /** HTTP 500 whose HTML body repeats the request's Authorization header. */
  | 'echo-credentials';

export interface Hit {
  readonly path: string;
  readonly query: string;
  readonly authorization: string | undefined;
}

/** A whole answer, status and raw body, for tests that generate their own (property tests). */
export type Responder = (
  query: string,
  range: Range,
  honestSeries: Series[],
) => { status: number; body: string };

export interface FaultPrometheus {
  readonly url: string;
  fault: Fault;
  /** When set, answers every range query instead of the fault. */
  respond: Responder | undefined;
  /** Delay before every answer (ms), to keep analyses in flight. */
  delayMs: number;
  /** Where `redirect` points. */
  redirectTo: string;
  readonly hits: Hit[];
  /** Huge answers: the most bytes written into one, and how many the reader abandoned. */
  readonly huge: { maxWritten: number; aborted: number };
  close(): Promise<void>;
}

export interface Range {
  start: number;
  end: number;
  step: number;
}

export type Series = { metric: Record<string, string>; values: [number, string][] };

/**
 * The sides a query selects: one side's pods (`catalogo-<hash>-…`), or both sides' in one query
 * (`catalogo-(?:<hash>|<hash>)-…`), the canary first.
 */
function sides(query: string): ('canary' | 'stable')[] {
  const out: ('canary' | 'stable')[] = [];
  if (query.includes(CANARY_HASH)) out.push('canary');
  if (query.includes(STABLE_HASH)) out.push('stable');
  return out;
}

function grid(r: Range): number[] {
  const out: number[] = [];
  for (let t = r.start; t <= r.end + 1e-9; t += r.step) out.push(t);
  return out;
}

/**
 * The honest answer to one of the judge's queries: raw cumulative counters per pod and code (or
 * per pod and `le`) growing by the side's traffic every interval, as a function of the time
 * alone (so a query that starts an hour earlier reads the same counters); `1` for the search of
 * the canary's first sample.
 */
export function honest(query: string, r: Range, traffic: Traffic = TRAFFIC): Series[] {
  const t = grid(r);
  return sides(query).flatMap((s): Series[] => {
    if (query.startsWith('sum('))
      return s === 'canary' ? [{ metric: {}, values: t.map((x) => [x, '1']) }] : [];
    const perInterval = traffic[s];
    const pod = `catalogo-${s === 'canary' ? CANARY_HASH : STABLE_HASH}-x2x4z`;
    const counter = (metric: Record<string, string>, perStep: number): Series => ({
      metric,
      values: t.map((x) => [x, String(perStep * (x / r.step))]),
    });
    if (query.includes('_bucket')) {
      return BUCKETS.map(([le, share]) => counter({ pod, le }, perInterval.requests * share));
    }
    return [
      counter({ pod, response_code: '200' }, perInterval.requests - perInterval.errors),
      counter({ pod, response_code: '503' }, perInterval.errors),
    ];
  });
}

/** Whether `query` asks for request counters, and `series` is one of the canary's. */
const isCanaryRequests = (query: string, series: Series): boolean =>
  !query.startsWith('sum(') &&
  !query.includes('_bucket') &&
  (series.metric['pod'] ?? '').includes(CANARY_HASH);

function faulty(fault: Fault, query: string, r: Range): unknown {
  const series = honest(query, r);
  switch (fault) {
    case 'duplicate-timestamps':
      return series.map((s) =>
        isCanaryRequests(query, s) ? { ...s, values: s.values.flatMap((v) => [v, v]) } : s,
      );
    case 'duplicate-series':
      return [...series, ...series.filter((s) => isCanaryRequests(query, s))];
    case 'off-grid':
      return series.map((s) =>
        isCanaryRequests(query, s) ? { ...s, values: s.values.map(([t, v]) => [t + r.step / 2, v]) } : s,
      );
    case 'null-result':
      return [null];
    case 'object-result':
      return {};
    case 'number-values':
      return series.map((s) => ({ ...s, values: s.values.map(([t, v]) => [t, Number(v)]) }));
    case 'huge-values':
      return series.map((s) => ({ ...s, values: s.values.map(([t]) => [t, '1e308']) }));
    case 'nan-values':
      return series.map((s) => ({ ...s, values: s.values.map(([t]) => [t, 'NaN']) }));
    default:
      return series;
  }
}

function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.on('data', (b: Buffer) => (body += b.toString()));
    req.on('end', () => resolve(new URLSearchParams(body)));
    req.on('error', reject);
  });
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

export async function startFaultPrometheus(): Promise<FaultPrometheus> {
  const hits: Hit[] = [];
  const huge = { maxWritten: 0, aborted: 0 };
  const state = {
    fault: 'none' as Fault,
    redirectTo: 'http://127.0.0.1:1',
    respond: undefined as Responder | undefined,
    delayMs: 0,
  };
  const server: Server = createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
    void (async () => {
      const form = await readForm(req);
      const path = req.url ?? '';
      const query = form.get('query') ?? '';
      hits.push({ path, query, authorization: req.headers['authorization'] });
      if (state.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, state.delayMs));
      const fault = state.fault;
      if (fault === 'redirect') {
        res.writeHead(307, { Location: `${state.redirectTo}${path}` });
        res.end();
        return;
      }
      if (fault === 'echo-credentials') {
        res.writeHead(500, { 'Content-Type': 'text/html' });
        res.end(
          `<html><body>upstream error; request headers: Authorization: ${req.headers['authorization'] ?? ''}</body></html>`,
        );
        return;
      }
      if (path === '/api/v1/query') {
        json(res, 200, {
          status: 'success',
          data: { resultType: 'vector', result: [{ metric: {}, value: [Date.now() / 1000, '1'] }] },
        });
        return;
      }
      if (path !== '/api/v1/query_range') {
        json(res, 404, { status: 'error', errorType: 'not_found', error: 'no such path' });
        return;
      }
      const r = {
        start: Number(form.get('start')),
        end: Number(form.get('end')),
        step: Number(form.get('step')),
      };
      if (state.respond !== undefined) {
        const a = state.respond(query, r, honest(query, r));
        res.writeHead(a.status, {
          'Content-Type': 'application/json',
          'Content-Length': Buffer.byteLength(a.body),
        });
        res.end(a.body);
        return;
      }
      if (fault === 'huge-answer') {
        // Well-formed JSON, about 100 MB, written as fast as the reader takes it.
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.on('close', () => {
          if (!res.writableFinished) huge.aborted++;
        });
        const chunk = Buffer.from(`[${r.start},"1"],`.repeat(4096));
        res.write('{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[');
        for (let sent = 0; sent < 100 * 1024 * 1024 && !res.destroyed; sent += chunk.length) {
          huge.maxWritten = Math.max(huge.maxWritten, sent + chunk.length);
          if (!res.write(chunk))
            await new Promise((resolve) => res.once('drain', resolve).once('close', resolve));
        }
        if (!res.destroyed) res.end(`[${r.start},"1"]]}]}}`);
        return;
      }
      const body = { status: 'success', data: { resultType: 'matrix', result: faulty(fault, query, r) } };
      if (fault === 'drip') {
        const text = JSON.stringify(body);
        res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
        let i = 0;
        const timer = setInterval(() => {
          if (res.destroyed || i >= text.length) {
            clearInterval(timer);
            if (!res.destroyed) res.end();
            return;
          }
          res.write(text[i++]);
        }, 50);
        return;
      }
      json(res, 200, body);
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    get fault() {
      return state.fault;
    },
    set fault(f: Fault) {
      state.fault = f;
    },
    get delayMs() {
      return state.delayMs;
    },
    set delayMs(ms: number) {
      state.delayMs = ms;
    },
    get respond() {
      return state.respond;
    },
    set respond(f: Responder | undefined) {
      state.respond = f;
    },
    get redirectTo() {
      return state.redirectTo;
    },
    set redirectTo(u: string) {
      state.redirectTo = u;
    },
    hits,
    huge,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
