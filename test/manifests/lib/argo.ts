/**
 * What Argo Rollouts does with analysis args (v1.9 and v1.10 alike; the Go contract tests run
 * the real code of both), re-enacted offline so the tests can see the exact request each
 * template sends:
 * - the AnalysisRun's args are the template's, with the values the Rollout passes laid over
 *   them by name (args the template does not declare are dropped without a word; a template
 *   arg left without value or valueFrom fails the run);
 * - `valueFrom` is resolved: podTemplateHashValue (Latest = canary, Stable), fieldRef on the
 *   Rollout, secretKeyRef on a Secret of the Rollout's namespace;
 * - every `{{args.name}}` in the metric is replaced in the metric's JSON text by the value,
 *   JSON-escaped without quotes (utils/template ResolveQuotedArgs), then the JSON is decoded
 *   again; a placeholder with no arg is an error.
 * The contract tests run Argo's own Go code for the same; this is the quick offline check.
 */

import type { K8sObject } from './files.js';

export interface Arg {
  name: string;
  value?: string;
  valueFrom?: {
    podTemplateHashValue?: 'Latest' | 'Stable';
    fieldRef?: { fieldPath: string };
    secretKeyRef?: { name: string; key: string };
  };
}

export interface Metric {
  name: string;
  interval?: string;
  count?: number | string;
  failureLimit?: number | string;
  inconclusiveLimit?: number | string;
  consecutiveErrorLimit?: number | string;
  consecutiveSuccessLimit?: number | string;
  successCondition?: string;
  failureCondition?: string;
  provider: {
    web?: {
      url: string;
      method?: string;
      headers?: { key: string; value: string }[];
      jsonPath?: string;
      jsonBody?: unknown;
      body?: string;
      timeoutSeconds?: number;
    };
    prometheus?: { address?: string; query: string };
    [k: string]: unknown;
  };
}

export interface AnalysisTemplate extends K8sObject {
  spec: { args?: Arg[]; metrics: Metric[] };
}

export interface TemplateRef {
  templateName: string;
  clusterScope?: boolean;
}

export interface RolloutAnalysis {
  templates: TemplateRef[];
  args?: Arg[];
  startingStep?: number;
}

export interface RolloutStep {
  setWeight?: number;
  setCanaryScale?: { replicas?: number; weight?: number; matchTrafficWeight?: boolean };
  pause?: { duration?: string | number };
  analysis?: RolloutAnalysis;
  [k: string]: unknown;
}

export interface Rollout extends K8sObject {
  spec: {
    replicas?: number;
    selector: { matchLabels: Record<string, string> };
    template: {
      metadata: { labels: Record<string, string> };
      spec: {
        containers: { name: string; image: string; ports?: { name?: string; containerPort: number }[] }[];
      };
    };
    strategy: {
      canary: {
        canaryService: string;
        stableService: string;
        scaleDownDelaySeconds?: number;
        abortScaleDownDelaySeconds?: number;
        trafficRouting: {
          istio: {
            virtualService?: { name: string; routes?: string[] };
            destinationRule?: { name: string; canarySubsetName: string; stableSubsetName: string };
          };
        };
        analysis?: RolloutAnalysis;
        steps: RolloutStep[];
      };
    };
  };
}

/** Fake but well-formed pod-template hashes, as Kubernetes makes them. */
export const SAMPLE_HASHES = { Latest: '7d9c5b8f4', Stable: '5f6d8c7b9' } as const;

export interface ResolveContext {
  readonly rollout: K8sObject;
  /** Secrets of the Rollout's namespace, for secretKeyRef. */
  readonly secrets: readonly K8sObject[];
}

function fieldRef(obj: K8sObject, path: string): string {
  const m =
    /^metadata\.(name|namespace|uid)$/.exec(path) ??
    /^metadata\.(labels|annotations)\['([^']+)'\]$/.exec(path);
  if (m === null)
    throw new Error(
      `fieldRef ${path}: this offline check knows only metadata.name/namespace/labels/annotations`,
    );
  if (m[2] !== undefined) {
    const map = obj.metadata[m[1] as 'labels' | 'annotations'] as Record<string, string> | undefined;
    const v = map?.[m[2]];
    if (v === undefined) throw new Error(`fieldRef ${path}: not set on ${obj.kind} ${obj.metadata.name}`);
    return v;
  }
  const v = obj.metadata[m[1] as 'name' | 'namespace'];
  if (typeof v !== 'string') throw new Error(`fieldRef ${path}: not set on ${obj.kind} ${obj.metadata.name}`);
  return v;
}

function secretValue(
  secrets: readonly K8sObject[],
  ns: string | undefined,
  name: string,
  key: string,
): string {
  const s = secrets.find(
    (o) => o.kind === 'Secret' && o.metadata.name === name && o.metadata.namespace === ns,
  );
  if (s === undefined) throw new Error(`secretKeyRef: no Secret ${ns}/${name}`);
  const stringData = s['stringData'] as Record<string, string> | undefined;
  const data = s['data'] as Record<string, string> | undefined;
  const v =
    stringData?.[key] ??
    (data?.[key] !== undefined ? Buffer.from(data[key], 'base64').toString('utf8') : undefined);
  if (v === undefined) throw new Error(`secretKeyRef: Secret ${ns}/${name} has no key ${key}`);
  return v;
}

