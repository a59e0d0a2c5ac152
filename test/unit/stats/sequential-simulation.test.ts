/**
 * Seeded simulation of whole rollouts: the count test's false-Fail rate under H0 with a look every
 * minute stays ≤ α (checked with a one-sided Clopper–Pearson bound), the power it reports is
 * not optimistic, and a step gate rarely waves through a canary at its critical effect. Same simulator as the benchmark (bench/lib), fixed seeds, so runs repeat exactly.
 */
import { describe, expect, it } from 'vitest';
import { Rng } from '../../support/random.js';
import { simulateErrorRollout, type Schedule } from '../../../bench/lib/scenario.js';
import { decideCounts } from '../../../src/stats/count-test.js';
import { betaQuantile } from '../../../src/stats/special-functions.js';
import type { CountTestParams, IntervalCounts } from '../../../src/stats/types.js';

const schedule: Schedule = { steps: [1, 5, 10, 25, 50], stepMinutes: 10 };

/** One-sided upper confidence bound for a binomial proportion (Clopper–Pearson). */
function upperBound(failures: number, n: number, confidence: number): number {
  return failures >= n ? 1 : betaQuantile(confidence, failures + 1, n - failures);
}

/** Rolls out `n` releases with canary/stable error ratio `ratio`, looking every minute. */
function falseFails(n: number, rps: number, ratio: number, params: CountTestParams, seed: number): number {
  let fails = 0;
  for (let i = 0; i < n; i++) {
    const rollout = simulateErrorRollout(new Rng(seed, i), schedule, rps, 0.005, ratio);
    const history: IntervalCounts[] = [];
    for (const m of rollout.minutes) {
      history.push(m);
      if (decideCounts(history, params, { estimateSettle: false }).verdict === 'Fail') {
        fails++;
        break;
      }
    }
  }
  return fails;
}

describe('false Fail rate under H0 with a look every minute over a 1→50% rollout', () => {
  const alpha = 0.01;
  it.each([
    { rps: 100, ratio: 1, margin: 0, n: 2000 },
    { rps: 20, ratio: 1, margin: 0, n: 1000 },
    // The least favourable null: canary exactly (1 + margin) × worse than stable.
    { rps: 100, ratio: 1.1, margin: 0.1, n: 1000 },
  ])(
    'R=$rps ratio=$ratio margin=$margin: ≤ α with 95% confidence over $n rollouts',
    ({ rps, ratio, margin, n }) => {
      const params: CountTestParams = { alpha, margin, criticalEffect: 2, power: 0.8 };
      const fails = falseFails(n, rps, ratio, params, 20261126 + rps);
      const bound = upperBound(fails, n, 0.95);
      expect(bound, `${fails} false Fails in ${n} rollouts`).toBeLessThanOrEqual(alpha);
    },
  );
});

describe('reported power is not optimistic', () => {
  it.each([
    { steps: [1], stepMinutes: 10, criticalEffect: 5 },
    { steps: [1, 5, 10], stepMinutes: 5, criticalEffect: 2 },
    { steps: [5, 10, 25], stepMinutes: 5, criticalEffect: 1.5 },
  ])(
    'steps $steps × $stepMinutes min, true ratio = criticalEffect $criticalEffect: share failed ≥ mean reported power',
    ({ steps, stepMinutes, criticalEffect }) => {
      const params: CountTestParams = { alpha: 0.01, margin: 0, criticalEffect, power: 0.8 };
      const n = 1000;
      let failed = 0;
      let powerSum = 0;
      for (let i = 0; i < n; i++) {
        const rollout = simulateErrorRollout(
          new Rng(7, i),
          { steps, stepMinutes },
          100,
          0.005,
          criticalEffect,
        );
        const r = decideCounts(rollout.minutes, params);
        powerSum += r.power.achieved;
        if (r.verdict === 'Fail') failed++;
      }
      const meanPower = powerSum / n;
      // Only meaningful away from 0 and 1.
      expect(meanPower).toBeGreaterThan(0.2);
      expect(meanPower).toBeLessThan(0.95);
      const se = Math.sqrt((meanPower * (1 - meanPower)) / n);
      expect(failed / n).toBeGreaterThanOrEqual(meanPower - 3 * se);
    },
  );
});

/** Share of rollouts whose single `minutes`-look step gate reaches Pass before any Fail. */
function gatePasses(
  n: number,
  ratio: number,
  params: CountTestParams,
  minutes: number,
  seed: number,
): number {
  let passes = 0;
  for (let i = 0; i < n; i++) {
    const rollout = simulateErrorRollout(
      new Rng(seed, i),
      { steps: [1], stepMinutes: minutes },
      100,
      0.005,
      ratio,
    );
    const history: IntervalCounts[] = [];
    for (const m of rollout.minutes) {
      history.push(m);
      const v = decideCounts(history, params).verdict;
      if (v === 'Fail') break;
      if (v === 'Pass') {
        passes++;
        break;
      }
    }
  }
  return passes / n;
}

describe('a 1% step gate that may wait 30 looks (R = 100, criticalEffect 5, α 0.005)', () => {
  const params: CountTestParams = { alpha: 0.005, margin: 0, criticalEffect: 5, power: 0.8 };
  // Without the suspected_regression hold, this gate passed 14 % of 5× canaries (seed 99, 2000
  // runs); with a 95 % hold, 1.35 %. The hold is at 99 % (HOLD_CONFIDENCE) since the 95 % one kept
  // about 2 % of identical releases from passing the last gate: 5.6 % of these canaries, which
  // sit exactly on this gate's tolerance, pass it; the next gate (3×) is where they are stopped
  // (bench/shipped-rollout.ts: 5× rolled back before the canary leaves 5 %).
  it('passes a canary with 5x the errors (on its tolerance) in under 10% of rollouts', () => {
    expect(gatePasses(1000, 5, params, 30, 99)).toBeLessThan(0.1);
  });
  it('still passes at least 99% of identical releases', () => {
    expect(gatePasses(1000, 1, params, 30, 99)).toBeGreaterThanOrEqual(0.99);
  });
});
