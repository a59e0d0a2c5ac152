/**
 * One analysis: resolve the window, run every check's range queries through a bounded pool
 * under one deadline, turn the series into per-interval counts, ask the engine per check, and
 * combine the checks into a verdict with a one-line summary. Stateless: nothing survives a call.
 */

import { JudgeError, isJudgeError } from '../errors.js';
import type { Config } from '../config/config.js';
import type { PrometheusClient, RangeSpec, Series } from '../prometheus/client.js';
import { renderQuery, renderSelector, type SideSelector } from '../prometheus/promql.js';
import { DEFAULT_COUNT_TEST_PARAMS, alphaForCheck, decideCounts, type CountTestResult } from '../stats/index.js';
import { FIRST_SAMPLE, type AnalysisRequest, type CheckRequest } from '../server/http/schema.js';
import { checkSummary, errorRateIntervals, latencyOutcome, latencyWhat } from './checks.js';
import { createLimiter, unionLength } from './pool.js';
import { combineChecks } from './scorecard.js';
import type { AnalysisResult, AnalysisWindow, CheckParams, CheckResult } from './types.js';

/** Window queries give one point per interval; the baseline query one point before the window. */
type QueryKind = 'window' | 'baseline';

/** How much stable history before the window a stable-quantile latency threshold uses. */
const BASELINE_RANGE = '1h';

/** Prometheus answers at most 11,000 points per series. */
const MAX_POINTS = 11_000;

