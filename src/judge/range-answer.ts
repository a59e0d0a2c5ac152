/**
 * The data-integrity rule of a range answer: per-interval counts of one query can only come
 * from at most one point per grid step in each series, every point on the requested grid, and
 * no two series with the same labels.
 */

import { JudgeError } from '../errors.js';
import type { Grid, Series } from './metrics-source.js';

/** Timestamps within this much of a grid point are on it (Prometheus prints milliseconds). */
const GRID_TOLERANCE_SECONDS = 1e-3;

function badResponse(message: string): JudgeError {
  return new JudgeError('prometheus_bad_response', message);
}

/**
 * Checks that a range answer can be per-interval counts of one query: at most one point per
 * grid step in each series, every point on the requested grid (start + k·step, within
 * [start, end]), and no two series with the same labels. Prometheus itself never answers
 * otherwise; a query layer merging HA replicas or shards without deduplication, a broken
 * federation or a proxy can, and summing such points would inflate or skew the counts (a Fail
 * turned into a Pass). Throws prometheus_bad_response naming the first defect.
 */
export function validateRangeAnswer(series: readonly Series[], range: Grid): void {
  const seen = new Set<string>();
  for (const s of series) {
    const key = labelsKey(s.labels);
    if (seen.has(key)) {
      throw badResponse(
        `Prometheus answered two series with the same labels ${describeLabels(s.labels)}: duplicated data, refused`,
      );
    }
    seen.add(key);
    let last = Number.NEGATIVE_INFINITY;
    for (const p of s.samples) {
      const k = (p.t - range.start) / range.step;
      const onGrid = Math.abs(k - Math.round(k)) * range.step <= GRID_TOLERANCE_SECONDS;
      if (!onGrid || p.t < range.start - GRID_TOLERANCE_SECONDS || p.t > range.end + GRID_TOLERANCE_SECONDS) {
        throw badResponse(
          `Prometheus answered a point at t=${p.t}, off the requested grid (${range.start} to ${range.end} every ${range.step}s), refused`,
        );
      }
      if (p.t <= last + GRID_TOLERANCE_SECONDS) {
        throw badResponse(
          p.t >= last - GRID_TOLERANCE_SECONDS
            ? `Prometheus answered two points at t=${p.t} in one series: duplicated data, refused`
            : `Prometheus answered points out of time order (t=${p.t} after t=${last}), refused`,
        );
      }
      last = p.t;
    }
  }
}

/** `{k="v", …}` for an error message, cut at 120 characters. */
export function describeLabels(labels: Readonly<Record<string, string>>): string {
  const text = `{${Object.entries(labels)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(', ')}}`;
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

/**
 * A key equal for two label sets exactly when they are the same set: the names in order, each
 * name and value written after its length, so no characters in them can make two sets collide.
 * It runs once per series of every answer; JSON.stringify of the sorted entries, which it
 * replaced, was most of the cost of validating an answer. `names` limits it to those names
 * (a missing one reads as the empty value), `except` leaves those out.
 */
export function labelsKey(
  labels: Readonly<Record<string, string>>,
  options: { readonly names?: readonly string[]; readonly except?: readonly string[] } = {},
): string {
  const names = options.names ?? Object.keys(labels).sort();
  let key = '';
  for (const name of names) {
    if (options.except?.includes(name) === true) continue;
    const value = labels[name] ?? '';
    key += `${name.length}:${name}${value.length}:${value}`;
  }
  return key;
}
