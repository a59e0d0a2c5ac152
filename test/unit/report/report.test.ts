/**
 * The report's pure parts on objects shaped as Argo Rollouts writes them (labels and fields as
 * in its v1alpha1 types and utils/analysis/factory.go): which runs belong to the canary, when
 * each weight began, which judge request is sent again, and what the text and page say. The
 * whole command runs against a real control plane in the e2e (low-traffic and bad scenarios).
 */
import { describe, expect, it } from 'vitest';
import type { AnalysisResult, CheckResult } from '../../../src/judge/types.js';
import { chartData, renderHtml } from '../../../src/report/html.js';
import { snapshotOf, type AnalysisRunObject, type RolloutObject } from '../../../src/report/snapshot.js';
import { renderTerminal, whatEndsIt } from '../../../src/report/terminal.js';

const rollout: RolloutObject = {
  metadata: { name: 'catalogo', namespace: 'catalogo' },
  spec: {
    strategy: {
      canary: {
        steps: [
          { setWeight: 1 },
          { analysis: { templates: [{ templateName: 'canary-judge-scorecard' }] } },
          { setWeight: 5 },
          { analysis: { templates: [{ templateName: 'canary-judge-scorecard' }] } },
          { setWeight: 10 },
          { pause: { duration: '10m' } },
        ],
      },
    },
  },
  status: {
    phase: 'Paused',
    message: 'InconclusiveAnalysisRun',
    currentPodHash: '6b7f9c8d5',
    stableRS: '5d4c7b9f8',
    currentStepIndex: 3,
    pauseConditions: [{ reason: 'InconclusiveAnalysisRun', startTime: '2026-11-30T10:20:00Z' }],
    canary: { weights: { canary: { weight: 5 } } },
  },
};

const body = (interval: string) => ({
  rollout: { name: 'catalogo', namespace: 'catalogo' },
  selector: { mode: 'pod-hash', canary: '6b7f9c8d5', stable: '5d4c7b9f8' },
  start: 'canary-first-sample',
  interval,
  checks: [{ type: 'error-rate', criticalEffect: '3' }],
});

const run = (
  name: string,
  created: string,
  labels: Record<string, string>,
  interval: string,
): AnalysisRunObject => ({
  metadata: { name, creationTimestamp: created, labels },
  spec: {
    metrics: [
      {
        name: 'judge',
        provider: { web: { url: 'http://judge.example:8080/api/v1/analyses', jsonBody: body(interval) } },
      },
    ],
  },
  status: {
    phase: 'Inconclusive',
    metricResults: [
      { name: 'judge', measurements: [{ phase: 'Inconclusive', value: '{"verdict":"Inconclusive"}' }] },
    ],
  },
});

const hash = { 'rollouts-pod-template-hash': '6b7f9c8d5' };
const runs = [
  run(
    'catalogo-6b7f9c8d5-3',
    '2026-11-30T10:10:00Z',
    { ...hash, 'rollout-type': 'Step', 'step-index': '3' },
    '30s',
  ),
  run(
    'catalogo-6b7f9c8d5-1',
    '2026-11-30T10:00:30Z',
    { ...hash, 'rollout-type': 'Step', 'step-index': '1' },
    '60s',
  ),
  run('catalogo-6b7f9c8d5-bg', '2026-11-30T10:00:20Z', { ...hash, 'rollout-type': 'Background' }, '60s'),
  // An older release's run: not this canary's.
  run(
    'catalogo-11aa22bb3-1',
    '2026-11-29T08:00:00Z',
    { 'rollouts-pod-template-hash': '11aa22bb3', 'step-index': '1' },
    '15s',
  ),
];
const replicaSets = [
  { metadata: { name: 'catalogo-6b7f9c8d5', creationTimestamp: '2026-11-30T10:00:00Z', labels: hash } },
  {
    metadata: {
      name: 'catalogo-5d4c7b9f8',
      creationTimestamp: '2026-11-20T09:00:00Z',
      labels: { 'rollouts-pod-template-hash': '5d4c7b9f8' },
    },
  },
];

