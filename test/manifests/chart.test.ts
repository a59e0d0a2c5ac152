/**
 * The Helm chart (charts/canary-judge), with the pinned helm (scripts/helm.sh): `helm lint
 * --strict` and `helm template` with every documented values file (charts/canary-judge/examples),
 * every rendered object validated against the Kubernetes and CRD schemas the other manifest tests
 * use, every web ClusterAnalysisTemplate's request (args substituted as Argo does) accepted by the
 * judge's own parsing and aimed at the judge's Service; values.schema.json's refusals with their
 * messages; the judge with and without the Istio sidecar (mesh.sidecar.enabled); nothing
 * pointing at example.com; and the kustomize trees (deploy/canary-judge, analysis-templates)
 * being exactly the chart's output (scripts/render-manifests.sh).
 */

import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { parseContractCheckRequest } from '../../src/contract/check.js';
import { parseContract } from '../../src/contract/contract.js';
import { admitTarget, parseTargetPatterns } from '../../src/contract/targets.js';
import { parseRequestBody as parseAnalysisRequest } from '../../src/server/http/request-body.js';
import {
  CONTRACT_TEMPLATE,
  mergeArgs,
  resolveArgs,
  substitute,
  type AnalysisTemplate,
  type Arg,
} from './lib/argo.js';
import { findObject, isK8sObject, parseYamlText, REPO, type K8sObject } from './lib/files.js';
import { fetchSchemaSources, SchemaRegistry, validateWithModel } from './lib/schemas.js';

const CHART = join(REPO, 'charts/canary-judge');
const PROMETHEUS = 'http://prometheus.monitoring.svc.cluster.local:9090';
const CONTRACT = ['--set-file', `contracts.catalogo=${join(REPO, 'contracts/catalogo/openapi.yaml')}`];
const example = (name: string) => ['-f', join(CHART, 'examples', name)];

interface Case {
  readonly name: string;
  readonly args: readonly string[];
  /** Examples files this case documents (every file of examples/ must be in one). */
  readonly files: readonly string[];
  /** Objects `helm template` renders: recorded here, so a change shows in review. */
  readonly objects: number;
}

const CASES: readonly Case[] = [
  {
    name: 'defaults with the one required value',
    args: ['--set', `prometheus.url=${PROMETHEUS}`],
    files: [],
    // Deployment, Service, ServiceAccount, NetworkPolicy, PDB, 8 ClusterAnalysisTemplates, the
    // token Secret (a generated token)
    objects: 14,
  },
  {
    name: 'catalogo (examples/catalogo.yaml and its contract)',
    args: [...example('catalogo.yaml'), ...CONTRACT],
    files: ['catalogo.yaml'],
    objects: 15, // + the contracts ConfigMap
  },
  {
    name: 'the kustomize trees (scripts/render-manifests.sh)',
    args: [...example('catalogo.yaml'), ...example('kustomize.yaml'), ...CONTRACT],
    files: ['kustomize.yaml'],
    objects: 16, // - the token Secret (auth.existingSecret), + ServiceMonitor, PrometheusRule
  },
  {
    name: 'Istio sidecar for STRICT mTLS (examples/mesh-sidecar.yaml)',
    args: example('mesh-sidecar.yaml'),
    files: ['mesh-sidecar.yaml'],
    objects: 14, // the token Secret from auth.token
  },
  {
    name: 'every optional object (examples/full.yaml)',
    args: [...example('full.yaml'), ...CONTRACT],
    files: ['full.yaml'],
    // defaults (Secret from auth.token) + contracts ConfigMap, HPA, ServiceMonitor, PrometheusRule, dashboard ConfigMap
    objects: 19,
  },
];

