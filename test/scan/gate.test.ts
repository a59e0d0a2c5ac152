/**
 * The scan gate bites: the judge's image plus lodash 4.17.15, minimist 1.2.0 and a Debian package
 * older than its security update (test/scan/seed.sh) goes through the same scan as the built
 * image (scripts/scan-image.sh) and must fail, naming each of them with the installed version,
 * the fixed version and the advisory. Then the allow-list, through the same report on that scan's
 * findings: entries for all of them let it pass; an expired entry, or one without a reason, fails.
 *
 * Needs CANARY_JUDGE_SEEDED_IMAGE (the seeded image) and CANARY_JUDGE_SCAN_DIR (where seed.sh put
 * seed.env; the scan keeps its inputs there); test/scan/run.sh sets both.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Finding, Verdict } from '../../scripts/scan/report.js';

const IMAGE = process.env['CANARY_JUDGE_SEEDED_IMAGE'] ?? '';
const DIR = process.env['CANARY_JUDGE_SCAN_DIR'] ?? '';
const run = promisify(execFile);

interface Outcome {
  readonly code: number;
  readonly stdout: string;
}

async function exec(cmd: string, args: string[], env: Record<string, string> = {}): Promise<Outcome> {
  try {
    const { stdout } = await run(cmd, args, { env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, stdout };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    if (typeof err.code !== 'number') throw e;
    return { code: err.code, stdout: err.stdout ?? '' };
  }
}

let scan: Outcome;
let verdict: Verdict;
let seed: Record<string, string>;

/** The report on the seeded scan's inputs under another allow-list. */
function report(allowList: string): Promise<Outcome> {
  const file = join(mkdtempSync(join(tmpdir(), 'allow-')), 'allow-list.yaml');
  writeFileSync(file, allowList);
  return exec('npx', [
    'tsx',
    'scripts/scan/report.ts',
    '--osv',
    join(DIR, 'osv.json'),
    '--node',
    readFileSync(join(DIR, 'node-version'), 'utf8').trim(),
    '--debian',
    join(DIR, 'debian.tsv'),
    '--allow-list',
    file,
  ]);
}

const entry = (id: string, expiry: string, statement = 'accepted for this test'): string =>
  `  - id: ${id}\n    statement: ${statement}\n    expired_at: ${expiry}\n`;

const inAYear = new Date(Date.now() + 365 * 86_400_000).toISOString().slice(0, 10);
const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);

beforeAll(async () => {
  if (IMAGE === '' || DIR === '') {
    throw new Error('CANARY_JUDGE_SEEDED_IMAGE and CANARY_JUDGE_SCAN_DIR are not set: run test/scan/run.sh');
  }
  seed = Object.fromEntries(
    readFileSync(join(DIR, 'seed.env'), 'utf8')
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => l.split('=', 2) as [string, string]),
  );
  scan = await exec('bash', ['scripts/scan-image.sh', IMAGE], { CANARY_JUDGE_SCAN_OUT: DIR });
  writeFileSync(join(DIR, 'report.txt'), scan.stdout);
  verdict = JSON.parse(readFileSync(join(DIR, 'findings.json'), 'utf8')) as Verdict;
}, 600_000);

const line = (pkg: string): string => scan.stdout.split('\n').find((l) => l.split(/\s+/)[1] === pkg) ?? '';
const of = (source: string, pkg: string): Finding[] =>
  verdict.failing.filter((f) => f.source === source && f.package === pkg);

describe('the scan of an image with known-vulnerable packages', () => {
  it('fails', () => {
    expect(scan.code).toBe(1);
    expect(scan.stdout).toContain('scan: FAILED');
  });

  it('names lodash 4.17.15 with the fixed version and the advisories that know it', () => {
    expect(
      of('npm', 'lodash')
        .map((f) => f.advisories[0]?.[0])
        .sort(),
    ).toEqual(['GHSA-35jh-r3h4-6jhm', 'GHSA-p6mc-m468-83gw', 'NSWG-ECO-516']);
    expect(of('npm', 'lodash').every((f) => f.installed === '4.17.15')).toBe(true);
    expect(line('lodash')).toMatch(/^npm\s+lodash\s+4\.17\.15\s+4\.17\.21\s/);
    expect(line('lodash')).toContain('GHSA-p6mc-m468-83gw (CVE-2020-8203)');
  });

  it('names minimist 1.2.0, fixed in 1.2.6', () => {
    expect(of('npm', 'minimist').map((f) => f.advisories[0]?.[0])).toEqual(['GHSA-xvch-5gv4-984h']);
    expect(line('minimist')).toMatch(/^npm\s+minimist\s+1\.2\.0\s+1\.2\.6\s/);
  });

  it('names the Debian package older than its security update', () => {
    const pkg = seed['SEED_DEBIAN_PACKAGE'] ?? '';
    const found = of('debian', pkg);
    expect(found.length).toBeGreaterThan(0);
    expect(found[0]?.installed).toBe(seed['SEED_DEBIAN_VERSION']);
    const fixed = found[0]?.fixed ?? '';
    expect(fixed).not.toBe('');
    expect(line(pkg)).toMatch(new RegExp(`^debian\\s+${pkg.replace(/[.+]/g, '\\$&')}\\s+\\S+\\s+\\S+`));
  });

  it('finds nothing else: the rest of the image is the built image, which passed', () => {
    const names = [...new Set(verdict.failing.map((f) => `${f.source}:${f.package}`))].sort();
    const debian = verdict.failing.filter((f) => f.source === 'debian').map((f) => f.package);
    // A downgrade may take a package built from the same source with it (exact version pins).
    expect(names.filter((n) => !n.startsWith('debian:'))).toEqual(['npm:lodash', 'npm:minimist']);
    expect(debian).toContain(seed['SEED_DEBIAN_PACKAGE']);
  });
});

describe('the allow-list', () => {
  const all = (expiry: string): string => {
    const ids = verdict.failing.flatMap((f) => f.advisories.map((a) => a[0] ?? ''));
    return `vulnerabilities:\n${[...new Set(ids)].map((id) => entry(id, expiry)).join('')}`;
  };

  it('accepts the findings it names, until their expiry', async () => {
    const out = await report(all(inAYear));
    expect(out.stdout).toContain('scan: passed');
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(
      /npm lodash 4\.17\.15: GHSA-p6mc-m468-83gw until \d{4}-\d{2}-\d{2} — accepted for this test/,
    );
  });

  it('fails the scan with an expired entry, even one that matches nothing', async () => {
    const out = await report(`${all(inAYear)}${entry('CVE-2000-0001', yesterday)}`);
    expect(out.code).toBe(1);
    expect(out.stdout).toContain(`(CVE-2000-0001): expired on ${yesterday}`);
  });

  it('fails when an entry has no reason, and accepts nothing through it', async () => {
    const out = await report(`vulnerabilities:\n${entry('GHSA-xvch-5gv4-984h', inAYear, '""')}`);
    expect(out.code).toBe(1);
    expect(out.stdout).toContain('(GHSA-xvch-5gv4-984h): no reason');
    expect(out.stdout).toMatch(/^npm\s+minimist\s+1\.2\.0/m);
  });

  it('needs every advisory of a finding accepted: one of lodash’s three is not enough', async () => {
    const out = await report(`vulnerabilities:\n${entry('CVE-2020-8203', inAYear)}`);
    expect(out.code).toBe(1);
    expect(out.stdout).toMatch(/^npm\s+lodash\s+4\.17\.15/m);
  });
});
