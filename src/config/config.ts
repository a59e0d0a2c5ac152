/**
 * Service configuration, read once from environment variables and validated at start by one zod
 * schema. Every problem is reported (one line each, naming the variable, its value and what is
 * expected) before the process exits, so one restart fixes them all.
 */

import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { parseDuration } from '../duration.js';
import { DEFAULT_MAX_RESPONSE_BYTES } from '../prometheus/client.js';
import { parseTargetPatterns, type TargetPattern } from '../contract/targets.js';
import { ISTIO_NAMES, LABEL_NAME, METRIC_NAME } from '../prometheus/promql.js';
import { DEFAULT_APP_LABELS, type AppLabels, type MeshNames } from '../judge/metrics-source.js';

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
  /** Label names of applications' own metrics, for ratio checks' `$selector`. */
  readonly app: AppLabels;
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

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const LOG_LEVELS: readonly LogLevel[] = ['error', 'warn', 'info', 'debug'];

export type Env = Readonly<Record<string, string | undefined>>;

type Ctx = z.RefinementCtx;
const v = (name: string): string => `CANARY_JUDGE_${name}`;
const problem = (ctx: Ctx, message: string): void => ctx.addIssue({ code: 'custom', message });

/** A variable's trimmed value; unset and blank are the same. */
const raw = z
  .string()
  .optional()
  .transform((s) => (s === undefined || s.trim() === '' ? undefined : s.trim()));

/**
 * A field never aborts the parse: it names its problem and yields a stand-in, so that the checks
 * across fields still run and every problem is named at once.
 */
const field = <T>(read: (value: string | undefined, ctx: Ctx) => T) => raw.transform(read);

const duration = (name: string, fallback: string | undefined, minMs: number, maxMs: number) =>
  field((s, ctx): number | undefined => {
    const text = s ?? fallback;
    if (text === undefined) return undefined;
    const d = parseDuration(text);
    if (d === undefined) {
      problem(ctx, `${v(name)}="${text}" is not a duration like 500ms, 5s, 2m or 24h`);
      return 0;
    }
    if (d.ms < minMs || d.ms > maxMs)
      problem(ctx, `${v(name)}="${text}" must be between ${minMs} ms and ${maxMs} ms`);
    return d.ms;
  });

const integer = (name: string, fallback: number, min: number, max: number) =>
  field((s, ctx) => {
    if (s === undefined) return fallback;
    if (!/^\d+$/.test(s) || Number(s) < min || Number(s) > max) {
      problem(ctx, `${v(name)}="${s}" must be an integer between ${min} and ${max}`);
      return fallback;
    }
    return Number(s);
  });

const promName = (grammar: RegExp, what: 'metric' | 'label') => (name: string, fallback: string) =>
  field((s, ctx) => {
    const value = s ?? fallback;
    if (!grammar.test(value)) problem(ctx, `${v(name)}="${value}" is not a valid Prometheus ${what} name`);
    return value;
  });
const metricName = promName(METRIC_NAME, 'metric');
const labelName = promName(LABEL_NAME, 'label');

const oneOf = <T extends string>(name: string, fallback: T, values: readonly T[], expected: string) =>
  field((s, ctx): T => {
    const value = s ?? fallback;
    if ((values as readonly string[]).includes(value)) return value as T;
    problem(ctx, `${v(name)}="${value}" must be ${expected}`);
    return fallback;
  });

type SecretName = 'AUTH_TOKEN' | 'PROMETHEUS_BEARER_TOKEN' | 'PROMETHEUS_PASSWORD';
const SECRETS: readonly SecretName[] = ['AUTH_TOKEN', 'PROMETHEUS_BEARER_TOKEN', 'PROMETHEUS_PASSWORD'];

/** A secret from NAME or the file at NAME_FILE (not both), given as the pair [NAME, NAME_FILE]. */
const secret = (name: SecretName, readFile: (path: string) => string) =>
  z.tuple([raw, raw]).transform(([direct, path], ctx): string | undefined => {
    if (direct !== undefined && path !== undefined) {
      problem(ctx, `${v(name)} and ${v(name)}_FILE are both set; set one`);
      return undefined;
    }
    if (path === undefined) return direct;
    try {
      const value = readFile(path).trim();
      if (value === '') problem(ctx, `${v(name)}_FILE: file ${path} is empty`);
      return value === '' ? undefined : value;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? String(e);
      problem(ctx, `${v(name)}_FILE: cannot read ${path} (${code})`);
      return undefined;
    }
  });

