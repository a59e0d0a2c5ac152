/**
 * Both transports carry every field of the judge's request model, with the same type, and
 * nothing else: the model's fields (walked from the zod schema in src/judge/request.ts) are
 * compared with the proto's (walked from the descriptor that buf builds from proto/), with the
 * gRPC mapping's output for every oneof case, and with the HTTP layer's coercion lists. A field
 * added to one side only fails here.
 */

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { AnalyzeRequest } from '../../src/gen/canary_judge/v1/judge.js';
import { analysisRequestSchema } from '../../src/judge/request.js';
import { toRequestModel } from '../../src/server/grpc/mapping.js';
import { BOOLEAN_FIELDS, NUMBER_FIELDS } from '../../src/server/http/request-body.js';

/** `map`: label name → value (a zod record of strings; a proto `map<string, string>`). */
type Leaf = 'string' | 'number' | 'boolean' | 'map';

// ---- the model ----------------------------------------------------------------------------

interface Def {
  readonly type: string;
  readonly shape?: Record<string, z.ZodType>;
  readonly innerType?: z.ZodType;
  readonly in?: z.ZodType;
  readonly element?: z.ZodType;
  readonly options?: readonly z.ZodType[];
  readonly keyType?: z.ZodType;
  readonly valueType?: z.ZodType;
}

const defOf = (s: z.ZodType): Def => (s as unknown as { _zod: { def: Def } })._zod.def;

/** The schema as seen by its input: wrappers (optional, default, pipe) taken off. */
function unwrap(s: z.ZodType): z.ZodType {
  const d = defOf(s);
  if ((d.type === 'optional' || d.type === 'default') && d.innerType) return unwrap(d.innerType);
  if (d.type === 'pipe' && d.in) return unwrap(d.in);
  return s;
}

function leafOf(s: z.ZodType): Leaf {
  const d = defOf(unwrap(s));
  if (d.type === 'number' || d.type === 'boolean') return d.type;
  if (d.type === 'record' && d.keyType && d.valueType) {
    if (leafOf(d.keyType) === 'string' && leafOf(d.valueType) === 'string') return 'map';
    throw new Error('a record that is not string → string');
  }
  // A closed set of words (z.enum) is a string on both transports.
  if (d.type === 'string' || d.type === 'literal' || d.type === 'enum') return 'string';
  if (d.type === 'union' && d.options) {
    const kinds = new Set(d.options.map(leafOf));
    if (kinds.size === 1) return [...kinds][0] as Leaf;
  }
  throw new Error(`no leaf type for a ${d.type}`);
}

/** Leaf fields of the model by path: `rollout.name`, `checks[].alpha`; prefix ends in a separator. */
function modelFields(s: z.ZodType, prefix = '', out = new Map<string, Leaf>()): Map<string, Leaf> {
  const d = defOf(unwrap(s));
  if (d.type === 'object' && d.shape) {
    for (const [k, v] of Object.entries(d.shape)) {
      const inner = defOf(unwrap(v));
      if (inner.type === 'array' && inner.element) modelFields(inner.element, `${prefix}${k}[].`, out);
      else if (inner.type === 'object' || (inner.type === 'union' && isObjectUnion(inner)))
        modelFields(v, `${prefix}${k}.`, out);
      else out.set(`${prefix}${k}`, leafOf(v));
    }
    return out;
  }
  if (d.type === 'union' && isObjectUnion(d)) {
    for (const o of d.options ?? []) modelFields(o, prefix, out);
    return out;
  }
  throw new Error(`unexpected ${d.type} at ${prefix}`);
}

function isObjectUnion(d: Def): boolean {
  return (d.options ?? []).some((o) => defOf(unwrap(o)).type === 'object');
}

// ---- the proto ----------------------------------------------------------------------------

interface FieldDescriptor {
  readonly name: string;
  readonly jsonName: string;
  readonly label: string;
  readonly type: string;
  readonly typeName?: string;
  readonly oneofIndex?: number;
  readonly proto3Optional?: boolean;
}
interface MessageDescriptor {
  readonly name: string;
  readonly field: readonly FieldDescriptor[];
  readonly nestedType?: readonly MessageDescriptor[];
  readonly options?: { readonly mapEntry?: boolean };
  readonly oneofDecl?: readonly { readonly name: string }[];
}

