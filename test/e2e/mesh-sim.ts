// Mesh simulator of the end-to-end test. The cluster's pods are fake (KWOK makes them Ready; no
// container runs), so this process plays the part of the Istio sidecars: every second it reads the
// live VirtualService weights, the DestinationRule subsets, the Services' selectors and the ready
// pods of each namespace it serves from the API server, splits a configurable request rate through
// each VirtualService's route by its current weights over the actual pods, draws errors and
// latencies per release (the pod's image tag), and
// exposes what Istio's standard metrics would show: istio_requests_total and
// istio_request_duration_milliseconds (reporter="destination" with the destination pod's name,
// and reporter="source" as seen by the ingress gateway). Prometheus scrapes /metrics.
// catalogo's pods also export the application's own counter, as the application would:
// catalogo_searches_total{namespace, pod, result="found"|"empty"} (SEARCH_SHARE of its requests
// are searches; the share with no result is the release's emptySearchRate).
//
// Control (JSON over HTTP, loopback only):
//   GET  /config, POST /config   {"rps":2000,"default":{...},"versions":{"v1.2":{"errorRate":0.005,"latencyMedianMs":40,"latencySigma":0.6}}}
//                                (rps: through each VirtualService; default until configured: REALISTIC below)
//   GET  /stats                  cumulative requests and failures per release and per pod, current weights
//
// Env: E2E_KUBE_SERVER, E2E_KUBE_TOKEN, E2E_KUBE_CA (PEM file), MESH_NAMESPACES (comma-separated),
// MESH_PORT, MESH_SEED.
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Kube, arr, at, rec, str, type Obj } from './lib/kube.js';
import { rng } from '../support/random.js';
import {
  EMPTY_SEARCH_RATE,
  ISTIO_BUCKETS_MS,
  REALISTIC,
  drawLatencyMs,
  isBehaviour,
  normal,
  type Behaviour,
} from './lib/shape.js';

export type { Behaviour } from './lib/shape.js';

export interface SimConfig {
  /** Requests per second through each VirtualService's route, split by its weights. */
  readonly rps: number;
  readonly default: Behaviour;
  readonly versions: Readonly<Record<string, Behaviour>>;
}

const BUCKETS = ISTIO_BUCKETS_MS;

/** Share of catalogo's requests that are catalogue searches (as in the demo). */
const SEARCH_SHARE = 0.3;
/** The application whose pods export catalogo_searches_total. */
const SEARCH_APP = 'catalogo';

interface PodTarget {
  readonly name: string;
  readonly hash: string;
  readonly release: string; // image tag: what the scenario's behaviour is keyed by
  readonly versionLabel: string; // what Istio reports as destination_version
  readonly workload: string;
}

interface Destination {
  readonly namespace: string;
  /** The VirtualService whose route this leg is: the rate is split by weight within it. */
  readonly route: string;
  readonly host: string;
  readonly subset: string;
  readonly weight: number;
  readonly pods: PodTarget[];
}

interface Series {
  readonly labels: string;
  readonly pod: string; // the destination pod whose sidecar reports it ('' for the gateway's)
  value: number;
}

interface HistSeries {
  readonly labels: string;
  readonly pod: string;
  readonly buckets: number[];
  sum: number;
  count: number;
}

export class MeshSimulator {
  private config: SimConfig = {
    rps: 1000,
    default: REALISTIC,
    versions: {},
  };
  private readonly counters = new Map<string, Series>();
  private readonly hists = new Map<string, HistSeries>();
  /** catalogo_searches_total by pod (its labels) and result, as the application exports it. */
  private readonly searches = new Map<string, { labels: string; found: number; empty: number }>();
  private readonly stats = {
    byRelease: {} as Record<string, { requests: number; errors: number }>,
    byPod: {} as Record<string, { requests: number; errors: number; release: string }>,
  };
  private destinations: Destination[] = [];
  private readonly labelCache = new Map<string, readonly [string, string]>();
  private lastRefreshError = '';
  private readonly random: () => number;

  constructor(
    private readonly kube: Kube,
    private readonly namespaces: readonly string[],
    seed: number,
  ) {
    this.random = rng(seed);
  }

  setConfig(c: SimConfig): void {
    this.config = c;
  }

  getConfig(): SimConfig {
    return this.config;
  }

