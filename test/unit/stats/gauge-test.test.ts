/**
 * The gauge test's rules (edge cases before statistics, directions, scales, parameters), its
 * properties, and — coarsely, with a fixed seed — its false-Fail rate under a look every interval
 * (the full simulation is bench/gauge-simulation.ts, not run in CI).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { lookEveryInterval, lookEveryIntervalNaive, simulateGauge } from '../../../bench/lib/gauge-sim.js';
import {
  checkGaugeTestParams,
  decideGauge,
  GaugeTestParamError,
  runsTest,
  type GaugeTestParams,
} from '../../../src/stats/gauge-test.js';
import { betaQuantile } from '../../../src/stats/special-functions.js';
import { Rng } from '../../support/random.js';

const params: GaugeTestParams = {
  alpha: 0.01,
  beta: 0.05,
  direction: 'higher_is_worse',
  scale: 'relative',
  tolerance: 0.1,
  criticalEffect: 0.3,
};
/** Verdict-only calls: the confidence sequence is not needed where only verdicts and hits are compared. */
const nb = { bounds: false } as const;
const wave = (n: number, level = 100): number[] =>
  Array.from({ length: n }, (_, i) => level + 5 * Math.sin(i));

describe('gauge test: edge cases come before statistics', () => {
  it('an infinite value is invalid_data, naming side and interval', () => {
    const s = wave(20);
    const c = [...s];
    c[3] = Infinity;
    const r = decideGauge(c, s, params);
    expect(r).toMatchObject({ verdict: 'Inconclusive', reason: 'invalid_data', pValue: 1 });
    expect(r.problem).toMatch(/canary value in interval 3 is Infinity/);
    expect(decideGauge(s, c, params).problem).toMatch(/stable value in interval 3/);
  });
  it('a negative value is invalid_data with a relative tolerance, fine with an absolute one', () => {
    const s = wave(20, 0);
    expect(decideGauge(s, s, params)).toMatchObject({ reason: 'invalid_data' });
    expect(decideGauge(s, s, { ...params, scale: 'absolute', tolerance: 1, criticalEffect: 3 }).reason).toBe(
      'no_regression',
    );
  });
  it('NaN and null are missing intervals; one-sided intervals are left out and counted', () => {
    const s: (number | null)[] = wave(30);
    const c: (number | null)[] = s.map((v) => (v as number) * 1.5);
    c[0] = Number.NaN;
    c[1] = null;
    s[2] = null;
    s[3] = Number.NaN;
    const r = decideGauge(c, s, params);
    expect(r).toMatchObject({ intervals: 26, unpaired: { canaryOnly: 2, stableOnly: 2 }, verdict: 'Fail' });
    expect(r.canary.intervals).toBe(28);
  });
  it('no canary values → no_canary_traffic; no stable values → no_stable_traffic', () => {
    const none = Array<number | null>(20).fill(null);
    expect(decideGauge(none, wave(20), params).reason).toBe('no_canary_traffic');
    expect(decideGauge(wave(20), none, params).reason).toBe('no_stable_traffic');
    expect(decideGauge([], [], params).reason).toBe('no_canary_traffic');
  });
  it('too few paired intervals → insufficient_data, even when every one is far worse', () => {
    const s = wave(4);
    expect(
      decideGauge(
        s.map((v) => 10 * v),
        s,
        params,
      ),
    ).toMatchObject({
      verdict: 'Inconclusive',
      reason: 'insufficient_data',
    });
    expect(decideGauge(wave(8), wave(8), { ...params, minIntervals: 10 }).reason).toBe('insufficient_data');
  });
  it('sides of different length are a programming error', () => {
    expect(() => decideGauge([1, 2], [1], params)).toThrow(RangeError);
  });
});

