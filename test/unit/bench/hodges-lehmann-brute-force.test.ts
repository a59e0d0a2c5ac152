/**
 * The Hodges–Lehmann shift interval behind the gauge check (and so behind the benchmark's
 * Kayenta baseline, bench/lib/rules.ts): exact case against a brute-force enumeration
 * (scripts/fixtures/count_reference.py), tie case by its defining properties.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { hodgesLehmann } from '../../../bench/lib/mann-whitney.js';

interface Row {
  x: number[];
  y: number[];
  confidence: number;
  lower: number;
  upper: number;
  estimate: number;
}
const rows = (
  JSON.parse(
    readFileSync(
      new URL('../../fixtures/stats/count-reference/count-reference.json', import.meta.url),
      'utf8',
    ),
  ) as {
    kayentaShiftExact: Row[];
  }
).kayentaShiftExact;

describe('Hodges–Lehmann shift interval', () => {
  it.each(rows)('exact interval (no ties) matches brute-force enumeration, n=$x.length/$y.length', (r) => {
    const got = hodgesLehmann(r.x, r.y, { confidence: r.confidence, method: 'exact' });
    expect(got.lower).toBeCloseTo(r.lower, 12);
    expect(got.upper).toBeCloseTo(r.upper, 12);
    expect(got.estimate).toBeCloseTo(r.estimate, 12);
  });

  it('with ties (per-minute error rates), the interval brackets the estimate and moves with a shift', () => {
    const y = [0, 0, 1 / 60, 0, 0, 1 / 60, 0, 0, 0, 2 / 60];
    const x = [2 / 60, 1 / 60, 3 / 60, 1 / 60, 2 / 60, 4 / 60, 1 / 60, 2 / 60, 3 / 60, 2 / 60];
    const a = hodgesLehmann(x, y, { confidence: 0.98 });
    expect(a.method).toBe('asymptotic');
    expect(a.lower).toBeLessThanOrEqual(a.estimate);
    expect(a.estimate).toBeLessThanOrEqual(a.upper);
    expect(a.lower).toBeGreaterThan(0); // clearly worse canary
    const shifted = hodgesLehmann(
      x.map((v) => v + 0.5),
      y,
      { confidence: 0.98 },
    );
    expect(shifted.lower).toBeCloseTo(a.lower + 0.5, 6);
    expect(shifted.upper).toBeCloseTo(a.upper + 0.5, 6);
  });

  it('collapses to the common difference when every observation is tied, and refuses an empty sample', () => {
    expect(hodgesLehmann([0, 0, 0], [0, 0], { confidence: 0.98 })).toMatchObject({
      estimate: 0,
      lower: 0,
      upper: 0,
    });
    expect(() => hodgesLehmann([], [1], { confidence: 0.98 })).toThrow(RangeError);
  });
});
