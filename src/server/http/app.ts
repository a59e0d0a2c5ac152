/**
 * The HTTP transport: a thin express layer over the judge. It parses and validates the body
 * once (zod), checks the bearer token, and maps every error code to its status with one
 * exhaustive table. Every answer is JSON: Argo's web provider treats a non-JSON body as a
 * success without evaluating its conditions.
 */

import { randomUUID } from 'node:crypto';
import { bearerCheck } from '../auth.js';
import express, { type NextFunction, type Request, type Response } from 'express';
import { HTTP_STATUS, JudgeError, isJudgeError } from '../../errors.js';
import type { Judge } from '../../judge/index.js';
import type { PrometheusClient } from '../../prometheus/client.js';
import type { Logger } from '../../observability/logger.js';
import { NO_VERDICT, type Metrics } from '../../observability/metrics.js';
import { parseRequestBody } from './request-body.js';
import { runObservedAnalysis } from '../observed-analysis.js';
import type { Admission } from '../admission.js';
import type { ContractChecker } from '../../contract/index.js';
import { CONTRACT_CHECKS_PATH, contractChecksHandler } from './contract-checks.js';

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

interface Locals {
  requestId: string;
  endpoint: Endpoint;
  verdict: string;
}

function locals(res: Response): Locals {
  return res.locals as Locals;
}

function sendError(res: Response, err: JudgeError): void {
  res.status(HTTP_STATUS[err.code]).json(err.toBody());
}

export function createApp(o: AppOptions): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  const authorized = bearerCheck(o.authToken);
  const shuttingDown = (): boolean => o.isShuttingDown?.() === true;
  // Once shutdown began, every answer closes its connection: a keep-alive connection that was
  // busy at SIGTERM would otherwise stay open after its answer and hold the process until the
  // shutdown timeout.
  const closeIfShuttingDown = (res: Response): void => {
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

  app.use((req, res, next) => {
    const given = req.get('x-request-id');
    const l = locals(res);
    l.requestId = given !== undefined && REQUEST_ID.test(given) ? given : randomUUID();
    l.endpoint =
      req.path === ANALYSES_PATH
        ? 'analyses'
        : req.path === CONTRACT_CHECKS_PATH
          ? 'contract-checks'
          : req.path === '/healthz'
            ? 'healthz'
            : req.path === '/readyz'
              ? 'readyz'
              : req.path === '/metrics'
                ? 'metrics'
                : 'other';
    l.verdict = NO_VERDICT;
    res.setHeader('X-Request-Id', l.requestId);
    closeIfShuttingDown(res);
    res.on('finish', () => {
      o.metrics.httpRequests.inc({
        endpoint: l.endpoint,
        status: String(res.statusCode),
        verdict: l.verdict,
      });
    });
    next();
  });

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.get('/readyz', async (_req, res) => {
    if (o.isShuttingDown?.() === true || o.isDraining?.() === true) {
      res.status(503).json({ status: 'shutting_down' });
      return;
    }
    // Reported, not enforced: a Prometheus outage must not take the judge out of its Service.
    const prometheus = await pingCached();
    closeIfShuttingDown(res);
    res.json({ status: 'ready', prometheus });
  });

  app.get('/metrics', async (_req, res) => {
    res.setHeader('Content-Type', o.metrics.registry.contentType);
    res.send(await o.metrics.registry.metrics());
  });

  const requireToken = (req: Request, res: Response, next: NextFunction): void => {
    if (!authorized(req.get('authorization'))) {
      sendError(res, new JudgeError('unauthorized', 'a valid bearer token is required'));
      return;
    }
    next();
  };

  app.post(
    CONTRACT_CHECKS_PATH,
    requireToken,
    express.json({ limit: '16kb', type: () => true, strict: false }),
    contractChecksHandler(o.contractChecks, o.logger),
  );

  app.post(
    ANALYSES_PATH,
    requireToken,
    // Under overload, refuse before reading and validating the body: a refusal must cost next
    // to nothing, or refusing becomes the load.
    (_req, res, next) => {
      const refused = o.admission?.refusal();
      if (refused === undefined) return next();
      closeIfShuttingDown(res);
      sendError(res, refused);
    },
    // Argo may send the JSON body without a JSON content type: parse whatever arrives.
    express.json({ limit: '64kb', type: () => true, strict: false }),
    async (req, res) => {
      const l = locals(res);
      if (o.isShuttingDown?.() === true) {
        sendError(
          res,
          new JudgeError('shutting_down', 'the judge is shutting down; retry on another replica'),
        );
        return;
      }
      const parsed = parseRequestBody(req.body);
      if (!parsed.ok) {
        const first = parsed.errors[0] ?? { field: 'body', message: 'invalid request' };
        const body = new JudgeError('invalid_request', first.message, { field: first.field }).toBody();
        res
          .status(400)
          .json(parsed.errors.length > 1 ? { error: { ...body.error, details: parsed.errors } } : body);
        o.logger.info('analysis refused', { requestId: l.requestId, errors: parsed.errors });
        return;
      }
      const r = parsed.value;
      const abort = new AbortController();
      res.on('close', () => {
        if (!res.writableEnded) abort.abort(new JudgeError('deadline_exceeded', 'the client went away'));
      });
      try {
        const result = await runObservedAnalysis(o, r, abort.signal, { requestId: l.requestId });
        l.verdict = result.verdict;
        closeIfShuttingDown(res);
        res.json(result);
      } catch (e) {
        closeIfShuttingDown(res);
        if (!res.headersSent) sendError(res, e as JudgeError);
      }
    },
  );

  app.use((_req, res) => {
    sendError(res, new JudgeError('not_found', 'no such endpoint; analyses are POST /api/v1/analyses'));
  });

  // Body-parser and other errors: JSON, never a stack trace.
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const e = err as { type?: string; status?: number; message?: string };
    let je: JudgeError;
    if (isJudgeError(err)) je = err;
    else if (e.type === 'entity.too.large')
      je = new JudgeError('payload_too_large', 'the request body is larger than 64 KiB');
    else if (e.type === 'entity.parse.failed')
      je = new JudgeError('invalid_request', 'the request body is not valid JSON', { field: 'body' });
    else if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
      je = new JudgeError('invalid_request', e.message ?? 'bad request', { field: 'body' });
    } else je = new JudgeError('internal', 'internal error');
    if (je.code === 'internal')
      o.logger.error('unhandled error', { requestId: locals(res).requestId, error: String(err) });
    if (!res.headersSent) sendError(res, je);
  });

  return app;
}
