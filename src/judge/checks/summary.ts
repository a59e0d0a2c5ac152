/**
 * The one line a person reads for each check (in `kubectl describe analysisrun` and the logs):
 * counts and rates per side, the effect with its interval, the evidence against its threshold,
 * and — when the check could not decide — what is missing and roughly how long it would take,
 * or, when no time at these parameters would do, what to set instead.
 */
import { MAX_SETTLE_INTERVALS, type CountTestResult } from '../../stats/index.js';
import { fmtCount, fmtMs, fmtNum, fmtPct } from '../format.js';
import type { CheckReason, LatencyThreshold } from '../types.js';

const VERDICT_TAIL: Readonly<Record<CheckReason, string>> = {
  regression_detected: 'regression',
  no_regression: 'no regression',
  insufficient_data: 'not enough data yet',
  suspected_regression: 'canary looks worse than allowed, Pass held',
  no_canary_traffic: 'no canary traffic',
  no_stable_traffic: 'no stable traffic',
  invalid_data: 'invalid data refused',
  query_error: 'query failed',
};

/** The words after the arrow of a summary line: "regression", "not enough data yet", … */
export function verdictTail(reason: CheckReason): string {
  return VERDICT_TAIL[reason];
}

export interface SummaryExtra {
  /** What is counted as bad, after the check's name (e.g. "over 250ms"). */
  readonly what?: string;
  /** Why no decision could be computed. */
  readonly note?: string;
  /** Length of one analysis interval, to turn the engine's interval estimate into minutes. */
  readonly intervalSeconds?: number;
  /** What the check counts as bad, in the plural ("errors"); default "bad requests". */
  readonly bad?: string;
  /** What the check counts in all, after a count ("events"); default "req". */
  readonly total?: string;
}

/**
 * An absolute tolerance to suggest when a Pass needs one: the shipped last gate's +0.1 pp, which
 * a clean canary meets after about 4,100 requests (docs/statistics.md §7).
 */
export const SUGGESTED_CRITICAL_INCREASE = 0.001;

/** How far ahead the engine looks (MAX_SETTLE_INTERVALS intervals), in words: "a day". */
function horizonText(intervalSeconds: number): string {
  const seconds = MAX_SETTLE_INTERVALS * intervalSeconds;
  const days = seconds / 86_400;
  if (Number.isInteger(days)) return days === 1 ? 'a day' : `${days} days`;
  const hours = Math.round(seconds / 3600);
  if (hours >= 1) return `${hours} hour${hours === 1 ? '' : 's'}`;
  return `${Math.round(seconds / 60)} minutes`;
}

function settleText(r: CountTestResult, extra: SummaryExtra): string {
  if (r.needs === 'criticalIncrease') {
    // No time to promise: while the stable stays clean no traffic lets the ratio pass.
    const bad = extra.bad ?? 'bad requests';
    const clean = r.canary.bad > 0 ? 'the canary pass on its own rate' : 'a clean canary pass';
    const where = r.canary.bad > 0 ? 'on the stable side' : 'on either side';
    const pp = fmtNum(SUGGESTED_CRITICAL_INCREASE * 100);
    return (
      ` (no ${bad} ${where}, so no ratio can rule out ${fmtNum(r.power.criticalEffect)}×: ` +
      `set criticalIncrease, e.g. ${SUGGESTED_CRITICAL_INCREASE} = +${pp} pp, to let ${clean})`
    );
  }
  const { intervalSeconds } = extra;
  const intervals = r.settleIntervals;
  if (intervals === undefined || intervalSeconds === undefined) return '';
  if (intervals === null) return ` (more than ${horizonText(intervalSeconds)} at this traffic)`;
  const minutes = Math.max(1, Math.ceil((intervals * intervalSeconds) / 60));
  return ` (about ${minutes} more minute${minutes === 1 ? '' : 's'} at this traffic)`;
}

/** One line explaining a check's verdict with its numbers. */
export function checkSummary(
  name: string,
  reason: CheckReason,
  r: CountTestResult | null,
  extra: SummaryExtra = {},
): string {
  const head = extra.what === undefined ? name : `${name} ${extra.what}`;
  if (r === null) return `${head}: ${extra.note ?? 'query failed'} → ${VERDICT_TAIL[reason]}`;
  if (reason === 'no_canary_traffic' || reason === 'no_stable_traffic' || reason === 'invalid_data') {
    const unit = extra.total ?? 'req';
    const side = `canary ${fmtCount(r.canary.requests)} ${unit}, stable ${fmtCount(r.stable.requests)} ${unit}`;
    return `${head}: ${side}${extra.note ? ` (${extra.note})` : ''} → ${VERDICT_TAIL[reason]}`;
  }
  const rates =
    `canary ${fmtPct(r.canary.rate)} (${fmtCount(r.canary.bad)}/${fmtCount(r.canary.requests)}) ` +
    `vs stable ${fmtPct(r.stable.rate)} (${fmtCount(r.stable.bad)}/${fmtCount(r.stable.requests)})`;
  const ratio =
    r.effect.ratio === null
      ? 'ratio n/a'
      : `ratio ${fmtNum(r.effect.ratio)} [${fmtNum(r.effect.lower)}, ${r.effect.upper === null ? '∞' : fmtNum(r.effect.upper)}]`;
  const ev = r.evidence;
  // No '<' or '>': Argo's Go JSON encoder stores them as \u003c / \u003e in the AnalysisRun.
  const e = `e=${fmtNum(ev.eValue, 3)} ${ev.eValue >= ev.threshold ? '≥' : 'below'} ${fmtNum(ev.threshold, 3)}`;
  const pw = `power ${r.power.achieved.toFixed(2)} ${r.power.achieved >= r.power.required ? '≥' : 'below'} ${r.power.required} for ${fmtNum(r.power.criticalEffect)}×`;
  const parts = [rates, ratio, e];
  if (reason !== 'regression_detected') {
    parts.push(pw);
    // A Pass through the floor says so: the canary's rate is shown below the tolerance.
    if (r.floor?.met === true && r.power.achieved < r.power.required) {
      parts.push(`canary rate ≤ ${fmtPct(r.floor.canaryUpper)} within tolerance ${fmtPct(r.floor.allowed)}`);
    }
  }
  const tail = reason === 'insufficient_data' ? settleText(r, extra) : '';
  return `${head}: ${parts.join(', ')} → ${VERDICT_TAIL[reason]}${tail}`;
}

/** "over 250ms (stable p99 edge)", "over 100ms (edges 100ms, exceeded by ≥ 1% …, and 250ms, the stable p99's)", … */
export function latencyWhat(t: LatencyThreshold): string {
  if (t.ms === null)
    return t.source === 'slo'
      ? `over ${fmtMs(t.requestedMs ?? null)}`
      : `over stable p${(t.quantile ?? 0) * 100}`;
  if (t.source === 'slo') return `over ${fmtMs(t.ms)}`;
  const q = Number(((t.quantile ?? 0) * 100).toPrecision(4));
  if (t.lowMs !== undefined && t.lowMs !== null && t.lowMs !== t.ms) {
    // Two edges: the counts shown are the deciding edge's.
    const shown = t.decidingMs ?? t.lowMs;
    const share = Number((100 - q).toPrecision(3));
    return `over ${fmtMs(shown)} (edges ${fmtMs(t.lowMs)}, exceeded by ≥ ${share}% of stable requests, and ${fmtMs(t.ms)}, the stable p${q}'s)`;
  }
  return `over ${fmtMs(t.ms)} (stable p${q} edge)`;
}
