/**
 * The decision rules the benchmark compares, each reading the same simulated rollout minute by
 * minute and answering when (if ever) it rolls back. Thresholds follow the rules as bench/README.md and
 * the tools' documentation state them; all are parameters.
 */
import { decideCounts } from '../../src/stats/count-test.js';
import type { MixtureComponent } from '../../src/stats/sequential.js';
import { canaryShareOfBad } from '../../src/stats/sequential.js';
import { histogramQuantile, sumHistograms } from '../../src/stats/histogram.js';
import type { CountTestParams, HistogramBucket, IntervalCounts } from '../../src/stats/types.js';
import { gaugeCheck } from './mann-whitney.js';
import type { Minute, Rollout, Schedule } from './scenario.js';

export type Decision = 'rollback' | 'promoted' | 'inconclusive';

export interface Outcome {
  readonly decision: Decision;
  /** Minutes since the rollout started when the decision was made. */
  readonly minute: number;
  /** Canary weight (percent) at the decision. */
  readonly weight: number;
  /** Expected extra bad requests the canary caused up to the decision. */
  readonly blast: number;
  /** Ours only: minutes from each step's start to its first Pass (null: never passed). */
  readonly stepPassMinutes?: readonly (number | null)[];
  /** Ours only: every gated step saw a Pass (a Fail may still have rolled the run back). */
  readonly allGatesPassed?: boolean;
}

export type Kind = 'errors' | 'latency';

export interface RuleContext {
  readonly schedule: Schedule;
  readonly kind: Kind;
  /** Latency rules with a fixed SLO (Flagger, Argo template): p99 must stay below this, ms. */
  readonly latencySloMs: number;
}

export interface Rule {
  readonly name: string;
  readonly label: string;
  run(rollout: Rollout, ctx: RuleContext): Outcome;
}

function blastUntil(minutes: readonly Minute[], t: number): number {
  let s = 0;
  for (let i = 0; i < t; i++) s += (minutes[i] as Minute).excessBad;
  return s;
}

function outcome(rollout: Rollout, decision: Decision, t: number, extra: Partial<Outcome> = {}): Outcome {
  const m = rollout.minutes[Math.max(0, t - 1)] as Minute;
  return { decision, minute: t, weight: m.weight, blast: blastUntil(rollout.minutes, t), ...extra };
}

function toCounts(m: Minute): IntervalCounts {
  return {
    canaryTotal: m.canaryTotal,
    canaryBad: m.canaryBad,
    stableTotal: m.stableTotal,
    stableBad: m.stableBad,
  };
}

/**
 * 1. canary-judge: the count test at every look over the whole history since the canary's first
 * sample; Fail → rollback; a step is promoted automatically only if it saw a Pass.
 */
export function oursRule(
  stepParams: readonly CountTestParams[],
  mixture?: readonly MixtureComponent[],
  /** Steps (0-based) with a Pass gate; the others are plain pauses guarded only against Fail. */
  gated?: ReadonlySet<number>,
): Rule {
  return {
    name: 'ours',
    label: 'canary-judge (anytime-valid count test)',
    run(rollout, ctx) {
      const { stepMinutes, steps } = ctx.schedule;
      const history: IntervalCounts[] = [];
      const passAt: (number | null)[] = steps.map(() => null);
      const gatesPassed = (): boolean =>
        passAt.every((v, i) => v !== null || (gated !== undefined && !gated.has(i)));
      let rolledBackAt: number | null = null;
      for (let t = 1; t <= rollout.minutes.length; t++) {
        const m = rollout.minutes[t - 1] as Minute;
        history.push(toCounts(m));
        const params = stepParams[Math.min(m.step, stepParams.length - 1)] as CountTestParams;
        const r =
          mixture === undefined ? decideCounts(history, params) : decideCounts(history, params, { mixture });
        if (r.verdict === 'Fail') {
          rolledBackAt = t;
          break;
        }
        if (r.verdict === 'Pass' && passAt[m.step] === null) passAt[m.step] = t - m.step * stepMinutes;
      }
      if (rolledBackAt !== null) {
        return outcome(rollout, 'rollback', rolledBackAt, { stepPassMinutes: passAt, allGatesPassed: false });
      }
      // A step whose gate never passed paused the rollout for a person (Inconclusive). The
      // schedule is assumed to go on as if they promoted it at once, so Fail detection stays
      // comparable with the other rules; such a run is not an automatic promotion.
      const all = gatesPassed();
      return outcome(rollout, all ? 'promoted' : 'inconclusive', rollout.minutes.length, {
        stepPassMinutes: passAt,
        allGatesPassed: all,
      });
    },
  };
}

