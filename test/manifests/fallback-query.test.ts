/**
 * The Prometheus-only fallback template's query (analysis-templates/prometheus-error-rate-fallback),
 * evaluated by Prometheus' own engine (`promtool test rules`, promql_expr_test) on Istio-shaped
 * series, with the args a Rollout gives it: a canary that answered no 5xx at all has a ratio of 0
 * (no 5xx series must not read as "no data": the template would stay Inconclusive and pause every
 * release of a clean service), a canary with errors has its 5xx share, and a canary with no
 * requests — only the stable pods and a neighbour named like it have series — has no result, which
 * the template's conditions leave Inconclusive.
 */

import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { PROMTOOL_BIN } from '../support/prometheus.js';
import type { AnalysisTemplate } from './lib/argo.js';
import { findObject, renderKustomization } from './lib/files.js';

const run = promisify(execFile);

const ARGS: Record<string, string> = {
  'rollout-name': 'catalogo',
  'rollout-namespace': 'catalogo',
  'canary-hash': 'c4n4ry7',
};

/** One Istio destination-side request counter of catalogo's namespace. */
function series(pod: string, code: string, perStep: number): { series: string; values: string } {
  return {
    series: `istio_requests_total{reporter="destination",destination_workload_namespace="catalogo",pod="${pod}",response_code="${code}"}`,
    values: `0+${perStep}x40`,
  };
}

const CANARY_POD = 'catalogo-c4n4ry7-x8k2p';
const STABLE_POD = 'catalogo-5ab1e9-q7w3e';
/** A neighbour whose pod names start like the canary's: a Rollout named catalogo-c4n4ry7. */
const NEIGHBOUR_POD = 'catalogo-c4n4ry7-7f8d9c-m2n4b';

describe('prometheus-error-rate-fallback query', () => {
  const template = findObject<AnalysisTemplate>(
    renderKustomization('analysis-templates').objects,
    'ClusterAnalysisTemplate',
    'prometheus-error-rate-fallback',
  );
  const raw = template?.spec.metrics[0]?.provider.prometheus?.query;
  const tmp = mkdtempSync(join(tmpdir(), 'canary-judge-fallback-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('names only args a step gives it', () => {
    expect(raw).toBeDefined();
    const named = [...(raw ?? '').matchAll(/\{\{args\.([\w-]+)\}\}/g)].map((m) => m[1] as string);
    expect(named.length).toBeGreaterThan(0);
    for (const name of named) expect(Object.keys(ARGS), name).toContain(name);
  });

  it('gives 0 for a clean canary, its 5xx share for a failing one, nothing for one without requests', async () => {
    const expr = (raw ?? '').replace(/\{\{args\.([\w-]+)\}\}/g, (_m, name: string) => ARGS[name] ?? '');
    const stable = [series(STABLE_POD, '200', 100), series(STABLE_POD, '503', 1)];
    const neighbour = [series(NEIGHBOUR_POD, '200', 10), series(NEIGHBOUR_POD, '500', 10)];
    const at = (
      values: { series: string; values: string }[],
      samples: { labels: string; value: number }[],
    ) => ({
      interval: '15s',
      input_series: values,
      promql_expr_test: [{ expr, eval_time: '8m', exp_samples: samples }],
    });
    const tests = {
      rule_files: [],
      evaluation_interval: '15s',
      tests: [
        // Clean canary: requests, not one 5xx (only a 200 series exists for its pod).
        {
          name: 'clean canary',
          ...at([...stable, series(CANARY_POD, '200', 40)], [{ labels: '{}', value: 0 }]),
        },
        // Half its requests answered 500 (a share that stays exact in floating point).
        {
          name: 'failing canary',
          ...at(
            [...stable, series(CANARY_POD, '200', 20), series(CANARY_POD, '500', 20)],
            [{ labels: '{}', value: 0.5 }],
          ),
        },
        // No canary requests: the stable pods and the neighbour have series, the canary none.
        { name: 'canary without requests', ...at([...stable, ...neighbour], []) },
      ],
    };
    writeFileSync(join(tmp, 'fallback.test.yaml'), stringify(tests));
    const result = await run(PROMTOOL_BIN, ['test', 'rules', 'fallback.test.yaml'], { cwd: tmp }).then(
      ({ stdout, stderr }) => ({ ok: true, output: stdout + stderr }),
      (e: { stdout?: string; stderr?: string; message: string }) => ({
        ok: false,
        output: `${e.stdout ?? ''}${e.stderr ?? ''}` || e.message,
      }),
    );
    expect(result.ok, result.output).toBe(true);
  });
});
