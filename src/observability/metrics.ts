/**
 * The judge's own metrics, on a dedicated registry (never the global one). Names carry the
 * `canary_judge_` prefix, base units, and `_total` for counters.
 */

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ErrorCode } from '../errors.js';
import type { QueryKind } from '../prometheus/client.js';

export const LABEL_ENDPOINT = 'endpoint';
export const LABEL_STATUS = 'status';
export const LABEL_VERDICT = 'verdict';
export const LABEL_KIND = 'kind';
export const LABEL_CAUSE = 'cause';
export const LABEL_CHECK_TYPE = 'check_type';
export const LABEL_METHOD = 'method';
export const LABEL_GRPC_CODE = 'code';

/** Verdict label for requests that ended without a verdict (errors, probes). */
export const NO_VERDICT = 'none';

export interface Metrics {
  readonly registry: Registry;
  readonly httpRequests: Counter<typeof LABEL_ENDPOINT | typeof LABEL_STATUS | typeof LABEL_VERDICT>;
  readonly grpcRequests: Counter<typeof LABEL_METHOD | typeof LABEL_GRPC_CODE | typeof LABEL_VERDICT>;
  readonly analysisDuration: Histogram<typeof LABEL_VERDICT>;
  readonly checkVerdicts: Counter<typeof LABEL_CHECK_TYPE | typeof LABEL_VERDICT>;
  readonly queryDuration: Histogram<typeof LABEL_KIND>;
  readonly queryErrors: Counter<typeof LABEL_KIND | typeof LABEL_CAUSE>;
  readonly inFlight: Gauge;
  observeQuery(kind: QueryKind, seconds: number, error: ErrorCode | undefined): void;
}

export function createMetrics(version: string, options: { processMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'canary_judge_' });
  const build = new Gauge({
    name: 'canary_judge_build_info',
    help: 'Build information; constant 1.',
    labelNames: ['version', 'nodejs'] as const,
    registers: [registry],
  });
  build.set({ version, nodejs: process.versions.node }, 1);
  const httpRequests = new Counter({
    name: 'canary_judge_http_requests_total',
    help: 'HTTP requests by endpoint, status code and verdict (none when no verdict was given).',
    labelNames: [LABEL_ENDPOINT, LABEL_STATUS, LABEL_VERDICT] as const,
    registers: [registry],
  });
  const grpcRequests = new Counter({
    name: 'canary_judge_grpc_requests_total',
    help: 'gRPC calls by method, status code and verdict (none when no verdict was given).',
    labelNames: [LABEL_METHOD, LABEL_GRPC_CODE, LABEL_VERDICT] as const,
    registers: [registry],
  });
  const analysisDuration = new Histogram({
    name: 'canary_judge_analysis_duration_seconds',
    help: 'Wall time of one analysis, Prometheus queries included, by verdict (error when none).',
    labelNames: [LABEL_VERDICT] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const checkVerdicts = new Counter({
    name: 'canary_judge_check_verdicts_total',
    help: 'Check results by check type and verdict.',
    labelNames: [LABEL_CHECK_TYPE, LABEL_VERDICT] as const,
    registers: [registry],
  });
  const queryDuration = new Histogram({
    name: 'canary_judge_prometheus_query_duration_seconds',
    help: "Duration of Prometheus queries by kind (range, ping, parse: a ratio check's dry query).",
    labelNames: [LABEL_KIND] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const queryErrors = new Counter({
    name: 'canary_judge_prometheus_query_errors_total',
    help: 'Failed Prometheus queries by kind and cause (error code).',
    labelNames: [LABEL_KIND, LABEL_CAUSE] as const,
    registers: [registry],
  });
  const inFlight = new Gauge({
    name: 'canary_judge_analyses_in_flight',
    help: 'Analyses being computed now.',
    registers: [registry],
  });
  return {
    registry,
    httpRequests,
    grpcRequests,
    analysisDuration,
    checkVerdicts,
    queryDuration,
    queryErrors,
    inFlight,
    observeQuery(kind, seconds, error) {
      queryDuration.observe({ kind }, seconds);
      if (error !== undefined) queryErrors.inc({ kind, cause: error });
    },
  };
}
