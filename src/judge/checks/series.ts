/**
 * Prometheus series → the shapes checks count with. The queries answer raw cumulative counters
 * per target at the grid points; ../counts/counter-increases.ts turns them into per-interval
 * counts, which become one series of points per interval (per `le` for a histogram), and those
 * become points by timestamp and histograms by timestamp. NaN and negative values pass through
 * for the engine to refuse.
 */
import type { HistogramBucket, TimelinePoint } from '../../stats/index.js';
import type { TimelineEntry } from '../types.js';
import type { Series } from '../metrics-source.js';
import { targetIncreases, type CounterGrid, type CounterIncreases } from '../counts/counter-increases.js';

/**
 * Points of a single-series result by timestamp; an empty result is an empty map. The query
 * runner refuses an answer with more than one series (../series-shape.ts) before it gets here.
 */
export function pointsByTime(series: readonly Series[]): Map<number, number> {
  const out = new Map<number, number>();
  for (const s of series) {
    for (const p of s.samples) out.set(p.t, (out.get(p.t) ?? 0) + p.v);
  }
  return out;
}

/** `sum by (le)` series (one per `le`, as the runner checked) → histogram per timestamp. */
export function histogramsByTime(series: readonly Series[]): Map<number, HistogramBucket[]> {
  const out = new Map<number, HistogramBucket[]>();
  // Series in bound order (Prometheus sorts them as strings: "10" before "5"), so each
  // interval's buckets arrive sorted and the engine's own sort has nothing to move.
  const byBound = series
    .flatMap((s) => {
      const raw = s.labels['le'];
      return raw === undefined ? [] : [{ le: raw === '+Inf' ? Number.POSITIVE_INFINITY : Number(raw), s }];
    })
    .sort((a, b) => a.le - b.le);
  for (const { le, s } of byBound) {
    for (const p of s.samples) {
      let h = out.get(p.t);
      if (h === undefined) out.set(p.t, (h = []));
      h.push({ le, count: p.v });
    }
  }
  return out;
}

/** True when some bucket count is not a finite count or some bound is not a number. */
export function hasInvalidBuckets(histograms: Iterable<readonly HistogramBucket[]>): boolean {
  for (const buckets of histograms) {
    for (const b of buckets)
      if (!(Number.isFinite(b.count) && b.count >= 0) || Number.isNaN(b.le)) return true;
  }
  return false;
}

/** The engine's timeline (one point per interval, in `times` order) with each interval's end. */
export function timelineEntries(
  times: readonly number[],
  points: readonly TimelinePoint[] | undefined,
): TimelineEntry[] | undefined {
  if (points === undefined || points.length !== times.length) return undefined;
  return points.map((p, i) => ({
    end: new Date((times[i] as number) * 1000).toISOString(),
    canary: { requests: p.canaryTotal, bad: p.canaryBad },
    stable: { requests: p.stableTotal, bad: p.stableBad },
    eValue: p.eValue,
    power: p.power,
  }));
}

/**
 * Raw counter answers (one series per target and class: pod and response code, pod and `le`, …)
 * → per-interval increases per class (src/judge/counts/counter-increases.ts), a restart read
 * from the target (`targetLabel`, the pod) as a whole; the class of a series given by `classOf`
 * (undefined: not counted).
 */
export function increasesByClass(
  series: readonly Series[],
  grid: CounterGrid,
  targetLabel: string,
  classOf: (labels: Readonly<Record<string, string>>) => string | undefined,
): Map<string, CounterIncreases> {
  return targetIncreases(series, grid, (l) => l[targetLabel] ?? '', classOf);
}

/** True for each interval where some class has counters at its end. */
export function presentAny(classes: Iterable<CounterIncreases>, n: number): boolean[] {
  const out = new Array<boolean>(n).fill(false);
  for (const c of classes) c.present.forEach((p, i) => p && (out[i] = true));
  return out;
}

/**
 * Per-interval increases as the single series of points the checks count with (one point per
 * interval, at its end), only where `keep` says the side had counters and from `from` on (an
 * interval ending after `from`).
 */
export function intervalSeries(
  c: Pick<CounterIncreases, 'times' | 'increases'>,
  keep: readonly boolean[],
  labels: Readonly<Record<string, string>> = {},
  from = Number.NEGATIVE_INFINITY,
): Series {
  const samples: { t: number; v: number }[] = [];
  c.times.forEach((t, i) => {
    if (keep[i] === true && t > from) samples.push({ t, v: c.increases[i] as number });
  });
  return { labels, samples };
}
