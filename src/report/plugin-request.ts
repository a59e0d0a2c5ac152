/**
 * The judge request the metric plugin sends for one of its metrics, as the report needs it: the
 * plugin's configuration (`provider.plugin."canary-judge/canary-judge"`, its `{{args.*}}`
 * already substituted) plus what the AnalysisRun itself says — its namespace, the Rollout that
 * owns it, the canary's pod-template hash. It follows plugins/metric/internal/provider
 * (config.go ParseConfig, request.go buildRequest) rule for rule, and yields the request in
 * the judge's model (the HTTP API's body; the gRPC mapping turns the plugin's AnalyzeRequest
 * into the same model). plugins/metric/internal/provider/testdata/requests.json holds the
 * cases both this and the Go side are tested against.
 */

import type { AnalysisResult, CheckType } from '../judge/types.js';

export const PLUGIN_NAME = 'canary-judge/canary-judge';

const POD_TEMPLATE_HASH = 'rollouts-pod-template-hash';

/** What the plugin reads from the AnalysisRun, besides its metric. */
export interface PluginRun {
  readonly name: string;
  readonly namespace: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly ownerReferences?: readonly {
    readonly kind?: string;
    readonly name?: string;
    readonly controller?: boolean;
  }[];
}

export type PluginRequest =
  | {
      readonly ok: true;
      /** The judge request, in the judge's model (what POST /api/v1/analyses takes). */
      readonly body: Record<string, unknown>;
      /** The template's `address` (gRPC), or null: the registration's `--address`. */
      readonly address: string | null;
    }
  | { readonly ok: false; readonly error: string };

class ConfigError extends Error {}

type Json = Record<string, unknown>;

/**
 * Go's encoding/json matches a key to a field case-insensitively (an exact match first); an
 * unknown key is refused, as the plugin decodes with DisallowUnknownFields.
 */
function fields<K extends string>(
  v: unknown,
  names: readonly K[],
  where: string,
): Partial<Record<K, unknown>> {
  if (v === null || v === undefined) return {};
  if (typeof v !== 'object' || Array.isArray(v))
    throw new ConfigError(`${where}${JSON.stringify(v)} is not an object`);
  const out: Partial<Record<K, unknown>> = {};
  for (const [key, value] of Object.entries(v as Json)) {
    const name = names.find((n) => n === key) ?? names.find((n) => n.toLowerCase() === key.toLowerCase());
    if (name === undefined) throw new ConfigError(`unknown field "${key}"`);
    out[name] = value;
  }
  return out;
}

function text(v: unknown, field: string): string {
  if (v === null || v === undefined) return '';
  if (typeof v !== 'string') throw new ConfigError(`${field}: ${JSON.stringify(v)} is not a string`);
  return v;
}

/** Decimal forms of strconv.ParseFloat (what templates write); the judge refuses NaN and ±Inf. */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** flexFloat: a number, a numeric string, or empty / null for "not set". */
function flexFloat(v: unknown): number | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v === 'number') return v;
  if (typeof v === 'string') {
    const s = v.trim();
    if (s === '') return undefined;
    if (!DECIMAL.test(s)) throw new ConfigError(`${JSON.stringify(v)} is not a number`);
    return Number(s);
  }
  throw new ConfigError(`${JSON.stringify(v)} is not a number`);
}

/** flexBool: true / false, "true" / "false", or empty / null for "not set". */
function flexBool(v: unknown): boolean | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string') {
    const s = v.trim();
    if (s === '') return undefined;
    if (s === 'true' || s === 'false') return s === 'true';
    throw new ConfigError(`${JSON.stringify(v)} is not true or false`);
  }
  throw new ConfigError(`${JSON.stringify(v)} is not true or false`);
}

/**
 * time.ParseDuration's forms, e.g. 15s, 1m30s, 1.5h: the plugin reads `timeout` itself, in Go,
 * so this is not the judge's duration grammar (src/duration.ts), which `interval` goes through.
 */
