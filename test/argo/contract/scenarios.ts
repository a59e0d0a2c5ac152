/**
 * Scenario data for the Argo Rollouts contract tests, built with the integration harness's
 * deterministic Istio-shaped simulation. Each scenario lives in its own namespace (the
 * catalogo Rollout's namespace as the tests pass it to Argo), so one Prometheus holds them all:
 *
 *   healthy             v1.2 behaves like v1.1 for the last hour            → judge: Pass
 *   low-data            v1.2 like v1.1 but at 1% of the traffic (0.6 req/s), for 2 minutes:
 *                       ~70 requests, too few for any step's critical effect → judge: Inconclusive
 *   error-rate-3x       v1.2 answers 503 three times as often, for an hour  → judge: Fail
 *   latency-regression  v1.2's slow tail is half as large again, an hour    → judge: Fail (latency)
 *   no-canary           v1.2 pods exist but get no requests (no series)      → judge: Inconclusive
 *   no-canary-alone     the same without the harness's failing neighbours    → judge: Inconclusive
 *
 * Every scenario but no-canary-alone also holds the harness's two neighbours failing half their
 * requests, whose names share a prefix with the rollout or its canary (`catalogo-admin`, and a
 * Rollout named `catalogo-<canary hash>`): a selector that mixes them in gives a wrong verdict.
 *
 * `healthy` also holds an application's own counter, `catalogo_searches_total` per pod
 * (`namespace`, `pod`, `result="found"|"empty"`, 5 % empty on both sides), for a `ratio` check
 * sent through the metric plugin (plugins/metric/test): a kind the plugin was built without.
 *
 *   tsx test/argo/contract/scenarios.ts --out DIR
 *
 * writes DIR/backfill.om (OpenMetrics for `promtool tsdb create-blocks-from`, ending about a
 * minute ago: the templates ask from the canary's first sample until now) and
 * DIR/scenarios.json (namespaces and pod-template hashes, read by the Go tests).
 */

import { mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CANARY_HASH, STABLE_HASH, ROLLOUT, scenarioWorkloads } from '../../integration/harness/scenarios.js';
import { openMetrics, type WorkloadSpec } from '../../integration/harness/simulation.js';
import { Rng } from '../../support/random.js';

const HOUR = 3600;
const LOW_DATA_SECONDS = 120;
const LOW_DATA_RPS = 0.6;

export interface ContractScenario {
  readonly namespace: string;
  readonly canaryHash: string;
  readonly stableHash: string;
  readonly verdict: 'Pass' | 'Inconclusive' | 'Fail';
  /** Unix time (s) of the last sample: rate()-style queries over the last minutes need it recent. */
  readonly dataEnd: number;
}

function lowData(): WorkloadSpec[] {
  return scenarioWorkloads('healthy', 'low-data').map((w) =>
    w.rollout === ROLLOUT && w.hash === CANARY_HASH
      ? { ...w, rps: LOW_DATA_RPS, from: HOUR - LOW_DATA_SECONDS }
      : w,
  );
}

/**
 * `catalogo_searches_total` of one canary and one stable pod in `namespace`, scraped every
 * `scrape` s from `t0` for `duration` s: Poisson searches (4/s canary, 12/s stable), 5 % empty.
 * OpenMetrics lines of one counter family, grouped by series, without `# EOF`.
 */
function searchCounters(
  namespace: string,
  t0: number,
  duration: number,
  scrape: number,
  seed: number,
): string[] {
  const pods = [
    { pod: `${ROLLOUT}-${CANARY_HASH}-q7x2k`, rate: 4 },
    { pod: `${ROLLOUT}-${STABLE_HASH}-m4p9z`, rate: 12 },
  ];
  const out = ['# TYPE catalogo_searches counter'];
  pods.forEach((p, i) => {
    const rng = new Rng(seed, i);
    const labels = `namespace="${namespace}",pod="${p.pod}"`;
    const found: string[] = [];
    const empty: string[] = [];
    let f = 0;
    let e = 0;
    for (let s = 0; s <= duration; s += scrape) {
      if (s > 0) {
        const n = rng.poisson(p.rate * scrape);
        const k = rng.binomial(n, 0.05);
        e += k;
        f += n - k;
      }
      found.push(`catalogo_searches_total{${labels},result="found"} ${f} ${t0 + s}`);
      empty.push(`catalogo_searches_total{${labels},result="empty"} ${e} ${t0 + s}`);
    }
    out.push(...found, ...empty);
  });
  return out;
}

export function contractData(
  nowUnix: number,
  seed = 42,
): { openMetrics: string; scenarios: Record<string, ContractScenario> } {
  const workloads = [
    ...scenarioWorkloads('healthy', 'healthy'),
    ...lowData(),
    ...scenarioWorkloads('error-3x', 'error-rate-3x'),
    ...scenarioWorkloads('slow-tail', 'latency-regression'),
    ...scenarioWorkloads('no-canary', 'no-canary'),
    ...scenarioWorkloads('no-canary', 'no-canary-alone').filter((w) => w.rollout === ROLLOUT),
  ];
  const t0 = Math.floor((nowUnix - HOUR - 60) / 60) * 60;
  const scenario = (namespace: string, verdict: ContractScenario['verdict']): ContractScenario => ({
    namespace,
    canaryHash: CANARY_HASH,
    stableHash: STABLE_HASH,
    verdict,
    dataEnd: t0 + HOUR,
  });
  const mesh = openMetrics({ seed, workloads }, t0, HOUR, 15).replace(/# EOF\n$/, '');
  return {
    openMetrics: [mesh.trimEnd(), ...searchCounters('healthy', t0, HOUR, 15, seed), '# EOF', ''].join('\n'),
    scenarios: {
      healthy: scenario('healthy', 'Pass'),
      'low-data': scenario('low-data', 'Inconclusive'),
      'error-rate-3x': scenario('error-rate-3x', 'Fail'),
      'latency-regression': scenario('latency-regression', 'Fail'),
      'no-canary': scenario('no-canary', 'Inconclusive'),
      'no-canary-alone': scenario('no-canary-alone', 'Inconclusive'),
    },
  };
}

function main(argv: readonly string[]): void {
  const i = argv.indexOf('--out');
  const out = i >= 0 ? argv[i + 1] : undefined;
  if (out === undefined) throw new Error('usage: scenarios.ts --out DIR');
  mkdirSync(out, { recursive: true });
  const data = contractData(Math.floor(Date.now() / 1000));
  writeFileSync(join(out, 'backfill.om'), data.openMetrics);
  writeFileSync(join(out, 'scenarios.json'), JSON.stringify(data.scenarios, null, 2) + '\n');
  process.stdout.write(`scenario data: ${Object.keys(data.scenarios).join(', ')} → ${out}\n`);
}

const entry = process.argv[1];
if (entry !== undefined && import.meta.url === pathToFileURL(realpathSync(entry)).href) {
  try {
    main(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  }
}
