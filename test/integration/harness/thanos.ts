/**
 * A small Thanos installation on loopback, for the judge behind a query layer: real Prometheus
 * servers (the Debian package's binary, backfilled with promtool like the other integration
 * tests) with external labels `cluster` and `replica`, a Thanos sidecar beside each, and Thanos
 * Query instances in front of all the sidecars, with or without a replica label to deduplicate
 * on. The Thanos binary comes from scripts/thanos.sh (built from the Go module proxy and cached
 * by version); THANOS_BIN names one already built.
 */

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { backfill, prometheusArgs, PROMETHEUS_BIN } from '../../support/prometheus.js';
import { freePort } from '../../support/net.js';

const REPO = resolve(import.meta.dirname, '../../..');

/** The Thanos binary: THANOS_BIN, else the one scripts/thanos.sh builds (or finds cached). */
export function thanosBin(): string {
  const given = process.env['THANOS_BIN'];
  if (given !== undefined && given !== '') return given;
  const dir = execFileSync('bash', [join(REPO, 'scripts/thanos.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim();
  return join(dir, 'thanos');
}

/** One long-running process of the installation, its log kept for a failure message. */
class Proc {
  private child: ChildProcess | undefined;
  private log = '';

  constructor(
    readonly name: string,
    private readonly bin: string,
    private readonly args: readonly string[],
  ) {}

  start(): void {
    this.log = '';
    const c = spawn(this.bin, this.args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = c;
    const collect = (b: Buffer): void => {
      this.log += b.toString();
      if (this.log.length > 100_000) this.log = this.log.slice(-50_000);
    };
    c.stdout?.on('data', collect);
    c.stderr?.on('data', collect);
  }

  exited(): boolean {
    return this.child === undefined || this.child.exitCode !== null || this.child.signalCode !== null;
  }

  tail(): string {
    return `${this.name}:\n${this.log.slice(-4000)}`;
  }

  async stop(): Promise<void> {
    const c = this.child;
    this.child = undefined;
    if (c === undefined || c.exitCode !== null || c.signalCode !== null) return;
    await new Promise<void>((done) => {
      const timer = setTimeout(() => c.kill('SIGKILL'), 10_000);
      c.once('exit', () => {
        clearTimeout(timer);
        done();
      });
      c.kill('SIGTERM');
    });
  }
}

async function waitReady(url: string, proc: Proc, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.exited()) throw new Error(`${proc.name} exited\n${proc.tail()}`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${proc.name} not ready within ${timeoutMs} ms\n${proc.tail()}`);
}

export interface ReplicaSpec {
  /** External labels of this Prometheus. */
  readonly cluster: string;
  readonly replica: string;
  /** OpenMetrics text backfilled before it starts. */
  readonly openMetrics: string;
}

export interface ReplicaHandle extends ReplicaSpec {
  /** The Prometheus itself, for the judge asked directly. */
  readonly prometheusUrl: string;
  /** Stops the sidecar: its store drops out of every Thanos Query. */
  stopSidecar(): Promise<void>;
  /** Starts it again on the same ports and waits until it is ready. */
  startSidecar(): Promise<void>;
}

export interface QuerySpec {
  /** --query.replica-label values: deduplication on these labels; none = deduplication off. */
  readonly replicaLabels: readonly string[];
  /**
   * The stores as strict endpoints (--endpoint-strict): kept in the set while they are down, so
   * a query fails (or warns) instead of answering from the other stores as if it had them all.
   */
  readonly strict?: boolean;
}

export interface ThanosHandle {
  readonly replicas: readonly ReplicaHandle[];
  /** Thanos Query base URLs, one per QuerySpec, in order. */
  readonly queries: readonly string[];
  close(): Promise<void>;
}

/**
 * Starts every Prometheus (backfilled, external labels set) with its sidecar, then the Thanos
 * Query instances over all sidecars, and waits until each query instance sees every store.
 */
export async function startThanos(
  replicas: readonly ReplicaSpec[],
  querySpecs: readonly QuerySpec[],
): Promise<ThanosHandle> {
  const bin = thanosBin();
  const root = await mkdtemp(join(tmpdir(), 'canary-judge-thanos-'));
  const procs: Proc[] = [];
  const handles: ReplicaHandle[] = [];
  const close = async (): Promise<void> => {
    for (const p of [...procs].reverse()) await p.stop();
    await rm(root, { recursive: true, force: true });
  };
  try {
    const grpcEndpoints: string[] = [];
    await Promise.all(
      replicas.map(async (spec, i) => {
        const dir = join(root, `prom-${i}`);
        const dataDir = join(dir, 'data');
        await mkdir(dataDir, { recursive: true });
        const configFile = join(dir, 'prometheus.yml');
        await writeFile(
          configFile,
          [
            'global:',
            '  scrape_interval: 15s',
            '  external_labels:',
            `    cluster: ${JSON.stringify(spec.cluster)}`,
            `    replica: ${JSON.stringify(spec.replica)}`,
            'scrape_configs: []',
            '',
          ].join('\n'),
        );
        await backfill(spec.openMetrics, dataDir);
        const port = await freePort();
        const prom = new Proc(
          `prometheus ${spec.cluster}/${spec.replica}`,
          PROMETHEUS_BIN,
          prometheusArgs({ configFile, dataDir, port, retention: '30d' }),
        );
        procs.push(prom);
        prom.start();
        const prometheusUrl = `http://127.0.0.1:${port}`;
        await waitReady(`${prometheusUrl}/-/ready`, prom);
        const [grpcPort, httpPort] = [await freePort(), await freePort()];
        const sidecar = new Proc(`sidecar ${spec.cluster}/${spec.replica}`, bin, [
          'sidecar',
          `--prometheus.url=${prometheusUrl}`,
          `--tsdb.path=${dataDir}`,
          `--grpc-address=127.0.0.1:${grpcPort}`,
          `--http-address=127.0.0.1:${httpPort}`,
          '--log.level=warn',
        ]);
        procs.push(sidecar);
        const startSidecar = async (): Promise<void> => {
          sidecar.start();
          await waitReady(`http://127.0.0.1:${httpPort}/-/ready`, sidecar);
        };
        await startSidecar();
        grpcEndpoints[i] = `127.0.0.1:${grpcPort}`;
        handles[i] = { ...spec, prometheusUrl, stopSidecar: () => sidecar.stop(), startSidecar };
      }),
    );
    const queries: string[] = [];
    for (const [i, q] of querySpecs.entries()) {
      const [httpPort, grpcPort] = [await freePort(), await freePort()];
      const query = new Proc(`query ${i}`, bin, [
        'query',
        `--http-address=127.0.0.1:${httpPort}`,
        `--grpc-address=127.0.0.1:${grpcPort}`,
        ...grpcEndpoints.map((e) => (q.strict === true ? `--endpoint-strict=${e}` : `--endpoint=${e}`)),
        ...q.replicaLabels.map((l) => `--query.replica-label=${l}`),
        // Find a store back quickly after it was stopped and started.
        '--endpoint.info-timeout=2s',
        '--log.level=warn',
      ]);
      procs.push(query);
      query.start();
      const url = `http://127.0.0.1:${httpPort}`;
      await waitReady(`${url}/-/ready`, query);
      await waitForStores(url, replicas.length, query);
      queries.push(url);
    }
    return { replicas: handles, queries, close };
  } catch (e) {
    const detail = tails(procs);
    await close();
    throw new Error(`${e instanceof Error ? e.message : String(e)}\n${detail}`);
  }
}

/** Waits until Thanos Query answers with the external labels of `n` stores. */
export async function waitForStores(url: string, n: number, proc?: Proc, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  // Backfilled history ends before now: look back far enough to find it.
  const q = encodeURIComponent(
    'count(count by (cluster, replica) (last_over_time(istio_requests_total[3h])))',
  );
  let last = '';
  while (Date.now() < deadline) {
    if (proc?.exited() === true) throw new Error(`${proc.name} exited\n${proc.tail()}`);
    try {
      // dedup=false: the replicas count apart even where the instance deduplicates them.
      const res = await fetch(`${url}/api/v1/query?query=${q}&dedup=false&partial_response=true`);
      last = await res.text();
      const body = JSON.parse(last) as { data?: { result?: { value?: [number, string] }[] } };
      if (Number(body.data?.result?.[0]?.value?.[1]) >= n) return;
    } catch {
      // not answering yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`Thanos Query at ${url} did not see ${n} stores: ${last}${proc ? `\n${proc.tail()}` : ''}`);
}

/** Every process's last log lines, for a failure message. */
function tails(procs: readonly Proc[]): string {
  return procs.map((p) => p.tail()).join('\n');
}
