import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  gaugeCheck,
  hodgesLehmann,
  mannWhitneyU,
  type MannWhitneyAlternative,
} from '../../../bench/lib/mann-whitney.js';
import { rng } from '../../support/random.js';

interface PCase {
  x: number[];
  y: number[];
  results: { alternative: MannWhitneyAlternative; continuity?: boolean; u: number; p: number }[];
}
interface ShiftCase {
  x: number[];
  y: number[];
  estimate: number;
  intervals: { confidence: number; method: 'exact' | 'asymptotic'; lower: number; upper: number }[];
}
const fx = JSON.parse(
  readFileSync(new URL('../../fixtures/stats/mann-whitney/scipy.json', import.meta.url), 'utf8'),
) as { source: string; exactNoTies: PCase[]; exactTies: PCase[]; asymptotic: PCase[]; shift: ShiftCase[] };

const rel = (got: number, want: number, tol: number, ctx: string): void => {
  expect(Math.abs(got - want), ctx).toBeLessThanOrEqual(tol * Math.max(Math.abs(want), 1e-300));
};

describe(`mannWhitneyU against scipy (${fx.source})`, () => {
  it('exact p-values equal mannwhitneyu(method="exact") without ties', () => {
    expect(fx.exactNoTies.length).toBeGreaterThan(10);
    for (const c of fx.exactNoTies) {
      for (const r of c.results) {
        const got = mannWhitneyU(c.x, c.y, { alternative: r.alternative, method: 'exact' });
        const ctx = JSON.stringify({ x: c.x, y: c.y, r });
        expect(got.u, ctx).toBe(r.u);
        rel(got.pValue, r.p, 1e-12, ctx);
      }
    }
  });
  it('exact p-values with ties equal permutation_test over every split', () => {
    expect(fx.exactTies.length).toBeGreaterThan(10);
    let tied = 0;
    for (const c of fx.exactTies) {
      for (const r of c.results) {
        const got = mannWhitneyU(c.x, c.y, { alternative: r.alternative, method: 'exact' });
        const ctx = JSON.stringify({ x: c.x, y: c.y, r });
        if (got.ties) tied++;
        expect(got.u, ctx).toBe(r.u);
        rel(got.pValue, r.p, 1e-12, ctx);
      }
    }
    expect(tied).toBeGreaterThan(30);
  });
  it('asymptotic p-values equal mannwhitneyu(method="asymptotic") with the tie correction, ± continuity', () => {
    for (const c of fx.asymptotic) {
      for (const r of c.results) {
        const got = mannWhitneyU(c.x, c.y, {
          alternative: r.alternative,
          method: 'asymptotic',
          continuity: r.continuity ?? true,
        });
        const ctx = JSON.stringify({ n1: c.x.length, n2: c.y.length, r });
        expect(got.u, ctx).toBe(r.u);
        rel(got.pValue, r.p, 1e-9, ctx);
      }
    }
  });
});

