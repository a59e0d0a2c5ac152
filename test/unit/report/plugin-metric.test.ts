/**
 * A plugin metric in the report: the AnalysisRun holds the plugin's configuration, which the
 * report makes a request body with the judge's own rules for it (src/judge/plugin-config.ts, as
 * AnalyzePluginConfig does with what the plugin forwards) and sends to the HTTP API, which
 * validates it as it validates every body.
 */
import { describe, expect, it } from 'vitest';
import { snapshotOf, type AnalysisRunObject, type RolloutObject } from '../../../src/report/snapshot.js';
import { parseRequestBody } from '../../../src/server/http/request-body.js';

/** The shipped scorecard's configuration, its args substituted, and the request it makes. */
const shipped = {
  config: {
    selector: { mode: 'pod-hash', stable: '5d4c7b9f8' },
    start: 'canary-first-sample',
    interval: '60s',
    checks: [
      {
        type: 'error-rate',
        name: 'error-rate',
        errorCodes: '5xx',
        alpha: '0.01',
        margin: '0',
        power: '0.8',
        criticalEffect: '5',
        criticalIncrease: '0.01',
        critical: 'true',
      },
      { type: 'latency', name: 'latency', quantile: '0.99', responseFlags: '', critical: 'true' },
    ],
  },
  request: {
    rollout: { name: 'catalogo', namespace: 'catalogo' },
    selector: { mode: 'pod-hash', canary: '6b7f9c8d5', stable: '5d4c7b9f8' },
    start: 'canary-first-sample',
    interval: '60s',
    checks: [
      {
        type: 'error-rate',
        name: 'error-rate',
        errorCodes: '5xx',
        alpha: '0.01',
        margin: '0',
        power: '0.8',
        criticalEffect: '5',
        criticalIncrease: '0.01',
        critical: 'true',
      },
      { type: 'latency', name: 'latency', quantile: '0.99', critical: 'true' },
    ],
  },
};

describe('a plugin-mode Rollout in the report', () => {
  const rollout: RolloutObject = {
    metadata: { name: 'catalogo', namespace: 'catalogo' },
    status: { phase: 'Paused', currentPodHash: '6b7f9c8d5', stableRS: '5d4c7b9f8' },
  };
  const owner = [{ kind: 'Rollout', name: 'catalogo', controller: true }];
  const pluginRun = (name: string, created: string, plugin: Record<string, unknown>): AnalysisRunObject => ({
    metadata: {
      name,
      namespace: 'catalogo',
      creationTimestamp: created,
      labels: { 'rollouts-pod-template-hash': '6b7f9c8d5', 'rollout-type': 'Step', 'step-index': '1' },
      ownerReferences: owner,
    },
    spec: {
      args: [{ name: 'stable-hash', value: '5d4c7b9f8' }],
      metrics: [{ name: 'scorecard', provider: { plugin } }],
    },
  });
  const templated = JSON.parse(
    JSON.stringify(shipped.config).replace('"5d4c7b9f8"', '"{{args.stable-hash}}"'),
  ) as unknown;

  it('finds the request the plugin sends, with the run’s args substituted', () => {
    const s = snapshotOf(
      rollout,
      [],
      [pluginRun('catalogo-6b7f9c8d5-1', '2026-11-30T10:00:00Z', { 'canary-judge/canary-judge': templated })],
    );
    expect(s.judgeRequest).toEqual({
      via: 'plugin',
      address: null,
      run: 'catalogo-6b7f9c8d5-1',
      metric: 'scorecard',
      lastPhase: 'Pending',
      lastFinishedAt: null,
      body: shipped.request,
    });
    expect(s.judgeRequestProblem).toBeNull();
  });

  it('reads a second registration of the plugin (the metric’s only plugin entry)', () => {
    const s = snapshotOf(
      rollout,
      [],
      [pluginRun('catalogo-6b7f9c8d5-1', '2026-11-30T10:00:00Z', { 'canary-judge/eu': templated })],
    );
    expect(s.judgeRequest?.via).toBe('plugin');
  });

  it('says why when the only plugin metric would be an Error', () => {
    const s = snapshotOf(
      rollout,
      [],
      [
        pluginRun('catalogo-6b7f9c8d5-1', '2026-11-30T10:00:00Z', {
          'canary-judge/canary-judge': { checks: [{ type: 'error-rate' }] },
        }),
      ],
    );
    expect(s.judgeRequest).toBeNull();
    expect(s.judgeRequestProblem).toBe(
      "AnalysisRun catalogo-6b7f9c8d5-1, metric scorecard: selector.stable is empty: pass the stable's pod-template hash (valueFrom.podTemplateHashValue: Stable)",
    );
  });

  it('takes the newest run that gives a request', () => {
    const s = snapshotOf(
      rollout,
      [],
      [
        pluginRun('catalogo-6b7f9c8d5-1', '2026-11-30T10:00:00Z', { 'canary-judge/canary-judge': templated }),
        pluginRun('catalogo-6b7f9c8d5-2', '2026-11-30T10:05:00Z', {
          'canary-judge/canary-judge': { selector: { mode: 'pod-hash' }, checks: [] },
        }),
      ],
    );
    expect(s.judgeRequest?.body).toEqual(shipped.request);
    expect(s.judgeRequestProblem).toBeNull();
  });

  it('leaves the plugin’s own keys out of the body, reads the judge’s address from them, and the judge takes the body', () => {
    const s = snapshotOf(
      rollout,
      [],
      [
        pluginRun('catalogo-6b7f9c8d5-1', '2026-11-30T10:00:00Z', {
          'canary-judge/canary-judge': { ...(templated as object), address: 'judge-b:9090', timeout: '5s' },
        }),
      ],
    );
    expect(s.judgeRequest).toMatchObject({ via: 'plugin', address: 'judge-b:9090', body: shipped.request });
    expect(s.judgeRequest?.body).not.toHaveProperty('address');
    expect(s.judgeRequest?.body).not.toHaveProperty('timeout');
    const parsed = parseRequestBody(s.judgeRequest?.body);
    expect(parsed.ok).toBe(true);
  });
});
