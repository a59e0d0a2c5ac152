/**
 * The image's inventory: the CycloneDX SBOM that scripts/sbom.sh generated from the image's
 * /app and its dpkg status, checked against the files of that same /app, the repository's
 * lockfile and the image's dpkg status. The SBOM must list exactly the npm packages installed in
 * the image; none of them may be a development dependency; neither our code nor the packages may
 * ship source maps or test suites; every npm licence must be on test/image/allowed-licenses.txt;
 * and it must list exactly the image's installed Debian packages and its Node.js runtime.
 *
 * Needs CANARY_JUDGE_SBOM (the SBOM), CANARY_JUDGE_APP_DIR (the image's /app, copied out) and
 * CANARY_JUDGE_IMAGE (the image); test/image/run.sh sets them.
 */

import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { installedPackages } from '../../scripts/sbom-os.js';

interface Component {
  readonly group?: string;
  readonly name: string;
  readonly version: string;
  readonly type?: string;
  readonly purl?: string;
  readonly licenses?: readonly ({ license: { id?: string; name?: string } } | { expression: string })[];
  readonly components?: readonly Component[];
}

interface Bom {
  readonly bomFormat: string;
  readonly specVersion: string;
  readonly metadata: { component: Component };
  readonly components: readonly Component[];
}

const SBOM = process.env['CANARY_JUDGE_SBOM'] ?? '';
const APP = process.env['CANARY_JUDGE_APP_DIR'] ?? '';
const IMAGE = process.env['CANARY_JUDGE_IMAGE'] ?? '';
let bom: Bom;
/** The npm packages of the SBOM (the rest: the OS, its Debian packages, the Node.js runtime). */
let components: Component[];
let all: Component[];

const fullName = (c: Component): string => (c.group === undefined ? c.name : `${c.group}/${c.name}`);

function flatten(list: readonly Component[] | undefined): Component[] {
  return (list ?? []).flatMap((c) => [c, ...flatten(c.components)]);
}

/** name@version of every package directory under `dir` (node_modules/x, @scope/x, nested). */
function installed(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const entry of readdirSync(dir)) {
    if (entry.startsWith('.')) continue;
    const dirs = entry.startsWith('@') ? readdirSync(join(dir, entry)).map((s) => join(entry, s)) : [entry];
    for (const d of dirs) {
      const pkg = JSON.parse(readFileSync(join(dir, d, 'package.json'), 'utf8')) as {
        name: string;
        version: string;
      };
      out.push(`${pkg.name}@${pkg.version}`, ...installed(join(dir, d, 'node_modules')));
    }
  }
  return out;
}

function* files(dir: string): Generator<string> {
  for (const entry of readdirSync(dir)) {
    const p = join(dir, entry);
    if (statSync(p).isDirectory()) yield* files(p);
    else yield p;
  }
}

/** Whether an SPDX expression is satisfied by the allowed identifiers (OR: one side, AND: both). */
function licenceAllowed(expression: string, allowed: ReadonlySet<string>): boolean {
  const tokens = expression
    .replace(/[()]/g, (m) => ` ${m} `)
    .split(/\s+/)
    .filter(Boolean);
  let pos = 0;
  const or = (): boolean => {
    let v = and();
    while (tokens[pos] === 'OR') {
      pos++;
      v = and() || v;
    }
    return v;
  };
  const and = (): boolean => {
    let v = atom();
    while (tokens[pos] === 'AND') {
      pos++;
      v = atom() && v;
    }
    return v;
  };
  const atom = (): boolean => {
    const t = tokens[pos++];
    if (t === '(') {
      const v = or();
      if (tokens[pos++] !== ')') throw new Error(`unbalanced licence expression: ${expression}`);
      return v;
    }
    if (t === undefined) throw new Error(`incomplete licence expression: ${expression}`);
    return allowed.has(t.replace(/\+$/, ''));
  };
  const v = or();
  if (pos !== tokens.length) throw new Error(`unparsed licence expression: ${expression}`);
  return v;
}

beforeAll(() => {
  if (SBOM === '' || APP === '') {
    throw new Error('CANARY_JUDGE_SBOM and CANARY_JUDGE_APP_DIR are not set: run test/image/run.sh');
  }
  bom = JSON.parse(readFileSync(SBOM, 'utf8')) as Bom;
  all = flatten(bom.components);
  components = all.filter((c) => c.purl?.startsWith('pkg:npm/') === true);
});

