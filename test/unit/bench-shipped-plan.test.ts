/**
 * The shipped-Rollout benchmark reads the real plan (rollouts/catalogo/rollout.yaml and the
 * scorecard template) and runs it as Argo does: these tests pin what it reads and how a run ends.
 */
import { describe, expect, it } from 'vitest';
import { Rng } from '../../bench/lib/random.js';
import { shippedPlan, simulateShipped } from '../../bench/lib/shipped-plan.js';

describe('shipped Rollout plan', () => {
  const { stages, checkAlpha } = shippedPlan();

  it('reads gates, pauses, critical effects and max-wait from the shipped files', () => {
    const shape = stages.map((s) =>
      s.kind === 'gate' ? ['gate', s.weight, s.params.criticalEffect, s.maxLooks] : ['pause', s.weight, s.minutes],
    );
    expect(shape).toEqual([
      ['gate', 1, 5, 30],
      ['gate', 5, 3, 20],
      ['pause', 10, 10],
      ['pause', 25, 10],
      ['gate', 50, 1.5, 15],
    ]);
  });

  it('splits the template alpha between the scorecard\'s two checks', () => {
    expect(checkAlpha).toBeCloseTo(0.005, 12);
  });

  it('rolls a 20x regression back at 1% and promotes an identical release through every gate', () => {
    const bad = simulateShipped(stages, new Rng(3, 0), 100, 0.005, 20);
    expect([bad.decision, bad.weight]).toEqual(['rollback', 1]);
    expect(bad.blast).toBeGreaterThan(0);
    const good = simulateShipped(stages, new Rng(3, 1), 100, 0.005, 1);
    expect(good.decision).toBe('promoted');
    expect(good.gatePass.every((m) => m !== null)).toBe(true);
    // 20 minutes of pauses plus at least one look per gate.
    expect(good.minute).toBeGreaterThanOrEqual(23);
  });

  it('ends Inconclusive (a person decides) when no gate can pass at low traffic', () => {
    const r = simulateShipped(stages, new Rng(3, 2), 2, 0.005, 1);
    expect(r.decision).toBe('inconclusive');
    expect(r.minute).toBe(30 + 20 + 10 + 10 + 15);
  });
});
