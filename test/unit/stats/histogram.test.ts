import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { binomialCdf, binomialIsf, binomialPpf, binomialSf } from '../../../src/stats/distributions.js';
import {
  countAbove,
  histogramQuantile,
  histogramQuantileInterval,
  histogramTotal,
  latencyIntervalCounts,
  sumHistograms,
  thresholdEdge,
  thresholdFromStableQuantile,
} from '../../../src/stats/histogram.js';
import type { HistogramBucket } from '../../../src/stats/types.js';
import { rng } from '../../support/random.js';

interface PromCase {
  name: string;
  note: string;
  buckets: { le: string; count: number }[];
  expected: { q: number; value: string }[];
}

const fixture = JSON.parse(
  readFileSync(
    new URL('../../fixtures/stats/histogram/prometheus-histogram-quantile.json', import.meta.url),
    'utf8',
  ),
) as { source: string; cases: PromCase[] };

/** Prometheus parses le with strconv.ParseFloat; the fixture only uses decimals and "+Inf". */
const parseLe = (s: string): number => (s === '+Inf' ? Infinity : Number(s));

const b = (pairs: [number, number][]): HistogramBucket[] => pairs.map(([le, count]) => ({ le, count }));

describe('histogramQuantile matches a real Prometheus histogram_quantile', () => {
  it('the fixture covers edge cases and random histograms', () => {
    expect(fixture.source).toMatch(/^Prometheus 2\./);
    expect(fixture.cases.length).toBeGreaterThanOrEqual(50);
  });
  for (const c of fixture.cases) {
    it(`${c.name}: ${c.note}`, () => {
      const buckets = c.buckets.map((x) => ({ le: parseLe(x.le), count: x.count }));
      for (const { q, value } of c.expected) {
        const got = histogramQuantile(q, buckets);
        if (value === 'NaN') {
          expect(got, `q=${q}`).toBeNull();
        } else {
          const want = Number(value);
          expect(got, `q=${q}`).not.toBeNull();
          // Same float operations as Prometheus: agree to the last bits.
          expect(Math.abs((got as number) - want), `q=${q} got ${got} want ${want}`).toBeLessThanOrEqual(
            1e-12 * Math.max(1, Math.abs(want)),
          );
        }
      }
    });
  }
});

