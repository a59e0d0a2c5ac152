/**
 * The contract gate end to end inside one process: the real judge service (its HTTP transport,
 * config and fetcher) replays the shipped catalogo contract against real stand-in servers of
 * catalogo v1.1, a compatible v1.2 and a breaking v1.2 (test/support/catalogo-standins.ts).
 */

import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ContractCheckResult } from '../../src/contract/index.js';
import type { ErrorCode } from '../../src/errors.js';
import { startStandIn, type StandIn } from '../support/catalogo-standins.js';
import { startJudge, type JudgeHandle } from './harness/judge.js';

const CONTRACT = resolve(import.meta.dirname, '../../contracts/catalogo/openapi.yaml');
/** The judge's answer: a check's result, or one of its JSON errors. */
type Answer = Partial<ContractCheckResult> & { error?: { code: ErrorCode; message: string; field?: string } };

const TOKEN = 'contract-gate-test-token-0123456789';

async function listen(handler: Parameters<typeof createServer>[1]): Promise<{ server: Server; url: string }> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

describe('contract gate: the judge replays the catalogo contract against stand-ins', () => {
  let dir: string;
  let judge: JudgeHandle;
  let v11: StandIn;
  let compatible: StandIn;
  let breaking: StandIn;
  let outside: StandIn;
  let hanging: Server;
  let hangingUrl: string;
  let redirecting: { server: Server; url: string };
  let huge: { server: Server; url: string };
  let freePort: number;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'contracts-'));
    copyFileSync(CONTRACT, join(dir, 'catalogo.yaml'));
    [v11, compatible, breaking, outside] = await Promise.all([
      startStandIn('v1.1'),
      startStandIn('v1.2-compatible'),
      startStandIn('v1.2-breaking'),
      startStandIn('v1.1'),
    ]);
    ({ server: hanging, url: hangingUrl } = await listen(() => undefined));
    redirecting = await listen((_req, res) => {
      res.writeHead(302, { location: `${outside.url}/titles` }).end();
    });
    huge = await listen((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ items: [], total: 0, pad: 'x'.repeat(64 * 1024) }));
    });
    const closed = await listen(() => undefined);
    freePort = (closed.server.address() as AddressInfo).port;
    await new Promise((r) => closed.server.close(r));
    const allowed = [v11, compatible, breaking]
      .map((s) => `127.0.0.1:${s.port}`)
      .concat(
        [hangingUrl, redirecting.url, huge.url].map((u) => new URL(u).host),
        [`127.0.0.1:${freePort}`],
      );
    judge = await startJudge('http://127.0.0.1:1', {
      CANARY_JUDGE_AUTH_TOKEN: TOKEN,
      CANARY_JUDGE_CONTRACTS_DIR: dir,
      CANARY_JUDGE_CONTRACT_TARGETS: allowed.join(','),
      CANARY_JUDGE_CONTRACT_REQUEST_TIMEOUT: '500ms',
      CANARY_JUDGE_CONTRACT_MAX_RESPONSE_BYTES: '32768',
    });
  });

  afterAll(async () => {
    await judge?.close();
    await Promise.all([v11, compatible, breaking, outside].map((s) => s?.close()));
    for (const s of [hanging, redirecting?.server, huge?.server]) {
      s?.closeAllConnections();
      s?.close();
    }
    rmSync(dir, { recursive: true, force: true });
  });

  async function check(canary: string, stable: string, body: Record<string, unknown> = {}) {
    const res = await fetch(`${judge.url}/api/v1/contract-checks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ contract: 'catalogo', canary, stable, ...body }),
    });
    return { status: res.status, body: (await res.json()) as Answer };
  }

  it('passes v1.1 against itself, and sends only GETs (two per example request)', async () => {
    const before = v11.served.length;
    const r = await check(v11.url, v11.url);
    expect(r.status).toBe(200);
    expect(r.body.verdict).toBe('Pass');
    expect(r.body.measurement).toEqual({ verdict: 'Pass', summary: r.body.summary });
    const sent = v11.served.slice(before);
    expect(sent).toHaveLength(r.body.requests ?? -1);
    expect(sent.every((s) => s.startsWith('GET '))).toBe(true);
    expect(sent).toContain('GET /titles/tt0001');
    expect(sent).toContain('GET /search?q=mar');
  });

  it('passes a v1.2 that adds a field and an endpoint', async () => {
    const r = await check(compatible.url, v11.url);
    expect(r.status).toBe(200);
    expect(r.body.verdict).toBe('Pass');
    expect(r.body.summary).toMatch(/^Pass contract catalogo 1\.1: 5 requests to 3 operations/);
  });

  it('fails the breaking v1.2 and names each break: renamed field, retyped field, dropped endpoint, 404 for 200', async () => {
    const r = await check(breaking.url, v11.url);
    expect(r.status).toBe(200);
    expect(r.body.verdict).toBe('Fail');
    const s = r.body.summary ?? '';
    expect(s).toMatch(/^Fail contract catalogo 1\.1: 5 of 5 requests broken/);
    // Renamed: the stable's `name` is gone from every summary list, and the schema says so too.
    expect(s).toContain(
      "listTitles (GET /titles?limit=20): canary: $.items[] must have required property 'name'",
    );
    expect(s).toContain('$.items[].name lost (the stable has it)');
    // Retyped: year is a string in a title by id.
    expect(s).toContain('getTitle (GET /titles/tt0001): canary: $.year must be integer');
    expect(s).toContain('$.year changed type: number → string');
    // Dropped: /search answers 404, which the contract does not declare for it.
    expect(s).toContain(
      'searchTitles (GET /search?q=mar): canary answered 404, not a status catalogo 1.1 declares, canary answered 404 where the stable answered 200',
    );
    // 404 where v1.1 answered 200 (declared for getTitle, but not what the stable said).
    expect(s).toContain('getTitle (GET /titles/tt0002): canary answered 404 where the stable answered 200');
    const kinds = new Set((r.body.replays ?? []).flatMap((x) => x.findings.map((f) => f.kind)));
    expect([...kinds].sort()).toEqual(
      ['field_lost', 'schema_violation', 'status_changed', 'type_changed', 'undeclared_status'].sort(),
    );
  });

  it('answers an Error (502, no verdict) when the canary is down', async () => {
    const r = await check(`http://127.0.0.1:${freePort}`, v11.url);
    expect(r.status).toBe(502);
    expect(r.body.error?.code).toBe('contract_target_unavailable');
    expect(r.body.verdict).toBeUndefined();
  });

  it('answers an Error (504) when the stable accepts and never answers', async () => {
    const t0 = Date.now();
    const r = await check(v11.url, hangingUrl);
    expect(r.status).toBe(504);
    expect(r.body.error?.code).toBe('contract_target_timeout');
    expect(Date.now() - t0).toBeLessThan(3000);
  });

  it('refuses a target outside the allow-list with 403 and sends it nothing', async () => {
    const r = await check(outside.url, v11.url);
    expect(r.status).toBe(403);
    expect(r.body.error).toMatchObject({ code: 'target_not_allowed', field: 'canary' });
    expect(r.body.error?.message).toContain(
      `127.0.0.1:${outside.port} is not in the judge's contract targets`,
    );
    expect(outside.served).toEqual([]);
  });

  it('does not follow a redirect: the 302 is the answer, and its target gets nothing', async () => {
    const r = await check(redirecting.url, v11.url);
    expect(r.body.verdict).toBe('Fail');
    expect(r.body.summary).toContain('canary answered 302, not a status catalogo 1.1 declares');
    expect(outside.served).toEqual([]);
  });

  it('fails an answer larger than the size cap without reading it all', async () => {
    const r = await check(huge.url, v11.url);
    expect(r.body.verdict).toBe('Fail');
    expect(r.body.summary).toContain("canary's answer is larger than 32768 bytes");
  });

  it('refuses an unknown contract, a bad URL and a missing token with clear 4xx errors', async () => {
    const unknown = await check(v11.url, v11.url, { contract: 'nope' });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error).toMatchObject({ code: 'invalid_request', field: 'contract' });
    const traversal = await check(v11.url, v11.url, { contract: '../etc/passwd' });
    expect(traversal.status).toBe(400);
    const ftp = await check('ftp://127.0.0.1/x', v11.url);
    expect(ftp.body.error).toMatchObject({ code: 'invalid_request', field: 'canary' });
    const anon = await fetch(`${judge.url}/api/v1/contract-checks`, { method: 'POST', body: '{}' });
    expect(anon.status).toBe(401);
  });
});
