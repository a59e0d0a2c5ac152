/**
 * Istio-shaped traffic with a known truth, for the exact-counts test: pods of a canary and a
 * stable workload, each scraped at its own phase of the scrape interval, born (first request) at
 * any second, restarting (counters back to zero), going away; a second caller and a new response
 * code appearing mid-window. Every request is generated one by one, so what each scrape reveals
 * is known exactly: the truth the scraped samples allow is, for each scrape, the requests made
 * since the pod's previous scrape (those made before a restart that no scrape saw are lost, as
 * they are in Prometheus). The judge reads the counters at its grid points only, so a restart
 * also hides what the pod served between the last grid point that read the old counter and the
 * restart, though a scrape in between saw it: the truth here leaves that out too (`grid`).
 * The output is OpenMetrics for promtool's backfill.
 *
 * promtool cannot write the staleness markers a live scrape writes for a series that vanishes
 * from a target still up; after a restart a series therefore stays exposed from zero (which
 * the judge reads exactly as it reads a series gone stale and born again).
 */

import { Rng } from '../../support/random.js';

/** The duration buckets (ms) of this data: a short version of Istio's. */
export const GT_BUCKETS = [1, 5, 10, 25, 50, 100, 250, 500, 1000] as const;
const LES = [...GT_BUCKETS.map(String), '+Inf'];

export type Side = 'canary' | 'stable';

export interface GtPod {
  readonly name: string;
  readonly side: Side;
  /** Requests per second. */
  readonly rps: number;
  /** Second of the pod's first requests (relative to the scenario start). */
  readonly from: number;
  /** Second from which the pod is gone: no traffic, no scrape. */
  readonly until?: number;
  /** Scrape phase: the pod is scraped at seconds ≡ phase (mod the scrape interval). */
  readonly phase: number;
  /** Seconds at which the pod restarts (before that second's requests). */
  readonly resetAt?: readonly number[];
}

export interface GtScenario {
  readonly namespace: string;
  /** Unix seconds of second 0. */
  readonly start: number;
  readonly seconds: number;
  /** Scrape interval (s). */
  readonly scrape: number;
  readonly pods: readonly GtPod[];
  /** Second from which half of the requests come from a second caller (new series). */
  readonly secondCallerFrom: number;
  /** Second from which some errors answer 500 instead of 503 (a new response-code series). */
  readonly code500From: number;
  /** Share of requests answering 5xx (both sides). */
  readonly errorRate: number;
  /** Log-normal latency, the same on both sides. */
  readonly medianMs: number;
  readonly sigma: number;
  readonly seed: number;
  /** The judge's grid step (s; points on its multiples in Unix time). */
  readonly grid: number;
}

/** What one scrape revealed of one side: requests, errors and requests over each bucket bound. */
export interface Observation {
  /** Unix seconds of the scrape. */
  readonly t: number;
  readonly pod: string;
  readonly requests: number;
  readonly errors: number;
  /** Requests slower than GT_BUCKETS[i]. */
  readonly over: readonly number[];
}

export interface GroundTruth {
  readonly openMetrics: string[];
  readonly observations: Readonly<Record<Side, Observation[]>>;
}

const CODES = ['200', '503', '500'] as const;
const CALLERS = ['frontend', 'checkout'] as const;

interface PodState {
  readonly pod: GtPod;
  /** Cumulative since the last restart: [caller][code] and [caller][bucket index] (not cumulative in le). */
  readonly requests: number[][];
  readonly buckets: number[][];
  /** Series that exist (a first request was seen): [caller][code], [caller] for the histogram. */
  readonly seen: boolean[][];
  readonly histSeen: boolean[];
  /** Not yet revealed by a scrape. */
  pending: { requests: number; errors: number; over: number[] };
}

const empty = (): { requests: number; errors: number; over: number[] } => ({
  requests: 0,
  errors: 0,
  over: GT_BUCKETS.map(() => 0),
});

function labelText(l: Readonly<Record<string, string>>): string {
  return `{${Object.entries(l)
    .map(([k, v]) => `${k}="${v}"`)
    .join(',')}}`;
}

