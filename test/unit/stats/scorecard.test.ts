import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { gaugeCheck } from '../../../bench/lib/mann-whitney.js';
import {
  alphaForCheck,
  DEFAULT_FAIL_BELOW,
  scorecard,
  type ScorecardCheck,
} from '../../../src/stats/scorecard.js';
import type { Verdict } from '../../../src/stats/types.js';

const check = (name: string, verdict: Verdict, extra: Partial<ScorecardCheck> = {}): ScorecardCheck => ({
  name,
  verdict,
  ...extra,
});

/** Pass > Inconclusive > Fail. */
const rank: Record<Verdict, number> = { Fail: 0, Inconclusive: 1, Pass: 2 };

const arbCheck = fc.record({
  name: fc.constantFrom('error-rate', 'latency', 'cpu', 'memory', 'custom'),
  verdict: fc.constantFrom<Verdict>('Pass', 'Fail', 'Inconclusive'),
  weight: fc.double({ min: 0.01, max: 10, noNaN: true }),
  critical: fc.boolean(),
});

describe('scorecard rules', () => {
  it('passes when every check passes, with score 100', () => {
    expect(scorecard([check('a', 'Pass'), check('b', 'Pass', { weight: 3 })])).toMatchObject({
      verdict: 'Pass',
      reason: 'all_passed',
      score: 100,
    });
  });
  it('fails on any critical Fail, whatever the other checks say', () => {
    const r = scorecard([
      check('errors', 'Fail', { critical: true, weight: 0.1 }),
      check('latency', 'Pass', { weight: 10 }),
      check('cpu', 'Pass', { weight: 10 }),
    ]);
    expect(r).toMatchObject({ verdict: 'Fail', reason: 'critical_failure', criticalFailed: ['errors'] });
    expect(r.summary).toContain('errors');
  });
  it('a non-critical Fail lowers the score; the card fails once the reachable score is below the threshold', () => {
    const four = ['a', 'b', 'c', 'd'];
    const oneFail = scorecard(four.map((n) => check(n, n === 'a' ? 'Fail' : 'Pass')));
    expect(oneFail).toMatchObject({
      verdict: 'Inconclusive',
      reason: 'checks_failed',
      score: 75,
      maxScore: 75,
    });
    const twoFail = scorecard(four.map((n) => check(n, n === 'a' || n === 'b' ? 'Fail' : 'Pass')));
    expect(twoFail).toMatchObject({ verdict: 'Fail', reason: 'score_below_threshold', score: 50 });
    expect(DEFAULT_FAIL_BELOW).toBe(75);
  });
  it('failBelow 100 makes every Fail fail the card; 0 leaves it to critical checks', () => {
    const cs = [check('a', 'Fail'), check('b', 'Pass'), check('c', 'Pass')];
    expect(scorecard(cs, { failBelow: 100 }).verdict).toBe('Fail');
    expect(
      scorecard(
        cs.map((c) => ({ ...c, verdict: 'Fail' as const })),
        { failBelow: 0 },
      ).verdict,
    ).toBe('Inconclusive');
  });
  it('an Inconclusive check never makes the card Fail, and never lets it Pass', () => {
    const r = scorecard([check('a', 'Inconclusive', { weight: 100 }), check('b', 'Pass')]);
    expect(r).toMatchObject({ verdict: 'Inconclusive', reason: 'checks_inconclusive', maxScore: 100 });
    expect(r.score).toBeCloseTo(100 / 101, 12);
  });
  it('weights shape the score', () => {
    const r = scorecard([check('big', 'Fail', { weight: 3 }), check('small', 'Pass', { weight: 1 })]);
    expect(r).toMatchObject({ verdict: 'Fail', score: 25, maxScore: 25, failed: ['big'] });
  });
  it('no checks is Inconclusive, not Pass', () => {
    expect(scorecard([])).toMatchObject({ verdict: 'Inconclusive', reason: 'no_checks', score: 0 });
  });
  it('reports the family-wise α bound when every check reports its α', () => {
    const a = alphaForCheck(0.01, 3);
    const cs = ['x', 'y', 'z'].map((n) => check(n, 'Pass', { alpha: a }));
    expect(scorecard(cs).familyWiseAlpha).toBeCloseTo(0.01, 15);
    expect(scorecard([check('x', 'Pass', { alpha: 0.01 }), check('y', 'Pass')]).familyWiseAlpha).toBeNull();
  });
  it('refuses bad weights, verdicts, α and thresholds', () => {
    expect(() => scorecard([check('a', 'Pass', { weight: 0 })])).toThrow(/weight/);
    expect(() => scorecard([check('a', 'Pass', { weight: Number.NaN })])).toThrow(/weight/);
    expect(() => scorecard([{ name: 'a', verdict: 'Marginal' as Verdict }])).toThrow(/verdict/);
    expect(() => scorecard([check('a', 'Pass', { alpha: 2 })])).toThrow(/alpha/);
    expect(() => scorecard([], { failBelow: 101 })).toThrow(/failBelow/);
  });
});

