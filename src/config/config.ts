/**
 * Service configuration, read once from environment variables and validated at start. Every
 * problem is reported (one line each) before the process exits, so one restart fixes them all.
 */

import { readFileSync } from 'node:fs';
import { DEFAULT_MAX_RESPONSE_BYTES } from '../prometheus/client.js';
import { parseTargetPatterns, type TargetPattern } from '../contract/targets.js';
import { ISTIO_NAMES, LABEL_NAME, METRIC_NAME, type MeshNames } from '../prometheus/promql.js';

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
export type DurationUnit = 'milliseconds' | 'seconds';

export interface Config {
  readonly host: string;
  readonly port: number;
  /** gRPC API port on the same host (0: any free port); null: no gRPC API. */
  readonly grpcPort: number | null;
  /** Bearer token required on the analysis endpoint; undefined = no auth. */
  readonly authToken: string | undefined;
  readonly prometheus: {
    readonly url: string;
    readonly timeoutMs: number;
    /** Authorization, tenant and extra headers, assembled. */
    readonly headers: Readonly<Record<string, string>>;
    /** Largest answer read from Prometheus (bytes); a longer one is a 502. */
    readonly maxResponseBytes: number;
  };
  /** Admission control: analyses computed at once, waiting at most, and how long they wait. */
  readonly admission: {
    readonly maxInFlight: number;
    readonly maxQueued: number;
    readonly queueWaitMs: number;
  };
  /** Whole-analysis deadline; keep it below the template's `timeoutSeconds` (Argo default 10s). */
  readonly deadlineMs: number;
  readonly queryConcurrency: number;
  /** How far back `canary-first-sample` searches. */
  readonly lookbackSeconds: number;
  readonly shutdownTimeoutMs: number;
  /** After SIGTERM, how long readiness fails while requests are still served, before closing. */
  readonly shutdownDelayMs: number;
  readonly logLevel: LogLevel;
  readonly mesh: MeshNames;
  /** Unit of the duration histogram's `le` (Istio: milliseconds). */
  readonly durationUnit: DurationUnit;
  /** The contract gate (POST /api/v1/contract-checks); dir undefined: not offered. */
  readonly contract: {
    /** Directory of `<name>.yaml` OpenAPI contracts (a mounted ConfigMap). */
    readonly dir: string | undefined;
    /** Hosts a check may reach; anything else is refused. */
    readonly targets: readonly TargetPattern[];
    readonly requestTimeoutMs: number;
    readonly deadlineMs: number;
    readonly maxRequests: number;
    readonly maxResponseBytes: number;
  };
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

const DURATION = /^(\d+)(ms|s|m|h)$/;
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

export type Env = Readonly<Record<string, string | undefined>>;

/** Parses the environment; throws ConfigError listing every problem. */
export function loadConfig(
  env: Env = process.env,
  readFile: (path: string) => string = (p) => readFileSync(p, 'utf8'),
): Config {
  const problems: string[] = [];
  const get = (name: string): string | undefined => {
    const v = env[`CANARY_JUDGE_${name}`];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };
  /** A secret from NAME or the file at NAME_FILE (not both). */
  const secret = (name: string): string | undefined => {
    const direct = get(name);
    const file = get(`${name}_FILE`);
    if (direct !== undefined && file !== undefined) {
      problems.push(`CANARY_JUDGE_${name} and CANARY_JUDGE_${name}_FILE are both set; set one`);
      return undefined;
    }
    if (file === undefined) return direct;
    try {
      const v = readFile(file).trim();
      if (v === '') problems.push(`CANARY_JUDGE_${name}_FILE: file ${file} is empty`);
      return v === '' ? undefined : v;
    } catch (e) {
      problems.push(
        `CANARY_JUDGE_${name}_FILE: cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? String(e)})`,
      );
      return undefined;
    }
  };
  const duration = (name: string, fallback: string, minMs: number, maxMs: number): number => {
    const raw = get(name) ?? fallback;
    const m = DURATION.exec(raw);
    if (m === null) {
      problems.push(`CANARY_JUDGE_${name}="${raw}" is not a duration like 500ms, 5s, 2m or 24h`);
      return 0;
    }
    const ms = Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
    if (ms < minMs || ms > maxMs) {
      problems.push(`CANARY_JUDGE_${name}="${raw}" must be between ${minMs} ms and ${maxMs} ms`);
    }
    return ms;
  };
  const integer = (name: string, fallback: number, min: number, max: number): number => {
    const raw = get(name);
    if (raw === undefined) return fallback;
    if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
      problems.push(`CANARY_JUDGE_${name}="${raw}" must be an integer between ${min} and ${max}`);
      return fallback;
    }
    return Number(raw);
  };
  const name = (envName: string, fallback: string, grammar: RegExp, what: string): string => {
    const v = get(envName) ?? fallback;
    if (!grammar.test(v))
      problems.push(`CANARY_JUDGE_${envName}="${v}" is not a valid Prometheus ${what} name`);
    return v;
  };

