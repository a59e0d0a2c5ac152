/**
 * The HTTP transport: a thin node:http layer over the judge, with five routes and no framework.
 * It reads and parses the body once (./json-io.ts, then the zod schema), checks the bearer
 * token, and maps every error code to its status with one exhaustive table. Every answer is
 * JSON: Argo's web provider treats a non-JSON body as a success without evaluating its conditions.
 * (express did this until its routing, body parsing and answer writing were measured at about a
 * tenth of the judge's CPU per analysis.)
 */

import { randomUUID } from 'node:crypto';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { bearerCheck } from '../auth.js';
import { HTTP_STATUS, JudgeError, isJudgeError } from '../../errors.js';
import type { Judge } from '../../judge/index.js';
import type { PrometheusClient } from '../../prometheus/client.js';
import type { Logger } from '../../observability/logger.js';
import { NO_VERDICT, type Metrics } from '../../observability/metrics.js';
import { parseRequestBody } from './request-body.js';
import { runObservedAnalysis } from '../observed-analysis.js';
import type { Admission } from '../admission.js';
import type { ContractChecker } from '../../contract/index.js';
import { CONTRACT_CHECKS_PATH, contractCheck } from './contract-checks.js';
import { readJsonBody, sendJson } from './json-io.js';

export const ANALYSES_PATH = '/api/v1/analyses';
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

export interface AppOptions {
  readonly judge: Judge;
  readonly prometheus: Pick<PrometheusClient, 'ping'>;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** When set, the analysis endpoint requires `Authorization: Bearer <token>`. */
  readonly authToken?: string | undefined;
  readonly isShuttingDown?: () => boolean;
  /** True from SIGTERM on: readiness fails while analyses are still served (shutdown delay). */
  readonly isDraining?: () => boolean;
  /** Timeout of the readiness probe's Prometheus ping (ms); well under the kubelet's 1 s probe timeout. */
  readonly readyPingTimeoutMs?: number;
  /**
   * How long one Prometheus ping answers `/readyz` (ms, default 5000): probes from every kubelet,
   * load balancer and curious client then cost Prometheus one query per period, not one each.
   */
  readonly readyCacheMs?: number;
  /** Bound on analyses in flight, shared with the gRPC API. */
  readonly admission?: Admission | undefined;
  /** Whole-analysis deadline (ms), queueing included. */
  readonly deadlineMs?: number | undefined;
  /** The contract gate; undefined: its endpoint answers 404. */
  readonly contractChecks?: ContractChecker | undefined;
}

/** Default of {@link AppOptions.readyCacheMs}. */
export const READY_CACHE_MS = 5_000;

type Endpoint = 'analyses' | 'contract-checks' | 'healthz' | 'readyz' | 'metrics' | 'other';

const ENDPOINTS: ReadonlyMap<string, Endpoint> = new Map([
  [ANALYSES_PATH, 'analyses'],
  [CONTRACT_CHECKS_PATH, 'contract-checks'],
  ['/healthz', 'healthz'],
  ['/readyz', 'readyz'],
  ['/metrics', 'metrics'],
]);

/** Largest request bodies read (bytes). */
const ANALYSIS_BODY_LIMIT = 64 * 1024;
const CONTRACT_BODY_LIMIT = 16 * 1024;

function sendError(res: ServerResponse, err: JudgeError): void {
  if (!res.headersSent) sendJson(res, HTTP_STATUS[err.code], err.toBody());
}

