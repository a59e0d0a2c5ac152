/**
 * The data-integrity rule of a range answer (src/judge/range-answer.ts): points on the requested
 * grid, one per step, and no two series with the same labels; anything else is refused.
 */
import { describe, expect, it } from 'vitest';
import { labelsKey, validateRangeAnswer } from '../../../src/judge/range-answer.js';
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

describe('labelsKey', () => {
  it('is the same for the same label set in any order, and differs for sets that differ', () => {
    expect(labelsKey({ a: '1', b: '2' })).toBe(labelsKey({ b: '2', a: '1' }));
    // Sets whose names and values would run together if simply joined.
    const sets: Record<string, string>[] = [
      {},
      { a: '' },
      { a: 'b' },
      { ab: '' },
      { a: '1:b' },
      { a: '1', b: '' },
      { a: '11:b' },
      { 'a1:b': '' },
      { a: ',"b":"c' },
      { a: '', b: 'c' },
    ];
    const keys = sets.map((s) => labelsKey(s));
    expect(new Set(keys).size).toBe(sets.length);
  });

  it('reads only the names asked for (a missing one as empty), or all but the excepted ones', () => {
    expect(labelsKey({ pod: 'p', le: '1', x: 'y' }, { names: ['pod', 'le'] })).toBe(
      labelsKey({ le: '1', pod: 'p', x: 'z' }, { names: ['pod', 'le'] }),
    );
    expect(labelsKey({ pod: 'p' }, { names: ['pod', 'le'] })).toBe(
      labelsKey({ pod: 'p', le: '' }, { names: ['pod', 'le'] }),
    );
    expect(labelsKey({ pod: 'p', le: '1', x: 'y' }, { except: ['pod', 'le'] })).toBe(labelsKey({ x: 'y' }));
    expect(labelsKey({ pod: 'p', x: 'y' }, { except: ['pod'] })).not.toBe(
      labelsKey({ pod: 'p', x: 'z' }, { except: ['pod'] }),
    );
  });
});
