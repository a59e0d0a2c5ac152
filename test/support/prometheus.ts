/**
 * Starts a real Prometheus on a free loopback port with a temporary data directory, optionally
 * backfilled with `promtool tsdb create-blocks-from openmetrics` and/or scraping targets. The
 * binary is `$PROMETHEUS_BIN`, by default `prometheus` on PATH (Debian's 2.42); the integration
 * stage runs again with Prometheus 3 (scripts/prometheus3.sh). The blocks always come from
 * Debian's promtool (`$PROMTOOL_BIN`): Prometheus 3 reads them as it reads blocks a 2.x server
 * left behind. Stoppable and restartable on the same port and data, so tests can take Prometheus
 * away mid-analysis and bring it back.
 *
 * Also a script: `node --import tsx test/support/prometheus.ts --port 9090 --scrape 127.0.0.1:9400
 * [--scrape-interval 1s] [--backfill file.om] [--data DIR]` runs until SIGINT/SIGTERM.
 */

import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { pathToFileURL } from 'node:url';
import { realpathSync } from 'node:fs';
import { freePort } from './net.js';

const run = promisify(execFile);

export const PROMETHEUS_BIN = process.env['PROMETHEUS_BIN'] ?? 'prometheus';
export const PROMTOOL_BIN = process.env['PROMTOOL_BIN'] ?? 'promtool';

/** A scrape configuration: one job, `honor_labels` kept (as a kubernetes_sd relabelling would). */
export function scrapeConfig(o: {
  readonly job: string;
  readonly targets: readonly string[];
  readonly interval: string;
  readonly timeout?: string;
}): string {
  return [
    'global:',
    `  scrape_interval: ${o.interval}`,
    ...(o.timeout === undefined ? [] : [`  scrape_timeout: ${o.timeout}`]),
    `  evaluation_interval: ${o.interval}`,
    'scrape_configs:',
    `  - job_name: ${o.job}`,
    '    honor_labels: true',
    '    static_configs:',
    `      - targets: [${o.targets.map((t) => JSON.stringify(t)).join(', ')}]`,
    '',
  ].join('\n');
}

/** The command line every launcher here uses: loopback only, warnings only. */
export function prometheusArgs(o: {
  readonly configFile: string;
  readonly dataDir: string;
  readonly port: number;
  readonly retention: string;
}): string[] {
  return [
    `--config.file=${o.configFile}`,
    `--storage.tsdb.path=${o.dataDir}`,
    `--web.listen-address=127.0.0.1:${o.port}`,
    `--storage.tsdb.retention.time=${o.retention}`,
    '--log.level=warn',
  ];
}

export interface PrometheusOptions {
  /** OpenMetrics text to backfill before the first start. */
  readonly backfill?: string;
  /** host:port targets to scrape (path /metrics). */
  readonly scrape?: readonly string[];
  /** Scrape interval, e.g. "1s" (default 1s, to keep tests quick). */
  readonly scrapeInterval?: string;
  readonly port?: number;
  /** Existing data directory (kept on stop); default: a new temp dir removed on stop. */
  readonly dataDir?: string;
  /** Print Prometheus' own log lines (default: only on failure). */
  readonly verbose?: boolean;
}

export interface PrometheusHandle {
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  /** Stops the process (SIGTERM), keeps the data. */
  stop(): Promise<void>;
  /** Starts it again on the same port and data. */
  start(): Promise<void>;
  /** Freezes the process (SIGSTOP): connections are accepted by the kernel, never answered. */
  pause(): void;
  /** Thaws it (SIGCONT). */
  resume(): void;
  /** Stops and removes the temp directory. */
  close(): Promise<void>;
}

/** Converts OpenMetrics text into TSDB blocks inside `dataDir`. */
export async function backfill(openMetricsText: string, dataDir: string): Promise<void> {
  const file = join(dataDir, 'backfill.om');
  await writeFile(file, openMetricsText);
  try {
    await run(PROMTOOL_BIN, ['tsdb', 'create-blocks-from', 'openmetrics', file, dataDir], {
      maxBuffer: 64 * 1024 * 1024,
    });
  } finally {
    await rm(file, { force: true });
  }
}

