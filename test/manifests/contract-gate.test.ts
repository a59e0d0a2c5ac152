/**
 * The contract gate as shipped: the request the catalogo Rollout's gate makes the judge receive
 * (args merged, the token from the Secret, substituted as Argo does) passes the judge's own
 * request parsing, its targets pass the allow-list the judge's Deployment sets, the contract it
 * names is a key of the contracts ConfigMap the judge mounts, and that contract parses into
 * requests. The template's counting fields make one measurement decide.
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseContractCheckRequest } from '../../src/contract/check.js';
import { parseContract } from '../../src/contract/contract.js';
import { admitTarget, parseTargetPatterns } from '../../src/contract/targets.js';
import {
  allAnalysesOf,
  CONTRACT_TEMPLATE,
  intValue,
  mergeArgs,
  resolveArgs,
  substitute,
  type AnalysisTemplate,
  type Rollout,
} from './lib/argo.js';
import { findObject, REPO, renderKustomization, type K8sObject } from './lib/files.js';

interface ConfigMap extends K8sObject {
  data: Record<string, string>;
}
interface Deployment extends K8sObject {
  spec: {
    template: {
      spec: {
        containers: {
          env?: { name: string; value?: string }[];
          volumeMounts?: { name: string; mountPath: string }[];
        }[];
        volumes?: { name: string; configMap?: { name: string } }[];
      };
    };
  };
}

let rollout: Rollout;
let gate: AnalysisTemplate;
let judge: K8sObject[];
let secrets: K8sObject[];

beforeAll(() => {
  rollout = renderKustomization('rollouts/catalogo').objects.find((o) => o.kind === 'Rollout') as Rollout;
  const templates = renderKustomization('analysis-templates').objects as AnalysisTemplate[];
  gate = findObject<AnalysisTemplate>(
    templates,
    'ClusterAnalysisTemplate',
    CONTRACT_TEMPLATE,
  ) as AnalysisTemplate;
  judge = renderKustomization('deploy/canary-judge').objects;
  secrets = [
    parse(readFileSync(join(REPO, 'rollouts/catalogo/judge-token-secret.example.yaml'), 'utf8')) as K8sObject,
  ];
});

function sent() {
  const step = allAnalysesOf(rollout).find(
    (a) => a.analysis.templates[0]?.templateName === CONTRACT_TEMPLATE,
  );
  if (step === undefined) throw new Error('the Rollout has no contract gate');
  const args = resolveArgs(mergeArgs(gate.spec.args ?? [], step.analysis.args ?? []), { rollout, secrets });
  return substitute(gate.spec.metrics[0] as AnalysisTemplate['spec']['metrics'][number], args);
}

describe('the shipped contract gate', () => {
  it('sends a request the judge parses, aimed at targets its Deployment allows', () => {
    const m = sent();
    const req = parseContractCheckRequest(m.provider.web?.jsonBody);
    const deployment = judge.find((o) => o.kind === 'Deployment') as Deployment;
    const env = new Map(
      (deployment.spec.template.spec.containers[0]?.env ?? []).map((e) => [e.name, e.value ?? '']),
    );
    const { patterns, problems } = parseTargetPatterns(env.get('CANARY_JUDGE_CONTRACT_TARGETS') ?? '');
    expect(problems).toEqual([]);
    expect(admitTarget(req.canary, 'canary', patterns).hostname).toBe(
      'catalogo-canary.catalogo.svc.cluster.local',
    );
    expect(admitTarget(req.stable, 'stable', patterns).hostname).toBe(
      'catalogo-stable.catalogo.svc.cluster.local',
    );
    expect(m.provider.web?.headers?.[0]?.value).toMatch(/^Bearer \S+$/);
  });

  it('names a contract the judge has mounted, and that contract parses into requests', () => {
    const req = parseContractCheckRequest(sent().provider.web?.jsonBody);
    const deployment = judge.find((o) => o.kind === 'Deployment') as Deployment;
    const pod = deployment.spec.template.spec;
    const dir = pod.containers[0]?.env?.find((e) => e.name === 'CANARY_JUDGE_CONTRACTS_DIR')?.value;
    const mount = pod.containers[0]?.volumeMounts?.find((v) => v.mountPath === dir);
    const cmName = pod.volumes?.find((v) => v.name === mount?.name)?.configMap?.name;
    const cm = judge.find((o) => o.kind === 'ConfigMap' && o.metadata.name === cmName) as
      ConfigMap | undefined;
    expect(cm, `ConfigMap ${String(cmName)} mounted at ${String(dir)}`).toBeDefined();
    const text = cm?.data[`${req.contract}.yaml`] ?? '';
    expect(parseContract(req.contract, text).requests.length).toBeGreaterThan(0);
  });

  it('decides in one measurement: Pass → on, Fail → abort, errors retried about a minute', () => {
    const m = gate.spec.metrics[0];
    expect(intValue(m?.count)).toBe(1);
    expect(intValue(m?.failureLimit)).toBe(0);
    expect(intValue(m?.consecutiveErrorLimit) * 10).toBeGreaterThanOrEqual(30);
    expect(m?.successCondition).toBe('result startsWith "Pass "');
    expect(m?.failureCondition).toBe('result startsWith "Fail "');
    expect(m?.provider.web?.jsonPath).toBe('{$.summary}');
  });

  it("runs in dry run in the shadow overlay, like the judge's other verdicts there", () => {
    const shadow = renderKustomization('rollouts/catalogo-shadow').objects.find(
      (o) => o.kind === 'Rollout',
    ) as Rollout;
    const gates = allAnalysesOf(shadow).filter(
      (a) => a.analysis.templates[0]?.templateName === CONTRACT_TEMPLATE,
    );
    expect(gates).toHaveLength(1);
    const dryRun = (gates[0]?.analysis as { dryRun?: { metricName: string }[] }).dryRun ?? [];
    expect(dryRun.some((r) => new RegExp(r.metricName).test(gate.spec.metrics[0]?.name ?? ''))).toBe(true);
  });
});
