/**
 * The layering the code's layout promises: the domain (src/judge, src/prometheus, src/stats, src/contract)
 * never imports a transport (src/server), the statistics never do I/O or read configuration, and
 * the judge reaches its metrics only through the metrics-source seam (src/judge/metrics-source.ts):
 * nothing under src/judge imports src/prometheus, and src/prometheus implements the seam without
 * reaching into the judge behind it. The two meet only where the service is composed (src/main.ts).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = resolve(import.meta.dirname, '../../src');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

/** Import specifiers of a module, resolved against the repository's src/ when relative. */
function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]/g)) {
    const spec = m[1] as string;
    out.push(spec.startsWith('.') ? relative(SRC, resolve(file, '..', spec)) : spec);
  }
  return out;
}

describe('layering', () => {
  it.each(['judge', 'prometheus', 'stats', 'contract'])('src/%s imports nothing from src/server', (layer) => {
    const offending = sources(join(SRC, layer)).flatMap((f) =>
      imports(f)
        .filter((i) => i.startsWith('server/') || i === 'server')
        .map((i) => `${relative(SRC, f)} → ${i}`),
    );
    expect(offending).toEqual([]);
  });

  it('nothing under src/judge (judge.ts, the query runner, the window, the check kinds) imports src/prometheus', () => {
    const offending = sources(join(SRC, 'judge')).flatMap((f) =>
      imports(f)
        .filter((i) => i.startsWith('prometheus/'))
        .map((i) => `${relative(SRC, f)} → ${i}`),
    );
    expect(offending).toEqual([]);
  });

  it('src/prometheus imports from src/judge only the seam it implements (judge/metrics-source.ts)', () => {
    const offending = sources(join(SRC, 'prometheus')).flatMap((f) =>
      imports(f)
        .filter((i) => i.startsWith('judge/') && i !== 'judge/metrics-source.js')
        .map((i) => `${relative(SRC, f)} → ${i}`),
    );
    expect(offending).toEqual([]);
  });

  it('the judge and the Prometheus source are composed in src/main.ts alone', () => {
    const composing = sources(SRC).filter((f) => {
      const is = imports(f);
      const inside = (l: string) => relative(SRC, f).startsWith(`${l}/`);
      return (
        !inside('judge') &&
        !inside('prometheus') &&
        is.includes('prometheus/source.js') &&
        is.some((i) => i === 'judge/index.js' || i === 'judge/judge.js')
      );
    });
    expect(composing.map((f) => relative(SRC, f))).toEqual(['main.ts']);
  });

  it("src/report is a client of the HTTP API: no transport, no Prometheus, only the judge's result types and its rules for the plugin's configuration", () => {
    const offending = sources(join(SRC, 'report')).flatMap((f) =>
      imports(f)
        .filter(
          (i) =>
            /^(server|prometheus|config|observability)\//.test(i) ||
            (i.startsWith('judge/') && i !== 'judge/types.js' && i !== 'judge/plugin-config.js'),
        )
        .map((i) => `${relative(SRC, f)} → ${i}`),
    );
    expect(offending).toEqual([]);
  });

  it("the plugin configuration rules the report shares are pure: only the request model's types", () => {
    expect(imports(join(SRC, 'judge/plugin-config.ts'))).toEqual(['judge/request.js']);
  });

  it('the contract comparison is pure: src/contract/compare.ts imports only the contract model', () => {
    expect(imports(join(SRC, 'contract/compare.ts'))).toEqual(['contract/contract.js']);
  });

  it('src/stats imports only src/stats (pure functions: no I/O, no configuration)', () => {
    const offending = sources(join(SRC, 'stats')).flatMap((f) =>
      imports(f)
        .filter((i) => !i.startsWith('stats/'))
        .map((i) => `${relative(SRC, f)} → ${i}`),
    );
    expect(offending).toEqual([]);
  });
});
