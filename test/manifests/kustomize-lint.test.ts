/**
 * Every kustomization renders with the pinned kustomize, uses only `resources:`/`patches:`,
 * and Argo's own linter (kubectl-argo-rollouts of the default Argo release, built from the project's Argo tools
 * module) accepts the rendered Rollout together with its Services and VirtualService.
 */

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import {
  kubectlArgoRollouts,
  kustomizationDirs,
  readYamlFile,
  renderKustomization,
  type K8sObject,
} from './lib/files.js';

const dirs = kustomizationDirs();
// `images:` pins an image to the digest a pipeline built (scripts/set-image-digest.sh);
// `components:` applies a kustomize Component (the plugin's, in a test fixture).
const ALLOWED_KEYS = new Set(['apiVersion', 'kind', 'resources', 'patches', 'images', 'components']);

describe('kustomizations', () => {
  it('include the shipped entry points', () => {
    for (const d of ['rollouts/catalogo', 'rollouts/argocd', 'analysis-templates', 'deploy/canary-judge']) {
      expect(dirs).toContain(d);
    }
  });

  it.each(dirs)('%s uses only resources:, patches: and images:', (dir) => {
    const k = readYamlFile(`${dir}/kustomization.yaml`).docs[0] as Record<string, unknown>;
    expect(k['kind']).toBe('Kustomization');
    expect(Object.keys(k).filter((key) => !ALLOWED_KEYS.has(key))).toEqual([]);
  });

  it.each(dirs)('kustomize build %s renders', (dir) => {
    const { objects } = renderKustomization(dir);
    expect(objects.length).toBeGreaterThan(0);
    const ids = objects.map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

/** What the linter reads: the Rollouts with their Services and VirtualServices. */
function lintInput(objects: readonly K8sObject[]): string {
  const kept = objects.filter((o) => ['Rollout', 'Service', 'VirtualService'].includes(o.kind));
  return kept.map((o) => stringify(o)).join('---\n');
}

describe('kubectl argo rollouts lint', () => {
  let lint: string;
  let tmp: string;
  beforeAll(() => {
    lint = kubectlArgoRollouts();
    tmp = mkdtempSync(join(tmpdir(), 'canary-judge-lint-'));
  }, 1_800_000);
  afterAll(() => {
    if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true });
  });

  const run = (name: string, text: string): { ok: boolean; output: string } => {
    const file = join(tmp, `${name}.yaml`);
    writeFileSync(file, text);
    try {
      const out = execFileSync(lint, ['lint', '-f', file], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      return { ok: true, output: out };
    } catch (e) {
      const err = e as { stdout?: string; stderr?: string };
      return { ok: false, output: `${err.stdout ?? ''}${err.stderr ?? ''}` };
    }
  };

  const rolloutDirs = dirs.filter((d) => renderKustomization(d).objects.some((o) => o.kind === 'Rollout'));

  it('has Rollouts to lint', () => {
    expect(rolloutDirs).toContain('rollouts/catalogo');
  });

  it.each(rolloutDirs)('accepts the rendered Rollout, Services and VirtualService of %s', (dir) => {
    const r = run(dir.replaceAll('/', '_'), lintInput(renderKustomization(dir).objects));
    expect(r.output).toBe('');
    expect(r.ok).toBe(true);
  });

  it('rejects the same files with the canary Service missing from the VirtualService route', () => {
    const objects = structuredClone(renderKustomization('rollouts/catalogo').objects);
    const vs = objects.find((o) => o.kind === 'VirtualService') as K8sObject & {
      spec: { http: { route: { destination: { host: string } }[] }[] };
    };
    for (const r of vs.spec.http[0]?.route ?? [])
      r.destination.host = r.destination.host.replace('-canary', '-preview');
    const r = run('broken-route', lintInput(objects));
    expect(r.ok).toBe(false);
    expect(r.output).toContain("Canary Service 'catalogo-canary' not found in route");
  });
});