let helmBin: string;
function helm(args: readonly string[]): { ok: boolean; stdout: string; stderr: string } {
  try {
    const stdout = execFileSync(helmBin, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return { ok: true, stdout, stderr: '' };
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string };
    return { ok: false, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

const template = (args: readonly string[], namespace = 'canary-judge') =>
  helm(['template', 'canary-judge', CHART, '--namespace', namespace, ...args]);

const rendered = new Map<string, { text: string; objects: K8sObject[] }>();
function render(c: Case): { text: string; objects: K8sObject[] } {
  let r = rendered.get(c.name);
  if (r === undefined) {
    const out = template(c.args);
    if (!out.ok) throw new Error(`helm template (${c.name}) failed:\n${out.stderr}`);
    const docs = parseYamlText(out.stdout, `helm template (${c.name})`);
    const objects = docs.filter(isK8sObject);
    if (objects.length !== docs.length) throw new Error(`${c.name}: a document is not a Kubernetes object`);
    r = { text: out.stdout, objects };
    rendered.set(c.name, r);
  }
  return r;
}

let registry: SchemaRegistry;
beforeAll(() => {
  helmBin = join(
    execFileSync('bash', [join(REPO, 'scripts/helm.sh')], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    }).trim(),
    'helm',
  );
  registry = new SchemaRegistry(fetchSchemaSources());
}, 1_800_000);

describe('the documented values files', () => {
  it('are each rendered by a case below', () => {
    const files = readdirSync(join(CHART, 'examples')).filter((f) => f.endsWith('.yaml'));
    expect(files.sort()).toEqual(CASES.flatMap((c) => c.files).sort());
  });
});

describe.each(CASES)('$name', (c) => {
  it('passes helm lint --strict', () => {
    const r = helm(['lint', '--strict', CHART, ...c.args]);
    expect(r.stderr + r.stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
    expect(r.stdout).not.toMatch(/\[(WARNING|ERROR)\]/);
    expect(r.ok).toBe(true);
  });

  it(`renders ${c.objects} objects, each valid against its schema`, async () => {
    const { objects } = render(c);
    console.log(`chart: ${c.name}: ${objects.length} objects`);
    expect(objects).toHaveLength(c.objects);
    const ids = objects.map((o) => `${o.kind}/${o.metadata.name}`);
    expect(new Set(ids).size).toBe(ids.length);
    for (const o of objects) {
      expect(registry.validate(o), `${o.kind} ${o.metadata.name}`).toEqual([]);
      if (registry.sourceOf(o) === 'kubernetes') await validateWithModel(o);
      if (o.kind !== 'ClusterAnalysisTemplate') expect(o.metadata.namespace).toBe('canary-judge');
      expect(o.metadata.labels?.['app.kubernetes.io/instance'], `${o.kind} ${o.metadata.name}`).toBe(
        'canary-judge',
      );
    }
  });

  it('points nothing at example.com, and runs the image of the chart', () => {
    const { text, objects } = render(c);
    expect(text).not.toMatch(/example\.com/);
    const dep = findObject<Deployment>(objects, 'Deployment', 'canary-judge') as Deployment;
    const appVersion = /^appVersion: "?([^"\n]+)"?$/m.exec(readFileSync(join(CHART, 'Chart.yaml'), 'utf8'));
    expect(dep.spec.template.spec.containers[0]?.image).toBe(
      `ghcr.io/canary-judge/canary-judge:${appVersion?.[1] ?? '?'}`,
    );
  });

  it("sends the judge requests it accepts, at this release's Service", () => {
    const { objects } = render(c);
    const templates = objects.filter((o) => o.kind === 'ClusterAnalysisTemplate') as AnalysisTemplate[];
    expect(templates.map((t) => t.metadata.name).sort()).toEqual(TEMPLATE_NAMES);
    const svc = findObject<K8sObject & { spec: { ports: { name: string; port: number }[] } }>(
      objects,
      'Service',
      'canary-judge',
    );
    const port = svc?.spec.ports.find((p) => p.name === 'http')?.port;
    const base = `http://canary-judge.canary-judge.svc.cluster.local:${String(port)}`;
    let web = 0;
    for (const t of templates) {
      for (const m of t.spec.metrics) {
        if (m.provider.web === undefined) continue;
        web += 1;
        const sent = substitute(m, resolveArgs(mergeArgs(t.spec.args ?? [], SAMPLE_ARGS(t)), CTX));
        if (t.metadata.name === CONTRACT_TEMPLATE) {
          expect(sent.provider.web?.url).toBe(`${base}/api/v1/contract-checks`);
          expect(parseContractCheckRequest(sent.provider.web?.jsonBody).contract).toBe('catalogo');
        } else {
          expect(sent.provider.web?.url).toBe(`${base}/api/v1/analyses`);
          const parsed = parseAnalysisRequest(sent.provider.web?.jsonBody);
          expect(parsed.ok ? [] : parsed.errors, `${t.metadata.name}/${m.name}`).toEqual([]);
        }
      }
    }
    expect(web).toBe(5);
  });
});

interface Deployment extends K8sObject {
  spec: {
    replicas?: number;
    template: {
      metadata: { labels: Record<string, string>; annotations?: Record<string, string> };
      spec: {
        containers: {
          image: string;
          ports: { name: string; containerPort: number }[];
          env?: { name: string; value?: string }[];
          readinessProbe: { httpGet: { port: string } };
          livenessProbe: { httpGet: { port: string } };
          securityContext: Record<string, unknown>;
          volumeMounts?: { name: string; mountPath: string }[];
        }[];
        volumes?: { name: string; configMap?: { name: string }; secret?: { secretName: string } }[];
      };
    };
  };
}

const TEMPLATE_NAMES = [
  'canary-judge-contract',
  'canary-judge-error-rate',
  'canary-judge-guard',
  'canary-judge-latency',
  'canary-judge-plugin-guard',
  'canary-judge-plugin-scorecard',
  'canary-judge-scorecard',
  'prometheus-error-rate-fallback',
];

/** What a Rollout passes: the required args (no value in the template) filled with sample values. */
function SAMPLE_ARGS(t: AnalysisTemplate): Arg[] {
  const samples: Record<string, Arg> = {
    'canary-hash': { name: 'canary-hash', valueFrom: { podTemplateHashValue: 'Latest' } },
    'stable-hash': { name: 'stable-hash', valueFrom: { podTemplateHashValue: 'Stable' } },
    'rollout-name': { name: 'rollout-name', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    'rollout-namespace': {
      name: 'rollout-namespace',
      valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } },
    },
    'critical-effect': { name: 'critical-effect', value: '2' },
    contract: { name: 'contract', value: 'catalogo' },
    'canary-url': { name: 'canary-url', value: 'http://my-svc-canary.my-ns.svc.cluster.local:8080' },
    'stable-url': { name: 'stable-url', value: 'http://my-svc-stable.my-ns.svc.cluster.local:8080' },
  };
  return (t.spec.args ?? [])
    .filter((a) => a.value === undefined && a.valueFrom === undefined)
    .map((a) => {
      const s = samples[a.name];
      if (s === undefined) throw new Error(`${t.metadata.name}: no sample for required arg ${a.name}`);
      return s;
    });
}