describe('snapshotOf', () => {
  const s = snapshotOf(rollout, replicaSets, runs);

  it('keeps only the canary’s runs, oldest first, with their type and step', () => {
    expect(s.runs.map((r) => [r.name, r.type, r.stepIndex])).toEqual([
      ['catalogo-6b7f9c8d5-bg', 'Background', null],
      ['catalogo-6b7f9c8d5-1', 'Step', 1],
      ['catalogo-6b7f9c8d5-3', 'Step', 3],
    ]);
  });

  it('dates each weight from the run of the analysis that follows it', () => {
    expect(s.canarySince).toBe('2026-11-30T10:00:00.000Z');
    expect(s.weights).toEqual([
      { weight: 1, from: '2026-11-30T10:00:30.000Z' },
      { weight: 5, from: '2026-11-30T10:10:00.000Z' },
    ]);
  });

  it('substitutes the run’s arguments into the request, as Argo does before each measurement', () => {
    const templated: AnalysisRunObject = {
      metadata: { name: 'catalogo-6b7f9c8d5-5', creationTimestamp: '2026-11-30T10:30:00Z', labels: hash },
      spec: {
        args: [
          { name: 'canary-hash', value: '6b7f9c8d5' },
          { name: 'judge-url', value: 'http://judge.example:8080/api/v1/analyses' },
          { name: 'judge-token' },
        ],
        metrics: [
          {
            name: 'judge',
            provider: {
              web: {
                url: '{{args.judge-url}}',
                jsonBody: {
                  ...body('60s'),
                  selector: { mode: 'pod-hash', canary: '{{ args.canary-hash }}', stable: 'x' },
                },
              },
            },
          },
        ],
      },
    };
    const t = snapshotOf(rollout, replicaSets, [...runs, templated]);
    expect(t.judgeRequest).toMatchObject({ via: 'web', url: 'http://judge.example:8080/api/v1/analyses' });
    expect(t.judgeRequest?.body['selector']).toEqual({ mode: 'pod-hash', canary: '6b7f9c8d5', stable: 'x' });
  });

  it('sends again the newest run’s judge request', () => {
    expect(s.judgeRequest).toMatchObject({ via: 'web', url: 'http://judge.example:8080/api/v1/analyses' });
    expect(s.judgeRequest?.body['interval']).toBe('30s');
  });

  it('sends again the request of the metric that Failed, even in an older background run', () => {
    const searches: AnalysisRunObject = {
      metadata: {
        name: 'catalogo-6b7f9c8d5-bg-searches',
        creationTimestamp: '2026-11-30T10:00:21Z',
        labels: { ...hash, 'rollout-type': 'Background' },
      },
      spec: {
        metrics: [
          {
            name: 'empty-searches',
            provider: {
              web: {
                url: 'http://judge.example:8080/api/v1/analyses',
                jsonBody: { ...body('10s'), checks: [{ type: 'ratio', bad: 'a', total: 'b' }] },
              },
            },
          },
        ],
      },
      status: {
        phase: 'Failed',
        metricResults: [
          {
            name: 'empty-searches',
            measurements: [
              { phase: 'Successful', value: '{"verdict":"Inconclusive"}' },
              { phase: 'Failed', value: '{"verdict":"Fail"}' },
            ],
          },
        ],
      },
    };
    const t = snapshotOf(rollout, replicaSets, [...runs, searches]);
    expect(t.judgeRequest).toMatchObject({
      run: 'catalogo-6b7f9c8d5-bg-searches',
      metric: 'empty-searches',
      lastPhase: 'Failed',
    });
    expect(t.judgeRequest?.body['interval']).toBe('10s');
    // Without a Failed metric, the newest run's request, as before.
    expect(s.judgeRequest).toMatchObject({
      run: 'catalogo-6b7f9c8d5-3',
      metric: 'judge',
      lastPhase: 'Inconclusive',
    });
  });

  it('ends the window now while the canary is live', () => {
    expect([s.outcome, s.evidenceEnd]).toEqual([null, null]);
  });

  it('ends the window at the last measurement once every step passed and the canary is the stable', () => {
    const finished = (r: AnalysisRunObject, finishedAt: string): AnalysisRunObject => ({
      ...r,
      status: {
        phase: 'Successful',
        metricResults: [
          { name: 'judge', measurements: [{ phase: 'Successful', value: 'Pass', finishedAt }] },
        ],
      },
    });
    const promoted = snapshotOf(
      {
        ...rollout,
        status: { ...rollout.status, currentStepIndex: 6, stableRS: '6b7f9c8d5', pauseConditions: [] },
      },
      replicaSets,
      [finished(runs[0] as AnalysisRunObject, '2026-11-30T10:31:07Z'), ...runs.slice(1)],
    );
    expect(promoted.outcome).toBe('promoted');
    expect(promoted.judgeRequest).toMatchObject({ run: 'catalogo-6b7f9c8d5-3', lastPhase: 'Successful' });
    expect(promoted.evidenceEnd).toBe('2026-11-30T10:31:07.000Z');
    // Every step done but another stable (a Rollout still finishing): not promoted yet.
    const finishing = snapshotOf(
      { ...rollout, status: { ...rollout.status, currentStepIndex: 6 } },
      replicaSets,
      [finished(runs[0] as AnalysisRunObject, '2026-11-30T10:31:07Z'), ...runs.slice(1)],
    );
    expect([finishing.outcome, finishing.evidenceEnd]).toEqual([null, null]);
  });

  it('ends the window of an aborted Rollout at the measurement that Failed', () => {
    const failed: AnalysisRunObject = {
      ...(runs[2] as AnalysisRunObject),
      status: {
        phase: 'Failed',
        metricResults: [
          {
            name: 'judge',
            measurements: [
              { phase: 'Inconclusive', value: 'Inconclusive', finishedAt: '2026-11-30T10:05:00Z' },
              { phase: 'Failed', value: 'Fail', finishedAt: '2026-11-30T10:06:00Z' },
            ],
          },
        ],
      },
    };
    const a = snapshotOf({ ...rollout, status: { ...rollout.status, abort: true } }, replicaSets, [
      runs[0] as AnalysisRunObject,
      runs[1] as AnalysisRunObject,
      failed,
    ]);
    expect(a.outcome).toBe('aborted');
    expect(a.judgeRequest).toMatchObject({ run: 'catalogo-6b7f9c8d5-bg', lastPhase: 'Failed' });
    expect(a.evidenceEnd).toBe('2026-11-30T10:06:00.000Z');
  });

  it('says where the Rollout stands', () => {
    expect([s.phase, s.paused, s.currentStep, s.currentWeight, s.canaryHash, s.stableHash]).toEqual([
      'Paused',
      true,
      3,
      5,
      '6b7f9c8d5',
      '5d4c7b9f8',
    ]);
    expect(s.steps[5]?.text).toBe('pause 10m');
  });
});