describe('gauge test: decisions', () => {
  it('identical constant series pass (ties count for neither side) and can never fail', () => {
    const flat = Array<number>(40).fill(7);
    const r = decideGauge(flat, flat, params);
    expect(r).toMatchObject({ verdict: 'Pass', degradation: { estimate: 0, lower: 0, upper: 0 } });
    expect(r.fail.maxEValue).toBe(1);
    // Tolerance 0 and equal values: still not worse.
    expect(decideGauge(flat, flat, { ...params, tolerance: 0 }).verdict).toBe('Pass');
  });
  it('a constant canary above the tolerance fails after a handful of intervals', () => {
    const s = wave(40);
    const c = s.map((v) => v * 1.2);
    const r = decideGauge(c, s, params);
    expect(r).toMatchObject({ verdict: 'Fail', reason: 'regression_detected' });
    expect(r.degradation.lower).toBeGreaterThan(params.tolerance);
    // The smallest number of intervals at which it fails: 10 (log2(100) ≈ 6.6 is any sign test's floor).
    const first = Array.from({ length: 40 }, (_, t) =>
      decideGauge(c.slice(0, t + 1), s.slice(0, t + 1), params),
    ).findIndex((x) => x.verdict === 'Fail');
    expect(first + 1).toBe(10);
  });
  it('direction: a lower canary fails when lower is worse and passes when higher is worse', () => {
    const s = wave(40);
    const c = s.map((v) => v * 0.7);
    expect(decideGauge(c, s, { ...params, direction: 'lower_is_worse' }).verdict).toBe('Fail');
    expect(decideGauge(c, s, params).verdict).toBe('Pass');
  });
  it('a canary worse than the critical effect in half the intervals neither fails nor passes', () => {
    const s = wave(40);
    const c = s.map((v, i) => v * (i % 2 === 0 ? 1.05 : 1.5));
    expect(decideGauge(c, s, params)).toMatchObject({ verdict: 'Inconclusive', reason: 'insufficient_data' });
  });
  it('a stable of 0 against a busy canary is an unbounded degradation, both 0 is none', () => {
    const s = Array<number>(20).fill(0);
    expect(decideGauge(Array<number>(20).fill(3), s, params)).toMatchObject({
      verdict: 'Fail',
      degradation: { estimate: Infinity },
    });
    expect(decideGauge(s, s, params).verdict).toBe('Pass');
  });
  it('relative scale: multiplying both sides by a unit factor changes nothing; absolute: adding a constant', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.double({ min: 1, max: 1e3, noNaN: true }),
            fc.double({ min: 1, max: 1e3, noNaN: true }),
          ),
          {
            minLength: 5,
            maxLength: 40,
          },
        ),
        fc.constantFrom(1e-3, 8, 1024),
        (pairs, k) => {
          const c = pairs.map((p) => p[0]);
          const s = pairs.map((p) => p[1]);
          const a = decideGauge(c, s, params, nb);
          const b = decideGauge(
            c.map((v) => v * k),
            s.map((v) => v * k),
            params,
            nb,
          );
          expect([b.verdict, b.fail.hits, b.pass.hits]).toEqual([a.verdict, a.fail.hits, a.pass.hits]);
          const abs = { ...params, scale: 'absolute' as const, tolerance: 10, criticalEffect: 50 };
          const x = decideGauge(c, s, abs, nb);
          const y = decideGauge(
            c.map((v) => v + 1024),
            s.map((v) => v + 1024),
            abs,
            nb,
          );
          expect([y.verdict, y.fail.hits, y.pass.hits]).toEqual([x.verdict, x.fail.hits, x.pass.hits]);
        },
      ),
      { numRuns: 100 },
    );
  });
  it('a worse canary never lowers the Fail evidence nor turns a Fail into a Pass', () => {
    const rank = { Fail: 0, Inconclusive: 1, Pass: 2 } as const;
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.double({ min: 1, max: 100, noNaN: true }),
            fc.double({ min: 1, max: 100, noNaN: true }),
            fc.double({ min: 0, max: 2, noNaN: true }),
          ),
          { minLength: 5, maxLength: 40 },
        ),
        (rows) => {
          const c = rows.map((r) => r[0]);
          const s = rows.map((r) => r[1]);
          const worse = rows.map((r) => r[0] * (1 + r[2]));
          const a = decideGauge(c, s, params, nb);
          const b = decideGauge(worse, s, params, nb);
          expect(b.fail.maxEValue).toBeGreaterThanOrEqual(a.fail.maxEValue);
          expect(rank[b.verdict]).toBeLessThanOrEqual(rank[a.verdict]);
        },
      ),
      { numRuns: 300 },
    );
  });
  it('the confidence sequence agrees with the decisions (Fail ⇔ lower > tolerance, Pass ⇔ upper < critical)', () => {
    const rng = new Rng(7);
    for (let i = 0; i < 200; i++) {
      const { canary, stable } = simulateGauge(
        rng,
        'gaussian',
        0.1 + 0.3 * rng.uniform(),
        5 + Math.floor(40 * rng.uniform()),
      );
      const r = decideGauge(canary, stable, params);
      const { lower, upper } = r.degradation;
      expect(r.verdict === 'Fail').toBe(lower !== null && lower > params.tolerance);
      if (r.verdict !== 'Fail')
        expect(r.verdict === 'Pass').toBe(upper !== null && upper < params.criticalEffect);
    }
  });
});

