/**
 * What each template really sends: for every analysis the catalogo Rollout starts (each step
 * and the background guard), the template's args are merged with the Rollout's, resolved
 * (pod-template hashes, the Rollout's fields, the token from the documented Secret) and
 * substituted the way Argo Rollouts (v1.9 and v1.10) does; the resulting request body must pass the
 * judge's own request validation (src/judge/request.ts), with the bearer token in the
 * Authorization header. Also checked: the sequential pattern of each judge metric and the
 * verdict conditions.
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseRequestBody as parseAnalysisRequest } from '../../src/server/http/request-body.js';
import {
  analysesOf,
  CONTRACT_TEMPLATE,
  durationSeconds,
  intValue,
  mergeArgs,
  resolveArgs,
  SAMPLE_HASHES,
  substitute,
  type AnalysisTemplate,
  type Arg,
  type Metric,
  type Rollout,
} from './lib/argo.js';
import { findObject, REPO, renderKustomization, type K8sObject } from './lib/files.js';

let rollout: Rollout;
let templates: AnalysisTemplate[];
/** The namespaced AnalysisTemplates shipped with the Rollout (a reference without clusterScope). */
let ownTemplates: AnalysisTemplate[];
let secrets: K8sObject[];

beforeAll(() => {
  const catalogo = renderKustomization('rollouts/catalogo').objects;
  rollout = catalogo.find((o) => o.kind === 'Rollout') as Rollout;
  ownTemplates = catalogo.filter((o) => o.kind === 'AnalysisTemplate') as AnalysisTemplate[];
  templates = renderKustomization('analysis-templates').objects as AnalysisTemplate[];
  // The token Secret is created by the user, in the shape of the shipped example.
  secrets = [
    parse(readFileSync(join(REPO, 'rollouts/catalogo/judge-token-secret.example.yaml'), 'utf8')) as K8sObject,
  ];
});

/** catalogo's own AnalysisTemplate (rollouts/catalogo), run beside the shipped guard. */
const CATALOGO_TEMPLATE = 'catalogo-empty-searches';

/** The templates asking the judge for a statistical verdict (the contract gate is checked in contract-gate.test.ts). */
const judgeTemplates = () =>
  templates.filter(
    (t) => t.metadata.name !== CONTRACT_TEMPLATE && t.spec.metrics.some((m) => m.provider.web !== undefined),
  );

interface Sent {
  readonly where: string;
  readonly template: string;
  readonly metric: Metric;
}

/** The metrics as Argo resolves them for every analysis of the Rollout. */
function resolvedAnalyses(extra: readonly Arg[] = []): Sent[] {
  const out: Sent[] = [];
  for (const { where, analysis } of analysesOf(rollout)) {
    for (const ref of analysis.templates) {
      const t =
        ref.clusterScope === true
          ? findObject<AnalysisTemplate>(templates, 'ClusterAnalysisTemplate', ref.templateName)
          : findObject<AnalysisTemplate>(ownTemplates, 'AnalysisTemplate', ref.templateName);
      if (t === undefined) throw new Error(`${where}: no template ${ref.templateName}`);
      const args = resolveArgs(mergeArgs(t.spec.args ?? [], [...(analysis.args ?? []), ...extra]), {
        rollout,
        secrets,
      });
      for (const m of t.spec.metrics)
        out.push({ where, template: t.metadata.name, metric: substitute(m, args) });
    }
  }
  return out;
}

