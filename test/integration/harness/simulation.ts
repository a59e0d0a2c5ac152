/**
 * A deterministic simulation of Istio-shaped service metrics (`istio_requests_total`,
 * `istio_request_duration_milliseconds`) for canary and stable workloads, second by second,
 * from a seed. The same simulation feeds the live exporter (scraped by Prometheus) and the
 * OpenMetrics backfill (promtool), so a scenario means the same data either way.
 *
 * Each request is reported twice, as Istio does: by the destination's sidecar
 * (reporter="destination", pod = the serving pod) and by the caller's (reporter="source",
 * pod = the caller's pod, destination_service_name = the Service host it called).
 */

import { rng } from '../../support/random.js';

/** Istio's default duration buckets (milliseconds). */
export const ISTIO_BUCKETS_MS = [
  0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000,
  3600000,
] as const;

/** Latency of a normal request: bucket upper bounds and probabilities (ms). */
const FAST: readonly (readonly [number, number])[] = [
  [5, 0.05],
  [10, 0.15],
  [25, 0.35],
  [50, 0.25],
  [100, 0.15],
  [250, 0.05],
];
/** Latency of a slow ("tail") request. */
const SLOW: readonly (readonly [number, number])[] = [
  [500, 0.6],
  [1000, 0.3],
  [2500, 0.1],
];

export interface WorkloadSpec {
  /** Rollout name (pods are `<rollout>-<hash>-<suffix>`). */
  readonly rollout: string;
  readonly namespace: string;
  /** rollouts-pod-template-hash of this side. */
  readonly hash: string;
  /** `version` pod label (destination_version). */
  readonly version: string;
  /** Service host the callers use (destination_service_name). */
  readonly service: string;
  readonly pods: number;
  /** Requests per second to this workload (all pods together). */
  rps: number;
  /** Probability that a request answers 503. */
  errorRate: number;
  /** Probability that a request is slow (250 ms – 2.5 s instead of 1–250 ms). */
  slowFraction: number;
  /**
   * Production-shaped latency instead of the two-bucket-set model: log-normal with this median
   * (ms) and σ, and optionally a share of requests delayed by `tailAddMs` (a tail-only
   * regression). When set, `slowFraction` is ignored.
   */
  readonly latency?: LognormalLatency;
  /** Seconds from the simulation start when traffic begins / ends. */
  readonly from?: number;
  readonly until?: number;
  /** Seconds at which every pod of the workload restarts (counters back to 0). */
  readonly resetAt?: readonly number[];
}

export interface LognormalLatency {
  readonly medianMs: number;
  readonly sigma: number;
  readonly tailShare?: number;
  readonly tailAddMs?: number;
}

/** One log-normal latency draw (Box–Muller), plus the tail delay for a share of requests. */
function lognormalMs(l: LognormalLatency, r: () => number): number {
  const z = Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  const ms = l.medianMs * Math.exp(l.sigma * z);
  return l.tailShare !== undefined && r() < l.tailShare ? ms + (l.tailAddMs ?? 0) : ms;
}

/** Index of the Istio bucket a latency falls in (ISTIO_BUCKETS_MS.length is +Inf). */
function bucketIndex(ms: number): number {
  const i = ISTIO_BUCKETS_MS.findIndex((le) => ms <= le);
  return i === -1 ? ISTIO_BUCKETS_MS.length : i;
}

export interface ScenarioSpec {
  readonly seed: number;
  readonly workloads: readonly WorkloadSpec[];
}

/** A 32-bit seed from a base seed and a name (FNV-1a). */
export function seedFor(seed: number, name: string): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

function poisson(lambda: number, r: () => number): number {
  if (lambda <= 0) return 0;
  if (lambda > 50) {
    // Normal approximation (Box–Muller) for large rates.
    const z = Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
    return Math.max(0, Math.round(lambda + Math.sqrt(lambda) * z));
  }
  const l = Math.exp(-lambda);
  let k = 0;
  let p = 1;
  do {
    k++;
    p *= r();
  } while (p > l);
  return k - 1;
}

function pick(dist: readonly (readonly [number, number])[], r: () => number): number {
  let u = r();
  for (const [le, p] of dist) {
    u -= p;
    if (u <= 0) return le;
  }
  return (dist[dist.length - 1] as readonly [number, number])[0];
}

const SUFFIX_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

