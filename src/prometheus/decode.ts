/**
 * JSON decoding of Prometheus HTTP API answers: a range answer becomes series of samples, and
 * anything that is not exactly what Prometheus writes is a prometheus_bad_response.
 */

import type { Sample, Series } from '../judge/metrics-source.js';
import { badResponse } from './errors.js';

/**
 * Largest magnitude read as a count. Beyond 2^53 a float no longer counts requests one by one
 * and a sum over a window can overflow to Infinity, so such a value is read as NaN: the judge
 * refuses it as invalid data instead of computing with it.
 */
export const MAX_COUNT = 2 ** 53;

/** A sample value, or undefined when it is not one; huge magnitudes become NaN (MAX_COUNT). */
function parseValue(raw: unknown): number | undefined {
  if (typeof raw !== 'string' || raw.length === 0) return undefined;
  const v = Number(raw);
  // Number() alone also takes " 1", "0x1f", "0b1", "Infinity": refuse what Prometheus never
  // writes by looking at both ends (a digit or '.' at the end; a digit, sign or '.' first, and no
  // radix prefix). This runs once per point: a regex here doubled the cost of a large answer.
  if (!Number.isNaN(v)) {
    const last = raw.charCodeAt(raw.length - 1);
    const lastOk = (last >= 48 && last <= 57) || last === 46;
    const first = raw.charCodeAt(0);
    const digitAt = first === 43 || first === 45 ? 1 : 0;
    const lead = raw.charCodeAt(digitAt);
    const leadOk = (lead >= 48 && lead <= 57) || lead === 46;
    const radix =
      lead === 48 &&
      raw.length > digitAt + 1 &&
      /[a-zA-Z]/.test(raw.charAt(digitAt + 1)) &&
      raw.charAt(digitAt + 1) !== 'e' &&
      raw.charAt(digitAt + 1) !== 'E';
    if (!lastOk || !leadOk || radix) {
      // Prometheus encodes infinities as "+Inf" / "-Inf" (Number() reads neither).
      return undefined;
    }
    return Math.abs(v) > MAX_COUNT ? Number.NaN : v;
  }
  if (raw === 'NaN') return Number.NaN;
  if (raw === '+Inf' || raw === 'Inf') return Number.POSITIVE_INFINITY;
  if (raw === '-Inf') return Number.NEGATIVE_INFINITY;
  return undefined;
}

/**
 * The `warnings` of a successful answer (Prometheus and Thanos put them beside `data`; Thanos
 * uses them for a partial answer). A `warnings` that is not a list of strings is a bad response.
 * `infos` (Prometheus 3's notes such as "metric might not be a counter") are not warnings.
 */
export function readWarnings(body: unknown): string[] {
  if (body === null || typeof body !== 'object') return [];
  const w = (body as { warnings?: unknown }).warnings;
  if (w === undefined || w === null) return [];
  if (!Array.isArray(w) || !w.every((x): x is string => typeof x === 'string'))
    throw badResponse('Prometheus answered a malformed warnings list');
  return w;
}

/** Turns a decoded `/api/v1/query_range` body into series; anything unexpected is a 502. */
export function parseMatrix(body: unknown): Series[] {
  if (body === null || typeof body !== 'object')
    throw badResponse('Prometheus answered a non-object JSON body');
  const b = body as { status?: unknown; data?: { resultType?: unknown; result?: unknown } };
  if (b.status !== 'success') throw badResponse(`Prometheus answered status ${JSON.stringify(b.status)}`);
  if (b.data?.resultType !== 'matrix' || !Array.isArray(b.data.result)) {
    throw badResponse(
      `Prometheus answered resultType ${JSON.stringify(b.data?.resultType)}, expected matrix`,
    );
  }
  return b.data.result.map((s: unknown) => {
    if (s === null || typeof s !== 'object' || Array.isArray(s))
      throw badResponse('Prometheus answered a malformed series');
    const series = s as { metric?: unknown; values?: unknown };
    if (
      series.metric === null ||
      typeof series.metric !== 'object' ||
      Array.isArray(series.metric) ||
      !Array.isArray(series.values)
    ) {
      throw badResponse('Prometheus answered a malformed series');
    }
    const labels: Record<string, string> = {};
    for (const [k, v] of Object.entries(series.metric)) {
      if (typeof v !== 'string')
        throw badResponse('Prometheus answered a series with a label value that is not a string');
      labels[k] = v;
    }
    const values = series.values as unknown[];
    const samples: Sample[] = new Array<Sample>(values.length);
    for (let i = 0; i < values.length; i++) {
      const p = values[i];
      const v =
        Array.isArray(p) && p.length === 2 && typeof p[0] === 'number' && Number.isFinite(p[0])
          ? parseValue(p[1])
          : undefined;
      if (v === undefined) throw badResponse('Prometheus answered a malformed sample');
      samples[i] = { t: (p as [number, string])[0], v };
    }
    return { labels, samples };
  });
}
