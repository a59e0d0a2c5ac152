/**
 * A clean service (no bad request on either side) through the judge's own code: the HTTP body as
 * Argo sends it, the engine defaults the judge applies (countParams), and the check kinds'
 * evaluation over fixed series. Without an absolute tolerance no amount of traffic lets such a
 * check pass, so its summary must say what to set rather than promise time; with one, it must
 * pass within the time its summary promises.
 */
import { describe, expect, it } from 'vitest';
import {
  CHECK_KINDS,
  countParams,
  countResultOf,
  type CountCheckRequest,
  type EvaluationContext,
} from '../../../../src/judge/checks/index.js';
import type { CheckRequest } from '../../../../src/judge/request.js';
import type { Series } from '../../../../src/judge/metrics-source.js';
import { ISTIO_NAMES } from '../../../../src/prometheus/promql.js';
import { parseRequestBody } from '../../../../src/server/http/request-body.js';

/** The context of `looks` intervals on a grid from 0 (the baseline point). */
const ctx = (looks: number, intervalSeconds = 60): EvaluationContext => {
  const grid = { start: 0, end: looks * intervalSeconds, step: intervalSeconds };
  return {
    sides: {
      canary: { mode: 'pod-hash', rollout: 'catalogo', namespace: 'shop', value: 'abc12' },
      stable: { mode: 'pod-hash', rollout: 'catalogo', namespace: 'shop', value: 'def34' },
    },
    interval: `${intervalSeconds}s`,
    intervalSeconds,
    mesh: ISTIO_NAMES,
    durationUnit: 'milliseconds',
    timeline: false,
    grids: { window: grid, withHour: grid },
  };
};

/** One check as the HTTP API receives it from an Argo template (numbers as strings). */
function check(fields: Record<string, string>): CheckRequest {
  const r = parseRequestBody({
    rollout: { name: 'catalogo', namespace: 'shop' },
    selector: { mode: 'pod-hash', canary: 'abc12', stable: 'def34' },
    checks: [fields],
  });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.value.checks[0] as CheckRequest;
}

/** A raw counter growing by `v` per interval, at the grid points 0, step, …, looks × step. */
const counter = (v: number, looks: number, step: number, labels: Record<string, string> = {}): Series[] => [
  { labels, samples: Array.from({ length: looks + 1 }, (_, i) => ({ t: i * step, v: i * v })) },
];

/** The error-rate check after `looks` intervals of a 10 % canary at `rps`, errors as given. */
function judgeErrors(
  c: CheckRequest,
  rps: number,
  looks: number,
  errors: { canary?: number; stable?: number } = {},
  intervalSeconds = 60,
) {
  const perInterval = rps * intervalSeconds;
  /** A side's counters per response code: 200s, and 503s when it has errors. */
  const side = (total: number, bad: number | undefined): Series[] => [
    ...counter(total - (bad ?? 0), looks, intervalSeconds, { pod: 'p', response_code: '200' }),
    ...(bad === undefined ? [] : counter(bad, looks, intervalSeconds, { pod: 'p', response_code: '503' })),
  ];
  return CHECK_KINDS['error-rate'].evaluate(
    c as never,
    {
      canaryRequests: side(0.1 * perInterval, errors.canary),
      stableRequests: side(0.9 * perInterval, errors.stable),
    },
    countParams(c as CountCheckRequest, 1),
    ctx(looks, intervalSeconds),
  );
}

const ASKS_FOR_INCREASE =
  /→ not enough data yet \(no errors on either side, so no ratio can rule out 2×: set criticalIncrease, e\.g\. 0\.001 = \+0\.1 pp, to let a clean canary pass\)$/;

