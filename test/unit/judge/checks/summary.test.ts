import { describe, expect, it } from 'vitest';
import { checkSummary, latencyWhat } from '../../../../src/judge/checks/index.js';
import { fmtCount, fmtNum, fmtPct } from '../../../../src/judge/format.js';
import type { CountTestResult } from '../../../../src/stats/index.js';

const fail: CountTestResult = {
  verdict: 'Fail',
  reason: 'regression_detected',
  canary: { requests: 1000, bad: 31, rate: 0.031 },
  stable: { requests: 99000, bad: 990, rate: 0.01 },
  effect: { ratio: 3.1, lower: 2.2, upper: 4.3, confidence: 0.95 },
  evidence: { eValue: 412, threshold: 100, pValue: 0.0024 },
  power: { achieved: 0.99, required: 0.8, criticalEffect: 2 },
  intervals: 30,
};

describe('one-line summaries', () => {
  it('explains a Fail with rates, counts, the ratio interval and the evidence', () => {
    expect(checkSummary('error-rate', 'regression_detected', fail)).toBe(
      'error-rate: canary 3.1% (31/1000) vs stable 1.0% (990/99000), ratio 3.1 [2.2, 4.3], e=412 ≥ 100 → regression',
    );
  });

  it('explains a Pass and an Inconclusive with the power reached', () => {
    const pass: CountTestResult = {
      ...fail,
      verdict: 'Pass',
      reason: 'no_regression',
      canary: { requests: 5000, bad: 48, rate: 0.0096 },
      effect: { ratio: 0.96, lower: 0.72, upper: 1.3, confidence: 0.95 },
      evidence: { eValue: 0.0123, threshold: 100, pValue: 1 },
      power: { achieved: 0.91, required: 0.8, criticalEffect: 2 },
    };
    expect(checkSummary('error-rate', 'no_regression', pass)).toBe(
      'error-rate: canary 0.96% (48/5000) vs stable 1.0% (990/99000), ratio 0.96 [0.72, 1.3], e=0.0123 below 100, power 0.91 ≥ 0.8 for 2× → no regression',
    );
    const early = {
      ...pass,
      verdict: 'Inconclusive' as const,
      reason: 'insufficient_data' as const,
      power: { ...pass.power, achieved: 0.31 },
    };
    expect(checkSummary('error-rate', 'insufficient_data', early)).toMatch(
      /power 0\.31 below 0\.8 for 2× → not enough data yet$/,
    );
  });

  it('says no traffic plainly, and an unbounded interval as ∞', () => {
    const none: CountTestResult = {
      ...fail,
      verdict: 'Inconclusive',
      reason: 'no_canary_traffic',
      canary: { requests: 0, bad: 0, rate: null },
    };
    expect(checkSummary('latency', 'no_canary_traffic', none, { what: 'over 500ms' })).toBe(
      'latency over 500ms: canary 0 req, stable 99000 req → no canary traffic',
    );
    const open = { ...fail, effect: { ...fail.effect, upper: null } };
    expect(checkSummary('x', 'regression_detected', open)).toContain('[2.2, ∞]');
  });

  it('names the latency threshold and where it came from', () => {
    expect(latencyWhat({ ms: 500, source: 'stable-quantile', quantile: 0.99 })).toBe(
      'over 500ms (stable p99 edge)',
    );
    // Two edges: say which is which, and whose counts follow.
    expect(
      latencyWhat({ ms: 250, source: 'stable-quantile', quantile: 0.99, lowMs: 100, decidingMs: 100 }),
    ).toBe("over 100ms (edges 100ms, exceeded by ≥ 1% of stable requests, and 250ms, the stable p99's)");
    expect(latencyWhat({ ms: 2500, source: 'slo', requestedMs: 2000 })).toBe('over 2.5s');
  });

  it('formats numbers for people, never NaN', () => {
    expect(fmtPct(null)).toBe('n/a');
    expect(fmtPct(0.00123)).toBe('0.12%');
    expect(fmtPct(0.5)).toBe('50%');
    expect(fmtCount(1087.67)).toBe('1088');
    expect(fmtNum(1.9e156, 3)).toBe('1.9e+156');
    expect(fmtNum(null)).toBe('n/a');
  });
});
