/**
 * Every shipped YAML file parses, and every object in it (and in every kustomize rendering)
 * validates against its schema, unknown fields included: Argo Rollouts, Istio,
 * prometheus-operator and Argo CD objects against their CRDs, built-in kinds against the
 * Kubernetes v1.34 OpenAPI and the kubernetes-models package.
 */

import { beforeAll, describe, expect, it } from 'vitest';
import {
  isK8sObject,
  kustomizationDirs,
  listYamlFiles,
  readYamlFile,
  renderKustomization,
  type K8sObject,
} from './lib/files.js';
import { fetchSchemaSources, SchemaRegistry, validateWithModel } from './lib/schemas.js';

const files = listYamlFiles();
const isKustomization = (p: string) => /(^|\/)kustomization\.ya?ml$/.test(p);
// Values for the argo-helm chart (charts/canary-judge/argo-rollouts) are not objects:
// plugin-registration.test.ts checks the plugin's.
const isHelmValues = (p: string) => /^charts\/canary-judge\/argo-rollouts\/[^/]+\.ya?ml$/.test(p);

let registry: SchemaRegistry;

beforeAll(() => {
  registry = new SchemaRegistry(fetchSchemaSources());
}, 300_000);

describe('YAML files', () => {
  it('finds the shipped manifests', () => {
    expect(files.length).toBeGreaterThan(15);
    for (const dir of [
      'rollouts/catalogo/',
      'rollouts/argocd/',
      'analysis-templates/',
      'deploy/canary-judge/',
      'plugins/',
    ]) {
      expect(
        files.some((f) => f.startsWith(dir)),
        dir,
      ).toBe(true);
    }
  });

  it.each(files)('%s parses (strictly, and the same as YAML 1.1 and 1.2)', (path) => {
    const f = readYamlFile(path);
    expect(f.docs.length).toBeGreaterThan(0);
    if (!isKustomization(path) && !isHelmValues(path)) {
      for (const [i, d] of f.docs.entries())
        expect(isK8sObject(d), `${path} document ${i} is a Kubernetes object`).toBe(true);
    }
  });
});

function objectsOfFile(path: string): K8sObject[] {
  return readYamlFile(path).docs.filter(isK8sObject);
}

describe('schemas of the objects in each file', () => {
  const manifestFiles = files.filter((p) => !isKustomization(p) && !isHelmValues(p));
  it.each(manifestFiles)('%s validates, with no field the API server would drop', async (path) => {
    for (const o of objectsOfFile(path)) {
      const where = `${path}: ${o.kind} ${o.metadata.name}`;
      expect(registry.validate(o), where).toEqual([]);
      if (registry.sourceOf(o) === 'kubernetes') await validateWithModel(o);
    }
  });
});

describe('schemas of every kustomize rendering', () => {
  it.each(kustomizationDirs())('kustomize build %s validates', async (dir) => {
    const { objects } = renderKustomization(dir);
    expect(objects.length).toBeGreaterThan(0);
    for (const o of objects) {
      expect(registry.validate(o), `${dir}: ${o.kind} ${o.metadata.name}`).toEqual([]);
      if (registry.sourceOf(o) === 'kubernetes') await validateWithModel(o);
    }
  });
});

describe('the validator itself', () => {
  // Guards against a validator that accepts everything: each of these is a real mistake.
  const rollout = (): K8sObject => {
    const o = objectsOfFile('rollouts/catalogo/rollout.yaml')[0];
    if (o === undefined) throw new Error('no Rollout');
    return structuredClone(o);
  };

  it('flags a misspelt field of a Rollout that the API server would prune', () => {
    const o = rollout() as K8sObject & { spec: { strategy: { canary: Record<string, unknown> } } };
    o.spec.strategy.canary['scaleDownDelaySecond'] = 600;
    const problems = registry.validate(o);
    expect(problems.map((p) => p.path)).toContain('/spec/strategy/canary/scaleDownDelaySecond');
  });

  it('flags a misspelt field inside the Rollout pod template (built-in PodSpec in a CRD)', () => {
    const o = rollout() as K8sObject & {
      spec: { template: { spec: { containers: Record<string, unknown>[] } } };
    };
    const c = o.spec.template.spec.containers[0] as Record<string, unknown>;
    c['readinesProbe'] = c['readinessProbe'];
    expect(
      registry
        .validate(o)
        .map((p) => p.message)
        .join('\n'),
    ).toContain('unknown field "readinesProbe"');
  });

  it('flags an unknown metadata field of a custom resource (checked as ObjectMeta)', () => {
    const o = rollout();
    (o.metadata as Record<string, unknown>)['label'] = { a: 'b' };
    expect(registry.validate(o).map((p) => p.path)).toContain('/metadata/label');
  });

  it('flags a wrong type in a VirtualService weight', () => {
    const vs = objectsOfFile('rollouts/catalogo/virtualservice.yaml')[0] as K8sObject & {
      spec: { http: { route: { weight: unknown }[] }[] };
    };
    const route = vs.spec.http[0]?.route[0];
    if (route === undefined) throw new Error('no route');
    route.weight = 'all';
    expect(registry.validate(vs).length).toBeGreaterThan(0);
  });

  it('flags an unknown field of a built-in kind (Deployment)', () => {
    const dep = objectsOfFile('deploy/canary-judge/base/deployment.yaml')[0] as K8sObject & {
      spec: Record<string, unknown>;
    };
    dep.spec['replica'] = 2;
    expect(registry.validate(dep).map((p) => p.path)).toContain('/spec/replica');
  });

  it('runs the kubernetes-models check too (a Service port number given as a name)', async () => {
    const svc = objectsOfFile('deploy/canary-judge/base/service.yaml')[0] as K8sObject & {
      spec: { ports: Record<string, unknown>[] };
    };
    (svc.spec.ports[0] as Record<string, unknown>)['port'] = 'http';
    await expect(validateWithModel(svc)).rejects.toThrow(/port/);
    expect(registry.validate(svc).length).toBeGreaterThan(0);
  });

  it("reads a CRD's Go regular expressions as Go does (PrometheusRule's case-insensitive pattern)", () => {
    const rule = (strategy: string): K8sObject => {
      const o = structuredClone(
        objectsOfFile('deploy/canary-judge/monitoring/prometheusrule.yaml')[0],
      ) as K8sObject & {
        spec: { groups: Record<string, unknown>[] };
      };
      (o.spec.groups[0] as Record<string, unknown>)['partial_response_strategy'] = strategy;
      return o;
    };
    expect(registry.validate(rule('WARN'))).toEqual([]);
    expect(registry.validate(rule('abort'))).toEqual([]);
    expect(registry.validate(rule('sometimes')).map((p) => p.path)).toContain(
      '/spec/groups/0/partial_response_strategy',
    );
  });

  it('refuses a kind it has no schema for instead of passing it', () => {
    expect(() =>
      registry.validate({ apiVersion: 'example.com/v1', kind: 'Thing', metadata: { name: 'x' } }),
    ).toThrow(/no schema/);
  });

  it('refuses an Istio version the CRD does not serve', () => {
    expect(() =>
      registry.validate({
        apiVersion: 'networking.istio.io/v2',
        kind: 'VirtualService',
        metadata: { name: 'x' },
      }),
    ).toThrow(/no schema|not served/);
  });
});
