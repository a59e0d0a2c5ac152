/**
 * The HTTP body → the judge's request model (src/judge/request.ts). Argo Rollouts substitutes
 * `{{args.*}}` into a `jsonBody` as JSON strings, so a number may arrive as `"0.01"` and a
 * boolean as `"true"`. This is the one place where such strings become values, and only strictly
 * numeric (boolean) strings do: `"0.01x"` or `""` stay strings and the model refuses them.
 * Everything else is the model's to validate. test/unit/transport-parity.test.ts checks that
 * these lists name every number and boolean of the model. `matchers` is an object in the model;
 * an Argo arg can only hold text, so a string holding a JSON object (`"{}"`,
 * `"{\"cluster\":\"eu-west-1\"}"`) is read as that object.
 */

import {
  parseAnalysisRequest,
  type AnalysisRequestInput,
  type ParseResult,
  type RequestWording,
} from '../../judge/request.js';

type CheckInput = AnalysisRequestInput['checks'][number];
type KeysOfUnion<T> = T extends unknown ? keyof T : never;

/** Fields of the request and of each check that are numbers in the model. */
export const NUMBER_FIELDS = {
  request: ['failBelow'] as const satisfies readonly (keyof AnalysisRequestInput)[],
  check: [
    'alpha',
    'margin',
    'criticalEffect',
    'criticalIncrease',
    'power',
    'weight',
    'thresholdMs',
    'quantile',
    'tolerance',
  ] as const satisfies readonly KeysOfUnion<CheckInput>[],
};

/** Fields of the request and of each check that are booleans in the model. */
export const BOOLEAN_FIELDS = {
  request: ['timeline'] as const satisfies readonly (keyof AnalysisRequestInput)[],
  check: ['critical'] as const satisfies readonly KeysOfUnion<CheckInput>[],
};

export const HTTP_WORDING: RequestWording = { number: 'a number or a numeric string' };

const NUMERIC_STRING = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function coerceFields(
  o: Record<string, unknown>,
  numbers: readonly string[],
  booleans: readonly string[],
): Record<string, unknown> {
  const out = { ...o };
  for (const k of numbers) {
    const v = out[k];
    if (typeof v === 'string' && NUMERIC_STRING.test(v)) out[k] = Number(v);
  }
  for (const k of booleans) {
    const v = out[k];
    if (v === 'true') out[k] = true;
    else if (v === 'false') out[k] = false;
  }
  return out;
}

/** The object a JSON text holds, or undefined when it holds something else or is not JSON. */
function jsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return isObject(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** The body with Argo's string-typed numbers and booleans turned into values; never throws. */
export function coerceBody(body: unknown): unknown {
  if (!isObject(body)) return body;
  const out = coerceFields(body, NUMBER_FIELDS.request, BOOLEAN_FIELDS.request);
  const matchers = out['matchers'];
  if (typeof matchers === 'string') {
    const parsed = jsonObject(matchers);
    if (parsed !== undefined) out['matchers'] = parsed;
  }
  const checks = out['checks'];
  if (Array.isArray(checks)) {
    out['checks'] = checks.map((c: unknown) =>
      isObject(c) ? coerceFields(c, NUMBER_FIELDS.check, BOOLEAN_FIELDS.check) : c,
    );
  }
  return out;
}

/** Parses an HTTP analysis request body into the judge's model; never throws. */
export function parseRequestBody(body: unknown): ParseResult {
  return parseAnalysisRequest(coerceBody(body), HTTP_WORDING);
}