const prometheusUrl = field((url, ctx) => {
  if (url === undefined) {
    problem(ctx, `${v('PROMETHEUS_URL')} is required (e.g. http://prometheus.monitoring:9090)`);
    return '';
  }
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    problem(ctx, `${v('PROMETHEUS_URL')}="${url}" is not a URL`);
    return '';
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    problem(ctx, `${v('PROMETHEUS_URL')}="${url}" must be an http:// or https:// URL`);
  if (u.username !== '' || u.password !== '')
    problem(
      ctx,
      `${v('PROMETHEUS_URL')} must not carry credentials; use ${v('PROMETHEUS_USERNAME')}/PASSWORD`,
    );
  return url.replace(/\/+$/, '');
});

const extraHeaders = field((json, ctx) => {
  const headers: Record<string, string> = {};
  if (json === undefined) return headers;
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    parsed = undefined;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    problem(
      ctx,
      `${v('PROMETHEUS_HEADERS')} must be a JSON object of header names to values, e.g. {"X-Foo":"bar"}`,
    );
    return headers;
  }
  for (const [k, value] of Object.entries(parsed)) {
    if (!HEADER_NAME.test(k) || typeof value !== 'string' || /[\r\n]/.test(value))
      problem(
        ctx,
        `${v('PROMETHEUS_HEADERS')}: header "${k}" needs a valid name and a one-line string value`,
      );
    else headers[k] = value;
  }
  return headers;
});

const tenantHeader = field((s, ctx) => {
  const value = s ?? 'X-Scope-OrgID';
  if (!HEADER_NAME.test(value))
    problem(ctx, `${v('PROMETHEUS_TENANT_HEADER')}="${value}" is not a header name`);
  return value;
});

const grpcPort = field((s, ctx): number | null => {
  if (s === undefined) return 9090;
  if (s === 'off') return null;
  if (/^\d+$/.test(s) && Number(s) <= 65535) return Number(s);
  problem(ctx, `${v('GRPC_PORT')}="${s}" must be a port (0-65535, 0 = any free port) or off`);
  return 9090;
});

const scrapeLabels = field((s, ctx) => {
  const text = s ?? (ISTIO_NAMES.scrapeLabels ?? []).join(',');
  const labels = text === 'none' ? [] : text.split(',').map((l) => l.trim());
  for (const l of labels)
    if (!LABEL_NAME.test(l))
      problem(ctx, `${v('SCRAPE_LABELS')}: "${l}" is not a valid Prometheus label name (or set none)`);
  return labels;
});

const contractTargets = field((s, ctx) => {
  const targets = parseTargetPatterns(s ?? '');
  for (const p of targets.problems) problem(ctx, `${v('CONTRACT_TARGETS')}: ${p}`);
  return { text: s, patterns: targets.patterns };
});

const L = ISTIO_NAMES.labels;