describe('requests the catalogo Rollout makes the judge receive', () => {
  it('are accepted by the judge request validation, for every step and the background guard', () => {
    const sent = resolvedAnalyses();
    expect(sent.length).toBeGreaterThanOrEqual(4);
    for (const s of sent) {
      const web = s.metric.provider.web;
      expect(web, `${s.where}: ${s.template}`).toBeDefined();
      const parsed = parseAnalysisRequest(web?.jsonBody);
      expect(parsed.ok ? [] : parsed.errors, `${s.where}: ${s.template}`).toEqual([]);
    }
  });

  it('name the Rollout and the canary/stable ReplicaSets by their hashes', () => {
    for (const s of resolvedAnalyses()) {
      const parsed = parseAnalysisRequest(s.metric.provider.web?.jsonBody);
      if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
      expect(parsed.value.rollout).toEqual({
        name: rollout.metadata.name,
        namespace: rollout.metadata.namespace,
      });
      expect(parsed.value.selector).toEqual({
        mode: 'pod-hash',
        canary: SAMPLE_HASHES.Latest,
        stable: SAMPLE_HASHES.Stable,
      });
      // The shipped templates judge errors and latency; catalogo's own, its empty searches.
      expect(parsed.value.checks.map((c) => c.type).sort()).toEqual(
        s.template === CATALOGO_TEMPLATE ? ['ratio'] : ['error-rate', 'latency'],
      );
    }
  });

  it('scope no query by default, and to one cluster when the Rollout passes the matchers arg', () => {
    for (const s of resolvedAnalyses()) {
      const parsed = parseAnalysisRequest(s.metric.provider.web?.jsonBody);
      if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
      expect(parsed.value.matchers, `${s.where}: ${s.template}`).toEqual({});
    }
    const scoped = resolvedAnalyses([{ name: 'matchers', value: '{"cluster":"eu-west-1"}' }]).map((s) => {
      const parsed = parseAnalysisRequest(s.metric.provider.web?.jsonBody);
      if (!parsed.ok) throw new Error(`${s.where}: ${JSON.stringify(parsed.errors)}`);
      return [`${s.where}: ${s.template}`, parsed.value.matchers];
    });
    expect(scoped.length).toBeGreaterThanOrEqual(4);
    for (const [name, m] of scoped) expect(m, name as string).toEqual({ cluster: 'eu-west-1' });
  });

  it('carry each step its own critical effect, stricter as the weight grows', () => {
    const effects = resolvedAnalyses()
      .filter((s) => s.where.startsWith('steps'))
      .map((s) => {
        const parsed = parseAnalysisRequest(s.metric.provider.web?.jsonBody);
        if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
        const values = new Set(parsed.value.checks.map((c) => c.criticalEffect));
        expect(values.size).toBe(1);
        return [...values][0] as number;
      });
    expect(effects).toHaveLength(3);
    for (let i = 1; i < effects.length; i++) expect(effects[i]).toBeLessThan(effects[i - 1] as number);
  });

  it('carry each step its own absolute tolerance, stricter as the weight grows', () => {
    const increases = resolvedAnalyses()
      .filter((s) => s.where.startsWith('steps'))
      .map((s) => {
        const parsed = parseAnalysisRequest(s.metric.provider.web?.jsonBody);
        if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
        const values = new Set(
          parsed.value.checks.map((c) => ('criticalIncrease' in c ? c.criticalIncrease : undefined)),
        );
        expect(values.size).toBe(1);
        return [...values][0] as number;
      });
    expect(increases).toEqual([0.01, 0.003, 0.001]);
  });

  it('ask one and the same Fail question everywhere (same checks, alpha and margin), so looks add no false rollbacks', () => {
    const questions = new Set(
      resolvedAnalyses()
        .filter((s) => s.template !== CATALOGO_TEMPLATE)
        .map((s) => {
          const parsed = parseAnalysisRequest(s.metric.provider.web?.jsonBody);
          if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
          const v = parsed.value;
          return JSON.stringify({
            start: v.start,
            interval: v.interval,
            checks: v.checks.map((c) => ({
              ...c,
              criticalEffect: undefined,
              criticalIncrease: undefined,
              power: undefined,
            })),
          });
        }),
    );
    expect([...questions]).toHaveLength(1);
  });

  it("judge catalogo's empty searches from its own counter in the background, beside the guard, at the guard's alpha", () => {
    const sent = resolvedAnalyses();
    const own = sent.filter((s) => s.template === CATALOGO_TEMPLATE);
    expect(own.map((s) => s.where)).toEqual(['background analysis']);
    const body = (x: Sent) => {
      const parsed = parseAnalysisRequest(x.metric.provider.web?.jsonBody);
      if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
      return parsed.value;
    };
    const ratio = body(own[0] as Sent);
    expect(ratio.checks[0]).toMatchObject({
      type: 'ratio',
      name: 'empty-searches',
      bad: 'catalogo_searches_total{result="empty", $selector}',
      total: 'catalogo_searches_total{$selector}',
      critical: true,
    });
    const guard = sent.find((s) => s.where === 'background analysis' && s.template !== CATALOGO_TEMPLATE);
    const g = body(guard as Sent);
    expect({ start: ratio.start, interval: ratio.interval, alpha: ratio.checks[0]?.alpha }).toEqual({
      start: g.start,
      interval: g.interval,
      alpha: g.checks[0]?.alpha,
    });
    expect(own[0]?.metric.successCondition).toBe(guard?.metric.successCondition);
    expect(own[0]?.metric.failureCondition).toBe(guard?.metric.failureCondition);
  });

  it('send the token from the Secret as a bearer token, and POST JSON', () => {
    const token = (secrets[0]?.['stringData'] as Record<string, string>)['token'];
    for (const s of resolvedAnalyses()) {
      const web = s.metric.provider.web;
      expect(web?.method).toBe('POST');
      expect(web?.body).toBeUndefined();
      expect(web?.headers).toContainEqual({ key: 'Authorization', value: `Bearer ${String(token)}` });
    }
  });

  it('wait as long as the step asks (count from the max-wait arg), never less than the limits need', () => {
    for (const s of resolvedAnalyses().filter((x) => x.where.startsWith('steps'))) {
      const count = intValue(s.metric.count);
      expect(count, s.where).toBeGreaterThanOrEqual(5);
      expect(intValue(s.metric.inconclusiveLimit), s.where).toBeGreaterThanOrEqual(count);
    }
  });
});