/** Merges the Rollout's args over the template's (by name, dropping undeclared ones). */
export function mergeArgs(templateArgs: readonly Arg[], incoming: readonly Arg[]): Arg[] {
  const merged = templateArgs.map((a) => ({ ...a }));
  for (const a of incoming) {
    const t = merged.find((m) => m.name === a.name);
    if (t === undefined) continue; // Argo drops it silently; cross-reference tests catch it
    if (a.value !== undefined) {
      t.value = a.value;
      delete t.valueFrom;
    } else if (a.valueFrom !== undefined) {
      t.valueFrom = a.valueFrom;
      delete t.value;
    }
  }
  for (const a of merged) {
    if (a.value === undefined && a.valueFrom === undefined)
      throw new Error(`args.${a.name} was not resolved`);
  }
  return merged;
}

export function resolveArgs(args: readonly Arg[], ctx: ResolveContext): Map<string, string> {
  const out = new Map<string, string>();
  for (const a of args) {
    let v: string;
    if (a.value !== undefined) v = a.value;
    else if (a.valueFrom?.podTemplateHashValue !== undefined)
      v = SAMPLE_HASHES[a.valueFrom.podTemplateHashValue];
    else if (a.valueFrom?.fieldRef !== undefined) v = fieldRef(ctx.rollout, a.valueFrom.fieldRef.fieldPath);
    else if (a.valueFrom?.secretKeyRef !== undefined) {
      v = secretValue(
        ctx.secrets,
        ctx.rollout.metadata.namespace,
        a.valueFrom.secretKeyRef.name,
        a.valueFrom.secretKeyRef.key,
      );
    } else throw new Error(`args.${a.name}: no value and no supported valueFrom`);
    out.set(a.name, v);
  }
  return out;
}

/** Every `{{args.x}}` name a metric uses. */
export function placeholders(metric: unknown): Set<string> {
  const names = new Set<string>();
  for (const m of JSON.stringify(metric).matchAll(/\{\{\s*args\.([^}\s]+)\s*\}\}/g))
    names.add(m[1] as string);
  return names;
}

/** Argo's substitution: JSON text of the metric, args JSON-escaped in place, decoded again. */
export function substitute(metric: Metric, values: ReadonlyMap<string, string>): Metric {
  const text = JSON.stringify(metric).replace(/\{\{([^}]*)\}\}/g, (_, tag: string) => {
    const name = tag.trim();
    if (!name.startsWith('args.') || !values.has(name.slice(5)))
      throw new Error(`failed to resolve {{${tag}}}`);
    return JSON.stringify(values.get(name.slice(5))).slice(1, -1);
  });
  return JSON.parse(text) as Metric;
}

/** Argo's IntOrString.IntValue(): a number, or a string parsed as an integer (else 0). */
export function intValue(v: number | string | undefined): number {
  if (v === undefined) return 0;
  if (typeof v === 'number') return v;
  return /^-?\d+$/.test(v) ? Number(v) : 0;
}

/** Go's time.ParseDuration for the simple forms Argo accepts in interval ("1m", "30s", "1m30s"). */
export function durationSeconds(s: string): number {
  const re = /(\d+(?:\.\d+)?)(h|m|s|ms)/gy;
  let total = 0;
  let consumed = 0;
  for (const m of s.matchAll(re)) {
    const n = Number(m[1]);
    total += m[2] === 'h' ? n * 3600 : m[2] === 'm' ? n * 60 : m[2] === 's' ? n : n / 1000;
    consumed += m[0].length;
  }
  if (consumed !== s.length || s.length === 0) throw new Error(`invalid duration ${JSON.stringify(s)}`);
  return total;
}

/** The pre-traffic API contract gate's template: it asks the judge's contract endpoint, not for a statistical verdict. */
export const CONTRACT_TEMPLATE = 'canary-judge-contract';

/** True for an analysis that runs the contract gate (and nothing else). */
export function isContractAnalysis(a: RolloutAnalysis): boolean {
  return a.templates.every((t) => t.templateName === CONTRACT_TEMPLATE);
}

/** The statistical analyses a Rollout starts (the background one and each step's, the contract gate left out), with where they come from. */
export function analysesOf(r: Rollout): { where: string; analysis: RolloutAnalysis }[] {
  return allAnalysesOf(r).filter((a) => !isContractAnalysis(a.analysis));
}

/** Every analysis a Rollout starts, the contract gate's included. */
export function allAnalysesOf(r: Rollout): { where: string; analysis: RolloutAnalysis }[] {
  const c = r.spec.strategy.canary;
  const out: { where: string; analysis: RolloutAnalysis }[] = [];
  if (c.analysis !== undefined) out.push({ where: 'background analysis', analysis: c.analysis });
  c.steps.forEach((s, i) => {
    if (s.analysis !== undefined) out.push({ where: `steps[${i}].analysis`, analysis: s.analysis });
  });
  return out;
}
