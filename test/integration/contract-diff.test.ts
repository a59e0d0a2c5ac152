/**
 * The static contract check (scripts/contract-diff.sh, oasdiff built from its Go module) on
 * pairs of documents: the shipped catalogo v1.1 contract against revisions that each make one
 * kind of breaking change, and against one that only adds. Each revision is the contract with one
 * edit, made here, so the edit under test is the only difference.
 */

import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';

const ROOT = resolve(import.meta.dirname, '../..');
const BASE = join(ROOT, 'contracts/catalogo/openapi.yaml');
/** An OpenAPI document as parsed, edited freely by the cases below. */
type Doc = Record<string, any>;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'contract-diff-'));
  // Builds oasdiff into the cache on first use (.ci/run does it before the tests).
  execFileSync('bash', [join(ROOT, 'scripts/oasdiff.sh')], { stdio: ['ignore', 'ignore', 'inherit'] });
}, 600_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function base(): Doc {
  return parse(readFileSync(BASE, 'utf8')) as Doc;
}

function diff(name: string, baseDoc: Doc, revision: Doc): { rc: number | null; out: string } {
  const b = join(dir, `${name}.base.yaml`);
  const r = join(dir, `${name}.yaml`);
  writeFileSync(b, stringify(baseDoc));
  writeFileSync(r, stringify(revision));
  const p = spawnSync('bash', [join(ROOT, 'scripts/contract-diff.sh'), b, r], { encoding: 'utf8' });
  return { rc: p.status, out: p.stdout + p.stderr };
}

function edited(edit: (d: Doc) => void): Doc {
  const d = base();
  edit(d);
  return d;
}

describe('static contract check (oasdiff)', () => {
  it('allows additions: a new response field, a new endpoint, a new optional parameter', () => {
    const r = diff(
      'additive',
      base(),
      edited((d) => {
        d.info.version = '1.2';
        d.components.schemas.Title.properties.rating = { type: 'number' };
        d.components.schemas.TitleSummary.properties.rating = { type: 'number' };
        d.paths['/titles/{id}/similar'] = {
          get: {
            operationId: 'similarTitles',
            parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
            responses: {
              '200': {
                description: 'similar',
                content: { 'application/json': { schema: { $ref: '#/components/schemas/TitlePage' } } },
              },
            },
          },
        };
        d.paths['/titles'].get.parameters.push({
          name: 'lang',
          in: 'query',
          required: false,
          schema: { type: 'string' },
        });
      }),
    );
    expect(r.out).toMatch(/honours .*: no breaking change/);
    expect(r.rc).toBe(0);
  });

  it.each<[string, (d: Doc) => void, RegExp]>([
    [
      'a removed path',
      (d) => delete d.paths['/search'],
      /BREAK GET \/search \(searchTitles\): API path removed without deprecation/,
    ],
    [
      'a removed response field',
      (d) => {
        delete d.components.schemas.TitleSummary.properties.name;
        d.components.schemas.TitleSummary.required = ['id', 'kind', 'year'];
      },
      /BREAK GET \/titles \(listTitles\): removed the required property `items\/items\/name` from the response with the `200` status/,
    ],
    [
      'a removed optional response field',
      (d) => delete d.components.schemas.Title.properties.seasons,
      /BREAK GET \/titles\/\{id\} \(getTitle\): removed the optional property `seasons` from the response with the `200` status/,
    ],
    [
      'a retyped response field',
      (d) => (d.components.schemas.Title.properties.year = { type: 'string' }),
      /BREAK GET \/titles\/\{id\} \(getTitle\): the `year` response's property `type` changed from `integer` to `string`/,
    ],
    [
      'a new required request parameter',
      (d) =>
        d.paths['/search'].get.parameters.push({
          name: 'region',
          in: 'query',
          required: true,
          schema: { type: 'string' },
        }),
      /BREAK GET \/search \(searchTitles\): added the new required `query` request parameter `region`/,
    ],
    [
      'a narrowed enum',
      (d) => (d.components.schemas.Genre.enum = ['drama', 'comedy', 'documentary', 'kids']),
      /BREAK GET \/titles \(listTitles\): removed the enum value `thriller` from the `query` request parameter `genre`/,
    ],
    [
      'a removed error status',
      (d) => delete d.paths['/titles/{id}'].get.responses['404'],
      /BREAK GET \/titles\/\{id\} \(getTitle\): removed the non-success response with the status `404`/,
    ],
    [
      'a changed status code',
      (d) => {
        const r = d.paths['/titles/{id}'].get.responses;
        r['203'] = r['200'];
        delete r['200'];
      },
      /BREAK GET \/titles\/\{id\} \(getTitle\): removed the success response with the status `200`/,
    ],
  ])('names %s and exits 1', (name, edit, line) => {
    const r = diff(name.replace(/\W+/g, '-'), base(), edited(edit));
    expect(r.out).toMatch(/^contract-diff: \d+ breaking change\(s\) from /);
    expect(r.out).toMatch(line);
    expect(r.rc).toBe(1);
  });

  it('names a removed operation on a path that keeps others', () => {
    const withPost = edited((d) => {
      d.paths['/titles'].post = {
        operationId: 'createTitle',
        responses: { '201': { description: 'created' } },
      };
    });
    const r = diff('removed-operation', withPost, base());
    expect(r.out).toMatch(/BREAK POST \/titles \(createTitle\): API removed without deprecation/);
    expect(r.rc).toBe(1);
  });

  it("judges the stand-ins' own v1.2 documents: the compatible one passes, the breaking one is named", () => {
    const run = (f: string) =>
      spawnSync(
        'bash',
        [join(ROOT, 'scripts/contract-diff.sh'), BASE, join(ROOT, 'test/fixtures/contracts', f)],
        {
          encoding: 'utf8',
        },
      );
    const ok = run('catalogo-v1.2-compatible.yaml');
    expect(ok.stdout).toContain('no breaking change');
    expect(ok.status).toBe(0);
    const broken = run('catalogo-v1.2-breaking.yaml');
    expect(broken.stdout.split('\n').filter((l) => l.startsWith('  BREAK '))).toEqual([
      '  BREAK GET /search (searchTitles): API path removed without deprecation [api-path-removed-without-deprecation, error]',
      '  BREAK GET /titles (listTitles): removed the required property `items/items/name` from the response with the `200` status [response-required-property-removed, error]',
      "  BREAK GET /titles/{id} (getTitle): the `year` response's property `type` changed from `integer` to `string` for status `200` [response-property-type-changed, error]",
    ]);
    expect(broken.status).toBe(1);
  });

  it('exits 2, not 0, when a document cannot be read', () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'openapi: [');
    const p = spawnSync('bash', [join(ROOT, 'scripts/contract-diff.sh'), BASE, bad], { encoding: 'utf8' });
    expect(p.stderr).toContain('oasdiff could not compare the documents');
    expect(p.status).toBe(2);
    expect(
      spawnSync('bash', [join(ROOT, 'scripts/contract-diff.sh'), BASE, join(dir, 'missing.yaml')]).status,
    ).toBe(2);
  });
});