export async function startPrometheus(options: PrometheusOptions = {}): Promise<PrometheusHandle> {
  const root = await mkdtemp(join(tmpdir(), 'canary-judge-prom-'));
  const dataDir = options.dataDir ?? join(root, 'data');
  const port = options.port ?? (await freePort());
  const configFile = join(root, 'prometheus.yml');
  const interval = options.scrapeInterval ?? '1s';
  const targets = options.scrape ?? [];
  await writeFile(configFile, scrapeConfig({ job: 'synthetic', targets, interval }));
  if (options.backfill !== undefined) {
    await run('mkdir', ['-p', dataDir]);
    await backfill(options.backfill, dataDir);
  }

  let child: ChildProcess | undefined;
  let log = '';
  const url = `http://127.0.0.1:${port}`;

  async function start(): Promise<void> {
    log = '';
    const c = spawn(PROMETHEUS_BIN, prometheusArgs({ configFile, dataDir, port, retention: '30d' }), {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = c;
    const collect = (b: Buffer): void => {
      log += b.toString();
      if (log.length > 100_000) log = log.slice(-50_000);
      if (options.verbose === true) process.stderr.write(b);
    };
    c.stdout?.on('data', collect);
    c.stderr?.on('data', collect);
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if (c.exitCode !== null) throw new Error(`prometheus exited with ${c.exitCode}:\n${log}`);
      try {
        const res = await fetch(`${url}/-/ready`);
        if (res.ok) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    c.kill('SIGKILL');
    throw new Error(`prometheus did not become ready within 30s:\n${log}`);
  }

  async function stop(): Promise<void> {
    const c = child;
    child = undefined;
    if (c === undefined || c.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => c.kill('SIGKILL'), 10_000);
      c.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      c.kill('SIGTERM');
    });
  }

  await start();
  return {
    url,
    port,
    dataDir,
    stop,
    start,
    pause() {
      child?.kill('SIGSTOP');
    },
    resume() {
      child?.kill('SIGCONT');
    },
    async close() {
      child?.kill('SIGCONT');
      await stop();
      await rm(root, { recursive: true, force: true });
    },
  };
}

/** Waits until `query` (instant) returns at least one series, or throws after `timeoutMs`. */
export async function waitForSeries(url: string, query: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(query)}`);
    const body = (await res.json()) as { data?: { result?: unknown[] } };
    if ((body.data?.result?.length ?? 0) > 0) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`no series for ${query} within ${timeoutMs} ms`);
}

function arg(name: string, argv: readonly string[]): string[] {
  const out: string[] = [];
  argv.forEach((a, i) => {
    if (a === `--${name}` && argv[i + 1] !== undefined) out.push(argv[i + 1] as string);
    else if (a.startsWith(`--${name}=`)) out.push(a.slice(name.length + 3));
  });
  return out;
}

async function cli(argv: readonly string[]): Promise<void> {
  const port = arg('port', argv)[0];
  const backfillFile = arg('backfill', argv)[0];
  const data = arg('data', argv)[0];
  const interval = arg('scrape-interval', argv)[0];
  const { readFile } = await import('node:fs/promises');
  const p = await startPrometheus({
    scrape: arg('scrape', argv),
    ...(port === undefined ? {} : { port: Number(port) }),
    ...(backfillFile === undefined ? {} : { backfill: await readFile(backfillFile, 'utf8') }),
    ...(data === undefined ? {} : { dataDir: data }),
    ...(interval === undefined ? {} : { scrapeInterval: interval }),
    verbose: argv.includes('--verbose'),
  });
  process.stdout.write(`prometheus ready at ${p.url} (data ${p.dataDir})\n`);
  const shutdown = (): void => {
    void p.close().then(() => process.exit(0));
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

const entry = process.argv[1];
if (entry !== undefined && import.meta.url === pathToFileURL(realpathSync(entry)).href) {
  cli(process.argv.slice(2)).catch((e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
