/**
 * One analysis, in stages: resolve the window; run each check's named queries through one
 * query runner (pool, cache, deadline); let each check's kind module turn its answers into a
 * decision; combine the checks into the card's verdict; build the answer. Stateless: nothing
 * survives a call.
 */

import { JudgeError } from '../errors.js';
import type { Config } from '../config/config.js';
import {
  DEFAULT_APP_LABELS,
  type AppLabels,
  type Grid,
  type MetricsSource,
  type Series,
  type SideSelector,
  type SourceQuery,
} from './metrics-source.js';
import type { AnalysisRequest, CheckRequest } from './request.js';
import {
  checkSummary,
  kindOf,
  type CheckContext,
  type EvaluationContext,
  type QueryAnswers,
  type QueryPlan,
  type QueryRange,
} from './checks/index.js';
import { appSide } from './checks/app-sides.js';
import { asJudgeError, createQueryRunner, deadlineError, type QueryRunner } from './query-runner.js';
import { combineChecks } from './scorecard.js';
import { recordFields } from './records.js';
import type { AnalysisResult, AnyCheckParams, CheckResult } from './types.js';
import { resolveWindow, type ResolvedWindow } from './window.js';

export interface JudgeOptions {
  /** Where the series come from (src/prometheus/source.ts for Prometheus). */
  readonly source: MetricsSource;
  readonly config: Pick<
    Config,
    'deadlineMs' | 'queryConcurrency' | 'lookbackSeconds' | 'mesh' | 'durationUnit'
  > & {
    /** Label names of applications' own metrics (ratio checks); default DEFAULT_APP_LABELS. */
    readonly app?: AppLabels;
  };
  /** Versioned judge name, e.g. canary-judge/0.1.0. */
  readonly name: string;
  readonly now?: () => number;
}

export interface AnalyzeOptions {
  /** Aborted when the client goes away or the server shuts down hard. */
  readonly signal?: AbortSignal;
}

export interface Judge {
  analyze(request: AnalysisRequest, options?: AnalyzeOptions): Promise<AnalysisResult>;
}

/** A check's parameters in force, as its kind sets them (α split across the `nChecks` checks). */
export function checkParams(c: CheckRequest, nChecks: number): AnyCheckParams {
  return kindOf(c).params(c, nChecks);
}

/**
 * Refuses (invalid_request, naming the field) an extra matcher on a label the selector or the
 * queries set themselves; which labels those are depends on the configured mesh names, so the
 * request schema cannot tell.
 */
function checkMatchers(
  matchers: Readonly<Record<string, string>> | undefined,
  own: ReadonlySet<string>,
): void {
  if (matchers === undefined) return;
  for (const name of Object.keys(matchers)) {
    if (own.has(name)) {
      throw new JudgeError(
        'invalid_request',
        `matchers.${name}: ${name} is a label the judge's own selector or queries set; it cannot be an extra matcher`,
        { field: `matchers.${name}` },
      );
    }
  }
}

export function createJudge(opts: JudgeOptions): Judge {
  const now = opts.now ?? Date.now;
  const { source } = opts;
  const { mesh } = opts.config;
  const appLabels = opts.config.app ?? DEFAULT_APP_LABELS;

  return {
    async analyze(req, aopts = {}) {
      const t0 = performance.now();
      const runner = createQueryRunner(source, {
        deadlineMs: opts.config.deadlineMs,
        concurrency: opts.config.queryConcurrency,
        ...(aopts.signal === undefined ? {} : { signal: aopts.signal }),
      });
      try {
        const side = (value: string): SideSelector => ({
          mode: req.selector.mode,
          rollout: req.rollout.name,
          namespace: req.rollout.namespace,
          value,
          ...(req.matchers === undefined ? {} : { matchers: req.matchers }),
        });
        checkMatchers(req.matchers, source.ownLabels);
        const sides = { canary: side(req.selector.canary), stable: side(req.selector.stable) };
        const ctx: CheckContext = {
          sides,
          interval: req.interval.text,
          intervalSeconds: req.interval.seconds,
          mesh,
          appSides: appSides(sides.canary, sides.stable),
          appLabels,
          durationUnit: opts.config.durationUnit,
          timeline: req.timeline ?? false,
        };
        await checkExpressions(req.checks, ctx, runner);
        const presence = { name: 'presence', ...source.query({ series: 'presence', side: sides.canary }) };
        const resolved = await resolveWindow(
          { start: req.start, interval: req.interval, ...(req.end === undefined ? {} : { end: req.end }) },
          { now: now(), lookbackSeconds: opts.config.lookbackSeconds, maxPoints: source.maxPoints },
          (grid) => runner.run(presence, grid),
        );
        const checks = await runChecks(req.checks, ctx, resolved, runner, source);
        const combined = combineChecks(checks, req.failBelow, resolved.headline);
        const { queries, prometheusMs } = runner.stats();
        return {
          verdict: combined.verdict,
          score: combined.score,
          summary: combined.summary,
          judge: opts.name,
          rollout: { name: req.rollout.name, namespace: req.rollout.namespace },
          selector: { mode: req.selector.mode, canary: req.selector.canary, stable: req.selector.stable },
          window: resolved.window,
          scorecard: {
            reason: combined.reason,
            maxScore: combined.maxScore,
            failBelow: combined.failBelow,
            familyWiseAlpha: combined.familyWiseAlpha,
          },
          checks,
          measurement: { verdict: combined.verdict, score: combined.score, summary: combined.summary },
          timing: { totalMs: round3(performance.now() - t0), prometheusMs: round3(prometheusMs), queries },
        };
      } catch (e) {
        throw asJudgeError(e, runner.signal);
      } finally {
        runner.close();
      }
    },
  };
}