function p99(h: readonly HistogramBucket[] | undefined): number | null {
  if (h === undefined || h.length === 0) return null;
  return histogramQuantile(0.99, h);
}

/** 2. Flagger: 1-minute canary success rate ≥ 99% (or p99 ≤ SLO); no data fails; 5 failures roll back. */
export function flaggerRule(minSuccess = 0.99, failureThreshold = 5): Rule {
  return {
    name: 'flagger',
    label: `Flagger (1m success ≥ ${minSuccess * 100}%, rollback at ${failureThreshold} failed checks)`,
    run(rollout, ctx) {
      let failed = 0;
      for (let t = 1; t <= rollout.minutes.length; t++) {
        const m = rollout.minutes[t - 1] as Minute;
        let ok: boolean;
        if (m.canaryTotal === 0) ok = false;
        else if (ctx.kind === 'errors') ok = 1 - m.canaryBad / m.canaryTotal >= minSuccess;
        else {
          const v = p99(m.canaryHist);
          ok = v !== null && v <= ctx.latencySloMs;
        }
        if (!ok) failed++;
        if (failed >= failureThreshold) return outcome(rollout, 'rollback', t);
      }
      return outcome(rollout, 'promoted', rollout.minutes.length);
    },
  };
}

/** 3. Argo Rollouts Prometheus template: 5m success ratio < 0.95 (or p99 ≥ SLO) fails; failed > 3 aborts. */
export function argoThresholdRule(
  minSuccess = 0.95,
  windowMinutes = 5,
  failureLimit = 3,
  consecutiveErrorLimit = 4,
): Rule {
  return {
    name: 'argo',
    label: `Argo template (${windowMinutes}m success ≥ ${minSuccess}, failureLimit ${failureLimit})`,
    run(rollout, ctx) {
      let failed = 0;
      let errors = 0;
      for (let t = 1; t <= rollout.minutes.length; t++) {
        const win = rollout.minutes.slice(Math.max(0, t - windowMinutes), t);
        let total = 0;
        let bad = 0;
        for (const m of win) {
          total += m.canaryTotal;
          bad += m.canaryBad;
        }
        if (total === 0) {
          // An empty result is an Error measurement in Argo; too many in a row abort the run.
          errors++;
          if (errors > consecutiveErrorLimit) return outcome(rollout, 'rollback', t);
          continue;
        }
        errors = 0;
        let ok: boolean;
        if (ctx.kind === 'errors') ok = 1 - bad / total >= minSuccess;
        else {
          const v = p99(sumHistograms(win.map((m) => m.canaryHist ?? [])));
          ok = v !== null && v < ctx.latencySloMs;
        }
        if (!ok) failed++;
        if (failed > failureLimit) return outcome(rollout, 'rollback', t);
      }
      return outcome(rollout, 'promoted', rollout.minutes.length);
    },
  };
}

/**
 * 4. Kayenta's NetflixACAJudge Mann–Whitney classifier at each step's end, on the per-minute
 * canary vs stable points of that step (NaN points removed): "High" when the 98% interval's lower
 * bound exceeds 25% of the shift estimate and the mean ratio is ≥ 1 → rollback. The classifier
 * is `gaugeCheck` (./mann-whitney.ts) with `rule: 'kayenta'`.
 */
