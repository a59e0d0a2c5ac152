/**
 * A synthetic exporter of Istio-shaped metrics for catalogo v1.1 (stable) and v1.2 (canary),
 * advancing in real time (one simulated second per second, deterministic from the seed).
 *
 *   node --import tsx test/integration/harness/exporter.ts --port 9400 --scenario healthy[,error-3x,...]
 *       [--namespace NS] [--scale 1] [--seed 42]
 *
 * Each scenario goes to its own namespace (the scenario name, or --namespace when only one).
 * Endpoints: GET /metrics (Prometheus text), GET /state (workloads and true totals as JSON),
 * POST /control {"namespace","side":"canary"|"stable","rps"?,"errorRate"?,"slowFraction"?}
 * to change a workload's traffic while running (e.g. follow live traffic weights).
 *
 * Run it with `node --import tsx` (not through npx) so SIGTERM/SIGINT reach it and it exits cleanly.
 */

import { createServer, type Server } from 'node:http';
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import {
  CANARY_HASH,
  STABLE_HASH,
  isScenarioName,
  scenarioWorkloads,
  type ScenarioName,
} from './scenarios.js';
import { Simulation, exposition, type ScenarioSpec } from './simulation.js';

export interface ExporterOptions {
  readonly spec: ScenarioSpec;
  readonly port?: number;
  readonly host?: string;
}

export interface ExporterHandle {
  readonly url: string;
  readonly port: number;
  /** host:port, for a scrape config. */
  readonly target: string;
  readonly sim: Simulation;
  close(): Promise<void>;
}

export async function startExporter(options: ExporterOptions): Promise<ExporterHandle> {
  const sim = new Simulation(options.spec);
  const started = Date.now();
  const catchUp = (): void => {
    const elapsed = Math.floor((Date.now() - started) / 1000);
    while (sim.t < elapsed) sim.tick();
  };
  const timer = setInterval(catchUp, 250);
  timer.unref();

  const server: Server = createServer((req, res) => {
    catchUp();
    if (req.method === 'GET' && req.url === '/metrics') {
      res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' });
      res.end(exposition(sim));
      return;
    }
    if (req.method === 'GET' && req.url === '/state') {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(
        JSON.stringify({
          t: sim.t,
          workloads: options.spec.workloads.map((w, i) => ({ ...sim.workload(i), totals: sim.totals(i) })),
        }),
      );
      return;
    }
    if (req.method === 'POST' && req.url === '/control') {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        try {
          const c = JSON.parse(body) as {
            namespace?: string;
            side?: string;
            rps?: number;
            errorRate?: number;
            slowFraction?: number;
          };
          const hash = c.side === 'canary' ? CANARY_HASH : c.side === 'stable' ? STABLE_HASH : undefined;
          if (hash === undefined) throw new Error('side must be canary or stable');
          let n = 0;
          options.spec.workloads.forEach((w, i) => {
            if (
              w.hash !== hash ||
              w.rollout !== 'catalogo' ||
              (c.namespace !== undefined && w.namespace !== c.namespace)
            )
              return;
            const live = sim.workload(i);
            if (typeof c.rps === 'number') live.rps = c.rps;
            if (typeof c.errorRate === 'number') live.errorRate = c.errorRate;
            if (typeof c.slowFraction === 'number') live.slowFraction = c.slowFraction;
            n++;
          });
          res.writeHead(200, { 'Content-Type': 'application/json' });
          res.end(JSON.stringify({ updated: n }));
        } catch (e) {
          res.writeHead(400, { 'Content-Type': 'application/json' });
          res.end(JSON.stringify({ error: e instanceof Error ? e.message : String(e) }));
        }
      });
      return;
    }
    res.writeHead(404, { 'Content-Type': 'application/json' });
    res.end('{"error":"not found"}');
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, resolve);
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
  return {
    url: `http://${host}:${port}`,
    port,
    target: `${host}:${port}`,
    sim,
    close: () =>
      new Promise<void>((resolve) => {
        clearInterval(timer);
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function flag(argv: readonly string[], name: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  if (i >= 0) return argv[i + 1];
  return argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
}

async function cli(argv: readonly string[]): Promise<void> {
  const names = (flag(argv, 'scenario') ?? 'healthy').split(',');
  const bad = names.filter((n) => !isScenarioName(n));
  if (bad.length > 0) throw new Error(`unknown scenario(s): ${bad.join(', ')}`);
  const ns = flag(argv, 'namespace');
  if (ns !== undefined && names.length > 1) throw new Error('--namespace needs a single --scenario');
  const scale = Number(flag(argv, 'scale') ?? '1');
  const seed = Number(flag(argv, 'seed') ?? '42');
  const spec: ScenarioSpec = {
    seed,
    workloads: (names as ScenarioName[]).flatMap((n) => scenarioWorkloads(n, ns ?? n, scale)),
  };
  const e = await startExporter({ spec, port: Number(flag(argv, 'port') ?? '0') });
  process.stdout.write(`exporter serving ${names.join(',')} at ${e.url}/metrics\n`);
  const stop = (): void => {
    void e.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

const entry = process.argv[1];
if (entry !== undefined && import.meta.url === pathToFileURL(realpathSync(entry)).href) {
  cli(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