  /** Reads the routing state of the namespaces: VirtualService weights → Services/subsets → ready pods. */
  async refresh(): Promise<void> {
    try {
      const states = await Promise.all(this.namespaces.map((ns) => this.namespaceState(ns)));
      this.destinations = states.flatMap((s) => s.dests);
      // A pod that is gone takes its sidecar's series with it (Prometheus marks them stale).
      const alive = new Set(states.flatMap((s) => s.pods));
      for (const [k, s] of this.counters) if (s.pod !== '' && !alive.has(s.pod)) this.counters.delete(k);
      for (const [k, h] of this.hists) if (h.pod !== '' && !alive.has(h.pod)) this.hists.delete(k);
      for (const pod of this.searches.keys()) if (!alive.has(pod)) this.searches.delete(pod);
      for (const k of this.labelCache.keys())
        if (!alive.has(k.split('|')[1] ?? '')) this.labelCache.delete(k);
      this.lastRefreshError = '';
    } catch (err) {
      // Keep the last known routing: a brief API hiccup must not stop the traffic.
      this.lastRefreshError = err instanceof Error ? err.message : String(err);
    }
  }

  /** One namespace's destinations, and the names of all its pods. */
  private async namespaceState(ns: string): Promise<{ dests: Destination[]; pods: string[] }> {
    const [vss, drs, svcs, pods] = await Promise.all([
      this.kube.list(`/apis/networking.istio.io/v1/namespaces/${ns}/virtualservices`),
      this.kube.list(`/apis/networking.istio.io/v1/namespaces/${ns}/destinationrules`),
      this.kube.list(`/api/v1/namespaces/${ns}/services`),
      this.kube.list(`/api/v1/namespaces/${ns}/pods`),
    ]);
    const ready = pods.filter(isReady);
    const dests: Destination[] = [];
    for (const vs of vss) {
      const vsName = `${ns}/${str(at(vs, 'metadata', 'name')) ?? ''}`;
      const routes = arr(at(vs, 'spec', 'http')).map(rec);
      const route = routes.find((r) => r['match'] === undefined) ?? routes[0];
      if (route === undefined) continue;
      const legs = arr(route['route']).map(rec);
      for (const leg of legs) {
        const host = shortHost(str(at(leg, 'destination', 'host')) ?? '');
        const subset = str(at(leg, 'destination', 'subset')) ?? '';
        const weight = typeof leg['weight'] === 'number' ? leg['weight'] : legs.length === 1 ? 100 : 0;
        const svc = svcs.find((s) => str(at(s, 'metadata', 'name')) === host);
        const selector: Record<string, string> = {
          ...(rec(at(svc, 'spec', 'selector')) as Record<string, string>),
        };
        if (subset !== '') {
          const dr = drs.find((d) => shortHost(str(at(d, 'spec', 'host')) ?? '') === host);
          const sub = arr(at(dr, 'spec', 'subsets'))
            .map(rec)
            .find((s) => s['name'] === subset);
          Object.assign(selector, rec(sub?.['labels']) as Record<string, string>);
        }
        const targets = svc === undefined ? [] : ready.filter((p) => matches(p, selector)).map(toTarget);
        dests.push({ namespace: ns, route: vsName, host, subset, weight, pods: targets });
      }
    }
    return { dests, pods: pods.map((p) => str(at(p, 'metadata', 'name')) ?? '') };
  }

  /** Simulates dtSeconds of traffic over the current destinations: `rps` through each route. */
  tick(dtSeconds: number): void {
    const totals = new Map<string, number>();
    for (const d of this.destinations) totals.set(d.route, (totals.get(d.route) ?? 0) + d.weight);
    for (const d of this.destinations) {
      const total = totals.get(d.route) ?? 0;
      if (total <= 0 || d.weight <= 0 || d.pods.length === 0) continue;
      const expected = (this.config.rps * dtSeconds * d.weight) / total;
      const n = this.poisson(expected);
      for (let i = 0; i < n; i++) {
        const pod = d.pods[Math.floor(this.random() * d.pods.length)];
        if (pod === undefined) continue;
        this.request(d, pod);
      }
    }
  }

  private request(d: Destination, pod: PodTarget): void {
    const b = this.config.versions[pod.release] ?? this.config.default;
    const failed = this.random() < b.errorRate;
    const code = failed ? '500' : '200';
    const ms = drawLatencyMs(b, this.random);
    const [dst, src] = this.labelsFor(d, pod, code);
    this.inc(dst, pod.name);
    this.observe(dst, pod.name, ms);
    this.inc(src, '');
    this.observe(src, '', ms);
    const r = (this.stats.byRelease[pod.release] ??= { requests: 0, errors: 0 });
    r.requests++;
    if (failed) r.errors++;
    const p = (this.stats.byPod[pod.name] ??= { requests: 0, errors: 0, release: pod.release });
    p.requests++;
    if (failed) p.errors++;
    if (pod.workload === SEARCH_APP && this.random() < SEARCH_SHARE) {
      // Both results' series from the pod's first search on, as a client library exports them.
      let c = this.searches.get(pod.name);
      if (c === undefined)
        this.searches.set(
          pod.name,
          (c = { labels: `namespace="${d.namespace}",pod="${pod.name}"`, found: 0, empty: 0 }),
        );
      if (this.random() < (b.emptySearchRate ?? EMPTY_SEARCH_RATE)) c.empty++;
      else c.found++;
    }
  }

