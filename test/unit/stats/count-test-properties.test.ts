/** Property tests (fast-check) of the count test, its e-process and its effect interval. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_COUNT_TEST_PARAMS, decideCounts } from '../../../src/stats/count-test.js';
import { rateRatio } from '../../../src/stats/effect.js';
import type { CountTestParams, IntervalCounts, Verdict } from '../../../src/stats/types.js';

const rank: Record<Verdict, number> = { Fail: 0, Inconclusive: 1, Pass: 2 };

/** |a − b| ≤ rel · max(|a|, |b|) (+ a tiny absolute slack for values near 0). */
function expectRel(a: number | null, b: number | null, rel = 1e-9): void {
  expect(a === null).toBe(b === null);
  if (a === null || b === null) return;
  expect(Math.abs(a - b)).toBeLessThanOrEqual(rel * Math.max(Math.abs(a), Math.abs(b)) + 1e-300);
}

/**
 * One interval with fractional counts, bad ≤ total on each side. `realistic` keeps totals at 0 or
 * ≥ 0.01 and bad fractions at 0 or ≥ 1e-4 (what increase() yields); otherwise any double ≥ 0, subnormals included, where only
 * the "finite and in range" property is expected to hold (invariances lose their meaning once
 * the arithmetic itself underflows).
 */
function intervalArb(realistic: boolean): fc.Arbitrary<IntervalCounts> {
  const total = (max: number) =>
    realistic
      ? fc.oneof(fc.constant(0), fc.double({ min: 0.01, max, noNaN: true }))
      : fc.double({ min: 0, max, noNaN: true });
  const frac = (max: number) =>
    realistic
      ? fc.oneof(fc.constant(0), fc.double({ min: 1e-4, max, noNaN: true }))
      : fc.double({ min: 0, max, noNaN: true });
  return fc
    .record({
      canaryTotal: total(5000),
      canaryFrac: frac(0.2),
      stableTotal: total(50000),
      stableFrac: frac(0.05),
    })
    .map((r): IntervalCounts => ({
      canaryTotal: r.canaryTotal,
      canaryBad: r.canaryTotal * r.canaryFrac,
      stableTotal: r.stableTotal,
      stableBad: r.stableTotal * r.stableFrac,
    }));
}
const history = fc.array(intervalArb(true), { minLength: 1, maxLength: 40 });
const anyHistory = fc.array(intervalArb(false), { minLength: 1, maxLength: 40 });
const params = fc.record({
  alpha: fc.constantFrom(0.001, 0.01, 0.05),
  margin: fc.constantFrom(0, 0.05, 0.1, 0.5),
  criticalEffect: fc.constantFrom(1.6, 2, 3, 10),
  power: fc.constantFrom(0.5, 0.8, 0.95),
}) as fc.Arbitrary<CountTestParams>;

