/**
 * What a person at a pause needs from the cluster, derived from the objects Argo Rollouts
 * writes (pure: the objects come from src/report/cluster.ts): the canary and stable hashes, the
 * step plan and where the Rollout stands in it, when each weight began, the AnalysisRuns of this
 * canary, and the judge request the latest one sent — which the report sends again over the
 * canary's whole life with `timeline: true`: up to now while the canary is live, and once the
 * Rollout is done with it (every step passed, or aborted) up to that metric's last measurement,
 * the evidence the outcome was decided on.
 *
 * Argo labels each AnalysisRun with `rollouts-pod-template-hash` (the canary's hash),
 * `rollout-type` (Step, Background) and, for a step's analysis, `step-index`. When a weight began
 * is not kept by Argo: it is read from the creation time of the AnalysisRun of the analysis step
 * that follows each `setWeight` (steps run back to back), and from the canary ReplicaSet's
 * creation for the first weight — approximate to the controller's reconcile, seconds.
 */

import { PLUGIN_NAME, pluginRequestBody } from '../judge/plugin-config.js';

/** The few fields of the Kubernetes objects the report reads; everything else is ignored. */
export interface RolloutObject {
  readonly metadata: { readonly name: string; readonly namespace: string };
  readonly spec?: {
    readonly strategy?: { readonly canary?: { readonly steps?: readonly Record<string, unknown>[] } };
  };
  readonly status?: {
    readonly phase?: string;
    readonly message?: string;
    readonly currentPodHash?: string;
    readonly stableRS?: string;
    readonly currentStepIndex?: number;
    readonly abort?: boolean;
    readonly pauseConditions?: readonly { readonly reason?: string; readonly startTime?: string }[];
    readonly canary?: { readonly weights?: { readonly canary?: { readonly weight?: number } } };
  };
}

export interface ReplicaSetObject {
  readonly metadata: {
    readonly name: string;
    readonly creationTimestamp?: string | Date;
    readonly labels?: Readonly<Record<string, string>>;
  };
}

export interface AnalysisRunObject {
  readonly metadata: {
    readonly name: string;
    /** Read by plugin metrics (the plugin takes the Rollout's namespace and name from the run). */
    readonly namespace?: string;
    readonly creationTimestamp?: string | Date;
    readonly labels?: Readonly<Record<string, string>>;
    readonly ownerReferences?: readonly {
      readonly kind?: string;
      readonly name?: string;
      readonly controller?: boolean;
    }[];
  };
  readonly spec?: {
    /** The run's arguments; those Argo resolved (hashes, plain values) carry `value`. */
    readonly args?: readonly { readonly name: string; readonly value?: string }[];
    readonly metrics?: readonly {
      readonly name: string;
      readonly provider?: {
        readonly web?: { readonly url?: string; readonly jsonBody?: unknown };
        /** Metric-provider plugins by registered name, each with its configuration. */
        readonly plugin?: Readonly<Record<string, unknown>>;
      };
    }[];
  };
  readonly status?: {
    readonly phase?: string;
    readonly message?: string;
    readonly metricResults?: readonly {
      readonly name: string;
      readonly phase?: string;
      readonly measurements?: readonly {
        readonly phase?: string;
        readonly value?: string;
        readonly finishedAt?: string | Date;
      }[];
    }[];
  };
}

export const POD_TEMPLATE_HASH = 'rollouts-pod-template-hash';
export const STEP_INDEX = 'step-index';
export const ROLLOUT_TYPE = 'rollout-type';

export interface PlanStep {
  readonly index: number;
  /** e.g. "setWeight 5", "analysis canary-judge-scorecard", "pause 10m", "pause (until promoted)". */
  readonly text: string;
  readonly weight?: number;
}

export interface WeightSpan {
  readonly weight: number;
  /** RFC 3339; approximate (see the module comment). */
  readonly from: string;
}