const check: CheckResult = {
  name: 'error-rate',
  type: 'error-rate',
  verdict: 'Inconclusive',
  reason: 'insufficient_data',
  summary: 'Inconclusive error-rate: …',
  params: {
    alpha: 0.01,
    margin: 0,
    criticalEffect: 3,
    power: 0.8,
    criticalIncrease: 0.003,
    weight: 1,
    critical: false,
  },
  canary: { requests: 600, bad: 1, rate: 1 / 600 },
  stable: { requests: 60000, bad: 60, rate: 0.001 },
  effect: { ratio: 1.7, lower: 0.2, upper: 9.5, confidence: 0.95 },
  evidence: { eValue: 0.6, threshold: 100, pValue: 1 },
  power: { achieved: 0.31, required: 0.8, criticalEffect: 3 },
  intervals: 2,
  settleMinutes: 14,
  timeline: [
    {
      end: '2026-11-30T10:05:00.000Z',
      canary: { requests: 300, bad: 0 },
      stable: { requests: 30000, bad: 31 },
      eValue: 0.8,
      power: 0.1,
    },
    {
      end: '2026-11-30T10:15:00.000Z',
      canary: { requests: 300, bad: 1 },
      stable: { requests: 30000, bad: 29 },
      eValue: 0.6,
      power: 0.31,
    },
  ],
  queries: [],
};
const result: AnalysisResult = {
  verdict: 'Inconclusive',
  score: 0,
  summary: 'Inconclusive …',
  judge: 'canary-judge/0.1.0',
  rollout: { name: 'catalogo', namespace: 'catalogo' },
  selector: { mode: 'pod-hash', canary: '6b7f9c8d5', stable: '5d4c7b9f8' },
  window: {
    start: '2026-11-30T10:00:00Z',
    end: '2026-11-30T10:15:00Z',
    interval: '30s',
    intervals: 2,
    startSource: 'explicit',
  },
  checks: [check],
  timing: { totalMs: 1, prometheusMs: 1, queries: 2 },
};

