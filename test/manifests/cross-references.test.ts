/**
 * Cross-reference checks on the rendered manifests: the mistakes that schemas cannot see and
 * that Argo Rollouts, Istio or Argo CD would only report at run time — or never, silently
 * doing something else (an undeclared arg is dropped, a route to a Service that does not exist
 * sends traffic nowhere, a weight Argo CD writes back yanks traffic off the canary).
 */

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  allAnalysesOf,
  analysesOf,
  CONTRACT_TEMPLATE,
  placeholders,
  type AnalysisTemplate,
  type Rollout,
} from './lib/argo.js';
import { findObject, objectsOfKind, REPO, renderKustomization, type K8sObject } from './lib/files.js';

interface Service extends K8sObject {
  spec: {
    selector: Record<string, string>;
    ports: { name?: string; port: number; targetPort?: number | string }[];
  };
}
interface VsDestination {
  destination: { host: string; subset?: string; port?: { number: number } };
  weight?: number;
}
interface VirtualService extends K8sObject {
  spec: { hosts: string[]; http: { name?: string; route: VsDestination[] }[] };
}
interface DestinationRule extends K8sObject {
  spec: { host: string; subsets?: { name: string }[] };
}
interface Deployment extends K8sObject {
  spec: {
    selector: { matchLabels: Record<string, string> };
    template: {
      metadata: { labels: Record<string, string> };
      spec: {
        containers: {
          ports?: { name?: string; containerPort: number }[];
          env?: { name: string; value?: string }[];
          volumeMounts?: { name: string; mountPath: string }[];
        }[];
        volumes?: { name: string; secret?: { secretName: string } }[];
      };
    };
  };
}

/** Argo's getHost: the part of a destination host before the first dot. */
const shortHost = (h: string) => h.split('.')[0] as string;
const selects = (selector: Record<string, string>, labels: Record<string, string>) =>
  Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);

let catalogo: K8sObject[];
let templates: AnalysisTemplate[];
let judge: K8sObject[];
let argocd: K8sObject[];
let rollout: Rollout;

beforeAll(() => {
  catalogo = renderKustomization('rollouts/catalogo').objects;
  templates = renderKustomization('analysis-templates').objects as AnalysisTemplate[];
  judge = renderKustomization('deploy/canary-judge/with-servicemonitor').objects;
  argocd = renderKustomization('rollouts/argocd').objects;
  const rs = objectsOfKind<Rollout>(catalogo, 'Rollout');
  expect(rs).toHaveLength(1);
  rollout = rs[0] as Rollout;
});

const ns = () => rollout.metadata.namespace;
const canary = () => rollout.spec.strategy.canary;
const podLabels = () => rollout.spec.template.metadata.labels;

describe('Rollout ↔ Services', () => {
  it('selects its own pod template', () => {
    expect(selects(rollout.spec.selector.matchLabels, podLabels())).toBe(true);
  });

  it('names a canary and a stable Service that exist, differ, and select its pods on a declared port', () => {
    expect(canary().canaryService).not.toBe(canary().stableService);
    const containerPorts = rollout.spec.template.spec.containers.flatMap((c) => c.ports ?? []);
    for (const name of [canary().canaryService, canary().stableService]) {
      const svc = findObject<Service>(catalogo, 'Service', name, ns());
      expect(svc, `Service ${name}`).toBeDefined();
      expect(selects(svc?.spec.selector ?? {}, podLabels()), `${name} selects the Rollout's pods`).toBe(true);
      for (const p of svc?.spec.ports ?? []) {
        const target = p.targetPort ?? p.port;
        const found = containerPorts.some((cp) =>
          typeof target === 'number' ? cp.containerPort === target : cp.name === target,
        );
        expect(found, `${name} port ${p.port} → targetPort ${target}`).toBe(true);
      }
    }
  });

  it('is covered by a PodDisruptionBudget', () => {
    const pdbs = objectsOfKind<K8sObject & { spec: { selector: { matchLabels: Record<string, string> } } }>(
      catalogo,
      'PodDisruptionBudget',
    ).filter((p) => p.metadata.namespace === ns());
    expect(pdbs.some((p) => selects(p.spec.selector.matchLabels, podLabels()))).toBe(true);
  });
});

