// The traffic shape the end-to-end test and the demo simulate: a release's 5xx rate and its
// latency, drawn per request and counted into Istio's default duration buckets wherever it lands.
// The default is shaped like a real service, not like the judge: a log-normal latency whose p99
// sits inside a bucket, and a stable error rate of 0.1%.

/**
 * One release's behaviour: a fraction of requests answered 5xx, and a log-normal latency given by
 * its median and σ (the standard deviation of ln(latency)).
 */
export interface Behaviour {
  readonly errorRate: number;
  readonly latencyMedianMs: number;
  readonly latencySigma: number;
  /**
   * The share of catalogue searches that find nothing (the e2e mesh simulator's
   * `catalogo_searches_total{result="empty"}`); EMPTY_SEARCH_RATE when not given.
   */
  readonly emptySearchRate?: number;
}

/** Searches with no result among all, when a behaviour does not say (as the demo's v1.1). */
export const EMPTY_SEARCH_RATE = 0.04;

/**
 * Median 40 ms, σ 0.6: p99 ≈ 162 ms, inside Istio's (100, 250] bucket, so only about 0.11% of
 * requests are slower than the p99's bucket edge (250 ms) and about 6.3% slower than 100 ms;
 * 0.1% of requests answered 5xx.
 */
export const REALISTIC: Behaviour = { errorRate: 0.001, latencyMedianMs: 40, latencySigma: 0.6 };

/** Istio's default buckets of istio_request_duration_milliseconds. */
export const ISTIO_BUCKETS_MS: readonly number[] = [
  0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000,
  3600000,
];

/** The standard normal's 0.99 quantile. */
const Z99 = 2.326347874;

/** The p99 of a behaviour's log-normal latency (ms). */
export function latencyP99Ms(b: Behaviour): number {
  return b.latencyMedianMs * Math.exp(b.latencySigma * Z99);
}

/** The σ of the log-normal with this median and p99 (ms). */
export function sigmaFor(medianMs: number, p99Ms: number): number {
  return Math.log(p99Ms / medianMs) / Z99;
}

/** A standard normal draw (Box–Muller) from a uniform source. */
export function normal(random: () => number): number {
  const u = Math.max(random(), 1e-12);
  const v = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** One request's latency (ms) under a behaviour. */
export function drawLatencyMs(b: Behaviour, random: () => number): number {
  return b.latencyMedianMs * Math.exp(b.latencySigma * normal(random));
}

/** Whether a value is a valid Behaviour (as the simulators accept it over HTTP). */
export function isBehaviour(v: unknown): v is Behaviour {
  if (typeof v !== 'object' || v === null) return false;
  const b = v as Record<string, unknown>;
  return (
    typeof b['errorRate'] === 'number' &&
    b['errorRate'] >= 0 &&
    b['errorRate'] <= 1 &&
    typeof b['latencyMedianMs'] === 'number' &&
    b['latencyMedianMs'] > 0 &&
    typeof b['latencySigma'] === 'number' &&
    b['latencySigma'] >= 0 &&
    b['latencySigma'] <= 5 &&
    (b['emptySearchRate'] === undefined ||
      (typeof b['emptySearchRate'] === 'number' && b['emptySearchRate'] >= 0 && b['emptySearchRate'] <= 1))
  );
}