describe('mannWhitneyU behaviour', () => {
  it('answers p = 1 when every value is tied', () => {
    for (const method of ['exact', 'asymptotic'] as const) {
      expect(mannWhitneyU([3, 3, 3], [3, 3], { method }).pValue).toBe(1);
    }
  });
  it('refuses the exact method beyond its size limit instead of running for seconds', () => {
    const big = Array.from({ length: 61 }, (_, i) => i);
    expect(() => mannWhitneyU(big, big, { method: 'exact' })).toThrow(/exact method limited/);
    expect(mannWhitneyU(big, big).method).toBe('asymptotic');
  });
  it('refuses empty samples and non-finite values', () => {
    expect(() => mannWhitneyU([], [1])).toThrow(RangeError);
    expect(() => mannWhitneyU([1, Number.NaN], [1])).toThrow(/x\[1\]/);
    expect(() => mannWhitneyU([1], [Infinity])).toThrow(/y\[0\]/);
  });
  it('swapping the samples swaps greater and less (exact and asymptotic)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 6 }), { minLength: 1, maxLength: 9 }),
        fc.array(fc.integer({ min: 0, max: 6 }), { minLength: 1, maxLength: 9 }),
        fc.constantFrom('exact', 'asymptotic' as const),
        (x, y, method) => {
          const a = mannWhitneyU(x, y, { alternative: 'greater', method });
          const b = mannWhitneyU(y, x, { alternative: 'less', method });
          expect(a.pValue).toBeCloseTo(b.pValue, 12);
          expect(a.u + b.u).toBe(x.length * y.length);
        },
      ),
    );
  });
  it('is invariant under a monotone transform of the data (ranks only)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 20 }), { minLength: 1, maxLength: 12 }),
        fc.array(fc.integer({ min: 0, max: 20 }), { minLength: 1, maxLength: 12 }),
        (x, y) => {
          const f = (v: number): number => Math.exp(v / 3) + 7;
          const a = mannWhitneyU(x, y, { alternative: 'greater' });
          const b = mannWhitneyU(x.map(f), y.map(f), { alternative: 'greater' });
          expect(b.pValue).toBe(a.pValue);
        },
      ),
    );
  });
  it('a larger canary value never lowers U, and never raises the p-value when values are distinct', () => {
    // With ties the exact test is conditional on the tie pattern, so moving a value can change
    // the null distribution itself; monotonicity of p is a property of the untied case.
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 0, max: 1000 }), { minLength: 4, maxLength: 20 }),
        fc.integer({ min: 2, max: 10 }),
        fc.nat(19),
        fc.constantFrom('exact', 'asymptotic' as const),
        (pool, split, i, method) => {
          const cut = Math.min(split, pool.length - 2);
          const x = pool.slice(0, cut).map((v) => v + 0.25);
          const y = pool.slice(cut);
          const j = i % x.length;
          // +0.5 keeps every value distinct (x values end in .25 or .75, y values are integers).
          const worse = x.map((v, k) => (k === j ? v + 0.5 : v));
          const before = mannWhitneyU(x, y, { alternative: 'greater', method });
          const after = mannWhitneyU(worse, y, { alternative: 'greater', method });
          expect(after.u).toBeGreaterThanOrEqual(before.u);
          expect(after.pValue).toBeLessThanOrEqual(before.pValue + 1e-15);
        },
      ),
    );
  });
  it('exact and asymptotic agree closely at the auto cut-over (n = 60 with ties)', () => {
    const r = rng(11);
    const x = Array.from({ length: 30 }, () => Math.floor(r() * 8) + 1);
    const y = Array.from({ length: 30 }, () => Math.floor(r() * 8));
    const e = mannWhitneyU(x, y, { alternative: 'greater', method: 'exact' });
    const a = mannWhitneyU(x, y, { alternative: 'greater', method: 'asymptotic' });
    expect(mannWhitneyU(x, y, { alternative: 'greater' }).method).toBe('exact');
    expect(Math.abs(Math.log(e.pValue / a.pValue))).toBeLessThan(0.2);
  });
  it('keeps its false-positive rate ≤ α under H0 with heavy ties (seeded simulation)', () => {
    // 2000 pairs of samples (n = 8 vs 8, values 0..3): the exact test at α = 0.05.
    const r = rng(5);
    let rejections = 0;
    for (let i = 0; i < 2000; i++) {
      const x = Array.from({ length: 8 }, () => Math.floor(r() * 4));
      const y = Array.from({ length: 8 }, () => Math.floor(r() * 4));
      if (mannWhitneyU(x, y, { alternative: 'greater', method: 'exact' }).pValue <= 0.05) rejections++;
    }
    // Upper 99.9% binomial bound for rate 0.05 over 2000 trials ≈ 0.05 + 3.1·σ (σ ≈ 0.0049).
    expect(rejections / 2000).toBeLessThanOrEqual(0.066);
  });
});