const CTX = {
  rollout: {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Rollout',
    metadata: { name: 'my-svc', namespace: 'my-ns' },
  },
  secrets: [
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'canary-judge-token', namespace: 'my-ns' },
      stringData: { token: 'a-token-of-sixteen-or-more' },
    },
  ],
};

const caseNamed = (prefix: string): Case => {
  const c = CASES.find((x) => x.name.startsWith(prefix));
  if (c === undefined) throw new Error(`no case ${prefix}`);
  return c;
};
const deploymentOf = (c: Case): Deployment =>
  findObject<Deployment>(render(c).objects, 'Deployment', 'canary-judge') as Deployment;

describe('values.schema.json refuses', () => {
  it('an install without prometheus.url, naming the value', () => {
    const r = template([]);
    expect(r.ok).toBe(false);
    expect(r.stderr).toContain("values don't meet the specifications of the schema");
    expect(r.stderr).toMatch(/at '\/prometheus': missing property 'url'/);
  });

  it.each([
    [['--set', 'prometheus.url=prometheus:9090'], /at '\/prometheus\/url': '.*' does not match pattern/],
    [
      ['--set', `prometheus.url=${PROMETHEUS}`, '--set', 'replicaCount=two'],
      /at '\/replicaCount': got string, want integer/,
    ],
    [
      ['--set', `prometheus.url=${PROMETHEUS}`, '--set', 'mesh.sidecar.enabled=yes'],
      /at '\/mesh\/sidecar\/enabled': got string, want boolean/,
    ],
    [['--set', `prometheus.url=${PROMETHEUS}`, '--set', 'auth.token=short'], /at '\/auth\/token'/],
    [
      ['--set', `prometheus.url=${PROMETHEUS}`, '--set', 'auth.namespaces=shop'],
      /at '\/auth\/namespaces': got string, want array/,
    ],
    [
      ['--set', `prometheus.url=${PROMETHEUS}`, '--set', 'auth.namespaces={Shop_1}'],
      /at '\/auth\/namespaces\/0': 'Shop_1' does not match pattern/,
    ],
    [
      ['--set', `prometheus.url=${PROMETHEUS}`, '--set', 'image.digest=latest'],
      /at '\/image\/digest': 'latest' does not match pattern/,
    ],
    [
      ['--set', `prometheus.url=${PROMETHEUS}`, '--set', 'replicas=3'],
      /additional properties 'replicas' not allowed/,
    ],
    [
      ['--set', `prometheus.url=${PROMETHEUS}`, ...CONTRACT],
      /at '\/contractTargets': minItems: got 0, want 1/,
    ],
  ])('%j', (args, message) => {
    const r = template(args);
    expect(r.ok).toBe(false);
    expect(r.stderr).toMatch(message);
  });
});