export function kayentaRule(confidence = 0.98, tolerance = 0.25): Rule {
  return {
    name: 'kayenta',
    label: `Kayenta MW (${confidence * 100}% CI, tolerance ${tolerance}, per step)`,
    run(rollout, ctx) {
      const { stepMinutes } = ctx.schedule;
      for (let t = stepMinutes; t <= rollout.minutes.length; t += stepMinutes) {
        const win = rollout.minutes.slice(t - stepMinutes, t);
        const point = (m: Minute, side: 'canary' | 'stable'): number => {
          if (ctx.kind === 'errors') {
            const total = side === 'canary' ? m.canaryTotal : m.stableTotal;
            const bad = side === 'canary' ? m.canaryBad : m.stableBad;
            return total > 0 ? bad / total : Number.NaN;
          }
          return p99(side === 'canary' ? m.canaryHist : m.stableHist) ?? Number.NaN;
        };
        const x = win.map((m) => point(m, 'canary')).filter((v) => !Number.isNaN(v));
        const y = win.map((m) => point(m, 'stable')).filter((v) => !Number.isNaN(v));
        // The judge's own implementation of Kayenta's classifier (checked against Kayenta's
        // classifier test suite in test/unit/bench/mann-whitney.test.ts); Nodata and Pass go on.
        const r = gaugeCheck(x, y, { rule: 'kayenta', confidence, tolerance, minSamples: 1 });
        if (r.label === 'High') return outcome(rollout, 'rollback', t);
      }
      return outcome(rollout, 'promoted', rollout.minutes.length);
    },
  };
}

/** 5. Naive one-sided two-proportion z-test on the cumulative counts, repeated at every look. */
export function naiveZRule(alpha = 0.05): Rule {
  const zCrit = 1.6448536269514722; // Φ⁻¹(0.95)
  if (alpha !== 0.05) throw new RangeError('naiveZRule is set up for alpha 0.05');
  return {
    name: 'naive-z',
    label: `naive z-test at every look (one-sided α ${alpha})`,
    run(rollout) {
      let nc = 0;
      let xc = 0;
      let ns = 0;
      let xs = 0;
      for (let t = 1; t <= rollout.minutes.length; t++) {
        const m = rollout.minutes[t - 1] as Minute;
        nc += m.canaryTotal;
        xc += m.canaryBad;
        ns += m.stableTotal;
        xs += m.stableBad;
        if (nc === 0 || ns === 0) continue;
        const p = (xc + xs) / (nc + ns);
        const se = Math.sqrt(p * (1 - p) * (1 / nc + 1 / ns));
        if (!(se > 0)) continue;
        if ((xc / nc - xs / ns) / se > zCrit) return outcome(rollout, 'rollback', t);
      }
      return outcome(rollout, 'promoted', rollout.minutes.length);
    },
  };
}

/**
 * 6. The limit: an SPRT of θ = 1 against the true ratio θ = pCanary/pStable on the same
 * conditional Bernoulli data, rejecting at LR ≥ 1/α. On an identical release it tests against
 * `nullAlternative` (the smallest regression of interest).
 */
export function oracleSprtRule(alpha = 0.01, nullAlternative = 1.5): Rule {
  return {
    name: 'oracle',
    label: `oracle SPRT (knows the true ratio; α ${alpha})`,
    run(rollout) {
      const trueRatio = rollout.pCanary / rollout.pStable;
      const theta = trueRatio > 1 + 1e-9 ? trueRatio : nullAlternative;
      const logThreshold = Math.log(1 / alpha);
      let llr = 0;
      for (let t = 1; t <= rollout.minutes.length; t++) {
        const m = rollout.minutes[t - 1] as Minute;
        if (m.canaryTotal > 0 && m.stableTotal > 0) {
          const q = m.canaryTotal / (m.canaryTotal + m.stableTotal);
          const p1 = canaryShareOfBad(theta, q);
          llr += m.canaryBad * Math.log(p1 / q) + m.stableBad * Math.log((1 - p1) / (1 - q));
          if (llr >= logThreshold) return outcome(rollout, 'rollback', t);
        }
      }
      return outcome(rollout, 'promoted', rollout.minutes.length);
    },
  };
}
