/**
 * The scan's verdict: reads what scripts/scan-image.sh gathered from an image, applies the
 * allow-list, prints a readable report and exits 1 when anything is left (or when the allow-list
 * itself is invalid or holds an expired entry).
 *
 *   npx tsx scripts/scan/report.ts --osv osv.json --node v24.22.3 --debian debian.tsv \
 *     --allow-list security/allow-list.yaml [--sbom sbom.cdx.json] [--json findings.json]
 *   npx tsx scripts/scan/report.ts --allow-list security/allow-list.yaml   (the allow-list only)
 *
 * Sources of findings:
 *   npm      osv-scanner's JSON (its offline scan of the image archive against security/advisories)
 *   node     the image's `node --version` against the Node.js Security WG's runtime advisories
 *   debian   scan-image.sh's comparison of the image's dpkg status with bookworm-security
 *            (tab-separated: package, installed, fixed, source package, advisory ids)
 * The rule is the workflows' too: every severity counts; a finding is accepted only by an entry
 * of the allow-list (Trivy's ignore-file format) with its id, a reason and an expiry date.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import semver from 'semver';
import { parse as parseYaml } from 'yaml';

const DATA = join(import.meta.dirname, '../../security/advisories');

export type Source = 'npm' | 'node' | 'debian';

export interface Finding {
  readonly source: Source;
  readonly package: string;
  readonly installed: string;
  /** The version that fixes it; '' when the data knows no fixed version. */
  readonly fixed: string;
  /** Advisory ids, each with its aliases (CVEs); the first id is the advisory's own. */
  readonly advisories: readonly (readonly string[])[];
  readonly severity: string;
}

export interface AllowEntry {
  readonly id: string;
  readonly statement: string;
  readonly expired_at: string;
}

export interface Verdict {
  readonly findings: readonly Finding[];
  readonly accepted: readonly { finding: Finding; entry: AllowEntry }[];
  readonly failing: readonly Finding[];
  readonly allowListErrors: readonly string[];
}

interface OsvVuln {
  readonly id: string;
  readonly aliases?: readonly string[];
  readonly affected?: readonly {
    readonly package?: { readonly name?: string; readonly ecosystem?: string };
    readonly ranges?: readonly { readonly events: readonly Record<string, string>[] }[];
  }[];
  readonly database_specific?: { readonly severity?: string; readonly cvss_score?: number | null };
}

interface OsvOutput {
  readonly results?: readonly {
    readonly packages?: readonly {
      readonly package: { readonly name: string; readonly version: string; readonly ecosystem: string };
      readonly vulnerabilities?: readonly OsvVuln[];
      readonly groups?: readonly { readonly ids: readonly string[]; readonly max_severity?: string }[];
    }[];
  }[];
}

/** The smallest fixed version above `installed` that the record names for `name`. */
function fixedVersion(v: OsvVuln, name: string, installed: string): string {
  const fixes = (v.affected ?? [])
    .filter((a) => a.package?.name === name)
    .flatMap((a) => a.ranges ?? [])
    .flatMap((r) => r.events.map((e) => e['fixed']))
    .filter((f): f is string => f !== undefined && semver.valid(f) !== null && semver.gt(f, installed));
  return fixes.sort(semver.compare)[0] ?? '';
}

const cvssLabel = (score: number): string =>
  score >= 9 ? 'CRITICAL' : score >= 7 ? 'HIGH' : score >= 4 ? 'MEDIUM' : score > 0 ? 'LOW' : 'UNKNOWN';

function severityOf(v: OsvVuln, groupScore: string | undefined): string {
  const gh = v.database_specific?.severity;
  if (gh !== undefined) return gh.toUpperCase() === 'MODERATE' ? 'MEDIUM' : gh.toUpperCase();
  const score = v.database_specific?.cvss_score ?? Number(groupScore ?? NaN);
  return Number.isFinite(score) ? cvssLabel(score) : 'UNKNOWN';
}

