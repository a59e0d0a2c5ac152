/**
 * The comparison at the heart of the contract gate, pure: given the canary's and the stable's
 * answers to the same contract request, list every way the canary breaks what consumers rely on.
 *
 *   - a status the contract does not declare for the operation (a 404 for an unknown path, a 3xx
 *     redirect, a 500);
 *   - a status other than the stable's (the stable answered 200, the canary 404);
 *   - a body that is not valid against the contract's schema for its status;
 *   - a field the stable's answer has and the canary's lacks, or whose JSON type changed
 *     (compared by shape: arrays by the union of their elements' fields, so `items[].year` is
 *     one path however many items there are). Fields only the canary has are additions, allowed.
 *
 * The stable is checked against the contract too: when the stable itself does not honour the
 * contract, the contract or the stable is wrong, and a comparison against it proves nothing.
 */

import type { Contract, ExampleRequest } from './contract.js';

/** One answer as fetched: its status and, when it was JSON within the size cap, its body. */
export interface Answer {
  readonly status: number;
  readonly body:
    | { readonly kind: 'json'; readonly value: unknown }
    | { readonly kind: 'not-json' }
    | { readonly kind: 'too-large'; readonly limitBytes: number };
}

export type FindingKind =
  | 'undeclared_status'
  | 'status_changed'
  | 'schema_violation'
  | 'field_lost'
  | 'type_changed'
  | 'not_json'
  | 'too_large';

export type Side = 'canary' | 'stable';

export interface Finding {
  readonly side: Side;
  readonly kind: FindingKind;
  /** JSON path of the field at fault, e.g. `$.items[].year` (field and schema findings). */
  readonly path?: string;
  /** One readable clause, e.g. `$.items[].year changed type: number → string`. */
  readonly message: string;
}

export type JsonType = 'null' | 'boolean' | 'number' | 'string' | 'array' | 'object';

export function jsonType(v: unknown): JsonType {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  const t = typeof v;
  return t === 'boolean' || t === 'number' || t === 'string' ? t : 'object';
}

/** Every path of a JSON value with the types seen there; array elements share the path `[]`. */
export function shapeOf(
  v: unknown,
  path = '$',
  out = new Map<string, Set<JsonType>>(),
): Map<string, Set<JsonType>> {
  const t = jsonType(v);
  let seen = out.get(path);
  if (seen === undefined) out.set(path, (seen = new Set()));
  seen.add(t);
  if (t === 'array') for (const item of v as unknown[]) shapeOf(item, `${path}[]`, out);
  else if (t === 'object')
    for (const [k, child] of Object.entries(v as Record<string, unknown>)) {
      shapeOf(child, `${path}.${/^[A-Za-z_$][\w$]*$/.test(k) ? k : JSON.stringify(k)}`, out);
    }
  return out;
}

/** Fields of the stable's answer the canary's lacks or holds with another type; outermost first. */
export function shapeDiff(stable: unknown, canary: unknown): Finding[] {
  const s = shapeOf(stable);
  const c = shapeOf(canary);
  const out: Finding[] = [];
  const reported: string[] = [];
  for (const [path, types] of s) {
    // Below a field already reported lost or retyped, everything is lost: say it once.
    if (reported.some((r) => path.startsWith(r) && /^[.[]/.test(path.slice(r.length)))) continue;
    const theirs = c.get(path);
    if (theirs === undefined) {
      out.push({ side: 'canary', kind: 'field_lost', path, message: `${path} lost (the stable has it)` });
      reported.push(path);
      continue;
    }
    // Types the stable shows that the canary never does (null beside a value is data, not shape).
    const gone = [...types].filter((t) => !theirs.has(t) && t !== 'null');
    if (gone.length > 0) {
      const now = [...theirs].filter((t) => !types.has(t));
      out.push({
        side: 'canary',
        kind: 'type_changed',
        path,
        message: `${path} changed type: ${gone.join('|')} → ${(now.length > 0 ? now : [...theirs]).join('|')}`,
      });
      reported.push(path);
    }
  }
  return out;
}

function checkOne(contract: Contract, req: ExampleRequest, side: Side, a: Answer): Finding[] {
  const expected = contract.expectation(req.operationId, a.status);
  if (expected === 'undeclared')
    return [
      {
        side,
        kind: 'undeclared_status',
        message: `${side} answered ${a.status}, not a status ${contract.name} ${contract.version} declares`,
      },
    ];
  if (expected === 'any-body') return [];
  switch (a.body.kind) {
    case 'too-large':
      return [
        { side, kind: 'too_large', message: `${side}'s answer is larger than ${a.body.limitBytes} bytes` },
      ];
    case 'not-json':
      return [
        { side, kind: 'not_json', message: `${side} answered ${a.status} with a body that is not JSON` },
      ];
    case 'json':
      return contract.validate(req.operationId, a.status, a.body.value).map((e) => ({
        side,
        kind: 'schema_violation',
        path: e.split(' ')[0] as string,
        message: `${side}: ${e}`,
      }));
  }
}

/** Everything wrong with one replayed request: the stable's own problems first, then the canary's. */
export function compareAnswers(
  contract: Contract,
  req: ExampleRequest,
  canary: Answer,
  stable: Answer,
): Finding[] {
  const out = [...checkOne(contract, req, 'stable', stable), ...checkOne(contract, req, 'canary', canary)];
  if (canary.status !== stable.status) {
    out.push({
      side: 'canary',
      kind: 'status_changed',
      message: `canary answered ${canary.status} where the stable answered ${stable.status}`,
    });
    return out;
  }
  if (canary.body.kind === 'json' && stable.body.kind === 'json')
    out.push(...shapeDiff(stable.body.value, canary.body.value));
  return out;
}
