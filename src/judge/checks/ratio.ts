/**
 * The ratio check: a count check on the application's own counters. The request gives two
 * PromQL expressions of cumulative counters, `bad` events and all (`total`) events, with
 * `$selector` where the side's label matchers go. The check asks the metrics source for each
 * expression per side, one series per pod at the window's grid points (src/prometheus fills the
 * matchers in, src/prometheus/expression.ts), after the source's parser has checked them before
 * anything is queried; it differences the counters itself (resets and pods that come and go:
 * ../counts/counter-increases.ts), and decides with the error-rate check's count test
 * (src/stats/count-test.ts): same floor, tolerances, power, settle time and summary.
 *
 * Counts that are not counts are refused (`invalid_data`, never a Pass): a NaN or negative
 * value, an increase that is not a whole number (a rate or a gauge, not a counter of events),
 * or more bad events than events on a side over the window.
 */
import { DEFAULT_APP_LABELS, type AppLabels } from '../metrics-source.js';
import { decideCounts, type IntervalCounts } from '../../stats/index.js';
import {
  gridIntervals,
  targetIncreases,
  type CounterGrid,
  type CounterIncreases,
} from '../counts/counter-increases.js';
import type { RatioCheckRequest } from '../request.js';
import type { CheckParams } from '../types.js';
import { foreignSeries, type AppSide } from './app-sides.js';
import { countParams } from './count-params.js';
import { countOutcome, type CheckKind, type PlannedQuery, type QueryAnswers } from './kind.js';
import { timelineEntries } from './series.js';
import { checkSummary } from './summary.js';

type Side = 'canary' | 'stable';
type Field = 'bad' | 'total';
/** Each expression per side: the counters per pod at the window's grid points, baseline first. */
type Query = `${Side}${'Bad' | 'Total'}`;

const SIDES: readonly Side[] = ['canary', 'stable'];
const FIELDS: readonly Field[] = ['bad', 'total'];

/** Words of the summary: what the check counts. */
const BAD_WORD = 'bad events';
const TOTAL_WORD = 'events';

const queryName = (side: Side, field: Field): Query => `${side}${field === 'bad' ? 'Bad' : 'Total'}`;

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

/** Marks which expression a series answered (a reserved name: no series of Prometheus has it). */
const FIELD_LABEL = '__ratio_field__';

/**
 * One side's per-interval bad events and events. A pod's two counters restart together, and a
 * restart is read from the pod as a whole (../counts/counter-increases.ts, targetIncreases): a
 * rare bad counter that grew past its old value before the next grid point still counts from zero.
 */
function sideIncreases(
  answers: QueryAnswers<Query>,
  side: Side,
  grid: CounterGrid,
  labels: AppLabels,
): { readonly [F in Field]: CounterIncreases } {
  const tagged = FIELDS.flatMap((field) =>
    (answers[queryName(side, field)] ?? []).map((x) => ({
      labels: { ...x.labels, [FIELD_LABEL]: field },
      samples: x.samples,
    })),
  );
  const byField = targetIncreases(
    tagged,
    grid,
    (l) => `${l[labels.namespace] ?? ''}\u0000${l[labels.pod] ?? ''}`,
    (l) => l[FIELD_LABEL],
  );
  const n = gridIntervals(grid);
  const none = (): CounterIncreases => ({
    times: Array.from({ length: n }, (_, i) => grid.start + (i + 1) * grid.step),
    increases: new Array<number>(n).fill(0),
    present: new Array<boolean>(n).fill(false),
  });
  return { bad: byField.get('bad') ?? none(), total: byField.get('total') ?? none() };
}

/**
 * Per-interval counts of both sides on the window's grid, and why they are refused if they are.
 * An interval exists where either side has `total` counters at its end, as for error-rate.
 */
export function ratioIntervals(
  answers: QueryAnswers<Query>,
  grid: CounterGrid | null,
  sides?: { readonly sides: { readonly [S in Side]: AppSide }; readonly labels: AppLabels },
): { times: number[]; intervals: IntervalCounts[]; invalid?: string } {
  if (grid === null) return { times: [], intervals: [] };
  if (sides !== undefined) {
    for (const side of SIDES)
      for (const field of FIELDS) {
        const foreign = foreignSeries(answers[queryName(side, field)] ?? [], sides.sides[side], sides.labels);
        if (foreign !== undefined)
          return {
            times: [],
            intervals: [],
            invalid: `${field} answered a series that is not a ${side} pod's, ${foreign}: every selector of the expression needs $selector, and the namespace and pod labels must stay`,
          };
      }
  }
  const labels = sides?.labels ?? DEFAULT_APP_LABELS;
  const c = sideIncreases(answers, 'canary', grid, labels);
  const s = sideIncreases(answers, 'stable', grid, labels);
  const keep = c.total.times.map((_, i) => c.total.present[i] === true || s.total.present[i] === true);
  const pick = (xs: readonly number[]) => xs.filter((_, i) => keep[i]);
  const times = pick(c.total.times);
  const [cb, ct, sb, st] = [c.bad, c.total, s.bad, s.total].map((x) => pick(x.increases)) as [
    number[],
    number[],
    number[],
    number[],
  ];
  const intervals = times.map((_, i) => ({
    canaryTotal: ct[i] as number,
    canaryBad: cb[i] as number,
    stableTotal: st[i] as number,
    stableBad: sb[i] as number,
  }));
  const invalid = notCounts('canary', cb, ct) ?? notCounts('stable', sb, st);
  return { times, intervals, ...(invalid === undefined ? {} : { invalid }) };
}

export const ratio: CheckKind<RatioCheckRequest, Query, CheckParams> = {
  params: countParams,
  expressions(c, ctx) {
    // One side suffices: the other differs only in the quoted values of the same matchers.
    return FIELDS.map((field) => ({
      field,
      expression: c[field],
      side: ctx.sides.canary,
      holds: 'counters',
    }));
  },
  plan(c, ctx) {
    const plan: Partial<Record<Query, PlannedQuery>> = {};
    for (const side of SIDES)
      for (const field of FIELDS)
        plan[queryName(side, field)] = {
          request: { expression: c[field], perPod: 'sum', side: ctx.sides[side] },
          range: 'window',
        };
    return plan;
  },
  evaluate(c, answers, params, ctx) {
    const sides = ctx.appSides;
    const { times, intervals, invalid } = ratioIntervals(
      answers,
      ctx.grids.window,
      sides === undefined || sides === null
        ? undefined
        : { sides, labels: ctx.appLabels ?? DEFAULT_APP_LABELS },
    );
    // Counts that are not counts: one unusable interval makes the engine answer invalid_data.
    const counted =
      invalid === undefined
        ? intervals
        : [...intervals, { canaryTotal: Number.NaN, canaryBad: 0, stableTotal: 0, stableBad: 0 }];
    const result = decideCounts(counted, params, { timeline: ctx.timeline });
    const timeline = invalid === undefined ? timelineEntries(times, result.timeline) : undefined;
    return countOutcome(
      result,
      checkSummary(c.name ?? c.type, result.reason, result, {
        intervalSeconds: ctx.intervalSeconds,
        bad: BAD_WORD,
        total: TOTAL_WORD,
        ...(invalid === undefined ? {} : { note: invalid }),
      }),
      timeline === undefined ? {} : { timeline },
    );
  },
};
