/**
 * The shipped-Rollout benchmark's summaries: shares, medians, the "beyond its step's tolerance"
 * classification and the sizing table's "cannot suffice".
 */
import { describe, expect, it } from 'vitest';
import { buildGrid } from '../../../bench/lib/shipped-grid.js';
import { shippedPlan, withMaxWait } from '../../../bench/lib/shipped-plan.js';
import {
  checkTargets,
  sizingTable,
  summarizeCell,
  toleranceStatus,
} from '../../../bench/lib/shipped-report.js';
import type { RunOutcome } from '../../../bench/lib/shipped-sim.js';

const plan = shippedPlan();
const cell = (key: string) => {
  const c = buildGrid({ match: [key] })[0];
  if (c === undefined) throw new Error(`no cell ${key}`);
  return c;
};

function run(o: Partial<RunOutcome>): RunOutcome {
  return {
    decision: 'promoted',
    minute: 30,
    weight: 100,
    gatePass: [10, 5, 0],
    gatesReached: 3,
    failedBy: null,
    failedIn: null,
    heldBy: [null, null, null],
    latencyThresholdsMs: [250],
    guardVerified: 0,
    guardMismatches: 0,
    ...o,
  };
}

describe('a cell summary', () => {
  it('splits the runs into rolled back, promoted and needed a person, with medians over the right runs', () => {
    const outcomes = [
      run({}),
      run({ decision: 'person', minute: 50, gatePass: [null, 5, 0], heldBy: ['latency', null, null] }),
      run({
        decision: 'rollback',
        minute: 4,
        weight: 1,
        gatePass: [null, null, null],
        gatesReached: 1,
        failedBy: 'error-rate',
      }),
      run({
        decision: 'rollback',
        minute: 12,
        weight: 5,
        gatePass: [8, null, null],
        gatesReached: 2,
        failedBy: 'error-rate',
      }),
      run({
        decision: 'rollback',
        minute: 40,
        weight: 25,
        gatePass: [8, 3, null],
        gatesReached: 2,
        failedBy: 'latency',
      }),
    ];
    const s = summarizeCell(cell('identical R=100 p=0.001 shape=40/0.6'), 1, plan, outcomes, 0);
    expect([s.rolledBack, s.promoted, s.person]).toEqual([0.6, 0.2, 0.2]);
    expect(s.rolledBackAtOrBelow5).toBeCloseTo(0.4, 12);
    expect(s.medianRollbackMinute).toBe(12);
    // A weight that occurred, not an interpolation between two steps.
    expect(s.medianRollbackWeight).toBe(5);
    expect(s.medianMinutesTo100).toBe(40);
    expect(s.failedBy['error-rate']).toBeCloseTo(2 / 3, 12);
    // The 1% gate: reached by all, passed by 3 of 5 (minutes 10, 8, 8).
    expect(s.gates[0]).toMatchObject({
      passed: 0.6,
      reached: 1,
      medianMinutesPassed: 8,
      passedOfReached: 0.6,
      medianMinutesNeeded: 10,
    });
    expect(s.gates[0]?.heldBy.latency).toBe(1);
    expect(s.truth.beyondTolerance).toEqual([false, false, false]);
  });

  it("classifies a regression as beyond a gate's tolerance by the step's critical effect", () => {
    const two = summarizeCell(cell('errors ×2 R=100 p=0.005'), 1, plan, [run({})], 0);
    const gates = plan.stages.filter((s) => s.kind === 'gate');
    const expected = gates.map(
      (g) =>
        g.kind === 'gate' &&
        0.01 > Math.max(g.card.errorRate.criticalEffect * 0.005, 0.005 + g.card.errorRate.criticalIncrease),
    );
    expect(two.truth.beyondTolerance).toEqual(expected);
    expect(expected[2]).toBe(true); // 2× of 0.5% is beyond the last gate's 1.5× (and + 0.1 pp)
    // Latency: the share slower than the check's bucket edge, per side.
    const tail = summarizeCell(
      cell('latency tail +300ms 3% R=100 shape=40/0.6'),
      1,
      plan,
      [run({ latencyThresholdsMs: [250] })],
      0,
    );
    expect(tail.truth.measures[0]?.stable).toBeCloseTo(0.00113, 5);
    expect(tail.truth.measures[0]?.canary).toBeCloseTo(0.0311, 3);
    expect(tail.truth.beyondTolerance.every((b) => b)).toBe(true);
  });

  it('flags a promoted regression beyond tolerance and says "cannot suffice" when fewer than half pass a gate', () => {
    const promoted = summarizeCell(
      cell('errors ×2 R=100 p=0.005'),
      1,
      plan,
      [run({}), run({ decision: 'rollback', weight: 5, minute: 9 })],
      0,
    );
    const t = checkTargets([promoted], plan).find((x) => x.target.startsWith('no regression beyond'));
    expect(t?.met).toBe(false);
    expect(t?.detail).toContain('1 miss');
    const slow = summarizeCell(
      cell('identical R=20 p=0.001 shape=40/0.6'),
      1,
      withMaxWait(plan, 30),
      [run({ gatePass: [null, 5, 0] }), run({ gatePass: [null, 5, 0] }), run({})],
      0,
    );
    const table = sizingTable([slow], plan);
    expect(table).toContain('cannot suffice (33.3% pass)');
    expect(table).toContain('| 20 | 0.001 |');
  });

  it("tells a canary exactly on a gate's tolerance from one beyond it", () => {
    const gates = plan.stages.filter((s) => s.kind === 'gate');
    const last = gates.at(-1);
    if (last?.kind !== 'gate') throw new Error('no gate');
    const inc = last.card.errorRate.criticalIncrease;
    const on = toleranceStatus('errors', [{ what: 'error-rate', stable: 0, canary: inc }], plan);
    expect(on.at(-1)).toBe('at');
    const over = toleranceStatus('errors', [{ what: 'error-rate', stable: 0, canary: inc * 1.01 }], plan);
    expect(over.at(-1)).toBe('beyond');
    expect(toleranceStatus('identical', [], plan).every((t) => t === 'within')).toBe(true);
  });
});
