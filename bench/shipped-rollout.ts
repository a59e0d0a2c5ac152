/**
 * The scorecard as shipped: the catalogo Rollout (rollouts/catalogo/rollout.yaml) with its
 * scorecard gates and background guard (analysis-templates/), run the way Argo Rollouts runs it,
 * both checks (error rate and latency) judged at every one-minute look by the project's own
 * decision code, on traffic shaped like Istio's metrics (bench/lib/shipped-traffic.ts).
 *
 *   npx tsx bench/shipped-rollout.ts                    # the full grid, N = 500 per cell, seed 1
 *   npx tsx bench/shipped-rollout.ts --quick            # the full grid at N = 50
 *   npx tsx bench/shipped-rollout.ts --rps 100 --p 0.001 --families identical
 *   npx tsx bench/shipped-rollout.ts --cell "errors ×2 R=100 p=0.001"   # one cell, same runs as in the full grid
 *
 * Writes bench/results/shipped-rollout.json (a quick or partial run: shipped-rollout-partial.json)
 * and prints markdown tables: per cell, the operators' sizing table, and the scorecard's targets.
 */
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildGrid, cellSeed, type Cell, type Family, type GridFilter } from './lib/shipped-grid.js';
import { shippedPlan, withMaxWait, type ShippedPlan } from './lib/shipped-plan.js';
import {
  checkTargets,
  planText,
  renderReport,
  summarizeCell,
  type CellSummary,
  type RunMeta,
} from './lib/shipped-report.js';
import type { RunOutcome } from './lib/shipped-sim.js';
import type { Job, JobResult } from './lib/shipped-worker.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');

