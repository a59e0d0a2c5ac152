/**
 * The judge's image in the kustomize tree: as rendered from the chart it is the release's tag
 * (the chart's appVersion), so `kubectl apply -k deploy/canary-judge` pulls an image that
 * exists; the pipeline then pins it to the digest it built and pushed (scripts/set-image-digest.sh,
 * run here on a copy of deploy/), and the edit refuses what is not a digest.
 */

import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO, renderKustomization, type K8sObject } from './lib/files.js';

const JUDGE_IMAGE = 'ghcr.io/canary-judge/canary-judge';
const work = mkdtempSync(join(tmpdir(), 'canary-judge-digest-'));

afterAll(() => rmSync(work, { recursive: true, force: true }));

type Deployment = K8sObject & { spec: { template: { spec: { containers: { image: string }[] } } } };

function images(objects: readonly K8sObject[]): string[] {
  return objects
    .filter((o): o is Deployment => o.kind === 'Deployment')
    .flatMap((o) => o.spec.template.spec.containers.map((c) => c.image));
}

function setDigest(dir: string, digest: string): { status: number; output: string } {
  try {
    const output = execFileSync(
      'bash',
      [join(REPO, 'scripts/set-image-digest.sh'), dir, JUDGE_IMAGE, digest],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    );
    return { status: 0, output };
  } catch (e) {
    const err = e as { status: number; stderr: string };
    return { status: err.status, output: err.stderr };
  }
}

describe("the judge's image reference", () => {
  it.each(['deploy/canary-judge', 'deploy/canary-judge/with-servicemonitor'])(
    "%s runs the release's image, the chart's appVersion",
    (dir) => {
      const appVersion = /^appVersion: "?([^"\n]+)"?$/m.exec(
        readFileSync(join(REPO, 'charts/canary-judge/Chart.yaml'), 'utf8'),
      )?.[1];
      expect(appVersion).toMatch(/^\d+\.\d+\.\d+/);
      const found = images(renderKustomization(dir).objects);
      expect(found).toEqual([`${JUDGE_IMAGE}:${appVersion ?? ''}`]);
    },
  );

  it("takes the pipeline's digest in place of the tag", () => {
    cpSync(join(REPO, 'deploy'), join(work, 'deploy'), { recursive: true });
    const digest = `sha256:${'4f'.repeat(32)}`;
    const r = setDigest(join(work, 'deploy/canary-judge/base'), digest);
    expect(r.status, r.output).toBe(0);
    const rendered = execFileSync(
      'bash',
      ['-c', `"$(bash scripts/kustomize.sh)/kustomize" build "${join(work, 'deploy/canary-judge')}"`],
      { cwd: REPO, encoding: 'utf8' },
    );
    expect(rendered).toContain(`image: ${JUDGE_IMAGE}@${digest}`);
    expect(rendered).not.toMatch(new RegExp(`image: ${JUDGE_IMAGE}:`));
  });

  it('refuses a tag or a malformed digest', () => {
    cpSync(join(REPO, 'deploy'), join(work, 'refuse'), { recursive: true });
    for (const bad of ['0.2.0', 'sha256:abc', `sha256:${'G'.repeat(64)}`]) {
      const r = setDigest(join(work, 'refuse/canary-judge/base'), bad);
      expect(r.status).toBe(2);
      expect(r.output).toContain('not a digest');
    }
  });
});
