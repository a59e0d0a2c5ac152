/**
 * One analysis, in stages: resolve the window; run each check's named queries through one
 * query runner (pool, cache, deadline); let each check's kind module turn its answers into a
 * decision; combine the checks into the card's verdict; build the answer. Stateless: nothing
 * survives a call.
 */

import { JudgeError } from '../errors.js';
import type { Config } from '../config/config.js';
import type { PrometheusClient, RangeSpec, Series } from '../prometheus/client.js';
import {
  namedQuery,
  renderSelector,
  selectorLabels,
  type MeshNames,
  type SideSelector,
} from '../prometheus/promql.js';
import { DEFAULT_APP_LABELS, appSide, type AppLabels } from '../prometheus/expression.js';
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
import { asJudgeError, createQueryRunner, deadlineError, type QueryRunner } from './query-runner.js';
import { combineChecks } from './scorecard.js';
import { recordFields } from './records.js';
import type { AnalysisResult, CheckParams, CheckResult, GaugeCheckParams } from './types.js';
import { resolveWindow, type ResolvedWindow } from './window.js';

export interface JudgeOptions {
  readonly prometheus: PrometheusClient;
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
export function checkParams(c: CheckRequest, nChecks: number): CheckParams | GaugeCheckParams {
  return kindOf(c).params(c, nChecks);
}

/**
 * Refuses (invalid_request, naming the field) an extra matcher on a label the selector or the
 * queries set themselves; which labels those are depends on the configured mesh names, so the
 * request schema cannot tell.
 */
function checkMatchers(
  matchers: Readonly<Record<string, string>> | undefined,
  mesh: MeshNames,
  app: AppLabels,
): void {
  if (matchers === undefined) return;
  const own = new Set([...selectorLabels(mesh), app.namespace, app.pod, app.version]);
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
  const { mesh } = opts.config;
  const appLabels = opts.config.app ?? DEFAULT_APP_LABELS;

  return {
    async analyze(req, aopts = {}) {
      const t0 = performance.now();
      const runner = createQueryRunner(opts.prometheus, {
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
        checkMatchers(req.matchers, mesh, appLabels);
        const ctx: CheckContext = {
          canarySelector: renderSelector(side(req.selector.canary), mesh),
          stableSelector: renderSelector(side(req.selector.stable), mesh),
          interval: req.interval.text,
          intervalSeconds: req.interval.seconds,
          mesh,
          appSides: appSides(side(req.selector.canary), side(req.selector.stable), appLabels),
          appLabels,
          durationUnit: opts.config.durationUnit,
          timeline: req.timeline ?? false,
        };
        await checkExpressions(req.checks, ctx, runner);
        const presence = namedQuery('presence', { selector: ctx.canarySelector }, mesh);
        const resolved = await resolveWindow(
          { start: req.start, interval: req.interval, ...(req.end === undefined ? {} : { end: req.end }) },
          { now: now(), lookbackSeconds: opts.config.lookbackSeconds, presenceQuery: presence.promql },
          (q, r) => runner.run({ name: 'presence', promql: q, shape: presence.shape }, r),
        );
        const checks = await runChecks(req.checks, ctx, resolved, runner);
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

function appSides(
  canary: SideSelector,
  stable: SideSelector,
  labels: AppLabels,
): NonNullable<CheckContext['appSides']> | null {
  const c = appSide(canary, labels);
  const s = appSide(stable, labels);
  return c === null || s === null ? null : { canary: c, stable: s };
}

/**
 * The expressions the request wrote itself, checked by the store's parser before anything else
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
  await Promise.all(
    checked.map(async ({ field, promql, holds }) => {
      let type: string;
      try {
        type = await runner.resultType(promql);
      } catch (e) {
        if (e instanceof JudgeError && e.code === 'invalid_request')
          throw new JudgeError('invalid_request', `${field} (${promql}): ${e.message}`, { field });
        throw e;
      }
      if (type !== 'vector')
        throw new JudgeError(
          'invalid_request',
          `${field} (${promql}) must be an instant vector of ${holds}; Prometheus reads it as a ${type === 'matrix' ? 'range vector' : type}`,
          { field },
        );
    }),
  );
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
): Promise<CheckResult[]> {
  const grids = { window: resolved.range, withHour: resolved.withHour };
  const rangeOf = (r: QueryRange): RangeSpec | null => grids[r];
  const settled = await Promise.allSettled(
    requests.map((c) => runCheck(c, requests.length, { ...ctx, grids }, rangeOf, runner)),
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
    checks.push(queryErrorResult(c, requests.length, ctx, err));
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
  rangeOf: (r: QueryRange) => RangeSpec | null,
  runner: QueryRunner,
): Promise<CheckResult> {
  const kind = kindOf(c);
  const plan = kind.plan(c, ctx);
  const names = Object.keys(plan);
  const answers = await Promise.all(
    names.map((n): Promise<Series[]> => {
      const q = plan[n];
      const range = q === undefined ? null : rangeOf(q.range);
      return q === undefined || range === null
        ? Promise.resolve([])
        : runner.run({ name: n, promql: q.promql, shape: q.shape }, range);
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
    queries: promqlOf(plan),
  };
}

function queryErrorResult(c: CheckRequest, nChecks: number, ctx: CheckContext, err: JudgeError): CheckResult {
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
    queries: promqlOf(kindOf(c).plan(c, ctx)),
  };
}

function promqlOf(plan: QueryPlan<string>): string[] {
  return Object.values(plan).flatMap((q) => (q === undefined ? [] : [q.promql]));
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
