import { describe, expect, it } from 'vitest';
import type { Series } from '../../../../src/judge/metrics-source.js';
import {
  counterIncreases,
  gridIntervals,
  targetIncreases,
} from '../../../../src/judge/counts/counter-increases.js';

const grid = { start: 600, step: 60, end: 900 };
/** A series from values at the grid points 600, 660, …; null: absent at that point. */
const series = (values: readonly (number | null)[], labels: Record<string, string> = {}): Series => ({
  labels,
  samples: values.flatMap((v, i) => (v === null ? [] : [{ t: 600 + 60 * i, v }])),
});

describe('counterIncreases', () => {
  it('gives one interval per grid point after the baseline point, each ending at its point', () => {
    expect(gridIntervals(grid)).toBe(5);
    expect(counterIncreases([], grid)).toEqual({
      times: [660, 720, 780, 840, 900],
      increases: [0, 0, 0, 0, 0],
      present: [false, false, false, false, false],
    });
    expect(gridIntervals({ start: 600, step: 60, end: 600 })).toBe(0);
    expect(gridIntervals({ start: 600, step: 60, end: 599 })).toBe(0);
  });

  it('differences a counter present at every point', () => {
    expect(counterIncreases([series([100, 110, 130, 130, 160, 161])], grid).increases).toEqual([
      10, 20, 0, 30, 1,
    ]);
  });

  it('counts a series born inside the window from zero', () => {
    expect(counterIncreases([series([null, null, 7, 9, 20, 20])], grid).increases).toEqual([0, 7, 2, 11, 0]);
  });

  it('counts a drop as a reset, from zero', () => {
    expect(counterIncreases([series([100, 150, 4, 10, 3, 3])], grid).increases).toEqual([50, 4, 6, 3, 0]);
  });

  it('adds nothing for a series that disappears', () => {
    expect(counterIncreases([series([100, 150, null, null, null, null])], grid).increases).toEqual([
      50, 0, 0, 0, 0,
    ]);
  });

  it('differences a series that comes back against the last value seen, or from zero if it reset', () => {
    expect(counterIncreases([series([100, null, null, 130, 140, null])], grid).increases).toEqual([
      0, 0, 30, 10, 0,
    ]);
    expect(counterIncreases([series([100, null, 20, 25, null, 30])], grid).increases).toEqual([
      0, 20, 5, 0, 5,
    ]);
  });

  it('sums the series, each differenced on its own', () => {
    const a = series([100, 110, 0, 5, 5, 5], { pod: 'a' });
    const b = series([null, 3, 6, 6, null, null], { pod: 'b' });
    const c = series([null, null, null, null, 50, 51], { pod: 'c' });
    expect(counterIncreases([a, b, c], grid).increases).toEqual([13, 3, 5, 50, 1]);
    expect(counterIncreases([b], grid).present).toEqual([true, true, true, false, false]);
  });

  it('makes an interval NaN where a value is not a count, and keeps the last good value as reference', () => {
    const r = counterIncreases([series([100, Number.NaN, 120, -1, 130, Number.POSITIVE_INFINITY])], grid);
    expect(r.increases.map((x) => (Number.isNaN(x) ? 'NaN' : x))).toEqual(['NaN', 20, 'NaN', 10, 'NaN']);
  });

  it('refuses a non-count at the baseline point in the first interval, and values beyond 2^53', () => {
    const nan = (xs: number[]) => xs.map((x) => (Number.isNaN(x) ? 'NaN' : x));
    expect(nan(counterIncreases([series([Number.NaN, 10, 20, 30, 40, 50])], grid).increases)).toEqual([
      'NaN',
      10,
      10,
      10,
      10,
    ]);
    expect(
      nan(counterIncreases([series([1e308, 1e308, 1e308, 1e308, 1e308, 1e308])], grid).increases),
    ).toEqual(['NaN', 'NaN', 'NaN', 'NaN', 'NaN']);
    expect(
      counterIncreases([series([2 ** 53 - 10, 2 ** 53 - 5, 2 ** 53 - 1, null, null, null])], grid).increases,
    ).toEqual([5, 4, 0, 0, 0]);
  });

  it('ignores samples off the grid or outside it', () => {
    const s: Series = {
      labels: {},
      samples: [
        { t: 540, v: 1 },
        { t: 600, v: 10 },
        { t: 630, v: 999 },
        { t: 660, v: 15 },
        { t: 960, v: 5000 },
      ],
    };
    expect(counterIncreases([s], grid).increases).toEqual([5, 0, 0, 0, 0]);
  });

  it('gives whole counts for whole counters (no extrapolation)', () => {
    const r = counterIncreases([series([null, 153, 3153, 6153, 9153, 12153])], grid);
    expect(r.increases).toEqual([153, 3000, 3000, 3000, 3000]);
    expect(r.increases.every(Number.isInteger)).toBe(true);
  });
});

describe('targetIncreases', () => {
  const byPod = (l: Readonly<Record<string, string>>) => l['pod'] ?? '';
  const byCode = (l: Readonly<Record<string, string>>) => l['code'];

  it('reads a restart from the whole target, so a rare series that outgrew its old value counts from zero', () => {
    const r = targetIncreases(
      [
        series([1000, 1100, 50, 150, 250, 350], { pod: 'a', code: '200' }),
        series([2, 3, 5, 5, 6, 6], { pod: 'a', code: '503' }),
        series([null, 10, 20, 30, 40, 50], { pod: 'b', code: '503' }),
      ],
      grid,
      byPod,
      byCode,
    );
    expect(r.get('200')?.increases).toEqual([100, 50, 100, 100, 100]);
    expect(r.get('503')?.increases).toEqual([1 + 10, 5 + 10, 0 + 10, 1 + 10, 0 + 10]);
    expect(r.get('503')?.present).toEqual([true, true, true, true, true]);
  });

  it('does not take a series that went away for a restart of its target', () => {
    const r = targetIncreases(
      [
        series([1000, 1100, 1200, 1300, 1400, 1500], { pod: 'a', code: '200' }),
        series([500, 500, null, null, null, null], { pod: 'a', code: '503' }),
      ],
      grid,
      byPod,
      byCode,
    );
    expect(r.get('200')?.increases).toEqual([100, 100, 100, 100, 100]);
    expect(r.get('503')?.increases).toEqual([0, 0, 0, 0, 0]);
  });

  it('agrees with counterIncreases on one series per target, NaN included', () => {
    const s = [
      series([100, Number.NaN, 120, 5, null, 30], { pod: 'a', code: 'x' }),
      series([null, null, 7, 9, 20, 20], { pod: 'b', code: 'x' }),
    ];
    const a = targetIncreases(s, grid, byPod, byCode).get('x');
    const b = counterIncreases(s, grid);
    expect(a?.increases.map(String)).toEqual(b.increases.map(String));
    expect(a?.present).toEqual(b.present);
  });
});