  /** Istio's standard labels, as the destination sidecar and as the ingress gateway report them. */
  private labelsFor(d: Destination, pod: PodTarget, code: string): readonly [string, string] {
    const key = `${d.namespace}/${d.host}|${pod.name}|${code}`;
    const cached = this.labelCache.get(key);
    if (cached !== undefined) return cached;
    const ns = d.namespace;
    const common =
      `destination_workload="${pod.workload}",destination_workload_namespace="${ns}",` +
      `destination_service="${d.host}.${ns}.svc.cluster.local",destination_service_name="${d.host}",destination_service_namespace="${ns}",` +
      `destination_version="${pod.versionLabel}",destination_canonical_service="${pod.workload}",destination_canonical_revision="${pod.versionLabel}",` +
      `destination_app="${pod.workload}",source_workload="istio-ingressgateway",source_workload_namespace="istio-system",source_app="istio-ingressgateway",` +
      `request_protocol="http",response_code="${code}",response_flags="-",connection_security_policy="mutual_tls"`;
    const labels = [
      `reporter="destination",${common},namespace="${ns}",pod="${pod.name}"`,
      `reporter="source",${common},namespace="istio-system",pod="istio-ingressgateway-5f6d7c8b9-gw001"`,
    ] as const;
    this.labelCache.set(key, labels);
    return labels;
  }

  private inc(labels: string, pod: string): void {
    let s = this.counters.get(labels);
    if (s === undefined) {
      s = { labels, pod, value: 0 };
      this.counters.set(labels, s);
    }
    s.value++;
  }

  private observe(labels: string, pod: string, ms: number): void {
    let h = this.hists.get(labels);
    if (h === undefined) {
      h = { labels, pod, buckets: BUCKETS.map(() => 0), sum: 0, count: 0 };
      this.hists.set(labels, h);
    }
    for (let i = 0; i < BUCKETS.length; i++) {
      if (ms <= (BUCKETS[i] as number)) h.buckets[i] = (h.buckets[i] ?? 0) + 1;
    }
    h.sum += ms;
    h.count++;
  }

  exposition(): string {
    const out: string[] = [];
    out.push(
      '# HELP istio_requests_total Requests seen by the simulated sidecars.',
      '# TYPE istio_requests_total counter',
    );
    for (const s of this.counters.values()) out.push(`istio_requests_total{${s.labels}} ${s.value}`);
    out.push(
      '# HELP istio_request_duration_milliseconds Request duration seen by the simulated sidecars.',
      '# TYPE istio_request_duration_milliseconds histogram',
    );
    for (const h of this.hists.values()) {
      BUCKETS.forEach((le, i) =>
        out.push(`istio_request_duration_milliseconds_bucket{${h.labels},le="${le}"} ${h.buckets[i] ?? 0}`),
      );
      out.push(`istio_request_duration_milliseconds_bucket{${h.labels},le="+Inf"} ${h.count}`);
      out.push(`istio_request_duration_milliseconds_sum{${h.labels}} ${h.sum.toFixed(3)}`);
      out.push(`istio_request_duration_milliseconds_count{${h.labels}} ${h.count}`);
    }
    out.push(
      "# HELP catalogo_searches_total Catalogue searches (the application's own counter), by result.",
      '# TYPE catalogo_searches_total counter',
    );
    for (const c of this.searches.values())
      out.push(
        `catalogo_searches_total{${c.labels},result="found"} ${c.found}`,
        `catalogo_searches_total{${c.labels},result="empty"} ${c.empty}`,
      );
    return `${out.join('\n')}\n`;
  }

  snapshot(): Obj {
    return {
      byRelease: this.stats.byRelease,
      byPod: this.stats.byPod,
      destinations: this.destinations.map((d) => ({
        route: d.route,
        host: d.host,
        subset: d.subset,
        weight: d.weight,
        pods: d.pods.map((p) => `${p.name} (${p.release})`),
      })),
      lastRefreshError: this.lastRefreshError,
    };
  }

  private poisson(lambda: number): number {
    if (lambda <= 0) return 0;
    if (lambda > 50) return Math.max(0, Math.round(lambda + Math.sqrt(lambda) * this.normal()));
    const l = Math.exp(-lambda);
    let k = 0;
    let p = 1;
    do {
      k++;
      p *= this.random();
    } while (p > l);
    return k - 1;
  }

  private normal(): number {
    return normal(this.random);
  }
}

function shortHost(host: string): string {
  return host.split('.')[0] ?? host;
}