describe('a clean service', () => {
  it.each([20, 100, 1000])(
    'without criticalIncrease is told what to set, with no time promised (%d req/s)',
    (rps) => {
      const c = check({ type: 'error-rate' });
      expect(countParams(c as CountCheckRequest, 1).criticalIncrease).toBe(0);
      for (const looks of [1, 30, 600]) {
        const o = judgeErrors(c, rps, looks);
        expect(countResultOf(o).verdict).toBe('Inconclusive');
        expect(countResultOf(o).needs).toBe('criticalIncrease');
        expect(countResultOf(o).settleIntervals).toBeNull();
        expect(o.summary).toMatch(ASKS_FOR_INCREASE);
        expect(o.summary).not.toMatch(/at this traffic|minute/);
      }
    },
  );

  it('with only the canary erring is told the stable side gives no baseline, and can still Fail', () => {
    const c = check({ type: 'error-rate' });
    const early = judgeErrors(c, 100, 5, { canary: 0.2 });
    expect(countResultOf(early).verdict).toBe('Inconclusive');
    expect(early.summary).toMatch(
      /\(no errors on the stable side, so no ratio can rule out 2×: set criticalIncrease, e\.g\. 0\.001 = \+0\.1 pp, to let the canary pass on its own rate\)$/,
    );
    // The request for a tolerance is about passing only: errors on the canary alone still fail.
    const worse = judgeErrors(c, 100, 10, { canary: 3 });
    expect(countResultOf(worse).verdict).toBe('Fail');
    expect(worse.summary).not.toContain('criticalIncrease');
  });

  it('names slow requests for a latency check whose threshold no request exceeds', () => {
    const c = check({ type: 'latency', thresholdMs: '250' });
    const buckets = (total: number): Series[] => [
      ...counter(total, 10, 60, { pod: 'p', le: '100' }),
      ...counter(total, 10, 60, { pod: 'p', le: '250' }),
      ...counter(total, 10, 60, { pod: 'p', le: '+Inf' }),
    ];
    const o = CHECK_KINDS.latency.evaluate(
      c as never,
      { canaryBuckets: buckets(600), stableBuckets: buckets(5400) },
      countParams(c as CountCheckRequest, 1),
      ctx(10),
    );
    expect(countResultOf(o).needs).toBe('criticalIncrease');
    expect(o.summary).toMatch(
      /^latency over 250ms: .*→ not enough data yet \(no slow requests on either side, so no ratio can rule out 2×: set criticalIncrease/,
    );
  });

  it.each([20, 100, 1000])(
    'with criticalIncrease 0.001 passes within the minutes its summary promises (%d req/s)',
    (rps) => {
      const c = check({ type: 'error-rate', criticalIncrease: '0.001' });
      const first = judgeErrors(c, rps, 1);
      if (countResultOf(first).verdict === 'Pass') {
        // 1000 req/s: 6,000 clean canary requests in the first minute already rule out +0.1 pp.
        expect(first.summary).toMatch(/canary rate ≤ .* within tolerance 0\.1% → no regression$/);
        return;
      }
      expect(countResultOf(first).needs).toBeUndefined();
      const m = /→ not enough data yet \(about (\d+) more minutes? at this traffic\)$/.exec(first.summary);
      expect(m, first.summary).not.toBeNull();
      const promised = Number((m as RegExpExecArray)[1]);
      const atPromise = judgeErrors(c, rps, 1 + promised);
      expect(countResultOf(atPromise).verdict).toBe('Pass');
      expect(countResultOf(atPromise).floor?.met).toBe(true);
      // Not a promise padded far beyond need: two minutes earlier it had not yet passed.
      expect(judgeErrors(c, rps, promised - 1).verdict).toBe('Inconclusive');
    },
  );

  it('says the look-ahead in the interval’s own time when even a tolerance cannot settle it soon', () => {
    // 5 s intervals: the engine looks 1440 intervals ahead, two hours, not a day.
    const c = check({ type: 'error-rate', criticalIncrease: '0.0001' });
    const o = judgeErrors(c, 0.5, 3, {}, 5);
    expect(countResultOf(o).settleIntervals).toBeNull();
    expect(o.summary).toMatch(/→ not enough data yet \(more than 2 hours at this traffic\)$/);
    const minute = judgeErrors(c, 0.05, 3, {}, 60);
    expect(minute.summary).toMatch(/\(more than a day at this traffic\)$/);
  });
});
