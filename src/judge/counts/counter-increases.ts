/**
 * Exact counts from cumulative counters sampled at the grid points of an analysis.
 *
 * The queries return raw cumulative counters (summed per reporting target: one series per pod,
 * or per pod and bucket bound, …) at every grid point from the window's baseline point on, and
 * the judge takes the differences here instead of letting PromQL's `increase()` extrapolate. Per
 * series (a series is one target, told apart by its labels), between two grid points:
 *
 *  - present at both, value grown or equal: the difference;
 *  - absent at every earlier point of the grid: counted from zero (Istio creates a series on its
 *    first request, so a series born inside the window holds only requests made inside it);
 *  - the value dropped: a reset (the pod restarted), counted from zero;
 *  - absent now: adds nothing (a pod that went away; its last requests stay where they were
 *    sampled);
 *  - absent for a while and back: differenced against the last value seen, so a scrape gap
 *    longer than Prometheus' look-back is not counted twice. Within the look-back, an instant
 *    vector repeats the last sample, so a gap never invents requests.
 *
 * What each interval gets is what the scraped samples allow: the requests up to the last sample
 * at or before each grid point. A value that is not a count (NaN, infinite, negative, or beyond
 * 2^53 where a float64 no longer counts one by one) makes the interval it ends NaN — the first
 * interval for the baseline point — for the engine to refuse (invalid_data), and is not used
 * as a reference.
 */
import type { Series } from '../../prometheus/client.js';

/**
 * The largest counter value that still counts single requests: above 2^53 a float64 cannot hold
 * every integer, so differences are no longer requests (a value like 1e308 is refused, not
 * read as "no traffic").
 */
export const MAX_COUNTER = Number.MAX_SAFE_INTEGER;

/** Grid points `start`, `start + step`, …, `end` (Unix seconds); `start` is the baseline point. */
export interface CounterGrid {
  readonly start: number;
  readonly step: number;
  readonly end: number;
}

export interface CounterIncreases {
  /** The end of each interval: `start + step`, …, `end`. */
  readonly times: number[];
  /** Requests counted in each interval, summed over the series; NaN where a value was no count. */
  readonly increases: number[];
  /** Whether some series had a sample at the interval's end (a side with counters there). */
  readonly present: boolean[];
}

/** Number of intervals on the grid (points after the baseline point). */
export function gridIntervals(grid: CounterGrid): number {
  if (!(grid.step > 0) || grid.end < grid.start) return 0;
  return Math.floor((grid.end - grid.start) / grid.step + 1e-9);
}

/**
 * Per-interval increases of the counters in `series` on `grid`, summed over the series. Samples
 * off the grid are ignored (a range query answers only grid points); samples are in time order,
 * as Prometheus answers them.
 */
export function counterIncreases(series: readonly Series[], grid: CounterGrid): CounterIncreases {
  const n = gridIntervals(grid);
  const times = Array.from({ length: n }, (_, i) => grid.start + (i + 1) * grid.step);
  const increases = new Array<number>(n).fill(0);
  const present = new Array<boolean>(n).fill(false);
  for (const s of series) addSeries(s, grid, increases, present);
  return { times, increases, present };
}

/**
 * Adds one series' increases into `into` (one slot per interval of `grid`), and marks in
 * `present` (when given) the intervals at whose end the series has a sample.
 */
export function addSeries(s: Series, grid: CounterGrid, into: number[], present?: boolean[]): void {
  const n = into.length;
  let last: number | undefined;
  for (const p of s.samples) {
    const k = (p.t - grid.start) / grid.step;
    const i = Math.round(k);
    if (Math.abs(k - i) > 1e-6 || i < 0 || i > n) continue;
    const v = p.v;
    if (i > 0 && present !== undefined) present[i - 1] = true;
    if (!(v >= 0 && v <= MAX_COUNTER)) {
      // Not a count: the interval it ends is refused (at the baseline point, the first one,
      // which would otherwise count the next value from zero).
      if (n > 0) into[Math.max(0, i - 1)] = Number.NaN;
      continue;
    }
    if (i > 0) {
      // Absent before, or dropped (a reset): everything it holds is new.
      const inc = last === undefined || v < last ? v : v - last;
      into[i - 1] = (into[i - 1] as number) + inc;
    }
    last = v;
  }
}
