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

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const MINUS = 0x2d;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;
const COMMA = 0x2c;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

function isDigit(c: number): boolean {
  return c >= ZERO && c <= NINE;
}

/** A cursor over a JSON text that reads only the plain forms Prometheus writes. */
class PlainJsonReader {
  pos = 0;
  constructor(private readonly text: string) {}

  /** Consumes `literal` when the text continues with it. */
  take(literal: string): boolean {
    if (!this.text.startsWith(literal, this.pos)) return false;
    this.pos += literal.length;
    return true;
  }

  /** Consumes the character `code` when the text continues with it. */
  takeChar(code: number): boolean {
    if (this.text.charCodeAt(this.pos) !== code) return false;
    this.pos++;
    return true;
  }

  /** True when the whole text has been read. */
  done(): boolean {
    return this.pos === this.text.length;
  }

  /** A string without escapes or control characters, quotes consumed; undefined otherwise. */
  string(): string | undefined {
    const t = this.text;
    if (t.charCodeAt(this.pos) !== QUOTE) return undefined;
    const start = this.pos + 1;
    for (let i = start; i < t.length; i++) {
      const c = t.charCodeAt(i);
      if (c === QUOTE) {
        this.pos = i + 1;
        return t.slice(start, i);
      }
      if (c === BACKSLASH || c < 0x20) return undefined;
    }
    return undefined;
  }

  /**
   * A number written as JSON digits (optional minus, no leading zero, optional fraction, no
   * exponent); undefined otherwise. Number() of such a literal is the double JSON.parse reads.
   */
  number(): number | undefined {
    const t = this.text;
    const start = this.pos;
    let i = t.charCodeAt(start) === MINUS ? start + 1 : start;
    const digits = i;
    while (isDigit(t.charCodeAt(i))) i++;
    if (i === digits || (t.charCodeAt(digits) === ZERO && i - digits > 1)) return undefined;
    if (t.charCodeAt(i) === DOT) {
      const fraction = ++i;
      while (isDigit(t.charCodeAt(i))) i++;
      if (i === fraction) return undefined;
    } else if (start === digits && i - start <= EXACT_DIGITS) {
      this.pos = i;
      return digitsValue(t, start, i);
    }
    this.pos = i;
    return Number(t.slice(start, i));
  }

  /**
   * A sample value: what parseValue reads from the string at the cursor (quotes consumed), or
   * undefined when it is no value or not a plain string. Counters are written as plain digits:
   * those are read in place, without a string per point.
   */
  value(): number | undefined {
    const t = this.text;
    if (t.charCodeAt(this.pos) !== QUOTE) return undefined;
    const start = this.pos + 1;
    let i = start;
    while (isDigit(t.charCodeAt(i))) i++;
    if (i > start && i - start <= EXACT_DIGITS && t.charCodeAt(i) === QUOTE) {
      this.pos = i + 1;
      return digitsValue(t, start, i);
    }
    return parseValue(this.string());
  }
}

/**
 * Up to 15 decimal digits stay below 2^53, where summing digit by digit is exact: the same
 * double as Number() of the digits, without cutting them out as a string.
 */
const EXACT_DIGITS = 15;

/** The integer the decimal digits `text[start..end)` write (at most EXACT_DIGITS of them). */
function digitsValue(text: string, start: number, end: number): number {
  let n = 0;
  for (let i = start; i < end; i++) n = n * 10 + (text.charCodeAt(i) - ZERO);
  return n;
}

const MATRIX_HEAD = '{"status":"success","data":{"resultType":"matrix","result":[';
const MATRIX_TAIL = ']}}';

/**
 * `parseMatrix(JSON.parse(text))` for a range answer written exactly as Prometheus writes a
 * successful one without warnings — no whitespace, its keys in its order, no escapes in strings,
 * timestamps without exponent — read straight from the text; undefined for any other text, which
 * the caller then decodes the general way (JSON.parse, readWarnings, parseMatrix), so every
 * answer it does not recognise, malformed ones included, is judged exactly as before. Why: on the
 * shipped two-check analysis, JSON.parse built an array and a string per point only for
 * parseMatrix to read them once, and was the largest single CPU cost of the judge's own work.
 * test/unit/prometheus/decode.test.ts checks both ways agree.
 */
export function parseMatrixText(text: string): Series[] | undefined {
  const r = new PlainJsonReader(text);
  if (!r.take(MATRIX_HEAD)) return undefined;
  const result: Series[] = [];
  if (!r.take(MATRIX_TAIL)) {
    do {
      const series = readSeries(r);
      if (series === undefined) return undefined;
      result.push(series);
    } while (r.take(','));
    if (!r.take(MATRIX_TAIL)) return undefined;
  }
  return r.done() ? result : undefined;
}

/** `{"metric":{…},"values":[[t,"v"],…]}`, or undefined when it is written any other way. */
function readSeries(r: PlainJsonReader): Series | undefined {
  if (!r.take('{"metric":{')) return undefined;
  const labels: Record<string, string> = {};
  if (!r.take('}')) {
    do {
      const name = r.string();
      // `__proto__` would set the object's prototype here: left to the general path.
      if (name === undefined || name === '__proto__' || !r.take(':')) return undefined;
      const value = r.string();
      if (value === undefined) return undefined;
      labels[name] = value;
    } while (r.take(','));
    if (!r.take('}')) return undefined;
  }
  if (!r.take(',"values":[')) return undefined;
  const samples: Sample[] = [];
  if (!r.take(']')) {
    do {
      if (!r.takeChar(OPEN_BRACKET)) return undefined;
      const t = r.number();
      if (t === undefined || !r.takeChar(COMMA)) return undefined;
      const v = r.value();
      if (v === undefined || !r.takeChar(CLOSE_BRACKET)) return undefined;
      samples.push({ t, v });
    } while (r.takeChar(COMMA));
    if (!r.takeChar(CLOSE_BRACKET)) return undefined;
  }
  return r.take('}') ? { labels, samples } : undefined;
}