describe('the image SBOM', () => {
  it('is a CycloneDX document for this version of canary-judge', () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { name: string; version: string };
    expect(bom.bomFormat).toBe('CycloneDX');
    expect(bom.specVersion).toBe('1.6');
    expect(bom.metadata.component).toMatchObject({ name: pkg.name, version: pkg.version });
  });

  it('lists exactly the packages installed in the image', () => {
    const inImage = [...new Set(installed(join(APP, 'node_modules')))].sort();
    const listed = [...new Set(components.map((c) => `${fullName(c)}@${c.version}`))].sort();
    expect(inImage.length).toBeGreaterThan(50);
    expect(listed).toEqual(inImage);
  });

  it('ships no development dependency', () => {
    const lock = JSON.parse(readFileSync('package-lock.json', 'utf8')) as {
      packages: Record<string, { dev?: boolean }>;
    };
    const devOnly = Object.entries(lock.packages)
      .filter(([path, p]) => path !== '' && p.dev === true)
      .map(([path]) => path);
    expect(devOnly).toContain('node_modules/typescript');
    expect(devOnly.filter((path) => existsSync(join(APP, path)))).toEqual([]);
  });

  it('ships only the compiled code and the production install, without source maps or tests', () => {
    expect(readdirSync(APP).sort()).toEqual(['dist', 'node_modules', 'package.json']);
    const all = [...files(APP)].map((f) => relative(APP, f));
    expect(all.filter((f) => f.startsWith('dist/') && !f.endsWith('.js'))).toEqual([]);
    expect(all.filter((f) => /\.map$|\.(test|spec)\.[cm]?[jt]s$/.test(f))).toEqual([]);
    expect(all.filter((f) => /(^|\/)(test|tests|__tests__|spec|specs)\//.test(f))).toEqual([]);
    // node never loads TypeScript from node_modules; only declarations may remain.
    expect(all.filter((f) => /\.[cm]?ts$/.test(f) && !/\.d\.[cm]?ts$/.test(f))).toEqual([]);
  });

  it('has every licence on the allow-list', () => {
    const allowed = new Set(
      readFileSync('test/image/allowed-licenses.txt', 'utf8')
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l !== '' && !l.startsWith('#')),
    );
    const offenders = components
      .map((c) => {
        const expressions = (c.licenses ?? []).map((l) =>
          'expression' in l ? l.expression : (l.license.id ?? l.license.name ?? ''),
        );
        const ok = expressions.length > 0 && expressions.some((e) => licenceAllowed(e, allowed));
        return ok ? undefined : `${fullName(c)}@${c.version}: ${expressions.join(', ') || 'no licence'}`;
      })
      .filter((x) => x !== undefined);
    expect(offenders).toEqual([]);
  });

  it('lists exactly the Debian packages installed in the image, the OS and the Node.js runtime', async () => {
    if (IMAGE === '') throw new Error('CANARY_JUDGE_IMAGE is not set: run test/image/run.sh');
    const run = promisify(execFile);
    const ctr = (await run('podman', ['create', IMAGE])).stdout.trim();
    const dir = mkdtempSync(join(tmpdir(), 'dpkg-'));
    try {
      await run('podman', ['cp', `${ctr}:/var/lib/dpkg/status`, join(dir, 'status')]);
    } finally {
      await run('podman', ['rm', ctr]);
    }
    const inImage = installedPackages(readFileSync(join(dir, 'status'), 'utf8')).map(
      (p) => `${p.name}@${p.version}`,
    );
    const debs = all.filter((c) => c.purl?.startsWith('pkg:deb/debian/') === true);
    expect(inImage.length).toBeGreaterThan(50);
    expect(inImage).toContainEqual(expect.stringMatching(/^libc6@2\.36-/));
    expect(debs.map((c) => `${c.name}@${c.version}`).sort()).toEqual([...inImage].sort());
    expect(
      debs.every((c) => c.purl?.includes('?arch=') === true && c.purl.includes('&distro=debian-12')),
    ).toBe(true);
    const versions = readFileSync('scripts/lib/runtime-versions.sh', 'utf8');
    const node = all.find((c) => c.type === 'platform' && c.name === 'node');
    expect(node?.version).toBe(/^NODE_VERSION=(\S+)$/m.exec(versions)?.[1]);
    expect(all.find((c) => c.type === 'operating-system')?.version).toMatch(/^12\.\d+$/);
  });

  it('reads SPDX expressions: OR needs one allowed side, AND needs both', () => {
    const allowed = new Set(['MIT', 'Apache-2.0']);
    expect(licenceAllowed('(MIT OR GPL-3.0-only)', allowed)).toBe(true);
    expect(licenceAllowed('Apache-2.0 AND BSD-3-Clause', allowed)).toBe(false);
    expect(licenceAllowed('(Apache-2.0 AND (MIT OR GPL-2.0))', allowed)).toBe(true);
    expect(licenceAllowed('GPL-3.0-only', allowed)).toBe(false);
    expect(() => licenceAllowed('(MIT', allowed)).toThrow(/unbalanced/);
  });
});
