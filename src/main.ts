/**
 * Entry point: read and validate the config, wire Prometheus client → metrics source → judge →
 * HTTP and gRPC servers, and shut down gracefully on SIGTERM/SIGINT (stop accepting, finish
 * in-flight analyses, exit).
 */

import { realpathSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { ConfigError, loadConfig, type Config } from './config/index.js';
import { createJudge } from './judge/index.js';
import { JUDGE_NAME, VERSION, createLogger, createMetrics, type Logger } from './observability/index.js';
import { createPrometheusClient } from './prometheus/client.js';
import { createPrometheusSource } from './prometheus/source.js';
import { answerClientError, createApp } from './server/http/index.js';
import { startGrpcServer } from './server/grpc/index.js';
import { createAdmission } from './server/admission.js';
import { createContractChecker, createFetchAnswer } from './contract/index.js';

/** How long after the shutdown timeout's forced closes `stop()` gives up waiting (ms). */
const HARD_STOP_MARGIN_MS = 2_000;

export interface RunningService {
  readonly port: number;
  /** The gRPC API's port; undefined when it is off. */
  readonly grpcPort: number | undefined;
  readonly logger: Logger;
  /** Stops accepting, waits for in-flight requests (up to the shutdown timeout), closes. */
  stop(): Promise<void>;
}

export async function startService(
  config: Config,
  logger: Logger = createLogger({ level: config.logLevel }),
): Promise<RunningService> {
  const metrics = createMetrics(VERSION);
  const prometheus = createPrometheusClient({
    url: config.prometheus.url,
    timeoutMs: config.prometheus.timeoutMs,
    headers: config.prometheus.headers,
    maxResponseBytes: config.prometheus.maxResponseBytes,
    onQuery: (kind, seconds, error) => metrics.observeQuery(kind, seconds, error),
  });
  // One bound for both transports: an analysis is the same work whichever way it came.
  const admission = createAdmission(config.admission);
  const source = createPrometheusSource(prometheus, { mesh: config.mesh, app: config.app });
  const judge = createJudge({ source, config, name: JUDGE_NAME });
  let shuttingDown = false;
  let draining = false;
  const app = createApp({
    judge,
    prometheus,
    logger,
    metrics,
    authToken: config.authToken,
    isShuttingDown: () => shuttingDown,
    isDraining: () => draining,
    admission,
    deadlineMs: config.deadlineMs,
    contractChecks:
      config.contract.dir === undefined
        ? undefined
        : createContractChecker({
            contractsDir: config.contract.dir,
            targets: config.contract.targets,
            maxRequests: config.contract.maxRequests,
            deadlineMs: config.contract.deadlineMs,
            fetchAnswer: createFetchAnswer({
              timeoutMs: config.contract.requestTimeoutMs,
              maxResponseBytes: config.contract.maxResponseBytes,
            }),
          }),
  });
  const server = createServer(app).listen(config.port, config.host);
  server.on('clientError', answerClientError);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  // Longer than Argo's default web timeout, so a slow analysis is not cut off by the server.
  server.requestTimeout = 60_000;
  server.keepAliveTimeout = 5_000;
  const port = (server.address() as AddressInfo).port;
  const grpc =
    config.grpcPort === null
      ? undefined
      : await startGrpcServer({
          judge,
          logger,
          metrics,
          host: config.host,
          port: config.grpcPort,
          authToken: config.authToken,
          shutdownTimeoutMs: config.shutdownTimeoutMs,
          admission,
          deadlineMs: config.deadlineMs,
        }).catch((e: unknown) => {
          server.close();
          throw e;
        });
  logger.info('listening', {
    judge: JUDGE_NAME,
    host: config.host,
    port,
    grpcPort: grpc?.port ?? 'off',
    prometheus: config.prometheus.url,
    auth: config.authToken !== undefined,
    deadlineMs: config.deadlineMs,
    queryConcurrency: config.queryConcurrency,
    maxAnalyses: config.admission.maxInFlight,
  });

  let stopping: Promise<void> | undefined;
  return {
    port,
    grpcPort: grpc?.port,
    logger,
    stop() {
      stopping ??= (async () => {
        // First fail readiness and keep serving, so the Service stops routing here before the
        // listener closes (endpoint removal races SIGTERM in Kubernetes).
        draining = true;
        if (config.shutdownDelayMs > 0) {
          logger.info('draining: readiness fails, analyses still served', {
            delayMs: config.shutdownDelayMs,
          });
          await new Promise((r) => setTimeout(r, config.shutdownDelayMs));
        }
        let httpClosed = false;
        let grpcClosed = false;
        const grpcStopped = (grpc?.stop() ?? Promise.resolve()).then(
          () => {
            grpcClosed = true;
          },
          (e: unknown) =>
            logger.warn('gRPC shutdown failed', { message: e instanceof Error ? e.message : String(e) }),
        );
        const graceful = new Promise<void>((resolve) => {
          shuttingDown = true;
          logger.info('shutting down: finishing in-flight analyses', { timeoutMs: config.shutdownTimeoutMs });
          const force = setTimeout(() => {
            logger.warn('shutdown timeout reached; closing remaining connections');
            server.closeAllConnections();
          }, config.shutdownTimeoutMs);
          force.unref();
          server.close(() => {
            clearTimeout(force);
            httpClosed = true;
            void grpcStopped.then(() => {
              logger.info('stopped');
              resolve();
            });
          });
          server.closeIdleConnections();
        });
        // A hard bound on top of the graceful path: a listener that still has not closed after
        // the forced closes must not keep the process (or its caller) waiting forever.
        let hard: NodeJS.Timeout | undefined;
        const bounded = new Promise<void>((resolve) => {
          hard = setTimeout(() => {
            logger.warn('shutdown did not complete after the forced closes; stopping anyway', {
              httpClosed,
              grpcClosed,
            });
            resolve();
          }, config.shutdownTimeoutMs + HARD_STOP_MARGIN_MS);
        });
        await Promise.race([graceful, bounded]);
        clearTimeout(hard);
      })();
      return stopping;
    },
  };
}

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`canary-judge: ${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
  const logger = createLogger({ level: config.logLevel });
  const service = await startService(config, logger);
  const onSignal = (signal: NodeJS.Signals): void => {
    logger.info('signal received', { signal });
    void service.stop().then(() => {
      // Let winston flush its last line.
      setTimeout(() => process.exit(0), 50).unref();
    });
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
}

const entry = process.argv[1];
const isEntry = entry !== undefined && import.meta.url === pathToFileURL(realpathSync(entry)).href;
if (isEntry && process.argv[2] === 'report') {
  // The image's entrypoint runs the server, and the report too: `docker run IMAGE report ROLLOUT
  // -n NS …` is `canary-judge report …` (src/cli.ts), loaded only then.
  const { runCli } = await import('./cli.js');
  runCli(process.argv.slice(2));
} else if (isEntry) {
  main().catch((e: unknown) => {
    process.stderr.write(`canary-judge: fatal: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