export interface RunSummary {
  readonly name: string;
  readonly type: string;
  readonly stepIndex: number | null;
  readonly phase: string;
  readonly created: string | null;
  /** The last measurement of each metric: its phase and value (the judge's summary line). */
  readonly last: readonly { readonly metric: string; readonly phase: string; readonly value: string }[];
}

export interface Snapshot {
  readonly rollout: { readonly name: string; readonly namespace: string };
  readonly phase: string;
  readonly message: string;
  readonly paused: boolean;
  readonly canaryHash: string | null;
  readonly stableHash: string | null;
  /** The canary's ReplicaSet creation (RFC 3339): the start of the canary's life. */
  readonly canarySince: string | null;
  readonly steps: readonly PlanStep[];
  readonly currentStep: number | null;
  readonly currentWeight: number | null;
  readonly weights: readonly WeightSpan[];
  readonly runs: readonly RunSummary[];
  /**
   * `promoted` once the Rollout has passed every step and made the canary its stable,
   * `aborted` once it was aborted; null while the canary is live (progressing or paused).
   */
  readonly outcome: 'promoted' | 'aborted' | null;
  /**
   * Where the report's window ends (RFC 3339): with an outcome, the finishing time of the last
   * measurement of the metric whose request is sent again — the evidence the outcome was decided
   * on, not traffic that came after it (after a promotion the canary's hash is the stable's,
   * and the old stable has no traffic left to compare with). Null: now.
   */
  readonly evidenceEnd: string | null;
  /** The judge request of the canary's latest judge metric, and how it reaches the judge. */
  readonly judgeRequest: JudgeRequest | null;
  /**
   * Why a plugin metric of the canary's runs gave no request (the plugin would refuse its
   * configuration too), when no metric gave one; null otherwise.
   */
  readonly judgeRequestProblem: string | null;
}

/**
 * A judge request found in an AnalysisRun: a web metric's body and URL, or what the metric
 * plugin sends over gRPC — to `address` when the template names one, else to the
 * registration's `--address`, which the AnalysisRun does not show.
 */
export type JudgeRequest = (
  { readonly via: 'web'; readonly url: string } | { readonly via: 'plugin'; readonly address: string | null }
) & {
  /**
   * The AnalysisRun and metric it comes from, that metric's last measurement phase and when it
   * finished (RFC 3339; null before the first measurement finished).
   */
  readonly run: string;
  readonly metric: string;
  readonly lastPhase: string;
  readonly lastFinishedAt: string | null;
  readonly body: Record<string, unknown>;
};

const iso = (t: string | Date | undefined): string | null =>
  t === undefined ? null : new Date(t).toISOString();

function stepText(s: Record<string, unknown>): { text: string; weight?: number } {
  if (typeof s['setWeight'] === 'number')
    return { text: `setWeight ${s['setWeight']}`, weight: s['setWeight'] };
  const analysis = s['analysis'] as { templates?: { templateName?: string }[] } | undefined;
  if (analysis !== undefined)
    return {
      text: `analysis ${(analysis.templates ?? []).map((t) => t.templateName ?? '?').join(', ')}`,
    };
  const pause = s['pause'] as { duration?: unknown } | undefined;
  if (pause !== undefined)
    return {
      text:
        pause.duration === undefined
          ? 'pause (until promoted)'
          : `pause ${typeof pause.duration === 'number' ? `${pause.duration}s` : JSON.stringify(pause.duration).replaceAll('"', '')}`,
    };
  return { text: Object.keys(s)[0] ?? 'step' };
}

