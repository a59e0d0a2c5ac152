/**
 * Service overhead benchmark: what the judge adds on top of Prometheus, per analysis, and how
 * many analyses one judge process answers with 50 running at once.
 *
 *   npx tsx bench/service/run.ts [--sequential 300] [--concurrency 50] [--seconds 20] [--out FILE]
 *
 * Setup: a real Prometheus (Debian package) backfilled by promtool with one hour of
 * Istio-shaped history for five scenarios (test/integration/harness), and the judge as its
 * own process (`node --import tsx src/main.ts`), both on loopback.
 *
 * Phase 1 (sequential): one analysis at a time (error-rate + latency checks, 1 h window at 60 s:
 * 6 range queries). Judge overhead = the judge's own wall time minus the time during which at
 * least one Prometheus query was in flight (`timing.totalMs − timing.prometheusMs` in the
 * response), and the same from the client's side (HTTP round trip − prometheusMs).
 * Phase 2 (throughput): `concurrency` clients loop for `seconds`; analyses per second,
 * latency percentiles, errors, and the judge process' CPU time per analysis (from its own
 * process_cpu_seconds_total).
 */

import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { startPrometheus } from '../../test/support/prometheus.js';
import { freePort } from '../../test/support/net.js';
import { openMetrics } from '../../test/integration/harness/simulation.js';
import { startThanos } from '../../test/integration/harness/thanos.js';
import {
  CANARY_HASH,
  STABLE_HASH,
  combined,
  type ScenarioName,
} from '../../test/integration/harness/scenarios.js';

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
const outIdx = process.argv.indexOf('--out');
const OUT = outIdx >= 0 ? process.argv[outIdx + 1] : undefined;
const SEQUENTIAL = flag('sequential', 300);
const CONCURRENCY = flag('concurrency', 50);
const SECONDS = flag('seconds', 20);
/** --thanos: the same history in an HA pair of Prometheus servers behind sidecars and Thanos Query. */
const THANOS = process.argv.includes('--thanos');
const NAMES: ScenarioName[] = ['healthy', 'error-3x', 'slow-tail', 'no-canary', 'counter-reset'];

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? Number.NaN;
};
const r2 = (x: number): number => Math.round(x * 100) / 100;

interface Timing {
  totalMs: number;
  prometheusMs: number;
  queries: number;
}

