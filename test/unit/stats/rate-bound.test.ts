/**
 * The time-uniform rate bounds behind the floor (src/stats/rate-bound.ts) and the floor's Pass
 * path in the count test: reference values computed independently by numerical integration
 * (scripts/fixtures/rate_bound_reference.py), coverage over whole sequences of looks by seeded
 * simulation, and the guarantee the floor states.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../support/random.js';
import { DEFAULT_COUNT_TEST_PARAMS, decideCounts, toleranceFloor } from '../../../src/stats/count-test.js';
import { rateBounds } from '../../../src/stats/rate-bound.js';
import { betaQuantile } from '../../../src/stats/special-functions.js';
import type { IntervalCounts } from '../../../src/stats/types.js';

interface Case {
  bad: number;
  requests: number;
  beta: number;
  lower: number;
  upper: number;
}
const fixture = JSON.parse(
  readFileSync(new URL('../../fixtures/stats/rate-bound/rate-bound-reference.json', import.meta.url), 'utf8'),
) as { cases: Case[] };

/** One-sided upper confidence bound for a binomial proportion (Clopper–Pearson). */
function upperBound(k: number, n: number, confidence: number): number {
  return k >= n ? 1 : betaQuantile(confidence, k + 1, n - k);
}

describe('rate bounds', () => {
  it.each(fixture.cases)('match the integrated mixture for $bad bad of $requests at β=$beta', (c) => {
    const r = rateBounds(c.bad, c.requests, c.beta);
    expect(Math.abs(r.upper / c.upper - 1)).toBeLessThan(1e-9);
    if (c.lower === 0) expect(r.lower).toBe(0);
    else expect(Math.abs(r.lower / c.lower - 1)).toBeLessThan(1e-9);
  });

  it('bounds a clean side by about log(1/β) over its exposure', () => {
    const r = rateBounds(0, 2000, 0.025);
    expect(r.lower).toBe(0);
    expect(r.upper).toBeGreaterThan(Math.log(40) / 2000);
    expect(r.upper).toBeLessThan((Math.log(40) + 1) / 2000);
  });

  it('narrows around the observed rate as exposure grows', () => {
    const small = rateBounds(10, 1000, 0.05);
    const large = rateBounds(1000, 100_000, 0.05);
    expect(small.lower).toBeLessThan(0.01);
    expect(small.upper).toBeGreaterThan(0.01);
    expect(large.upper - large.lower).toBeLessThan((small.upper - small.lower) / 5);
  });

  it('reads a bad count too small to divide (5e-324) as none, never as a tight bound', () => {
    expect(rateBounds(5e-324, 17, 0.05)).toEqual(rateBounds(0, 17, 0.05));
    expect(rateBounds(5e-324, 17, 0.05).upper).toBeGreaterThan(0.1);
  });

  it('refuses counts that are not counts', () => {
    expect(() => rateBounds(Number.NaN, 10, 0.05)).toThrow(RangeError);
    expect(() => rateBounds(11, 10, 0.05)).toThrow(RangeError);
    expect(() => rateBounds(1, 10, 0)).toThrow(RangeError);
  });

  it.each([
    { p: 0.002, perLook: 300 },
    { p: 0.02, perLook: 60 },
    { p: 0.0005, perLook: 3000 },
  ])(
    'cover a rate of $p at every one of 120 looks together in ≥ 1 − β of runs ($perLook requests a look)',
    ({ p, perLook }) => {
      const beta = 0.1;
      const runs = 1000;
      const rng = new Rng(20261130, Math.round(p * 1e6));
      let missed = 0;
      for (let i = 0; i < runs; i++) {
        let n = 0;
        let x = 0;
        for (let t = 0; t < 120; t++) {
          const m = rng.poisson(perLook);
          n += m;
          x += rng.binomial(m, p);
          const b = rateBounds(x, n, beta);
          if (p < b.lower || p > b.upper) {
            missed++;
            break;
          }
        }
      }
      expect(upperBound(missed, runs, 0.95), `${missed} of ${runs} runs left the bounds`).toBeLessThanOrEqual(
        beta,
      );
    },
  );
});

