/**
 * One answer, one series: every named query declares how many series its aggregation promises
 * (src/prometheus/promql.ts, QUERY_TEMPLATES), and an answer with more is refused before any
 * check counts with it. `sum(…)` answers at most one series and `sum by (le) (…)` one per `le`,
 * on Prometheus and on every store that evaluates PromQL; a query layer that merges per-store
 * answers instead can hand back one series per store, with labels of their own. Added up, such
 * series inflate a side's counts — an extra series of the canary's requests halves its error
 * rate and turns a Fail into a Pass — so the check is refused instead (Inconclusive
 * `query_error`, a 502 when every check is), whatever the extra series' labels.
 */
import { JudgeError } from '../errors.js';
import type { Series } from '../prometheus/client.js';
import { describeLabels } from './range-answer.js';

/**
 * `one`: at most one series (an aggregation without grouping; no series means no data).
 * `one-per`: at most one series per value of `label`, and every series carries it (`sum by`).
 */
export type SeriesShape = { readonly kind: 'one' } | { readonly kind: 'one-per'; readonly label: string };

/** A query as the runner runs it: its name in the plan, its PromQL, and the shape it promises. */
export interface ShapedQuery {
  readonly name: string;
  readonly promql: string;
  readonly shape: SeriesShape;
}

/** How many series' labels a refusal lists before it only counts the rest. */
const LISTED = 4;

/**
 * Throws prometheus_bad_response naming the query and the offending series' labels when
 * `series` has more series than `shape` promises (or, for `one-per`, a series without the label).
 */
export function checkSeriesShape(
  series: readonly Series[],
  query: Pick<ShapedQuery, 'name' | 'shape'>,
): void {
  const shape = query.shape;
  if (shape.kind === 'one') {
    if (series.length > 1) throw refused(`${series.length} series`, query.name, 'at most one series', series);
    return;
  }
  const byValue = new Map<string, Series[]>();
  for (const s of series) {
    const v = s.labels[shape.label];
    if (v === undefined) {
      throw refused(`a series without ${shape.label}`, query.name, `one series per ${shape.label}`, [s]);
    }
    const same = byValue.get(v);
    if (same === undefined) byValue.set(v, [s]);
    else same.push(s);
  }
  for (const [v, same] of byValue) {
    if (same.length > 1) {
      throw refused(
        `${same.length} series for ${shape.label}=${JSON.stringify(v)}`,
        query.name,
        `one series per ${shape.label}`,
        same,
      );
    }
  }
}

function refused(what: string, name: string, promise: string, series: readonly Series[]): JudgeError {
  const listed = series.slice(0, LISTED).map((s) => describeLabels(s.labels));
  const more = series.length > LISTED ? ` and ${series.length - LISTED} more` : '';
  return new JudgeError(
    'prometheus_bad_response',
    `Prometheus answered ${what} to ${name}, whose aggregation promises ${promise}: ${listed.join(', ')}${more}; refused, not added up`,
  );
}
