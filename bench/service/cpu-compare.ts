/**
 * CPU per analysis of two judge builds side by side, against one real Prometheus: the measure of
 * load.ts ("CPU per analysis": two-check analyses — error rate, latency at the stable's p99 —
 * over 31 one-minute intervals, one after the other, the judge process' user + system CPU from
 * /proc/<pid>/stat divided by the analyses), taken in alternating rounds so that both builds see
 * the same machine load, and reported as the median (and range) over the rounds.
 *
 *   npx tsx bench/service/cpu-compare.ts --before DIR [--rounds 7] [--analyses 100] [--warmup 50]
 *     [--compiled] [--out FILE] [--profile DIR]
 *
 * DIR: another checkout of the project (its src/ is run with this checkout's node_modules),
 * e.g. `git archive <commit> src package.json | tar -x -C DIR`; "after" is this checkout.
 * --warmup N: analyses each judge answers before the rounds (default 50). V8 keeps compiling
 *   the judge's hot code for the first few thousand analyses; a larger N measures a judge that
 *   has been up for a while.
 * --compiled: run each build as the image does (`node dist/src/main.js`), compiling its src/
 *   with this checkout's tsconfig.build.json first, instead of under tsx (`node --import tsx
 *   src/main.ts`, the default, as measured before).
 * --profile DIR: the "after" judge writes a V8 CPU profile there (node --cpu-prof) on exit.
 */

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
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
const BEFORE = arg('before');
const ROUNDS = Number(arg('rounds') ?? 7);
const ANALYSES = Number(arg('analyses') ?? 100);
const OUT = arg('out');
const PROFILE = arg('profile');
const WARMUP = Number(arg('warmup') ?? 50);
const COMPILED = process.argv.includes('--compiled');
const NAMES: ScenarioName[] = ['healthy', 'error-3x', 'slow-tail', 'no-canary', 'counter-reset'];
/** Linux clock ticks per second (USER_HZ). */
const CLK_TCK = 100;

function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(rest[11]) + Number(rest[12])) / CLK_TCK;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const r2 = (x: number): number => Math.round(x * 100) / 100;

interface Judge {
  readonly name: string;
  readonly child: ChildProcess;
  readonly url: string;
}

/** Compiles `dir`'s src/ into `dir`/dist with this checkout's build settings (`npm run build`). */
function compile(dir: string): void {
  const here = dir === resolve('.');
  const config = here ? resolve('tsconfig.build.json') : join(dir, 'tsconfig.cpu-compare.json');
  if (!here)
    writeFileSync(
      config,
      JSON.stringify({
        extends: resolve('tsconfig.build.json'),
        compilerOptions: { rootDir: '.', outDir: 'dist' },
        include: ['src'],
      }),
    );
  execFileSync(process.execPath, [resolve('node_modules/typescript/bin/tsc'), '-p', config], {
    stdio: 'inherit',
  });
}

async function startJudge(
  name: string,
  dir: string,
  prometheusUrl: string,
  profile?: string,
): Promise<Judge> {
  const port = await freePort();
  const prof = profile === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', resolve(profile)];
  const entry = COMPILED ? ['dist/src/main.js'] : ['--import', 'tsx', 'src/main.ts'];
  const child = spawn(process.execPath, [...prof, ...entry], {
    cwd: dir,
    env: {
      PATH: process.env['PATH'] ?? '',
      CANARY_JUDGE_PROMETHEUS_URL: prometheusUrl,
      CANARY_JUDGE_HOST: '127.0.0.1',
      CANARY_JUDGE_PORT: String(port),
      CANARY_JUDGE_GRPC_PORT: 'off',
      CANARY_JUDGE_LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch {
      // starting
    }
    if (i > 300) throw new Error(`${name}: judge did not start`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { name, child, url };
}

/**
 * The fields in which two lists of answers differ (array indexes as `[]`, so the same field of
 * every check and scenario is one entry), each with the largest relative difference of a number
 * found there, or `null` when a difference is not between two numbers.
 */
function differences(before: readonly string[], after: readonly string[]): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  const note = (path: string, d: number | null): void => {
    const prev = out[path];
    out[path] = d === null || prev === null ? null : Math.max(prev ?? 0, d);
  };
  const walk = (a: unknown, b: unknown, path: string): void => {
    if (typeof a === 'number' && typeof b === 'number') {
      if (a !== b) note(path, Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b)));
    } else if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
      a.forEach((x, i) => walk(x, b[i], `${path}[]`));
    } else if (
      a !== null &&
      b !== null &&
      typeof a === 'object' &&
      typeof b === 'object' &&
      !Array.isArray(a)
    ) {
      for (const k of new Set([...Object.keys(a), ...Object.keys(b)]))
        walk(
          (a as Record<string, unknown>)[k],
          (b as Record<string, unknown>)[k],
          path === '' ? k : `${path}.${k}`,
        );
    } else if (JSON.stringify(a) !== JSON.stringify(b)) note(path, null);
  };
  before.forEach((x, i) => walk(JSON.parse(x), JSON.parse(after[i] ?? 'null'), ''));
  return out;
}

