/**
 * The demo: a local Prometheus scraping synthetic catalogo v1.1 → v1.2 traffic with
 * Istio-shaped metrics, the judge as its own process, and two canaries judged side by side at
 * the shipped Rollout's last gate (50% of the traffic, critical-effect 1.5, critical-increase
 * 0.001) — one healthy (v1.2 behaves like v1.1), one bad (v1.2 answers 503 three times as often),
 * and one whose only regression is in catalogo's business metric (v1.2's searches find nothing
 * three times as often), caught by a ratio check on the application's own counter beside the
 * mesh's errors and latency.
 * The traffic is shaped like a real service's, not like the judge's: 0.1% 503s, a log-normal
 * latency (median 40 ms, σ 0.6) whose p99 sits inside an Istio bucket, 4% of searches empty.
 * Every few seconds it asks the judge, as an Argo AnalysisRun would, and prints the verdicts
 * and their one-line summaries until the good canary passes and the bad one fails.
 *
 * Run with `bash scripts/demo.sh` (installs what is missing first).
 */

import { spawn, type ChildProcess } from 'node:child_process';
import { startPrometheus, waitForSeries, type PrometheusHandle } from '../test/support/prometheus.js';
import { freePort } from '../test/support/net.js';
import { REALISTIC, latencyP99Ms } from '../test/e2e/lib/shape.js';
import {
  CANARY_HASH,
  SEARCH_SHARE,
  STABLE_HASH,
  startTraffic,
  type Side,
  type TrafficHandle,
} from './traffic.js';

const INTERVAL = '5s'; // analysis resolution; 60s in a real cluster, shortened for the demo
const POLL_MS = 5000;
const MAX_MS = 4 * 60_000;
const TOKEN = 'demo-token-not-a-secret';

const bold = (s: string): string => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
const colour = (v: string): string => {
  if (!process.stdout.isTTY) return v;
  return v === 'Pass' ? `\x1b[32m${v}\x1b[0m` : v === 'Fail' ? `\x1b[31m${v}\x1b[0m` : `\x1b[33m${v}\x1b[0m`;
};
const say = (s: string): void => {
  process.stdout.write(`${s}\n`);
};

let exporter: TrafficHandle | undefined;
let prom: PrometheusHandle | undefined;
let judge: ChildProcess | undefined;

async function cleanup(): Promise<void> {
  if (judge !== undefined && judge.exitCode === null) {
    const j = judge;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => j.kill('SIGKILL'), 5000);
      j.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
      j.kill('SIGTERM');
    });
  }
  await prom?.close();
  await exporter?.close();
}

/** catalogo's traffic, and the share the canary gets at the gate shown. */
const RPS = 4000;
const CANARY_WEIGHT = 50;
/** The shipped Rollout's gate at 50% (rollouts/catalogo/rollout.yaml): its tolerance, 1.5× or +0.1 pp. */
const GATE = { criticalEffect: '1.5', criticalIncrease: '0.001' };

/** Share of v1.1's catalogue searches that find nothing. */
const EMPTY_SEARCHES = 0.04;

const CASES = [
  {
    label: 'good canary  ',
    namespace: 'catalogo-good',
    canary: REALISTIC,
    empty: EMPTY_SEARCHES,
    expect: 'Pass',
  },
  {
    label: 'bad canary   ',
    namespace: 'catalogo-bad',
    canary: { ...REALISTIC, errorRate: REALISTIC.errorRate * 3 },
    empty: EMPTY_SEARCHES,
    expect: 'Fail',
  },
  {
    label: 'empty search ',
    namespace: 'catalogo-search',
    canary: REALISTIC,
    empty: EMPTY_SEARCHES * 3,
    expect: 'Fail',
  },
];

function sides(): Side[] {
  return CASES.flatMap((c) => [
    {
      namespace: c.namespace,
      hash: STABLE_HASH,
      version: 'v1.1',
      pods: 2,
      rps: (RPS * (100 - CANARY_WEIGHT)) / 100,
      behaviour: REALISTIC,
      emptySearchRate: EMPTY_SEARCHES,
    },
    {
      namespace: c.namespace,
      hash: CANARY_HASH,
      version: 'v1.2',
      pods: 2,
      rps: (RPS * CANARY_WEIGHT) / 100,
      behaviour: c.canary,
      emptySearchRate: c.empty,
    },
  ]);
}

function analysisBody(namespace: string): unknown {
  // What the canary-judge-scorecard template sends for that gate, after Argo substituted its
  // args (as strings).
  const common = { alpha: '0.01', margin: '0', power: '0.8', ...GATE, critical: 'true' };
  return {
    rollout: { name: 'catalogo', namespace },
    selector: { mode: 'pod-hash', canary: CANARY_HASH, stable: STABLE_HASH },
    start: 'canary-first-sample',
    interval: INTERVAL,
    checks: [
      { type: 'error-rate', name: 'error-rate', errorCodes: '5xx', ...common },
      { type: 'latency', name: 'latency', quantile: '0.99', ...common },
      // catalogo's own counter: searches that found nothing among all searches.
      {
        type: 'ratio',
        name: 'empty-searches',
        bad: 'catalogo_searches_total{result="empty", $selector}',
        total: 'catalogo_searches_total{$selector}',
        ...common,
      },
    ],
  };
}

