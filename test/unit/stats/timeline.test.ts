/**
 * The evidence over time: the running power equals the power computed afresh on each prefix,
 * and the timeline agrees with the decision it accompanies without changing it.
 */
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_COUNT_TEST_PARAMS,
  DEFAULT_MIXTURE,
  countTestPower,
  decideCounts,
  decideThresholds,
  runningPower,
  type IntervalCounts,
} from '../../../src/stats/index.js';
import { Rng } from '../../support/random.js';

function traffic(seed: number, n: number, ratio: number, rate = 0.005): IntervalCounts[] {
  const r = new Rng(seed);
  return Array.from({ length: n }, () => {
    const canaryTotal = r.poisson(60);
    const stableTotal = r.poisson(1200);
    return {
      canaryTotal,
      canaryBad: r.binomial(canaryTotal, Math.min(1, rate * ratio)),
      stableTotal,
      stableBad: r.binomial(stableTotal, rate),
    };
  });
}

const params = { ...DEFAULT_COUNT_TEST_PARAMS, alpha: 0.01, criticalEffect: 2, power: 0.8 };

describe('runningPower', () => {
  it('equals countTestPower on every prefix', () => {
    for (const seed of [1, 2, 3]) {
      const iv = traffic(seed, 40, 1);
      const running = runningPower(iv, 1, 2, 0.01, DEFAULT_MIXTURE);
      expect(running).toHaveLength(iv.length);
      running.forEach((p, t) => {
        expect(p).toBeCloseTo(countTestPower(iv.slice(0, t + 1), 1, 2, 0.01, DEFAULT_MIXTURE), 12);
      });
    }
  });

  it('is 0 until the stable has shown a bad request', () => {
    const iv: IntervalCounts[] = [
      { canaryTotal: 50, canaryBad: 0, stableTotal: 900, stableBad: 0 },
      { canaryTotal: 50, canaryBad: 0, stableTotal: 900, stableBad: 3 },
    ];
    const [first, second] = runningPower(iv, 1, 2, 0.01, DEFAULT_MIXTURE);
    expect(first).toBe(0);
    expect(second).toBeGreaterThan(0);
  });
});

describe('the decision with a timeline', () => {
  it('ends where the decision ends: same e-value, same power, same counts, same verdict', () => {
    for (const ratio of [1, 3]) {
      const iv = traffic(7, 60, ratio);
      const plain = decideCounts(iv, params);
      const { timeline, ...rest } = decideCounts(iv, params, { timeline: true });
      expect(rest).toEqual(plain);
      expect(timeline).toHaveLength(iv.length);
      const last = timeline?.at(-1);
      expect(last?.eValue).toBeCloseTo(plain.evidence.eValue, 9);
      expect(last?.power).toBeCloseTo(plain.power.achieved, 12);
      timeline?.forEach((p, t) => expect(p).toMatchObject(iv[t] as IntervalCounts));
    }
  });

  it('shows a Fail crossing 1/α on its path, and an identical release staying below it', () => {
    const bad = decideCounts(traffic(11, 60, 4), params, { timeline: true });
    expect(bad.verdict).toBe('Fail');
    expect(Math.max(...(bad.timeline ?? []).map((p) => p.eValue))).toBeGreaterThanOrEqual(1 / params.alpha);
    const good = decideCounts(traffic(11, 60, 1), params, { timeline: true });
    expect(good.verdict).not.toBe('Fail');
    expect(Math.max(...(good.timeline ?? []).map((p) => p.eValue))).toBeLessThan(1 / params.alpha);
  });

  it('with several thresholds, gives the deciding one counts and the best power', () => {
    const low = traffic(5, 30, 1, 0.02);
    const high = low.map((iv) => ({
      ...iv,
      canaryBad: Math.floor(iv.canaryBad / 2),
      stableBad: Math.floor(iv.stableBad / 2),
    }));
    const r = decideThresholds([low, high], params, { timeline: true });
    const deciding = [low, high][r.decidingEdge ?? 0] as IntervalCounts[];
    r.timeline?.forEach((p, t) => expect(p).toMatchObject(deciding[t] as IntervalCounts));
    expect(r.timeline?.at(-1)?.power).toBeCloseTo(r.power.achieved, 12);
    expect(r.timeline?.at(-1)?.eValue).toBeCloseTo(r.evidence.eValue, 9);
  });

  it('is flat before any statistics (no canary traffic yet)', () => {
    const iv = traffic(3, 5, 1).map((x) => ({ ...x, canaryTotal: 0, canaryBad: 0 }));
    const r = decideCounts(iv, params, { timeline: true });
    expect(r.reason).toBe('no_canary_traffic');
    expect(r.timeline?.map((p) => [p.eValue, p.power])).toEqual(iv.map(() => [1, 0]));
  });

  it('is absent unless asked for', () => {
    expect(decideCounts(traffic(3, 5, 1), params).timeline).toBeUndefined();
  });
});
