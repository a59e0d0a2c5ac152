/**
 * The gauge test against values computed independently by scripts/fixtures/gauge_reference.py
 * (scipy binomial likelihood ratios and exact fractions for the e-process, a linear scan for the
 * confidence sequence, statsmodels' runs test): test/fixtures/stats/gauge/gauge-reference.json.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  decideGauge,
  GAUGE_MIXTURE,
  medianConfidenceSequence,
  pairDegradation,
  signEProcess,
  type GaugeTestParams,
} from '../../../src/stats/gauge-test.js';

type Num = number | 'Infinity' | '-Infinity';
interface RefCase {
  name: string;
  params: GaugeTestParams;
  canary: (number | null)[];
  stable: (number | null)[];
  degradations: Num[];
  failTrace: number[];
  failRunningMax: number[];
  passTrace: number[];
  passRunningMax: number[];
  pValue: number;
  lower: Num | null;
  upper: Num | null;
  estimate: Num | null;
  verdict: string;
  runsZ: number | null;
}
const fx = JSON.parse(
  readFileSync(new URL('../../fixtures/stats/gauge/gauge-reference.json', import.meta.url), 'utf8'),
) as { source: string; mixture: { p: number; weight: number }[]; cases: RefCase[] };

const num = (v: Num): number => (v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : v);
const close = (got: number, want: number, rel = 1e-9): void => {
  if (!Number.isFinite(want)) expect(got).toBe(want);
  else expect(Math.abs(got - want)).toBeLessThanOrEqual(rel * Math.max(1, Math.abs(want)));
};

describe(`gauge test against ${fx.source}`, () => {
  it('uses the mixture the reference was computed with', () => {
    expect(GAUGE_MIXTURE).toEqual(fx.mixture);
  });
  it('has enough cases to mean something (every verdict, both directions and scales)', () => {
    expect(new Set(fx.cases.map((c) => c.verdict))).toEqual(new Set(['Pass', 'Fail', 'Inconclusive']));
    expect(fx.cases.length).toBeGreaterThanOrEqual(9);
  });
  describe.each(fx.cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const paired = c.canary.flatMap((v, i) => {
      const s = c.stable[i] ?? null;
      return v === null || s === null ? [] : [pairDegradation(v, s, c.params.scale, c.params.direction)];
    });
    it('pairs the intervals and computes the same degradations', () => {
      expect(paired.length).toBe(c.degradations.length);
      paired.forEach((g, i) => close(g, num(c.degradations[i] as Num), 1e-12));
    });
    it('e-process traces and running maxima (1e-9 relative)', () => {
      for (let t = 1; t <= paired.length; t++) {
        const prefix = paired.slice(0, t);
        const f = signEProcess(prefix, (g) => g > c.params.tolerance);
        const p = signEProcess(prefix, (g) => g < c.params.criticalEffect);
        close(Math.exp(f.logE), c.failTrace[t - 1] as number);
        close(Math.exp(f.logMax), c.failRunningMax[t - 1] as number);
        close(Math.exp(p.logE), c.passTrace[t - 1] as number);
        close(Math.exp(p.logMax), c.passRunningMax[t - 1] as number);
      }
    });
    it('confidence sequence, p-value, estimate and verdict', () => {
      const r = decideGauge(c.canary, c.stable, c.params);
      expect(r.verdict).toBe(c.verdict);
      close(r.pValue, c.pValue);
      const cs = medianConfidenceSequence(paired, c.params.alpha, c.params.beta);
      expect(cs.lower === null ? null : cs.lower).toBe(c.lower === null ? null : num(c.lower));
      expect(cs.upper === null ? null : cs.upper).toBe(c.upper === null ? null : num(c.upper));
      expect(r.degradation).toMatchObject(cs);
      if (c.estimate === null) expect(r.degradation.estimate).toBeNull();
      else close(r.degradation.estimate as number, num(c.estimate), 1e-12);
    });
    it("runs test of the degradations about their median (statsmodels' runstest_1samp)", () => {
      const r = decideGauge(c.canary, c.stable, c.params);
      if (c.runsZ === null) expect(r.serialDependence).toBeNull();
      else close(r.serialDependence?.z as number, c.runsZ);
    });
  });
});