/** The plan, the hashes and the runs of the canary, from the objects as the API returns them. */
export function snapshotOf(
  rollout: RolloutObject,
  replicaSets: readonly ReplicaSetObject[],
  analysisRuns: readonly AnalysisRunObject[],
): Snapshot {
  const st = rollout.status ?? {};
  const canaryHash = st.currentPodHash ?? null;
  const stableHash = st.stableRS ?? null;
  const steps = (rollout.spec?.strategy?.canary?.steps ?? []).map((s, index) => ({ index, ...stepText(s) }));
  const canaryRs = replicaSets.find((r) => r.metadata.labels?.[POD_TEMPLATE_HASH] === canaryHash);
  const canarySince = iso(canaryRs?.metadata.creationTimestamp);
  const mine = analysisRuns
    .filter((a) => canaryHash !== null && a.metadata.labels?.[POD_TEMPLATE_HASH] === canaryHash)
    .sort((a, b) =>
      (iso(a.metadata.creationTimestamp) ?? '').localeCompare(iso(b.metadata.creationTimestamp) ?? ''),
    );
  const aborted = st.abort === true;
  const promoted =
    !aborted &&
    canaryHash !== null &&
    canaryHash === stableHash &&
    st.currentStepIndex !== undefined &&
    st.currentStepIndex >= steps.length;
  const outcome = aborted ? 'aborted' : promoted ? 'promoted' : null;
  const runs = mine.map((a): RunSummary => {
    const idx = a.metadata.labels?.[STEP_INDEX];
    return {
      name: a.metadata.name,
      type: a.metadata.labels?.[ROLLOUT_TYPE] ?? 'unknown',
      stepIndex: idx === undefined ? null : Number(idx),
      phase: a.status?.phase ?? 'Pending',
      created: iso(a.metadata.creationTimestamp),
      last: (a.status?.metricResults ?? []).map((m) => {
        const last = m.measurements?.at(-1);
        return { metric: m.name, phase: last?.phase ?? m.phase ?? 'Pending', value: last?.value ?? '' };
      }),
    };
  });
  return {
    rollout: { name: rollout.metadata.name, namespace: rollout.metadata.namespace },
    phase: st.phase ?? 'Unknown',
    message: st.message ?? '',
    paused: (st.pauseConditions ?? []).length > 0,
    canaryHash,
    stableHash,
    canarySince,
    steps,
    currentStep: st.currentStepIndex ?? null,
    currentWeight: st.canary?.weights?.canary?.weight ?? null,
    weights: weightSpans(steps, runs, canarySince),
    runs,
    outcome,
    ...latestJudgeRequest(mine, outcome !== null),
  };
}

/** When each weight began: the canary's creation for the first, then each step analysis run. */
function weightSpans(
  steps: readonly PlanStep[],
  runs: readonly RunSummary[],
  since: string | null,
): WeightSpan[] {
  const out: WeightSpan[] = [];
  let weight: number | undefined;
  for (const s of steps) {
    if (s.weight !== undefined) {
      weight = s.weight;
      continue;
    }
    if (weight === undefined) continue;
    const run = runs.find((r) => r.type === 'Step' && r.stepIndex === s.index);
    const from = run?.created ?? (out.length === 0 ? since : null);
    if (from !== null && out.at(-1)?.weight !== weight) out.push({ weight, from });
  }
  return out;
}

function isJudgeBody(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && Array.isArray((v as { checks?: unknown }).checks);
}

const ARG = /\{\{\s*args\.([A-Za-z0-9_.-]+)\s*\}\}/g;

/** `{{args.x}}` replaced by the run's value of x, as Argo does before each measurement. */
function substitute(v: unknown, args: ReadonlyMap<string, string>): unknown {
  if (typeof v === 'string') return v.replace(ARG, (whole, name: string) => args.get(name) ?? whole);
  if (Array.isArray(v)) return v.map((x) => substitute(x, args));
  if (v !== null && typeof v === 'object')
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, substitute(x, args)]));
  return v;
}

/** The plugin's own key `address` (the judge it calls), or null: the registration's `--address`. */
function addressOf(config: unknown): string | null {
  const a =
    config !== null && typeof config === 'object' ? (config as { address?: unknown }).address : undefined;
  return typeof a === 'string' && a.trim() !== '' ? a : null;
}

/**
 * The plugin entry of a metric as the plugin picks it (provider.go configOf): the one under its
 * registered name, or the metric's only plugin entry, whatever its name (a second registration
 * of the same binary under another name).
 */
