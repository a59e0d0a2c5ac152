// Reads what the scenarios assert on: the Rollout's status, the VirtualService weights it manages,
// its ReplicaSets and its AnalysisRuns with their measurements.
import { Kube, arr, at, rec, str, type Obj } from './kube.js';

export interface Measurement {
  readonly phase: string;
  readonly value: string;
  readonly message: string;
  readonly startedAt: string;
  readonly finishedAt: string;
}

/** An AnalysisRun's runSummary or dryRunSummary: its metrics counted by outcome. */
export interface RunSummary {
  readonly count: number;
  readonly successful: number;
  readonly failed: number;
  readonly inconclusive: number;
  readonly error: number;
}

export interface RunView {
  readonly name: string;
  readonly phase: string;
  readonly message: string;
  readonly type: string; // Step | Background
  readonly stepIndex: string;
  readonly created: string;
  /** The metrics that decide, by outcome. */
  readonly runSummary: RunSummary | undefined;
  /** The metrics listed in the run's dryRun, by outcome (recorded, deciding nothing). */
  readonly dryRunSummary: RunSummary | undefined;
  readonly metrics: {
    readonly name: string;
    readonly phase: string;
    readonly message: string;
    readonly dryRun: boolean;
    /** Measurements taken and not Errors (Argo's count); `errors` the Errors. */
    readonly count: number;
    readonly errors: number;
    readonly measurements: readonly Measurement[];
  }[];
}

function summaryOf(s: unknown): RunSummary | undefined {
  if (s === undefined || s === null) return undefined;
  const n = (k: string): number => Number(at(s, k) ?? 0);
  return {
    count: n('count'),
    successful: n('successful'),
    failed: n('failed'),
    inconclusive: n('inconclusive'),
    error: n('error'),
  };
}

export interface RolloutView {
  readonly exists: boolean;
  readonly phase: string;
  readonly message: string;
  readonly aborted: boolean;
  readonly stepIndex: number | undefined;
  readonly steps: number;
  readonly currentHash: string;
  readonly stableHash: string;
  readonly pauseReasons: readonly string[];
  readonly canaryWeight: number | undefined;
  readonly stableWeight: number | undefined;
  readonly replicaSets: readonly {
    readonly hash: string;
    readonly image: string;
    readonly replicas: number;
    readonly ready: number;
  }[];
  readonly raw: Obj | undefined;
}

export class Observer {
  constructor(
    private readonly kube: Kube,
    readonly namespace: string,
    readonly rollout: string,
  ) {}

  async rolloutView(): Promise<RolloutView> {
    const ns = this.namespace;
    const ro = await this.kube.getOrUndefined(
      `/apis/argoproj.io/v1alpha1/namespaces/${ns}/rollouts/${this.rollout}`,
    );
    const canarySpec = rec(at(ro, 'spec', 'strategy', 'canary'));
    const canarySvc = str(canarySpec['canaryService']) ?? '';
    const stableSvc = str(canarySpec['stableService']) ?? '';
    const vsName = str(at(canarySpec, 'trafficRouting', 'istio', 'virtualService', 'name')) ?? this.rollout;
    let canaryWeight: number | undefined;
    let stableWeight: number | undefined;
    const vs = await this.kube.getOrUndefined(
      `/apis/networking.istio.io/v1/namespaces/${ns}/virtualservices/${vsName}`,
    );
    for (const route of arr(at(vs, 'spec', 'http'))) {
      for (const leg of arr(at(route, 'route'))) {
        const host = (str(at(leg, 'destination', 'host')) ?? '').split('.')[0];
        const w = at(leg, 'weight');
        const weight = typeof w === 'number' ? w : 0;
        if (host === canarySvc) canaryWeight = weight;
        if (host === stableSvc) stableWeight = weight;
      }
    }
    const rss = await this.kube.list(`/apis/apps/v1/namespaces/${ns}/replicasets`);
    const replicaSets = rss
      .filter((rs) =>
        arr(at(rs, 'metadata', 'ownerReferences')).some(
          (o) => at(o, 'kind') === 'Rollout' && at(o, 'name') === this.rollout,
        ),
      )
      .map((rs) => ({
        hash: str(at(rs, 'metadata', 'labels', 'rollouts-pod-template-hash')) ?? '',
        image: str(at(rs, 'spec', 'template', 'spec', 'containers', 0, 'image')) ?? '',
        replicas: Number(at(rs, 'spec', 'replicas') ?? 0),
        ready: Number(at(rs, 'status', 'readyReplicas') ?? 0),
      }));
    const stepIndex = at(ro, 'status', 'currentStepIndex');
    return {
      exists: ro !== undefined,
      phase: str(at(ro, 'status', 'phase')) ?? '',
      message: str(at(ro, 'status', 'message')) ?? '',
      aborted: at(ro, 'status', 'abort') === true,
      stepIndex: typeof stepIndex === 'number' ? stepIndex : undefined,
      steps: arr(canarySpec['steps']).length,
      currentHash: str(at(ro, 'status', 'currentPodHash')) ?? '',
      stableHash: str(at(ro, 'status', 'stableRS')) ?? '',
      pauseReasons: arr(at(ro, 'status', 'pauseConditions')).map((p) => str(at(p, 'reason')) ?? ''),
      canaryWeight,
      stableWeight,
      replicaSets,
      raw: ro,
    };
  }

