/**
 * A service's API contract as the pre-traffic gate uses it: an OpenAPI 3 document read into the
 * requests to replay and the answers they may get. Only safe operations (GET) are replayed, so a
 * gate never changes data. Each operation's requests come from its parameters' named `examples`:
 * one request per example name, every parameter taking its value under that name (or its single
 * `example`); an operation without required parameters and without examples is replayed once as
 * is. Answers are checked against the JSON schema of the status they carry (ajv; OpenAPI 3.0's
 * schema dialect, whose extra keywords such as `example` are annotations here).
 *
 * Pure: text in, model out; reading the file is the caller's business.
 */

import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { parse as parseYaml } from 'yaml';
import { JudgeError } from '../errors.js';

/** A request of the contract, ready to be sent to a base URL. */
export interface ExampleRequest {
  readonly operationId: string;
  /** The operation as written in the contract, e.g. `GET /titles/{id}`. */
  readonly operation: string;
  /** Name of the example set it was built from (`default` for an operation replayed as is). */
  readonly example: string;
  /** Path and query to append to the target's base URL, e.g. `/titles/tt0001`. */
  readonly target: string;
}

/** What the contract says of a status for an operation: not declared, declared without a JSON body, or with a schema. */
export type Expectation = 'undeclared' | 'any-body' | 'json';

export interface Contract {
  readonly name: string;
  /** `info.version` of the document, e.g. `1.1`. */
  readonly version: string;
  readonly requests: readonly ExampleRequest[];
  /** Operations left out because they are not safe to replay (e.g. `POST /titles`). */
  readonly skipped: readonly string[];
  expectation(operationId: string, status: number): Expectation;
  /** Schema errors of a JSON body answered with a declared status, as `$.path message`; empty when valid. */
  validate(operationId: string, status: number, body: unknown): readonly string[];
}

// ajv-formats is published as CommonJS with a default export; under NodeNext it arrives wrapped.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ??
  addFormatsModule) as unknown as (ajv: Ajv) => Ajv;

const SAFE_METHODS = ['get'] as const;
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;
const JSON_MEDIA = /^application\/(?:[\w.+-]+\+)?json\b/i;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const pointer = (...parts: string[]): string =>
  parts.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');

function invalid(name: string, message: string): JudgeError {
  return new JudgeError('invalid_request', `contract ${name}: ${message}`, { field: 'contract' });
}

interface Parameter {
  readonly name: string;
  readonly in: 'path' | 'query';
  readonly required: boolean;
  readonly example: unknown;
  readonly examples: ReadonlyMap<string, unknown>;
}

function readParameters(name: string, where: string, raw: unknown, doc: Obj): Parameter[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) throw invalid(name, `${where}: parameters is not a list`);
  const out: Parameter[] = [];
  for (const entry of raw) {
    const p = resolveRef(name, doc, entry);
    const pin = p['in'];
    const pname = p['name'];
    if (typeof pname !== 'string') throw invalid(name, `${where}: a parameter has no name`);
    if (pin === 'header' || pin === 'cookie') {
      if (p['required'] === true)
        throw invalid(name, `${where}: required ${pin} parameter ${pname} cannot be replayed`);
      continue;
    }
    if (pin !== 'path' && pin !== 'query')
      throw invalid(name, `${where}: parameter ${pname} has in: ${String(pin)}`);
    const examples = new Map<string, unknown>();
    if (isObj(p['examples'])) {
      for (const [k, v] of Object.entries(p['examples'])) {
        const ex = resolveRef(name, doc, v);
        if ('value' in ex) examples.set(k, ex['value']);
      }
    }
    out.push({
      name: pname,
      in: pin,
      required: pin === 'path' || p['required'] === true,
      example: p['example'],
      examples,
    });
  }
  return out;
}

function resolveRef(name: string, doc: Obj, v: unknown): Obj {
  if (!isObj(v)) throw invalid(name, 'expected an object');
  const ref = v['$ref'];
  if (typeof ref !== 'string') return v;
  if (!ref.startsWith('#/')) throw invalid(name, `only local $refs are supported, not ${ref}`);
  let cur: unknown = doc;
  for (const part of ref.slice(2).split('/')) {
    const key = part.replace(/~1/g, '/').replace(/~0/g, '~');
    cur = isObj(cur) ? cur[key] : undefined;
  }
  if (!isObj(cur)) throw invalid(name, `$ref ${ref} points nowhere`);
  return cur;
}

function scalar(name: string, where: string, v: unknown): string {
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw invalid(name, `${where}: example values must be strings, numbers or booleans`);
}

function buildRequests(
  name: string,
  opId: string,
  op: string,
  path: string,
  params: Parameter[],
): ExampleRequest[] {
  const names = [...new Set(params.flatMap((p) => [...p.examples.keys()]))];
  if (names.length === 0 && params.some((p) => p.example !== undefined)) names.push('default');
  if (names.length === 0) {
    if (params.some((p) => p.required))
      throw invalid(name, `${op}: required parameters but no examples to replay`);
    names.push('default');
  }
  return names.map((example) => {
    let rendered = path;
    const query = new URLSearchParams();
    for (const p of params) {
      const value = p.examples.has(example) ? p.examples.get(example) : p.example;
      if (value === undefined) {
        if (p.required)
          throw invalid(name, `${op}: example ${example} has no value for required parameter ${p.name}`);
        continue;
      }
      const text = scalar(name, `${op} parameter ${p.name}`, value);
      if (p.in === 'path') rendered = rendered.split(`{${p.name}}`).join(encodeURIComponent(text));
      else query.append(p.name, text);
    }
    if (/\{[^}]*\}/.test(rendered))
      throw invalid(name, `${op}: path parameter without a declaration in ${path}`);
    const qs = query.toString();
    return { operationId: opId, operation: op, example, target: qs === '' ? rendered : `${rendered}?${qs}` };
  });
}

