/**
 * The shadow overlay (rollouts/catalogo-shadow): the catalogo Rollout gated by the
 * Prometheus-only template while the judge's templates run in dry run beside it. Checked: it
 * changes nothing but the Rollout's analyses; in every analysis the metrics that decide are
 * exactly those of templates that do not call the judge, every judge metric is matched by a
 * dryRun rule (Argo matches the rule's metricName as an unanchored regular expression, as here)
 * and keeps at least as many measurements as it can take. Schemas, kustomize and Argo's linter
 * cover it through the other test files, since it is a kustomization like the shipped ones.
 */

import { describe, expect, it } from 'vitest';
import { analysesOf, type AnalysisTemplate, type Rollout, type RolloutAnalysis } from './lib/argo.js';
import { objectsOfKind, renderKustomization, type K8sObject } from './lib/files.js';

interface ShadowAnalysis extends RolloutAnalysis {
  dryRun?: { metricName: string }[];
  measurementRetention?: { metricName: string; limit: number }[];
}

const DIR = 'rollouts/catalogo-shadow';
const JUDGE_COMPONENT = 'judge-analysis-template';
/** Measurements kept for a judge metric without a count (the guard runs the whole rollout). */
const MIN_RETENTION_UNCOUNTED = 120;

describe('shadow overlay', () => {
  const shipped = renderKustomization('rollouts/catalogo').objects;
  const shadow = renderKustomization(DIR).objects;
  const templates = [
    ...objectsOfKind<AnalysisTemplate>(
      renderKustomization('analysis-templates').objects,
      'ClusterAnalysisTemplate',
    ),
    // catalogo's own (namespaced) templates, shipped with the Rollout.
    ...objectsOfKind<AnalysisTemplate>(shadow, 'AnalysisTemplate'),
  ];
  const rolloutOf = (objects: readonly K8sObject[]): Rollout => {
    const rs = objectsOfKind<Rollout>(objects, 'Rollout');
    expect(rs).toHaveLength(1);
    return rs[0] as Rollout;
  };
  const templateOf = (name: string): AnalysisTemplate => {
    const t = templates.find((x) => x.metadata.name === name);
    if (t === undefined) throw new Error(`no (Cluster)AnalysisTemplate ${name}`);
    return t;
  };
  const callsJudge = (t: AnalysisTemplate): boolean =>
    t.metadata.labels?.['app.kubernetes.io/component'] === JUDGE_COMPONENT;

  it('changes nothing but the analyses of the Rollout', () => {
    const strip = (objects: readonly K8sObject[]): K8sObject[] =>
      objects.map((o) => {
        if (o.kind !== 'Rollout') return o;
        const r = structuredClone(o) as Rollout;
        delete r.spec.strategy.canary.analysis;
        for (const s of r.spec.strategy.canary.steps) delete s.analysis;
        return r;
      });
    expect(strip(shadow)).toEqual(strip(shipped));
  });

  it('keeps the analyses where the shipped Rollout has them, each with the same args', () => {
    const mine = analysesOf(rolloutOf(shadow));
    const theirs = analysesOf(rolloutOf(shipped));
    expect(mine.map((a) => a.where)).toEqual(theirs.map((a) => a.where));
    mine.forEach((a, i) => expect(a.analysis.args, a.where).toEqual(theirs[i]?.analysis.args));
  });

  const analyses = analysesOf(rolloutOf(shadow)) as { where: string; analysis: ShadowAnalysis }[];

  it.each(analyses.map((a) => [a.where, a.analysis] as const))(
    '%s: only templates that do not call the judge decide; every judge metric runs dry and is kept',
    (where, analysis) => {
      const metrics = analysis.templates.flatMap((ref) =>
        templateOf(ref.templateName).spec.metrics.map((m) => ({ template: templateOf(ref.templateName), m })),
      );
      const dry = (name: string) => (analysis.dryRun ?? []).some((r) => new RegExp(r.metricName).test(name));
      const judgeMetrics = metrics.filter((x) => callsJudge(x.template));
      expect(judgeMetrics.length, `${where}: the judge runs beside`).toBeGreaterThan(0);
      for (const { template, m } of judgeMetrics) {
        expect(dry(m.name), `${where}: ${m.name} in dry run`).toBe(true);
        const kept = (analysis.measurementRetention ?? []).find((r) => new RegExp(r.metricName).test(m.name));
        const countArg = /^\{\{args\.([\w-]+)\}\}$/.exec(String(m.count ?? ''))?.[1];
        const count =
          m.count === undefined
            ? MIN_RETENTION_UNCOUNTED
            : Number(
                countArg === undefined
                  ? m.count
                  : ((analysis.args ?? []).find((a) => a.name === countArg)?.value ??
                      template.spec.args?.find((a) => a.name === countArg)?.value),
              );
        expect(Number.isFinite(count), `${where}: ${m.name} count`).toBe(true);
        expect(
          kept?.limit ?? 0,
          `${where}: ${m.name} keeps all of its ${count} measurements`,
        ).toBeGreaterThanOrEqual(count);
      }
      const deciding = metrics.filter((x) => !dry(x.m.name));
      if (where !== 'background analysis') {
        expect(deciding.length, `${where}: something still decides`).toBeGreaterThan(0);
      }
      for (const { template, m } of deciding)
        expect(callsJudge(template), `${where}: ${m.name} of ${template.metadata.name} decides`).toBe(false);
    },
  );
});
