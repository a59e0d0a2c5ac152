/**
 * The analysis window: a grid of multiples of the interval (epoch-aligned), so that each call's
 * intervals extend the previous call's and the sequential test sees one growing sequence. It
 * starts at an explicit time or just before the canary's first sample; an end in the future is
 * clamped to now (there is nothing to judge there yet).
 */
import type { Grid, Series } from './metrics-source.js';
import type { AnalysisWindow } from './types.js';

/** How much history before the window a query may ask for with the window (`withHour`). */
export const HOUR_SECONDS = 3600;

export interface ResolvedWindow {
  readonly window: AnalysisWindow;
  /**
   * The grid of the window's counter queries: its baseline point (the window start), then one
   * point per interval to the end; null: nothing to query.
   */
  readonly range: Grid | null;
  /**
   * The same grid, started an hour earlier (whole intervals; less when the window is so long
   * that the points would pass the source's limit): the window and the hour before it in one query.
   */
  readonly withHour: Grid | null;
  /** Why there is nothing to judge, for the summary's headline. */
  readonly headline?: string;
}

export async function resolveWindow(
  spec: { start: Date | 'canary-first-sample'; end?: Date; interval: { seconds: number; text: string } },
  opts: { now: number; lookbackSeconds: number; maxPoints: number },
  /** The canary's presence series (any request counter of its) on a grid. */
  presence: (grid: Grid) => Promise<Series[]>,
): Promise<ResolvedWindow> {
  const maxPoints = opts.maxPoints;
  const I = spec.interval.seconds;
  const endSec = Math.floor(Math.min(spec.end?.getTime() ?? Number.POSITIVE_INFINITY, opts.now) / 1000);
  const gridEnd = Math.floor(endSec / I) * I;
  let gridStart =
    spec.start === 'canary-first-sample'
      ? await findFirstSample(presence, gridEnd, I, opts.lookbackSeconds, maxPoints)
      : Math.ceil(spec.start.getTime() / 1000 / I) * I;
  // The source's most points per series, the baseline point included.
  if (gridStart !== null && (gridEnd - gridStart) / I > maxPoints - 1)
    gridStart = gridEnd - (maxPoints - 1) * I;
  const intervals = gridStart === null ? 0 : Math.max(0, (gridEnd - gridStart) / I);
  const window: AnalysisWindow = {
    start: gridStart === null ? null : new Date(gridStart * 1000).toISOString(),
    end: new Date(gridEnd * 1000).toISOString(),
    interval: spec.interval.text,
    intervals,
    startSource: spec.start === 'canary-first-sample' ? 'canary-first-sample' : 'explicit',
  };
  if (gridStart === null) {
    return {
      window,
      range: null,
      withHour: null,
      headline: `no canary sample in the last ${Math.round(opts.lookbackSeconds / 3600)}h`,
    };
  }
  if (intervals < 1)
    return {
      window,
      range: null,
      withHour: null,
      headline: `window shorter than one ${spec.interval.text} interval`,
    };
  const hourStart = Math.max(gridStart - Math.ceil(HOUR_SECONDS / I) * I, gridEnd - (maxPoints - 1) * I);
  return {
    window,
    range: { start: gridStart, end: gridEnd, step: I },
    withHour: { start: hourStart, end: gridEnd, step: I },
  };
}

/**
 * The canary's first sample: the first point of its request counter within the look-back,
 * found with one range query. Returns the grid point just before it, or null if none.
 */
async function findFirstSample(
  presence: (grid: Grid) => Promise<Series[]>,
  gridEnd: number,
  interval: number,
  lookback: number,
  maxPoints: number,
): Promise<number | null> {
  const step = interval * Math.max(1, Math.ceil(lookback / interval / maxPoints));
  // Points on multiples of the step (epoch-aligned), so every call sees the same grid and finds
  // the same first sample: the sequence of intervals only ever grows at its end.
  const start = Math.ceil((gridEnd - lookback) / step) * step;
  const end = Math.floor(gridEnd / step) * step;
  const series = await presence({ start, end, step });
  let first = Number.POSITIVE_INFINITY;
  for (const s of series) for (const p of s.samples) if (p.t < first) first = p.t;
  if (!Number.isFinite(first)) return null;
  // The point at `first` sees a sample from (first - step, first]; start one step earlier.
  return Math.floor((first - step) / interval) * interval;
}
