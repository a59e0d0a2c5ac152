/**
 * The plain reader of range answers (parseMatrixText) against the general decoding it stands in
 * for (JSON.parse, the warnings check, parseMatrix): on every text it reads it must give the
 * same series — values, timestamps, label names and their order — and every text it does not
 * read must be left to the general way (undefined), malformed ones included.
 */

import { describe, expect, it } from 'vitest';
import type { Series } from '../../../src/judge/metrics-source.js';
import { parseMatrix, parseMatrixText, readWarnings } from '../../../src/prometheus/decode.js';

/** What the client made of a successful answer's text before the plain reader. */
function general(text: string): Series[] | Error {
  try {
    const json: unknown = JSON.parse(text);
    if (readWarnings(json).length > 0) return new Error('warnings');
    return parseMatrix(json);
  } catch (e) {
    return e as Error;
  }
}

/** Both readings of `text`, with each series' label names in order (toEqual ignores order). */
function both(text: string): { plain: unknown; general: unknown } {
  const withOrder = (r: Series[] | Error | undefined): unknown =>
    Array.isArray(r) ? r.map((s) => ({ ...s, names: Object.keys(s.labels) })) : r;
  return { plain: withOrder(parseMatrixText(text)), general: withOrder(general(text)) };
}

function answer(result: unknown, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ status: 'success', data: { resultType: 'matrix', result }, ...extra });
}

describe('parseMatrixText', () => {
  it('reads an answer as Prometheus writes it exactly as the general decoding does', () => {
    const text = answer([
      {
        metric: { le: '+Inf', pod: 'catalogo-6b7f9c8d5-57thr' },
        values: [
          [1796321880, '1228'],
          [1796321940.5, '0'],
          [1796322000.123, '-0'],
          [1796322060, '1.5e+3'],
          [1796322120, '2E-2'],
          [1796322180, 'NaN'],
          [1796322240, '+Inf'],
          [1796322300, '-Inf'],
          [1796322360, '1e300'],
          [1796322420, '.5'],
          [1796322480, '5.'],
        ],
      },
      { metric: {}, values: [] },
      { metric: { a: 'é ü 🚀 ∑', b: '', 'c/d': "it's", 0: 'integer-like', z: 'x' }, values: [[-60, '1']] },
    ]);
    const r = both(text);
    expect(r.plain).toBeDefined();
    expect(r.plain).toEqual(r.general);
    const read = parseMatrixText(text) as Series[];
    expect(read[0]?.samples.map((p) => p.v)).toEqual([
      1228,
      0,
      -0,
      1500,
      0.02,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      Number.NaN,
      0.5,
      5,
    ]);
    expect(read[0]?.samples[2]?.v).toBe(-0);
    expect(read[0]?.samples[1]?.t).toBe(1796321940.5);
    expect(Object.keys(read[2]?.labels ?? {})).toEqual(['0', 'a', 'b', 'c/d', 'z']);
  });

  it('reads an empty result, and label names written twice as JSON.parse does (the last wins)', () => {
    for (const text of [
      answer([]),
      '{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"b":"1","0":"x","b":"2"},"values":[[60,"1"]]}]}}',
    ]) {
      const r = both(text);
      expect(r.plain, text).toBeDefined();
      expect(r.plain, text).toEqual(r.general);
    }
  });

  it('agrees with the general decoding on generated answers', () => {
    let seed = 7;
    const next = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const pool = [
      '0',
      '1',
      '17',
      '007',
      '12345678',
      '999999999999999',
      '1234567890123456',
      '9007199254740993',
      '0.25',
      '3.5e-7',
      '1e308',
      'NaN',
      '+Inf',
      '-Inf',
      '-2',
    ];
    for (let k = 0; k < 200; k++) {
      const result = Array.from({ length: next(4) }, (_, i) => ({
        metric: Object.fromEntries(
          Array.from({ length: next(4) }, (_, j) => [`l${next(3)}_${j}`, `v${next(1000)}-${i}`]),
        ),
        values: Array.from({ length: next(40) }, (_, j) => [
          1700000000 + 60 * j + (next(5) === 0 ? 0.5 : 0),
          pool[next(pool.length)],
        ]),
      }));
      const text = answer(result);
      const r = both(text);
      expect(r.plain, text).toBeDefined();
      expect(r.plain, text).toEqual(r.general);
    }
  });

  it.each([
    ['whitespace', JSON.stringify(JSON.parse(answer([{ metric: {}, values: [[60, '1']] }])), null, 1)],
    ['a trailing newline', `${answer([{ metric: {}, values: [[60, '1']] }])}\n`],
    ['warnings', answer([{ metric: {}, values: [[60, '1']] }], { warnings: ['partial'] })],
    ['infos', answer([{ metric: {}, values: [[60, '1']] }], { infos: ['a note'] })],
    ['an escaped quote in a label value', answer([{ metric: { a: 'x"y' }, values: [[60, '1']] }])],
    ['an escaped character', answer([{ metric: { a: 'x\ny' }, values: [[60, '1']] }])],
    ['a \\u escape', answer([{ metric: { a: 'x' }, values: [[60, '1']] }]).replace('"x"', '"\\u0078"')],
    [
      'a timestamp with an exponent',
      answer([{ metric: {}, values: [[6e10, '1']] }]).replace('60000000000', '6e10'),
    ],
    [
      'a timestamp with a leading zero',
      answer([{ metric: {}, values: [[60, '1']] }]).replace('[60,', '[060,'),
    ],
    [
      'values before metric',
      '{"status":"success","data":{"resultType":"matrix","result":[{"values":[[60,"1"]],"metric":{}}]}}',
    ],
    ['a native histogram', answer([{ metric: {}, histograms: [[60, { count: '1' }]] }])],
    [
      'a __proto__ label',
      '{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__proto__":"x"},"values":[]}]}}',
    ],
    ['a vector', JSON.stringify({ status: 'success', data: { resultType: 'vector', result: [] } })],
  ])('leaves an answer with %s to the general decoding', (_what, text) => {
    expect(parseMatrixText(text)).toBeUndefined();
    // …which reads it as before (or refuses it as before).
    expect(general(text)).toBeDefined();
  });

  it.each([
    ['a value that is a number', answer([{ metric: {}, values: [[60, 1]] }])],
    ['an empty value', answer([{ metric: {}, values: [[60, '']] }])],
    ['a hexadecimal value', answer([{ metric: {}, values: [[60, '0x10']] }])],
    ['a value with a space', answer([{ metric: {}, values: [[60, ' 1']] }])],
    ['Infinity spelled out', answer([{ metric: {}, values: [[60, 'Infinity']] }])],
    ['a sample of three', answer([{ metric: {}, values: [[60, '1', '2']] }])],
    ['a null series', answer([null])],
    ['a label value that is a number', answer([{ metric: { le: 1 }, values: [] }])],
    ['a cut-off text', answer([{ metric: {}, values: [[60, '1']] }]).slice(0, -3)],
    ['garbage after the answer', `${answer([])}x`],
    ['status error', JSON.stringify({ status: 'error', errorType: 'bad_data', error: 'x' })],
  ])('leaves a malformed answer (%s) to the general decoding, which refuses it', (_what, text) => {
    expect(parseMatrixText(text)).toBeUndefined();
    expect(general(text)).toBeInstanceOf(Error);
  });
});
