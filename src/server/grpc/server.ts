/**
 * The gRPC transport: `canary_judge.v1.JudgeService/Analyze` and `grpc.health.v1.Health`, a thin
 * layer over the same judge as the HTTP API. The request becomes the judge's request model and
 * is validated by the same schema as an HTTP body (see mapping.ts), errors become statuses through one exhaustive table (status.ts), and an analysis
 * that could not be computed never answers a verdict.
 */

import { Server, ServerCredentials, status, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import { JudgeError, isJudgeError } from '../../errors.js';
import type { Judge } from '../../judge/index.js';
import type { Logger } from '../../observability/logger.js';
import { NO_VERDICT, type Metrics } from '../../observability/metrics.js';
import {
  AnalyzeRequest as PbAnalyzeRequest,
  JudgeServiceService,
  type JudgeServiceServer,
} from '../../gen/canary_judge/v1/judge.js';
import { HealthService } from '../../gen/grpc/health/v1/health.js';
import { parseAnalysisRequest } from '../../judge/request.js';
import { bearerCheck } from '../auth.js';
import { runObservedAnalysis } from '../observed-analysis.js';
import type { Admission } from '../admission.js';
import { createHealth } from './health.js';
import {
  VERDICT,
  toAnalyzeResponse,
  toProtoField,
  toProtoFieldError,
  toRequestModel,
  type AnalyzeRequest,
  type AnalyzeResponse,
} from './mapping.js';
import { toStatus } from './status.js';
import { wireProblem } from './wire.js';

export const JUDGE_SERVICE_NAME = 'canary_judge.v1.JudgeService';

/** Largest request accepted: the HTTP API's body limit (an analysis is a few hundred bytes). */
const MAX_REQUEST_BYTES = 64 * 1024;

export interface GrpcServerOptions {
  readonly judge: Judge;
  readonly logger: Logger;
  /** Analysis durations, verdicts and in-flight gauge, shared with the HTTP API. */
  readonly metrics?: Metrics | undefined;
  /** Listen address: the HTTP API's host (0.0.0.0 in a cluster, 127.0.0.1 in tests). */
  readonly host: string;
  /** 0 lets the kernel choose (tests). */
  readonly port: number;
  /** When set, Analyze requires metadata `authorization: Bearer <token>` (health does not). */
  readonly authToken?: string | undefined;
  /** How long `stop()` waits for in-flight analyses before cancelling them (ms). */
  readonly shutdownTimeoutMs?: number;
  /** Bound on analyses in flight, shared with the HTTP API. */
  readonly admission?: Admission | undefined;
  /** Whole-analysis deadline (ms), queueing included. */
  readonly deadlineMs?: number | undefined;
}

export interface RunningGrpcServer {
  /** The bound port (the chosen one when `port` was 0). */
  readonly port: number;
  /** Health turns NOT_SERVING, new calls are refused, in-flight ones finish, then it closes. */
  stop(): Promise<void>;
}

/** Set on a request whose bytes could not be taken as an AnalyzeRequest, with what was wrong. */
const UNDECODABLE = Symbol('undecodable');
type Received = AnalyzeRequest & { [UNDECODABLE]?: string };

/**
 * The service with a decoder that never throws: grpc-js answers INTERNAL when decoding fails,
 * but bytes that are not an AnalyzeRequest (or carry fields it does not have) are the caller's
 * error, answered INVALID_ARGUMENT by the handler like any other refused request.
 */
const JUDGE_SERVICE = {
  ...JudgeServiceService,
  analyze: {
    ...JudgeServiceService.analyze,
    requestDeserialize(bytes: Buffer): AnalyzeRequest {
      const problem = wireProblem(bytes);
      if (problem !== undefined)
        return Object.assign(PbAnalyzeRequest.fromPartial({}), { [UNDECODABLE]: problem });
      try {
        return PbAnalyzeRequest.decode(bytes);
      } catch (e) {
        return Object.assign(PbAnalyzeRequest.fromPartial({}), {
          [UNDECODABLE]: e instanceof Error ? e.message : String(e),
        });
      }
    },
  },
} as const;

const VERDICT_NAME: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries(VERDICT).map(([name, v]) => [v, name]),
);