/** npm findings from osv-scanner's JSON output, one per package version and advisory. */
export function npmFindings(osv: OsvOutput): {
  findings: Finding[];
  seen: Set<string>;
  others: Map<string, number>;
} {
  const findings: Finding[] = [];
  const seen = new Set<string>();
  const others = new Map<string, number>();
  for (const result of osv.results ?? []) {
    for (const p of result.packages ?? []) {
      if (p.package.ecosystem !== 'npm') {
        others.set(p.package.ecosystem, (others.get(p.package.ecosystem) ?? 0) + 1);
        continue;
      }
      seen.add(`${p.package.name}@${p.package.version}`);
      for (const v of p.vulnerabilities ?? []) {
        const group = p.groups?.find((g) => g.ids.includes(v.id));
        findings.push({
          source: 'npm',
          package: p.package.name,
          installed: p.package.version,
          fixed: fixedVersion(v, p.package.name, p.package.version),
          advisories: [[v.id, ...(v.aliases ?? [])]],
          severity: severityOf(v, group?.max_severity),
        });
      }
    }
  }
  return { findings, seen, others };
}

interface CoreAdvisory {
  readonly cve?: readonly string[];
  readonly vulnerable: string;
  readonly patched?: string;
  readonly severity?: string;
}

/** The Node.js runtime against the WG's core advisories: inside `vulnerable`, outside `patched`. */
export function nodeFindings(version: string, index: Record<string, CoreAdvisory>): Finding[] {
  const v = semver.coerce(version)?.version;
  if (v === undefined) throw new Error(`not a Node.js version: ${version}`);
  return Object.entries(index)
    .filter(([, a]) => semver.satisfies(v, a.vulnerable) && !(a.patched && semver.satisfies(v, a.patched)))
    .map(([id, a]) => {
      const fixed = (a.patched ?? '')
        .split('||')
        .map((r) => semver.minVersion(r.trim())?.version)
        .filter(
          (f): f is string => f !== undefined && semver.major(f) === semver.major(v) && semver.gt(f, v),
        );
      return {
        source: 'node' as const,
        package: 'node',
        installed: v,
        fixed: fixed.sort(semver.compare)[0] ?? '',
        advisories: [[`NSWG-CORE-${id}`, ...(a.cve ?? [])]],
        severity: (a.severity ?? 'unknown').toUpperCase(),
      };
    });
}

/** scan-image.sh's Debian comparison: package, installed, fixed, source package, ids (space-separated). */
export function debianFindings(tsv: string): Finding[] {
  return tsv
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((line) => {
      const [pkg = '', installed = '', fixed = '', source = '', ids = ''] = line.split('\t');
      const cves = ids.split(/\s+/).filter(Boolean);
      return {
        source: 'debian' as const,
        package: pkg,
        installed,
        fixed,
        // Without a CVE in the fixed package's changelog, the update itself is the advisory.
        advisories: cves.length > 0 ? cves.map((c) => [c]) : [[`bookworm-security:${source}=${fixed}`]],
        severity: 'UNKNOWN',
      };
    });
}

/** Reads the allow-list: every entry needs an id, a reason and an expiry date not yet passed. */
export function readAllowList(text: string, today: string): { entries: AllowEntry[]; errors: string[] } {
  const doc = (parseYaml(text) ?? {}) as { vulnerabilities?: unknown };
  const list = doc.vulnerabilities ?? [];
  const errors: string[] = [];
  const entries: AllowEntry[] = [];
  if (!Array.isArray(list)) return { entries, errors: ['allow-list: `vulnerabilities` must be a list'] };
  list.forEach((raw: unknown, i) => {
    const e = (raw ?? {}) as Record<string, unknown>;
    const id = typeof e['id'] === 'string' ? e['id'] : '';
    const statement = typeof e['statement'] === 'string' ? e['statement'].trim() : '';
    // YAML reads an unquoted 2027-01-31 as a date.
    const exp =
      e['expired_at'] instanceof Date ? e['expired_at'].toISOString().slice(0, 10) : e['expired_at'];
    const expiry = typeof exp === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(exp) ? exp : '';
    const where = `allow-list entry ${i + 1}${id ? ` (${id})` : ''}`;
    if (id === '') errors.push(`${where}: no id`);
    if (statement === '') errors.push(`${where}: no reason (statement)`);
    if (expiry === '') errors.push(`${where}: no expiry date (expired_at: YYYY-MM-DD)`);
    else if (expiry < today)
      errors.push(`${where}: expired on ${expiry}; fix the finding or renew the entry`);
    if (id !== '' && statement !== '' && expiry >= today) entries.push({ id, statement, expired_at: expiry });
  });
  return { entries, errors };
}

