/**
 * One answer, one series: every named query declares how many series its aggregation promises
 * (./metrics-source.ts, SourceQuery.shape), and an answer with more is refused before any
 * check counts with it. `sum(…)` answers at most one series and `sum by (pod, le) (…)` one per
 * pod and `le`, on Prometheus and on every store that evaluates PromQL; a query layer that merges per-store
 * answers instead can hand back one series per store, with labels of their own. Added up, such
 * series inflate a side's counts — an extra series of a canary pod's requests halves its error
 * rate and turns a Fail into a Pass — so the check is refused instead (Inconclusive
 * `query_error`, a 502 when every check is), whatever the extra series' labels.
 */
import { JudgeError } from '../errors.js';
import type { Series } from './metrics-source.js';
import { describeLabels, labelsKey } from './range-answer.js';

/**
 * `one`: at most one series (an aggregation without grouping; no series means no data).
 * `one-per`: at most one series per combination of the values of `labels` (`sum by (labels)`);
 * a label a series lacks groups as the empty value, as in PromQL, except the `required` ones,
 * which every series must carry (a bucket without its bound is not a bucket); and every series
 * has the same labels outside `labels` (none, from Prometheus itself).
 */
export type SeriesShape =
  | { readonly kind: 'one' }
  | { readonly kind: 'one-per'; readonly labels: readonly string[]; readonly required: readonly string[] };

/** A query as the runner runs it: its name in the plan, its text, and the shape it promises. */
export interface ShapedQuery {
  readonly name: string;
  readonly text: string;
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
  const per = shape.labels.length === 1 ? (shape.labels[0] as string) : `(${shape.labels.join(', ')})`;
  const byValue = new Map<string, Series[]>();
  for (const s of series) {
    const missing = shape.required.find((l) => s.labels[l] === undefined);
    if (missing !== undefined) {
      throw refused(`a series without ${missing}`, query.name, `one series per ${per}`, [s]);
    }
    const key = labelsKey(s.labels, { names: shape.labels });
    const same = byValue.get(key);
    if (same === undefined) byValue.set(key, [s]);
    else same.push(s);
  }
  for (const same of byValue.values()) {
    if (same.length > 1) {
      const first = (same[0] as Series).labels;
      const values = describeLabels(Object.fromEntries(shape.labels.map((l) => [l, first[l] ?? ''])));
      throw refused(`${same.length} series for ${values}`, query.name, `one series per ${per}`, same);
    }
  }
  // `sum by (labels)` answers series labelled by `labels` alone; a layer may add labels of its
  // own, but the same to every series. Series that differ outside `labels` are answers of
  // several evaluations put side by side (one per store, per replica): refused, even when each
  // names another pod, since adding them up is what the rule forbids.
  const rest = (x: Series): string => labelsKey(x.labels, { except: shape.labels });
  const first = series[0];
  if (first !== undefined) {
    const firstRest = rest(first);
    const other = series.find((x) => rest(x) !== firstRest);
    if (other !== undefined) {
      throw refused(`series that differ in labels outside ${per}`, query.name, `one series per ${per}`, [
        first,
        other,
      ]);
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