/** The variables, one field each: its value (or default), or its problem named and a stand-in. */
const fieldsSchema = (readFile: (path: string) => string) =>
  z.object({
    CANARY_JUDGE_HOST: field((s) => s ?? '0.0.0.0'),
    CANARY_JUDGE_PORT: integer('PORT', 8080, 1, 65535),
    CANARY_JUDGE_GRPC_PORT: grpcPort,
    AUTH_TOKEN: secret('AUTH_TOKEN', readFile),
    CANARY_JUDGE_LOG_LEVEL: oneOf('LOG_LEVEL', 'info', LOG_LEVELS, `one of ${LOG_LEVELS.join(', ')}`),
    CANARY_JUDGE_SHUTDOWN_TIMEOUT: duration('SHUTDOWN_TIMEOUT', '25s', 0, 600_000),
    CANARY_JUDGE_SHUTDOWN_DELAY: duration('SHUTDOWN_DELAY', '0s', 0, 120_000),

    CANARY_JUDGE_PROMETHEUS_URL: prometheusUrl,
    CANARY_JUDGE_PROMETHEUS_TIMEOUT: duration('PROMETHEUS_TIMEOUT', '5s', 100, 300_000),
    PROMETHEUS_BEARER_TOKEN: secret('PROMETHEUS_BEARER_TOKEN', readFile),
    CANARY_JUDGE_PROMETHEUS_USERNAME: raw,
    PROMETHEUS_PASSWORD: secret('PROMETHEUS_PASSWORD', readFile),
    CANARY_JUDGE_PROMETHEUS_TENANT: raw,
    CANARY_JUDGE_PROMETHEUS_TENANT_HEADER: tenantHeader,
    CANARY_JUDGE_PROMETHEUS_HEADERS: extraHeaders,
    CANARY_JUDGE_PROMETHEUS_MAX_RESPONSE_BYTES: integer(
      'PROMETHEUS_MAX_RESPONSE_BYTES',
      DEFAULT_MAX_RESPONSE_BYTES,
      64 * 1024,
      1024 * 1024 * 1024,
    ),
    CANARY_JUDGE_SCRAPE_LABELS: scrapeLabels,

    CANARY_JUDGE_ANALYSIS_DEADLINE: duration('ANALYSIS_DEADLINE', '8s', 100, 600_000),
    CANARY_JUDGE_QUERY_CONCURRENCY: integer('QUERY_CONCURRENCY', 4, 1, 64),
    CANARY_JUDGE_MAX_ANALYSES: integer('MAX_ANALYSES', 16, 1, 10_000),
    CANARY_JUDGE_ANALYSIS_QUEUE: integer('ANALYSIS_QUEUE', 64, 0, 100_000),
    // Unset: 2 s, or a quarter of a shorter deadline (below), so a short deadline alone starts.
    CANARY_JUDGE_ANALYSIS_QUEUE_WAIT: duration('ANALYSIS_QUEUE_WAIT', undefined, 0, 600_000),
    CANARY_JUDGE_FIRST_SAMPLE_LOOKBACK: duration('FIRST_SAMPLE_LOOKBACK', '24h', 60_000, 31 * 86_400_000),

    CANARY_JUDGE_CONTRACTS_DIR: raw,
    CANARY_JUDGE_CONTRACT_TARGETS: contractTargets,
    CANARY_JUDGE_CONTRACT_REQUEST_TIMEOUT: duration('CONTRACT_REQUEST_TIMEOUT', '2s', 100, 60_000),
    CANARY_JUDGE_CONTRACT_DEADLINE: duration('CONTRACT_DEADLINE', '8s', 100, 600_000),
    CANARY_JUDGE_CONTRACT_MAX_REQUESTS: integer('CONTRACT_MAX_REQUESTS', 40, 2, 1000),
    CANARY_JUDGE_CONTRACT_MAX_RESPONSE_BYTES: integer(
      'CONTRACT_MAX_RESPONSE_BYTES',
      1024 * 1024,
      1024,
      64 * 1024 * 1024,
    ),

    CANARY_JUDGE_REQUESTS_METRIC: metricName('REQUESTS_METRIC', ISTIO_NAMES.requestsMetric),
    CANARY_JUDGE_DURATION_METRIC: metricName('DURATION_METRIC', ISTIO_NAMES.durationMetric),
    CANARY_JUDGE_DURATION_UNIT: oneOf<DurationUnit>(
      'DURATION_UNIT',
      'milliseconds',
      ['milliseconds', 'seconds'],
      'milliseconds or seconds',
    ),
    CANARY_JUDGE_LABEL_REPORTER: labelName('LABEL_REPORTER', L.reporter),
    CANARY_JUDGE_LABEL_RESPONSE_CODE: labelName('LABEL_RESPONSE_CODE', L.responseCode),
    CANARY_JUDGE_LABEL_RESPONSE_FLAGS: labelName('LABEL_RESPONSE_FLAGS', L.responseFlags),
    CANARY_JUDGE_LABEL_POD: labelName('LABEL_POD', L.pod),
    CANARY_JUDGE_LABEL_WORKLOAD: labelName('LABEL_WORKLOAD', L.workload),
    CANARY_JUDGE_LABEL_WORKLOAD_NAMESPACE: labelName('LABEL_WORKLOAD_NAMESPACE', L.workloadNamespace),
    CANARY_JUDGE_LABEL_SERVICE_NAME: labelName('LABEL_SERVICE_NAME', L.serviceName),
    CANARY_JUDGE_LABEL_SERVICE_NAMESPACE: labelName('LABEL_SERVICE_NAMESPACE', L.serviceNamespace),
    CANARY_JUDGE_LABEL_VERSION: labelName('LABEL_VERSION', L.version),
    CANARY_JUDGE_APP_LABEL_NAMESPACE: labelName('APP_LABEL_NAMESPACE', DEFAULT_APP_LABELS.namespace),
    CANARY_JUDGE_APP_LABEL_POD: labelName('APP_LABEL_POD', DEFAULT_APP_LABELS.pod),
    CANARY_JUDGE_APP_LABEL_VERSION: labelName('APP_LABEL_VERSION', DEFAULT_APP_LABELS.version),
  });