function verdictName(v: number): string {
  return VERDICT_NAME[v] ?? NO_VERDICT;
}

function listenAddress(host: string, port: number): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
}

export async function startGrpcServer(o: GrpcServerOptions): Promise<RunningGrpcServer> {
  const authorized = bearerCheck(o.authToken);
  const health = createHealth([JUDGE_SERVICE_NAME]);
  let shuttingDown = false;
  const requests = o.metrics?.grpcRequests;

  const judgeService: JudgeServiceServer = {
    analyze(
      call: ServerUnaryCall<AnalyzeRequest, AnalyzeResponse>,
      callback: sendUnaryData<AnalyzeResponse>,
    ) {
      void analyze(call).then(
        (response) => {
          requests?.inc({
            method: 'Analyze',
            code: status[status.OK],
            verdict: verdictName(response.verdict),
          });
          callback(null, response);
        },
        (e: unknown) => {
          const s = toStatus(
            isJudgeError(e) ? e : new JudgeError('internal', 'internal error', { cause: e }),
          );
          requests?.inc({ method: 'Analyze', code: status[s.code], verdict: NO_VERDICT });
          callback(s);
        },
      );
    },
  };

  async function analyze(call: ServerUnaryCall<AnalyzeRequest, AnalyzeResponse>): Promise<AnalyzeResponse> {
    const peer = call.getPeer();
    if (!authorized(call.metadata.get('authorization')[0]))
      throw new JudgeError('unauthorized', 'a valid bearer token is required in the authorization metadata');
    if (shuttingDown)
      throw new JudgeError('shutting_down', 'the judge is shutting down; retry on another replica');
    const undecodable = (call.request as Received)[UNDECODABLE];
    if (undecodable !== undefined) {
      throw new JudgeError(
        'invalid_request',
        `the request is not a valid canary_judge.v1.AnalyzeRequest: ${undecodable}`,
        { field: 'request' },
      );
    }
    const parsed = parseAnalysisRequest(toRequestModel(call.request));
    if (!parsed.ok) {
      const errors = parsed.errors.map((e) => toProtoFieldError(e.field, e.message, call.request));
      const first = errors[0] ?? { field: 'request', message: 'invalid request' };
      o.logger.info('analysis refused', { transport: 'grpc', peer, errors });
      throw new JudgeError('invalid_request', first.message, { field: first.field });
    }
    const r = parsed.value;
    const abort = new AbortController();
    // The client's deadline passing, or the client going away, cancels the call: stop querying.
    call.on('cancelled', () =>
      abort.abort(
        new JudgeError('deadline_exceeded', 'the client cancelled the call or its deadline passed'),
      ),
    );
    try {
      const result = await runObservedAnalysis(o, r, abort.signal, { transport: 'grpc', peer });
      return toAnalyzeResponse(result);
    } catch (e) {
      // A field the judge refused after parsing (an expression Prometheus' parser refused) is
      // named where it lives in the proto message, as a schema error would be.
      if (e instanceof JudgeError && e.code === 'invalid_request' && e.field !== undefined) {
        const field = toProtoField(e.field, call.request);
        const message = e.message.startsWith(e.field) ? field + e.message.slice(e.field.length) : e.message;
        throw new JudgeError('invalid_request', message, { field });
      }
      throw e;
    }
  }

  const server = new Server({ 'grpc.max_receive_message_length': MAX_REQUEST_BYTES });
  server.addService(JUDGE_SERVICE, judgeService);
  server.addService(HealthService, health.implementation);
  const address = listenAddress(o.host, o.port);
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(address, ServerCredentials.createInsecure(), (err, bound) => {
      if (err !== null) reject(new Error(`gRPC cannot listen on ${address}: ${err.message}`, { cause: err }));
      else resolve(bound);
    });
  });

  let stopping: Promise<void> | undefined;
  return {
    port,
    stop() {
      stopping ??= new Promise<void>((resolve) => {
        shuttingDown = true;
        health.shutdown();
        const force = setTimeout(() => {
          o.logger.warn('gRPC shutdown timeout reached; cancelling remaining calls');
          server.forceShutdown();
        }, o.shutdownTimeoutMs ?? 25_000);
        force.unref();
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
      return stopping;
    },
  };
}
