/**
 * The image scan's own logic, on the advisory data the stage uses (security/advisories): the
 * Node.js Security WG's semver ranges as OSV events (what osv-scanner then matches), the Node.js
 * runtime against the WG's core advisories, and the allow-list rule (reason and expiry per entry,
 * every advisory of a finding accepted). The scan itself runs in test/scan.
 */
import { readFileSync } from 'node:fs';
import semver from 'semver';
import { describe, expect, it } from 'vitest';
import { npmRecords, semverToOsvRanges } from '../../scripts/scan/osv-db.js';
import {
  type Finding,
  debianFindings,
  judge,
  nodeFindings,
  readAllowList,
} from '../../scripts/scan/report.js';

const core = JSON.parse(
  readFileSync('security/advisories/nodejs-security-wg/core-index.json', 'utf8'),
) as Parameters<typeof nodeFindings>[1];

type Events = ReturnType<typeof semverToOsvRanges>[number]['events'];

/** Whether `version` is inside one OSV range's events (introduced ≤ v < fixed, or ≤ last_affected). */
function inRange(events: Events, version: string): boolean {
  let lo = '0.0.0-0';
  let hi: { v: string; inclusive: boolean } | undefined;
  for (const e of events) {
    if ('introduced' in e) lo = e.introduced === '0' ? '0.0.0-0' : e.introduced;
    if ('fixed' in e) hi = { v: e.fixed, inclusive: false };
    if ('last_affected' in e) hi = { v: e.last_affected, inclusive: true };
  }
  const above = semver.gte(version, lo, { includePrerelease: true } as semver.Options);
  const below = hi === undefined || (hi.inclusive ? semver.lte(version, hi.v) : semver.lt(version, hi.v));
  return above && below;
}

describe('the WG advisories as OSV ranges', () => {
  it.each([
    ['<1.6.5 || < 2.1.7 > 2.0.0', ['1.6.4', '2.0.1', '2.1.6'], ['1.6.5', '2.0.0', '2.1.7']],
    [
      '>=2.0.0-alpha8 <=2.0.0-rc2 || >=2.0.0 <=2.13.0',
      ['2.0.0-beta', '2.0.0', '2.13.0'],
      ['2.13.1', '1.9.9'],
    ],
    ['<=0.9.4 || 1.0.0', ['0.9.4', '1.0.0'], ['0.9.5', '1.0.1']],
    ['<3.11 || >= 4 <4.5', ['3.10.9', '4.4.9'], ['3.11.0', '4.5.0']],
    ['*', ['0.0.1', '99.0.0'], []],
  ])('%s', (range, vulnerable, safe) => {
    const ranges = semverToOsvRanges(range);
    for (const v of vulnerable)
      expect(
        ranges.some((r) => inRange(r.events, v)),
        v,
      ).toBe(true);
    for (const v of safe)
      expect(
        ranges.some((r) => inRange(r.events, v)),
        v,
      ).toBe(false);
  });

  it('converts every npm advisory of the data, and agrees with its own range on lodash', () => {
    const records = npmRecords();
    expect(records).toHaveLength(470);
    const r516 = records.find((r) => r.id === 'NSWG-ECO-516') as unknown as {
      affected: { ranges: { events: Events }[] }[];
    };
    const ranges = r516.affected[0]?.ranges ?? [];
    expect(ranges.some((r) => inRange(r.events, '4.17.15'))).toBe(true);
    expect(ranges.some((r) => inRange(r.events, '4.17.19'))).toBe(false);
  });
});

describe('the Node.js runtime against the WG core advisories', () => {
  it('finds the advisories of an old Node.js 24, with the fixed versions of its line', () => {
    const found = nodeFindings('v24.4.0', core);
    const ids = found.map((f) => f.advisories[0]?.[0]);
    expect(ids).toContain('NSWG-CORE-155');
    expect(ids).toContain('NSWG-CORE-171');
    expect(found.find((f) => f.advisories[0]?.[0] === 'NSWG-CORE-155')?.fixed).toBe('24.4.1');
    expect(found.find((f) => f.advisories[0]?.[0] === 'NSWG-CORE-171')?.fixed).toBe('24.14.1');
  });

  it('finds none in the image’s Node.js (scripts/lib/runtime-versions.sh)', () => {
    const version =
      /^NODE_VERSION=(\S+)$/m.exec(readFileSync('scripts/lib/runtime-versions.sh', 'utf8'))?.[1] ?? '';
    expect(version).not.toBe('');
    expect(nodeFindings(version, core)).toEqual([]);
  });
});

describe('the allow-list', () => {
  const today = '2026-06-01';
  const lodash: Finding = {
    source: 'npm',
    package: 'lodash',
    installed: '4.17.15',
    fixed: '4.17.20',
    advisories: [['GHSA-p6mc-m468-83gw', 'CVE-2020-8203']],
    severity: 'HIGH',
  };
  const [deb] = debianFindings('libfoo1\t1.0-1\t1.0-1+deb12u1\tfoo\tCVE-2026-0001 CVE-2026-0002\n');

  it('accepts a finding by its id or an alias, until the expiry date', () => {
    const list = (id: string, exp: string): string =>
      `vulnerabilities:\n  - id: ${id}\n    statement: not reachable\n    expired_at: ${exp}\n`;
    expect(judge([lodash], list('CVE-2020-8203', '2026-06-01'), today).failing).toEqual([]);
    expect(judge([lodash], list('GHSA-p6mc-m468-83gw', '2027-01-01'), today).accepted).toHaveLength(1);
    const expired = judge([lodash], list('CVE-2020-8203', '2026-05-31'), today);
    expect(expired.failing).toEqual([lodash]);
    expect(expired.allowListErrors).toEqual([
      'allow-list entry 1 (CVE-2020-8203): expired on 2026-05-31; fix the finding or renew the entry',
    ]);
  });

  it('needs every CVE of a Debian update accepted', () => {
    expect(deb?.advisories).toEqual([['CVE-2026-0001'], ['CVE-2026-0002']]);
    const one = 'vulnerabilities:\n  - id: CVE-2026-0001\n    statement: x\n    expired_at: 2027-01-01\n';
    expect(judge([deb!], one, today).failing).toHaveLength(1);
    const both = `${one}  - id: CVE-2026-0002\n    statement: y\n    expired_at: 2027-01-01\n`;
    expect(judge([deb!], both, today).failing).toHaveLength(0);
  });

  it('refuses entries without a reason or an expiry date', () => {
    const { entries, errors } = readAllowList(
      'vulnerabilities:\n  - id: CVE-1\n  - id: CVE-2\n    statement: ok\n',
      today,
    );
    expect(entries).toEqual([]);
    expect(errors).toEqual([
      'allow-list entry 1 (CVE-1): no reason (statement)',
      'allow-list entry 1 (CVE-1): no expiry date (expired_at: YYYY-MM-DD)',
      'allow-list entry 2 (CVE-2): no expiry date (expired_at: YYYY-MM-DD)',
    ]);
  });

  it('is empty and valid in the repository', () => {
    expect(readAllowList(readFileSync('security/allow-list.yaml', 'utf8'), today)).toEqual({
      entries: [],
      errors: [],
    });
  });
});