describe('the judge', () => {
  it('keeps the hardening of the kustomize Deployment (non-root, read-only root, no capabilities, probes)', () => {
    for (const c of CASES) {
      const dep = deploymentOf(c);
      const pod = dep.spec.template.spec as Deployment['spec']['template']['spec'] & {
        securityContext: Record<string, unknown>;
        automountServiceAccountToken: boolean;
      };
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001 });
      expect(pod.automountServiceAccountToken).toBe(false);
      const ctr = pod.containers[0];
      expect(ctr?.securityContext).toEqual({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ['ALL'] },
      });
      expect(ctr?.readinessProbe.httpGet.port).toBe('http');
      expect(ctr?.livenessProbe.httpGet.port).toBe('http');
    }
  });

  it("reads the Prometheus it is given, and mounts the token Secret: the chart's, or auth.existingSecret", () => {
    const env = (c: Case) =>
      new Map((deploymentOf(c).spec.template.spec.containers[0]?.env ?? []).map((e) => [e.name, e.value]));
    expect(env(CASES[0] as Case).get('CANARY_JUDGE_PROMETHEUS_URL')).toBe(PROMETHEUS);
    // The Prometheus-only fallback asks the same Prometheus by default.
    const fallback = findObject<AnalysisTemplate>(
      render(CASES[0] as Case).objects,
      'ClusterAnalysisTemplate',
      'prometheus-error-rate-fallback',
    );
    expect(fallback?.spec.args?.find((a) => a.name === 'prometheus-address')?.value).toBe(PROMETHEUS);
    expect(env(CASES[0] as Case).get('CANARY_JUDGE_AUTH_TOKEN_FILE')).toBe(
      '/var/run/secrets/canary-judge/token',
    );
    expect(
      deploymentOf(CASES[0] as Case).spec.template.spec.volumes?.find((v) => v.name === 'auth')?.secret
        ?.secretName,
    ).toBe('canary-judge-token');
    const kustomize = caseNamed('the kustomize');
    expect(
      deploymentOf(kustomize).spec.template.spec.volumes?.find((v) => v.name === 'auth')?.secret?.secretName,
    ).toBe('canary-judge-auth');
    expect(render(kustomize).objects.filter((o) => o.kind === 'Secret')).toEqual([]);
    const mesh = caseNamed('Istio');
    expect(env(mesh).get('CANARY_JUDGE_AUTH_TOKEN_FILE')).toBe('/var/run/secrets/canary-judge/token');
    expect(
      deploymentOf(mesh).spec.template.spec.volumes?.find((v) => v.name === 'auth')?.secret?.secretName,
    ).toBe('canary-judge-token');
    expect(findObject(render(mesh).objects, 'Secret', 'canary-judge-token')).toBeDefined();
  });

  it("mounts the contracts it is given and allows the contract gate's targets", () => {
    const c = caseNamed('catalogo');
    const { objects } = render(c);
    const ctr = deploymentOf(c).spec.template.spec.containers[0];
    const env = new Map((ctr?.env ?? []).map((e) => [e.name, e.value ?? '']));
    const { patterns, problems } = parseTargetPatterns(env.get('CANARY_JUDGE_CONTRACT_TARGETS') ?? '');
    expect(problems).toEqual([]);
    expect(
      admitTarget('http://catalogo-canary.catalogo.svc.cluster.local:8080', 'canary', patterns).hostname,
    ).toBe('catalogo-canary.catalogo.svc.cluster.local');
    const cm = findObject<K8sObject & { data: Record<string, string> }>(
      objects,
      'ConfigMap',
      'canary-judge-contracts',
    );
    expect(parseContract('catalogo', cm?.data['catalogo.yaml'] ?? '').requests.length).toBeGreaterThan(0);
    expect(ctr?.volumeMounts?.find((m) => m.name === 'contracts')?.mountPath).toBe(
      env.get('CANARY_JUDGE_CONTRACTS_DIR'),
    );
    // Without contracts the gate is off: no CONTRACTS_DIR, which the judge would refuse without targets.
    const plain = deploymentOf(CASES[0] as Case).spec.template.spec.containers[0];
    expect(plain?.env?.some((e) => e.name === 'CANARY_JUDGE_CONTRACTS_DIR')).toBe(false);
  });

  it('points the templates at analysisTemplates.judgeUrl, and leaves them out when disabled', () => {
    const r = template([
      '--set',
      `prometheus.url=${PROMETHEUS}`,
      '--set',
      'analysisTemplates.judgeUrl=http://127.0.0.1:18080',
    ]);
    const objects = parseYamlText(r.stdout, 'judgeUrl').filter(isK8sObject) as AnalysisTemplate[];
    const urls = objects
      .filter((o) => o.kind === 'ClusterAnalysisTemplate')
      .flatMap((t) => t.spec.metrics.map((m) => m.provider.web?.url))
      .filter((u) => u !== undefined);
    expect(urls).toHaveLength(5);
    for (const u of urls) expect(u).toMatch(/^http:\/\/127\.0\.0\.1:18080\/api\/v1\//);
    const none = template([
      '--set',
      `prometheus.url=${PROMETHEUS}`,
      '--set',
      'analysisTemplates.enabled=false',
      '--set',
      'analysisTemplates.plugin.enabled=false',
    ]);
    expect(none.stdout).not.toContain('ClusterAnalysisTemplate');
    const webOnly = template([
      '--set',
      `prometheus.url=${PROMETHEUS}`,
      '--set',
      'analysisTemplates.plugin.enabled=false',
    ]);
    expect(webOnly.stdout).not.toContain('canary-judge-plugin-');
    expect(webOnly.stdout).toContain('name: canary-judge-scorecard');
  });
});

