/**
 * The benchmark's Kayenta baseline must be a faithful Mann–Whitney shift interval, or the
 * comparison in bench/README.md means nothing: exact case against a brute-force enumeration
 * (scripts/fixtures/count_reference.py), tie case by its defining properties.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { mannWhitneyShift } from '../../bench/lib/mann-whitney.js';

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
    readFileSync(new URL('../fixtures/stats/count-reference/count-reference.json', import.meta.url), 'utf8'),
  ) as {
    kayentaShiftExact: Row[];
  }
).kayentaShiftExact;

describe('Mann–Whitney shift interval used for the Kayenta baseline', () => {
  it.each(rows)('exact interval (no ties) matches brute-force enumeration, n=$x.length/$y.length', (r) => {
    const got = mannWhitneyShift(r.x, r.y, r.confidence);
    expect(got).not.toBeNull();
    expect(got?.lower).toBeCloseTo(r.lower, 12);
    expect(got?.upper).toBeCloseTo(r.upper, 12);
    expect(got?.estimate).toBeCloseTo(r.estimate, 12);
  });

  it('with ties (per-minute error rates), the interval brackets the estimate and moves with a shift', () => {
    const y = [0, 0, 1 / 60, 0, 0, 1 / 60, 0, 0, 0, 2 / 60];
    const x = [2 / 60, 1 / 60, 3 / 60, 1 / 60, 2 / 60, 4 / 60, 1 / 60, 2 / 60, 3 / 60, 2 / 60];
    const a = mannWhitneyShift(x, y, 0.98);
    expect(a).not.toBeNull();
    expect(a!.lower).toBeLessThanOrEqual(a!.estimate);
    expect(a!.estimate).toBeLessThanOrEqual(a!.upper);
    expect(a!.lower).toBeGreaterThan(0); // clearly worse canary
    const shifted = mannWhitneyShift(
      x.map((v) => v + 0.5),
      y,
      0.98,
    );
    expect(shifted!.lower).toBeCloseTo(a!.lower + 0.5, 6);
    expect(shifted!.upper).toBeCloseTo(a!.upper + 0.5, 6);
  });

  it('gives up (null) when every observation is tied, as Kayenta cannot classify then', () => {
    expect(mannWhitneyShift([0, 0, 0], [0, 0], 0.98)).toBeNull();
    expect(mannWhitneyShift([], [1], 0.98)).toBeNull();
  });
});