/**
 * A finding is accepted when every one of its advisories has an entry naming the advisory's id or
 * one of its aliases.
 */
export function judge(findings: readonly Finding[], allowText: string, today: string): Verdict {
  const { entries, errors } = readAllowList(allowText, today);
  const accepted: { finding: Finding; entry: AllowEntry }[] = [];
  const failing: Finding[] = [];
  for (const f of findings) {
    const matches = f.advisories.map((ids) => entries.find((e) => ids.includes(e.id)));
    if (matches.every((m) => m !== undefined)) accepted.push({ finding: f, entry: matches[0]! });
    else failing.push(f);
  }
  return { findings, accepted, failing, allowListErrors: errors };
}

/** Findings of one package version merged into one line: ids joined, the highest fixed version. */
function rows(findings: readonly Finding[]): string[][] {
  const byPkg = new Map<string, Finding[]>();
  for (const f of findings) {
    const key = `${f.source}\t${f.package}\t${f.installed}`;
    byPkg.set(key, [...(byPkg.get(key) ?? []), f]);
  }
  return [...byPkg.values()].map((fs) => {
    const first = fs[0]!;
    const fixed = fs.map((f) => f.fixed);
    const valid = fixed.filter((x) => x !== '');
    const newest =
      first.source === 'debian' || valid.some((x) => semver.valid(x) === null)
        ? (valid[0] ?? '')
        : (valid.sort(semver.compare).at(-1) ?? '');
    const ids = fs.flatMap((f) =>
      f.advisories.map((a) => (a.length > 1 ? `${a[0]} (${a.slice(1).join(', ')})` : (a[0] ?? ''))),
    );
    const severities = [...new Set(fs.map((f) => f.severity))].join('/');
    return [
      first.source,
      first.package,
      first.installed,
      fixed.includes('') ? `${newest || 'none'}*` : newest,
      severities,
      ids.join(', '),
    ];
  });
}

function table(header: string[], body: string[][]): string {
  const all = [header, ...body];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return all
    .map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  '))
    .join('\n');
}

export function render(v: Verdict, counts: Record<Source, number>): string {
  const per = (s: Source): number => v.findings.filter((f) => f.source === s).length;
  const lines = [
    `scan: ${counts.npm} npm packages, the Node.js runtime, ${counts.debian} Debian packages`,
    `scan: findings: npm ${per('npm')}, node ${per('node')}, debian ${per('debian')}; ` +
      `${v.accepted.length} accepted by the allow-list, ${v.failing.length} failing`,
  ];
  const header = ['SOURCE', 'PACKAGE', 'INSTALLED', 'FIXED', 'SEVERITY', 'ADVISORY'];
  if (v.failing.length > 0) lines.push('', table(header, rows(v.failing)));
  if (v.failing.some((f) => f.fixed === '')) lines.push('(* some advisories name no fixed version)');
  if (v.accepted.length > 0) {
    lines.push('', 'accepted by the allow-list:');
    for (const { finding: f, entry: e } of v.accepted)
      lines.push(`  ${f.source} ${f.package} ${f.installed}: ${e.id} until ${e.expired_at} — ${e.statement}`);
  }
  for (const e of v.allowListErrors) lines.push(`scan: ${e}`);
  return lines.join('\n');
}