/** The environment's schema; `readFile` reads the `…_FILE` secrets. */
export function configSchema(readFile: (path: string) => string) {
  return z.preprocess(
    (env) => withSecretPairs(env as Env),
    fieldsSchema(readFile)
      .check(z.superRefine(acrossFields, { when: () => true }))
      .transform(toConfig),
  );
}

/** The environment with each secret's NAME and NAME_FILE side by side, read as one field. */
function withSecretPairs(env: Env): Record<string, unknown> {
  const out: Record<string, unknown> = { ...env };
  for (const name of SECRETS) out[name] = [env[v(name)], env[`${v(name)}_FILE`]];
  return out;
}

type Fields = z.output<ReturnType<typeof fieldsSchema>>;

const meshNames = (e: Fields): MeshNames => ({
  requestsMetric: e.CANARY_JUDGE_REQUESTS_METRIC,
  durationMetric: e.CANARY_JUDGE_DURATION_METRIC,
  labels: {
    reporter: e.CANARY_JUDGE_LABEL_REPORTER,
    responseCode: e.CANARY_JUDGE_LABEL_RESPONSE_CODE,
    responseFlags: e.CANARY_JUDGE_LABEL_RESPONSE_FLAGS,
    pod: e.CANARY_JUDGE_LABEL_POD,
    workload: e.CANARY_JUDGE_LABEL_WORKLOAD,
    workloadNamespace: e.CANARY_JUDGE_LABEL_WORKLOAD_NAMESPACE,
    serviceName: e.CANARY_JUDGE_LABEL_SERVICE_NAME,
    serviceNamespace: e.CANARY_JUDGE_LABEL_SERVICE_NAMESPACE,
    version: e.CANARY_JUDGE_LABEL_VERSION,
  },
  scrapeLabels: e.CANARY_JUDGE_SCRAPE_LABELS,
});

const deadline = (e: Fields): number => e.CANARY_JUDGE_ANALYSIS_DEADLINE ?? 0;
const queueWait = (e: Fields): number =>
  e.CANARY_JUDGE_ANALYSIS_QUEUE_WAIT ?? Math.min(2000, Math.floor(deadline(e) / 4));

/** The rules that tie variables together; they run even when a single variable failed. */
function acrossFields(e: Fields, ctx: Ctx): void {
  const bearer = e.PROMETHEUS_BEARER_TOKEN;
  const user = e.CANARY_JUDGE_PROMETHEUS_USERNAME;
  const password = e.PROMETHEUS_PASSWORD;
  if (bearer !== undefined && (user !== undefined || password !== undefined))
    problem(ctx, `set either ${v('PROMETHEUS_BEARER_TOKEN')} or USERNAME/PASSWORD, not both`);
  else if (bearer === undefined && (user === undefined) !== (password === undefined))
    problem(ctx, `${v('PROMETHEUS_USERNAME')} and ${v('PROMETHEUS_PASSWORD')} go together`);

  if (queueWait(e) >= deadline(e) && deadline(e) > 0)
    problem(
      ctx,
      `${v('ANALYSIS_QUEUE_WAIT')} must be shorter than ${v('ANALYSIS_DEADLINE')} (the wait counts against it)`,
    );

  const identity = new Set([
    ...Object.values(meshNames(e).labels),
    e.CANARY_JUDGE_APP_LABEL_NAMESPACE,
    e.CANARY_JUDGE_APP_LABEL_POD,
    e.CANARY_JUDGE_APP_LABEL_VERSION,
  ]);
  for (const l of e.CANARY_JUDGE_SCRAPE_LABELS)
    if (identity.has(l))
      problem(
        ctx,
        `${v('SCRAPE_LABELS')}: "${l}" tells series apart, not scrapes; merging on it would lose counts`,
      );

  const authToken = e.AUTH_TOKEN;
  if (authToken !== undefined && authToken.length < 16)
    problem(ctx, `${v('AUTH_TOKEN')} must be at least 16 characters`);

  if (e.CANARY_JUDGE_CONTRACTS_DIR !== undefined && e.CANARY_JUDGE_CONTRACT_TARGETS.text === undefined)
    problem(
      ctx,
      `${v('CONTRACTS_DIR')} is set but ${v('CONTRACT_TARGETS')} is empty: name the hosts contract checks may reach`,
    );
}