const { values: flags } = parseArgs({
  options: {
    rollouts: { type: 'string' },
    seed: { type: 'string', default: '1' },
    rps: { type: 'string' },
    p: { type: 'string' },
    shapes: { type: 'string' },
    families: { type: 'string' },
    cell: { type: 'string', multiple: true },
    quick: { type: 'boolean', default: false },
    jobs: { type: 'string' },
    guard: { type: 'string', default: 'shared' },
    chunk: { type: 'string', default: '25' },
    'max-wait': { type: 'string' },
    'write-readme': { type: 'boolean', default: false },
    render: { type: 'string' },
    name: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});

const USAGE = `usage: npx tsx bench/shipped-rollout.ts [options]
  --rollouts N        runs per cell (500; --quick: 50)
  --seed S            master seed (1); cell seeds are hashes of it and the cell's key
  --rps 20,100,1000   total requests/s          --p 0,0.0001,0.001,0.005   stable 5xx rates
  --shapes 40/0.3,40/0.6,40/1,120/0.6  latency shapes (median ms/sigma)
  --families identical,errors,latency --cell "<substring of a cell key>" (repeatable)
  --quick             N = 50 (a few minutes)
  --jobs J            worker processes (min(2, cores))
  --guard shared|exact  shared (default): at a minute when a gate measures, the gate's Fail stands
                      for the guard's (every 20th such minute checked against the guard's own card);
                      exact: the guard's card is judged at every minute too
  --max-wait L        every gate waits up to L looks instead of its max-wait (sizing: the minutes
                      a gate would need where the shipped max-wait cannot suffice)
  --chunk 25          runs per job          --name F   results file bench/results/F.json
  --write-readme      put the tables into bench/README.md (between the shipped-rollout markers)
  --render FILE       print the tables of an earlier results file again (no simulation)`;
if (flags.help) {
  console.log(USAGE);
  process.exit(0);
}

function writeReadme(text: string): void {
  const readme = join(root, 'bench', 'README.md');
  const old = readFileSync(readme, 'utf8');
  const open = '<!-- shipped-rollout -->\n';
  const close = '<!-- /shipped-rollout -->';
  const a = old.indexOf(open);
  const b = old.indexOf(close);
  if (a < 0 || b < a) {
    console.error('bench/README.md: no shipped-rollout markers');
    process.exit(1);
  }
  writeFileSync(readme, `${old.slice(0, a + open.length)}${text}\n${old.slice(b)}`);
  console.error('wrote the tables into bench/README.md');
}

// --render: print (and --write-readme) the tables of an earlier run's results file again.
if (flags.render !== undefined) {
  const saved = JSON.parse(readFileSync(flags.render, 'utf8')) as RunMeta & {
    plan: ShippedPlan;
    cells: CellSummary[];
  };
  const text = renderReport(saved, saved.cells, saved.plan, checkTargets(saved.cells, saved.plan));
  console.log(text);
  if (flags['write-readme']) writeReadme(text);
  process.exit(0);
}

function numbers(flag: string, value: string | undefined): number[] | undefined {
  if (value === undefined) return undefined;
  const out = value.split(',').map(Number);
  if (out.length === 0 || out.some((v) => !Number.isFinite(v) || v < 0)) {
    console.error(`--${flag}: expected numbers separated by commas, got "${value}"`);
    process.exit(2);
  }
  return out;
}

const n = Number(flags.rollouts ?? (flags.quick ? '50' : '500'));
const seed = Number(flags.seed);
const jobs = Number(flags.jobs ?? String(Math.min(2, availableParallelism())));
const chunk = Number(flags.chunk);
const guardMode = flags.guard;
const maxWait = flags['max-wait'] === undefined ? undefined : Number(flags['max-wait']);
if (maxWait !== undefined && !(Number.isInteger(maxWait) && maxWait > 0)) {
  console.error('--max-wait: a positive integer');
  process.exit(2);
}
if (
  !(Number.isInteger(n) && n > 0) ||
  !Number.isInteger(seed) ||
  !(Number.isInteger(jobs) && jobs > 0) ||
  !(chunk > 0)
) {
  console.error(USAGE);
  process.exit(2);
}
if (guardMode !== 'shared' && guardMode !== 'exact') {
  console.error('--guard: shared or exact');
  process.exit(2);
}
const families = flags.families?.split(',') as Family[] | undefined;
const rpsFilter = numbers('rps', flags.rps);
const pFilter = numbers('p', flags.p);
const filter: GridFilter = {
  ...(rpsFilter === undefined ? {} : { rps: rpsFilter }),
  ...(pFilter === undefined ? {} : { p: pFilter }),
  ...(flags.shapes === undefined ? {} : { shapes: flags.shapes.split(',') }),
  ...(families === undefined ? {} : { families }),
  ...(flags.cell === undefined ? {} : { match: flags.cell }),
};
const partial =
  flags.quick || Object.keys(filter).length > 0 || flags.rollouts !== undefined || maxWait !== undefined;
const name = flags.name ?? (partial ? 'shipped-rollout-partial' : 'shipped-rollout');
const cells = buildGrid(filter);
if (cells.length === 0) {
  console.error('no cell matches the filters');
  process.exit(2);
}

const plan = maxWait === undefined ? shippedPlan() : withMaxWait(shippedPlan(), maxWait);
console.error(`plan: ${planText(plan)}`);

function git(args: string[]): string {
  try {
    return execFileSync('git', args, { cwd: root, encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
}
const srcCommit = git(['log', '-1', '--format=%h', '--', 'src']);
const srcDirty = git(['status', '--porcelain', '--', 'src']) !== '';
const planFiles = ['rollouts/catalogo', 'analysis-templates'];
const planCommit = git(['log', '-1', '--format=%h', '--', ...planFiles]);
const planDirty = git(['status', '--porcelain', '--', ...planFiles]) !== '';

// Jobs: chunks of runs, costly cells first (low traffic keeps gates waiting longest).
const cost = (c: Cell): number => (c.scenario.rps >= 1000 ? 1 : 3) * (c.family === 'identical' ? 2 : 1);
const order = [...cells].sort((a, b) => cost(b) - cost(a));
const queue: Job[] = [];
for (const c of order) {
  for (let from = 0; from < n; from += chunk) {
    queue.push({
      id: queue.length,
      key: c.key,
      scenario: c.scenario,
      seed: cellSeed(seed, c.key),
      from,
      to: Math.min(n, from + chunk),
      guard: guardMode,
      ...(maxWait === undefined ? {} : { maxWait }),
    });
  }
}
const cellIndex = new Map(cells.map((c, i) => [c.key, i]));
const outcomes: RunOutcome[][] = cells.map(() => new Array<RunOutcome>(n));
const remaining = cells.map(() => n);
const cpu = cells.map(() => 0);
let cellsDone = 0;
let runsDone = 0;
const total = cells.length * n;
const started = Date.now();
const elapsed = (): string => `${((Date.now() - started) / 1000).toFixed(0)} s`;

console.error(`${cells.length} cells × ${n} runs, ${jobs} worker process(es), guard ${guardMode}`);
const workerPath = join(here, 'lib', 'shipped-worker.ts');

await new Promise<void>((resolve, reject) => {
  let next = 0;
  let active = 0;
  const byId = new Map(queue.map((j) => [j.id, j]));
  const feed = (w: ChildProcess): void => {
    const job = queue[next++];
    if (job === undefined) {
      w.disconnect();
      if (--active === 0) resolve();
      return;
    }
    w.send(job);
  };
  for (let k = 0; k < Math.min(jobs, queue.length); k++) {
    const w = fork(workerPath, [], {
      execArgv: process.execArgv,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    active++;
    w.on('message', (r: JobResult) => {
      const job = byId.get(r.id) as Job;
      const ci = cellIndex.get(job.key) as number;
      r.outcomes.forEach((o, k2) => ((outcomes[ci] as RunOutcome[])[job.from + k2] = o));
      cpu[ci] = (cpu[ci] as number) + r.ms;
      runsDone += r.outcomes.length;
      remaining[ci] = (remaining[ci] as number) - r.outcomes.length;
      if (remaining[ci] === 0) {
        cellsDone++;
        console.error(
          `[${cellsDone}/${cells.length} cells, ${runsDone}/${total} runs, ${elapsed()}] ${job.key} (${(cpu[ci] / 1000).toFixed(1)} s CPU)`,
        );
      }
      feed(w);
    });
    w.on('error', reject);
    w.on('exit', (code) => {
      if (code !== 0 && code !== null) reject(new Error(`worker exited with ${code}`));
    });
    feed(w);
  }
});

const seconds = (Date.now() - started) / 1000;
const summaries: CellSummary[] = cells.map((c, i) =>
  summarizeCell(c, cellSeed(seed, c.key), plan, outcomes[i] as RunOutcome[], cpu[i] as number),
);
const args = process.argv.slice(2).map((a) => (/[\s×"]/.test(a) ? `"${a}"` : a));
const meta: RunMeta = {
  command: `npx tsx bench/shipped-rollout.ts${args.length > 0 ? ` ${args.join(' ')}` : ''}`,
  date: new Date().toISOString(),
  node: process.version,
  n,
  seed,
  jobs,
  guard: guardMode,
  seconds,
  cpuSeconds: cpu.reduce((s, v) => s + v, 0) / 1000,
  srcCommit,
  srcDirty,
  planCommit,
  planDirty,
};
const targets = checkTargets(summaries, plan);
const text = renderReport(meta, summaries, plan, targets);
console.log(text);
if (flags['write-readme']) writeReadme(text);
const mismatches = summaries.reduce((s, c) => s + c.guardMismatches, 0);
if (mismatches > 0)
  console.error(
    `WARNING: the guard's own card disagreed with the gate's Fail ${mismatches} time(s): rerun with --guard exact`,
  );

const file = join(root, 'bench', 'results', `${name}.json`);
mkdirSync(dirname(file), { recursive: true });
writeFileSync(file, `${JSON.stringify({ ...meta, plan, cells: summaries, targets }, null, 2)}\n`);
console.error(`wrote bench/results/${name}.json (${elapsed()})`);