describe('count test properties', () => {
  it('e-values are finite and ≥ 0, p-values in [0, 1], power in [0, 1]', () => {
    fc.assert(
      fc.property(anyHistory, params, (iv, p) => {
        const r = decideCounts(iv, p);
        expect(r.evidence.eValue).toBeGreaterThanOrEqual(0);
        expect(Number.isFinite(r.evidence.eValue)).toBe(true);
        expect(r.evidence.pValue).toBeGreaterThanOrEqual(0);
        expect(r.evidence.pValue).toBeLessThanOrEqual(1);
        expect(r.power.achieved).toBeGreaterThanOrEqual(0);
        expect(r.power.achieved).toBeLessThanOrEqual(1);
        expect(r.verdict === 'Fail').toBe(r.evidence.pValue <= p.alpha);
      }),
      { numRuns: 300 },
    );
  });

  it('more canary errors never lower the evidence and never give a better verdict', () => {
    fc.assert(
      fc.property(
        history,
        params,
        fc.nat(),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (iv, p, at, extra) => {
          const i = at % iv.length;
          const worse = iv.map((v, j) =>
            j === i ? { ...v, canaryBad: v.canaryBad + extra * (v.canaryTotal - v.canaryBad) } : v,
          );
          const a = decideCounts(iv, p);
          const b = decideCounts(worse, p);
          expect(b.evidence.pValue).toBeLessThanOrEqual(a.evidence.pValue * (1 + 1e-9) + 1e-300);
          expect(b.evidence.eValue).toBeGreaterThanOrEqual(a.evidence.eValue * (1 - 1e-9));
          expect(rank[b.verdict]).toBeLessThanOrEqual(rank[a.verdict]);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('fewer stable errors (a relatively worse canary) never give a better verdict', () => {
    // Removing stable errors raises the evidence and lowers the baseline, and with it the power
    // (for required power ≥ 0.5): the verdict can only move towards Fail or Inconclusive.
    fc.assert(
      fc.property(history, params, fc.double({ min: 0, max: 1, noNaN: true }), (iv, p, keep) => {
        const better = iv.map((v) => ({ ...v, stableBad: v.stableBad * keep }));
        expect(rank[decideCounts(better, p).verdict]).toBeLessThanOrEqual(rank[decideCounts(iv, p).verdict]);
      }),
      { numRuns: 200 },
    );
  });

  it('keeps its ratio evidence invariant to scaling every request total (only the floor reads absolute rates)', () => {
    fc.assert(
      fc.property(history, params, fc.double({ min: 1, max: 1000, noNaN: true }), (iv, p, c) => {
        const scaled = iv.map((v) => ({
          ...v,
          canaryTotal: v.canaryTotal * c,
          stableTotal: v.stableTotal * c,
        }));
        const a = decideCounts(iv, p);
        const b = decideCounts(scaled, p);
        // Fail rests on the conditional e-process alone; Pass may also come from the floor,
        // which depends on the exposure, so the verdicts agree whenever neither floor is met.
        expect(b.verdict === 'Fail').toBe(a.verdict === 'Fail');
        if (a.floor?.met !== true && b.floor?.met !== true) expect(b.verdict).toBe(a.verdict);
        expectRel(b.evidence.pValue, a.evidence.pValue, 1e-9);
        expectRel(b.evidence.eValue, a.evidence.eValue, 1e-9);
        expect(Math.abs(b.power.achieved - a.power.achieved)).toBeLessThanOrEqual(1e-9);
        expectRel(b.effect.ratio, a.effect.ratio, 1e-9);
      }),
      { numRuns: 200 },
    );
  });

  it('does not depend on how the same history is split when shares are constant (conditional model)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2000 }),
        fc.integer({ min: 0, max: 50 }),
        fc.integer({ min: 0, max: 50 }),
        (n, xc, xs) => {
          const q = 0.2;
          const one = [
            { canaryTotal: n * q * 2, canaryBad: xc * 2, stableTotal: n * (1 - q) * 2, stableBad: xs * 2 },
          ];
          const two = [
            { canaryTotal: n * q, canaryBad: xc, stableTotal: n * (1 - q), stableBad: xs },
            { canaryTotal: n * q, canaryBad: xc, stableTotal: n * (1 - q), stableBad: xs },
          ];
          const a = decideCounts(one, DEFAULT_COUNT_TEST_PARAMS);
          const b = decideCounts(two, DEFAULT_COUNT_TEST_PARAMS);
          // Same final e-value; the split history may only have a larger running maximum.
          expectRel(b.evidence.eValue, a.evidence.eValue, 1e-9);
          expect(b.evidence.pValue).toBeLessThanOrEqual(a.evidence.pValue * (1 + 1e-9));
          expect(Math.abs(b.power.achieved - a.power.achieved)).toBeLessThanOrEqual(1e-9);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('a stricter alpha never turns a non-Fail into a Fail', () => {
    fc.assert(
      fc.property(history, params, (iv, p) => {
        const strict = decideCounts(iv, { ...p, alpha: p.alpha / 10 });
        if (decideCounts(iv, p).verdict !== 'Fail') expect(strict.verdict).not.toBe('Fail');
      }),
      { numRuns: 200 },
    );
  });
});

describe('effect interval properties', () => {
  const pooled = fc.record({
    canaryTotal: fc.double({ min: 1, max: 1e6, noNaN: true }),
    canaryBad: fc.double({ min: 0.5, max: 500, noNaN: true }),
    stableTotal: fc.double({ min: 1, max: 1e6, noNaN: true }),
    stableBad: fc.double({ min: 0.5, max: 500, noNaN: true }),
  });

  it('contains the point estimate', () => {
    fc.assert(
      fc.property(pooled, (c) => {
        const e = rateRatio(c);
        expect(e.lower as number).toBeLessThanOrEqual((e.ratio as number) * (1 + 1e-9));
        expect(e.upper as number).toBeGreaterThanOrEqual((e.ratio as number) * (1 - 1e-9));
      }),
    );
  });

  it('swapping canary and stable gives the reciprocal interval', () => {
    fc.assert(
      fc.property(pooled, (c) => {
        const a = rateRatio(c);
        const b = rateRatio({
          canaryTotal: c.stableTotal,
          canaryBad: c.stableBad,
          stableTotal: c.canaryTotal,
          stableBad: c.canaryBad,
        });
        expectRel(b.ratio, 1 / (a.ratio as number), 1e-9);
        expectRel((b.lower as number) * (a.upper as number), 1, 1e-7);
        expectRel((b.upper as number) * (a.lower as number), 1, 1e-7);
      }),
    );
  });

  it('a 99% interval contains the 95% interval', () => {
    fc.assert(
      fc.property(pooled, (c) => {
        const a = rateRatio(c, 0.95);
        const b = rateRatio(c, 0.99);
        expect(b.lower as number).toBeLessThanOrEqual((a.lower as number) * (1 + 1e-12));
        expect(b.upper as number).toBeGreaterThanOrEqual((a.upper as number) * (1 - 1e-12));
      }),
    );
  });
});