const DURATION = /^\+?(\d+(\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)((\d+(\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h))*$/;

function positiveDuration(s: string): boolean {
  return DURATION.test(s) && /[1-9]/.test(s.replace(/(ns|us|µs|μs|ms|s|m|h)/g, ' '));
}

const CHECK_FIELDS = [
  'type',
  'name',
  'alpha',
  'margin',
  'criticalEffect',
  'criticalIncrease',
  'power',
  'weight',
  'critical',
  'errorCodes',
  'responseFlags',
  'quantile',
  'thresholdMs',
] as const;

const NUMBER_FIELDS = ['alpha', 'margin', 'criticalEffect', 'criticalIncrease', 'power', 'weight'] as const;

type SelectorMode = AnalysisResult['selector']['mode'];
/** Every selector mode: the record makes the compiler name one the judge adds and this lacks. */
const SELECTOR_MODES = Object.keys({
  'pod-hash': true,
  service: true,
  version: true,
} satisfies Record<SelectorMode, true>) as SelectorMode[];

function check(raw: unknown, i: number): Json {
  const f = fields(raw, CHECK_FIELDS, `checks[${i}]: `);
  const type = text(f.type, `checks[${i}].type`);
  const out: Json = {};
  if (type !== 'error-rate' && type !== 'latency')
    throw new ConfigError(`checks[${i}].type: ${JSON.stringify(type)} is not error-rate or latency`);
  const kind: CheckType = type;
  out['type'] = kind;
  const name = text(f.name, `checks[${i}].name`);
  if (name !== '') out['name'] = name;
  for (const key of NUMBER_FIELDS) {
    const v = flexFloat(f[key]);
    if (v !== undefined) out[key] = v;
  }
  const critical = flexBool(f.critical);
  if (critical !== undefined) out['critical'] = critical;
  const errorCodes = text(f.errorCodes, `checks[${i}].errorCodes`);
  const responseFlags = text(f.responseFlags, `checks[${i}].responseFlags`);
  const quantile = flexFloat(f.quantile);
  const thresholdMs = flexFloat(f.thresholdMs);
  if (kind === 'error-rate') {
    if (quantile !== undefined || thresholdMs !== undefined)
      throw new ConfigError(`checks[${i}]: quantile and thresholdMs belong to latency checks`);
    if (errorCodes !== '') out['errorCodes'] = errorCodes;
    if (responseFlags !== '') out['responseFlags'] = responseFlags;
  } else {
    if (errorCodes !== '' || responseFlags !== '')
      throw new ConfigError(`checks[${i}]: errorCodes and responseFlags belong to error-rate checks`);
    if ((quantile === undefined) === (thresholdMs === undefined))
      throw new ConfigError(`checks[${i}]: a latency check needs exactly one of quantile and thresholdMs`);
    if (quantile !== undefined) out['quantile'] = quantile;
    else out['thresholdMs'] = thresholdMs;
  }
  return out;
}

/** The Rollout that controls the run (the last such owner, as the plugin's loop leaves it). */
function owningRollout(run: PluginRun): string {
  let name = '';
  for (const o of run.ownerReferences ?? [])
    if (o.kind === 'Rollout' && o.controller === true) name = o.name ?? '';
  return name;
}

/**
 * The plugin's request for this configuration in this AnalysisRun, or why the plugin would
 * refuse it (an Error measurement; the message names the field as the plugin's does).
 */
export function pluginJudgeRequest(config: unknown, run: PluginRun): PluginRequest {
  try {
    return { ok: true, ...build(config, run) };
  } catch (e) {
    if (e instanceof ConfigError) return { ok: false, error: e.message };
    throw e;
  }
}

function build(config: unknown, run: PluginRun): { body: Json; address: string | null } {
  if (config === undefined)
    throw new ConfigError(`no plugin configuration in the metric (provider.plugin."${PLUGIN_NAME}")`);
  let c: ReturnType<typeof top>;
  try {
    c = top(config);
  } catch (e) {
    if (e instanceof ConfigError) throw new ConfigError(`plugin configuration: ${e.message}`);
    throw e;
  }
  const owner = owningRollout(run);
  const name = c.rollout.name !== '' ? c.rollout.name : owner;
  if (name === '')
    throw new ConfigError(
      `AnalysisRun ${run.namespace}/${run.name} is not owned by a Rollout: set rollout.name in the plugin configuration`,
    );
  const namespace = c.rollout.namespace !== '' ? c.rollout.namespace : run.namespace;
  let canary = c.selector.canary;
  if (c.selector.mode === 'pod-hash') {
    if (canary === '') canary = run.labels?.[POD_TEMPLATE_HASH] ?? '';
    if (canary === '')
      throw new ConfigError(
        `AnalysisRun ${run.namespace}/${run.name} has no ${POD_TEMPLATE_HASH} label: set selector.canary in the plugin configuration`,
      );
    if (c.selector.stable === '')
      throw new ConfigError(
        "selector.stable is empty: pass the stable's pod-template hash (valueFrom.podTemplateHashValue: Stable)",
      );
  }
  const body: Json = {
    rollout: { name, namespace },
    selector: { mode: c.selector.mode, canary, stable: c.selector.stable },
  };
  if (c.start !== '') body['start'] = c.start;
  if (c.interval !== '') body['interval'] = c.interval;
  body['checks'] = c.checks;
  if (c.failBelow !== undefined) body['failBelow'] = c.failBelow;
  return { body, address: c.address === '' ? null : c.address };
}

/** ParseConfig: the decoding and the checks the plugin makes before it builds a request. */
function top(config: unknown) {
  const f = fields(
    config,
    ['address', 'timeout', 'rollout', 'selector', 'start', 'interval', 'failBelow', 'checks'],
    '',
  );
  const r = fields(f.rollout, ['name', 'namespace'], 'rollout: ');
  const s = fields(f.selector, ['mode', 'canary', 'stable'], 'selector: ');
  if (f.checks !== null && f.checks !== undefined && !Array.isArray(f.checks))
    throw new ConfigError('checks is not a list');
  const rawChecks = (f.checks ?? []) as unknown[];
  const out = {
    address: text(f.address, 'address'),
    timeout: text(f.timeout, 'timeout'),
    rollout: { name: text(r.name, 'rollout.name'), namespace: text(r.namespace, 'rollout.namespace') },
    start: text(f.start, 'start'),
    interval: text(f.interval, 'interval'),
    failBelow: flexFloat(f.failBelow),
  };
  const stable = text(s.stable, 'selector.stable');
  const canary = text(s.canary, 'selector.canary');
  const modeText = text(s.mode, 'selector.mode');
  if (rawChecks.length === 0) throw new ConfigError('checks: at least one check is required');
  const checks = rawChecks.map(check);
  const mode = modeText === '' ? 'pod-hash' : SELECTOR_MODES.find((m) => m === modeText);
  if (mode === undefined)
    throw new ConfigError(`selector.mode: ${JSON.stringify(modeText)} is not pod-hash, service or version`);
  if (out.timeout !== '' && !positiveDuration(out.timeout))
    throw new ConfigError(`timeout: ${JSON.stringify(out.timeout)} is not a positive duration such as 15s`);
  return { ...out, selector: { mode, canary, stable }, checks };
}