describe('histogramQuantile input handling', () => {
  it('refuses q outside [0, 1] and NaN q instead of answering ±Inf', () => {
    const h = b([
      [1, 1],
      [Infinity, 2],
    ]);
    expect(() => histogramQuantile(-0.1, h)).toThrow(RangeError);
    expect(() => histogramQuantile(1.1, h)).toThrow(RangeError);
    expect(() => histogramQuantile(Number.NaN, h)).toThrow(RangeError);
  });
  it('refuses NaN, negative and infinite counts and NaN bounds', () => {
    expect(() =>
      histogramQuantile(
        0.5,
        b([
          [1, Number.NaN],
          [Infinity, 2],
        ]),
      ),
    ).toThrow(/count/);
    expect(() =>
      histogramQuantile(
        0.5,
        b([
          [1, -1],
          [Infinity, 2],
        ]),
      ),
    ).toThrow(/count/);
    expect(() =>
      histogramQuantile(
        0.5,
        b([
          [1, Infinity],
          [Infinity, 2],
        ]),
      ),
    ).toThrow(/count/);
    expect(() =>
      histogramQuantile(
        0.5,
        b([
          [Number.NaN, 1],
          [Infinity, 2],
        ]),
      ),
    ).toThrow(/le/);
  });
  it('answers null for no buckets at all', () => {
    expect(histogramQuantile(0.5, [])).toBeNull();
  });
  it('does not depend on the order buckets arrive in', () => {
    fc.assert(
      fc.property(
        fc.array(fc.nat(1000), { minLength: 2, maxLength: 12 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.integer(),
        (incs, q, seed) => {
          let cum = 0;
          const h = incs.map((inc, i) => ({
            le: i === incs.length - 1 ? Infinity : (i + 1) * 10,
            count: (cum += inc),
          }));
          const shuffled = [...h].sort((x, y) => ((x.le * 7919 + seed) % 13) - ((y.le * 7919 + seed) % 13));
          expect(histogramQuantile(q, shuffled)).toBe(histogramQuantile(q, h));
        },
      ),
    );
  });
  it('is non-decreasing in q', () => {
    fc.assert(
      fc.property(
        fc.array(fc.nat(1000), { minLength: 2, maxLength: 12 }),
        fc.double({ min: 0.0001, max: 1, noNaN: true }),
        fc.double({ min: 0.0001, max: 1, noNaN: true }),
        (incs, q1, q2) => {
          let cum = 0;
          const h = incs.map((inc, i) => ({
            le: i === incs.length - 1 ? Infinity : (i + 1) * 10,
            count: (cum += inc),
          }));
          const [lo, hi] = q1 <= q2 ? [q1, q2] : [q2, q1];
          const a = histogramQuantile(lo, h);
          const c = histogramQuantile(hi, h);
          if (a !== null && c !== null) expect(a).toBeLessThanOrEqual(c + 1e-9);
        },
      ),
    );
  });
});

describe('countAbove / thresholdEdge', () => {
  const h = b([
    [100, 50],
    [250, 80],
    [500, 95],
    [1000, 99],
    [Infinity, 100],
  ]);
  it('counts exactly above a threshold that is a bucket edge', () => {
    expect(countAbove(250, h)).toEqual({ edge: 250, above: 20, total: 100 });
  });
  it('moves a threshold between edges up to the next edge (never calls a fast-enough request bad)', () => {
    expect(thresholdEdge(300, h)).toBe(500);
    expect(countAbove(300, h)).toEqual({ edge: 500, above: 5, total: 100 });
  });
  it('has no edge above the highest finite bound', () => {
    expect(countAbove(2000, h)).toEqual({ edge: null, above: null, total: 100 });
  });
  it('treats an empty histogram as no requests and refuses one without +Inf', () => {
    expect(countAbove(250, [])).toEqual({ edge: null, above: null, total: 0 });
    expect(() =>
      countAbove(
        250,
        b([
          [250, 3],
          [500, 4],
        ]),
      ),
    ).toThrow(/\+Inf/);
  });
  it('applies the merge and monotonicity fix before counting', () => {
    // +Inf glitched below le=500: lifted to 95, so nothing counts as above 500.
    expect(
      countAbove(
        500,
        b([
          [250, 80],
          [500, 95],
          [Infinity, 90],
        ]),
      ),
    ).toEqual({ edge: 500, above: 0, total: 95 });
  });
  it('refuses a non-finite threshold', () => {
    expect(() => thresholdEdge(Number.NaN, h)).toThrow(RangeError);
    expect(() => thresholdEdge(Infinity, h)).toThrow(RangeError);
  });
});

describe('thresholdFromStableQuantile', () => {
  const h = b([
    [100, 50],
    [250, 80],
    [500, 95],
    [1000, 99],
    [Infinity, 100],
  ]);
  it('takes the edge of the bucket the quantile falls in', () => {
    expect(thresholdFromStableQuantile(0.9, h)).toEqual({ quantile: histogramQuantile(0.9, h), edge: 500 });
    expect(thresholdFromStableQuantile(0.99, h)?.edge).toBe(1000);
  });
  it('keeps the edge when the quantile lands exactly on it', () => {
    expect(thresholdFromStableQuantile(0.8, h)).toEqual({ quantile: 250, edge: 250 });
  });
  it('uses the highest finite edge when the quantile is in the +Inf bucket', () => {
    expect(thresholdFromStableQuantile(0.995, h)).toEqual({ quantile: 1000, edge: 1000 });
  });
  it('is null without a usable stable histogram, and refuses q of 0 or 1', () => {
    expect(thresholdFromStableQuantile(0.9, [])).toBeNull();
    expect(
      thresholdFromStableQuantile(
        0.9,
        b([
          [100, 0],
          [Infinity, 0],
        ]),
      ),
    ).toBeNull();
    expect(() => thresholdFromStableQuantile(1, h)).toThrow(RangeError);
    expect(() => thresholdFromStableQuantile(0, h)).toThrow(RangeError);
  });
  it('always returns an edge at or above the quantile, and an edge of the histogram', () => {
    fc.assert(
      fc.property(
        fc.array(fc.nat(1000), { minLength: 2, maxLength: 12 }),
        fc.double({ min: 0.01, max: 0.999, noNaN: true }),
        (incs, q) => {
          let cum = 0;
          const s = incs.map((inc, i) => ({
            le: i === incs.length - 1 ? Infinity : 2 ** i,
            count: (cum += inc),
          }));
          const t = thresholdFromStableQuantile(q, s);
          if (t === null) return;
          expect(t.edge).toBeGreaterThanOrEqual(t.quantile - 1e-9 * t.edge);
          expect(s.some((x) => x.le === t.edge)).toBe(true);
        },
      ),
    );
  });
});

describe('latencyIntervalCounts and sumHistograms', () => {
  it('turns per-interval histograms into IntervalCounts at the edge', () => {
    const counts = latencyIntervalCounts(
      [
        {
          canary: b([
            [250, 9],
            [500, 10],
            [Infinity, 12],
          ]),
          stable: b([
            [250, 90],
            [500, 99],
            [Infinity, 100],
          ]),
        },
        {
          canary: [],
          stable: b([
            [250, 5],
            [500, 5],
            [Infinity, 5],
          ]),
        },
      ],
      500,
    );
    expect(counts).toEqual([
      { canaryTotal: 12, canaryBad: 2, stableTotal: 100, stableBad: 1 },
      { canaryTotal: 0, canaryBad: 0, stableTotal: 5, stableBad: 0 },
    ]);
  });
  it('refuses an interval whose histogram lacks the edge, naming it', () => {
    expect(() =>
      latencyIntervalCounts(
        [
          {
            canary: b([
              [250, 1],
              [Infinity, 2],
            ]),
            stable: b([
              [500, 1],
              [Infinity, 2],
            ]),
          },
        ],
        500,
      ),
    ).toThrow(/intervals\[0\]\.canary/);
  });
  it('bad never exceeds total and both are ≥ 0 for any (even glitched) histogram', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(1000), { minLength: 3, maxLength: 8 }), (counts) => {
        const h = counts.map((c, i) => ({
          le: i === counts.length - 1 ? Infinity : (i + 1) * 100,
          count: c,
        }));
        const [r] = latencyIntervalCounts([{ canary: h, stable: h }], 100);
        expect(r?.canaryBad).toBeGreaterThanOrEqual(0);
        expect(r?.canaryBad).toBeLessThanOrEqual(r?.canaryTotal ?? -1);
      }),
    );
  });
  it('sums bucket by bucket, as sum by (le)', () => {
    expect(
      sumHistograms([
        b([
          [1, 1],
          [Infinity, 2],
        ]),
        b([
          [Infinity, 5],
          [1, 3],
        ]),
      ]),
    ).toEqual(
      b([
        [1, 4],
        [Infinity, 7],
      ]),
    );
    expect(
      histogramTotal(
        sumHistograms([
          b([
            [1, 1],
            [Infinity, 2],
          ]),
          [],
        ]),
      ),
    ).toBe(2);
  });
});