interface Bom {
  readonly components?: readonly Bom[];
  readonly group?: string;
  readonly name?: string;
  readonly version?: string;
  readonly purl?: string;
}

function main(): number {
  const { values } = parseArgs({
    options: {
      osv: { type: 'string' },
      node: { type: 'string' },
      debian: { type: 'string' },
      'debian-count': { type: 'string' },
      'allow-list': { type: 'string' },
      sbom: { type: 'string' },
      json: { type: 'string' },
    },
  });
  const today = new Date().toISOString().slice(0, 10);
  if (values.osv === undefined && values['allow-list'] !== undefined) {
    // Only the allow-list: the workflows check it before their Trivy scan.
    const { entries, errors } = readAllowList(readFileSync(values['allow-list'], 'utf8'), today);
    for (const e of errors) console.log(`scan: ${e}`);
    console.log(
      `scan: allow-list ${values['allow-list']}: ${entries.length} entries, ${errors.length} problems`,
    );
    return errors.length > 0 ? 1 : 0;
  }
  const need = (k: 'osv' | 'node' | 'debian' | 'allow-list'): string => {
    const x = values[k];
    if (x === undefined) throw new Error(`--${k} is required`);
    return x;
  };
  const {
    findings: npm,
    seen,
    others,
  } = npmFindings(JSON.parse(readFileSync(need('osv'), 'utf8')) as OsvOutput);
  const core = JSON.parse(readFileSync(join(DATA, 'nodejs-security-wg/core-index.json'), 'utf8')) as Record<
    string,
    CoreAdvisory
  >;
  const findings = [
    ...npm,
    ...nodeFindings(need('node'), core),
    ...debianFindings(readFileSync(need('debian'), 'utf8')),
  ];
  const verdict = judge(findings, readFileSync(need('allow-list'), 'utf8'), today);
  const problems: string[] = [];
  if (seen.size === 0)
    problems.push('scan: osv-scanner found no npm package in the image: the scan saw nothing');
  if (values.sbom !== undefined) {
    // The scanner must have seen every npm package the SBOM (the image's inventory) lists.
    const flat = (l: readonly Bom[] | undefined): Bom[] =>
      (l ?? []).flatMap((c) => [c, ...flat(c.components)]);
    const bom = JSON.parse(readFileSync(values.sbom, 'utf8')) as Bom;
    const listed = flat(bom.components)
      .filter((c) => c.purl?.startsWith('pkg:npm/') === true)
      .map((c) => `${c.group === undefined || c.group === '' ? '' : `${c.group}/`}${c.name}@${c.version}`);
    const missed = [...new Set(listed)].filter((p) => !seen.has(p));
    if (missed.length > 0)
      problems.push(`scan: the SBOM lists npm packages osv-scanner did not scan: ${missed.join(', ')}`);
  }
  console.log(render(verdict, { npm: seen.size, node: 1, debian: Number(values['debian-count'] ?? 0) }));
  // Debian is judged against bookworm-security above; anything else osv-scanner saw (the Go
  // modules of binaries) has no offline data here: said, not hidden.
  const unjudged = [...others].filter(([eco]) => !eco.startsWith('Debian'));
  if (unjudged.length > 0) {
    const list = unjudged.map(([eco, n]) => `${n} ${eco}`).join(', ');
    console.log(`scan: osv-scanner also saw ${list} packages; the offline data holds no advisories for them`);
  }
  for (const p of problems) console.log(p);
  if (values.json !== undefined) writeFileSync(values.json, JSON.stringify(verdict, null, 2));
  const failed = verdict.failing.length > 0 || verdict.allowListErrors.length > 0 || problems.length > 0;
  console.log(failed ? 'scan: FAILED' : 'scan: passed');
  return failed ? 1 : 0;
}

if (process.argv[1] === import.meta.filename) process.exitCode = main();
