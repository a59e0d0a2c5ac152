/**
 * The contract model and the comparison, pure: which requests a contract yields, what it
 * declares, and every kind of break the comparison names (and the additions it lets through).
 */

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compareAnswers, shapeDiff, type Answer } from '../../src/contract/compare.js';
import { parseContract } from '../../src/contract/contract.js';
import { JudgeError } from '../../src/errors.js';

const catalogo = parseContract(
  'catalogo',
  readFileSync(resolve(import.meta.dirname, '../../contracts/catalogo/openapi.yaml'), 'utf8'),
);
const json = (status: number, value: unknown): Answer => ({ status, body: { kind: 'json', value } });
const title = {
  id: 'tt0001',
  name: 'Mar',
  kind: 'series',
  year: 2025,
  genres: ['drama'],
  durationMinutes: 52,
};
const getTitle = catalogo.requests.find((r) => r.target === '/titles/tt0001')!;

function refusal(text: string): JudgeError {
  try {
    parseContract('c', text);
  } catch (e) {
    return e as JudgeError;
  }
  throw new Error('parsed');
}

describe('contract model', () => {
  it('builds one request per example name of the shipped catalogo contract, GETs only', () => {
    expect(catalogo.version).toBe('1.1');
    expect(catalogo.requests.map((r) => `${r.operationId} ${r.example} ${r.target}`)).toEqual([
      'listTitles drama /titles?genre=drama&limit=5',
      'listTitles first-page /titles?limit=20',
      'getTitle series /titles/tt0001',
      'getTitle film /titles/tt0002',
      'searchTitles by-word /search?q=mar',
    ]);
  });

  it('skips unsafe operations and says which', () => {
    const c = parseContract(
      'c',
      `openapi: 3.0.3
info: {title: c, version: "2"}
paths:
  /things:
    get: {operationId: list, responses: {"200": {description: ok}}}
    post: {operationId: create, responses: {"201": {description: created}}}`,
    );
    expect(c.requests.map((r) => r.target)).toEqual(['/things']);
    expect(c.skipped).toEqual(['POST /things']);
  });

  it('encodes path and query example values', () => {
    const c = parseContract(
      'c',
      `openapi: 3.0.3
info: {title: c, version: "1"}
paths:
  /t/{id}:
    get:
      parameters:
        - {name: id, in: path, required: true, schema: {type: string}, example: "a b/c"}
        - {name: q, in: query, schema: {type: string}, example: "x&y"}
      responses: {"200": {description: ok}}`,
    );
    expect(c.requests[0]?.target).toBe('/t/a%20b%2Fc?q=x%26y');
  });

  it.each([
    ['not YAML', 'a: [', /not YAML or JSON/],
    ['not OpenAPI 3', 'swagger: "2.0"', /not an OpenAPI 3 document/],
    [
      'a required parameter without an example',
      `openapi: 3.0.3
info: {title: c, version: "1"}
paths:
  /t/{id}:
    get:
      parameters: [{name: id, in: path, required: true, schema: {type: string}}]
      responses: {"200": {description: ok}}`,
      /GET \/t\/\{id\}: required parameters but no examples to replay/,
    ],
    [
      'no safe operation',
      `openapi: 3.0.3
info: {title: c, version: "1"}
paths:
  /t:
    delete: {responses: {"204": {description: gone}}}`,
      /no safe \(GET\) operation/,
    ],
    [
      'a remote $ref',
      `openapi: 3.0.3
info: {title: c, version: "1"}
paths:
  /t:
    get:
      parameters: [{$ref: "http://example.com/p.yaml"}]
      responses: {"200": {description: ok}}`,
      /only local \$refs/,
    ],
  ])('refuses a contract with %s, naming it', (_what, text, message) => {
    const e = refusal(text);
    expect(e.code).toBe('invalid_request');
    expect(e.field).toBe('contract');
    expect(e.message).toMatch(message);
  });

  it('knows which statuses an operation declares, ranges and default included', () => {
    expect(catalogo.expectation('getTitle', 200)).toBe('json');
    expect(catalogo.expectation('getTitle', 404)).toBe('json');
    expect(catalogo.expectation('getTitle', 500)).toBe('undeclared');
    const c = parseContract(
      'c',
      `openapi: 3.0.3
info: {title: c, version: "1"}
paths:
  /t:
    get:
      responses: {"2XX": {description: ok}, default: {description: anything}}`,
    );
    expect(c.expectation('GET /t', 204)).toBe('any-body');
    expect(c.expectation('GET /t', 503)).toBe('any-body');
  });
});