interface ScipyCi {
  source: string;
  binomial: {
    kind: 'cdf' | 'sf' | 'ppf' | 'isf';
    n: number;
    p: number;
    k?: number;
    prob?: number;
    value: number;
  }[];
  orderStatisticCi: {
    n: number;
    q: number;
    confidence: number;
    lowerRank: number | null;
    upperRank: number | null;
  }[];
}
const scipyCi = JSON.parse(
  readFileSync(
    new URL('../../fixtures/stats/histogram/quantile-interval-scipy.json', import.meta.url),
    'utf8',
  ),
) as ScipyCi;

/** One observation at each of 1..n: X_(k) = k, so interval ends can be compared as ranks. */
const unitHistogram = (n: number): HistogramBucket[] => [
  ...Array.from({ length: n }, (_, i) => ({ le: i + 1, count: i + 1 })),
  { le: Infinity, count: n },
];

/** Relative 5e-9: the shared incomplete beta goes through log Γ of ~n, so it loses digits as n grows (≈1e-9 at n = 1e6). */
const expectRel = (got: number, want: number, ctx: string): void => {
  expect(Math.abs(got - want), ctx).toBeLessThanOrEqual(5e-9 * Math.abs(want) + 1e-300);
};

describe('binomial helpers match scipy.stats.binom', () => {
  it(`cdf, sf, ppf, isf (${scipyCi.source})`, () => {
    for (const r of scipyCi.binomial) {
      const ctx = JSON.stringify(r);
      switch (r.kind) {
        case 'cdf':
          expectRel(binomialCdf(r.k as number, r.n, r.p), r.value, ctx);
          break;
        case 'sf':
          expectRel(binomialSf(r.k as number, r.n, r.p), r.value, ctx);
          break;
        case 'ppf':
          expect(binomialPpf(r.prob as number, r.n, r.p), ctx).toBe(r.value);
          break;
        case 'isf':
          expect(binomialIsf(r.prob as number, r.n, r.p), ctx).toBe(r.value);
          break;
      }
    }
  });
  it('refuses a non-integer n or p outside [0, 1]', () => {
    expect(() => binomialCdf(1, 2.5, 0.5)).toThrow(RangeError);
    expect(() => binomialCdf(1, 10, 1.5)).toThrow(RangeError);
  });
});

