/**
 * One rollout through the shipped plan, the way Argo Rollouts runs it, judged by the project's
 * own decision code at every one-minute look (bench/lib/shipped-decision.ts).
 *
 * Time: the canary gets its first traffic at minute 0 (the first setWeight); minute m's traffic
 * flows at the weight of the step in force during it, and a look at minute m sees the m complete
 * one-minute intervals since then (the judge's window starts at the canary's first sample).
 *  - A gate is an AnalysisRun of the scorecard: its first measurement comes at once when the step
 *    starts (Argo measures immediately, then every interval), then one a minute, `maxLooks`
 *    measurements in all. The first Pass ends it and the Rollout goes on at that minute; a Fail
 *    aborts; after `maxLooks` Inconclusive measurements it ends Inconclusive and the Rollout
 *    pauses for a person — modelled as promoting at once (the run counts as "needed a person").
 *  - A plain pause lasts its duration.
 *  - The background guard measures once a minute from its starting step until the Rollout
 *    completes, with its own card; its only effect is an abort at the first Fail.
 * The series are built incrementally and the same arrays are handed to every look.
 */
import type { Series } from '../../src/judge/metrics-source.js';
import type { Verdict } from '../../src/stats/types.js';
import { judgeCard, type CardData, type CardLook } from './shipped-decision.js';
import type { ShippedPlan } from './shipped-plan.js';
import {
  BUCKETS,
  ISTIO_LE_LABELS,
  bucketProbabilities,
  drawInterval,
  type LatencyChange,
  type LatencyShape,
} from './shipped-traffic.js';
import type { Rng } from '../../test/support/random.js';

export interface Scenario {
  /** Total requests per second, canary and stable together. */
  readonly rps: number;
  /** Probability that a stable / canary request is a 5xx. */
  readonly pStable: number;
  readonly pCanary: number;
  readonly shape: LatencyShape;
  readonly latency: LatencyChange;
}

export type Decision = 'rollback' | 'promoted' | 'person';
export type Culprit = 'error-rate' | 'latency' | 'both';

export interface RunOutcome {
  readonly decision: Decision;
  /** Minute of the rollback, or of the promotion to 100%. */
  readonly minute: number;
  /** Canary weight (percent) of the step in force at the rollback; 100 when promoted. */
  readonly weight: number;
  /** Per gate, minutes from its start to its Pass; null: not passed (or not reached). */
  readonly gatePass: (number | null)[];
  /** Gates reached (started) before the run ended. */
  readonly gatesReached: number;
  /** Which check(s) failed the card at the rollback, and which analysis saw it. */
  readonly failedBy: Culprit | null;
  readonly failedIn: 'gate' | 'guard' | null;
  /** Per gate that ended Inconclusive: the check(s) not passing at its last measurement. */
  readonly heldBy: (Culprit | null)[];
  /** The latency check's bucket edge(s) at the last look, ms. */
  readonly latencyThresholdsMs: readonly number[];
  /** Shared guard: minutes at which the guard's own card was judged too, and how often its Fail differed. */
  readonly guardVerified: number;
  readonly guardMismatches: number;
}

/** Epoch second of the canary's first sample grid point: a multiple of 60. */
const T0 = 1_800_000_000 - (1_800_000_000 % 60);

function notPassing(look: CardLook): Culprit | null {
  const e = look.errorRate !== 'Pass';
  const l = look.latency !== 'Pass';
  return e && l ? 'both' : e ? 'error-rate' : l ? 'latency' : null;
}

function failing(look: CardLook): Culprit | null {
  const e = look.errorRate === 'Fail';
  const l = look.latency === 'Fail';
  return e && l ? 'both' : e ? 'error-rate' : l ? 'latency' : null;
}

/** The per-scenario constants a run needs (bucket probabilities), computed once per cell. */
export interface PreparedScenario {
  readonly scenario: Scenario;
  readonly stableProbs: readonly number[];
  readonly canaryProbs: readonly number[];
}

export function prepare(scenario: Scenario): PreparedScenario {
  return {
    scenario,
    stableProbs: bucketProbabilities(scenario.shape, { kind: 'none' }),
    canaryProbs: bucketProbabilities(scenario.shape, scenario.latency),
  };
}

export interface SimOptions {
  /**
   * The guard at minutes when a gate measures too. 'exact': the guard's own card is judged as
   * well. 'shared' (default): the gate's Fail stands for the guard's — the two cards differ only
   * in the per-step Pass parameters (critical effect and increase), which the Fail decision does
   * not use — and every `verifyEvery`-th such minute the guard's card is judged anyway and any
   * disagreement counted (and the guard's own answer used).
   */
  readonly guard?: 'exact' | 'shared';
  readonly verifyEvery?: number;
  /** Observer of every look (tests and diagnostics). */
  readonly onLook?: (minute: number, who: 'gate' | 'guard', look: CardLook) => void;
}