/** Generates one scenario: OpenMetrics lines per family and the observations per side. */
export function groundTruth(s: GtScenario): GroundTruth {
  const rng = new Rng(s.seed);
  const states: PodState[] = s.pods.map((pod) => ({
    pod,
    requests: CALLERS.map(() => CODES.map(() => 0)),
    buckets: CALLERS.map(() => LES.map(() => 0)),
    seen: CALLERS.map(() => CODES.map(() => false)),
    histSeen: CALLERS.map(() => false),
    pending: empty(),
  }));
  const requestLines = new Map<string, string[]>();
  const bucketLines = new Map<string, string[]>();
  const push = (m: Map<string, string[]>, key: string, line: string): void => {
    const l = m.get(key);
    if (l === undefined) m.set(key, [line]);
    else l.push(line);
  };
  const observations: Record<Side, Observation[]> = { canary: [], stable: [] };
  for (let t = 1; t <= s.seconds; t++) {
    for (const st of states) {
      const p = st.pod;
      if (p.until !== undefined && t >= p.until) continue;
      if (p.resetAt?.includes(t) === true) {
        for (const row of st.requests) row.fill(0);
        for (const row of st.buckets) row.fill(0);
        st.pending = empty(); // made since the last scrape, never seen
        // Seen by a scrape, but after the grid point before the one where the judge first sees
        // the restarted counter: gone for the judge.
        let next = t;
        while ((next - p.phase) % s.scrape !== 0) next++;
        const lastGrid = Math.ceil((s.start + next) / s.grid) * s.grid - s.grid;
        const obs = observations[p.side];
        observations[p.side] = obs.filter((o) => o.pod !== p.name || o.t <= lastGrid);
      }
      if (t >= p.from) {
        const n = rng.poisson(p.rps);
        for (let k = 0; k < n; k++) {
          const caller = t >= s.secondCallerFrom && rng.uniform() < 0.5 ? 1 : 0;
          const u = rng.uniform();
          const code = u < s.errorRate ? (t >= s.code500From && u < s.errorRate / 3 ? 2 : 1) : 0;
          const ms = s.medianMs * Math.exp(s.sigma * rng.normal());
          const bi = GT_BUCKETS.findIndex((le) => ms <= le);
          const b = bi === -1 ? GT_BUCKETS.length : bi;
          (st.requests[caller] as number[])[code] = ((st.requests[caller] as number[])[code] as number) + 1;
          (st.buckets[caller] as number[])[b] = ((st.buckets[caller] as number[])[b] as number) + 1;
          (st.seen[caller] as boolean[])[code] = true;
          st.histSeen[caller] = true;
          st.pending.requests++;
          if (code !== 0) st.pending.errors++;
          GT_BUCKETS.forEach((le, i) => {
            if (ms > le) (st.pending.over[i] as number)++;
          });
        }
      }
      if ((t - p.phase) % s.scrape !== 0) continue;
      // A scrape: every series that exists, at its value; the requests since the last one revealed.
      const ts = s.start + t;
      CALLERS.forEach((caller, ci) => {
        const base = {
          reporter: 'destination',
          destination_workload_namespace: s.namespace,
          destination_workload: 'catalogo',
          pod: p.name,
          source_workload: caller,
          response_flags: '-',
        };
        CODES.forEach((code, k) => {
          if (!(st.seen[ci] as boolean[])[k]) return;
          const key = `istio_requests_total${labelText({ ...base, response_code: code })}`;
          push(requestLines, key, `${key} ${(st.requests[ci] as number[])[k]} ${ts}`);
        });
        if (!st.histSeen[ci]) return;
        let cum = 0;
        LES.forEach((le, i) => {
          cum += (st.buckets[ci] as number[])[i] as number;
          const key = `istio_request_duration_milliseconds_bucket${labelText({ ...base, le })}`;
          push(bucketLines, key, `${key} ${cum} ${ts}`);
        });
      });
      if (st.pending.requests > 0) {
        observations[p.side].push({ t: ts, pod: p.name, ...st.pending });
        st.pending = empty();
      }
    }
  }
  return {
    openMetrics: [
      ...[...requestLines.values()].flat(),
      '# TYPE istio_request_duration_milliseconds histogram',
      ...[...bucketLines.values()].flat(),
    ],
    observations,
  };
}

/** One OpenMetrics document from several scenarios (the counter family first, as generated). */
export function openMetricsOf(truths: readonly GroundTruth[]): string {
  const requests: string[] = ['# TYPE istio_requests counter'];
  const buckets: string[] = [];
  for (const g of truths) {
    const i = g.openMetrics.indexOf('# TYPE istio_request_duration_milliseconds histogram');
    requests.push(...g.openMetrics.slice(0, i));
    buckets.push(...g.openMetrics.slice(i + 1));
  }
  return [...requests, '# TYPE istio_request_duration_milliseconds histogram', ...buckets, '# EOF', ''].join(
    '\n',
  );
}

/** The truth of one side over (from, to]: what the scrapes in it revealed. */
export function truthIn(
  obs: readonly Observation[],
  from: number,
  to: number,
): { requests: number; errors: number; over: number[] } {
  const out = empty();
  for (const o of obs) {
    if (o.t <= from || o.t > to) continue;
    out.requests += o.requests;
    out.errors += o.errors;
    o.over.forEach((v, i) => (out.over[i] = (out.over[i] as number) + v));
  }
  return out;
}
