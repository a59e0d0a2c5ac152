/**
 * Load benchmark: the judge with its default settings (8 s analysis deadline, 16 analyses in
 * flight, a queue of 64 waiting up to 2 s) under 50 and then 200 concurrent clients for 60 s
 * each, and its CPU per analysis.
 *
 *   npx tsx bench/service/load.ts [--seconds 60] [--levels 50,200] [--sequential 200] [--out FILE]
 *
 * Setup as bench/service/run.ts: a real Prometheus (Debian package) backfilled with one hour of
 * Istio-shaped history for five scenarios, and the judge as its own process on loopback.
 *
 * Per level: answers per second, latency percentiles per kind of answer (verdict, 503
 * overloaded, 504, other), the share of answers given within the deadline, and the judge's
 * resident memory (VmRSS from /proc) before, at the end, and 10 s after the level.
 * CPU per analysis: `--sequential` analyses one after the other, each a two-check analysis
 * (error rate, latency at the stable's p99) over 31 one-minute intervals, CPU from the judge
 * process' /proc/<pid>/stat (user + system) over the whole run, divided by the analyses.
 */

import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { startPrometheus } from '../../test/support/prometheus.js';
import { freePort } from '../../test/support/net.js';
import { openMetrics } from '../../test/integration/harness/simulation.js';
import {
  CANARY_HASH,
  STABLE_HASH,
  combined,
  type ScenarioName,
} from '../../test/integration/harness/scenarios.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const SECONDS = Number(arg('seconds') ?? 60);
const LEVELS = (arg('levels') ?? '50,200').split(',').map(Number);
const SEQUENTIAL = Number(arg('sequential') ?? 200);
const OUT = arg('out');
const DEADLINE_MS = 8_000;
const NAMES: ScenarioName[] = ['healthy', 'error-3x', 'slow-tail', 'no-canary', 'counter-reset'];
/** Linux clock ticks per second (USER_HZ), 100 on every Linux Node runs on. */
const CLK_TCK = 100;

const pct = (xs: number[], p: number): number | null => {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? null;
};
const r1 = (x: number | null): number | null => (x === null ? null : Math.round(x * 10) / 10);

function rssMb(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : Number.NaN;
}

/** V8 heap in use (MB), from the judge's own /metrics: tells a leak from memory kept by the allocator. */
async function heapUsedMb(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = /^canary_judge_nodejs_heap_size_used_bytes (\S+)$/m.exec(text);
  return m ? Math.round(Number(m[1]) / 1024 / 1024) : Number.NaN;
}

/**
 * The judge's event-loop lag since the last scrape (prom-client resets it on each collection):
 * answers later than the deadline can only come from a loop that did not run.
 */