export function simulateRollout(
  plan: ShippedPlan,
  prep: PreparedScenario,
  rng: Rng,
  opts: SimOptions = {},
): RunOutcome {
  const { rps, pStable, pCanary } = prep.scenario;
  // Each series is handed to the decision code once; the samples arrays behind them grow.
  type Sample = { t: number; v: number };
  const grown = (labels: Record<string, string>): { series: Series; samples: Sample[] } => {
    const samples: Sample[] = [];
    return { series: { labels, samples }, samples };
  };
  const canaryRequests = grown({});
  const stableRequests = grown({});
  const canaryErrors = grown({});
  const stableErrors = grown({});
  const canaryBuckets = ISTIO_LE_LABELS.map((le) => grown({ le }));
  const stableBuckets = ISTIO_LE_LABELS.map((le) => grown({ le }));
  const data: CardData = {
    canaryRequests: [canaryRequests.series],
    // Istio creates a response-code series only once the code is seen: until the canary's first
    // 5xx its error query answers nothing; the stable has been serving for long, so its series
    // exists when it ever fails.
    canaryErrors: [],
    stableRequests: [stableRequests.series],
    stableErrors: pStable > 0 ? [stableErrors.series] : [],
    canaryBuckets: canaryBuckets.map((b) => b.series),
    stableBuckets: stableBuckets.map((b) => b.series),
    stableBaseline: [],
  };
  // The stable alone over the hour before the canary: one point per le at the window start.
  const cum = new Array<number>(BUCKETS).fill(0);
  drawInterval(rng, 3600 * rps, prep.stableProbs, 0, cum);
  for (let i = 0; i < BUCKETS; i++) {
    data.stableBaseline.push({
      labels: { le: ISTIO_LE_LABELS[i] as string },
      samples: [{ t: T0, v: cum[i] as number }],
    });
  }

  let minute = 0;
  let weight = 0;
  let stepIndex = -1;
  let lastThresholds: readonly number[] = [];
  const advance = (): void => {
    minute++;
    const t = T0 + 60 * minute;
    const w = weight / 100;
    const c = drawInterval(rng, 60 * rps * w, prep.canaryProbs, pCanary, cum);
    for (let i = 0; i < BUCKETS; i++)
      (canaryBuckets[i] as { samples: Sample[] }).samples.push({ t, v: cum[i] as number });
    const s = drawInterval(rng, 60 * rps * (1 - w), prep.stableProbs, pStable, cum);
    for (let i = 0; i < BUCKETS; i++)
      (stableBuckets[i] as { samples: Sample[] }).samples.push({ t, v: cum[i] as number });
    canaryRequests.samples.push({ t, v: c.total });
    stableRequests.samples.push({ t, v: s.total });
    if (c.errors > 0 && data.canaryErrors.length === 0) data.canaryErrors.push(canaryErrors.series);
    if (data.canaryErrors.length > 0) canaryErrors.samples.push({ t, v: c.errors });
    stableErrors.samples.push({ t, v: s.errors });
  };

  let guardLookedAt = -1;
  const guard = plan.guard;
  const shared = (opts.guard ?? 'shared') === 'shared';
  const verifyEvery = opts.verifyEvery ?? 20;
  let sharedLooks = 0;
  let guardVerified = 0;
  let guardMismatches = 0;
  const guardActive = (): boolean =>
    guard !== null && stepIndex >= guard.startingStep && guardLookedAt !== minute;
  /** The guard's measurement at the current minute (once per minute); the culprit on a Fail. */
  const guardLook = (): Culprit | null => {
    if (guard === null || !guardActive()) return null;
    guardLookedAt = minute;
    const look = judgeCard(data, guard.card);
    opts.onLook?.(minute, 'guard', look);
    lastThresholds = look.latencyThresholdsMs;
    return look.verdict === 'Fail' ? failing(look) : null;
  };

  const gatePass: (number | null)[] = [];
  const heldBy: (Culprit | null)[] = [];
  let gatesReached = 0;
  let needsPerson = false;
  const gates = plan.stages.filter((s) => s.kind === 'gate').length;
  const end = (
    decision: Decision,
    failedBy: Culprit | null,
    failedIn: 'gate' | 'guard' | null,
  ): RunOutcome => {
    while (gatePass.length < gates) gatePass.push(null);
    while (heldBy.length < gates) heldBy.push(null);
    return {
      decision,
      minute,
      weight: decision === 'rollback' ? weight : 100,
      gatePass,
      gatesReached,
      failedBy,
      failedIn,
      heldBy,
      latencyThresholdsMs: lastThresholds,
      guardVerified,
      guardMismatches,
    };
  };

  for (const stage of plan.stages) {
    weight = stage.weight;
    stepIndex = stage.step;
    if (stage.kind === 'pause') {
      for (let t = 0; t < stage.minutes; t++) {
        advance();
        const f = guardLook();
        if (f !== null) return end('rollback', f, 'guard');
      }
      continue;
    }
    gatesReached++;
    let passed: number | null = null;
    let last: CardLook | null = null;
    for (let j = 0; j < stage.maxLooks; j++) {
      if (j > 0) advance();
      // The guard measures at this minute too; shared, the gate's Fail decides for both.
      const guardHere = guardActive();
      if (!shared || !guardHere) {
        const f = guardLook();
        if (f !== null) return end('rollback', f, 'guard');
      }
      const look = judgeCard(data, stage.card);
      opts.onLook?.(minute, 'gate', look);
      lastThresholds = look.latencyThresholdsMs;
      last = look;
      if (shared && guardHere) {
        if (sharedLooks++ % verifyEvery === 0) {
          guardVerified++;
          const gateFail = look.verdict === 'Fail';
          const f = guardLook();
          if ((f !== null) !== gateFail) guardMismatches++;
          if (f !== null) return end('rollback', f, 'guard');
        } else guardLookedAt = minute;
      }
      const v: Verdict = look.verdict;
      if (v === 'Fail') return end('rollback', failing(look), 'gate');
      if (v === 'Pass') {
        passed = j;
        break;
      }
    }
    gatePass.push(passed);
    heldBy.push(passed === null && last !== null ? notPassing(last) : null);
    if (passed === null) needsPerson = true;
  }
  return end(needsPerson ? 'person' : 'promoted', null, null);
}