describe('the terminal report', () => {
  const s = snapshotOf(rollout, replicaSets, runs);
  const text = renderTerminal(s, result, new Date('2026-11-30T10:20:00Z'));

  it('names the step, the hashes, every check’s numbers and the two commands', () => {
    expect(text).toContain('step 4/6 (analysis canary-judge-scorecard), canary weight 5%');
    expect(text).toContain('canary 6b7f9c8d5 vs stable 5d4c7b9f8, canary alive 20 min');
    expect(text).toContain('counts: canary 0.17% (1/600) vs stable 0.10% (60/60000)');
    expect(text).toContain('effect: ratio 1.7 [0.2, 9.5] (95%)');
    expect(text).toContain('evidence: e-value 0.6 of 100 to fail');
    expect(text).toContain('power: 0.31 of 0.8 needed to rule out 3× (or +0.3 pp)');
    expect(text).toContain('to settle: about 14 more minutes at this traffic');
    expect(text).toContain('kubectl argo rollouts promote catalogo -n catalogo');
    expect(text).toContain('kubectl argo rollouts abort catalogo -n catalogo');
  });

  it('says when every step is done', () => {
    const done = snapshotOf(
      { ...rollout, status: { ...rollout.status, currentStepIndex: 6 } },
      replicaSets,
      runs,
    );
    expect(renderTerminal(done, result)).toContain('all 6 steps done');
  });

  it('says a promoted Rollout was judged up to its last measurement', () => {
    const promoted = { ...s, outcome: 'promoted' as const, evidenceEnd: '2026-11-30T10:31:07.000Z' };
    expect(renderTerminal(promoted, result)).toMatch(
      /^Judge, over the canary's whole life until it was promoted \(up to the last measurement, 10:31:07\) \(2 intervals of 30s\): Inconclusive, score/m,
    );
    expect(whatEndsIt(promoted, result)).toMatch(/^The Rollout is fully promoted/);
    const one = { ...result, window: { ...result.window, intervals: 1 } };
    expect(renderTerminal(promoted, one)).toContain('(1 interval of 30s): Inconclusive');
  });

  it('says what would end the pause, by verdict', () => {
    expect(whatEndsIt(s, result)).toMatch(/about 14 more minutes/);
    expect(whatEndsIt(s, { ...result, verdict: 'Fail' })).toMatch(/^The judge sees a regression/);
    expect(whatEndsIt({ ...s, outcome: 'aborted' }, result)).toMatch(/aborted/);
  });

  it('asks for criticalIncrease, not time, when the stable has no bad request and no tolerance is set', () => {
    const clean: CheckResult = {
      ...check,
      params: { ...check.params, criticalIncrease: 0 },
      canary: { requests: 600, bad: 0, rate: 0 },
      stable: { requests: 60000, bad: 0, rate: 0 },
      settleMinutes: null,
    };
    const r = { ...result, checks: [clean] };
    const lines = renderTerminal(s, r);
    expect(lines).toContain(
      'to settle: no traffic will while the stable has no bad request; set criticalIncrease',
    );
    expect(lines).not.toContain('more than a day');
    expect(whatEndsIt(s, r)).toMatch(/no wait will settle it.*set criticalIncrease/);
    // With a tolerance, or a stable error to compare with, time can settle it again.
    const tolerant = { ...clean, params: { ...clean.params, criticalIncrease: 0.001 } };
    expect(renderTerminal(s, { ...result, checks: [tolerant] })).toContain('more than a day at this traffic');
    const baseline = { ...clean, stable: { requests: 60000, bad: 3, rate: 0.00005 } };
    expect(whatEndsIt(s, { ...result, checks: [baseline] })).toMatch(/too thin to settle within a day/);
  });
});