async function judgeLagMs(url: string): Promise<{ p99: number; max: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const get = (name: string): number =>
    Math.round(1000 * Number(new RegExp(`^canary_judge_${name} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN));
  return { p99: get('nodejs_eventloop_lag_p99_seconds'), max: get('nodejs_eventloop_lag_max_seconds') };
}

function cpuSeconds(pid: number): number {
  // Fields after the command name (which is in parentheses and may hold spaces).
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(rest[11]) + Number(rest[12])) / CLK_TCK;
}

async function main(): Promise<void> {
  const now = Math.floor(Date.now() / 1000);
  const t0 = Math.floor((now - 3600 - 600) / 60) * 60;
  process.stderr.write('load: backfilling 1 h of history for 5 scenarios and starting Prometheus…\n');
  const prom = await startPrometheus({ backfill: openMetrics(combined(NAMES, 42), t0, 3600, 15) });
  const port = await freePort();
  const judge = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: {
      PATH: process.env['PATH'] ?? '',
      CANARY_JUDGE_PROMETHEUS_URL: prom.url,
      CANARY_JUDGE_HOST: '127.0.0.1',
      CANARY_JUDGE_PORT: String(port),
      CANARY_JUDGE_GRPC_PORT: 'off',
      CANARY_JUDGE_LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const pid = judge.pid as number;
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
    /** Error rate + latency (stable p99) over `minutes` one-minute intervals of one scenario. */
    const body = (minutes: number): string => {
      const ns = NAMES[n++ % NAMES.length] as string;
      return JSON.stringify({
        rollout: { name: 'catalogo', namespace: ns },
        selector: { mode: 'pod-hash', canary: CANARY_HASH, stable: STABLE_HASH },
        start: new Date(t0 * 1000).toISOString(),
        end: new Date((t0 + minutes * 60) * 1000).toISOString(),
        interval: '60s',
        checks: [{ type: 'error-rate' }, { type: 'latency', quantile: 0.99 }],
      });
    };
    const analyze = async (
      minutes: number,
    ): Promise<{ ms: number; status: number; code: string | undefined }> => {
      const s = performance.now();
      try {
        const res = await fetch(`${url}/api/v1/analyses`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: body(minutes),
        });
        const j = (await res.json()) as { error?: { code?: string } };
        return { ms: performance.now() - s, status: res.status, code: j.error?.code };
      } catch (e) {
        return { ms: performance.now() - s, status: 0, code: e instanceof Error ? e.message : String(e) };
      }
    };

    process.stderr.write('load: warm-up…\n');
    for (let i = 0; i < 50; i++) await analyze(31);
    const rssStart = rssMb(pid);

    process.stderr.write(`load: ${SEQUENTIAL} sequential analyses for CPU…\n`);
    const cpu0 = cpuSeconds(pid);
    const seqMs: number[] = [];
    for (let i = 0; i < SEQUENTIAL; i++) {
      const r = await analyze(31);
      if (r.status !== 200) throw new Error(`analysis failed with ${r.status} ${r.code ?? ''}`);
      seqMs.push(r.ms);
    }
    const cpuPerAnalysisMs = ((cpuSeconds(pid) - cpu0) * 1000) / SEQUENTIAL;

    const levels = [];
    for (const clients of LEVELS) {
      const rssBefore = rssMb(pid);
      const heapBefore = await heapUsedMb(url);
      await judgeLagMs(url);
      const clientLag = monitorEventLoopDelay({ resolution: 20 });
      clientLag.enable();
      const load1Before = loadavg()[0] ?? Number.NaN;
      process.stderr.write(`load: ${clients} concurrent clients for ${SECONDS}s…\n`);
      const answers: { ms: number; status: number; code: string | undefined }[] = [];
      const cpuBefore = cpuSeconds(pid);
      const started = performance.now();
      const stopAt = started + SECONDS * 1000;
      let rssPeak = rssBefore;
      const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, rssMb(pid))), 500);
      await Promise.all(
        Array.from({ length: clients }, async () => {
          while (performance.now() < stopAt) {
            const r = await analyze(60);
            answers.push(r);
            // A refused client waits a little before retrying, as Argo does (there, 10 s).
            if (r.status === 503) await new Promise((res) => setTimeout(res, 100));
          }
        }),
      );
      clearInterval(sampler);
      const elapsed = (performance.now() - started) / 1000;
      const cpuUsed = cpuSeconds(pid) - cpuBefore;
      clientLag.disable();
      const judgeLag = await judgeLagMs(url);
      const load1After = loadavg()[0] ?? Number.NaN;
      const rssEnd = rssMb(pid);
      await new Promise((r) => setTimeout(r, 10_000));
      const rssAfter = rssMb(pid);
      const heapAfter = await heapUsedMb(url);
      const of = (pred: (a: (typeof answers)[number]) => boolean) => answers.filter(pred);
      const verdicts = of((a) => a.status === 200);
      const overloaded = of((a) => a.status === 503 && a.code === 'overloaded');
      const late = of((a) => a.status === 504);
      const other = of(
        (a) => a.status !== 200 && !(a.status === 503 && a.code === 'overloaded') && a.status !== 504,
      );
      const kinds = (xs: typeof answers) => ({
        count: xs.length,
        p50Ms: r1(
          pct(
            xs.map((a) => a.ms),
            50,
          ),
        ),
        p99Ms: r1(
          pct(
            xs.map((a) => a.ms),
            99,
          ),
        ),
        maxMs: r1(
          pct(
            xs.map((a) => a.ms),
            100,
          ),
        ),
      });
      levels.push({
        clients,
        seconds: r1(elapsed),
        answers: answers.length,
        verdictsPerSecond: r1(verdicts.length / elapsed),
        withinDeadline:
          Math.round((10_000 * of((a) => a.ms <= DEADLINE_MS).length) / Math.max(1, answers.length)) / 100,
        verdicts: kinds(verdicts),
        overloaded: kinds(overloaded),
        deadlineExceeded: kinds(late),
        other: {
          ...kinds(other),
          codes: [...new Set(other.map((a) => `${a.status} ${a.code ?? ''}`.trim()))],
        },
        judgeCpuMsPerVerdict: r1((cpuUsed * 1000) / Math.max(1, verdicts.length)),
        rssMb: { before: rssBefore, peak: rssPeak, end: rssEnd, after10s: rssAfter },
        heapUsedMb: { before: heapBefore, after10s: heapAfter },
        eventLoopLagMs: {
          judge: judgeLag,
          loadGenerator: {
            p99: Math.round(clientLag.percentile(99) / 1e6),
            max: Math.round(clientLag.max / 1e6),
          },
        },
        loadAverage1m: { before: r1(load1Before), after: r1(load1After) },
      });
    }

    const result = {
      date: new Date().toISOString(),
      machine: {
        cpus: cpus().length,
        model: cpus()[0]?.model ?? 'unknown',
        node: process.versions.node,
        loadavg1m: r1(loadavg()[0] ?? Number.NaN),
      },
      settings: {
        deadlineMs: DEADLINE_MS,
        maxAnalyses: 16,
        queue: 64,
        queueWaitMs: 2000,
        queryConcurrency: 4,
      },
      rssAtStartMb: rssStart,
      cpuPerAnalysis: {
        analyses: SEQUENTIAL,
        analysis: 'error-rate + latency (stable p99), 31 one-minute intervals, 7 range queries',
        judgeCpuMs: r1(cpuPerAnalysisMs),
        roundTripMs: { p50: r1(pct(seqMs, 50)), p99: r1(pct(seqMs, 99)) },
      },
      levels,
    };
    const text = JSON.stringify(result, null, 2);
    process.stdout.write(`${text}\n`);
    if (OUT !== undefined) writeFileSync(OUT, `${text}\n`);
  } finally {
    judge.kill('SIGTERM');
    await new Promise((r) => judge.once('exit', r));
    await prom.close();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`load failed: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