interface PodState {
  readonly name: string;
  ok: number;
  errors: number;
  /** Non-cumulative counts per bucket index (ISTIO_BUCKETS_MS order, then +Inf). */
  readonly buckets: number[];
  sumMs: number;
}

interface WorkloadState {
  readonly spec: WorkloadSpec;
  /** Each workload draws from its own stream, so its data do not depend on its neighbours. */
  readonly r: () => number;
  readonly pods: PodState[];
  /** Requests and errors served since the start, across restarts (the truth tests compare to). */
  served: number;
  failed: number;
}

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export const CALLER = {
  workload: 'frontend',
  namespace: 'frontend',
  pod: 'frontend-7c9d5b6f4-x2x4z',
} as const;

export class Simulation {
  /** Seconds simulated so far. */
  t = 0;
  private readonly state: WorkloadState[];

  constructor(readonly spec: ScenarioSpec) {
    this.state = spec.workloads.map((w) => {
      const r = rng(seedFor(spec.seed, `${w.namespace}/${w.rollout}/${w.hash}`));
      const pods = Array.from({ length: w.pods }, () => {
        let suffix = '';
        for (let i = 0; i < 5; i++) suffix += SUFFIX_ALPHABET[Math.floor(r() * SUFFIX_ALPHABET.length)];
        const buckets = new Array<number>(ISTIO_BUCKETS_MS.length + 1).fill(0);
        return { name: `${w.rollout}-${w.hash}-${suffix}`, ok: 0, errors: 0, buckets, sumMs: 0 };
      });
      return { spec: w, r, served: 0, failed: 0, pods };
    });
  }

  /** Workload specs are live: tests and the exporter's control endpoint may change rates. */
  workload(i: number): WorkloadSpec {
    return (this.state[i] as WorkloadState).spec;
  }

  /** Advances one second of traffic. */
  tick(): void {
    const t = this.t;
    for (const w of this.state) {
      const s = w.spec;
      if (s.resetAt?.includes(t) === true) {
        for (const p of w.pods) {
          p.ok = 0;
          p.errors = 0;
          p.buckets.fill(0);
          p.sumMs = 0;
        }
      }
      if (t < (s.from ?? 0) || t >= (s.until ?? Number.POSITIVE_INFINITY)) continue;
      for (const p of w.pods) {
        const n = poisson(s.rps / w.pods.length, w.r);
        for (let k = 0; k < n; k++) {
          w.served++;
          if (w.r() < s.errorRate) {
            p.errors++;
            w.failed++;
          } else p.ok++;
          if (s.latency !== undefined) {
            const ms = lognormalMs(s.latency, w.r);
            (p.buckets[bucketIndex(ms)] as number)++;
            p.sumMs += ms;
            continue;
          }
          const le = pick(w.r() < s.slowFraction ? SLOW : FAST, w.r);
          const idx = ISTIO_BUCKETS_MS.indexOf(le as (typeof ISTIO_BUCKETS_MS)[number]);
          (p.buckets[idx] as number)++;
          p.sumMs += le * 0.7;
        }
      }
    }
    this.t++;
  }

  /**
   * Current counters as samples. Series exist only once a request was seen (as Istio does):
   * a workload without traffic has no series at all.
   */
  samples(): Sample[] {
    return [...this.series().values()];
  }

  private readonly keyCache = new Map<string, { base: Record<string, string>; keys: string[] }>();

  /** Labels of one (pod, reporter) and the series keys derived from them, built once. */
  private labelsOf(s: WorkloadSpec, pod: string, reporter: 'destination' | 'source') {
    const id = `${s.namespace}/${pod}/${reporter}`;
    let e = this.keyCache.get(id);
    if (e === undefined) {
      const base: Record<string, string> = {
        reporter,
        source_workload: CALLER.workload,
        destination_workload: s.rollout,
        destination_workload_namespace: s.namespace,
        destination_service_name: s.service,
        destination_service_namespace: s.namespace,
        destination_version: s.version,
        response_flags: '-',
        // The scrape of the reporting sidecar adds its own pod and namespace.
        pod: reporter === 'destination' ? pod : CALLER.pod,
        namespace: reporter === 'destination' ? s.namespace : CALLER.namespace,
      };
      const keys = [
        'istio_requests_total' + labelText({ ...base, response_code: '200' }),
        'istio_requests_total' + labelText({ ...base, response_code: '503' }),
        ...[...ISTIO_BUCKETS_MS.map(String), '+Inf'].map(
          (le) => 'istio_request_duration_milliseconds_bucket' + labelText({ ...base, le }),
        ),
        'istio_request_duration_milliseconds_sum' + labelText(base),
        'istio_request_duration_milliseconds_count' + labelText(base),
      ];
      this.keyCache.set(id, (e = { base, keys }));
    }
    return e;
  }

