/**
 * The shipped-Rollout benchmark's traffic and grid: bucket probabilities of the latency shapes
 * and regressions, the per-interval draws, and cell keys and seeds that let one cell be rerun.
 */
import { describe, expect, it } from 'vitest';
import { Rng } from '../../support/random.js';
import { buildGrid, cellSeed } from '../../../bench/lib/shipped-grid.js';
import {
  BUCKETS,
  ISTIO_LE_LABELS,
  bucketProbabilities,
  drawInterval,
  shareSlowerThan,
} from '../../../bench/lib/shipped-traffic.js';

const shape = { medianMs: 40, sigma: 0.6 };

describe('latency shapes in Istio buckets', () => {
  it("has Istio's default bounds, +Inf last", () => {
    expect(ISTIO_LE_LABELS).toHaveLength(20);
    expect(ISTIO_LE_LABELS.slice(6, 10)).toEqual(['100', '250', '500', '1000']);
    expect(ISTIO_LE_LABELS[19]).toBe('+Inf');
  });

  it('gives probabilities that sum to 1 for every change', () => {
    for (const change of [
      { kind: 'none' },
      { kind: 'slower', factor: 2 },
      { kind: 'tail', share: 0.03, extraMs: 300 },
    ] as const) {
      const p = bucketProbabilities(shape, change);
      expect(p).toHaveLength(BUCKETS);
      expect(p.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 12);
      expect(p.every((v) => v >= 0)).toBe(true);
    }
  });

  it('puts 0.11% of 40 ms / σ 0.6 requests above 250 ms, and a 3% +300 ms tail above it', () => {
    expect(shareSlowerThan(250, shape, { kind: 'none' })).toBeCloseTo(0.00113, 5);
    // Every delayed request is over 300 ms, so above 250 ms: 3% plus the rest's own tail.
    expect(shareSlowerThan(250, shape, { kind: 'tail', share: 0.03, extraMs: 300 })).toBeCloseTo(
      0.03 + 0.97 * 0.00113,
      5,
    );
    // Twice slower everywhere: the share above 500 ms is the stable's above 250 ms.
    expect(shareSlowerThan(500, shape, { kind: 'slower', factor: 2 })).toBeCloseTo(
      shareSlowerThan(250, shape, { kind: 'none' }),
      12,
    );
  });
});

describe('one interval of traffic', () => {
  it("draws cumulative bucket counts whose total and errors have the model's means", () => {
    const rng = new Rng(5, 0);
    const probs = bucketProbabilities(shape, { kind: 'none' });
    const out = new Array<number>(BUCKETS).fill(0);
    let total = 0;
    let errors = 0;
    let above250 = 0;
    const k = 400;
    for (let i = 0; i < k; i++) {
      const r = drawInterval(rng, 6000, probs, 0.01, out);
      for (let b = 1; b < BUCKETS; b++) expect(out[b]).toBeGreaterThanOrEqual(out[b - 1] as number);
      expect(out[BUCKETS - 1]).toBe(r.total);
      total += r.total;
      errors += r.errors;
      above250 += r.total - (out[7] as number);
    }
    expect(total / k).toBeGreaterThan(6000 - 30);
    expect(total / k).toBeLessThan(6000 + 30);
    expect(errors / total).toBeCloseTo(0.01, 3);
    expect(above250 / total).toBeCloseTo(0.00113, 3);
  });
});

describe('the grid', () => {
  const cells = buildGrid();

  it('has identical releases on R × p × shape, error regressions on R × p, latency ones on R × shape', () => {
    expect(cells.filter((c) => c.family === 'identical')).toHaveLength(3 * 4 * 4);
    // Ratios of a zero rate are identical releases: only the absolute increases run at p = 0.
    expect(cells.filter((c) => c.family === 'errors')).toHaveLength(3 * 3 * 3 + 2 * 3 * 4);
    expect(cells.filter((c) => c.family === 'latency')).toHaveLength(3 * 3 * 4);
    expect(new Set(cells.map((c) => c.key)).size).toBe(cells.length);
  });

  it('seeds a cell by its key alone, so it reruns alone with the same runs', () => {
    const one = buildGrid({ match: ['errors ×2 R=100 p=0.001'] });
    expect(one).toHaveLength(1);
    expect(cellSeed(1, (one[0] as { key: string }).key)).toBe(cellSeed(1, 'errors ×2 R=100 p=0.001'));
    expect(cellSeed(1, 'a')).not.toBe(cellSeed(2, 'a'));
  });
});