describe('the Istio sidecar (mesh.sidecar.enabled)', () => {
  const INJECT = 'sidecar.istio.io/inject';
  const EXCLUDE_IN = 'traffic.sidecar.istio.io/excludeInboundPorts';

  it('is off by default: no injection label and no Istio annotation', () => {
    for (const c of CASES.filter((x) => !x.name.startsWith('Istio'))) {
      const meta = deploymentOf(c).spec.template.metadata;
      expect(meta.labels[INJECT]).toBeUndefined();
      expect(Object.keys(meta.annotations ?? {}).filter((k) => k.includes('istio.io'))).toEqual([]);
    }
  });

  it('asks for injection and keeps out of capture every port the controller, Prometheus and the probes use', () => {
    const c = caseNamed('Istio');
    const dep = deploymentOf(c);
    const meta = dep.spec.template.metadata;
    expect(meta.labels[INJECT]).toBe('true');
    const excluded = (meta.annotations?.[EXCLUDE_IN] ?? '').split(',').map(Number);
    const ctr = dep.spec.template.spec.containers[0];
    const portOf = (name: string) => ctr?.ports.find((p) => p.name === name)?.containerPort;
    // The controller's web calls and the plugin's gRPC; the kubelet's probes; Prometheus' scrape
    // (the ServiceMonitor's port, when rendered).
    const needed = [
      portOf('http'),
      portOf('grpc'),
      portOf(ctr?.readinessProbe.httpGet.port ?? ''),
      portOf(ctr?.livenessProbe.httpGet.port ?? ''),
    ];
    const sm = findObject<K8sObject & { spec: { endpoints: { port: string }[] } }>(
      render(caseNamed('every optional')).objects,
      'ServiceMonitor',
      'canary-judge',
    );
    for (const e of sm?.spec.endpoints ?? []) needed.push(portOf(e.port));
    expect(needed.length).toBeGreaterThanOrEqual(5);
    for (const p of needed) expect(excluded).toContain(p);
    expect(meta.annotations?.['traffic.sidecar.istio.io/excludeOutboundPorts']).toBe('9090');
    expect(JSON.parse(meta.annotations?.['proxy.istio.io/config'] ?? '{}')).toEqual({
      holdApplicationUntilProxyStarts: true,
    });
    // The rest of the pod is the same as without the sidecar.
    const plain = structuredClone(deploymentOf(CASES[0] as Case));
    const strip = (d: Deployment) => {
      const x = structuredClone(d);
      delete x.spec.template.metadata.annotations;
      delete x.spec.template.metadata.labels[INJECT];
      x.spec.template.spec.containers.forEach((k) => {
        k.env = (k.env ?? []).filter((e) => e.name !== 'CANARY_JUDGE_AUTH_TOKEN_FILE');
        k.volumeMounts = (k.volumeMounts ?? []).filter((m) => m.name !== 'auth');
      });
      x.spec.template.spec.volumes = (x.spec.template.spec.volumes ?? []).filter((v) => v.name !== 'auth');
      return x;
    };
    expect(strip(dep)).toEqual(strip(plain));
  });

  it("the PeerAuthentication the chart's README documents is a valid STRICT mesh-wide policy", () => {
    const readme = readFileSync(join(CHART, 'README.md'), 'utf8');
    const blocks = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
    const pa = blocks
      .flatMap((b) => parseAllDocuments(b).map((d) => d.toJS() as unknown))
      .filter(isK8sObject)
      .find((o) => o.kind === 'PeerAuthentication') as
      (K8sObject & { spec: { mtls: { mode: string } } }) | undefined;
    expect(pa).toBeDefined();
    expect(registry.validate(pa as K8sObject)).toEqual([]);
    expect(pa?.metadata.namespace).toBe('istio-system');
    expect(pa?.spec.mtls.mode).toBe('STRICT');
  });
});

