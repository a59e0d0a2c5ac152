/** The contract gate's allow-list: which targets the judge may reach, and the refusals; contract paths cannot leave them. */

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createContractChecker } from '../../src/contract/check.js';
import { admitTarget, parseTargetPatterns } from '../../src/contract/targets.js';
import { loadConfig } from '../../src/config/index.js';

const { patterns } = parseTargetPatterns('*.catalogo.svc.cluster.local:8080, 127.0.0.1');
const refused = (url: string): string => {
  try {
    admitTarget(url, 'canary', patterns);
  } catch (e) {
    return `${(e as { code: string }).code}: ${(e as Error).message}`;
  }
  return 'admitted';
};

describe('contract targets allow-list', () => {
  it('admits hosts matching a pattern, port included', () => {
    expect(
      admitTarget('http://catalogo-canary.catalogo.svc.cluster.local:8080', 'canary', patterns).host,
    ).toBe('catalogo-canary.catalogo.svc.cluster.local:8080');
    expect(admitTarget('http://127.0.0.1:4567/base', 'stable', patterns).pathname).toBe('/base');
    expect(
      admitTarget('HTTP://Catalogo-Stable.CATALOGO.svc.cluster.local:8080', 'stable', patterns).hostname,
    ).toBe('catalogo-stable.catalogo.svc.cluster.local');
  });

  it.each([
    ['another namespace', 'http://catalogo-canary.billing.svc.cluster.local:8080'],
    ['another port', 'http://catalogo-canary.catalogo.svc.cluster.local:9090'],
    ['the bare suffix of a wildcard', 'http://catalogo.svc.cluster.local:8080'],
    ['a suffix trick', 'http://evilcatalogo.svc.cluster.local:8080'],
    ['the metadata address', 'http://169.254.169.254/latest'],
    ['a lookalike host', 'http://127.0.0.1.nip.io'],
  ])('refuses %s with target_not_allowed', (_what, url) => {
    expect(refused(url)).toMatch(/^target_not_allowed: canary: .* is not in the judge's contract targets/);
  });

  it.each([
    ['not a URL', 'catalogo-canary'],
    ['another scheme', 'file:///etc/passwd'],
    ['credentials', 'http://user:pw@127.0.0.1'],
    ['a query', 'http://127.0.0.1/?a=1'],
  ])('refuses %s as an invalid request', (_what, url) => {
    expect(refused(url)).toMatch(/^invalid_request: canary/);
  });

  it('reports bad patterns, and a contracts dir without targets, at start', () => {
    expect(parseTargetPatterns('ok.example, bad host, *.x:99999').problems).toHaveLength(2);
    expect(() =>
      loadConfig({ CANARY_JUDGE_PROMETHEUS_URL: 'http://p:9090', CANARY_JUDGE_CONTRACTS_DIR: '/contracts' }),
    ).toThrow(/CANARY_JUDGE_CONTRACT_TARGETS is empty/);
    const c = loadConfig({
      CANARY_JUDGE_PROMETHEUS_URL: 'http://p:9090',
      CANARY_JUDGE_CONTRACTS_DIR: '/contracts',
      CANARY_JUDGE_CONTRACT_TARGETS: '*.catalogo.svc.cluster.local:8080',
    });
    expect(c.contract).toMatchObject({
      dir: '/contracts',
      requestTimeoutMs: 2000,
      deadlineMs: 8000,
      maxRequests: 40,
    });
  });
});

describe('contract paths stay on the admitted host', () => {
  it('refuses a contract whose path would resolve to another host, before any request', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'contracts-'));
    writeFileSync(
      join(dir, 'evil.yaml'),
      'openapi: 3.0.3\ninfo: {title: e, version: "1"}\npaths:\n  //169.254.169.254/latest:\n    get: {responses: {"200": {description: ok}}}\n',
    );
    const fetched: string[] = [];
    const checker = createContractChecker({
      contractsDir: dir,
      targets: patterns,
      maxRequests: 10,
      deadlineMs: 1000,
      fetchAnswer: (url) => {
        fetched.push(url.href);
        return Promise.resolve({ status: 200, body: { kind: 'json', value: {} } });
      },
    });
    await expect(
      checker.check({ contract: 'evil', canary: 'http://127.0.0.1:1', stable: 'http://127.0.0.1:2' }),
    ).rejects.toMatchObject({ code: 'invalid_request', field: 'contract' });
    expect(fetched).toEqual([]);
  });

  it('refuses a contract with more requests than the judge allows, before any request', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'contracts-'));
    const examples = Array.from({ length: 6 }, (_, i) => `          e${i}: {value: "x${i}"}`).join('\n');
    writeFileSync(
      join(dir, 'big.yaml'),
      `openapi: 3.0.3\ninfo: {title: b, version: "1"}\npaths:\n  /t/{id}:\n    get:\n      parameters:\n      - name: id\n        in: path\n        required: true\n        schema: {type: string}\n        examples:\n${examples}\n      responses: {"200": {description: ok}}\n`,
    );
    const fetched: string[] = [];
    const checker = createContractChecker({
      contractsDir: dir,
      targets: patterns,
      maxRequests: 10,
      deadlineMs: 1000,
      fetchAnswer: (url) => {
        fetched.push(url.href);
        return Promise.resolve({ status: 200, body: { kind: 'json', value: {} } });
      },
    });
    await expect(
      checker.check({ contract: 'big', canary: 'http://127.0.0.1:1', stable: 'http://127.0.0.1:2' }),
    ).rejects.toMatchObject({
      code: 'invalid_request',
      field: 'contract',
      message: expect.stringMatching(/6 requests .* limit of 10/),
    });
    expect(fetched).toEqual([]);
  });
});
