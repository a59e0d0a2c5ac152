/**
 * The checks' raw counter answers (per pod and code, per pod and le) → the per-interval series
 * the engine counts with: classification of codes and flags, series born, reset or gone inside
 * the window, and the stable's hour before the window read from the same query.
 */
import { describe, expect, it } from 'vitest';
import { codePattern, errorClassifier, sideCounts } from '../../../../src/judge/checks/error-rate.js';
import { bucketCounts } from '../../../../src/judge/checks/latency.js';
import type { Series } from '../../../../src/judge/metrics-source.js';
import { ISTIO_NAMES } from '../../../../src/prometheus/promql.js';

const grid = { start: 600, step: 60, end: 840 };
const at = (values: readonly (number | null)[], labels: Record<string, string>, start = 600): Series => ({
  labels,
  samples: values.flatMap((v, i) => (v === null ? [] : [{ t: start + 60 * i, v }])),
});
const points = (s: Series): [number, number][] => s.samples.map((p) => [p.t, p.v]);

describe('error classification', () => {
  it('turns status classes into a response-code regex', () => {
    expect(codePattern('5xx')).toBe('5..');
    expect(codePattern('5xx,429')).toBe('5..|429');
    expect(codePattern('503,504')).toBe('503|504');
  });

  const l = ISTIO_NAMES.labels;
  it('matches codes as an anchored PromQL regex would, and flags by equality', () => {
    const isError = errorClassifier({ errorCodes: '5xx,429' }, l);
    expect(['500', '503', '429'].map((c) => isError({ response_code: c }))).toEqual([true, true, true]);
    expect(['200', '4290', '1500', '', '42'].map((c) => isError({ response_code: c }))).toEqual([
      false,
      false,
      false,
      false,
      false,
    ]);
    const withFlags = errorClassifier({ errorCodes: '5xx', responseFlags: 'UO,URX' }, l);
    expect(withFlags({ response_code: '200', response_flags: 'UO' })).toBe(true);
    expect(withFlags({ response_code: '0', response_flags: 'URX' })).toBe(true);
    expect(withFlags({ response_code: '200', response_flags: '-' })).toBe(false);
    expect(withFlags({ response_code: '200', response_flags: 'UOX' })).toBe(false);
    expect(withFlags({ response_code: '503', response_flags: '-' })).toBe(true);
  });
});

describe('one side of an error-rate check from its raw counters', () => {
  const isError = errorClassifier({ errorCodes: '5xx' }, ISTIO_NAMES.labels);

  it('counts a pod and a code born inside the window from zero, and a reset of the pod from zero', () => {
    const counters = [
      at([1000, 1100, 1200, 50, 150], { pod: 'a', response_code: '200' }), // reset at 780
      // First error at 720; at 780 the pod restarted (its 200s dropped) and answered 4 errors
      // since: the 503 series grew past its old 3, but it restarted with its pod.
      at([null, null, 3, 4, 4], { pod: 'a', response_code: '503' }),
      at([null, 40, 90, 140, 190], { pod: 'b', response_code: '200' }), // new pod at 660
    ];
    const { requests, errors } = sideCounts(counters, grid, isError);
    expect(points(requests)).toEqual([
      [660, 140],
      [720, 153],
      [780, 104],
      [840, 150],
    ]);
    expect(points(errors)).toEqual([
      [660, 0],
      [720, 3],
      [780, 4],
      [840, 0],
    ]);
  });

  it('keeps only the intervals at whose end the side has counters, and nothing for a pod gone', () => {
    const { requests } = sideCounts(
      [at([10, 20, null, null, 5], { pod: 'a', response_code: '200' })],
      grid,
      isError,
    );
    expect(points(requests)).toEqual([
      [660, 10],
      [840, 5], // back below its last value: it restarted while away
    ]);
    expect(sideCounts([], grid, isError)).toEqual({
      requests: { labels: {}, samples: [] },
      errors: { labels: {}, samples: [] },
    });
  });
});

describe('a latency side from its raw bucket counters', () => {
  it('sums pods per le per interval, and the intervals before the window into one point', () => {
    const hourGrid = { start: 480, step: 60, end: 720 };
    const counters = [
      at([0, 10, 20, 30, 40], { pod: 'a', le: '100' }, 480),
      at([0, 12, 24, 36, 48], { pod: 'a', le: '+Inf' }, 480),
      at([null, null, null, 5, 9], { pod: 'b', le: '100' }, 480),
      at([null, null, null, 6, 11], { pod: 'b', le: '+Inf' }, 480),
    ];
    const { window, before } = bucketCounts(counters, hourGrid, 600);
    expect(window.map((s) => [s.labels['le'], points(s)])).toEqual([
      [
        '100',
        [
          [660, 15],
          [720, 14],
        ],
      ],
      [
        '+Inf',
        [
          [660, 18],
          [720, 17],
        ],
      ],
    ]);
    expect(before.map((s) => [s.labels['le'], points(s)])).toEqual([
      ['100', [[600, 20]]],
      ['+Inf', [[600, 24]]],
    ]);
  });

  it('counts a bound spelled two ways (Prometheus 2 → 3: "250" then "250.0") as one counter', () => {
    // The upgrade at 720: the old spelling is seen until the look-back ends (780), the new one
    // from 720 on, with the counter's whole value; pod b's only spelling is the new one.
    const renamed = [
      at([100, 110, 120, 120, null], { pod: 'a', le: '250' }),
      at([null, null, 120, 131, 140], { pod: 'a', le: '250.0' }),
      at([200, 220, 240, 262, 280], { pod: 'a', le: '+Inf' }),
      at([null, 5, 9, 14, 20], { pod: 'b', le: '1.8e+06' }),
    ];
    const plain = [
      at([100, 110, 120, 131, 140], { pod: 'a', le: '250' }),
      at([200, 220, 240, 262, 280], { pod: 'a', le: '+Inf' }),
      at([null, 5, 9, 14, 20], { pod: 'b', le: '1800000' }),
    ];
    const counted = (c: Series[]) =>
      bucketCounts(c, grid, 600).window.map((s) => [Number(s.labels['le']), points(s)] as const);
    expect(counted(renamed)).toEqual(counted(plain));
    expect(counted(renamed)[0]).toEqual([
      250,
      [
        [660, 10],
        [720, 10],
        [780, 11],
        [840, 9],
      ],
    ]);
  });

  it('has no before-window point when the grid starts at the window, and NaN stays NaN', () => {
    const c = [at([0, Number.NaN, 2, 3, 4], { pod: 'a', le: '+Inf' })];
    const { window, before } = bucketCounts(c, grid, 600);
    expect(before).toEqual([]);
    expect(points(window[0] as Series)).toEqual([
      [660, Number.NaN],
      [720, 2],
      [780, 1],
      [840, 1],
    ]);
  });
});