describe("the judge's token", () => {
  type Secret = K8sObject & { data?: Record<string, string> };
  const secrets = (args: readonly string[]): Secret[] => {
    const r = template(['--set', `prometheus.url=${PROMETHEUS}`, ...args]);
    if (!r.ok) throw new Error(r.stderr);
    return parseYamlText(r.stdout, 'helm template')
      .filter(isK8sObject)
      .filter((o): o is Secret => o.kind === 'Secret');
  };
  const tokenOf = (s: Secret | undefined): string =>
    Buffer.from(s?.data?.['token'] ?? '', 'base64').toString('utf8');

  it('is generated when neither auth.token nor auth.existingSecret is set: 48 random characters, new on each render', () => {
    const [first, ...more] = secrets([]);
    expect(more).toEqual([]);
    expect(first?.metadata).toMatchObject({ name: 'canary-judge-token', namespace: 'canary-judge' });
    const token = tokenOf(first);
    expect(token.length).toBeGreaterThanOrEqual(48);
    expect(token).toMatch(/^[A-Za-z0-9]+$/);
    // Not a constant of the chart: `helm template` (no cluster to read it back from) makes another.
    expect(tokenOf(secrets([])[0])).not.toBe(token);
  });

  it('goes, the same, to canary-judge-token in each namespace of auth.namespaces (the release namespace once)', () => {
    const generated = secrets(['--set', 'auth.namespaces={shop,payments,canary-judge}']);
    expect(generated.map((s) => `${s.metadata.namespace ?? ''}/${s.metadata.name}`)).toEqual([
      'canary-judge/canary-judge-token',
      'shop/canary-judge-token',
      'payments/canary-judge-token',
    ]);
    const token = tokenOf(generated[0]);
    expect(token.length).toBeGreaterThanOrEqual(48);
    expect(generated.map(tokenOf)).toEqual([token, token, token]);
    for (const s of generated) expect(registry.validate(s)).toEqual([]);

    const given = secrets([
      '--set',
      'auth.token=a-token-of-sixteen-or-more',
      '--set',
      'auth.namespaces={shop}',
    ]);
    expect(given.map(tokenOf)).toEqual(['a-token-of-sixteen-or-more', 'a-token-of-sixteen-or-more']);
  });

  it('is not copied from auth.existingSecret: auth.namespaces is refused with it, saying why', () => {
    const r = template([
      '--set',
      `prometheus.url=${PROMETHEUS}`,
      '--set',
      'auth.existingSecret=canary-judge-auth',
      '--set',
      'auth.namespaces={shop}',
    ]);
    expect(r.ok).toBe(false);
    expect(r.stderr).toContain('auth.namespaces: the chart cannot copy the token of auth.existingSecret');
    expect(secrets(['--set', 'auth.existingSecret=canary-judge-auth'])).toEqual([]);
  });
});

