/**
 * The gRPC transport: `canary_judge.v1.JudgeService/Analyze`,
 * `canary_judge.v1.PluginService/AnalyzePluginConfig` (the metric plugin's call: its
 * configuration as given, see plugin-config.ts; the answer laid out as its measurement, see
 * measurement.ts) and `grpc.health.v1.Health`,
 * a thin layer over the same judge as the HTTP API. The request becomes the judge's request
 * model and is validated by the same schema as an HTTP body (see mapping.ts), errors become
 * statuses through one exhaustive table (status.ts), and an analysis that could not be computed
 * never answers a verdict.
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
import {
  AnalyzePluginConfigRequest,
  PluginServiceService,
  type AnalyzePluginConfigResponse,
  type PluginServiceServer,
} from '../../gen/canary_judge/v1/plugin.js';
import { HealthService } from '../../gen/grpc/health/v1/health.js';
import { parseAnalysisRequest, type AnalysisRequest } from '../../judge/request.js';
import { bearerCheck } from '../auth.js';
import { runObservedAnalysis } from '../observed-analysis.js';
import type { Admission } from '../admission.js';
import { createHealth } from './health.js';
import { toMeasurement } from './measurement.js';
import { parsePluginConfig } from './plugin-config.js';
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
export const PLUGIN_SERVICE_NAME = 'canary_judge.v1.PluginService';

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
  /** When set, Analyze and AnalyzePluginConfig require metadata `authorization: Bearer <token>` (health does not). */
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

/** PluginService, with a decoder that never throws either. */
const PLUGIN_SERVICE = {
  ...PluginServiceService,
  analyzePluginConfig: {
    ...PluginServiceService.analyzePluginConfig,
    requestDeserialize(bytes: Buffer): AnalyzePluginConfigRequest {
      try {
        return AnalyzePluginConfigRequest.decode(bytes);
      } catch (e) {
        return Object.assign(AnalyzePluginConfigRequest.fromPartial({}), {
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
  const health = createHealth([JUDGE_SERVICE_NAME, PLUGIN_SERVICE_NAME]);
  let shuttingDown = false;
  const requests = o.metrics?.grpcRequests;

  /** Answers a unary call with `run`'s response, or its error as a status; counts both. */
  function answer<Req, Res>(
    method: string,
    call: ServerUnaryCall<Req, Res>,
    callback: sendUnaryData<Res>,
    run: (call: ServerUnaryCall<Req, Res>) => Promise<{ response: Res; verdict: string }>,
  ): void {
    void run(call).then(
      ({ response, verdict }) => {
        requests?.inc({ method, code: status[status.OK], verdict });
        callback(null, response);
      },
      (e: unknown) => {
        const s = toStatus(isJudgeError(e) ? e : new JudgeError('internal', 'internal error', { cause: e }));
        requests?.inc({ method, code: status[s.code], verdict: NO_VERDICT });
        callback(s);
      },
    );
  }

  const judgeService: JudgeServiceServer = {
    analyze(call, callback) {
      answer('Analyze', call, callback, async (c) => {
        const response = await analyze(c);
        return { response, verdict: verdictName(response.verdict) };
      });
    },
  };

  const pluginService: PluginServiceServer = {
    analyzePluginConfig(call, callback) {
      answer('AnalyzePluginConfig', call, callback, async (c) => {
        const response = await analyzePluginConfig(c);
        return { response, verdict: response.verdict === '' ? NO_VERDICT : response.verdict };
      });
    },
  };

  /** What every call checks before reading its request: the token, and that the judge is up. */
  function admit(call: ServerUnaryCall<unknown, unknown>): void {
    if (!authorized(call.metadata.get('authorization')[0]))
      throw new JudgeError('unauthorized', 'a valid bearer token is required in the authorization metadata');
    if (shuttingDown)
      throw new JudgeError('shutting_down', 'the judge is shutting down; retry on another replica');
  }

  async function analyze(call: ServerUnaryCall<AnalyzeRequest, AnalyzeResponse>): Promise<AnalyzeResponse> {
    const peer = call.getPeer();
    admit(call);
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
    return judged(call, parsed.value, (f) => toProtoField(f, call.request));
  }

  /**
   * The plugin's call: its configuration is parsed here, with the HTTP body's rules (see
   * plugin-config.ts); field paths are the configuration's.
   */
  async function analyzePluginConfig(
    call: ServerUnaryCall<AnalyzePluginConfigRequest, AnalyzePluginConfigResponse>,
  ): Promise<AnalyzePluginConfigResponse> {
    const peer = call.getPeer();
    admit(call);
    const undecodable = (call.request as { [UNDECODABLE]?: string })[UNDECODABLE];
    if (undecodable !== undefined) {
      throw new JudgeError(
        'invalid_request',
        `the request is not a valid canary_judge.v1.AnalyzePluginConfigRequest: ${undecodable}`,
        { field: 'request' },
      );
    }
    const parsed = parsePluginConfig(call.request);
    if (!parsed.ok) {
      const run = call.request.run;
      const first = parsed.errors[0] ?? { field: 'config', message: 'invalid plugin configuration' };
      o.logger.info('analysis refused', {
        transport: 'grpc',
        method: 'AnalyzePluginConfig',
        peer,
        analysisRun: run === undefined ? undefined : `${run.namespace}/${run.name}`,
        args: run?.args,
        errors: parsed.errors,
      });
      throw new JudgeError('invalid_request', first.message, { field: first.field });
    }
    return toMeasurement(await judged(call, parsed.value));
  }

  /**
   * Runs a parsed request. `protoField` names a field refused after parsing (an expression
   * Prometheus' parser refused) in the caller's own terms: the proto path for Analyze, the
   * configuration's JSON path for the plugin.
   */
  async function judged(
    call: ServerUnaryCall<unknown, unknown>,
    r: AnalysisRequest,
    protoField: (field: string) => string = (f) => f,
  ): Promise<AnalyzeResponse> {
    const abort = new AbortController();
    // The client's deadline passing, or the client going away, cancels the call: stop querying.
    call.on('cancelled', () =>
      abort.abort(
        new JudgeError('deadline_exceeded', 'the client cancelled the call or its deadline passed'),
      ),
    );
    try {
      const result = await runObservedAnalysis(o, r, abort.signal, {
        transport: 'grpc',
        peer: call.getPeer(),
      });
      return toAnalyzeResponse(result);
    } catch (e) {
      // A field the judge refused after parsing (an expression Prometheus' parser refused) is
      // named where it lives in the proto message, as a schema error would be.
      if (e instanceof JudgeError && e.code === 'invalid_request' && e.field !== undefined) {
        const field = protoField(e.field);
        const message = e.message.startsWith(e.field) ? field + e.message.slice(e.field.length) : e.message;
        throw new JudgeError('invalid_request', message, { field });
      }
      throw e;
    }
  }

  const server = new Server({ 'grpc.max_receive_message_length': MAX_REQUEST_BYTES });
  server.addService(JUDGE_SERVICE, judgeService);
  server.addService(PLUGIN_SERVICE, pluginService);
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