describe('a gauge check in the terminal report', () => {
  it('shows what its record gives: medians, degradation with its bounds, evidence, drift; no counts', () => {
    const gauge: CheckResult = {
      name: 'queue-depth',
      type: 'gauge',
      verdict: 'Fail',
      reason: 'regression_detected',
      summary: 'queue-depth (higher is worse): … → regression',
      params: {
        alpha: 0.01,
        power: 0.95,
        weight: 1,
        critical: true,
        direction: 'higher-is-worse',
        scale: 'relative',
        tolerance: 0.1,
        criticalEffect: 0.3,
      },
      canary: null,
      stable: null,
      effect: null,
      evidence: null,
      power: null,
      intervals: 12,
      gauge: {
        intervals: 12,
        unpaired: { canaryOnly: 1, stableOnly: 0 },
        canary: { intervals: 13, median: 61.2 },
        stable: { intervals: 12, median: 40 },
        degradation: { scale: 'relative', estimate: 0.53, lower: 0.31, upper: null },
        fail: { eValue: 900, maxEValue: 1200, threshold: 100, hits: 12 },
        pass: { eValue: 0.01, maxEValue: 1, threshold: 20, hits: 0 },
        pValue: 1 / 1200,
        serialDependence: { runs: 2, expectedRuns: 7, z: -3.1, suspected: true },
      },
      queries: [],
    };
    const lines = renderTerminal(snapshotOf(rollout, replicaSets, runs), {
      ...result,
      verdict: 'Fail',
      checks: [gauge],
    });
    expect(lines).toContain('queue-depth (gauge): Fail — regression detected');
    expect(lines).toContain(
      'values: canary median 61.2 vs stable median 40 over 12 paired intervals (1 unpaired)',
    );
    expect(lines).toContain('degradation (relative): 0.53 [0.31, ∞]');
    expect(lines).toContain('evidence: e-value 1200 of 100 to fail, 1 of 20 to pass');
    expect(lines).toContain(
      'serial dependence suspected (runs test z -3.1): the false-Fail rate may exceed alpha',
    );
    expect(lines).not.toContain('counts:');
    expect(lines).not.toContain('to settle:');
  });
});

describe('the HTML report', () => {
  const s = snapshotOf(rollout, replicaSets, runs);

  it('charts the timeline: rates with intervals, e-value against 1/α, power, and the weight band', () => {
    const d = chartData(s, check);
    expect(d.labels).toEqual(['10:05', '10:15']);
    expect(d.canaryRate[0]).toBe(0);
    expect(d.canaryRate[1]).toBeCloseTo(100 / 300, 12);
    expect(d.canaryLow[1] as number).toBeLessThan(d.canaryRate[1] as number);
    expect(d.canaryHigh[1] as number).toBeGreaterThan(d.canaryRate[1] as number);
    expect(d.eValue).toEqual([0.8, 0.6]);
    expect(d.threshold).toBe(100);
    expect(d.power).toEqual([0.1, 0.31]);
    expect(d.weight).toEqual([1, 5]);
  });

  it('is one page that loads nothing and cannot be broken out of by its data', () => {
    const evil = { ...result, checks: [{ ...check, name: 'x</script><script>alert(1)</script>' }] };
    const html = renderHtml(s, evil, 'text <b>', 'window.Chart = function () {}; // </script>');
    expect(html).not.toMatch(/<script[^>]*src=|<link|https?:\/\/(?!judge\.example)/);
    expect(html).toContain('&lt;b&gt;');
    expect(html.match(/<\/script>/g)).toHaveLength(4);
    expect(html).toContain("default-src 'none'");
  });
});