describe('Rollout ↔ Istio', () => {
  const vsOf = () => {
    const ref = canary().trafficRouting.istio.virtualService;
    expect(ref, 'the Rollout routes through an Istio VirtualService').toBeDefined();
    const [vsNs, vsName] = ref?.name.includes('/') ? ref.name.split('/') : [ns(), ref?.name];
    const vs = findObject<VirtualService>(catalogo, 'VirtualService', vsName as string, vsNs);
    expect(vs, `VirtualService ${String(vsName)}`).toBeDefined();
    return { vs: vs as VirtualService, routes: ref?.routes ?? [] };
  };

  it('routes named by the Rollout exist and list exactly the stable and canary destinations', () => {
    const { vs, routes } = vsOf();
    const names = routes.length > 0 ? routes : vs.spec.http.length === 1 ? [vs.spec.http[0]?.name] : [];
    expect(names.length).toBeGreaterThan(0);
    const dr = canary().trafficRouting.istio.destinationRule;
    for (const name of names) {
      const route = vs.spec.http.find((h) => h.name === name);
      expect(route, `http route ${String(name)}`).toBeDefined();
      const dests = route?.route ?? [];
      expect(dests).toHaveLength(2);
      if (dr === undefined) {
        // host-level split: the destinations are the two Services, no subsets
        expect(new Set(dests.map((d) => shortHost(d.destination.host)))).toEqual(
          new Set([canary().stableService, canary().canaryService]),
        );
        expect(dests.every((d) => d.destination.subset === undefined)).toBe(true);
      } else {
        expect(new Set(dests.map((d) => d.destination.subset))).toEqual(
          new Set([dr.stableSubsetName, dr.canarySubsetName]),
        );
      }
    }
  });

  it('weights of every route sum to 100, all on stable at rest', () => {
    const { vs, routes } = vsOf();
    for (const h of vs.spec.http.filter((x) => routes.includes(x.name ?? ''))) {
      expect(
        h.route.reduce((s, d) => s + (d.weight ?? 0), 0),
        `route ${String(h.name)}`,
      ).toBe(100);
      const stable = h.route.find((d) => shortHost(d.destination.host) === canary().stableService);
      expect(stable?.weight).toBe(100);
    }
  });

  it('destination hosts are FQDNs of Services in the Rollout namespace, on ports they expose', () => {
    const { vs } = vsOf();
    for (const h of vs.spec.http) {
      for (const d of h.route) {
        const [svcName, svcNs] = d.destination.host.split('.');
        expect(svcNs ?? ns(), d.destination.host).toBe(ns());
        const svc = findObject<Service>(catalogo, 'Service', svcName as string, ns());
        expect(svc, `Service for ${d.destination.host}`).toBeDefined();
        if (d.destination.port !== undefined) {
          expect(svc?.spec.ports.map((p) => p.port)).toContain(d.destination.port.number);
        }
      }
    }
  });

  it('the VirtualService host is a Service that selects the Rollout pods', () => {
    const { vs } = vsOf();
    for (const host of vs.spec.hosts) {
      const [svcName, svcNs] = host.split('.');
      expect(svcNs ?? ns()).toBe(ns());
      const svc = findObject<Service>(catalogo, 'Service', svcName as string, ns());
      expect(svc, `Service for host ${host}`).toBeDefined();
      expect(selects(svc?.spec.selector ?? {}, podLabels())).toBe(true);
    }
  });

  it('every DestinationRule is for a Service that exists', () => {
    for (const dr of objectsOfKind<DestinationRule>(catalogo, 'DestinationRule')) {
      const [svcName, svcNs] = dr.spec.host.split('.');
      expect(svcNs ?? dr.metadata.namespace).toBe(dr.metadata.namespace);
      expect(
        findObject(catalogo, 'Service', svcName as string, dr.metadata.namespace),
        dr.spec.host,
      ).toBeDefined();
    }
  });
});

describe('Rollout steps', () => {
  const steps = () => canary().steps;

  it('walk 1 → 5 → 10 → 25 → 50 with an analysis after 1, 5 and 50, then promote', () => {
    expect(
      steps()
        .filter((s) => s.setWeight !== undefined)
        .map((s) => s.setWeight),
    ).toEqual([1, 5, 10, 25, 50]);
    const kinds = steps().map((s) =>
      s.setWeight !== undefined
        ? `w${s.setWeight}`
        : s.setCanaryScale
          ? 'scale'
          : s.analysis
            ? `analysis`
            : 'pause',
    );
    expect(kinds.join(' ')).toMatch(
      /^scale analysis scale w1 analysis w5 analysis w10 .*w25 .*w50 analysis$/,
    );
    // no indefinite pause: promotion to 100% is automatic once the last analysis passes
    expect(steps().every((s) => s.pause === undefined || s.pause.duration !== undefined)).toBe(true);
  });

  it('check the API contract before any traffic: one canary pod, the contract gate, then scale with the weight', () => {
    const [scale, gate, back] = steps();
    expect(scale?.setCanaryScale).toEqual({ replicas: 1 });
    expect(gate?.analysis?.templates.map((t) => t.templateName)).toEqual([CONTRACT_TEMPLATE]);
    expect(back?.setCanaryScale).toEqual({ matchTrafficWeight: true });
  });

  it('run the background analysis from the first traffic analysis step on', () => {
    const bg = canary().analysis;
    expect(bg).toBeDefined();
    const firstWeight = steps().findIndex((s) => s.setWeight !== undefined);
    const firstAnalysis = steps().findIndex((s, i) => i > firstWeight && s.analysis !== undefined);
    expect(bg?.startingStep ?? 0).toBeGreaterThan(firstWeight);
    expect(bg?.startingStep ?? 0).toBeLessThanOrEqual(firstAnalysis);
  });

  it('keep the old ReplicaSet after promotion and the aborted one after an abort for a while', () => {
    expect(canary().scaleDownDelaySeconds).toBeGreaterThanOrEqual(30);
    expect(canary().abortScaleDownDelaySeconds).toBeGreaterThan(0);
  });
});