function isReady(pod: Obj): boolean {
  if (at(pod, 'metadata', 'deletionTimestamp') !== undefined) return false;
  if (at(pod, 'status', 'phase') !== 'Running') return false;
  return arr(at(pod, 'status', 'conditions')).some(
    (c) => at(c, 'type') === 'Ready' && at(c, 'status') === 'True',
  );
}

function matches(pod: Obj, selector: Record<string, string>): boolean {
  const labels = rec(at(pod, 'metadata', 'labels'));
  const keys = Object.keys(selector);
  return keys.length > 0 && keys.every((k) => labels[k] === selector[k]);
}

function toTarget(pod: Obj): PodTarget {
  const name = str(at(pod, 'metadata', 'name')) ?? '';
  const labels = rec(at(pod, 'metadata', 'labels'));
  const hash = str(labels['rollouts-pod-template-hash']) ?? '';
  const image = str(at(pod, 'spec', 'containers', 0, 'image')) ?? '';
  const tagAt = image.lastIndexOf(':');
  const release = tagAt > image.lastIndexOf('/') && tagAt >= 0 ? image.slice(tagAt + 1) : 'latest';
  const cut = hash === '' ? -1 : name.indexOf(`-${hash}-`);
  const workload = cut > 0 ? name.slice(0, cut) : (str(labels['app']) ?? name);
  const versionLabel = str(labels['version']) ?? str(labels['app.kubernetes.io/version']) ?? 'unknown';
  return { name, hash, release, versionLabel, workload };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export function parseConfig(v: unknown): SimConfig {
  const c = rec(v);
  if (typeof c['rps'] !== 'number' || !(c['rps'] >= 0)) throw new Error('rps must be a number ≥ 0');
  if (!isBehaviour(c['default']))
    throw new Error('default must be {errorRate, latencyMedianMs, latencySigma}');
  const versions: Record<string, Behaviour> = {};
  for (const [k, b] of Object.entries(rec(c['versions']))) {
    if (!isBehaviour(b)) throw new Error(`versions.${k} must be {errorRate, latencyMedianMs, latencySigma}`);
    versions[k] = b;
  }
  return { rps: c['rps'], default: c['default'], versions };
}

async function main(): Promise<void> {
  const env = (k: string): string => {
    const v = process.env[k];
    if (v === undefined || v === '') throw new Error(`mesh-sim: ${k} is required`);
    return v;
  };
  const kube = new Kube({
    server: env('E2E_KUBE_SERVER'),
    token: env('E2E_KUBE_TOKEN'),
    ca: readFileSync(env('E2E_KUBE_CA'), 'utf8'),
  });
  const sim = new MeshSimulator(
    kube,
    (process.env['MESH_NAMESPACES'] ?? 'catalogo')
      .split(',')
      .map((n) => n.trim())
      .filter((n) => n !== ''),
    Number(process.env['MESH_SEED'] ?? '1'),
  );
  const port = Number(env('MESH_PORT'));

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const send = (status: number, body: string, type = 'application/json'): void => {
      res.writeHead(status, { 'Content-Type': type });
      res.end(body);
    };
    void (async () => {
      if (req.url === '/metrics') return send(200, sim.exposition(), 'text/plain; version=0.0.4');
      if (req.url === '/stats') return send(200, JSON.stringify(sim.snapshot()));
      if (req.url === '/config' && req.method === 'GET') return send(200, JSON.stringify(sim.getConfig()));
      if (req.url === '/config' && req.method === 'POST') {
        try {
          const c = parseConfig(JSON.parse(await readBody(req)));
          sim.setConfig(c);
          console.log(`${new Date().toISOString()} config ${JSON.stringify(c)}`);
          return send(200, JSON.stringify(c));
        } catch (err) {
          return send(400, JSON.stringify({ error: err instanceof Error ? err.message : String(err) }));
        }
      }
      if (req.url === '/healthz') return send(200, '{"ok":true}');
      return send(404, '{"error":"not found"}');
    })();
  });
  server.listen(port, '127.0.0.1', () => console.log(`mesh-sim listening on 127.0.0.1:${port}`));

  let last = Date.now();
  let lastLog = 0;
  const loop = async (): Promise<void> => {
    await sim.refresh();
    const now = Date.now();
    sim.tick((now - last) / 1000);
    last = now;
    if (now - lastLog > 10_000) {
      lastLog = now;
      const s = sim.snapshot();
      console.log(
        `${new Date(now).toISOString()} routes ${JSON.stringify(s['destinations'])} totals ${JSON.stringify(s['byRelease'])}${s['lastRefreshError'] ? ` refresh error: ${String(s['lastRefreshError'])}` : ''}`,
      );
    }
  };
  let timer: NodeJS.Timeout | undefined;
  const schedule = (): void => {
    timer = setTimeout(() => void loop().finally(schedule), 1000);
  };
  schedule();
  const stop = (): void => {
    if (timer !== undefined) clearTimeout(timer);
    server.close();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
