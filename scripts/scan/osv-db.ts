/**
 * Writes osv-scanner's local database from the advisory data kept in security/advisories, so the
 * scanner runs offline (`--offline`, OSV_SCANNER_LOCAL_DB_CACHE_DIRECTORY=OUT_DIR):
 *   OUT_DIR/osv-scalibr/npm/all.zip      every npm advisory, as OSV records
 *   OUT_DIR/osv-scalibr/Debian/all.zip   empty: Debian packages are judged against the current
 *                                        bookworm-security index instead (scripts/scan-image.sh),
 *                                        but osv-scanner aborts on an image whose ecosystems lack a
 *                                        database
 *   OUT_DIR/osv-scalibr/Go/all.zip       empty, for the same reason: the metric plugin's binaries
 *                                        in the image carry Go module versions, and no Go advisory
 *                                        data is kept here (the workflows' Trivy judges them)
 * The Node.js Security WG's advisories become `NSWG-ECO-<id>` records (the id OSV gives them),
 * their semver ranges OSV `SEMVER` events; the GitHub advisories are OSV already.
 *
 *   npx tsx scripts/scan/osv-db.ts OUT_DIR
 */
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import semver from 'semver';

const DATA = join(import.meta.dirname, '../../security/advisories');

interface WgAdvisory {
  readonly id: number;
  readonly title: string;
  readonly module_name: string;
  readonly created_at: string;
  readonly updated_at: string;
  readonly publish_date?: string;
  readonly cves?: readonly string[];
  readonly vulnerable_versions: string;
  readonly patched_versions?: string | null;
  readonly overview?: string;
  readonly cvss_vector?: string | null;
  readonly cvss_score?: number | null;
}

type OsvEvent = { introduced: string } | { fixed: string } | { last_affected: string };

interface OsvRecord {
  readonly id: string;
  readonly [key: string]: unknown;
}

/** The smallest version greater than `v` (for `>v`): the first pre-release of the next patch. */
function successor(v: semver.SemVer): string {
  return v.prerelease.length > 0 ? `${v.version}.0` : `${v.major}.${v.minor}.${v.patch + 1}-0`;
}

/**
 * One OSV range per comparator set of a semver range (a set is an interval; the sets are ORed,
 * as OSV ranges are).
 */
export function semverToOsvRanges(range: string): { type: 'SEMVER'; events: OsvEvent[] }[] {
  const parsed = new semver.Range(range, { loose: true });
  return parsed.set.map((comparators) => {
    let lower: { version: string } | undefined;
    let upper: { version: string; inclusive: boolean } | undefined;
    for (const c of comparators) {
      if (c.value === '') continue; // `*`: any version
      const v = c.semver;
      switch (c.operator) {
        case '>=':
        case '>': {
          const lo = c.operator === '>' ? successor(v) : v.version;
          if (lower === undefined || semver.gt(lo, lower.version)) lower = { version: lo };
          break;
        }
        case '<':
        case '<=': {
          const inclusive = c.operator === '<=';
          if (upper === undefined || semver.lt(v, upper.version)) upper = { version: v.version, inclusive };
          break;
        }
        case '':
          lower = { version: v.version };
          upper = { version: v.version, inclusive: true };
          break;
        default:
          throw new Error(`unexpected comparator ${String(c.operator)} in ${range}`);
      }
    }
    const events: OsvEvent[] = [{ introduced: lower?.version ?? '0' }];
    if (upper !== undefined)
      events.push(upper.inclusive ? { last_affected: upper.version } : { fixed: upper.version });
    return { type: 'SEMVER', events };
  });
}

const isoDate = (d: string | undefined): string | undefined =>
  d === undefined ? undefined : new Date(d).toISOString().replace(/\.\d{3}Z$/, 'Z');

export function wgToOsv(a: WgAdvisory): OsvRecord {
  const cvss = a.cvss_vector ?? '';
  return {
    schema_version: '1.6.0',
    id: `NSWG-ECO-${a.id}`,
    modified: isoDate(a.updated_at),
    published: isoDate(a.publish_date ?? a.created_at),
    aliases: a.cves ?? [],
    summary: a.title,
    details: a.overview ?? '',
    ...(cvss.startsWith('CVSS:3') ? { severity: [{ type: 'CVSS_V3', score: cvss }] } : {}),
    affected: [
      {
        package: { ecosystem: 'npm', name: a.module_name },
        ranges: semverToOsvRanges(a.vulnerable_versions),
        database_specific: {
          vulnerable_versions: a.vulnerable_versions,
          patched_versions: a.patched_versions ?? null,
        },
      },
    ],
    database_specific: { source: 'nodejs/security-wg vuln/npm', cvss_score: a.cvss_score ?? null },
  };
}

/** A zip archive of stored (uncompressed) entries: all that osv-scanner's reader needs. */
export function zip(entries: readonly { name: string; data: Buffer }[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const { name, data } of entries) {
    const fileName = Buffer.from(name, 'utf8');
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed
    local.writeUInt16LE(0x0800, 6); // UTF-8 names
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(fileName.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(fileName.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, fileName, data);
    centrals.push(central, fileName);
    offset += local.length + fileName.length + data.length;
  }
  const dir = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(dir.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, dir, end]);
}

/** Every npm advisory of security/advisories as OSV records. */
export function npmRecords(): OsvRecord[] {
  const wg = JSON.parse(readFileSync(join(DATA, 'nodejs-security-wg/npm-index.json'), 'utf8')) as Record<
    string,
    WgAdvisory
  >;
  const ghsaDir = join(DATA, 'github-advisories');
  const ghsa = readdirSync(ghsaDir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => JSON.parse(readFileSync(join(ghsaDir, f), 'utf8')) as OsvRecord);
  return [...Object.values(wg).map(wgToOsv), ...ghsa];
}

function main(out: string): void {
  const records = npmRecords();
  for (const [ecosystem, list] of [
    ['npm', records],
    ['Debian', []],
    ['Go', []],
  ] as const) {
    const dir = join(out, 'osv-scalibr', ecosystem);
    mkdirSync(dir, { recursive: true });
    const entries = list.map((r) => ({ name: `${r.id}.json`, data: Buffer.from(JSON.stringify(r)) }));
    writeFileSync(join(dir, 'all.zip'), zip(entries));
  }
  console.log(`osv-db: ${records.length} npm records in ${out}/osv-scalibr/npm/all.zip`);
}

if (process.argv[1] === import.meta.filename) {
  const out = process.argv[2];
  if (out === undefined) throw new Error('usage: osv-db.ts OUT_DIR');
  main(out);
}