describe('Rollout ↔ analysis templates', () => {
  const templateOf = (ref: { templateName: string; clusterScope?: boolean }) =>
    ref.clusterScope === true
      ? findObject<AnalysisTemplate>(templates, 'ClusterAnalysisTemplate', ref.templateName)
      : findObject<AnalysisTemplate>(catalogo, 'AnalysisTemplate', ref.templateName, ns());

  it('every analysis names a template that exists', () => {
    const analyses = allAnalysesOf(rollout);
    expect(analyses.length).toBeGreaterThanOrEqual(5);
    for (const { where, analysis } of analyses) {
      for (const ref of analysis.templates)
        expect(templateOf(ref), `${where}: ${ref.templateName}`).toBeDefined();
    }
  });

  it('every arg passed is declared by the template, and every arg without default is passed', () => {
    for (const { where, analysis } of allAnalysesOf(rollout)) {
      const declared = analysis.templates.flatMap((ref) => templateOf(ref)?.spec.args ?? []);
      const passed = (analysis.args ?? []).map((a) => a.name);
      const undeclared = passed.filter((p) => !declared.some((d) => d.name === p));
      expect(undeclared, `${where}: args Argo would drop silently`).toEqual([]);
      const missing = declared.filter(
        (d) => d.value === undefined && d.valueFrom === undefined && !passed.includes(d.name),
      );
      expect(
        missing.map((m) => m.name),
        `${where}: template args left without a value`,
      ).toEqual([]);
      expect(new Set(passed).size, `${where}: an arg passed twice`).toBe(passed.length);
    }
  });

  it('canary and stable hashes come from the right ReplicaSets', () => {
    for (const { where, analysis } of analysesOf(rollout)) {
      const byName = new Map((analysis.args ?? []).map((a) => [a.name, a]));
      expect(byName.get('canary-hash')?.valueFrom?.podTemplateHashValue, where).toBe('Latest');
      expect(byName.get('stable-hash')?.valueFrom?.podTemplateHashValue, where).toBe('Stable');
    }
  });

  it("the contract gate replays against the Rollout's own canary and stable Services, on their port", () => {
    const gate = allAnalysesOf(rollout).find(
      (a) => a.analysis.templates[0]?.templateName === CONTRACT_TEMPLATE,
    );
    const args = new Map((gate?.analysis.args ?? []).map((a) => [a.name, a.value]));
    for (const [arg, svcName] of [
      ['canary-url', canary().canaryService],
      ['stable-url', canary().stableService],
    ] as const) {
      const svc = findObject<Service>(catalogo, 'Service', svcName, ns());
      const port = svc?.spec.ports.find((p) => p.name === 'http')?.port;
      expect(args.get(arg), arg).toBe(`http://${svcName}.${ns()}.svc.cluster.local:${port}`);
    }
    expect(existsSync(join(REPO, 'contracts', String(args.get('contract')), 'openapi.yaml'))).toBe(true);
  });

  it('every {{args.x}} a template uses is declared by it', () => {
    expect(templates.length).toBeGreaterThanOrEqual(6);
    for (const t of templates) {
      const declared = new Set((t.spec.args ?? []).map((a) => a.name));
      for (const m of t.spec.metrics) {
        const missing = [...placeholders(m)].filter((p) => !declared.has(p));
        expect(missing, `${t.metadata.name}/${m.name}`).toEqual([]);
      }
      const names = (t.spec.args ?? []).map((a) => a.name);
      expect(new Set(names).size, `${t.metadata.name}: duplicate args`).toBe(names.length);
    }
  });
});

