/** Behaviour of the count test: edge cases before statistics, the three verdicts, the report. */
import { describe, expect, it } from 'vitest';
import {
  CountTestParamError,
  DEFAULT_COUNT_TEST_PARAMS,
  RECOMMENDED_STEP_PARAMS,
  checkCountTestParams,
  decideCounts,
} from '../../../src/stats/count-test.js';
import * as stats from '../../../src/stats/index.js';
import type { CountTestParams, IntervalCounts } from '../../../src/stats/types.js';

const P: CountTestParams = DEFAULT_COUNT_TEST_PARAMS;

/** `minutes` intervals at canary share `share`, `rps` requests/s, stable error rate `p`, canary k×. */
function history(minutes: number, share: number, p: number, k: number, rps = 100): IntervalCounts[] {
  return Array.from({ length: minutes }, () => ({
    canaryTotal: 60 * rps * share,
    canaryBad: 60 * rps * share * p * k,
    stableTotal: 60 * rps * (1 - share),
    stableBad: 60 * rps * (1 - share) * p,
  }));
}

describe('edge cases come before any statistics', () => {
  it('answers no_canary_traffic for an empty window', () => {
    const r = decideCounts([], P);
    expect(r.verdict).toBe('Inconclusive');
    expect(r.reason).toBe('no_canary_traffic');
    expect(r.canary.rate).toBeNull();
  });
  it('answers no_canary_traffic when the canary served nothing, even with stable errors', () => {
    const r = decideCounts([{ canaryTotal: 0, canaryBad: 0, stableTotal: 5000, stableBad: 40 }], P);
    expect([r.verdict, r.reason]).toEqual(['Inconclusive', 'no_canary_traffic']);
  });
  it('answers no_stable_traffic when there is nothing to compare with, even with canary errors', () => {
    const r = decideCounts([{ canaryTotal: 100, canaryBad: 100, stableTotal: 0, stableBad: 0 }], P);
    expect([r.verdict, r.reason]).toEqual(['Inconclusive', 'no_stable_traffic']);
  });
  it.each([
    ['NaN', Number.NaN],
    ['negative', -1],
    ['+Infinity', Number.POSITIVE_INFINITY],
    ['-Infinity', Number.NEGATIVE_INFINITY],
  ])('refuses %s counts as invalid_data, also when the rest would fail the canary', (_, bad) => {
    const iv = [
      ...history(10, 0.1, 0.01, 10),
      { canaryTotal: 10, canaryBad: bad, stableTotal: 10, stableBad: 0 },
    ];
    const r = decideCounts(iv, P);
    expect([r.verdict, r.reason]).toEqual(['Inconclusive', 'invalid_data']);
    expect(Number.isFinite(r.evidence.eValue)).toBe(true);
  });
  it('never passes when no request failed anywhere (no baseline to size the power on)', () => {
    const r = decideCounts(history(60, 0.5, 0, 1), P);
    expect([r.verdict, r.reason]).toEqual(['Inconclusive', 'insufficient_data']);
    expect(r.power.achieved).toBe(0);
  });
  it('does not pass a 1% canary with a handful of requests', () => {
    const r = decideCounts([{ canaryTotal: 3, canaryBad: 0, stableTotal: 297, stableBad: 2 }], P);
    expect(r.verdict).toBe('Inconclusive');
    expect(r.reason).toBe('insufficient_data');
  });
  it('caps bad counts above the total (increase() extrapolation) so a fully failing canary still fails', () => {
    const iv = Array.from({ length: 5 }, () => ({
      canaryTotal: 60,
      canaryBad: 61.3,
      stableTotal: 5940,
      stableBad: 30,
    }));
    const r = decideCounts(iv, P);
    expect(r.verdict).toBe('Fail');
    expect(r.canary.bad).toBe(300);
    expect(r.canary.rate).toBe(1);
  });
});

