/**
 * The metric plugin's registration as shipped: the kustomize components (plugins/install/*) and
 * the argo-helm values (charts/canary-judge/argo-rollouts/plugin-values-*) that
 * scripts/build-plugin.sh writes from its build. Here: each renders over an Argo Rollouts install
 * (fixture shaped as Argo's manifests/install.yaml), registers one plugin in the controller's own
 * `<org>/<name>` form with a real-looking sha256 (the build's; plugins/metric/test/reproducible.sh
 * checks it is this build's), the init container runs the judge's own image at the version of
 * package.json (the chart's appVersion) from where the Dockerfile puts the binary, the file://
 * location is where it installs the binary of the same architecture, and the helm values say
 * exactly what the component says. test/image checks the built image holds these very binaries.
 */

import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { componentDirs, findObject, REPO, renderKustomization, type K8sObject } from './lib/files.js';

interface PluginEntry {
  name: string;
  location: string;
  sha256: string;
  args: string[];
}
interface Container {
  name: string;
  image?: string;
  command?: string[];
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
}
type Deployment = K8sObject & {
  spec: {
    template: {
      spec: {
        initContainers?: Container[];
        containers: Container[];
        volumes: { name: string; emptyDir?: object; secret?: { secretName: string } }[];
      };
    };
  };
};

const ARCHES = ['amd64', 'arm64'] as const;
const VERSION = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version;
const helmValues = (arch: string): string =>
  join(REPO, `charts/canary-judge/argo-rollouts/plugin-values-linux-${arch}.yaml`);

describe('metric plugin registration', () => {
  it('ships one kustomize component per architecture', () => {
    expect(
      componentDirs()
        .filter((d) => d.startsWith('plugins/'))
        .sort(),
    ).toEqual(['plugins/install/linux-amd64', 'plugins/install/linux-arm64']);
  });

  it('renders over an Argo Rollouts install: plugin registered, binary installed where the location points', () => {
    const { objects } = renderKustomization('test/manifests/fixtures/argo-rollouts-with-plugin');
    const cm = findObject<K8sObject & { data: Record<string, string> }>(
      objects,
      'ConfigMap',
      'argo-rollouts-config',
    );
    if (cm === undefined) throw new Error('no ConfigMap argo-rollouts-config in the rendering');
    const plugins = parse(cm.data['metricProviderPlugins'] ?? '') as PluginEntry[];
    expect(plugins).toHaveLength(1);
    const [p] = plugins as [PluginEntry];
    // the controller's own check (utils/config): <org>/<name>
    expect(p.name).toMatch(/^([a-zA-Z0-9-]+)\/{1}([a-zA-Z0-9_\-.]+)$/);
    expect(p.name).toBe('canary-judge/canary-judge');
    expect(p.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(p.sha256).not.toMatch(/^0+$/);
    expect(
      Object.keys(p).every((k) => ['name', 'location', 'sha256', 'args', 'headersFrom'].includes(k)),
    ).toBe(true);
    const path = p.location.replace(/^file:\/\//, '');
    expect(p.location).toBe(`file://${path}`);

    const dep = findObject<Deployment>(objects, 'Deployment', 'argo-rollouts');
    if (dep === undefined) throw new Error('no Deployment argo-rollouts in the rendering');
    const spec = dep.spec.template.spec;
    const init = spec.initContainers?.find((c) => c.name === 'canary-judge-metric-plugin');
    // the judge's own image, never a placeholder registry, and the binary where the Dockerfile puts
    // it (test/image runs this very command in the built image)
    expect(init?.image).toBe(`ghcr.io/canary-judge/canary-judge:${VERSION}`);
    expect(init?.command?.[0]).toBe('/opt/canary-judge/plugins/canary-judge-metric-plugin-linux-amd64');
    expect(init?.command?.[1]).toBe('--install');
    const installDir = init?.command?.[2] ?? '';
    // the binary the init container copies keeps its name, so it lands at the location
    expect(join(installDir, basename(init?.command?.[0] ?? ''))).toBe(path);
    const controller = spec.containers.find((c) => c.name === 'argo-rollouts');
    const names = (controller?.volumeMounts ?? []).map((m) => m.name);
    // Argo's own volumes are kept, ours added
    expect(names).toEqual(
      expect.arrayContaining(['plugin-bin', 'tmp', 'canary-judge-plugin', 'canary-judge-token']),
    );
    const pluginMount = controller?.volumeMounts?.find((m) => m.name === 'canary-judge-plugin');
    expect(pluginMount).toMatchObject({ mountPath: installDir, readOnly: true });
    // the token: a Secret of the controller's namespace, mounted where --token-file reads it
    const tokenVolume = spec.volumes.find((v) => v.name === 'canary-judge-token');
    expect(tokenVolume?.secret?.secretName).toBe('canary-judge-token');
    const tokenMount = controller?.volumeMounts?.find((m) => m.name === 'canary-judge-token');
    const tokenFile = p.args.find((a) => a.startsWith('--token-file='))?.slice('--token-file='.length) ?? '';
    expect(tokenFile.startsWith(`${tokenMount?.mountPath}/`)).toBe(true);
  });

  it.each(ARCHES)('linux/%s: the helm values say what the component says', (arch) => {
    const component = parse(
      readFileSync(join(REPO, `plugins/install/linux-${arch}/kustomization.yaml`), 'utf8'),
    ) as {
      patches: { target: { kind: string }; patch: string }[];
    };
    const cmPatch = parse(component.patches.find((x) => x.target.kind === 'ConfigMap')?.patch ?? '') as {
      data: { metricProviderPlugins: string };
    };
    const depPatch = parse(
      component.patches.find((x) => x.target.kind === 'Deployment')?.patch ?? '',
    ) as Deployment;
    const fromComponent = parse(cmPatch.data.metricProviderPlugins) as PluginEntry[];
    const values = parse(readFileSync(helmValues(arch), 'utf8')) as {
      controller: {
        metricProviderPlugins: PluginEntry[];
        initContainers: Container[];
        volumeMounts: unknown[];
        volumes: unknown[];
      };
    };
    expect(values.controller.metricProviderPlugins).toEqual(fromComponent);
    expect(fromComponent[0]?.location).toContain(`linux-${arch}`);
    const spec = depPatch.spec.template.spec;
    expect(spec.initContainers?.[0]?.command?.[0]).toBe(
      `/opt/canary-judge/plugins/canary-judge-metric-plugin-linux-${arch}`,
    );
    expect(values.controller.initContainers).toEqual(spec.initContainers);
    expect(values.controller.volumeMounts).toEqual(spec.containers[0]?.volumeMounts);
    expect(values.controller.volumes).toEqual(spec.volumes);
  });

  it('the two architectures have different binaries, so different sums', () => {
    const sha = (arch: string): string =>
      /sha256: "([0-9a-f]{64})"/.exec(readFileSync(helmValues(arch), 'utf8'))?.[1] ?? '';
    expect(sha('amd64')).not.toBe(sha('arm64'));
  });
});