describe('the floor', () => {
  const params = { alpha: 0.005, margin: 0, criticalEffect: 5, power: 0.8, criticalIncrease: 0.01 };

  it('passes a clean service (no bad requests on either side) once the canary exposure rules out the tolerance', () => {
    const minute: IntervalCounts = { canaryTotal: 60, canaryBad: 0, stableTotal: 5940, stableBad: 0 };
    const early = decideCounts(
      Array.from({ length: 3 }, () => minute),
      params,
    );
    expect(early.verdict).toBe('Inconclusive');
    expect(early.reason).toBe('insufficient_data');
    expect(early.settleIntervals).toBeGreaterThan(0);
    const later = decideCounts(
      Array.from({ length: 15 }, () => minute),
      params,
    );
    expect(later.verdict).toBe('Pass');
    expect(later.power.achieved).toBe(0);
    expect(later.floor?.met).toBe(true);
    // The estimate made early was about right: it settles within a few minutes of it.
    const settleAt = 3 + (early.settleIntervals as number);
    expect(
      decideCounts(
        Array.from({ length: settleAt }, () => minute),
        params,
      ).verdict,
    ).toBe('Pass');
    expect(
      decideCounts(
        Array.from({ length: settleAt - 2 }, () => minute),
        params,
      ).verdict,
    ).toBe('Inconclusive');
  });

  it('never passes a clean canary without a tolerance beside the ratio', () => {
    const minute: IntervalCounts = { canaryTotal: 600, canaryBad: 0, stableTotal: 5400, stableBad: 0 };
    const r = decideCounts(
      Array.from({ length: 60 }, () => minute),
      { ...params, criticalIncrease: 0 },
    );
    expect(r.verdict).toBe('Inconclusive');
    expect(r.settleIntervals).toBeNull();
    // Not a question of time: the result says a Pass needs an absolute tolerance.
    expect(r.needs).toBe('criticalIncrease');
  });

  it('asks for an absolute tolerance only while the stable side has no bad request and none is set', () => {
    const clean: IntervalCounts = { canaryTotal: 60, canaryBad: 0, stableTotal: 5940, stableBad: 0 };
    const ratioOnly = { ...params, criticalIncrease: 0 };
    expect(decideCounts([clean, clean], params).needs).toBeUndefined();
    // One stable error gives the ratio a baseline: time can settle it again.
    const withBaseline = decideCounts([clean, { ...clean, stableBad: 1 }], ratioOnly);
    expect(withBaseline.reason).toBe('insufficient_data');
    expect(withBaseline.needs).toBeUndefined();
    expect(withBaseline.settleIntervals).not.toBeNull();
    // Asked whether or not the caller wants the time estimate (simulations turn it off).
    const quiet = decideCounts([clean, clean], ratioOnly, { estimateSettle: false });
    expect(quiet.needs).toBe('criticalIncrease');
    expect(quiet.settleIntervals).toBeUndefined();
  });

  it.each([
    { k: 3, ratioOnlyFails: 0.95, increasePasses: 0.5 },
    { k: 5, ratioOnlyFails: 0.99, increasePasses: 0.1 },
  ])(
    'would pass a $k× regression of a service at 0.01 % errors with +0.1 pp as a default tolerance, which the ratio-only default fails',
    ({ k, ratioOnlyFails, increasePasses }) => {
      // 10 % canary at 1000 req/s, the request defaults (α 0.01, 2×, power 0.8), a look a minute
      // for 30 minutes. Why the default tolerance stays 0 (docs/statistics.md §6).
      const runs = 200;
      const outcome = (criticalIncrease: number) => {
        const rng = new Rng(20261203, k);
        const count = { Pass: 0, Fail: 0 };
        for (let i = 0; i < runs; i++) {
          const looks: IntervalCounts[] = [];
          for (let t = 0; t < 30; t++) {
            const nc = rng.poisson(6000);
            const ns = rng.poisson(54000);
            looks.push({
              canaryTotal: nc,
              canaryBad: rng.binomial(nc, k * 0.0001),
              stableTotal: ns,
              stableBad: rng.binomial(ns, 0.0001),
            });
            const { verdict } = decideCounts(
              looks,
              { ...DEFAULT_COUNT_TEST_PARAMS, criticalIncrease },
              {
                estimateSettle: false,
              },
            );
            if (verdict !== 'Inconclusive') {
              count[verdict]++;
              break;
            }
          }
        }
        return count;
      };
      const ratioOnly = outcome(0);
      expect(ratioOnly.Pass).toBe(0);
      expect(ratioOnly.Fail / runs).toBeGreaterThanOrEqual(ratioOnlyFails);
      expect(outcome(0.001).Pass / runs).toBeGreaterThan(increasePasses);
    },
  );

  it('compares against the larger of the ratio and the absolute tolerance', () => {
    const f = toleranceFloor({ requests: 1e6, bad: 0 }, { requests: 1e7, bad: 1e5 }, 1.5, 0.001, 0.05);
    expect(f.allowed).toBeCloseTo(1.5 * f.stableLower, 12);
    const g = toleranceFloor({ requests: 1e6, bad: 0 }, { requests: 1e7, bad: 100 }, 1.5, 0.001, 0.05);
    expect(g.allowed).toBeCloseTo(g.stableLower + 0.001, 12);
  });

  it.each([
    // Tolerance max(5 × stable, stable + 1 pp): the absolute part decides, then the ratio.
    { name: 'clean stable, canary at +1 pp', pStable: 0, pCanary: 0.01, canaryPerLook: 60 },
    { name: '0.4% stable, canary at 5×', pStable: 0.004, pCanary: 0.02, canaryPerLook: 300 },
  ])(
    'passes a canary at its tolerance ($name) in at most β of rollouts',
    ({ pStable, pCanary, canaryPerLook }) => {
      expect(pCanary).toBeCloseTo(Math.max(5 * pStable, pStable + 0.01), 12);
      const beta = 0.05;
      const runs = 1000;
      const rng = new Rng(20261130, Math.round(pCanary * 1e5));
      let passed = 0;
      for (let i = 0; i < runs; i++) {
        let canary = { requests: 0, bad: 0 };
        let stable = { requests: 0, bad: 0 };
        for (let t = 0; t < 120; t++) {
          const nc = rng.poisson(canaryPerLook);
          const ns = rng.poisson(canaryPerLook * 20);
          canary = { requests: canary.requests + nc, bad: canary.bad + rng.binomial(nc, pCanary) };
          stable = { requests: stable.requests + ns, bad: stable.bad + rng.binomial(ns, pStable) };
          if (toleranceFloor(canary, stable, 5, 0.01, beta).met) {
            passed++;
            break;
          }
        }
      }
      expect(
        upperBound(passed, runs, 0.95),
        `${passed} of ${runs} rollouts passed at tolerance`,
      ).toBeLessThanOrEqual(beta);
    },
  );
});