describe('verdicts', () => {
  it('fails a canary with 3x the stable error rate at a 5% step', () => {
    const r = decideCounts(history(10, 0.05, 0.005, 3), P);
    expect([r.verdict, r.reason]).toEqual(['Fail', 'regression_detected']);
    expect(r.evidence.eValue).toBeGreaterThanOrEqual(r.evidence.threshold);
    expect(r.evidence.pValue).toBeLessThanOrEqual(P.alpha);
    expect(r.effect.ratio).toBeCloseTo(3, 10);
    expect(r.effect.lower as number).toBeGreaterThan(1);
  });
  it('passes an identical canary once the data could have caught the critical effect', () => {
    const r = decideCounts(history(20, 0.1, 0.005, 1), { ...P, criticalEffect: 2, power: 0.8 });
    expect([r.verdict, r.reason]).toEqual(['Pass', 'no_regression']);
    expect(r.power.achieved).toBeGreaterThanOrEqual(0.8);
    expect(r.effect.lower as number).toBeLessThan(1);
    expect(r.effect.upper as number).toBeGreaterThan(1);
  });
  it('stays inconclusive on the same data when asked to rule out a smaller effect', () => {
    const r = decideCounts(history(20, 0.1, 0.005, 1), { ...P, criticalEffect: 1.2, power: 0.8 });
    expect([r.verdict, r.reason]).toEqual(['Inconclusive', 'insufficient_data']);
    expect(r.power.achieved).toBeLessThan(0.8);
  });
  it('holds the Pass while the effect interval lies wholly above 1 (suspected_regression), never turning it into a Fail', () => {
    // Pooled counts seen at the 1 % step of a 5× release that drew few errors early on: ratio 2.3
    // with interval [1.4, 3.8]. Enough exposure to have caught 5×, not enough evidence to fail.
    const iv: IntervalCounts[] = [{ canaryTotal: 685, canaryBad: 17, stableTotal: 64693, stableBad: 693 }];
    const params: CountTestParams = { alpha: 0.005, margin: 0, criticalEffect: 5, power: 0.8 };
    const r = decideCounts(iv, params);
    expect([r.verdict, r.reason]).toEqual(['Inconclusive', 'suspected_regression']);
    expect(r.power.achieved).toBeGreaterThanOrEqual(0.8);
    expect(r.evidence.eValue).toBeLessThan(r.evidence.threshold);
    expect(r.effect.lower as number).toBeGreaterThan(1);
    // The same exposure with the canary at the stable's rate passes.
    const same = decideCounts([{ ...iv[0]!, canaryBad: 7 }], params);
    expect([same.verdict, same.reason]).toEqual(['Pass', 'no_regression']);
  });
  it('holds only above 1 + margin: a canary worse by less than the margin still passes', () => {
    const iv = history(60, 0.5, 0.02, 1.1); // ratio 1.1 with an interval well above 1
    const strict = decideCounts(iv, { ...P, margin: 0, criticalEffect: 1.3 }); // √1.3 ≈ 1.14 ≤ upper
    expect(strict.effect.lower as number).toBeGreaterThan(1);
    expect([strict.verdict, strict.reason]).toEqual(['Inconclusive', 'suspected_regression']);
    const tolerant = decideCounts(iv, { ...P, margin: 0.2, criticalEffect: 1.5 });
    expect([tolerant.verdict, tolerant.reason]).toEqual(['Pass', 'no_regression']);
  });
  it('does not hold a canary shown nearer to 1 than to the critical effect (within the tolerance)', () => {
    const iv = history(60, 0.5, 0.02, 1.1); // ratio 1.1, interval well above 1 and well below √2
    const r = decideCounts(iv, { ...P, margin: 0, criticalEffect: 2 });
    expect(r.effect.lower as number).toBeGreaterThan(1);
    expect(r.effect.upper as number).toBeLessThan(Math.SQRT2);
    expect([r.verdict, r.reason]).toEqual(['Pass', 'no_regression']);
  });
  it('keeps a Fail once the e-process has crossed, even after the canary recovers (running maximum)', () => {
    const bad = history(5, 0.05, 0.005, 10);
    const recovered = [...bad, ...history(30, 0.5, 0.005, 0.5)];
    const r = decideCounts(recovered, P);
    expect(r.verdict).toBe('Fail');
    expect(r.evidence.eValue).toBeLessThan(r.evidence.threshold); // current value fell back
    expect(r.evidence.pValue).toBeLessThanOrEqual(P.alpha); // the maximum did not
  });
  it('tolerates a regression within the margin', () => {
    const iv = history(60, 0.5, 0.02, 1.3);
    expect(decideCounts(iv, { ...P, margin: 0 }).verdict).toBe('Fail');
    expect(decideCounts(iv, { ...P, margin: 0.5, criticalEffect: 2.5 }).verdict).toBe('Pass');
  });
  it('accepts fractional counts from increase()', () => {
    const iv = history(10, 0.05, 0.005, 3).map((v) => ({
      canaryTotal: v.canaryTotal * 1.013,
      canaryBad: v.canaryBad * 0.987 + 0.25,
      stableTotal: v.stableTotal * 0.991,
      stableBad: v.stableBad * 1.02,
    }));
    const r = decideCounts(iv, P);
    expect(r.verdict).toBe('Fail');
    expect(Number.isInteger(r.canary.bad)).toBe(false);
  });
  it('reports an unbounded upper effect limit (null) when the stable side had no errors', () => {
    const r = decideCounts([{ canaryTotal: 100, canaryBad: 5, stableTotal: 900, stableBad: 0 }], P);
    expect(r.effect.ratio).toBeNull();
    expect(r.effect.upper).toBeNull();
    expect(r.effect.lower as number).toBeGreaterThan(1);
  });
  it('keeps reported numbers JSON-safe for overwhelming evidence', () => {
    const r = decideCounts(history(60, 0.5, 0.01, 50), P);
    expect(r.verdict).toBe('Fail');
    expect(Number.isFinite(r.evidence.eValue)).toBe(true);
    expect(JSON.parse(JSON.stringify(r))).toEqual(r);
  });
  it('counts only intervals where both sides served traffic', () => {
    const r = decideCounts(
      [{ canaryTotal: 0, canaryBad: 0, stableTotal: 10, stableBad: 0 }, ...history(3, 0.1, 0.01, 1)],
      P,
    );
    expect(r.intervals).toBe(3);
  });
});

