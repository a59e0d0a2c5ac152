/**
 * Adds what the image holds besides its npm packages to the CycloneDX SBOM that scripts/sbom.sh
 * wrote: the operating system (Debian, from /etc/debian_version), every installed Debian package
 * (the image's /var/lib/dpkg/status, as `pkg:deb` purls the way scanners name them) and the
 * Node.js runtime (`pkg:generic/node`). The scan stage judges the same three kinds of component.
 *
 *   npx tsx scripts/sbom-os.ts SBOM DPKG_STATUS DEBIAN_VERSION NODE_VERSION
 */
import { readFileSync, writeFileSync } from 'node:fs';

export interface DebPackage {
  readonly name: string;
  readonly version: string;
  readonly architecture: string;
  readonly source: string;
}

/** The installed packages of a dpkg status file. */
export function installedPackages(status: string): DebPackage[] {
  return status
    .split(/\n\n+/)
    .map((stanza) => {
      const field = (name: string): string =>
        stanza
          .split('\n')
          .find((l) => l.startsWith(`${name}: `))
          ?.slice(name.length + 2)
          .trim() ?? '';
      return { field, status: field('Status') };
    })
    .filter(({ status }) => status.endsWith(' installed'))
    .map(({ field }) => ({
      name: field('Package'),
      version: field('Version'),
      architecture: field('Architecture'),
      source: field('Source').split(' ')[0] || field('Package'),
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

export const debPurl = (p: DebPackage, distro: string): string =>
  `pkg:deb/debian/${encodeURIComponent(p.name)}@${encodeURIComponent(p.version)}` +
  `?arch=${p.architecture}&distro=debian-${distro}`;

function main(): void {
  const [sbomPath, statusPath, debianVersion, nodeVersion] = process.argv.slice(2);
  if (
    sbomPath === undefined ||
    statusPath === undefined ||
    debianVersion === undefined ||
    nodeVersion === undefined
  ) {
    throw new Error('usage: sbom-os.ts SBOM DPKG_STATUS DEBIAN_VERSION NODE_VERSION');
  }
  const bom = JSON.parse(readFileSync(sbomPath, 'utf8')) as { components?: unknown[] };
  const distro = debianVersion.trim();
  const debs = installedPackages(readFileSync(statusPath, 'utf8')).map((p) => ({
    type: 'library',
    'bom-ref': debPurl(p, distro),
    name: p.name,
    version: p.version,
    purl: debPurl(p, distro),
    properties: [
      { name: 'debian:source', value: p.source },
      { name: 'debian:architecture', value: p.architecture },
    ],
  }));
  const node = nodeVersion.trim().replace(/^v/, '');
  bom.components = [
    ...(bom.components ?? []),
    { type: 'operating-system', 'bom-ref': `os:debian@${distro}`, name: 'debian', version: distro },
    {
      type: 'platform',
      'bom-ref': `pkg:generic/node@${node}`,
      name: 'node',
      version: node,
      purl: `pkg:generic/node@${node}`,
    },
    ...debs,
  ];
  writeFileSync(sbomPath, `${JSON.stringify(bom, null, 2)}\n`);
}

if (process.argv[1] === import.meta.filename) main();
