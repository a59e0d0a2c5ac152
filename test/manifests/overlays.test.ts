/**
 * The fast-loopback overlay (fixtures/fast-loopback) — the recipe for running the shipped
 * manifests on one machine — changes only what it says: the judge's address, the analysis
 * interval and the plain pauses; the requests it makes are still ones the judge accepts.
 * (Schemas, kustomize and Argo's linter cover it through the other test files, since it is a
 * kustomization like the shipped ones.)
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseRequestBody as parseAnalysisRequest } from '../../src/server/http/request-body.js';
import {
  analysesOf,
  CONTRACT_TEMPLATE,
  mergeArgs,
  resolveArgs,
  substitute,
  type AnalysisTemplate,
  type Rollout,
} from './lib/argo.js';
import { findObject, REPO, renderKustomization, type K8sObject } from './lib/files.js';

const DIR = 'test/manifests/fixtures/fast-loopback';

describe('fast-loopback overlay', () => {
  const shipped = [
    ...renderKustomization('rollouts/catalogo').objects,
    ...renderKustomization('analysis-templates').objects,
  ];
  const overlay = renderKustomization(DIR).objects;
  const secrets = [
    parse(readFileSync(join(REPO, 'rollouts/catalogo/judge-token-secret.example.yaml'), 'utf8')) as K8sObject,
  ];

  it('holds the same objects as the shipped kustomizations', () => {
    const ids = (os: readonly K8sObject[]) => os.map((o) => `${o.kind}/${o.metadata.name}`).sort();
    expect(ids(overlay)).toEqual(ids(shipped));
  });

  it('points every judge template at the loopback judge, asking every 10 s', () => {
    const web = overlay.filter((o) => o.kind === 'ClusterAnalysisTemplate') as AnalysisTemplate[];
    const judgeMetrics = web
      .filter((t) => t.metadata.name !== CONTRACT_TEMPLATE)
      .flatMap((t) => t.spec.metrics.filter((m) => m.provider.web));
    expect(judgeMetrics).toHaveLength(4);
    const gate = findObject<AnalysisTemplate>(overlay, 'ClusterAnalysisTemplate', CONTRACT_TEMPLATE);
    expect(gate?.spec.metrics[0]?.provider.web?.url).toBe('http://127.0.0.1:18080/api/v1/contract-checks');
    for (const m of judgeMetrics) {
      expect(m.provider.web?.url).toBe('http://127.0.0.1:18080/api/v1/analyses');
      expect(m.interval).toBe('10s');
      expect((m.provider.web?.jsonBody as { interval: string }).interval).toBe('10s');
    }
  });

  it('shortens only the plain pauses of the Rollout', () => {
    const before = findObject<Rollout>(shipped, 'Rollout', 'catalogo') as Rollout;
    const after = findObject<Rollout>(overlay, 'Rollout', 'catalogo') as Rollout;
    const pauses = after.spec.strategy.canary.steps
      .filter((s) => s.pause !== undefined)
      .map((s) => s.pause?.duration);
    expect(pauses).toEqual(['20s', '20s']);
    const strip = (r: Rollout) => {
      const c = structuredClone(r);
      for (const s of c.spec.strategy.canary.steps) delete s.pause;
      return c;
    };
    expect(strip(after)).toEqual(strip(before));
  });

  it('still sends request bodies the judge accepts', () => {
    const rollout = findObject<Rollout>(overlay, 'Rollout', 'catalogo') as Rollout;
    for (const { where, analysis } of analysesOf(rollout)) {
      for (const ref of analysis.templates) {
        const t = findObject<AnalysisTemplate>(
          overlay,
          ref.clusterScope === true ? 'ClusterAnalysisTemplate' : 'AnalysisTemplate',
          ref.templateName,
        ) as AnalysisTemplate;
        const args = resolveArgs(mergeArgs(t.spec.args ?? [], analysis.args ?? []), { rollout, secrets });
        for (const m of t.spec.metrics) {
          const parsed = parseAnalysisRequest(substitute(m, args).provider.web?.jsonBody);
          expect(parsed.ok ? [] : parsed.errors, where).toEqual([]);
        }
      }
    }
  });
});