async function main(): Promise<void> {
  if (BEFORE === undefined) throw new Error('--before DIR is required');
  const before = resolve(BEFORE);
  if (!existsSync(join(before, 'node_modules')))
    symlinkSync(resolve('node_modules'), join(before, 'node_modules'));
  if (COMPILED) {
    process.stderr.write('cpu-compare: compiling both builds…\n');
    compile(before);
    compile(resolve('.'));
  }
  const now = Math.floor(Date.now() / 1000);
  const t0 = Math.floor((now - 3600 - 600) / 60) * 60;
  process.stderr.write('cpu-compare: backfilling 1 h of history for 5 scenarios and starting Prometheus…\n');
  const prom = await startPrometheus({ backfill: openMetrics(combined(NAMES, 42), t0, 3600, 15) });
  const judges = [
    await startJudge('before', before, prom.url),
    await startJudge('after', '.', prom.url, PROFILE),
  ];
  let n = 0;
  const body = (): string => {
    const ns = NAMES[n++ % NAMES.length] as string;
    return JSON.stringify({
      rollout: { name: 'catalogo', namespace: ns },
      selector: { mode: 'pod-hash', canary: CANARY_HASH, stable: STABLE_HASH },
      start: new Date(t0 * 1000).toISOString(),
      end: new Date((t0 + 31 * 60) * 1000).toISOString(),
      interval: '60s',
      checks: [{ type: 'error-rate' }, { type: 'latency', quantile: 0.99 }],
    });
  };
  const analyze = async (j: Judge): Promise<{ queries: number; verdict: string; answer: string }> => {
    const res = await fetch(`${j.url}/api/v1/analyses`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: body(),
    });
    const b = (await res.json()) as { verdict?: string; timing?: { queries: number } };
    if (res.status !== 200) throw new Error(`${j.name}: analysis failed with ${res.status}`);
    // The whole answer but its timing (wall times differ from run to run).
    const answer = JSON.stringify({ ...b, timing: undefined });
    return { queries: b.timing?.queries ?? Number.NaN, verdict: b.verdict ?? '', answer };
  };
  try {
    const verdicts: Record<string, string[]> = { before: [], after: [] };
    const answers: Record<string, string[]> = { before: [], after: [] };
    const queries: Record<string, number> = {};
    for (const j of judges) {
      for (let i = 0; i < WARMUP; i++) await analyze(j);
      n = 0;
      for (let i = 0; i < NAMES.length; i++) {
        const a = await analyze(j);
        verdicts[j.name]?.push(a.verdict);
        answers[j.name]?.push(a.answer);
        queries[j.name] = a.queries;
      }
    }
    const perRound: Record<string, number[]> = { before: [], after: [] };
    const load: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      // Alternate which build goes first.
      for (const j of round % 2 === 0 ? judges : [...judges].reverse()) {
        const pid = j.child.pid as number;
        const c0 = cpuSeconds(pid);
        for (let i = 0; i < ANALYSES; i++) await analyze(j);
        perRound[j.name]?.push(((cpuSeconds(pid) - c0) * 1000) / ANALYSES);
      }
      load.push(loadavg()[0] as number);
      process.stderr.write(
        `cpu-compare: round ${round + 1}: before ${r2(perRound['before']?.at(-1) ?? 0)} ms, after ${r2(perRound['after']?.at(-1) ?? 0)} ms\n`,
      );
    }
    const result = {
      date: new Date().toISOString(),
      node: process.version,
      rounds: ROUNDS,
      analysesPerRound: ANALYSES,
      warmupAnalyses: WARMUP,
      judgeRuns: COMPILED ? 'node dist/src/main.js' : 'node --import tsx src/main.ts',
      loadAverage1m: { min: r2(Math.min(...load)), max: r2(Math.max(...load)) },
      queriesPerAnalysis: queries,
      sameVerdicts: JSON.stringify(verdicts['before']) === JSON.stringify(verdicts['after']),
      // Every field of the five answers (counts, e-values, summaries, queries…), timing aside.
      sameAnswers: JSON.stringify(answers['before']) === JSON.stringify(answers['after']),
      // Where they differ: each field, with the largest relative difference of a number there.
      answerDifferences: differences(answers['before'] ?? [], answers['after'] ?? []),
      verdicts,
      cpuMsPerAnalysis: Object.fromEntries(
        Object.entries(perRound).map(([k, v]) => [
          k,
          { median: r2(median(v)), min: r2(Math.min(...v)), max: r2(Math.max(...v)), rounds: v.map(r2) },
        ]),
      ),
    };
    const text = JSON.stringify(result, null, 2);
    process.stdout.write(`${text}\n`);
    if (OUT !== undefined) writeFileSync(OUT, `${text}\n`);
  } finally {
    for (const j of judges) {
      const exited = new Promise((r) => j.child.once('exit', r));
      j.child.kill('SIGTERM');
      await exited;
    }
    await prom.close();
  }
}

void main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