  async runs(): Promise<RunView[]> {
    const items = await this.kube.list(
      `/apis/argoproj.io/v1alpha1/namespaces/${this.namespace}/analysisruns`,
    );
    return items
      .map((r) => ({
        name: str(at(r, 'metadata', 'name')) ?? '',
        phase: str(at(r, 'status', 'phase')) ?? '',
        message: str(at(r, 'status', 'message')) ?? '',
        type: str(at(r, 'metadata', 'labels', 'rollout-type')) ?? '',
        stepIndex: str(at(r, 'metadata', 'labels', 'step-index')) ?? '',
        created: str(at(r, 'metadata', 'creationTimestamp')) ?? '',
        runSummary: summaryOf(at(r, 'status', 'runSummary')),
        dryRunSummary: summaryOf(at(r, 'status', 'dryRunSummary')),
        metrics: arr(at(r, 'status', 'metricResults')).map((m) => ({
          name: str(at(m, 'name')) ?? '',
          phase: str(at(m, 'phase')) ?? '',
          message: str(at(m, 'message')) ?? '',
          dryRun: at(m, 'dryRun') === true,
          count: Number(at(m, 'count') ?? 0),
          errors: Number(at(m, 'error') ?? 0),
          measurements: arr(at(m, 'measurements')).map((x) => ({
            phase: str(at(x, 'phase')) ?? '',
            value: str(at(x, 'value')) ?? '',
            message: str(at(x, 'message')) ?? '',
            startedAt: str(at(x, 'startedAt')) ?? '',
            finishedAt: str(at(x, 'finishedAt')) ?? '',
          })),
        })),
      }))
      .sort((a, b) => a.created.localeCompare(b.created) || a.name.localeCompare(b.name));
  }
}

export function describeRuns(runs: readonly RunView[]): string {
  const lines: string[] = [];
  for (const r of runs) {
    lines.push(
      `  AnalysisRun ${r.name} [${r.type || '?'}${r.stepIndex ? ` step ${r.stepIndex}` : ''}] ${r.phase}${r.message ? `: ${r.message}` : ''}` +
        (r.dryRunSummary !== undefined && r.dryRunSummary.count > 0
          ? ` (dry run: ${r.dryRunSummary.count} metric(s), ${r.dryRunSummary.failed} Failed)`
          : ''),
    );
    for (const m of r.metrics) {
      lines.push(
        `    metric ${m.name}${m.dryRun ? ' (dry run)' : ''}: ${m.phase}${m.message ? ` (${m.message})` : ''}`,
      );
      for (const x of m.measurements) {
        lines.push(
          `      ${x.startedAt.slice(11, 19)} ${x.phase.padEnd(12)} ${x.value}${x.message ? ` — ${x.message}` : ''}`,
        );
      }
    }
  }
  return lines.join('\n');
}

export function describeRollout(v: RolloutView): string {
  return (
    `phase=${v.phase || '-'} step=${v.stepIndex ?? '-'}/${v.steps} weight canary=${v.canaryWeight ?? '-'} stable=${v.stableWeight ?? '-'}` +
    `${v.aborted ? ' ABORTED' : ''}${v.pauseReasons.length ? ` paused(${v.pauseReasons.join(',')})` : ''}` +
    ` rs=[${v.replicaSets.map((r) => `${r.image.split(':').pop() ?? ''}/${r.hash}:${r.ready}/${r.replicas}`).join(' ')}]` +
    `${v.message ? ` msg="${v.message}"` : ''}`
  );
}
