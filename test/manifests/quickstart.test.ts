/**
 * The README's Quickstart snippet, offline: what the `quickstart` end-to-end scenario patches
 * into a generic Rollout (test/e2e/quickstart/shop-api.yaml) — read from README.md, anchors and
 * all — names ClusterAnalysisTemplates that exist, passes every arg they need and none they do
 * not declare, and the patched Rollout passes Argo's own linter. The end-to-end scenario then
 * runs it on the real controller.
 */

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { markedBlock } from '../e2e/lib/readme.js';
import { allAnalysesOf, type AnalysisTemplate, type Rollout } from './lib/argo.js';
import { findObject, kubectlArgoRollouts, REPO, renderKustomization, type K8sObject } from './lib/files.js';

const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
const snippet = markedBlock(readme, 'rollout');
const fixture = parseAllDocuments(readFileSync(join(REPO, 'test/e2e/quickstart/shop-api.yaml'), 'utf8')).map(
  (d) => d.toJS() as K8sObject,
);
const templates = renderKustomization('analysis-templates').objects;

/** RFC 7386 JSON merge patch, as `kubectl patch --type merge` applies it. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> =
    typeof target === 'object' && target !== null && !Array.isArray(target)
      ? { ...(target as Record<string, unknown>) }
      : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

const base = fixture.find((o) => o.kind === 'Rollout') as Rollout;
const patched = mergePatch(base, parse(snippet.code)) as Rollout;

describe("README's Quickstart snippet", () => {
  it('is YAML that only adds to spec.strategy.canary, with the repeated args as anchors', () => {
    expect(snippet.lang).toBe('yaml');
    const doc = parse(snippet.code) as { spec: { strategy: { canary: Record<string, unknown> } } };
    expect(Object.keys(doc)).toEqual(['spec']);
    expect(Object.keys(doc.spec)).toEqual(['strategy']);
    expect(Object.keys(doc.spec.strategy)).toEqual(['canary']);
    expect(Object.keys(doc.spec.strategy.canary).sort()).toEqual(['analysis', 'steps']);
    expect(snippet.code).toMatch(/&\w+/);
    expect(snippet.code).toMatch(/\*\w+/);
  });

  it('keeps the Rollout its own: traffic routing and services untouched', () => {
    expect(patched.spec.strategy.canary.canaryService).toBe(base.spec.strategy.canary.canaryService);
    expect(patched.spec.strategy.canary.trafficRouting).toEqual(base.spec.strategy.canary.trafficRouting);
  });

  it('has a background guard and at least two step gates on the judge', () => {
    const analyses = allAnalysesOf(patched);
    const names = analyses.map((a) => a.analysis.templates.map((t) => t.templateName).join('+'));
    expect(names[0]).toBe('canary-judge-guard');
    expect(names.filter((n) => n === 'canary-judge-scorecard').length).toBeGreaterThanOrEqual(2);
  });

  it('names existing ClusterAnalysisTemplates and passes exactly the args they need', () => {
    for (const { where, analysis } of allAnalysesOf(patched)) {
      for (const ref of analysis.templates) {
        expect(ref.clusterScope, `${where}: ${ref.templateName}`).toBe(true);
        const t = findObject<AnalysisTemplate>(templates, 'ClusterAnalysisTemplate', ref.templateName);
        expect(t, `${where}: ${ref.templateName}`).toBeDefined();
        const declared = t?.spec.args ?? [];
        const passed = (analysis.args ?? []).map((a) => a.name);
        expect(
          passed.filter((p) => !declared.some((d) => d.name === p)),
          `${where}: args Argo would drop`,
        ).toEqual([]);
        expect(
          declared
            .filter((d) => d.value === undefined && d.valueFrom === undefined && !passed.includes(d.name))
            .map((d) => d.name),
          `${where}: template args left without a value`,
        ).toEqual([]);
      }
    }
  });

  describe('kubectl argo rollouts lint', () => {
    const tmp = mkdtempSync(join(tmpdir(), 'canary-judge-quickstart-'));
    afterAll(() => rmSync(tmp, { recursive: true, force: true }));
    const lint = (objects: readonly unknown[]): { ok: boolean; output: string } => {
      const file = join(tmp, 'shop-api.yaml');
      writeFileSync(file, objects.map((o) => stringify(o)).join('---\n'));
      try {
        return {
          ok: true,
          output: execFileSync(kubectlArgoRollouts(), ['lint', '-f', file], {
            encoding: 'utf8',
            stdio: ['ignore', 'pipe', 'pipe'],
          }),
        };
      } catch (e) {
        const err = e as { stdout?: string; stderr?: string };
        return { ok: false, output: `${err.stdout ?? ''}${err.stderr ?? ''}` };
      }
    };

    it('accepts the patched Rollout with its Services and VirtualService', () => {
      const r = lint(fixture.map((o) => (o.kind === 'Rollout' ? patched : o)));
      expect(r.output).toBe('');
      expect(r.ok).toBe(true);
    }, 1_800_000);

    it('rejects it with a step weight out of range (the linter reads the steps)', () => {
      const broken = structuredClone(patched);
      const step = broken.spec.strategy.canary.steps.find((s) => s.setWeight !== undefined);
      if (step !== undefined) step.setWeight = 150;
      const r = lint(fixture.map((o) => (o.kind === 'Rollout' ? broken : o)));
      expect(r.ok).toBe(false);
      expect(r.output).toContain('SetWeight needs to be between 0 and 100');
    }, 1_800_000);
  });
});