async function main(): Promise<void> {
  const now = Math.floor(Date.now() / 1000);
  const t0 = Math.floor((now - 3600 - 600) / 60) * 60;
  process.stderr.write(
    `bench: backfilling 1 h of history for 5 scenarios and starting ${THANOS ? 'Thanos' : 'Prometheus'}…\n`,
  );
  const history = openMetrics(combined(NAMES, 42), t0, 3600, 15);
  const store = THANOS
    ? await startThanos(
        [
          { cluster: 'eu', replica: 'r0', openMetrics: history },
          { cluster: 'eu', replica: 'r1', openMetrics: history },
        ],
        [{ replicaLabels: ['replica'], strict: true }],
      ).then((t) => ({ url: t.queries[0] as string, close: () => t.close() }))
    : await startPrometheus({ backfill: history });
  const port = await freePort();
  const judge = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: {
      PATH: process.env['PATH'] ?? '',
      CANARY_JUDGE_PROMETHEUS_URL: store.url,
      CANARY_JUDGE_HOST: '127.0.0.1',
      CANARY_JUDGE_PORT: String(port),
      CANARY_JUDGE_GRPC_PORT: 'off',
      CANARY_JUDGE_LOG_LEVEL: 'warn',
      // Under 50-way load every analysis queues behind the others: give them room.
      CANARY_JUDGE_ANALYSIS_DEADLINE: '60s',
      CANARY_JUDGE_PROMETHEUS_TIMEOUT: '30s',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    for (let i = 0; ; i++) {
      try {
        if ((await fetch(`${url}/healthz`)).ok) break;
      } catch {
        // starting
      }
      if (i > 200) throw new Error('judge did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
    let n = 0;
    const body = (): string => {
      const ns = NAMES[n++ % NAMES.length] as string;
      return JSON.stringify({
        rollout: { name: 'catalogo', namespace: ns },
        selector: { mode: 'pod-hash', canary: CANARY_HASH, stable: STABLE_HASH },
        start: new Date(t0 * 1000).toISOString(),
        end: new Date((t0 + 3600) * 1000).toISOString(),
        interval: '60s',
        checks: [{ type: 'error-rate' }, { type: 'latency', quantile: 0.99 }],
      });
    };
    const analyze = async (): Promise<{ ms: number; status: number; timing?: Timing }> => {
      const s = performance.now();
      const res = await fetch(`${url}/api/v1/analyses`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: body(),
      });
      const j = (await res.json()) as { timing?: Timing };
      return { ms: performance.now() - s, status: res.status, ...(j.timing ? { timing: j.timing } : {}) };
    };
    const cpuSeconds = async (): Promise<number> => {
      const text = await (await fetch(`${url}/metrics`)).text();
      const m = /^canary_judge_process_cpu_seconds_total (\S+)$/m.exec(text);
      return m ? Number(m[1]) : Number.NaN;
    };

    process.stderr.write('bench: warm-up…\n');
    for (let i = 0; i < 30; i++) await analyze();

    process.stderr.write(`bench: ${SEQUENTIAL} sequential analyses…\n`);
    const judgeOverhead: number[] = [];
    const clientOverhead: number[] = [];
    const promMs: number[] = [];
    const totalMs: number[] = [];
    let queries = 0;
    for (let i = 0; i < SEQUENTIAL; i++) {
      const r = await analyze();
      if (r.status !== 200 || !r.timing) throw new Error(`analysis failed with ${r.status}`);
      judgeOverhead.push(r.timing.totalMs - r.timing.prometheusMs);
      clientOverhead.push(r.ms - r.timing.prometheusMs);
      promMs.push(r.timing.prometheusMs);
      totalMs.push(r.ms);
      queries = r.timing.queries;
    }

    process.stderr.write(`bench: ${CONCURRENCY} concurrent clients for ${SECONDS}s…\n`);
    const cpuBefore = await cpuSeconds();
    const deadline = performance.now() + SECONDS * 1000;
    const lat: number[] = [];
    const overheadUnderLoad: number[] = [];
    let errors = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (performance.now() < deadline) {
          const r = await analyze();
          if (r.status !== 200) errors++;
          else {
            lat.push(r.ms);
            if (r.timing) overheadUnderLoad.push(r.timing.totalMs - r.timing.prometheusMs);
          }
        }
      }),
    );
    const elapsed = (performance.now() - started) / 1000;
    const cpuAfter = await cpuSeconds();

    const result = {
      date: new Date().toISOString(),
      store: THANOS ? 'Thanos Query v0.42.5 over two Prometheus 2.42 replicas (sidecars)' : 'Prometheus 2.42',
      machine: { cpus: cpus().length, model: cpus()[0]?.model ?? 'unknown', node: process.versions.node },
      analysis: { checks: 2, queriesPerAnalysis: queries, window: '1h', interval: '60s', pointsPerQuery: 60 },
      sequential: {
        n: SEQUENTIAL,
        judgeOverheadMs: { median: r2(pct(judgeOverhead, 50)), p99: r2(pct(judgeOverhead, 99)) },
        clientObservedOverheadMs: { median: r2(pct(clientOverhead, 50)), p99: r2(pct(clientOverhead, 99)) },
        prometheusMs: { median: r2(pct(promMs, 50)), p99: r2(pct(promMs, 99)) },
        roundTripMs: { median: r2(pct(totalMs, 50)), p99: r2(pct(totalMs, 99)) },
      },
      concurrent: {
        clients: CONCURRENCY,
        seconds: r2(elapsed),
        analyses: lat.length,
        errors,
        analysesPerSecond: r2(lat.length / elapsed),
        latencyMs: { median: r2(pct(lat, 50)), p99: r2(pct(lat, 99)) },
        judgeOverheadMs: { median: r2(pct(overheadUnderLoad, 50)), p99: r2(pct(overheadUnderLoad, 99)) },
        judgeCpuMsPerAnalysis: r2(((cpuAfter - cpuBefore) * 1000) / Math.max(1, lat.length + errors)),
      },
    };
    const text = JSON.stringify(result, null, 2);
    process.stdout.write(`${text}\n`);
    if (OUT !== undefined) writeFileSync(OUT, `${text}\n`);
  } finally {
    judge.kill('SIGTERM');
    await new Promise((r) => judge.once('exit', r));
    await store.close();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
