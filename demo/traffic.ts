/**
 * The demo's synthetic traffic: catalogo v1.1 (stable) and v1.2 (canary) pods in one or more
 * namespaces, each request drawn at random — answered 503 at the release's error rate, with a
 * log-normal latency counted into Istio's default duration buckets wherever it lands — and
 * exposed as the destination sidecars would report them (istio_requests_total,
 * istio_request_duration_milliseconds with reporter="destination" and the serving pod's name).
 * A share of the requests are catalogue searches, some of which find nothing: catalogo's own
 * business counter, `catalogo_searches_total{result="found"|"empty"}`, labelled as Kubernetes
 * pod discovery labels an application's metrics (`namespace`, `pod`).
 * One simulated second per second, deterministic from the seed.
 */

import { createServer, type Server } from 'node:http';
import { rng } from '../test/support/random.js';
import { ISTIO_BUCKETS_MS, drawLatencyMs, normal, type Behaviour } from '../test/e2e/lib/shape.js';

export const ROLLOUT = 'catalogo';
export const STABLE_HASH = '5d4c7b9f8';
export const CANARY_HASH = '6b7f9c8d5';

export interface Side {
  readonly namespace: string;
  readonly hash: string;
  readonly version: string;
  readonly pods: number;
  /** Requests per second to this side (all its pods together). */
  readonly rps: number;
  readonly behaviour: Behaviour;
  /** Share of this side's searches that find nothing. */
  readonly emptySearchRate: number;
}

/** Share of catalogo's requests that are catalogue searches. */
export const SEARCH_SHARE = 0.3;

interface Pod {
  readonly labels: string;
  /** The labels of the application's own metrics (no mesh labels). */
  readonly appLabels: string;
  searches: number;
  emptySearches: number;
  ok: number;
  errors: number;
  /** Non-cumulative counts per bucket (ISTIO_BUCKETS_MS order, then +Inf). */
  readonly buckets: number[];
  sumMs: number;
}

export interface TrafficHandle {
  readonly url: string;
  /** host:port, for a scrape config. */
  readonly target: string;
  /** Requests and 503s served so far, per namespace and version. */
  totals(): Record<string, { requests: number; errors: number }>;
  close(): Promise<void>;
}

export async function startTraffic(sides: readonly Side[], seed = 42): Promise<TrafficHandle> {
  const random = rng(seed);
  const pods = sides.map((s) =>
    Array.from({ length: s.pods }, (_, i): Pod => ({
      labels:
        `reporter="destination",destination_workload="${ROLLOUT}",destination_workload_namespace="${s.namespace}",` +
        `destination_service_name="${ROLLOUT}-${s.hash === CANARY_HASH ? 'canary' : 'stable'}",destination_version="${s.version}",` +
        `source_workload="frontend",response_flags="-",namespace="${s.namespace}",pod="${ROLLOUT}-${s.hash}-${'bcdfg'[i] ?? 'h'}x2k9"`,
      appLabels: `namespace="${s.namespace}",pod="${ROLLOUT}-${s.hash}-${'bcdfg'[i] ?? 'h'}x2k9"`,
      searches: 0,
      emptySearches: 0,
      ok: 0,
      errors: 0,
      buckets: new Array<number>(ISTIO_BUCKETS_MS.length + 1).fill(0),
      sumMs: 0,
    })),
  );

  const tick = (): void => {
    sides.forEach((s, i) => {
      const group = pods[i] as Pod[];
      for (const pod of group) {
        const lambda = s.rps / group.length;
        const n = Math.max(0, Math.round(lambda + Math.sqrt(lambda) * normal(random)));
        for (let k = 0; k < n; k++) {
          if (random() < s.behaviour.errorRate) pod.errors++;
          else pod.ok++;
          const ms = drawLatencyMs(s.behaviour, random);
          let b = ISTIO_BUCKETS_MS.findIndex((le) => ms <= le);
          if (b < 0) b = ISTIO_BUCKETS_MS.length;
          (pod.buckets[b] as number)++;
          pod.sumMs += ms;
          if (random() < SEARCH_SHARE) {
            pod.searches++;
            if (random() < s.emptySearchRate) pod.emptySearches++;
          }
        }
      }
    });
  };

  const exposition = (): string => {
    const out = [
      '# TYPE istio_requests_total counter',
      ...pods
        .flat()
        .flatMap((p) => [
          `istio_requests_total{${p.labels},response_code="200"} ${p.ok}`,
          ...(p.errors > 0 ? [`istio_requests_total{${p.labels},response_code="503"} ${p.errors}`] : []),
        ]),
      '# TYPE catalogo_searches_total counter',
      ...pods
        .flat()
        .flatMap((p) => [
          `catalogo_searches_total{${p.appLabels},result="found"} ${p.searches - p.emptySearches}`,
          `catalogo_searches_total{${p.appLabels},result="empty"} ${p.emptySearches}`,
        ]),
      '# TYPE istio_request_duration_milliseconds histogram',
    ];
    for (const p of pods.flat()) {
      let cum = 0;
      ISTIO_BUCKETS_MS.forEach((le, i) => {
        cum += p.buckets[i] as number;
        out.push(`istio_request_duration_milliseconds_bucket{${p.labels},le="${le}"} ${cum}`);
      });
      const count = cum + (p.buckets[ISTIO_BUCKETS_MS.length] as number);
      out.push(`istio_request_duration_milliseconds_bucket{${p.labels},le="+Inf"} ${count}`);
      out.push(`istio_request_duration_milliseconds_sum{${p.labels}} ${p.sumMs.toFixed(1)}`);
      out.push(`istio_request_duration_milliseconds_count{${p.labels}} ${count}`);
    }
    return `${out.join('\n')}\n`;
  };

  const started = Date.now();
  let seconds = 0;
  const catchUp = (): void => {
    const due = Math.floor((Date.now() - started) / 1000);
    while (seconds < due) {
      tick();
      seconds++;
    }
  };
  const timer = setInterval(catchUp, 250);
  timer.unref();

  const server: Server = createServer((req, res) => {
    catchUp();
    if (req.method === 'GET' && req.url === '/metrics') {
      res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' });
      res.end(exposition());
      return;
    }
    res.writeHead(404, { 'Content-Type': 'application/json' });
    res.end('{"error":"not found"}');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    target: `127.0.0.1:${port}`,
    totals: () => {
      const t: Record<string, { requests: number; errors: number }> = {};
      sides.forEach((s, i) => {
        const e = (t[`${s.namespace} ${s.version}`] ??= { requests: 0, errors: 0 });
        for (const p of pods[i] as Pod[]) {
          e.requests += p.ok + p.errors;
          e.errors += p.errors;
        }
      });
      return t;
    },
    close: () =>
      new Promise<void>((resolve) => {
        clearInterval(timer);
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