describe('gauge test: the runs test checks the assumption', () => {
  it('flags separately drifting sides and rarely independent ones', () => {
    let iid = 0;
    let drift = 0;
    for (let i = 0; i < 300; i++) {
      const a = simulateGauge(new Rng(5, i), 'gaussian', 0, 60);
      const b = simulateGauge(new Rng(6, i), 'ar1-0.8', 0, 60);
      if (decideGauge(a.canary, a.stable, params, { bounds: false }).serialDependence?.suspected === true)
        iid++;
      if (decideGauge(b.canary, b.stable, params, { bounds: false }).serialDependence?.suspected === true)
        drift++;
    }
    expect(iid / 300).toBeLessThanOrEqual(0.03);
    expect(drift / 300).toBeGreaterThanOrEqual(0.8);
  });
  it('gives no answer on few pairs or a constant degradation', () => {
    expect(runsTest([1, 2, 3])).toBeNull();
    expect(runsTest(Array<number>(20).fill(0.2))).toBeNull();
    expect(runsTest([1, 1, 1, 1, 1, 2, 2, 2, 2, 2])).toMatchObject({
      runs: 2,
      expectedRuns: 6,
      suspected: true,
    });
  });
});

describe('gauge test: parameters', () => {
  it('refuses parameters out of range, naming the field', () => {
    const bad = (p: Partial<GaugeTestParams>): string[] =>
      checkGaugeTestParams({ ...params, ...p }).map((e) => e.field);
    expect(bad({})).toEqual([]);
    expect(bad({ alpha: 0 })).toEqual(['alpha']);
    expect(bad({ beta: 1 })).toEqual(['beta']);
    expect(bad({ tolerance: -0.1 })).toEqual(['tolerance']);
    expect(bad({ criticalEffect: 0.1 })).toEqual(['criticalEffect']);
    expect(bad({ direction: 'lower_is_worse', criticalEffect: 1.5 })).toEqual(['criticalEffect']);
    expect(bad({ minIntervals: 0 })).toEqual(['minIntervals']);
    expect(() => decideGauge([1], [1], { ...params, alpha: 2 })).toThrow(GaugeTestParamError);
  });
});

describe('gauge test: false Fail rate under a look every interval (seeded, coarse)', () => {
  it('the verdict on the whole history is Fail exactly when some earlier look failed (the running maximum); the binary search of the benchmark over looks finds the same first Pass and Fail as looking at every one', () => {
    for (let i = 0; i < 60; i++) {
      const { canary, stable } = simulateGauge(
        new Rng(11, i),
        'gaussian',
        [0, 0.1, 0.2, 0.3, 0.5][i % 5] as number,
        60,
      );
      const looks = lookEveryIntervalNaive(canary, stable, params);
      expect(lookEveryInterval(canary, stable, params)).toEqual(looks);
      expect(decideGauge(canary, stable, params, { bounds: false }).verdict === 'Fail').toBe(
        looks.firstFail !== null,
      );
    }
  });
  // So one call per run counts the runs that any of the 60 looks would have rolled back.
  // One-sided 95 % Clopper–Pearson upper bound of the observed rate.
  const upper = (x: number, n: number): number => betaQuantile(0.95, x + 1, n - x);
  it.each([
    { shape: 'gaussian', effect: 0.1 },
    { shape: 'lognormal', effect: 0.1 },
    { shape: 'common-ar1', effect: 0.1 },
  ] as const)(
    '$shape at the least favourable null (median degradation = tolerance): ≤ α',
    ({ shape, effect }) => {
      const n = 2000;
      let fails = 0;
      for (let i = 0; i < n; i++) {
        const { canary, stable } = simulateGauge(new Rng(2026, i), shape, effect, 60);
        if (decideGauge(canary, stable, params, { bounds: false }).verdict === 'Fail') fails++;
      }
      expect(fails / n).toBeLessThanOrEqual(params.alpha);
      expect(upper(fails, n)).toBeLessThanOrEqual(0.015);
    },
  );
});