function descriptor(): Map<string, MessageDescriptor> {
  const dir = mkdtempSync(join(tmpdir(), 'canary-judge-proto-'));
  const out = join(dir, 'descriptor.json');
  execFileSync('node_modules/.bin/buf', ['build', 'proto', '-o', out]);
  const set = JSON.parse(readFileSync(out, 'utf8')) as { file: { messageType: MessageDescriptor[] }[] };
  return new Map(set.file.flatMap((f) => f.messageType).map((m) => [m.name, m]));
}

const messages = descriptor();
const message = (typeName: string): MessageDescriptor => {
  const m = messages.get(typeName.split('.').pop() ?? '');
  if (m === undefined) throw new Error(`no message ${typeName}`);
  return m;
};

/**
 * Oneofs whose cases are messages stand, in the model, for a discriminator key; the case's
 * fields are lifted into the parent. (A oneof of scalars, like the latency threshold, is just
 * its fields.)
 */
const DISCRIMINATOR: Readonly<Record<string, string>> = { mode: 'mode', kind: 'type' };

const SCALAR: Readonly<Record<string, Leaf>> = {
  TYPE_STRING: 'string',
  TYPE_DOUBLE: 'number',
  TYPE_BOOL: 'boolean',
};

/** The map entry a field's type names (`.pkg.Msg.XEntry`), if the field is a map. */
function mapEntry(m: MessageDescriptor, f: FieldDescriptor): MessageDescriptor | undefined {
  if (f.type !== 'TYPE_MESSAGE' || f.label !== 'LABEL_REPEATED') return undefined;
  const name = f.typeName?.split('.').pop();
  return m.nestedType?.find((n) => n.name === name && n.options?.mapEntry === true);
}

function realOneof(m: MessageDescriptor, f: FieldDescriptor): string | undefined {
  if (f.oneofIndex === undefined || f.proto3Optional === true) return undefined;
  return m.oneofDecl?.[f.oneofIndex]?.name;
}

function protoFields(m: MessageDescriptor, prefix = '', out = new Map<string, Leaf>()): Map<string, Leaf> {
  for (const f of m.field) {
    const oneof = realOneof(m, f);
    const entry = mapEntry(m, f);
    if (entry !== undefined) {
      const [k, v] = entry.field;
      if (k?.type !== 'TYPE_STRING' || v?.type !== 'TYPE_STRING')
        throw new Error(`map ${m.name}.${f.name} is not string → string`);
      out.set(`${prefix}${f.jsonName}`, 'map');
      continue;
    }
    if (f.type === 'TYPE_MESSAGE') {
      const inner = message(f.typeName ?? '');
      if (oneof !== undefined) {
        const key = DISCRIMINATOR[oneof];
        if (key === undefined) throw new Error(`oneof ${m.name}.${oneof} has no model discriminator`);
        out.set(`${prefix}${key}`, 'string');
        protoFields(inner, prefix, out);
      } else {
        const sep = f.label === 'LABEL_REPEATED' ? '[].' : '.';
        protoFields(inner, `${prefix}${f.jsonName}${sep}`, out);
      }
      continue;
    }
    const leaf = SCALAR[f.type];
    if (leaf === undefined) throw new Error(`unexpected proto type ${f.type} for ${m.name}.${f.name}`);
    out.set(`${prefix}${f.jsonName}`, leaf);
  }
  return out;
}

/**
 * A message as ts-proto's `fromPartial` takes it, with every field set, taking case
 * `pick(oneof)` of each real oneof (ts-proto writes a oneof as `{ $case, value }`).
 */
