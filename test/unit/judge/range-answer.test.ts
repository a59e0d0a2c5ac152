/**
 * The data-integrity rule of a range answer (src/judge/range-answer.ts): points on the requested
 * grid, one per step, and no two series with the same labels; anything else is refused.
 */
import { describe, expect, it } from 'vitest';
import { validateRangeAnswer } from '../../../src/judge/range-answer.js';
import type { Series } from '../../../src/judge/metrics-source.js';

const series = (labels: Record<string, string>, points: [number, number][]): Series => ({
  labels,
  samples: points.map(([t, v]) => ({ t, v })),
});

describe('range answers are checked against the requested grid', () => {
  const grid = { start: 120, end: 300, step: 60 };
  it('accepts points on the grid, gaps included', () => {
    expect(() =>
      validateRangeAnswer(
        [
          series({}, [
            [120, 1],
            [240, 2],
            [300, 3],
          ]),
        ],
        grid,
      ),
    ).not.toThrow();
    expect(() =>
      validateRangeAnswer([series({ le: '1' }, [[120, 1]]), series({ le: '+Inf' }, [[120, 1]])], grid),
    ).not.toThrow();
  });
  it.each<[string, Series[], RegExp]>([
    [
      'a duplicate timestamp',
      [
        series({}, [
          [120, 1],
          [180, 1],
          [180, 1],
        ]),
      ],
      /two points at t=180/,
    ],
    [
      'a point off the grid',
      [
        series({}, [
          [120, 1],
          [150, 1],
        ]),
      ],
      /t=150, off the requested grid/,
    ],
    ['a point before the start', [series({}, [[60, 1]])], /t=60, off the requested grid/],
    ['a point after the end', [series({}, [[360, 1]])], /t=360, off the requested grid/],
    [
      'points out of order',
      [
        series({}, [
          [240, 1],
          [180, 1],
        ]),
      ],
      /out of time order/,
    ],
    [
      'two series with the same labels',
      [series({ le: '1' }, [[120, 1]]), series({ le: '1' }, [[180, 1]])],
      /two series with the same labels \{le="1"\}/,
    ],
  ])('refuses %s', (_what, answer, message) => {
    expect(() => validateRangeAnswer(answer, grid)).toThrow(message);
  });
});