describe('hodgesLehmann', () => {
  it("matches the estimate and the interval obtained by inverting scipy's test", () => {
    let exact = 0;
    for (const c of fx.shift) {
      for (const iv of c.intervals) {
        const got = hodgesLehmann(c.x, c.y, { confidence: iv.confidence, method: iv.method });
        const ctx = JSON.stringify({ n1: c.x.length, n2: c.y.length, iv });
        rel(got.estimate, c.estimate, 1e-12, ctx);
        rel(got.lower, iv.lower, 1e-12, ctx);
        rel(got.upper, iv.upper, 1e-12, ctx);
        if (iv.method === 'exact') exact++;
      }
    }
    expect(exact).toBeGreaterThan(10);
  });
  it("reproduces Kayenta's own MannWhitney test case (experiment 10..40 vs control 1..4: [6, 39], 22.5)", () => {
    const r = hodgesLehmann([10, 20, 30, 40], [1, 2, 3, 4], { confidence: 0.95, method: 'asymptotic' });
    expect(r).toMatchObject({ lower: 6, upper: 39, estimate: 22.5 });
  });
  it("is exactly the difference for two constant series (the limit of Kayenta's added noise)", () => {
    expect(hodgesLehmann([5, 5, 5], [2, 2], { method: 'asymptotic' })).toMatchObject({
      estimate: 3,
      lower: 3,
      upper: 3,
    });
  });
  it('shifts with the data: adding c to the canary adds c to estimate and bounds', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -50, max: 50 }), { minLength: 2, maxLength: 12 }),
        fc.array(fc.integer({ min: -50, max: 50 }), { minLength: 2, maxLength: 12 }),
        fc.integer({ min: -100, max: 100 }),
        fc.constantFrom('exact', 'asymptotic' as const),
        (x, y, c, method) => {
          // A fixed method: under 'auto' the shift can create or remove ties and switch methods.
          const a = hodgesLehmann(x, y, { method });
          const b = hodgesLehmann(
            x.map((v) => v + c),
            y,
            { method },
          );
          expect(b.estimate).toBeCloseTo(a.estimate + c, 9);
          expect(b.lower).toBeCloseTo(a.lower + c, 9);
          expect(b.upper).toBeCloseTo(a.upper + c, 9);
          expect(a.lower).toBeLessThanOrEqual(a.estimate);
          expect(a.estimate).toBeLessThanOrEqual(a.upper);
        },
      ),
    );
  });
});

interface KayentaSuite {
  source: string;
  tolerance: number;
  confidence: number;
  cases: {
    name: string;
    canary: number[];
    stable: number[];
    direction: 'increase' | 'decrease' | 'either';
    label: string;
  }[];
}
const kayentaSuite = JSON.parse(
  readFileSync(
    new URL('../../fixtures/stats/mann-whitney/kayenta-classifier-suite.json', import.meta.url),
    'utf8',
  ),
) as KayentaSuite;

describe("gaugeCheck rule 'kayenta' reproduces Kayenta's own classifier test cases", () => {
  for (const c of kayentaSuite.cases) {
    it(`${c.name} (${c.direction}) → ${c.label}`, () => {
      const r = gaugeCheck(c.canary, c.stable, {
        rule: 'kayenta',
        direction: c.direction,
        tolerance: kayentaSuite.tolerance,
        confidence: kayentaSuite.confidence,
        minSamples: 1,
      });
      expect(r.label).toBe(c.label);
      const verdict =
        c.label === 'High' || c.label === 'Low' ? 'Fail' : c.label === 'Pass' ? 'Pass' : 'Inconclusive';
      expect(r.verdict).toBe(verdict);
    });
  }
});

