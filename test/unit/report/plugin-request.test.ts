/**
 * The report's mapping of a plugin metric to the judge request, pinned to the plugin's: the
 * cases of plugins/metric/internal/provider/testdata/requests.json are run by the Go side too
 * (fixture_test.go), which checks buildRequest against the requests recorded in wire.json. Here
 * each recorded request is decoded and put through the judge's own gRPC mapping, and must be the
 * case's request — and so must the report's mapping of the case's configuration.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AnalyzeRequest } from '../../../src/gen/canary_judge/v1/judge.js';
import { pluginJudgeRequest, type PluginRun } from '../../../src/report/plugin-request.js';
import { snapshotOf, type AnalysisRunObject, type RolloutObject } from '../../../src/report/snapshot.js';
import { toRequestModel } from '../../../src/server/grpc/mapping.js';

const dir = join(import.meta.dirname, '../../../plugins/metric/internal/provider/testdata');

interface Case {
  readonly name: string;
  readonly run: PluginRun;
  readonly config: unknown;
  readonly request?: Record<string, unknown>;
  readonly address?: string;
  readonly error?: string;
}

const { cases } = JSON.parse(readFileSync(join(dir, 'requests.json'), 'utf8')) as { cases: Case[] };
const wire = JSON.parse(readFileSync(join(dir, 'wire.json'), 'utf8')) as Record<string, string>;

describe('the plugin metric → judge request mapping, against the plugin', () => {
  it('has every request the plugin recorded, and only those', () => {
    expect(Object.keys(wire).sort()).toEqual(
      cases
        .filter((c) => c.error === undefined)
        .map((c) => c.name)
        .sort(),
    );
  });

  for (const c of cases) {
    if (c.error !== undefined) {
      const error = c.error;
      it(`refuses as the plugin does: ${c.name}`, () => {
        const got = pluginJudgeRequest(c.config, c.run);
        expect(got.ok).toBe(false);
        if (!got.ok) expect(got.error).toContain(error);
      });
      continue;
    }
    it(`maps as the plugin does: ${c.name}`, () => {
      const recorded = toRequestModel(AnalyzeRequest.decode(Buffer.from(wire[c.name] ?? '', 'base64')));
      expect(recorded).toEqual(c.request);
      expect(pluginJudgeRequest(c.config, c.run)).toEqual({
        ok: true,
        body: c.request,
        address: c.address ?? null,
      });
    });
  }
});

describe('a plugin-mode Rollout in the report', () => {
  const rollout: RolloutObject = {
    metadata: { name: 'catalogo', namespace: 'catalogo' },
    status: { phase: 'Paused', currentPodHash: '6b7f9c8d5', stableRS: '5d4c7b9f8' },
  };
  const owner = [{ kind: 'Rollout', name: 'catalogo', controller: true }];
  const shipped = cases[0];
  if (shipped === undefined) throw new Error('the fixture has no cases');
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
      metric: 'scorecard',
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
          'canary-judge/canary-judge': { checks: [{ type: 'errors' }] },
        }),
      ],
    );
    expect(s.judgeRequest).toBeNull();
    expect(s.judgeRequestProblem).toBe(
      'AnalysisRun catalogo-6b7f9c8d5-1, metric scorecard: plugin configuration: checks[0].type: "errors" is not error-rate or latency',
    );
  });

  it('takes the newest run that gives a request', () => {
    const s = snapshotOf(
      rollout,
      [],
      [
        pluginRun('catalogo-6b7f9c8d5-1', '2026-11-30T10:00:00Z', { 'canary-judge/canary-judge': templated }),
        pluginRun('catalogo-6b7f9c8d5-2', '2026-11-30T10:05:00Z', {
          'canary-judge/canary-judge': { checks: [] },
        }),
      ],
    );
    expect(s.judgeRequest?.body).toEqual(shipped.request);
    expect(s.judgeRequestProblem).toBeNull();
  });
});