describe('histogramQuantileInterval', () => {
  it('uses the same order-statistic ranks as scipy quantile_test().confidence_interval()', () => {
    for (const c of scipyCi.orderStatisticCi) {
      const r = histogramQuantileInterval(c.q, unitHistogram(c.n), c.confidence);
      const ctx = JSON.stringify(c);
      expect(r, ctx).not.toBeNull();
      expect(r?.lowerRank ?? null, ctx).toBe(c.lowerRank);
      expect(r?.upperRank ?? null, ctx).toBe(c.upperRank);
      // With one observation per unit bucket, interpolation lands on the order statistic itself.
      expect(r?.lower ?? null, ctx).toBe(c.lowerRank);
      if (c.upperRank === null) expect(r?.upper, ctx).toBeNull();
      else expect(r?.upper, ctx).toBeCloseTo(c.upperRank, 9);
    }
  });
  it('brackets the estimate, with the edge bounds outside the interpolated ones', () => {
    fc.assert(
      fc.property(
        fc.array(fc.nat(200), { minLength: 2, maxLength: 10 }),
        fc.double({ min: 0.05, max: 0.995, noNaN: true }),
        fc.constantFrom(0.8, 0.9, 0.95, 0.99),
        (incs, q, conf) => {
          let cum = 0;
          const h = incs.map((inc, i) => ({
            le: i === incs.length - 1 ? Infinity : 5 * (i + 1),
            count: (cum += inc),
          }));
          const r = histogramQuantileInterval(q, h, conf);
          if (r === null) return;
          if (r.lower !== null) {
            expect(r.lower).toBeLessThanOrEqual(r.estimate + 1e-9);
            if (r.lowerEdge !== null) expect(r.lowerEdge).toBeLessThanOrEqual(r.lower + 1e-9);
          }
          if (r.upper !== null) {
            expect(r.upper).toBeGreaterThanOrEqual(r.estimate - 1e-9);
            if (r.upperEdge !== null) expect(r.upperEdge).toBeGreaterThanOrEqual(r.upper - 1e-9);
          }
        },
      ),
    );
  });
  it('is null without a usable histogram and refuses q of 0 or 1 or a bad confidence', () => {
    expect(histogramQuantileInterval(0.5, [])).toBeNull();
    expect(
      histogramQuantileInterval(
        0.5,
        b([
          [1, 0.4],
          [Infinity, 0.4],
        ]),
      ),
    ).toBeNull();
    expect(() => histogramQuantileInterval(1, unitHistogram(5))).toThrow(RangeError);
    expect(() => histogramQuantileInterval(0.5, unitHistogram(5), 1)).toThrow(RangeError);
  });
  // 400 samples of n = 2000 from lognormal(median 100 ms, σ = 0.5); true p99 ≈ 320 ms.
  const simulate = (edges: number[]): { edges: number; interpolated: number } => {
    const sigma = 0.5;
    const trueP99 = 100 * Math.exp(sigma * 2.3263478740408408);
    const rand = rng(7);
    let coveredEdges = 0;
    let coveredInterp = 0;
    for (let rep = 0; rep < 400; rep++) {
      const counts = new Array<number>(edges.length).fill(0);
      for (let i = 0; i < 2000; i++) {
        const z = Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
        const v = 100 * Math.exp(sigma * z);
        const j = edges.findIndex((e) => v <= e);
        counts[j] = (counts[j] ?? 0) + 1;
      }
      let cum = 0;
      const h = edges.map((le, j) => ({ le, count: (cum += counts[j] ?? 0) }));
      const r = histogramQuantileInterval(0.99, h, 0.95);
      if (r === null) throw new Error('no interval');
      if ((r.lowerEdge ?? -Infinity) <= trueP99 && trueP99 <= (r.upperEdge ?? Infinity)) coveredEdges++;
      if ((r.lower ?? -Infinity) <= trueP99 && trueP99 <= (r.upper ?? Infinity)) coveredInterp++;
    }
    return { edges: coveredEdges, interpolated: coveredInterp };
  };
  // With true coverage ≥ 0.95, fewer than 370 of 400 happens with probability < 0.5%.
  it('edge bounds cover the true p99 ≥ 95% of the time even with coarse Istio buckets (seeded)', () => {
    const cov = simulate([0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, Infinity]);
    expect(cov.edges).toBeGreaterThanOrEqual(370);
    // The interpolated bounds inherit histogram_quantile's linear-in-bucket bias: inside the
    // 250–500 ms bucket the lognormal density falls, so interpolation overshoots the p99 and
    // the interval misses it (0 of 400 at the time of writing). They are for display only.
    expect(cov.interpolated).toBeLessThan(cov.edges);
  });
  it('with fine 5 ms buckets both the edge and the interpolated bounds cover ≥ 95% (seeded)', () => {
    const cov = simulate([...Array.from({ length: 200 }, (_, i) => 5 * (i + 1)), Infinity]);
    expect(cov.edges).toBeGreaterThanOrEqual(370);
    expect(cov.interpolated).toBeGreaterThanOrEqual(370);
  });
});