describe('parameters', () => {
  it.each([
    [{ alpha: 0 }, 'alpha'],
    [{ alpha: 1 }, 'alpha'],
    [{ margin: -0.1 }, 'margin'],
    [{ criticalEffect: 1 }, 'criticalEffect'],
    [{ margin: 0.5, criticalEffect: 1.4 }, 'criticalEffect'],
    [{ power: 1 }, 'power'],
    [{ power: Number.NaN }, 'power'],
  ] as [Partial<CountTestParams>, string][])('rejects %o naming %s', (over, field) => {
    const params = { ...P, ...over };
    expect(checkCountTestParams(params).map((p) => p.field)).toContain(field);
    expect(() => decideCounts(history(1, 0.1, 0.01, 1), params)).toThrow(CountTestParamError);
  });
  it('ships defaults and per-step recommendations that validate', () => {
    expect(checkCountTestParams(DEFAULT_COUNT_TEST_PARAMS)).toEqual([]);
    for (const s of RECOMMENDED_STEP_PARAMS) expect(checkCountTestParams(s.params)).toEqual([]);
    const weights = RECOMMENDED_STEP_PARAMS.map((s) => s.maxWeight);
    expect([...weights].sort((a, b) => a - b)).toEqual(weights);
    expect(weights[weights.length - 1]).toBe(100);
  });
  it('is exported from the stats barrel', () => {
    expect(stats.decideCounts).toBe(decideCounts);
    expect(stats.DEFAULT_COUNT_TEST_PARAMS).toBe(DEFAULT_COUNT_TEST_PARAMS);
  });
});