describe('templates ↔ the judge deployment', () => {
  it('call the judge at its Service address', () => {
    const svc = findObject<Service>(judge, 'Service', 'canary-judge');
    expect(svc).toBeDefined();
    const port = svc?.spec.ports.find((p) => p.name === 'http');
    expect(port).toBeDefined();
    const base = `http://${svc?.metadata.name}.${String(svc?.metadata.namespace)}.svc.cluster.local:${port?.port}`;
    const web = templates.flatMap((t) => t.spec.metrics.filter((m) => m.provider.web).map((m) => ({ t, m })));
    expect(web.length).toBeGreaterThanOrEqual(5);
    for (const { t, m } of web) {
      const path = t.metadata.name === CONTRACT_TEMPLATE ? '/api/v1/contract-checks' : '/api/v1/analyses';
      expect(m.provider.web?.url, `${t.metadata.name}/${m.name}`).toBe(base + path);
    }
  });

  it('the judge Service selects the judge pods on a port they listen on, and the NetworkPolicy lets it in', () => {
    const svc = findObject<Service>(judge, 'Service', 'canary-judge') as Service;
    const dep = findObject<Deployment>(judge, 'Deployment', 'canary-judge') as Deployment;
    expect(dep).toBeDefined();
    const labels = dep.spec.template.metadata.labels;
    expect(selects(dep.spec.selector.matchLabels, labels)).toBe(true);
    expect(selects(svc.spec.selector, labels)).toBe(true);
    const cports = dep.spec.template.spec.containers.flatMap((c) => c.ports ?? []);
    const target = svc.spec.ports[0]?.targetPort;
    expect(cports.some((p) => p.name === target || p.containerPort === target)).toBe(true);
    const np = objectsOfKind<
      K8sObject & {
        spec: {
          podSelector: { matchLabels: Record<string, string> };
          ingress: { ports?: { port: string | number }[] }[];
        };
      }
    >(judge, 'NetworkPolicy');
    expect(np).toHaveLength(1);
    expect(selects(np[0]?.spec.podSelector.matchLabels ?? {}, labels)).toBe(true);
    for (const rule of np[0]?.spec.ingress ?? []) {
      for (const p of rule.ports ?? [])
        expect(cports.some((c) => c.name === p.port || c.containerPort === p.port)).toBe(true);
    }
  });

  it('the judge mounts the auth Secret whose shape is documented, where its token file setting points', () => {
    const dep = findObject<Deployment>(judge, 'Deployment', 'canary-judge') as Deployment;
    const example = parse(readExample('deploy/canary-judge/secret.example.yaml')) as K8sObject & {
      stringData: Record<string, string>;
    };
    const vol = dep.spec.template.spec.volumes?.find((v) => v.secret?.secretName === example.metadata.name);
    expect(vol, 'volume from the auth Secret').toBeDefined();
    const c = dep.spec.template.spec.containers[0];
    const mount = c?.volumeMounts?.find((m) => m.name === vol?.name);
    const tokenFile = c?.env?.find((e) => e.name === 'CANARY_JUDGE_AUTH_TOKEN_FILE')?.value;
    const keys = Object.keys(example.stringData);
    expect(keys).toHaveLength(1);
    expect(tokenFile).toBe(`${String(mount?.mountPath)}/${String(keys[0])}`);
    expect(example.metadata.namespace).toBe(dep.metadata.namespace);
  });
});

function readExample(path: string): string {
  return readFileSync(join(REPO, path), 'utf8');
}

describe('Argo CD Application', () => {
  const app = () => {
    const apps = objectsOfKind<
      K8sObject & {
        spec: {
          source: { path: string };
          destination: { namespace: string };
          ignoreDifferences?: {
            group?: string;
            kind: string;
            name?: string;
            jqPathExpressions?: string[];
            jsonPointers?: string[];
          }[];
          syncPolicy?: { syncOptions?: string[] };
        };
      }
    >(argocd, 'Application');
    expect(apps).toHaveLength(1);
    return apps[0] as (typeof apps)[number];
  };

  it('syncs the catalogo kustomization into the Rollout namespace', () => {
    expect(existsSync(join(REPO, app().spec.source.path, 'kustomization.yaml'))).toBe(true);
    expect(app().spec.source.path).toBe('rollouts/catalogo');
    expect(app().spec.destination.namespace).toBe(ns());
  });

  it('ignores the VirtualService weights the controller owns, and respects that when syncing', () => {
    const vsName = canary().trafficRouting.istio.virtualService?.name;
    const entry = app().spec.ignoreDifferences?.find(
      (d) =>
        d.group === 'networking.istio.io' &&
        d.kind === 'VirtualService' &&
        (d.name === undefined || d.name === vsName),
    );
    expect(entry, 'ignoreDifferences for the VirtualService').toBeDefined();
    const paths = [...(entry?.jqPathExpressions ?? []), ...(entry?.jsonPointers ?? [])];
    expect(paths.some((p) => /weight/.test(p))).toBe(true);
    expect(app().spec.syncPolicy?.syncOptions).toContain('RespectIgnoreDifferences=true');
    if (canary().trafficRouting.istio.destinationRule !== undefined) {
      expect(app().spec.ignoreDifferences?.some((d) => d.kind === 'DestinationRule')).toBe(true);
    }
  });
});