describe('judge templates', () => {
  it('are all here: error rate, latency, scorecard, guard', () => {
    expect(
      judgeTemplates()
        .map((t) => t.metadata.name)
        .sort(),
    ).toEqual([
      'canary-judge-error-rate',
      'canary-judge-guard',
      'canary-judge-latency',
      'canary-judge-scorecard',
    ]);
  });

  it('read the summary (a string the AnalysisRun and the dashboard show as text) and map its leading Pass/Fail to success/failure (Fail checked first by Argo)', () => {
    for (const t of judgeTemplates()) {
      for (const m of t.spec.metrics) {
        expect(m.provider.web?.jsonPath, t.metadata.name).toBe('{$.summary}');
        expect(m.failureCondition, t.metadata.name).toBe('result startsWith "Fail "');
        if (t.metadata.name === 'canary-judge-guard') {
          expect(m.successCondition).toBe('result startsWith "Pass " || result startsWith "Inconclusive "');
        } else {
          expect(m.successCondition, t.metadata.name).toBe('result startsWith "Pass "');
        }
      }
    }
  });

  it('use the sequential pattern: ask every interval, stop at the first conclusive answer', () => {
    for (const t of judgeTemplates()) {
      for (const m of t.spec.metrics) {
        const where = `${t.metadata.name}/${m.name}`;
        expect(durationSeconds(m.interval ?? ''), where).toBeGreaterThanOrEqual(30);
        expect(intValue(m.failureLimit), where).toBe(0);
        const errors = intValue(m.consecutiveErrorLimit);
        // Errors are retried every 10 s: this many in a row is how long the judge may be away.
        expect(errors * 10, where).toBeGreaterThanOrEqual(60);
        expect(errors * 10, where).toBeLessThanOrEqual(300);
        if (t.metadata.name === 'canary-judge-guard') {
          expect(m.count, `${where}: the guard runs for the whole rollout`).toBeUndefined();
          expect(m.consecutiveSuccessLimit).toBeUndefined();
        } else {
          expect(intValue(m.consecutiveSuccessLimit), where).toBe(1);
          expect(m.count, where).toBe('{{args.max-wait}}');
          expect(m.inconclusiveLimit, where).toBe(m.count);
        }
        expect(m.provider.web?.timeoutSeconds ?? 10, where).toBeLessThan(durationSeconds(m.interval ?? ''));
      }
    }
  });

  it('standalone, with only their required args, send bodies the judge accepts', () => {
    for (const t of judgeTemplates()) {
      const required = (t.spec.args ?? []).filter((a) => a.value === undefined && a.valueFrom === undefined);
      const given = required.map((a) => {
        const sample: Record<string, string> = {
          'canary-hash': SAMPLE_HASHES.Latest,
          'stable-hash': SAMPLE_HASHES.Stable,
          'rollout-name': 'catalogo',
          'rollout-namespace': 'catalogo',
          'critical-effect': '3',
        };
        const v = sample[a.name];
        if (v === undefined) throw new Error(`${t.metadata.name}: no sample for required arg ${a.name}`);
        return { name: a.name, value: v };
      });
      const args = resolveArgs(mergeArgs(t.spec.args ?? [], given), { rollout, secrets });
      for (const m of t.spec.metrics) {
        const parsed = parseAnalysisRequest(substitute(m, args).provider.web?.jsonBody);
        expect(parsed.ok ? [] : parsed.errors, t.metadata.name).toEqual([]);
      }
    }
  });
});

describe('the check itself catches broken templates', () => {
  const scorecard = () => {
    const t = findObject<AnalysisTemplate>(templates, 'ClusterAnalysisTemplate', 'canary-judge-scorecard');
    if (t === undefined) throw new Error('no scorecard');
    return structuredClone(t);
  };
  const send = (t: AnalysisTemplate, extra: { name: string; value: string }[] = []) => {
    const step = analysesOf(rollout).find((a) => a.where.startsWith('steps'));
    const args = resolveArgs(mergeArgs(t.spec.args ?? [], [...(step?.analysis.args ?? []), ...extra]), {
      rollout,
      secrets,
    });
    return parseAnalysisRequest(substitute(t.spec.metrics[0] as Metric, args).provider.web?.jsonBody);
  };

  it('a misspelt body field is refused by the judge', () => {
    const t = scorecard();
    const body = t.spec.metrics[0]?.provider.web?.jsonBody as { checks: Record<string, unknown>[] };
    (body.checks[0] as Record<string, unknown>)['critical_effect'] = '{{args.critical-effect}}';
    const r = send(t);
    expect(r.ok).toBe(false);
  });

  it('a non-numeric arg value is refused by the judge', () => {
    const r = send(scorecard(), [{ name: 'alpha', value: 'one percent' }]);
    expect(r.ok ? [] : r.errors.map((e) => e.field)).toContain('checks[0].alpha');
  });

  it('a placeholder with no declared arg fails like it does in Argo', () => {
    const t = scorecard();
    const web = t.spec.metrics[0]?.provider.web as { url: string };
    web.url = 'http://{{args.judge-host}}:8080/api/v1/analyses';
    expect(() => send(t)).toThrow(/failed to resolve \{\{args.judge-host\}\}/);
  });

  it('an arg value with quotes stays inside its JSON string (and the judge refuses it)', () => {
    const r = send(scorecard(), [{ name: 'error-codes', value: '5xx", "injected": "1' }]);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors.map((e) => e.field)).toContain('checks[0].errorCodes');
  });
});