export interface JudgeOptions {
  readonly prometheus: PrometheusClient;
  readonly config: Pick<Config, 'deadlineMs' | 'queryConcurrency' | 'lookbackSeconds' | 'mesh' | 'durationUnit'>;
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

/**
 * A check's test parameters: the requested α is the analysis-wide level, split across the
 * checks (Bonferroni, alphaForCheck) so that the whole card fails a good release with
 * probability ≤ α however many checks it has and however often it looks.
 */
function checkParams(c: CheckRequest, nChecks: number): CheckParams {
  const d = DEFAULT_COUNT_TEST_PARAMS;
  const requestedAlpha = c.alpha ?? d.alpha;
  return {
    alpha: alphaForCheck(requestedAlpha, nChecks),
    margin: c.margin ?? d.margin,
    criticalEffect: c.criticalEffect ?? Math.max(d.criticalEffect, 1 + (c.margin ?? d.margin) + 0.5),
    power: c.power ?? d.power,
    criticalIncrease: c.criticalIncrease ?? 0,
    weight: c.weight ?? 1,
    critical: c.critical ?? false,
  };
}

export function createJudge(opts: JudgeOptions): Judge {
  const now = opts.now ?? Date.now;
  const { mesh } = opts.config;

  return {
    async analyze(req, aopts = {}) {
      const t0 = performance.now();
      const spans: [number, number][] = [];
      let queryCount = 0;
      const deadline = new AbortController();
      const timer = setTimeout(
        () => deadline.abort(new JudgeError('deadline_exceeded', `the analysis took longer than its ${opts.config.deadlineMs} ms deadline`)),
        opts.config.deadlineMs,
      );
      // The first outage or timeout stops the other queries: the analysis answers 5xx anyway.
      const giveUp = new AbortController();
      const signal = AbortSignal.any([deadline.signal, giveUp.signal, ...(aopts.signal === undefined ? [] : [aopts.signal])]);
      const limit = createLimiter(opts.config.queryConcurrency);
      const cache = new Map<string, Promise<Series[]>>();
      const query = (q: string, range: RangeSpec): Promise<Series[]> => {
        const key = `${q}\u0000${range.start}\u0000${range.end}\u0000${range.step}`;
        let p = cache.get(key);
        if (p === undefined) {
          p = limit(async () => {
            if (signal.aborted) throw deadlineError(signal);
            queryCount++;
            try {
              return await opts.prometheus.queryRange(q, range, { signal, onSpan: (s, e) => spans.push([s, e]) });
            } catch (e) {
              if (isJudgeError(e) && (e.code === 'prometheus_unavailable' || e.code === 'prometheus_timeout')) giveUp.abort(e);
              throw e;
            }
          });
          cache.set(key, p);
        }
        return p;
      };

      try {
        const I = req.interval.seconds;
        const side = (value: string): SideSelector => ({
          mode: req.selector.mode,
          rollout: req.rollout.name,
          namespace: req.rollout.namespace,
          value,
        });
        const canarySel = renderSelector(side(req.selector.canary), mesh);
        const stableSel = renderSelector(side(req.selector.stable), mesh);

        // Window on a grid of multiples of the interval (epoch-aligned), so that each call's
        // intervals extend the previous call's: the sequential test sees one growing sequence.
        // An end in the future is clamped to now: there is nothing to judge there yet.
        const endSec = Math.floor(Math.min(req.end?.getTime() ?? Number.POSITIVE_INFINITY, now()) / 1000);
        const gridEnd = Math.floor(endSec / I) * I;
        let gridStart: number | null;
        const presenceQuery = renderQuery('presence', { selector: canarySel, interval: req.interval.text }, mesh);
        if (req.start === FIRST_SAMPLE) {
          gridStart = await findFirstSample(presenceQuery, gridEnd, I, opts.config.lookbackSeconds, query);
        } else {
          gridStart = Math.ceil(req.start.getTime() / 1000 / I) * I;
        }
        if (gridStart !== null && (gridEnd - gridStart) / I > MAX_POINTS) gridStart = gridEnd - MAX_POINTS * I;
        const intervals = gridStart === null ? 0 : Math.max(0, (gridEnd - gridStart) / I);
        const window: AnalysisWindow = {
          start: gridStart === null ? null : new Date(gridStart * 1000).toISOString(),
          end: new Date(gridEnd * 1000).toISOString(),
          interval: req.interval.text,
          intervals,
          startSource: req.start === FIRST_SAMPLE ? 'canary-first-sample' : 'explicit',
        };
        const range: RangeSpec | null = gridStart === null || intervals < 1 ? null : { start: gridStart + I, end: gridEnd, step: I };
        // Nothing to query (no canary sample in the look-back, or less than one interval):
        // the checks still go through the engine, which answers Inconclusive with a reason.
        const run = (q: string, kind: QueryKind): Promise<Series[]> => {
          if (range === null || gridStart === null) return Promise.resolve([]);
          // The baseline query is one point at the window start, over the hour before it.
          if (kind === 'baseline') return query(q, { start: gridStart, end: gridStart, step: I });
          return query(q, range);
        };

        const results = await Promise.allSettled(req.checks.map((c) => runCheck(c, req.checks.length, canarySel, stableSel, req.interval.text, run, opts)));
        const checks: CheckResult[] = [];
        let fatal: JudgeError | undefined;
        results.forEach((r, i) => {
          const c = req.checks[i] as CheckRequest;
          if (r.status === 'fulfilled') {
            checks.push(r.value);
            return;
          }
          const err = asJudgeError(r.reason, signal);
          // A check whose queries Prometheus rejected (bad override, query error) becomes an
          // entry of its own; an outage or a deadline fails the whole analysis (Argo retries).
          if (err.code !== 'prometheus_bad_response') {
            fatal ??= err;
            return;
          }
          const name = c.name ?? c.type;
          checks.push({
            name,
            type: c.type,
            verdict: 'Inconclusive',
            reason: 'query_error',
            summary: checkSummary(name, 'query_error', null, { note: err.message }),
            params: checkParams(c, req.checks.length),
            canary: null,
            stable: null,
            effect: null,
            evidence: null,
            power: null,
            intervals: 0,
            error: { code: err.code, message: err.message },
            queries: queriesOf(c, canarySel, stableSel, req.interval.text, opts),
          });
        });
        if (fatal !== undefined) throw fatal;
        if (signal.aborted) throw deadlineError(signal);
        const firstError = checks.find((c) => c.reason === 'query_error');
        if (firstError !== undefined && checks.every((c) => c.reason === 'query_error')) {
          throw new JudgeError('prometheus_bad_response', firstError.error?.message ?? 'every query failed');
        }

        const headline =
          gridStart === null
            ? `no canary sample in the last ${Math.round(opts.config.lookbackSeconds / 3600)}h`
            : intervals < 1
              ? `window shorter than one ${req.interval.text} interval`
              : undefined;
        const combined = combineChecks(checks, req.failBelow, headline);
        return {
          verdict: combined.verdict,
          score: combined.score,
          summary: combined.summary,
          judge: opts.name,
          rollout: { name: req.rollout.name, namespace: req.rollout.namespace },
          selector: { mode: req.selector.mode, canary: req.selector.canary, stable: req.selector.stable },
          window,
          scorecard: {
            reason: combined.reason,
            maxScore: combined.maxScore,
            failBelow: combined.failBelow,
            familyWiseAlpha: combined.familyWiseAlpha,
          },
          checks,
          measurement: { verdict: combined.verdict, score: combined.score, summary: combined.summary },
          timing: {
            totalMs: round3(performance.now() - t0),
            prometheusMs: round3(unionLength(spans)),
            queries: queryCount,
          },
        };
      } catch (e) {
        throw asJudgeError(e, signal);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

function deadlineError(signal: AbortSignal): JudgeError {
  const r: unknown = signal.reason;
  return isJudgeError(r) ? r : new JudgeError('deadline_exceeded', 'the analysis was aborted');
}

function asJudgeError(e: unknown, signal: AbortSignal): JudgeError {
  if (isJudgeError(e)) {
    // A query aborted by our deadline reports deadline_exceeded with the deadline's own message.
    if (e.code === 'deadline_exceeded' && signal.aborted) return deadlineError(signal);
    return e;
  }
  if (signal.aborted) return deadlineError(signal);
  return new JudgeError('internal', `internal error: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
}

/**
 * The canary's first sample: the first point of its request counter within the look-back,
 * found with one range query. Returns the grid point just before it, or null if none.
 */
async function findFirstSample(
  presence: string,
  gridEnd: number,
  interval: number,
  lookback: number,
  query: (q: string, r: RangeSpec) => Promise<Series[]>,
): Promise<number | null> {
  const step = interval * Math.max(1, Math.ceil(lookback / interval / MAX_POINTS));
  // Points on multiples of the step (epoch-aligned), so every call sees the same grid and finds
  // the same first sample: the sequence of intervals only ever grows at its end.
  const start = Math.ceil((gridEnd - lookback) / step) * step;
  const end = Math.floor(gridEnd / step) * step;
  const series = await query(presence, { start, end, step });
  let first = Number.POSITIVE_INFINITY;
  for (const s of series) for (const p of s.samples) if (p.t < first) first = p.t;
  if (!Number.isFinite(first)) return null;
  // The point at `first` sees a sample from (first - step, first]; start one step earlier.
  return Math.floor((first - step) / interval) * interval;
}

function queriesOf(
  c: CheckRequest,
  canarySel: string,
  stableSel: string,
  interval: string,
  opts: JudgeOptions,
): string[] {
  const m = opts.config.mesh;
  if (c.type === 'error-rate') {
    const errorCodes = c.errorCodes ?? '5xx';
    const errors = (selector: string): string =>
      c.responseFlags === undefined
        ? renderQuery('errors', { selector, interval, errorCodes }, m)
        : renderQuery('errorsWithFlags', { selector, interval, errorCodes, responseFlags: c.responseFlags }, m);
    return [
      renderQuery('requests', { selector: canarySel, interval }, m),
      errors(canarySel),
      renderQuery('requests', { selector: stableSel, interval }, m),
      errors(stableSel),
    ];
  }
  const q = [
    renderQuery('latencyBuckets', { selector: canarySel, interval }, m),
    renderQuery('latencyBuckets', { selector: stableSel, interval }, m),
  ];
  // The stable's histogram over the hour before the window: one point, at the window start.
  if (c.quantile !== undefined) q.push(renderQuery('latencyBuckets', { selector: stableSel, interval: BASELINE_RANGE }, m));
  return q;
}

async function runCheck(
  c: CheckRequest,
  nChecks: number,
  canarySel: string,
  stableSel: string,
  interval: string,
  run: (q: string, kind: QueryKind) => Promise<Series[]>,
  opts: JudgeOptions,
): Promise<CheckResult> {
  const name = c.name ?? c.type;
  const params = checkParams(c, nChecks);
  const queries = queriesOf(c, canarySel, stableSel, interval, opts);
  // Only a stable-quantile latency check has a third query: the baseline.
  const data = await Promise.all(queries.map((q, i) => run(q, c.type === 'latency' && i === 2 ? 'baseline' : 'window')));
  const base = (r: CountTestResult) => ({
    name,
    type: c.type,
    verdict: r.verdict,
    reason: r.reason,
    params,
    canary: r.canary,
    stable: r.stable,
    effect: r.effect,
    evidence: r.evidence,
    power: r.power,
    intervals: r.intervals,
  });
  if (c.type === 'error-rate') {
    const [cr, ce, sr, se] = data as [Series[], Series[], Series[], Series[]];
    const r = decideCounts(errorRateIntervals(cr, ce, sr, se), params);
    const errorCodes = c.errorCodes ?? '5xx';
    return {
      ...base(r),
      summary: checkSummary(name, r.reason, r),
      errorCodes,
      ...(c.responseFlags === undefined ? {} : { responseFlags: c.responseFlags }),
      queries,
    };
  }
  const [cb, sb, baseline] = data as [Series[], Series[], Series[] | undefined];
  const spec = c.thresholdMs !== undefined ? { thresholdMs: c.thresholdMs } : { quantile: c.quantile as number };
  const o = latencyOutcome(cb, sb, spec, params, opts.config.durationUnit, baseline);
  return {
    ...base(o.result),
    summary: checkSummary(name, o.result.reason, o.result, {
      what: latencyWhat(o.threshold),
      ...(o.note === undefined ? {} : { note: o.note }),
    }),
    threshold: o.threshold,
    quantiles: o.quantiles,
    queries,
  };
}
