/**
 * A child process of bench/shipped-rollout.ts: simulates the runs of one chunk of a cell at a
 * time and sends the outcomes back. Runs are seeded by (cell seed, run index) alone, so the split
 * into chunks and processes does not change any result.
 */
import { Rng } from '../../test/support/random.js';
import { shippedPlan, withMaxWait } from './shipped-plan.js';
import {
  prepare,
  simulateRollout,
  type PreparedScenario,
  type RunOutcome,
  type Scenario,
} from './shipped-sim.js';

export interface Job {
  readonly id: number;
  readonly key: string;
  readonly scenario: Scenario;
  readonly seed: number;
  readonly from: number;
  readonly to: number;
  readonly guard: 'exact' | 'shared';
  /** Every gate's max-wait replaced by this many looks (sizing: how long a gate would need). */
  readonly maxWait?: number;
}

export interface JobResult {
  readonly id: number;
  readonly outcomes: RunOutcome[];
  /** CPU time of the chunk (user + system), ms. */
  readonly ms: number;
}

const shipped = shippedPlan();
const prepared = new Map<string, PreparedScenario>();

process.on('message', (job: Job) => {
  const c0 = process.cpuUsage();
  let prep = prepared.get(job.key);
  if (prep === undefined) prepared.set(job.key, (prep = prepare(job.scenario)));
  const outcomes: RunOutcome[] = [];
  const plan = job.maxWait === undefined ? shipped : withMaxWait(shipped, job.maxWait);
  for (let i = job.from; i < job.to; i++)
    outcomes.push(simulateRollout(plan, prep, new Rng(job.seed, i), { guard: job.guard }));
  const c = process.cpuUsage(c0);
  const result: JobResult = { id: job.id, outcomes, ms: (c.user + c.system) / 1000 };
  process.send?.(result);
});
process.on('disconnect', () => process.exit(0));
