/**
 * What every check kind provides: its parameters, its query plan and its evaluation. The plan
 * names the series the kind wants of each side (one of the mesh's by name, or the caller's
 * expression with `$selector`, ../metrics-source.ts) and over which grid (the analysis window, or
 * the window and the hour before it); a kind never writes a query, the metrics source renders
 * it (src/prometheus for Prometheus). The evaluation turns the answers into per-interval values,
 * the engine's decision and a line a person can read. Every kind answers in one shape: a verdict,
 * a reason, a summary and an evidence record whose `kind` says how it reads (`count`: the count
 * test's numbers; `gauge`: the gauge test's). judge.ts knows nothing about any one kind, only
 * how each kind of record goes into the answer (../records.ts).
 *
 * A new kind is a module here, registered in ./index.ts, with its request schema
 * (../request.ts, which names its `type`) and its proto message (judge.proto, the gRPC mapping
 * and wire table); a new kind of record adds its type below, its answer fields (../records.ts,
 * ../types.ts) and its proto result. The README ("Adding a check kind") counts the files.
 */
import type { DurationUnit } from '../../config/config.js';
import type {
  AppLabels,
  ExpressionCheck,
  Grid,
  MeshNames,
  Series,
  SeriesRequest,
  SideSelector,
} from '../metrics-source.js';
import type { CountTestResult, GaugeTestResult } from '../../stats/index.js';
import type { AppSide } from './app-sides.js';
import type { BaseCheckParams, CheckReason, CheckResult } from '../types.js';
import type { Verdict } from '../../stats/index.js';

export interface CheckContext {
  /** Which pods each side is (the request's selector and matchers): what a query request names. */
  readonly sides: { readonly canary: SideSelector; readonly stable: SideSelector };
  /** The analysis interval as the request wrote it (e.g. "60s") and in seconds. */
  readonly interval: string;
  readonly intervalSeconds: number;
  /** The mesh's label names, for reading its series' labels. */
  readonly mesh: MeshNames;
  /**
   * Each side for an application's own metrics (what the series of a ratio or gauge check's
   * answers must carry), with the label names they use; absent or null in a selector mode that
   * has none (`service`).
   */
  readonly appSides?: { readonly canary: AppSide; readonly stable: AppSide } | null;
  readonly appLabels?: AppLabels;
  readonly durationUnit: DurationUnit;
  /** Whether the request asked for the evidence interval by interval. */
  readonly timeline: boolean;
}

/**
 * `window`: the window's grid, its baseline point (the window start) first, one point per
 * interval after it; `withHour`: the same grid started an hour before the window.
 */
export type QueryRange = 'window' | 'withHour';

/** What evaluation adds to the plan's context: the grid each range was queried on. */
export interface EvaluationContext extends CheckContext {
  /** Null: the window is empty and nothing was queried. */
  readonly grids: Readonly<Record<QueryRange, Grid | null>>;
}

/** A named query: the series it asks the metrics source for, and over which grid. */
export interface PlannedQuery {
  readonly request: SeriesRequest;
  readonly range: QueryRange;
}

/** A kind's queries by name; the answers come back to `evaluate` under the same names. */
export type QueryPlan<N extends string> = Readonly<Partial<Record<N, PlannedQuery>>>;
/** A query that was not planned has no answer; an empty result is an empty list. */
export type QueryAnswers<N extends string> = Readonly<Partial<Record<N, readonly Series[]>>>;

/** What a count kind reports besides the count test's numbers (its answer fields). */
export type CountDetails = Pick<
  CheckResult,
  'errorCodes' | 'responseFlags' | 'threshold' | 'quantiles' | 'timeline' | 'edges'
>;

/** The evidence of a count check (error-rate, latency, ratio): the count test's result. */
export interface CountRecord {
  readonly kind: 'count';
  readonly result: CountTestResult;
  readonly details: CountDetails;
}

/** The evidence of a gauge check: the gauge test's result. */
export interface GaugeRecord {
  readonly kind: 'gauge';
  readonly result: GaugeTestResult;
}

/** A kind's evidence, told apart by `kind` (../records.ts puts each into the answer). */
export type EvidenceRecord = CountRecord | GaugeRecord;

/** What a kind's evaluation answers, the same for every kind. */
export interface CheckOutcome {
  readonly verdict: Verdict;
  readonly reason: CheckReason;
  readonly summary: string;
  readonly record: EvidenceRecord;
}

/** The outcome of a count kind: the verdict and reason are the count test's. */
export function countOutcome(
  result: CountTestResult,
  summary: string,
  details: CountDetails = {},
): CheckOutcome {
  return {
    verdict: result.verdict,
    reason: result.reason,
    summary,
    record: { kind: 'count', result, details },
  };
}

/** The count test's result of a count kind's outcome (throws for another kind of record). */
export function countResultOf(o: CheckOutcome): CountTestResult {
  if (o.record.kind !== 'count') throw new TypeError(`not a count record: ${o.record.kind}`);
  return o.record.result;
}

export interface CheckKind<C, N extends string, P extends BaseCheckParams = BaseCheckParams> {
  /**
   * The check's parameters in force: the request's values or the kind's defaults, with α
   * already split across the analysis' `nChecks` checks (alphaForCheck).
   */
  params(check: C, nChecks: number): P;
  /**
   * Expressions the request wrote itself, checked by the source's parser before the window is
   * resolved: a refused one is a 400 naming the field, never a verdict. Kinds that ask only for
   * the mesh's named series have none. Each `field` is relative to the check (e.g. `bad`).
   */
  expressions?(check: C, ctx: CheckContext): readonly ExpressionCheck[];
  plan(check: C, ctx: CheckContext): QueryPlan<N>;
  evaluate(check: C, answers: QueryAnswers<N>, params: P, ctx: EvaluationContext): CheckOutcome;
}
