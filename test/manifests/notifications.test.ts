/**
 * canary-judge's notifications as shipped: one source, the ConfigMap patch
 * rollouts/notifications/canary-judge-notifications.yaml, applied by the kustomize Component of
 * that directory, and the argo-rollouts Helm chart's values generated from it
 * (charts/canary-judge/argo-rollouts/notifications-values.yaml, scripts/notification-values.ts).
 * Here: the values file is exactly what the generator makes and says key by key what the patch
 * says; every name is the project's own, so the patch only adds to Argo's ConfigMap; every
 * trigger sends templates that exist; the docs name the triggers a Rollout subscribes to.
 * test/argo/contract/notifications_test.go applies the patch over Argo's own catalogue and fires
 * the triggers with Argo's code.
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { notificationValues, PATCH_FILE, patchData, VALUES_FILE } from '../../scripts/notification-values.js';
import { componentDirs, readYamlFile, REPO } from './lib/files.js';

const read = (p: string) => readFileSync(join(REPO, p), 'utf8');
const data = patchData(read(PATCH_FILE));

describe('notification patch', () => {
  it("is a kustomize Component patching only Argo's argo-rollouts-notification-configmap", () => {
    expect(componentDirs()).toContain('rollouts/notifications');
    const k = readYamlFile('rollouts/notifications/kustomization.yaml').docs[0] as {
      resources?: unknown;
      patches: { path: string; target: { kind: string; name: string } }[];
    };
    expect(k.resources).toBeUndefined();
    expect(k.patches).toEqual([
      {
        path: 'canary-judge-notifications.yaml',
        target: { kind: 'ConfigMap', name: 'argo-rollouts-notification-configmap' },
      },
    ]);
    const patch = readYamlFile(PATCH_FILE).docs as Record<string, unknown>[];
    expect(patch).toHaveLength(1);
    expect(Object.keys(patch[0] ?? {}).sort()).toEqual(['apiVersion', 'data', 'kind', 'metadata']);
    expect(patch[0]?.['metadata']).toEqual({ name: 'argo-rollouts-notification-configmap' });
  });

  it("only holds names of the project's own: on-canary-judge-* triggers, canary-judge-* templates", () => {
    const keys = [...data.keys()];
    expect(keys.length).toBeGreaterThanOrEqual(4);
    for (const k of keys)
      expect(k).toMatch(/^(trigger\.on-canary-judge-|template\.canary-judge-)[a-z0-9-]+$/);
  });

  it('has every trigger condition-guarded and sending templates it defines', () => {
    const triggers = [...data].filter(([k]) => k.startsWith('trigger.'));
    expect(triggers.map(([k]) => k).sort()).toEqual([
      'trigger.on-canary-judge-analysis-failed',
      'trigger.on-canary-judge-analysis-inconclusive',
    ]);
    for (const [k, v] of triggers) {
      const conditions = parse(v) as { when?: string; send: string[] }[];
      expect(conditions.length, k).toBeGreaterThan(0);
      for (const c of conditions) {
        expect(c.when, `${k}: a condition (Argo's notification controller evaluates it)`).toMatch(/\S/);
        // only the judge's AnalysisRuns: its API paths or its plugin
        expect(c.when).toContain('/api/v1/(analyses|contract-checks)');
        expect(c.when).toContain('canary-judge/canary-judge');
        for (const t of c.send) expect(data.has(`template.${t}`), `${k} sends ${t}`).toBe(true);
      }
    }
  });
});

describe('argo-rollouts Helm chart values', () => {
  it(`${VALUES_FILE} is what scripts/notification-values.ts generates`, () => {
    expect(read(VALUES_FILE)).toBe(notificationValues(data));
  });

  it('say key by key, character for character, what the patch says', () => {
    const values = parse(read(VALUES_FILE), { uniqueKeys: true }) as {
      notifications: { templates: Record<string, string>; triggers: Record<string, string> };
    };
    expect(Object.keys(values)).toEqual(['notifications']);
    const { templates, triggers } = values.notifications;
    expect(Object.keys(values.notifications).sort()).toEqual(['templates', 'triggers']);
    for (const k of Object.keys(templates)) expect(k).toMatch(/^template\./);
    for (const k of Object.keys(triggers)) expect(k).toMatch(/^trigger\./);
    const merged = new Map(Object.entries({ ...templates, ...triggers }));
    expect([...merged.keys()].sort()).toEqual([...data.keys()].sort());
    for (const [k, v] of data) expect(merged.get(k), k).toBe(v);
  });
});

describe('docs', () => {
  it('docs/rollout.md tells how to subscribe to every trigger', () => {
    const doc = read('docs/rollout.md');
    for (const k of data.keys()) {
      if (!k.startsWith('trigger.')) continue;
      expect(doc).toContain(`notifications.argoproj.io/subscribe.${k.slice('trigger.'.length)}.`);
    }
    expect(doc).not.toMatch(/subscribe\.on-(analysis-run-failed|rollout-paused)\b/);
  });
});
