/**
 * The grid of the shipped-Rollout benchmark: which cells exist, their keys (stable names a
 * single cell can be rerun by) and their seeds (a hash of the master seed and the key, so a
 * cell's runs do not depend on which other cells run with it).
 */
import type { Scenario } from './shipped-sim.js';
import type { LatencyChange, LatencyShape } from './shipped-traffic.js';

export type Family = 'identical' | 'errors' | 'latency';

export interface Cell {
  /** e.g. "identical R=100 p=0.001 shape=40/0.6", "errors ×2 R=100 p=0.001", "latency tail R=100 shape=40/1". */
  readonly key: string;
  readonly family: Family;
  /** The regression's label within its family ("×2", "+0.001", "×1.5 slower", "tail +300ms 3%"); "" for identical. */
  readonly change: string;
  readonly scenario: Scenario;
}

export const GRID = {
  rps: [20, 100, 1000],
  p: [0, 1e-4, 1e-3, 5e-3],
  shapes: [
    { medianMs: 40, sigma: 0.3 },
    { medianMs: 40, sigma: 0.6 },
    { medianMs: 40, sigma: 1.0 },
    { medianMs: 120, sigma: 0.6 },
  ] as LatencyShape[],
  /** Error regressions: the canary's 5xx rate from the stable's p. */
  errorChanges: [
    { label: '×1.5', rate: (p: number) => 1.5 * p, relative: true },
    { label: '×2', rate: (p: number) => 2 * p, relative: true },
    { label: '×5', rate: (p: number) => 5 * p, relative: true },
    { label: '+0.001', rate: (p: number) => p + 0.001, relative: false },
    { label: '+0.01', rate: (p: number) => p + 0.01, relative: false },
  ],
  errorShape: { medianMs: 40, sigma: 0.6 } as LatencyShape,
  latencyChanges: [
    { label: '×1.5 slower', change: { kind: 'slower', factor: 1.5 } as LatencyChange },
    { label: '×2 slower', change: { kind: 'slower', factor: 2 } as LatencyChange },
    { label: 'tail +300ms 3%', change: { kind: 'tail', share: 0.03, extraMs: 300 } as LatencyChange },
  ],
  latencyP: 1e-3,
};

export const shapeLabel = (s: LatencyShape): string => `${s.medianMs}/${s.sigma}`;

export interface GridFilter {
  readonly rps?: readonly number[];
  readonly p?: readonly number[];
  /** Shapes as "median/sigma". */
  readonly shapes?: readonly string[];
  readonly families?: readonly Family[];
  /** Substrings: a cell is kept when its key contains one of them. */
  readonly match?: readonly string[];
}

export function buildGrid(filter: GridFilter = {}): Cell[] {
  const rpsList = GRID.rps.filter((r) => filter.rps === undefined || filter.rps.includes(r));
  const pList = GRID.p.filter((p) => filter.p === undefined || filter.p.includes(p));
  const shapes = GRID.shapes.filter(
    (s) => filter.shapes === undefined || filter.shapes.includes(shapeLabel(s)),
  );
  const fam = (f: Family): boolean => filter.families === undefined || filter.families.includes(f);
  const none: LatencyChange = { kind: 'none' };
  const cells: Cell[] = [];
  if (fam('identical')) {
    for (const rps of rpsList)
      for (const p of pList)
        for (const shape of shapes)
          cells.push({
            key: `identical R=${rps} p=${p} shape=${shapeLabel(shape)}`,
            family: 'identical',
            change: '',
            scenario: { rps, pStable: p, pCanary: p, shape, latency: none },
          });
  }
  if (fam('errors') && (filter.shapes === undefined || filter.shapes.includes(shapeLabel(GRID.errorShape)))) {
    for (const c of GRID.errorChanges)
      for (const rps of rpsList)
        for (const p of pList) {
          // A ratio of a zero rate is the identical release: only the absolute increases apply.
          if (c.relative && p === 0) continue;
          cells.push({
            key: `errors ${c.label} R=${rps} p=${p}`,
            family: 'errors',
            change: c.label,
            scenario: { rps, pStable: p, pCanary: c.rate(p), shape: GRID.errorShape, latency: none },
          });
        }
  }
  if (fam('latency') && (filter.p === undefined || filter.p.includes(GRID.latencyP))) {
    for (const c of GRID.latencyChanges)
      for (const rps of rpsList)
        for (const shape of shapes)
          cells.push({
            key: `latency ${c.label} R=${rps} shape=${shapeLabel(shape)}`,
            family: 'latency',
            change: c.label,
            scenario: { rps, pStable: GRID.latencyP, pCanary: GRID.latencyP, shape, latency: c.change },
          });
  }
  return cells.filter((c) => filter.match === undefined || filter.match.some((m) => c.key.includes(m)));
}

/** FNV-1a of the master seed and the cell key: the cell's seed (runs are its streams 0..N-1). */
export function cellSeed(masterSeed: number, key: string): number {
  let h = 0x811c9dc5;
  for (const ch of `${masterSeed}|${key}`) {
    h ^= ch.codePointAt(0) as number;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}
