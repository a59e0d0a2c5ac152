/**
 * The ratio check: a count check on the application's own counters. The request gives two
 * PromQL expressions of cumulative counters, `bad` events and all (`total`) events, with
 * `$selector` where the side's label matchers go; the judge fills them in for each side
 * (src/prometheus/expression.ts), has Prometheus' parser check them before anything is queried,
 * samples the counters per pod at the window's grid points, differences them itself (resets and
 * pods that come and go: ./counter-increases.ts), and decides with the error-rate check's count
 * test (src/stats/count-test.ts): same floor, tolerances, power, settle time and summary.
 *
 * Counts that are not counts are refused (`invalid_data`, never a Pass): a NaN or negative
 * value, an increase that is not a whole number (a rate or a gauge, not a counter of events),
 * or more bad events than events on a side over the window.
 */
import { countersByPod, fillSelector } from '../../prometheus/expression.js';
import { DEFAULT_APP_LABELS } from '../../prometheus/expression.js';
import type { Series } from '../../prometheus/client.js';
import { decideCounts, type IntervalCounts } from '../../stats/index.js';
import type { RatioCheckRequest } from '../request.js';
import type { CheckContext, CheckKind, Grid, PlannedQuery, QueryPlan } from './kind.js';
import { counterIncreases } from './counter-increases.js';
import { timelineEntries } from './series.js';
import { checkSummary } from './summary.js';

type Side = 'canary' | 'stable';
type Field = 'bad' | 'total';
/** Each expression per side, at the baseline point and at the window's points. */
type Query = `${Side}${'Bad' | 'Total'}${'Base' | ''}`;

const SIDES: readonly Side[] = ['canary', 'stable'];

/** Words of the summary: what the check counts. */
const BAD_WORD = 'bad events';
const TOTAL_WORD = 'events';

function selectorOf(ctx: CheckContext, side: Side): string {
  const s = ctx.appSelectors?.[side];
  // The request schema refuses a ratio check in a selector mode without app matchers.
  if (s === undefined) throw new Error('ratio check without application matchers (selector mode service)');
  return s;
}

const queryName = (side: Side, field: Field, base: boolean): Query =>
  `${side}${field === 'bad' ? 'Bad' : 'Total'}${base ? 'Base' : ''}` as Query;

/** One side's increases per grid interval, from its answers at the baseline and in the window. */
export function sideIncreases(
  base: readonly Series[],
  window: readonly Series[],
  grid: Grid,
): { times: number[]; increases: number[] } {
  // The same pod answers in both queries: its baseline point and its window points are one series.
  const byLabels = new Map<string, { labels: Series['labels']; samples: Series['samples'][number][] }>();
  for (const s of [...base, ...window]) {
    const key = JSON.stringify(Object.entries(s.labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    const have = byLabels.get(key);
    if (have === undefined) byLabels.set(key, { labels: s.labels, samples: [...s.samples] });
    else have.samples.push(...s.samples);
  }
  return counterIncreases([...byLabels.values()], grid);
}

/** Why a side's counts are not counts, or undefined when they are. */
function notCounts(side: Side, bad: readonly number[], total: readonly number[]): string | undefined {
  const all = [...bad, ...total];
  if (all.some((v) => !Number.isFinite(v) || v < 0))
    return `a ${side} counter answered NaN, an infinity or a negative value`;
  if (all.some((v) => !Number.isInteger(v)))
    return `${side} counts are not whole numbers: bad and total must be counters of events (no rate(), no averages)`;
  const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);
  if (sum(bad) > sum(total))
    return `more bad events than events on the ${side} side (${sum(bad)} > ${sum(total)}): bad must count a subset of total`;
  return undefined;
}

/** Per-interval counts of both sides on the grid, and why they are refused if they are. */
export function ratioIntervals(
  answers: Readonly<Partial<Record<Query, readonly Series[]>>>,
  grid: Grid | undefined,
): { times: number[]; intervals: IntervalCounts[]; invalid?: string } {
  if (grid === undefined) return { times: [], intervals: [] };
  const of = (side: Side, field: Field) =>
    sideIncreases(
      answers[queryName(side, field, true)] ?? [],
      answers[queryName(side, field, false)] ?? [],
      grid,
    );
  const c = { bad: of('canary', 'bad'), total: of('canary', 'total') };
  const s = { bad: of('stable', 'bad'), total: of('stable', 'total') };
  const times = c.total.times;
  const at = (xs: readonly number[], i: number) => xs[i] ?? 0;
  const intervals = times.map((_, i) => ({
    canaryTotal: at(c.total.increases, i),
    canaryBad: at(c.bad.increases, i),
    stableTotal: at(s.total.increases, i),
    stableBad: at(s.bad.increases, i),
  }));
  const invalid =
    notCounts('canary', c.bad.increases, c.total.increases) ??
    notCounts('stable', s.bad.increases, s.total.increases);
  return { times, intervals, ...(invalid === undefined ? {} : { invalid }) };
}

export const ratio: CheckKind<RatioCheckRequest, Query> = {
  expressions(c, ctx) {
    // One side suffices: the other differs only in the quoted values of the same matchers.
    const selector = selectorOf(ctx, 'canary');
    return [
      { field: 'bad', promql: fillSelector(c.bad, selector) },
      { field: 'total', promql: fillSelector(c.total, selector) },
    ];
  },
  plan(c, ctx) {
    const labels = ctx.appLabels ?? DEFAULT_APP_LABELS;
    const plan: Partial<Record<Query, PlannedQuery>> = {};
    for (const side of SIDES) {
      for (const field of ['bad', 'total'] as const) {
        const q = countersByPod(fillSelector(c[field], selectorOf(ctx, side)), labels, ctx.mesh.scrapeLabels);
        plan[queryName(side, field, true)] = { ...q, range: 'baseline' };
        plan[queryName(side, field, false)] = { ...q, range: 'window' };
      }
    }
    return plan as QueryPlan<Query>;
  },
  evaluate(c, answers, params, ctx) {
    const { times, intervals, invalid } = ratioIntervals(answers, ctx.grid);
    // Counts that are not counts: one unusable interval makes the engine answer invalid_data.
    const counted =
      invalid === undefined
        ? intervals
        : [...intervals, { canaryTotal: Number.NaN, canaryBad: 0, stableTotal: 0, stableBad: 0 }];
    const result = decideCounts(counted, params, { timeline: ctx.timeline });
    const timeline = invalid === undefined ? timelineEntries(times, result.timeline) : undefined;
    return {
      result,
      summary: checkSummary(c.name ?? c.type, result.reason, result, {
        intervalSeconds: ctx.intervalSeconds,
        bad: BAD_WORD,
        total: TOTAL_WORD,
        ...(invalid === undefined ? {} : { note: invalid }),
      }),
      details: timeline === undefined ? {} : { timeline },
    };
  },
};
