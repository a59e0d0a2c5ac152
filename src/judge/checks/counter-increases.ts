/**
 * Exact per-interval increases of cumulative counters sampled at the grid points (one series per
 * reporting target, e.g. per pod), differenced here rather than by PromQL's increase(), which
 * extrapolates. Per target and interval (t − step, t]: present at both points → the difference;
 * absent at t − step (a new target) → its whole value; a drop → a reset, its whole value; absent
 * at t (gone) → nothing. The grid's first point is the baseline: it starts the counting and is
 * no interval of its own. NaN, infinities and negative values pass through as NaN for the caller
 * to refuse.
 */
import type { Series } from '../../prometheus/client.js';
import type { Grid } from './kind.js';

export function counterIncreases(
  series: readonly Series[],
  grid: Grid,
): { times: number[]; increases: number[] } {
  const n = Math.max(0, Math.round((grid.end - grid.start) / grid.step));
  const times = Array.from({ length: n }, (_, k) => grid.start + (k + 1) * grid.step);
  const increases = new Array<number>(n).fill(0);
  for (const s of series) {
    const at = new Map<number, number>();
    for (const p of s.samples) at.set(p.t, Number.isFinite(p.v) && p.v >= 0 ? p.v : Number.NaN);
    times.forEach((t, k) => {
      const v = at.get(t);
      if (v === undefined) return;
      const prev = at.get(t - grid.step);
      const inc = prev === undefined || v < prev ? v : v - prev;
      increases[k] = (increases[k] as number) + inc;
    });
  }
  return { times, increases };
}