interface Responses {
  /** Status key as declared (`200`, `4XX`, `default`) → compiled body schema, or null when no JSON body. */
  readonly byKey: ReadonlyMap<string, ValidateFunction | null>;
}

function lookup(responses: Responses, status: number): ValidateFunction | null | undefined {
  const exact = responses.byKey.get(String(status));
  if (exact !== undefined) return exact;
  const range = responses.byKey.get(`${Math.floor(status / 100)}XX`);
  if (range !== undefined) return range;
  return responses.byKey.get('DEFAULT');
}

/** `/items/0/year` → `$.items[].year`: one path for every element, as the shape comparison names them. */
function jsonPath(instancePath: string): string {
  return (
    '$' +
    instancePath
      .split('/')
      .slice(1)
      .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
      .map((p) => (/^\d+$/.test(p) ? '[]' : `.${p}`))
      .join('')
  );
}

/** Reads an OpenAPI 3 document (YAML or JSON text) into a contract; a bad document is an invalid_request naming it. */
export function parseContract(name: string, text: string): Contract {
  let doc: unknown;
  try {
    doc = parseYaml(text, { maxAliasCount: 100 });
  } catch (e) {
    throw invalid(name, `not YAML or JSON (${e instanceof Error ? e.message.split('\n')[0] : String(e)})`);
  }
  if (!isObj(doc) || typeof doc['openapi'] !== 'string' || !doc['openapi'].startsWith('3.'))
    throw invalid(name, 'not an OpenAPI 3 document (no openapi: 3.x)');
  const info = isObj(doc['info']) ? doc['info'] : {};
  const version = typeof info['version'] === 'string' ? info['version'] : '?';
  const paths = doc['paths'];
  if (!isObj(paths)) throw invalid(name, 'has no paths');

  const ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false });
  addFormats(ajv);
  const docId = 'contract';
  try {
    ajv.addSchema(doc, docId);
  } catch (e) {
    throw invalid(name, `schemas do not compile (${e instanceof Error ? e.message : String(e)})`);
  }

  const requests: ExampleRequest[] = [];
  const skipped: string[] = [];
  const responsesOf = new Map<string, Responses>();
  for (const [path, item] of Object.entries(paths)) {
    if (!isObj(item)) continue;
    for (const method of METHODS) {
      const raw = item[method];
      if (!isObj(raw)) continue;
      const op = `${method.toUpperCase()} ${path}`;
      if (!(SAFE_METHODS as readonly string[]).includes(method)) {
        skipped.push(op);
        continue;
      }
      const opId = typeof raw['operationId'] === 'string' ? raw['operationId'] : op;
      const byName = new Map<string, Parameter>();
      for (const p of readParameters(name, op, item['parameters'], doc)) byName.set(`${p.in}:${p.name}`, p);
      for (const p of readParameters(name, op, raw['parameters'], doc)) byName.set(`${p.in}:${p.name}`, p);
      requests.push(...buildRequests(name, opId, op, path, [...byName.values()]));

      const declared = new Map<string, ValidateFunction | null>();
      const responses = raw['responses'];
      if (!isObj(responses)) throw invalid(name, `${op} declares no responses`);
      for (const [key, r] of Object.entries(responses)) {
        const response = resolveRef(name, doc, r);
        const content = isObj(response['content']) ? response['content'] : {};
        const media = Object.keys(content).find((m) => JSON_MEDIA.test(m));
        const body = media === undefined ? undefined : content[media];
        if (media === undefined || !isObj(body) || body['schema'] === undefined) {
          declared.set(key.toUpperCase(), null);
          continue;
        }
        const where =
          isObj(r) && typeof r['$ref'] === 'string'
            ? r['$ref'].slice(1)
            : `/${pointer('paths', path, method, 'responses', key)}`;
        try {
          declared.set(
            key.toUpperCase(),
            ajv.compile({ $ref: `${docId}#${where}/${pointer('content', media, 'schema')}` }),
          );
        } catch (e) {
          throw invalid(
            name,
            `${op} response ${key}: schema does not compile (${e instanceof Error ? e.message : String(e)})`,
          );
        }
      }
      responsesOf.set(opId, { byKey: declared });
    }
  }
  if (requests.length === 0) throw invalid(name, 'has no safe (GET) operation to replay');

  return {
    name,
    version,
    requests,
    skipped,
    expectation(operationId, status) {
      const responses = responsesOf.get(operationId);
      const v = responses === undefined ? undefined : lookup(responses, status);
      return v === undefined ? 'undeclared' : v === null ? 'any-body' : 'json';
    },
    validate(operationId, status, body) {
      const responses = responsesOf.get(operationId);
      const v = responses === undefined ? undefined : lookup(responses, status);
      if (v === undefined || v === null || v(body)) return [];
      return [
        ...new Set((v.errors ?? []).map((e) => `${jsonPath(e.instancePath)} ${e.message ?? 'invalid'}`)),
      ];
    },
  };
}