describe('gaugeCheck', () => {
  const r = rng(3);
  const noise = (n: number, mean: number, sd: number): number[] =>
    Array.from(
      { length: n },
      () => mean + sd * Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r()),
    );
  const stable = noise(30, 100, 5);

  it('fails a canary using 30% more CPU, with either rule', () => {
    const canary = noise(30, 130, 5);
    expect(gaugeCheck(canary, stable)).toMatchObject({
      verdict: 'Fail',
      reason: 'regression_detected',
      label: 'High',
    });
    expect(gaugeCheck(canary, stable, { rule: 'kayenta' })).toMatchObject({ verdict: 'Fail', label: 'High' });
  });
  it('passes an identical distribution with enough points', () => {
    const canary = noise(30, 100, 5);
    const res = gaugeCheck(canary, stable, { alpha: 0.01 });
    expect(res.verdict).toBe('Pass');
    expect(res.pValue).toBeGreaterThan(0.01);
  });
  it('does not fail a decrease when only increases are bad; does with direction either/decrease', () => {
    const canary = noise(30, 70, 5);
    expect(gaugeCheck(canary, stable, { direction: 'increase' }).verdict).toBe('Pass');
    expect(gaugeCheck(canary, stable, { direction: 'decrease' })).toMatchObject({
      verdict: 'Fail',
      label: 'Low',
    });
    expect(gaugeCheck(canary, stable, { direction: 'either', rule: 'kayenta' })).toMatchObject({
      verdict: 'Fail',
      label: 'Low',
    });
  });
  it('is Inconclusive below the minimum sample size, whatever the data say', () => {
    const res = gaugeCheck(noise(5, 300, 1), stable, { minSamples: 10 });
    expect(res).toMatchObject({ verdict: 'Inconclusive', reason: 'insufficient_data' });
    expect(gaugeCheck(noise(5, 100, 5), stable, { minSamples: 10, rule: 'kayenta' }).verdict).toBe(
      'Inconclusive',
    );
  });
  it('never passes when the sample sizes could not reach α at all', () => {
    // 3 vs 3 points: the most extreme split has p = 1/20 > 0.01.
    const res = gaugeCheck([1, 2, 3], [1, 2, 3], { minSamples: 3, alpha: 0.01 });
    expect(res).toMatchObject({ verdict: 'Inconclusive', reason: 'insufficient_data' });
    expect(res.minAttainablePValue).toBeCloseTo(0.05, 12);
  });
  it('answers Nodata / Inconclusive for an empty side and invalid_data for infinities', () => {
    expect(gaugeCheck([], stable)).toMatchObject({
      verdict: 'Inconclusive',
      reason: 'no_canary_traffic',
      label: 'Nodata',
    });
    expect(gaugeCheck(stable, [])).toMatchObject({
      verdict: 'Inconclusive',
      reason: 'no_stable_traffic',
      label: 'Nodata',
    });
    expect(gaugeCheck([1, Infinity], stable)).toMatchObject({
      verdict: 'Inconclusive',
      reason: 'invalid_data',
    });
  });
  it('drops NaN points by default (Kayenta) and refuses them on request', () => {
    const canary = [...noise(30, 130, 5), Number.NaN];
    expect(gaugeCheck(canary, stable).canary.n).toBe(30);
    expect(gaugeCheck(canary, stable, { nan: 'refuse' })).toMatchObject({
      verdict: 'Inconclusive',
      reason: 'invalid_data',
    });
    expect(gaugeCheck([Number.NaN, Number.NaN], stable)).toMatchObject({
      verdict: 'Inconclusive',
      reason: 'no_canary_traffic',
    });
  });
  it('Kayenta: identical data and a single shared value pass before any statistics', () => {
    const same = noise(12, 50, 2);
    expect(gaugeCheck([...same].reverse(), same, { rule: 'kayenta' })).toMatchObject({
      verdict: 'Pass',
      label: 'Pass',
    });
    expect(gaugeCheck(Array(12).fill(4), Array(15).fill(4), { rule: 'kayenta' }).label).toBe('Pass');
  });
  it('Kayenta: two constant but different series are High (noise-free limit), not an error', () => {
    expect(gaugeCheck(Array(12).fill(5), Array(12).fill(4), { rule: 'kayenta' })).toMatchObject({
      label: 'High',
      verdict: 'Fail',
    });
  });
  it('Kayenta: the effect-size threshold on the mean ratio can veto High', () => {
    const canary = noise(30, 110, 2);
    expect(gaugeCheck(canary, stable, { rule: 'kayenta' }).label).toBe('High');
    expect(gaugeCheck(canary, stable, { rule: 'kayenta', effectSize: { low: 0.8, high: 1.2 } }).label).toBe(
      'Pass',
    );
  });
  it('test rule: a shift inside the margin does not fail', () => {
    const canary = noise(40, 103, 1);
    const base = noise(40, 100, 1);
    expect(gaugeCheck(canary, base).verdict).toBe('Fail');
    expect(gaugeCheck(canary, base, { margin: 0.05 }).verdict).toBe('Pass');
  });
  it('a worse canary never turns a Fail into a Pass (monotone in the bad direction)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 30 }), { minLength: 10, maxLength: 20 }),
        fc.array(fc.integer({ min: 0, max: 30 }), { minLength: 10, maxLength: 20 }),
        fc.integer({ min: 1, max: 20 }),
        (x, y, add) => {
          const before = gaugeCheck(x, y, { alpha: 0.05 }).verdict;
          const after = gaugeCheck(
            x.map((v) => v + add),
            y,
            { alpha: 0.05 },
          ).verdict;
          if (before === 'Fail') expect(after).toBe('Fail');
        },
      ),
      { numRuns: 60 },
    );
  });
  it('refuses bad options', () => {
    expect(() => gaugeCheck([1], [1], { alpha: 0 })).toThrow(RangeError);
    expect(() => gaugeCheck([1], [1], { minSamples: 0 })).toThrow(RangeError);
    expect(() => gaugeCheck([1], [1], { margin: -1 })).toThrow(RangeError);
  });
});