describe('comparison of the canary with the stable', () => {
  it('accepts identical answers and additions (a new field)', () => {
    expect(compareAnswers(catalogo, getTitle, json(200, title), json(200, title))).toEqual([]);
    expect(
      compareAnswers(catalogo, getTitle, json(200, { ...title, rating: 4.2 }), json(200, title)),
    ).toEqual([]);
  });

  it('names a lost field, both by schema and against the stable', () => {
    const { name: _gone, ...rest } = title;
    const f = compareAnswers(catalogo, getTitle, json(200, { ...rest, title: 'Mar' }), json(200, title));
    expect(f.map((x) => x.message)).toEqual([
      "canary: $ must have required property 'name'",
      '$.name lost (the stable has it)',
    ]);
  });

  it('names a retyped field', () => {
    const f = compareAnswers(catalogo, getTitle, json(200, { ...title, year: '2025' }), json(200, title));
    expect(f.map((x) => x.kind)).toEqual(['schema_violation', 'type_changed']);
    expect(f[1]?.message).toBe('$.year changed type: number → string');
  });

  it('names an optional field lost that the schema alone would allow', () => {
    const f = compareAnswers(catalogo, getTitle, json(200, title), json(200, { ...title, seasons: 2 }));
    expect(f).toEqual([
      {
        side: 'canary',
        kind: 'field_lost',
        path: '$.seasons',
        message: '$.seasons lost (the stable has it)',
      },
    ]);
  });

  it('names a changed status even when the contract declares both', () => {
    const f = compareAnswers(
      catalogo,
      getTitle,
      json(404, { code: 'not_found', message: 'no' }),
      json(200, title),
    );
    expect(f.map((x) => x.message)).toEqual(['canary answered 404 where the stable answered 200']);
  });

  it('names an undeclared status, a body that is not JSON and one too large', () => {
    expect(compareAnswers(catalogo, getTitle, json(500, {}), json(200, title))[0]?.kind).toBe(
      'undeclared_status',
    );
    const notJson: Answer = { status: 200, body: { kind: 'not-json' } };
    expect(compareAnswers(catalogo, getTitle, notJson, json(200, title)).map((x) => x.kind)).toEqual([
      'not_json',
    ]);
    const big: Answer = { status: 200, body: { kind: 'too-large', limitBytes: 10 } };
    expect(compareAnswers(catalogo, getTitle, big, json(200, title)).map((x) => x.kind)).toEqual([
      'too_large',
    ]);
  });

  it("reports the stable breaking the contract as the stable's, not the canary's", () => {
    const f = compareAnswers(catalogo, getTitle, json(200, title), json(200, { ...title, year: 'x' }));
    expect(f.filter((x) => x.side === 'stable').map((x) => x.message)).toEqual([
      'stable: $.year must be integer',
    ]);
  });

  it('compares arrays by the union of their elements, reporting a lost subtree once', () => {
    const stable = { items: [{ a: 1, b: { c: 'x' } }, { a: 2 }] };
    expect(shapeDiff(stable, { items: [{ a: 1 }] }).map((x) => x.message)).toEqual([
      '$.items[].b lost (the stable has it)',
    ]);
    expect(shapeDiff(stable, { items: [] }).map((x) => x.message)).toEqual([
      '$.items[] lost (the stable has it)',
    ]);
    expect(shapeDiff({ a: null }, { a: 'now set' })).toEqual([]);
    expect(shapeDiff({ a: [1] }, { a: { 0: 1 } }).map((x) => x.message)).toEqual([
      '$.a changed type: array → object',
    ]);
  });
});
