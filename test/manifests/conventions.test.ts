/**
 * House rules of the manifests, checked so they stay true: every file opens with a comment
 * saying what it shows; one ClusterAnalysisTemplate per file, whose opening comment names the
 * template, says what it checks and lists every arg it declares; example Secrets carry no
 * real token and stay out of the kustomizations.
 */

import { describe, expect, it } from 'vitest';
import type { AnalysisTemplate } from './lib/argo.js';
import { kustomizationDirs, listYamlFiles, readYamlFile, renderKustomization } from './lib/files.js';

const files = listYamlFiles();

/** The comment block a file opens with, without the `#`s. */
function header(text: string): string {
  const lines: string[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('#')) break;
    lines.push(line.replace(/^#\s?/, ''));
  }
  return lines.join('\n');
}

describe('manifest files', () => {
  it.each(files)('%s opens with a comment saying what it shows', (path) => {
    const h = header(readYamlFile(path).text);
    expect(h.split(/\s+/).filter(Boolean).length, path).toBeGreaterThanOrEqual(8);
  });

  const templateFiles = files.filter(
    (p) => p.startsWith('analysis-templates/') && !p.endsWith('kustomization.yaml'),
  );

  it.each(templateFiles)(
    '%s holds one ClusterAnalysisTemplate, its header naming it and every arg',
    (path) => {
      const f = readYamlFile(path);
      expect(f.docs).toHaveLength(1);
      const t = f.docs[0] as AnalysisTemplate;
      expect(t.kind).toBe('ClusterAnalysisTemplate');
      expect(path).toBe(`analysis-templates/${t.metadata.name}.yaml`);
      const h = header(f.text);
      expect(h).toContain(t.metadata.name);
      expect(h).toMatch(/Args:/);
      const argsPart = h.slice(h.indexOf('Args:'));
      for (const a of t.spec.args ?? [])
        expect(argsPart, `${path}: arg ${a.name} in the header`).toContain(a.name);
    },
  );

  it('every template file is in the analysis-templates kustomization', () => {
    const rendered = renderKustomization('analysis-templates')
      .objects.map((o) => o.metadata.name)
      .sort();
    expect(rendered).toEqual(
      templateFiles.map((p) => p.replace(/^analysis-templates\/(.*)\.yaml$/, '$1')).sort(),
    );
  });

  it('example Secrets hold placeholders only and are applied by no kustomization', () => {
    const examples = files.filter((p) => p.endsWith('.example.yaml'));
    expect(examples.length).toBeGreaterThanOrEqual(2);
    for (const p of examples) {
      const docs = readYamlFile(p).docs as {
        kind: string;
        stringData?: Record<string, string>;
        data?: unknown;
      }[];
      for (const d of docs) {
        expect(d.kind).toBe('Secret');
        expect(d.data).toBeUndefined();
        for (const v of Object.values(d.stringData ?? {})) expect(v).toMatch(/^REPLACE-/);
      }
    }
    const secretsRendered = kustomizationDirs().flatMap((d) =>
      renderKustomization(d).objects.filter((o) => o.kind === 'Secret'),
    );
    expect(secretsRendered).toEqual([]);
  });
});