/** The judge's HTTP API as a node:http request listener (`http.createServer(createApp(…))`). */
export function createApp(o: AppOptions): RequestListener {
  const authorized = bearerCheck(o.authToken);
  const shuttingDown = (): boolean => o.isShuttingDown?.() === true;
  // Once shutdown began, every answer closes its connection: a keep-alive connection that was
  // busy at SIGTERM would otherwise stay open after its answer and hold the process until the
  // shutdown timeout.
  const closeIfShuttingDown = (res: ServerResponse): void => {
    if (shuttingDown() && !res.headersSent) res.setHeader('Connection', 'close');
  };
  const readyCacheMs = o.readyCacheMs ?? READY_CACHE_MS;
  let ready: { at: number; answer: Promise<Awaited<ReturnType<PrometheusClient['ping']>>> } | undefined;
  const pingCached = (): Promise<Awaited<ReturnType<PrometheusClient['ping']>>> => {
    const now = performance.now();
    if (ready === undefined || now - ready.at >= readyCacheMs) {
      ready = { at: now, answer: o.prometheus.ping(AbortSignal.timeout(o.readyPingTimeoutMs ?? 500)) };
    }
    return ready.answer;
  };

  /** An abort for work done for `res`'s request: the client went away before its answer. */
  const clientGone = (res: ServerResponse): AbortSignal => {
    const abort = new AbortController();
    res.on('close', () => {
      if (!res.writableEnded) abort.abort(new JudgeError('deadline_exceeded', 'the client went away'));
    });
    return abort.signal;
  };

  /** One request as the routes see it; `verdict` is set before the answer is written. */
  interface Exchange {
    readonly req: IncomingMessage;
    readonly res: ServerResponse;
    readonly requestId: string;
    verdict: string;
  }

  async function analyses(x: Exchange): Promise<void> {
    const { req, res, requestId } = x;
    // Under overload, refuse before reading and validating the body: a refusal must cost next
    // to nothing, or refusing becomes the load.
    const refused = o.admission?.refusal();
    if (refused !== undefined) {
      closeIfShuttingDown(res);
      sendError(res, refused);
      return;
    }
    const raw = await readJsonBody(req, res, ANALYSIS_BODY_LIMIT);
    if (shuttingDown())
      throw new JudgeError('shutting_down', 'the judge is shutting down; retry on another replica');
    const parsed = parseRequestBody(raw);
    if (!parsed.ok) {
      const first = parsed.errors[0] ?? { field: 'body', message: 'invalid request' };
      const body = new JudgeError('invalid_request', first.message, { field: first.field }).toBody();
      sendJson(
        res,
        400,
        parsed.errors.length > 1 ? { error: { ...body.error, details: parsed.errors } } : body,
      );
      o.logger.info('analysis refused', { requestId, errors: parsed.errors });
      return;
    }
    const result = await runObservedAnalysis(o, parsed.value, clientGone(res), { requestId });
    x.verdict = result.verdict;
    closeIfShuttingDown(res);
    sendJson(res, 200, result);
  }

  async function route(endpoint: Endpoint, x: Exchange): Promise<void> {
    const { req, res } = x;
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    switch (endpoint) {
      case 'healthz':
        if (method !== 'GET') break;
        sendJson(res, 200, { status: 'ok' });
        return;
      case 'readyz': {
        if (method !== 'GET') break;
        if (shuttingDown() || o.isDraining?.() === true) {
          sendJson(res, 503, { status: 'shutting_down' });
          return;
        }
        // Reported, not enforced: a Prometheus outage must not take the judge out of its Service.
        const prometheus = await pingCached();
        closeIfShuttingDown(res);
        sendJson(res, 200, { status: 'ready', prometheus });
        return;
      }
      case 'metrics': {
        if (method !== 'GET') break;
        const text = await o.metrics.registry.metrics();
        res.setHeader('Content-Type', o.metrics.registry.contentType);
        res.end(text);
        return;
      }
      case 'analyses':
      case 'contract-checks': {
        if (method !== 'POST') break;
        if (!authorized(req.headers.authorization))
          throw new JudgeError('unauthorized', 'a valid bearer token is required');
        if (endpoint === 'analyses') return analyses(x);
        const body = await readJsonBody(req, res, CONTRACT_BODY_LIMIT);
        const result = await contractCheck(o.contractChecks, o.logger, body, clientGone(res), x.requestId);
        x.verdict = result.verdict;
        sendJson(res, 200, result);
        return;
      }
      case 'other':
        break;
    }
    throw new JudgeError('not_found', 'no such endpoint; analyses are POST /api/v1/analyses');
  }

  return (req, res) => {
    const given = req.headers['x-request-id'];
    const requestId = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const endpoint = ENDPOINTS.get(q < 0 ? url : url.slice(0, q)) ?? 'other';
    const x: Exchange = { req, res, requestId, verdict: NO_VERDICT };
    res.setHeader('X-Request-Id', requestId);
    closeIfShuttingDown(res);
    res.on('finish', () => {
      o.metrics.httpRequests.inc({ endpoint, status: String(res.statusCode), verdict: x.verdict });
    });
    route(endpoint, x).catch((e: unknown) => {
      // Errors are JSON, never a stack trace; an unexpected one is logged and answered 500.
      const je = isJudgeError(e) ? e : new JudgeError('internal', 'internal error');
      if (je.code === 'internal' && !isJudgeError(e))
        o.logger.error('unhandled error', { requestId, error: String(e) });
      closeIfShuttingDown(res);
      sendError(res, je);
    });
  };
}