/** The configuration of variables that all passed. */
function toConfig(e: Fields): Config {
  const headers: Record<string, string> = { ...e.CANARY_JUDGE_PROMETHEUS_HEADERS };
  const tenant = e.CANARY_JUDGE_PROMETHEUS_TENANT;
  if (tenant !== undefined) headers[e.CANARY_JUDGE_PROMETHEUS_TENANT_HEADER] = tenant;
  const bearer = e.PROMETHEUS_BEARER_TOKEN;
  const user = e.CANARY_JUDGE_PROMETHEUS_USERNAME;
  const password = e.PROMETHEUS_PASSWORD;
  if (bearer !== undefined) headers['Authorization'] = `Bearer ${bearer}`;
  else if (user !== undefined && password !== undefined)
    headers['Authorization'] = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  return {
    host: e.CANARY_JUDGE_HOST,
    port: e.CANARY_JUDGE_PORT,
    grpcPort: e.CANARY_JUDGE_GRPC_PORT,
    authToken: e.AUTH_TOKEN,
    prometheus: {
      url: e.CANARY_JUDGE_PROMETHEUS_URL,
      timeoutMs: e.CANARY_JUDGE_PROMETHEUS_TIMEOUT ?? 0,
      headers,
      maxResponseBytes: e.CANARY_JUDGE_PROMETHEUS_MAX_RESPONSE_BYTES,
    },
    admission: {
      maxInFlight: e.CANARY_JUDGE_MAX_ANALYSES,
      maxQueued: e.CANARY_JUDGE_ANALYSIS_QUEUE,
      queueWaitMs: queueWait(e),
    },
    deadlineMs: deadline(e),
    queryConcurrency: e.CANARY_JUDGE_QUERY_CONCURRENCY,
    lookbackSeconds: Math.round((e.CANARY_JUDGE_FIRST_SAMPLE_LOOKBACK ?? 0) / 1000),
    shutdownTimeoutMs: e.CANARY_JUDGE_SHUTDOWN_TIMEOUT ?? 0,
    shutdownDelayMs: e.CANARY_JUDGE_SHUTDOWN_DELAY ?? 0,
    logLevel: e.CANARY_JUDGE_LOG_LEVEL,
    mesh: meshNames(e),
    app: {
      namespace: e.CANARY_JUDGE_APP_LABEL_NAMESPACE,
      pod: e.CANARY_JUDGE_APP_LABEL_POD,
      version: e.CANARY_JUDGE_APP_LABEL_VERSION,
    },
    durationUnit: e.CANARY_JUDGE_DURATION_UNIT,
    contract: {
      dir: e.CANARY_JUDGE_CONTRACTS_DIR,
      targets: e.CANARY_JUDGE_CONTRACT_TARGETS.patterns,
      requestTimeoutMs: e.CANARY_JUDGE_CONTRACT_REQUEST_TIMEOUT ?? 0,
      deadlineMs: e.CANARY_JUDGE_CONTRACT_DEADLINE ?? 0,
      maxRequests: e.CANARY_JUDGE_CONTRACT_MAX_REQUESTS,
      maxResponseBytes: e.CANARY_JUDGE_CONTRACT_MAX_RESPONSE_BYTES,
    },
  };
}

/** Parses the environment; throws ConfigError listing every problem. */
export function loadConfig(
  env: Env = process.env,
  readFile: (path: string) => string = (p) => readFileSync(p, 'utf8'),
): Config {
  const parsed = configSchema(readFile).safeParse(env);
  if (!parsed.success) throw new ConfigError(parsed.error.issues.map((i) => i.message));
  return parsed.data;
}