function pluginConfigOf(plugins: Readonly<Record<string, unknown>> | undefined): unknown {
  if (plugins === undefined) return undefined;
  if (PLUGIN_NAME in plugins) return plugins[PLUGIN_NAME];
  const entries = Object.values(plugins);
  return entries.length === 1 ? entries[0] : undefined;
}

/**
 * The judge request the report sends again: that of the newest run's metric whose last
 * measurement Failed, so that a release rolled back by one check (a business count in a
 * background analysis, say) is explained by that check; when none Failed, the newest run's first
 * metric that asks the judge. The run's arguments are substituted (an AnalysisRun keeps the
 * template's `{{args.*}}` in its metrics): a web metric with a judge body (one with `checks`), or
 * a plugin metric, made a request body by the judge's own rules for the plugin's configuration
 * (src/judge/plugin-config.ts); the judge validates it when the report sends it, as it does what
 * the plugin forwards.
 */
function latestJudgeRequest(
  runs: readonly AnalysisRunObject[],
  done: boolean,
): Pick<Snapshot, 'judgeRequest' | 'judgeRequestProblem' | 'evidenceEnd'> {
  const found = judgeRequests(runs);
  const request = found.requests.find((r) => r.lastPhase === 'Failed') ?? found.requests[0] ?? null;
  return {
    judgeRequest: request,
    judgeRequestProblem: request === null ? found.problem : null,
    evidenceEnd: done ? (request?.lastFinishedAt ?? null) : null,
  };
}

/** The last measurement of a run's metric: its phase ('Pending' before the first) and end. */
function lastMeasurementOf(
  a: AnalysisRunObject,
  metric: string,
): { lastPhase: string; lastFinishedAt: string | null } {
  const m = (a.status?.metricResults ?? []).find((r) => r.name === metric);
  const last = m?.measurements?.at(-1);
  return { lastPhase: last?.phase ?? m?.phase ?? 'Pending', lastFinishedAt: iso(last?.finishedAt) };
}

/**
 * Every judge request of the runs, newest run first and in each run its metrics' order, and the
 * first reason a plugin metric gave none.
 */
function judgeRequests(runs: readonly AnalysisRunObject[]): {
  requests: JudgeRequest[];
  problem: string | null;
} {
  let problem: string | null = null;
  const requests: JudgeRequest[] = [];
  for (const a of [...runs].reverse()) {
    const args = new Map<string, string>();
    for (const arg of a.spec?.args ?? []) if (arg.value !== undefined) args.set(arg.name, arg.value);
    for (const m of a.spec?.metrics ?? []) {
      const from = { run: a.metadata.name, metric: m.name, ...lastMeasurementOf(a, m.name) };
      const config = pluginConfigOf(m.provider?.plugin);
      if (config !== undefined) {
        const given = substitute(config, args);
        // The Rollout controlling the run (the last such owner, as the plugin's loop leaves it).
        let owner = '';
        for (const o of a.metadata.ownerReferences ?? [])
          if (o.kind === 'Rollout' && o.controller === true) owner = o.name ?? '';
        const req = pluginRequestBody(given, {
          name: a.metadata.name,
          namespace: a.metadata.namespace ?? '',
          rollout: owner,
          labels: a.metadata.labels ?? {},
        });
        if (req.ok) requests.push({ via: 'plugin', address: addressOf(given), ...from, body: req.body });
        else
          problem ??= `AnalysisRun ${a.metadata.name}, metric ${m.name}: ${req.errors.map((e) => e.message).join('; ')}`;
        continue;
      }
      const web = substitute(m.provider?.web ?? {}, args) as { url?: string; jsonBody?: unknown };
      let body: unknown = web.jsonBody;
      if (typeof body === 'string') {
        try {
          body = JSON.parse(body);
        } catch {
          continue;
        }
      }
      if (web.url !== undefined && isJudgeBody(body))
        requests.push({ via: 'web', url: web.url, ...from, body });
    }
  }
  return { requests, problem };
}