function appSides(canary: SideSelector, stable: SideSelector): NonNullable<CheckContext['appSides']> | null {
  const c = appSide(canary);
  const s = appSide(stable);
  return c === null || s === null ? null : { canary: c, stable: s };
}

/**
 * The expressions the request wrote itself, checked by the source's parser before anything else
 * is queried: one it refuses, or one that is not an instant vector, is a 400 naming the field
 * (`checks[0].bad`). An outage is the usual 503/504.
 */
async function checkExpressions(
  requests: readonly CheckRequest[],
  ctx: CheckContext,
  runner: QueryRunner,
): Promise<void> {
  const checked = requests.flatMap((c, i) =>
    (kindOf(c).expressions?.(c, ctx) ?? []).map((e) => ({ ...e, field: `checks[${i}].${e.field}` })),
  );
  await Promise.all(checked.map((e) => runner.checkExpression(e)));
}

/**
 * Every check, concurrently. A check whose queries Prometheus rejected (bad override, query
 * error) becomes an Inconclusive `query_error` entry of its own; an outage or a deadline fails
 * the whole analysis (Argo retries), as does every check failing.
 */
async function runChecks(
  requests: readonly CheckRequest[],
  ctx: CheckContext,
  resolved: ResolvedWindow,
  runner: QueryRunner,
  source: MetricsSource,
): Promise<CheckResult[]> {
  const grids = { window: resolved.range, withHour: resolved.withHour };
  const rangeOf = (r: QueryRange): Grid | null => grids[r];
  const settled = await Promise.allSettled(
    requests.map((c) => runCheck(c, requests.length, { ...ctx, grids }, rangeOf, runner, source)),
  );
  const checks: CheckResult[] = [];
  let fatal: JudgeError | undefined;
  settled.forEach((r, i) => {
    const c = requests[i] as CheckRequest;
    if (r.status === 'fulfilled') {
      checks.push(r.value);
      return;
    }
    const err = asJudgeError(r.reason, runner.signal);
    if (err.code !== 'prometheus_bad_response') {
      fatal ??= err;
      return;
    }
    checks.push(queryErrorResult(c, requests.length, ctx, err, source));
  });
  if (fatal !== undefined) throw fatal;
  if (runner.signal.aborted) throw deadlineError(runner.signal);
  const firstError = checks.find((c) => c.reason === 'query_error');
  if (firstError !== undefined && checks.every((c) => c.reason === 'query_error')) {
    throw new JudgeError('prometheus_bad_response', firstError.error?.message ?? 'every query failed');
  }
  return checks;
}

/** One check: plan its named queries, run them, and let its kind decide. */
async function runCheck(
  c: CheckRequest,
  nChecks: number,
  ctx: EvaluationContext,
  rangeOf: (r: QueryRange) => Grid | null,
  runner: QueryRunner,
  source: MetricsSource,
): Promise<CheckResult> {
  const kind = kindOf(c);
  const plan = prepare(kind.plan(c, ctx), source);
  const names = Object.keys(plan);
  const answers = await Promise.all(
    names.map((n): Promise<Series[]> => {
      const q = plan[n];
      const range = q === undefined ? null : rangeOf(q.range);
      return q === undefined || range === null
        ? Promise.resolve([])
        : runner.run({ name: n, ...q.query }, range);
    }),
  );
  const data: QueryAnswers<string> = Object.fromEntries(names.map((n, i) => [n, answers[i] as Series[]]));
  const params = kind.params(c, nChecks);
  const o = kind.evaluate(c, data, params, ctx);
  return {
    name: c.name ?? c.type,
    type: c.type,
    verdict: o.verdict,
    reason: o.reason,
    summary: o.summary,
    params,
    ...recordFields(o.record, ctx.intervalSeconds),
    queries: textsOf(plan),
  };
}

function queryErrorResult(
  c: CheckRequest,
  nChecks: number,
  ctx: CheckContext,
  err: JudgeError,
  source: MetricsSource,
): CheckResult {
  const name = c.name ?? c.type;
  return {
    name,
    type: c.type,
    verdict: 'Inconclusive',
    reason: 'query_error',
    summary: checkSummary(name, 'query_error', null, { note: err.message }),
    params: checkParams(c, nChecks),
    canary: null,
    stable: null,
    effect: null,
    evidence: null,
    power: null,
    intervals: 0,
    error: { code: err.code, message: err.message },
    queries: textsOf(prepare(kindOf(c).plan(c, ctx), source)),
  };
}

/** A plan's requests as the source will run them. */
type PreparedPlan = Readonly<
  Record<string, { readonly query: SourceQuery; readonly range: QueryRange } | undefined>
>;

function prepare(plan: QueryPlan<string>, source: MetricsSource): PreparedPlan {
  return Object.fromEntries(
    Object.entries(plan).map(([n, q]) => [
      n,
      q === undefined ? undefined : { query: source.query(q.request), range: q.range },
    ]),
  );
}

/** The queries of a check as its answer reports them (`queries`). */
function textsOf(plan: PreparedPlan): string[] {
  // A query serving both sides is one query, reported once.
  return [...new Set(Object.values(plan).flatMap((q) => (q === undefined ? [] : [q.query.text])))];
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