function full(m: MessageDescriptor, pick: (oneof: string) => number): Record<string, unknown> {
  const json: Record<string, unknown> = {};
  const seen = new Map<string, number>();
  for (const f of m.field) {
    const oneof = realOneof(m, f);
    if (oneof !== undefined) {
      const i = seen.get(oneof) ?? 0;
      seen.set(oneof, i + 1);
      if (i !== pick(oneof)) continue;
    }
    let v: unknown;
    if (mapEntry(m, f) !== undefined) {
      json[f.jsonName] = { x: 'x' };
      continue;
    }
    if (f.type === 'TYPE_MESSAGE') v = full(message(f.typeName ?? ''), pick);
    else if (f.type === 'TYPE_STRING') v = 'x';
    else if (f.type === 'TYPE_DOUBLE') v = 0.5;
    else v = true;
    if (oneof !== undefined) json[oneof] = { $case: f.jsonName, value: v };
    else json[f.jsonName] = f.label === 'LABEL_REPEATED' ? [v] : v;
  }
  return json;
}

function valuePaths(v: unknown, prefix = '', out = new Set<string>()): Set<string> {
  if (Array.isArray(v)) for (const e of v) valuePaths(e, `${prefix}[].`, out);
  else if (v !== null && typeof v === 'object')
    for (const [k, e] of Object.entries(v)) {
      if (e !== null && typeof e === 'object')
        valuePaths(e, Array.isArray(e) ? `${prefix}${k}` : `${prefix}${k}.`, out);
      else out.add(`${prefix}${k}`);
    }
  return out;
}

// ---- the comparisons ----------------------------------------------------------------------

const model = modelFields(analysisRequestSchema);
const proto = protoFields(message('AnalyzeRequest'));
const sorted = (m: Map<string, Leaf>) => [...m.entries()].sort(([a], [b]) => a.localeCompare(b));

describe('the request model and its transports', () => {
  it('finds the model fields it knows are there (the walk itself works)', () => {
    expect(model.get('rollout.name')).toBe('string');
    expect(model.get('selector.mode')).toBe('string');
    expect(model.get('checks[].alpha')).toBe('number');
    expect(model.get('checks[].critical')).toBe('boolean');
    expect(model.get('checks[].thresholdMs')).toBe('number');
    expect(model.get('matchers')).toBe('map');
    expect(model.size).toBeGreaterThan(15);
  });

  it('the proto carries every model field with the same type, and no other', () => {
    expect(sorted(proto)).toEqual(sorted(model));
  });

  it('the gRPC mapping copies every proto field into the model, for every oneof case', () => {
    const cases: Record<string, number> = { mode: 3, kind: 4, threshold: 2 };
    const seen = new Set<string>();
    for (let mode = 0; mode < (cases['mode'] ?? 0); mode++)
      for (let kind = 0; kind < (cases['kind'] ?? 0); kind++)
        for (let threshold = 0; threshold < (cases['threshold'] ?? 0); threshold++) {
          const pick = (o: string) => ({ mode, kind, threshold })[o] ?? 0;
          const partial = full(message('AnalyzeRequest'), pick) as Partial<AnalyzeRequest>;
          const m = AnalyzeRequest.fromPartial(partial);
          for (const p of valuePaths(toRequestModel(m))) {
            // A map's keys are data, not fields: `matchers.x` is the field `matchers`.
            const map = [...model.entries()].find(([k, l]) => l === 'map' && p.startsWith(`${k}.`));
            seen.add(map === undefined ? p : map[0]);
          }
        }
    expect([...seen].sort()).toEqual([...model.keys()].sort());
  });

  it('the HTTP layer coerces exactly the model numbers and booleans from Argo strings', () => {
    const of = (leaf: Leaf) =>
      [...model.entries()]
        .filter(([, l]) => l === leaf)
        .map(([p]) => p)
        .sort();
    const coerced = (request: readonly string[], check: readonly string[]) =>
      [...request, ...check.map((k) => `checks[].${k}`)].sort();
    expect(coerced(NUMBER_FIELDS.request, NUMBER_FIELDS.check)).toEqual(of('number'));
    expect(coerced(BOOLEAN_FIELDS.request, BOOLEAN_FIELDS.check)).toEqual(of('boolean'));
  });
});
