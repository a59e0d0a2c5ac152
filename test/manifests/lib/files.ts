/**
 * The shipped manifests as the tests see them: every YAML file under the directories this
 * suite owns, parsed document by document, and every kustomization rendered by the pinned
 * kustomize. Parsing is strict (duplicate keys, syntax errors) and done twice, as YAML 1.2 and
 * as YAML 1.1, because Kubernetes tools disagree on the two (`0o440`, `yes`, `on`): a file whose
 * meaning depends on the YAML version is a defect.
 */

import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { parseAllDocuments } from 'yaml';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** Directories of shipped manifests (plus the test overlays that build on them). */
export const MANIFEST_DIRS = [
  'rollouts',
  'analysis-templates',
  'deploy/canary-judge',
  'plugins',
  'test/manifests/fixtures',
] as const;

export type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; [k: string]: unknown };
  [k: string]: unknown;
};

export interface ParsedFile {
  /** Path relative to the repository root. */
  readonly path: string;
  readonly text: string;
  readonly docs: readonly unknown[];
}

export function listYamlFiles(dirs: readonly string[] = MANIFEST_DIRS): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const full = join(dir, name);
      if (statSync(full).isDirectory()) walk(full);
      else if (/\.ya?ml$/.test(name)) out.push(relative(REPO, full));
    }
  };
  for (const d of dirs) {
    const full = join(REPO, d);
    if (existsSync(full)) walk(full);
  }
  return out;
}

/** Parses a YAML stream strictly; throws with the file name and every problem found. */
export function parseYamlText(text: string, path: string): unknown[] {
  const parse = (version: '1.1' | '1.2') =>
    parseAllDocuments(text, { version, uniqueKeys: true, prettyErrors: true, strict: true });
  const docs12 = parse('1.2');
  if (!Array.isArray(docs12)) throw new Error(`${path}: not a YAML stream`);
  const problems: string[] = [];
  for (const d of docs12) {
    for (const e of d.errors) problems.push(e.message);
    for (const w of d.warnings) problems.push(w.message);
  }
  if (problems.length > 0) throw new Error(`${path}: YAML errors:\n${problems.join('\n')}`);
  const values = docs12.map((d) => d.toJS() as unknown).filter((v) => v !== null && v !== undefined);
  const docs11 = parse('1.1');
  const values11 = Array.isArray(docs11)
    ? docs11.map((d) => d.toJS() as unknown).filter((v) => v !== null && v !== undefined)
    : [];
  if (!isDeepStrictEqual(values, values11)) {
    throw new Error(
      `${path}: reads differently as YAML 1.1 and YAML 1.2 (octal like 0o440 or 0440, yes/no/on/off?): ` +
        'quote the value or write it unambiguously',
    );
  }
  return values;
}

export function readYamlFile(path: string): ParsedFile {
  const text = readFileSync(join(REPO, path), 'utf8');
  return { path, text, docs: parseYamlText(text, path) };
}

export function isK8sObject(v: unknown): v is K8sObject {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  const md = o['metadata'] as Record<string, unknown> | undefined;
  return (
    typeof o['apiVersion'] === 'string' && typeof o['kind'] === 'string' && typeof md?.['name'] === 'string'
  );
}

/** Directories (relative to the repo) holding a kustomization.yaml of kind Kustomization. */
export function kustomizationDirs(): string[] {
  return kustomizeDirs('Kustomization');
}

/** Directories holding a kustomize Component (plugins/install/*): applied to someone else's base. */
export function componentDirs(): string[] {
  return kustomizeDirs('Component');
}

function kustomizeDirs(kind: 'Kustomization' | 'Component'): string[] {
  return listYamlFiles()
    .filter((p) => /(^|\/)kustomization\.ya?ml$/.test(p))
    .filter((p) => (readYamlFile(p).docs[0] as { kind?: string } | undefined)?.kind === kind)
    .map((p) => dirname(p));
}

// ---- tools ---------------------------------------------------------------------------------

let kustomizeBin: string | undefined;

/** The pinned kustomize, built (once, cached outside the repo) by scripts/kustomize.sh. */
export function kustomize(): string {
  if (kustomizeBin === undefined) {
    const dir = execFileSync('bash', [join(REPO, 'scripts/kustomize.sh')], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    }).trim();
    kustomizeBin = join(dir, 'kustomize');
  }
  return kustomizeBin;
}

/** Renders one kustomization; throws with kustomize's own message on failure. */
export function renderKustomization(dir: string): { text: string; objects: K8sObject[] } {
  let text: string;
  try {
    text = execFileSync(kustomize(), ['build', join(REPO, dir)], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`kustomize build ${dir} failed:\n${err.stderr ?? err.message}`);
  }
  const docs = parseYamlText(text, `kustomize build ${dir}`);
  const objects = docs.filter(isK8sObject);
  if (objects.length !== docs.length)
    throw new Error(`kustomize build ${dir}: a document is not a Kubernetes object`);
  return { text, objects };
}

let argoBinDir: string | undefined;

/** kubectl-argo-rollouts of the default Argo release (scripts/argo-tools.sh, scripts/lib/argo-version.sh). */
export function kubectlArgoRollouts(): string {
  if (argoBinDir === undefined) {
    argoBinDir = execFileSync('bash', [join(REPO, 'scripts/argo-tools.sh'), 'kubectl-argo-rollouts'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    }).trim();
  }
  return join(argoBinDir, 'kubectl-argo-rollouts');
}

export function objectsOfKind<T extends K8sObject = K8sObject>(
  objects: readonly K8sObject[],
  kind: string,
): T[] {
  return objects.filter((o) => o.kind === kind) as T[];
}

export function findObject<T extends K8sObject = K8sObject>(
  objects: readonly K8sObject[],
  kind: string,
  name: string,
  namespace?: string,
): T | undefined {
  return objects.find(
    (o) =>
      o.kind === kind &&
      o.metadata.name === name &&
      (namespace === undefined || o.metadata.namespace === namespace),
  ) as T | undefined;
}