describe('NOTES.txt', () => {
  // `helm install` prints NOTES.txt, which `helm template` leaves out: render it here from a copy
  // of the chart in which it is a named template, included into a ConfigMap.
  let copy: string;
  const notes = (args: readonly string[]): string => {
    if (copy === undefined) {
      copy = mkdtempSync(join(tmpdir(), 'canary-judge-notes-'));
      cpSync(CHART, copy, { recursive: true });
      const text = readFileSync(join(copy, 'templates/NOTES.txt'), 'utf8');
      rmSync(join(copy, 'templates/NOTES.txt'));
      writeFileSync(join(copy, 'templates/_notes.tpl'), `{{- define "notes" -}}\n${text}{{- end }}\n`);
      writeFileSync(
        join(copy, 'templates/notes.yaml'),
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\ndata:\n  notes: {{ include "notes" . | toJson }}\n',
      );
    }
    const r = helm([
      'template',
      'canary-judge',
      copy,
      '-n',
      'canary-judge',
      '--show-only',
      'templates/notes.yaml',
      ...args,
    ]);
    if (!r.ok) throw new Error(r.stderr);
    return (parseYamlText(r.stdout, 'notes')[0] as { data: { notes: string } }).data.notes;
  };
  afterAll(() => {
    if (copy !== undefined) rmSync(copy, { recursive: true, force: true });
  });

  it('tells the user what to do next: wait for the judge, where the token is and how to read it, use the templates', () => {
    const text = notes([...example('mesh-sidecar.yaml'), '--set', 'auth.namespaces={shop,payments}']);
    expect(text).toContain('kubectl -n canary-judge rollout status deployment/canary-judge');
    expect(text).toContain(
      '(auth.token) is in Secret canary-judge-token (key token)\n   in canary-judge, shop, payments.',
    );
    expect(text).toContain(
      "kubectl -n canary-judge get secret canary-judge-token -o jsonpath='{.data.token}' | base64 -d",
    );
    expect(text).toContain('clusterScope: true');
    expect(text).toContain('kubectl argo rollouts get rollout');
    expect(text).toContain('must not carry\nistio-injection=disabled');
    expect(text).toContain('The contract gate (canary-judge-contract) is off');
    expect(text).toContain("--reuse-values --set 'auth.namespaces={NS1,NS2}'");
    expect(text).not.toContain('create secret generic');
  });

  it('says the token is generated, and with auth.existingSecret how to copy it; nothing of the gate when it has contracts', () => {
    const generated = notes([...example('catalogo.yaml'), ...CONTRACT]);
    expect(generated).toContain('(generated, kept across helm upgrade) is in Secret canary-judge-token');
    expect(generated).not.toContain('contract gate (canary-judge-contract) is off');
    expect(generated).toContain('http://canary-judge.canary-judge.svc.cluster.local:8080');
    const existing = notes([...example('catalogo.yaml'), ...example('kustomize.yaml'), ...CONTRACT]);
    expect(existing).toContain('kubectl -n MY-NS create secret generic canary-judge-token');
    expect(existing).toContain('get secret canary-judge-auth');
  });
});

describe('the kustomize trees', () => {
  let out: string;
  afterAll(() => {
    if (out !== undefined) rmSync(out, { recursive: true, force: true });
  });

  it('are exactly what scripts/render-manifests.sh renders from the chart', () => {
    out = mkdtempSync(join(tmpdir(), 'canary-judge-render-'));
    execFileSync('bash', [join(REPO, 'scripts/render-manifests.sh'), out], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const walk = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
        e.isDirectory() ? walk(join(dir, e.name)) : [relative(out, join(dir, e.name))],
      );
    const files = walk(out).sort();
    expect(files.length).toBeGreaterThanOrEqual(17);
    // No file left over from an object the chart no longer renders: every file of those
    // directories is rendered, but the hand-written kustomization.yaml files and namespace.yaml.
    const HAND_WRITTEN = /(^|\/)(kustomization|namespace)\.yaml$/;
    const committed = ['analysis-templates', ...new Set(files.map((f) => f.slice(0, f.lastIndexOf('/'))))]
      .flatMap((d) => readdirSync(join(REPO, d)).map((n) => `${d}/${n}`))
      .filter((f) => /\.(ya?ml|json)$/.test(f) && !HAND_WRITTEN.test(f));
    expect([...new Set(committed)].sort()).toEqual(files);
    for (const f of files) {
      expect(
        readFileSync(join(REPO, f), 'utf8'),
        `${f} differs from the chart's rendering: run scripts/render-manifests.sh`,
      ).toBe(readFileSync(join(out, f), 'utf8'));
    }
  });
});
