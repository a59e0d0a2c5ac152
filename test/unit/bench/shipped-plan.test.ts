/**
 * The shipped-Rollout benchmark reads the real plan (rollouts/catalogo/rollout.yaml, the scorecard
 * and guard templates) and runs it as Argo does: these tests pin what it reads and how a run ends.
 */
import { describe, expect, it } from 'vitest';
import { Rng } from '../../support/random.js';
import { shippedPlan } from '../../../bench/lib/shipped-plan.js';
import { prepare, simulateRollout, type Scenario } from '../../../bench/lib/shipped-sim.js';

const plan = shippedPlan();
const clean = (rps: number, p: number): Scenario => ({
  rps,
  pStable: p,
  pCanary: p,
  shape: { medianMs: 40, sigma: 0.6 },
  latency: { kind: 'none' },
});

describe('shipped Rollout plan', () => {
  it("reads gates, pauses and each gate's parameters from the shipped files", () => {
    expect(
      plan.stages.map((s) => (s.kind === 'gate' ? ['gate', s.weight] : ['pause', s.weight, s.minutes])),
    ).toEqual([
      ['gate', 1],
      ['gate', 5],
      ['pause', 10, 10],
      ['pause', 25, 10],
      ['gate', 50],
    ]);
    const gates = plan.stages.filter((s) => s.kind === 'gate');
    // Per step: the tolerance tightens as the weight grows; every gate waits a while.
    const effects = gates.map((g) => g.card.errorRate.criticalEffect);
    expect(effects).toEqual([...effects].sort((a, b) => b - a));
    expect(effects.at(-1)).toBe(1.5);
    for (const g of gates) {
      expect(g.maxLooks).toBeGreaterThanOrEqual(10);
      expect(g.card.errorRate.criticalIncrease).toBeGreaterThan(0);
      expect(g.card.errorRate.criticalIncrease).toBeLessThan(0.05);
    }
  });

  it('gives both checks of a card the same step parameters, critical, at the template alpha split in two', () => {
    expect(plan.checkAlpha).toBeCloseTo(0.005, 12);
    for (const s of plan.stages) {
      if (s.kind !== 'gate') continue;
      expect(s.card.latency).toEqual(s.card.errorRate);
      expect(s.card.errorRate).toMatchObject({
        alpha: 0.005,
        margin: 0,
        power: 0.8,
        critical: true,
        weight: 1,
      });
      expect(s.card.latencyQuantile).toBe(0.99);
      expect(s.card.errorRate.criticalIncrease).toBeGreaterThanOrEqual(0);
    }
  });

  it('reads the background guard and the step it starts at', () => {
    expect(plan.guard?.startingStep).toBe(4);
    expect(plan.guard?.card.errorRate).toMatchObject({ alpha: 0.005, criticalEffect: 1.5, critical: true });
  });
});

describe('a simulated rollout through the shipped plan', () => {
  it('rolls a 20x error regression back at 1%, on the error check', () => {
    const r = simulateRollout(plan, prepare({ ...clean(100, 0.005), pCanary: 0.1 }), new Rng(3, 0));
    expect([r.decision, r.weight, r.failedBy]).toEqual(['rollback', 1, 'error-rate']);
    expect(r.gatesReached).toBe(1);
  });

  it('rolls a 2x slower release back early, on the latency check', () => {
    const r = simulateRollout(
      plan,
      prepare({ ...clean(1000, 0.001), latency: { kind: 'slower', factor: 2 } }),
      new Rng(3, 1),
    );
    expect(r.decision).toBe('rollback');
    expect(r.failedBy).toBe('latency');
    expect(r.minute).toBeLessThanOrEqual(5);
  });

  it('needs a person at every gate when the traffic cannot give the power, and waits each max-wait out', () => {
    const r = simulateRollout(plan, prepare(clean(2, 0.001)), new Rng(3, 2));
    expect(r.decision).toBe('person');
    expect(r.gatePass).toEqual([null, null, null]);
    // Measurements at once and then every minute: a gate of L looks lasts L − 1 minutes.
    const waits = plan.stages.map((s) => (s.kind === 'gate' ? s.maxLooks - 1 : s.minutes));
    expect(r.minute).toBe(waits.reduce((a, b) => a + b, 0));
  });

  it('judges the gate at its start and every minute, the guard once a minute from step 1', () => {
    const looks: [number, 'gate' | 'guard'][] = [];
    simulateRollout(plan, prepare(clean(2, 0.001)), new Rng(3, 2), {
      guard: 'exact',
      onLook: (m, who) => looks.push([m, who]),
    });
    const gateMinutes = looks.filter(([, w]) => w === 'gate').map(([m]) => m);
    const guardMinutes = looks.filter(([, w]) => w === 'guard').map(([m]) => m);
    expect(gateMinutes.slice(0, 3)).toEqual([0, 1, 2]);
    const gates = plan.stages.filter((s) => s.kind === 'gate');
    expect(gateMinutes).toHaveLength(gates.reduce((a, g) => a + (g.kind === 'gate' ? g.maxLooks : 0), 0));
    // One guard look per minute, 0 through the end.
    const end = gateMinutes.at(-1) as number;
    expect(guardMinutes).toEqual(Array.from({ length: end + 1 }, (_, i) => i));
  });

  it('gives the same outcome with the guard shared with the gates as with its own card judged every minute', () => {
    for (const [i, sc] of [
      clean(1000, 0.001),
      { ...clean(100, 0.005), pCanary: 0.01 },
      { ...clean(1000, 0.001), latency: { kind: 'tail', share: 0.03, extraMs: 300 } },
    ].entries()) {
      const prep = prepare(sc as Scenario);
      const exact = simulateRollout(plan, prep, new Rng(11, i), { guard: 'exact' });
      const shared = simulateRollout(plan, prep, new Rng(11, i), { guard: 'shared', verifyEvery: 1 });
      expect(shared.guardMismatches).toBe(0);
      expect({ ...shared, failedIn: null, guardVerified: 0 }).toEqual({
        ...exact,
        failedIn: null,
        guardVerified: 0,
      });
    }
  });
});
