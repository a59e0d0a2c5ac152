/**
 * The metric plugin's configuration (what a template writes under
 * `provider.plugin."canary-judge/canary-judge"`) → the judge's request, before validation. The
 * plugin forwards the configuration as Argo hands it (args substituted, as text) with the
 * AnalysisRun it runs in; this is the one place that says how the two make a request:
 *
 * - `address` and `timeout` are the plugin's own keys (which judge it calls, how long it waits):
 *   the plugin reads them, the request leaves them out.
 * - An empty string or null means "not set" (the judge's default), as an unset `{{args.x}}`
 *   often gives "": at the top level, in `rollout`, in `selector` and in each check.
 * - What the AnalysisRun says fills what the configuration leaves out: `rollout.name` is the
 *   Rollout controlling the run, `rollout.namespace` the run's namespace, `selector.mode`
 *   defaults to pod-hash, whose `selector.canary` is the run's rollouts-pod-template-hash label.
 *   The stable's hash is on neither, so pod-hash mode needs it from the template.
 *
 * Everything else — which fields exist, check kinds, types, ranges, and the coercion of numeric
 * and boolean strings — is the request model's (src/judge/request.ts) and the HTTP body's
 * (src/server/http/request-body.ts), applied after this by the gRPC method AnalyzePluginConfig
 * (src/server/grpc/plugin-config.ts); the report sends the result to the HTTP API, which applies
 * them too. So a new request field or check kind needs nothing here and nothing in the plugin.
 */

import type { FieldError } from './request.js';

/** The name the plugin is registered under in argo-rollouts-config. */
export const PLUGIN_NAME = 'canary-judge/canary-judge';

/** Keys of the configuration the plugin binary reads itself; never part of the request. */
export const PLUGIN_KEYS: readonly string[] = ['address', 'timeout'];

/** Where an AnalysisRun keeps the canary's pod-template hash (Argo's DefaultRolloutUniqueLabelKey). */
export const POD_TEMPLATE_HASH_LABEL = 'rollouts-pod-template-hash';

/** What the plugin forwards of the AnalysisRun (proto PluginRun). */
export interface PluginRun {
  readonly name: string;
  readonly namespace: string;
  /** The Rollout controlling the run; '' when none does. */
  readonly rollout: string;
  readonly labels: Readonly<Record<string, string>>;
}

export type PluginBody =
  | { readonly ok: true; readonly body: Record<string, unknown> }
  | { readonly ok: false; readonly errors: readonly FieldError[] };

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** The object without its unset entries (null, or a string of blanks). */
function withoutUnset(o: Json): Json {
  return Object.fromEntries(
    Object.entries(o).filter(([, v]) => v !== null && !(typeof v === 'string' && v.trim() === '')),
  );
}

/** A nested object with its unset entries dropped; anything else as it is, for the model to refuse. */
function nested(v: unknown): unknown {
  return isObject(v) ? withoutUnset(v) : v;
}

/**
 * The request in the judge's model (the HTTP API's body shape, values not yet coerced), or the
 * problems that stop it from being one. Field paths are the configuration's (`selector.stable`).
 */
export function pluginRequestBody(config: unknown, run: PluginRun): PluginBody {
  const where = `AnalysisRun ${run.namespace}/${run.name}`;
  if (config === undefined || config === null)
    return fail('config', `no plugin configuration in the metric (provider.plugin."${PLUGIN_NAME}": {...})`);
  if (!isObject(config)) return fail('config', 'the plugin configuration must be a JSON object');
  const body = withoutUnset(config);
  for (const k of PLUGIN_KEYS) delete body[k];

  const rollout = nested(body['rollout'] ?? {});
  if (isObject(rollout)) {
    if (rollout['name'] === undefined) {
      if (run.rollout === '')
        return fail(
          'rollout.name',
          `${where} is not owned by a Rollout: set rollout.name in the plugin configuration`,
        );
      rollout['name'] = run.rollout;
    }
    rollout['namespace'] ??= run.namespace;
  }
  body['rollout'] = rollout;

  const selector = nested(body['selector'] ?? {});
  if (isObject(selector)) {
    selector['mode'] ??= 'pod-hash';
    if (selector['mode'] === 'pod-hash') {
      const hash = run.labels[POD_TEMPLATE_HASH_LABEL] ?? '';
      if (selector['canary'] === undefined) {
        if (hash === '')
          return fail(
            'selector.canary',
            `${where} has no ${POD_TEMPLATE_HASH_LABEL} label: set selector.canary in the plugin configuration`,
          );
        selector['canary'] = hash;
      }
      if (selector['stable'] === undefined)
        return fail(
          'selector.stable',
          "selector.stable is empty: pass the stable's pod-template hash (valueFrom.podTemplateHashValue: Stable)",
        );
    }
  }
  body['selector'] = selector;

  if (Array.isArray(body['checks'])) body['checks'] = body['checks'].map(nested);
  return { ok: true, body };
}

function fail(field: string, message: string): PluginBody {
  return { ok: false, errors: [{ field, message }] };
}
