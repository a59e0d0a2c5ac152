/**
 * Reads what the report needs through the Kubernetes API (@kubernetes/client-node): the
 * Rollout, its ReplicaSets and the AnalysisRuns in its namespace. Credentials come from a
 * kubeconfig (`--kubeconfig`, `$KUBECONFIG`, ~/.kube/config) or, inside a pod, the service
 * account. Read-only: get and list.
 */
import { AppsV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { ReportError } from './judge-client.js';
import type { AnalysisRunObject, ReplicaSetObject, RolloutObject } from './snapshot.js';

const GROUP = 'argoproj.io';
const VERSION = 'v1alpha1';

export interface ClusterObjects {
  readonly rollout: RolloutObject;
  readonly replicaSets: readonly ReplicaSetObject[];
  readonly analysisRuns: readonly AnalysisRunObject[];
}

function describe(e: unknown): string {
  const code = (e as { code?: unknown }).code;
  const body = (e as { body?: unknown }).body;
  const text = typeof body === 'string' ? body : body === undefined ? '' : JSON.stringify(body);
  const message = /"message":"([^"]*)"/.exec(text)?.[1];
  return `${typeof code === 'number' ? `HTTP ${code}: ` : ''}${message ?? (e instanceof Error ? e.message : String(e))}`;
}

export async function readCluster(
  name: string,
  namespace: string,
  kubeconfig?: string,
): Promise<ClusterObjects> {
  const kc = new KubeConfig();
  if (kubeconfig === undefined) kc.loadFromDefault();
  else kc.loadFromFile(kubeconfig);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const apps = kc.makeApiClient(AppsV1Api);
  let rollout: RolloutObject;
  try {
    rollout = (await custom.getNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace,
      plural: 'rollouts',
      name,
    })) as RolloutObject;
  } catch (e) {
    throw new ReportError(`cannot read Rollout ${namespace}/${name}: ${describe(e)}`);
  }
  try {
    const rs = await apps.listNamespacedReplicaSet({ namespace });
    const runs: unknown = await custom.listNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace,
      plural: 'analysisruns',
    });
    const owned = (o: { metadata?: { ownerReferences?: { kind?: string; name?: string }[] } }): boolean =>
      (o.metadata?.ownerReferences ?? []).some((r) => r.kind === 'Rollout' && r.name === name);
    return {
      rollout,
      replicaSets: rs.items.filter(owned) as unknown as ReplicaSetObject[],
      analysisRuns: ((runs as { items?: AnalysisRunObject[] }).items ?? []).filter((a) =>
        owned(a as unknown as { metadata?: { ownerReferences?: { kind?: string; name?: string }[] } }),
      ),
    };
  } catch (e) {
    throw new ReportError(
      `cannot list the ReplicaSets and AnalysisRuns of ${namespace}/${name}: ${describe(e)}`,
    );
  }
}