  // Prometheus
  const url = get('PROMETHEUS_URL');
  if (url === undefined) {
    problems.push('CANARY_JUDGE_PROMETHEUS_URL is required (e.g. http://prometheus.monitoring:9090)');
  } else {
    try {
      const u = new URL(url);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') {
        problems.push(`CANARY_JUDGE_PROMETHEUS_URL="${url}" must be an http:// or https:// URL`);
      }
      if (u.username !== '' || u.password !== '') {
        problems.push(
          'CANARY_JUDGE_PROMETHEUS_URL must not carry credentials; use CANARY_JUDGE_PROMETHEUS_USERNAME/PASSWORD',
        );
      }
    } catch {
      problems.push(`CANARY_JUDGE_PROMETHEUS_URL="${url}" is not a URL`);
    }
  }
  const headers: Record<string, string> = {};
  const extra = get('PROMETHEUS_HEADERS');
  if (extra !== undefined) {
    try {
      const parsed: unknown = JSON.parse(extra);
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
        throw new Error('not an object');
      for (const [k, v] of Object.entries(parsed)) {
        if (!HEADER_NAME.test(k) || typeof v !== 'string' || /[\r\n]/.test(v)) {
          problems.push(
            `CANARY_JUDGE_PROMETHEUS_HEADERS: header "${k}" needs a valid name and a one-line string value`,
          );
        } else headers[k] = v;
      }
    } catch {
      problems.push(
        'CANARY_JUDGE_PROMETHEUS_HEADERS must be a JSON object of header names to values, e.g. {"X-Foo":"bar"}',
      );
    }
  }
  const tenant = get('PROMETHEUS_TENANT');
  const tenantHeader = get('PROMETHEUS_TENANT_HEADER') ?? 'X-Scope-OrgID';
  if (!HEADER_NAME.test(tenantHeader))
    problems.push(`CANARY_JUDGE_PROMETHEUS_TENANT_HEADER="${tenantHeader}" is not a header name`);
  if (tenant !== undefined) headers[tenantHeader] = tenant;
  const bearer = secret('PROMETHEUS_BEARER_TOKEN');
  const user = get('PROMETHEUS_USERNAME');
  const password = secret('PROMETHEUS_PASSWORD');
  if (bearer !== undefined && (user !== undefined || password !== undefined)) {
    problems.push('set either CANARY_JUDGE_PROMETHEUS_BEARER_TOKEN or USERNAME/PASSWORD, not both');
  } else if (bearer !== undefined) {
    headers['Authorization'] = `Bearer ${bearer}`;
  } else if (user !== undefined || password !== undefined) {
    if (user === undefined || password === undefined) {
      problems.push('CANARY_JUDGE_PROMETHEUS_USERNAME and CANARY_JUDGE_PROMETHEUS_PASSWORD go together');
    } else headers['Authorization'] = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  }

  const port = integer('PORT', 8080, 1, 65535);
  const host = get('HOST') ?? '0.0.0.0';
  const grpcRaw = get('GRPC_PORT');
  let grpcPort: number | null = grpcRaw === 'off' ? null : 9090;
  if (grpcRaw !== undefined && grpcRaw !== 'off') {
    if (/^\d+$/.test(grpcRaw) && Number(grpcRaw) <= 65535) grpcPort = Number(grpcRaw);
    else
      problems.push(`CANARY_JUDGE_GRPC_PORT="${grpcRaw}" must be a port (0-65535, 0 = any free port) or off`);
  }
  const logLevelRaw = get('LOG_LEVEL') ?? 'info';
  const logLevels: readonly LogLevel[] = ['error', 'warn', 'info', 'debug'];
  if (!(logLevels as readonly string[]).includes(logLevelRaw)) {
    problems.push(`CANARY_JUDGE_LOG_LEVEL="${logLevelRaw}" must be one of ${logLevels.join(', ')}`);
  }
  const unitRaw = get('DURATION_UNIT') ?? 'milliseconds';
  if (unitRaw !== 'milliseconds' && unitRaw !== 'seconds') {
    problems.push(`CANARY_JUDGE_DURATION_UNIT="${unitRaw}" must be milliseconds or seconds`);
  }

  const timeoutMs = duration('PROMETHEUS_TIMEOUT', '5s', 100, 300_000);
  const deadlineMs = duration('ANALYSIS_DEADLINE', '8s', 100, 600_000);
  const lookbackMs = duration('FIRST_SAMPLE_LOOKBACK', '24h', 60_000, 31 * 86_400_000);
  const shutdownTimeoutMs = duration('SHUTDOWN_TIMEOUT', '25s', 0, 600_000);
  const shutdownDelayMs = duration('SHUTDOWN_DELAY', '0s', 0, 120_000);
  const queryConcurrency = integer('QUERY_CONCURRENCY', 4, 1, 64);
  const maxResponseBytes = integer(
    'PROMETHEUS_MAX_RESPONSE_BYTES',
    DEFAULT_MAX_RESPONSE_BYTES,
    64 * 1024,
    1024 * 1024 * 1024,
  );
  const maxInFlight = integer('MAX_ANALYSES', 16, 1, 10_000);
  const maxQueued = integer('ANALYSIS_QUEUE', 64, 0, 100_000);
  // Default: 2 s, or a quarter of a shorter deadline, so that a short deadline alone still starts.
  const queueWaitMs = duration(
    'ANALYSIS_QUEUE_WAIT',
    `${Math.min(2000, Math.floor(deadlineMs / 4))}ms`,
    0,
    600_000,
  );
  if (queueWaitMs >= deadlineMs && deadlineMs > 0) {
    problems.push(
      'CANARY_JUDGE_ANALYSIS_QUEUE_WAIT must be shorter than CANARY_JUDGE_ANALYSIS_DEADLINE (the wait counts against it)',
    );
  }

  const scrapeRaw = get('SCRAPE_LABELS') ?? (ISTIO_NAMES.scrapeLabels ?? []).join(',');
  const scrapeLabels = scrapeRaw === 'none' ? [] : scrapeRaw.split(',').map((l) => l.trim());
  for (const l of scrapeLabels) {
    if (!LABEL_NAME.test(l))
      problems.push(`CANARY_JUDGE_SCRAPE_LABELS: "${l}" is not a valid Prometheus label name (or set none)`);
  }
  const L = ISTIO_NAMES.labels;
  const mesh: MeshNames = {
    requestsMetric: name('REQUESTS_METRIC', ISTIO_NAMES.requestsMetric, METRIC_NAME, 'metric'),
    durationMetric: name('DURATION_METRIC', ISTIO_NAMES.durationMetric, METRIC_NAME, 'metric'),
    labels: {
      reporter: name('LABEL_REPORTER', L.reporter, LABEL_NAME, 'label'),
      responseCode: name('LABEL_RESPONSE_CODE', L.responseCode, LABEL_NAME, 'label'),
      responseFlags: name('LABEL_RESPONSE_FLAGS', L.responseFlags, LABEL_NAME, 'label'),
      pod: name('LABEL_POD', L.pod, LABEL_NAME, 'label'),
      workload: name('LABEL_WORKLOAD', L.workload, LABEL_NAME, 'label'),
      workloadNamespace: name('LABEL_WORKLOAD_NAMESPACE', L.workloadNamespace, LABEL_NAME, 'label'),
      serviceName: name('LABEL_SERVICE_NAME', L.serviceName, LABEL_NAME, 'label'),
      serviceNamespace: name('LABEL_SERVICE_NAMESPACE', L.serviceNamespace, LABEL_NAME, 'label'),
      version: name('LABEL_VERSION', L.version, LABEL_NAME, 'label'),
    },
    scrapeLabels,
  };
  const identity = new Set(Object.values(mesh.labels));
  for (const l of scrapeLabels) {
    if (identity.has(l))
      problems.push(
        `CANARY_JUDGE_SCRAPE_LABELS: "${l}" tells series apart, not scrapes; merging on it would lose counts`,
      );
  }

  const authToken = secret('AUTH_TOKEN');
  if (authToken !== undefined && authToken.length < 16) {
    problems.push('CANARY_JUDGE_AUTH_TOKEN must be at least 16 characters');
  }

  const contractDir = get('CONTRACTS_DIR');
  const targetsRaw = get('CONTRACT_TARGETS') ?? '';
  const targets = parseTargetPatterns(targetsRaw);
  for (const p of targets.problems) problems.push(`CANARY_JUDGE_CONTRACT_TARGETS: ${p}`);
  if (contractDir !== undefined && targetsRaw === '')
    problems.push(
      'CANARY_JUDGE_CONTRACTS_DIR is set but CANARY_JUDGE_CONTRACT_TARGETS is empty: name the hosts contract checks may reach',
    );
  const contractTimeoutMs = duration('CONTRACT_REQUEST_TIMEOUT', '2s', 100, 60_000);
  const contractDeadlineMs = duration('CONTRACT_DEADLINE', '8s', 100, 600_000);
  const contractMaxRequests = integer('CONTRACT_MAX_REQUESTS', 40, 2, 1000);
  const contractMaxBytes = integer('CONTRACT_MAX_RESPONSE_BYTES', 1024 * 1024, 1024, 64 * 1024 * 1024);

  if (problems.length > 0) throw new ConfigError(problems);
  return {
    host,
    port,
    grpcPort,
    authToken,
    prometheus: { url: (url as string).replace(/\/+$/, ''), timeoutMs, headers, maxResponseBytes },
    admission: { maxInFlight, maxQueued, queueWaitMs },
    deadlineMs,
    queryConcurrency,
    lookbackSeconds: Math.round(lookbackMs / 1000),
    shutdownTimeoutMs,
    shutdownDelayMs,
    logLevel: logLevelRaw as LogLevel,
    mesh,
    durationUnit: unitRaw as DurationUnit,
    contract: {
      dir: contractDir,
      targets: targets.patterns,
      requestTimeoutMs: contractTimeoutMs,
      deadlineMs: contractDeadlineMs,
      maxRequests: contractMaxRequests,
      maxResponseBytes: contractMaxBytes,
    },
  };
}