describe('alphaForCheck', () => {
  it('splits α evenly (Bonferroni)', () => {
    expect(alphaForCheck(0.05, 1)).toBe(0.05);
    expect(alphaForCheck(0.05, 4)).toBe(0.0125);
  });
  it('refuses α outside (0, 1) and a non-positive or fractional count', () => {
    expect(() => alphaForCheck(0, 2)).toThrow(RangeError);
    expect(() => alphaForCheck(0.05, 0)).toThrow(RangeError);
    expect(() => alphaForCheck(0.05, 1.5)).toThrow(RangeError);
  });
});

describe('scorecard properties', () => {
  it('a worse check never raises the score, the reachable score, or the verdict', () => {
    fc.assert(
      fc.property(
        fc.array(arbCheck, { minLength: 1, maxLength: 8 }),
        fc.nat(),
        fc.double({ min: 0, max: 100, noNaN: true }),
        (cs, i, failBelow) => {
          const j = i % cs.length;
          const c = cs[j] as ScorecardCheck;
          const worse: Verdict = c.verdict === 'Pass' ? 'Inconclusive' : 'Fail';
          const worsened = cs.map((x, k) => (k === j ? { ...x, verdict: worse } : x));
          const a = scorecard(cs, { failBelow });
          const b = scorecard(worsened, { failBelow });
          expect(b.score).toBeLessThanOrEqual(a.score);
          expect(b.maxScore).toBeLessThanOrEqual(a.maxScore);
          expect(rank[b.verdict]).toBeLessThanOrEqual(rank[a.verdict]);
        },
      ),
    );
  });
  it('permuting the checks changes neither verdict nor score', () => {
    fc.assert(
      fc.property(
        fc.array(arbCheck, { minLength: 1, maxLength: 8 }),
        fc.array(fc.nat(), { minLength: 8, maxLength: 8 }),
        (cs, keys) => {
          const permuted = cs
            .map((c, i) => ({ c, k: keys[i] ?? 0 }))
            .sort((a, b) => a.k - b.k)
            .map((x) => x.c);
          const a = scorecard(cs);
          const b = scorecard(permuted);
          expect(b.verdict).toBe(a.verdict);
          expect(b.reason).toBe(a.reason);
          expect(b.score).toBe(a.score);
          expect(b.maxScore).toBe(a.maxScore);
        },
      ),
    );
  });
  it('Pass only when every check passed; Fail only when some check failed', () => {
    fc.assert(
      fc.property(
        fc.array(arbCheck, { maxLength: 8 }),
        fc.double({ min: 0, max: 100, noNaN: true }),
        (cs, failBelow) => {
          const r = scorecard(cs, { failBelow });
          if (r.verdict === 'Pass') expect(cs.every((c) => c.verdict === 'Pass')).toBe(true);
          if (r.verdict === 'Fail') expect(cs.some((c) => c.verdict === 'Fail')).toBe(true);
          expect(r.score).toBeGreaterThanOrEqual(0);
          expect(r.score).toBeLessThanOrEqual(r.maxScore);
          expect(r.maxScore).toBeLessThanOrEqual(100);
        },
      ),
    );
  });
});

describe('family-wise error across checks (seeded simulation)', () => {
  it('three correlated gauge checks at alphaForCheck(0.05, 3) fail an identical release ≤ 5% of the time', () => {
    // Mulberry32 + Box-Muller; each card: canary and stable CPU, memory and a third gauge that
    // shares half its noise with CPU (correlated checks), 12 points per side, no real difference.
    let a = 42;
    const u = (): number => {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const z = (): number => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
    const alpha = alphaForCheck(0.05, 3);
    const cards = 600;
    let cardFails = 0;
    let checkFails = 0;
    for (let i = 0; i < cards; i++) {
      const series = (): { cpu: number[]; mem: number[]; mix: number[] } => {
        const cpu = Array.from({ length: 12 }, () => 50 + 5 * z());
        const mem = Array.from({ length: 12 }, () => 500 + 20 * z());
        const mix = cpu.map((v) => v + 5 * z());
        return { cpu, mem, mix };
      };
      const c = series();
      const s = series();
      const verdicts = (['cpu', 'mem', 'mix'] as const).map((k) =>
        check(k, gaugeCheck(c[k], s[k], { alpha, direction: 'either' }).verdict, { alpha }),
      );
      for (const v of verdicts) if (v.verdict === 'Fail') checkFails++;
      if (scorecard(verdicts, { failBelow: 100 }).verdict === 'Fail') cardFails++;
    }
    // 0.05 + 3σ of a binomial(600, 0.05) proportion ≈ 0.077; the Bonferroni bound itself is 0.05.
    expect(cardFails / cards).toBeLessThanOrEqual(0.077);
    expect(checkFails).toBeGreaterThanOrEqual(cardFails);
  });
});