  /**
   * Current counters by series key (name + labels). The caller's sidecar sees a workload, not
   * its pods, so its series add up the pods of a workload.
   */
  series(): Map<string, Sample> {
    const acc = new Map<string, Sample>();
    const add = (key: string, name: string, labels: Record<string, string>, value: number): void => {
      const prev = acc.get(key);
      if (prev === undefined) acc.set(key, { name, labels, value });
      else acc.set(key, { name, labels, value: prev.value + value });
    };
    const nb = ISTIO_BUCKETS_MS.length;
    for (const w of this.state) {
      const s = w.spec;
      for (const p of w.pods) {
        const seen = p.ok + p.errors > 0 || p.buckets.some((b) => b > 0);
        if (!seen) continue;
        for (const reporter of ['destination', 'source'] as const) {
          const { base, keys } = this.labelsOf(s, p.name, reporter);
          const k = (i: number): string => keys[i] as string;
          if (p.ok > 0) add(k(0), 'istio_requests_total', { ...base, response_code: '200' }, p.ok);
          if (p.errors > 0) add(k(1), 'istio_requests_total', { ...base, response_code: '503' }, p.errors);
          let cum = 0;
          for (let i = 0; i <= nb; i++) {
            cum += p.buckets[i] as number;
            add(k(2 + i), 'istio_request_duration_milliseconds_bucket', base, cum);
          }
          add(k(3 + nb), 'istio_request_duration_milliseconds_sum', base, Math.round(p.sumMs));
          add(k(4 + nb), 'istio_request_duration_milliseconds_count', base, cum);
        }
      }
    }
    return acc;
  }

  /** True totals since the start, for tests to compare with what the judge reports. */
  totals(i: number): { requests: number; errors: number } {
    const w = this.state[i] as WorkloadState;
    return { requests: w.served, errors: w.failed };
  }
}

function labelText(labels: Readonly<Record<string, string>>): string {
  const parts = Object.entries(labels).map(
    ([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`,
  );
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

const HELP = `# HELP istio_requests_total Requests (synthetic, Istio-shaped).
# TYPE istio_requests_total counter
# HELP istio_request_duration_milliseconds Request duration (synthetic, Istio-shaped).
# TYPE istio_request_duration_milliseconds histogram
`;

/** Prometheus text exposition of the current counters (what the exporter serves). */
export function exposition(sim: Simulation): string {
  const entries = [...sim.series().entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return HELP + entries.map(([key, s]) => `${key} ${s.value}`).join('\n') + '\n';
}

/**
 * OpenMetrics text for `promtool tsdb create-blocks-from openmetrics`: the scenario simulated
 * from `startUnix` for `durationSec`, sampled every `scrapeEverySec` as a scrape would.
 * Samples are grouped by family and series, timestamps ascending, as the format requires.
 */
export function openMetrics(
  spec: ScenarioSpec,
  startUnix: number,
  durationSec: number,
  scrapeEverySec = 15,
): string {
  const sim = new Simulation(spec);
  const series = new Map<string, { family: string; lines: string[] }>();
  for (let s = 0; s <= durationSec; s++) {
    if (s > 0) sim.tick();
    if (s % scrapeEverySec !== 0) continue;
    const ts = startUnix + s;
    for (const [key, smp] of sim.series()) {
      let e = series.get(key);
      if (e === undefined) {
        const family = smp.name.startsWith('istio_requests')
          ? 'istio_requests'
          : 'istio_request_duration_milliseconds';
        series.set(key, (e = { family, lines: [] }));
      }
      e.lines.push(`${key} ${smp.value} ${ts}`);
    }
  }
  const out: string[] = [];
  for (const [family, type] of [
    ['istio_requests', 'counter'],
    ['istio_request_duration_milliseconds', 'histogram'],
  ] as const) {
    out.push(`# TYPE ${family} ${type}`);
    for (const e of series.values()) if (e.family === family) out.push(...e.lines);
  }
  out.push('# EOF');
  return out.join('\n') + '\n';
}