async function main(): Promise<void> {
  const t0 = Date.now();
  const since = (): string => `+${String(Math.round((Date.now() - t0) / 1000)).padStart(3)}s`;

  say(bold('canary-judge demo: catalogo v1.1 (stable) → v1.2 (canary)'));
  const pct = (x: number): string => `${Number((x * 100).toPrecision(2))}%`;
  say(
    `1/4 synthetic traffic: catalogo at ${RPS} req/s per namespace, ${CANARY_WEIGHT}% of it to v1.2 (the last gate), Istio-shaped metrics`,
  );
  say(
    `    v1.1: ${pct(REALISTIC.errorRate)} 503s, latency log-normal, median ${REALISTIC.latencyMedianMs} ms, σ ${REALISTIC.latencySigma}` +
      ` (p99 ≈ ${Math.round(latencyP99Ms(REALISTIC))} ms, inside Istio's 100–250 ms bucket)`,
  );
  say('    catalogo-good: v1.2 behaves like v1.1');
  say(`    catalogo-bad:  v1.2 answers 503 three times as often (${pct(REALISTIC.errorRate * 3)})`);
  say(
    `    catalogo-search: v1.2's searches find nothing three times as often (${pct(EMPTY_SEARCHES * 3)} vs ${pct(EMPTY_SEARCHES)};` +
      ` catalogo_searches_total, ${pct(SEARCH_SHARE)} of requests are searches); errors and latency as v1.1`,
  );
  exporter = await startTraffic(sides());
  say(`    exporter at ${exporter.url}/metrics`);

  say('2/4 Prometheus (Debian package) on a free loopback port, scraping every second');
  prom = await startPrometheus({ scrape: [exporter.target], scrapeInterval: '1s' });
  say(`    Prometheus at ${prom.url}`);

  say('3/4 the judge, as its own process, configured by environment variables');
  const port = await freePort();
  judge = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: {
      PATH: process.env['PATH'] ?? '',
      CANARY_JUDGE_PROMETHEUS_URL: prom.url,
      CANARY_JUDGE_HOST: '127.0.0.1',
      CANARY_JUDGE_PORT: String(port),
      CANARY_JUDGE_GRPC_PORT: 'off',
      CANARY_JUDGE_AUTH_TOKEN: TOKEN,
      CANARY_JUDGE_LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (judge.exitCode !== null) throw new Error('the judge exited during start-up');
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch {
      // starting
    }
    if (i > 150) throw new Error('the judge did not start within 30 s');
    await new Promise((r) => setTimeout(r, 200));
  }
  say(`    judge at ${url} (POST /api/v1/analyses, bearer token required)`);
  await waitForSeries(prom.url, `istio_requests_total{pod=~"catalogo-${CANARY_HASH}-.*"}`);

  say(
    `4/4 asking the judge every ${POLL_MS / 1000}s, as the ${CANARY_WEIGHT}% gate's AnalysisRun would (interval ${INTERVAL}),`,
  );
  say(
    `    with that gate's tolerance: critical-effect ${GATE.criticalEffect}, critical-increase ${GATE.criticalIncrease} (+${Number(GATE.criticalIncrease) * 100} pp)`,
  );
  const done = new Map<string, { verdict: string; summary: string; body: unknown }>();
  while (Date.now() - t0 < MAX_MS && done.size < CASES.length) {
    for (const c of CASES) {
      if (done.has(c.label)) continue;
      const res = await fetch(`${url}/api/v1/analyses`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${TOKEN}` },
        body: JSON.stringify(analysisBody(c.namespace)),
      });
      const body = (await res.json()) as {
        verdict?: string;
        summary?: string;
        error?: { code: string; message: string };
      };
      if (!res.ok || body.verdict === undefined) {
        say(
          `  ${since()} ${c.label}: HTTP ${res.status} ${body.error?.code ?? ''} ${body.error?.message ?? ''}`,
        );
        continue;
      }
      say(`  ${since()} ${c.label}: ${colour(body.verdict)}  ${body.summary}`);
      if (body.verdict !== 'Inconclusive')
        done.set(c.label, { verdict: body.verdict, summary: body.summary ?? '', body });
    }
    if (done.size < CASES.length) await new Promise((r) => setTimeout(r, POLL_MS));
  }

  say('');
  say(bold('result'));
  let ok = true;
  for (const c of CASES) {
    const d = done.get(c.label);
    const got = d?.verdict ?? 'Inconclusive (time limit)';
    const good = got === c.expect;
    ok &&= good;
    say(`  ${c.label}: ${colour(d?.verdict ?? 'Inconclusive')} (expected ${c.expect}) ${good ? '✓' : '✗'}`);
  }
  say('');
  say('In a cluster, Argo Rollouts reads {$.summary}, verdict first: Pass → the step goes on, Fail → abort');
  say(
    '(traffic back to v1.1), Inconclusive → keep measuring, then pause for a person. The summary line is stored',
  );
  say('with the verdict as the measurement value: `kubectl describe analysisrun` shows it (docs/api.md).');
  if (!ok) process.exitCode = 1;
}

let stopping = false;
const stop = (code: number): void => {
  if (stopping) return;
  stopping = true;
  void cleanup().finally(() => process.exit(code));
};
process.once('SIGINT', () => {
  say('\ninterrupted: stopping the judge, Prometheus and the exporter');
  stop(130);
});
process.once('SIGTERM', () => stop(143));

main()
  .then(() => stop(process.exitCode === undefined ? 0 : Number(process.exitCode)))
  .catch((e: unknown) => {
    process.stderr.write(`demo failed: ${e instanceof Error ? e.message : String(e)}\n`);
    stop(1);
  });
