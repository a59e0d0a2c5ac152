/** Aggregates the outcomes of one rule over the rollouts of one scenario. */
import type { Outcome } from './rules.js';
import type { Schedule } from './scenario.js';

export interface Dist {
  readonly median: number | null;
  readonly p90: number | null;
}

export interface Summary {
  readonly n: number;
  readonly rollbackRate: number;
  readonly promotedRate: number;
  readonly inconclusiveRate: number;
  /** Minutes from the start of the rollout to the rollback, over rolled-back runs. */
  readonly timeToRollback: Dist;
  /** Canary weight (percent) at the rollback, over rolled-back runs. */
  readonly weightAtRollback: Dist;
  /** Expected excess bad requests caused by the canary before the rollback, over rolled-back runs. */
  readonly blast: Dist;
  /** Share of all runs rolled back before the canary left the second step (e.g. 5%). */
  readonly rolledBackByStep2: number;
  /** Ours only: per step, share of runs that passed it, and minutes from step start to the first Pass. */
  readonly stepPass?: readonly { readonly passedRate: number; readonly minutes: Dist }[];
  /** Ours only: share of runs with a Pass at every gated step and no Fail. */
  readonly passedEveryStepRate?: number;
}

function quantile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  // Type 7 (linear interpolation), as numpy's default.
  const h = (sorted.length - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.ceil(h);
  return (sorted[lo] as number) + (h - lo) * ((sorted[hi] as number) - (sorted[lo] as number));
}

export function dist(values: number[]): Dist {
  const s = [...values].sort((a, b) => a - b);
  return { median: quantile(s, 0.5), p90: quantile(s, 0.9) };
}

export function summarize(outcomes: readonly Outcome[], schedule: Schedule): Summary {
  const n = outcomes.length;
  const rb = outcomes.filter((o) => o.decision === 'rollback');
  const base: Summary = {
    n,
    rollbackRate: rb.length / n,
    promotedRate: outcomes.filter((o) => o.decision === 'promoted').length / n,
    inconclusiveRate: outcomes.filter((o) => o.decision === 'inconclusive').length / n,
    timeToRollback: dist(rb.map((o) => o.minute)),
    weightAtRollback: dist(rb.map((o) => o.weight)),
    blast: dist(rb.map((o) => o.blast)),
    rolledBackByStep2: rb.filter((o) => o.minute <= 2 * schedule.stepMinutes).length / n,
  };
  if (outcomes[0]?.stepPassMinutes === undefined) return base;
  const stepPass = schedule.steps.map((_, i) => {
    const mins = outcomes
      .map((o) => o.stepPassMinutes?.[i])
      .filter((v): v is number => typeof v === 'number');
    return { passedRate: mins.length / n, minutes: dist(mins) };
  });
  const every = outcomes.filter((o) => o.allGatesPassed === true).length / n;
  return { ...base, stepPass, passedEveryStepRate: every };
}
