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
import type { Series } from '../metrics-source.js';

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

/** The end of each of the grid's `n` intervals. */
function intervalEnds(grid: CounterGrid, n: number): number[] {
  const times = new Array<number>(n);
  for (let i = 0; i < n; i++) times[i] = grid.start + (i + 1) * grid.step;
  return times;
}

/** Whether some member has a count (a value, not NaN) at grid point `i`. */
function someCountAt(values: readonly (readonly (number | undefined)[])[], i: number): boolean {
  for (const v of values) {
    const x = v[i];
    if (x !== undefined && !Number.isNaN(x)) return true;
  }
  return false;
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
  const times = intervalEnds(grid, n);
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

/**
 * Per-interval increases of several classes of counters exported by the same targets (a pod's
 * series per response code, per bucket bound), summed per class. A restart resets all of a
 * target's counters at once, but a rare class (a 503 series, a low bucket) can grow past its
 * old value before the next grid point and hide it; so a reset is read from the target as a
 * whole: at a point where the target's series present at both this point and its previous one
 * add up to less than they did, every series of the target counts from zero. Otherwise each
 * series is differenced as in {@link counterIncreases}.
 */
export function targetIncreases(
  series: readonly Series[],
  grid: CounterGrid,
  targetOf: (labels: Readonly<Record<string, string>>) => string,
  classOf: (labels: Readonly<Record<string, string>>) => string | undefined,
): Map<string, CounterIncreases> {
  const n = gridIntervals(grid);
  const times = intervalEnds(grid, n);
  const byTarget = new Map<string, Series[]>();
  for (const s of series) {
    const t = targetOf(s.labels);
    const g = byTarget.get(t);
    if (g === undefined) byTarget.set(t, [s]);
    else g.push(s);
  }
  const out = new Map<string, CounterIncreases>();
  const slot = (c: string): CounterIncreases => {
    let r = out.get(c);
    if (r === undefined) {
      r = { times, increases: new Array<number>(n).fill(0), present: new Array<boolean>(n).fill(false) };
      out.set(c, r);
    }
    return r;
  };
  for (const members of byTarget.values()) {
    // Each member's valid values by grid point (undefined: absent; NaN: not a count).
    const values = members.map((s) => {
      const v = new Array<number | undefined>(n + 1).fill(undefined);
      for (const p of s.samples) {
        const k = (p.t - grid.start) / grid.step;
        const i = Math.round(k);
        if (Math.abs(k - i) > 1e-6 || i < 0 || i > n) continue;
        v[i] = p.v >= 0 && p.v <= MAX_COUNTER ? p.v : Number.NaN;
      }
      return v;
    });
    // Reset points of the target: the members present at this point and the target's previous
    // point add up to less than they did there.
    const reset = new Array<boolean>(n + 1).fill(false);
    let prev: number | undefined;
    for (let i = 0; i <= n; i++) {
      if (!someCountAt(values, i)) continue;
      if (prev !== undefined) {
        let before = 0;
        let now = 0;
        for (const v of values) {
          const a = v[prev];
          const b = v[i];
          if (a === undefined || b === undefined || Number.isNaN(a) || Number.isNaN(b)) continue;
          before += a;
          now += b;
        }
        reset[i] = now < before;
      }
      prev = i;
    }
    members.forEach((s, m) => {
      const c = classOf(s.labels);
      if (c === undefined) return;
      const r = slot(c);
      const v = values[m] as (number | undefined)[];
      let last: number | undefined;
      for (let i = 0; i <= n; i++) {
        const x = v[i];
        if (x === undefined) continue;
        if (i > 0) r.present[i - 1] = true;
        if (Number.isNaN(x)) {
          if (n > 0) r.increases[Math.max(0, i - 1)] = Number.NaN;
          continue;
        }
        if (i > 0) {
          const inc = last === undefined || reset[i] === true || x < last ? x : x - last;
          r.increases[i - 1] = (r.increases[i - 1] as number) + inc;
        }
        last = x;
      }
    });
  }
  return out;
}
