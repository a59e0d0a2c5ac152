/**
 * The `canary-judge` command line's dispatch: `--version` gives the package's version, help goes
 * to stdout with exit 0, an unknown command to stderr with exit 2, and `report` parses its own
 * options. The installed package runs the same code in test/package/run.sh, and the e2e runs
 * its reports against a real control plane.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { USAGE, cli } from '../../src/cli.js';

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await cli(
    argv,
    (s) => (out += s),
    (s) => (err += s),
  );
  return { code, out, err };
}

describe('canary-judge command line', () => {
  it("--version prints package.json's version", async () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    expect(await run('--version')).toEqual({ code: 0, out: `${pkg.version}\n`, err: '' });
    expect((await run('-V')).out).toBe(`${pkg.version}\n`);
  });

  it('prints its usage on stdout without a command or with --help', async () => {
    for (const argv of [[], ['--help'], ['-h']]) {
      const r = await run(...argv);
      expect(r).toEqual({ code: 0, out: USAGE, err: '' });
    }
    expect(USAGE).toMatch(/^usage: canary-judge report ROLLOUT -n NAMESPACE/);
    expect(USAGE).toContain('canary-judge --version');
  });

  it('refuses an unknown command on stderr with exit 2', async () => {
    const r = await run('promote');
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toMatch(/^unknown command promote\nusage: canary-judge report/);
  });

  it("hands `report` its arguments: --help is the report's, a missing Rollout is an error", async () => {
    const help = await run('report', '--help');
    expect(help.code).toBe(0);
    expect(help.out).toMatch(/^usage: canary-judge report ROLLOUT -n NAMESPACE/);
    expect(help.out).not.toContain('--version');
    await expect(run('report', '-n', 'catalogo')).rejects.toThrow(
      'a Rollout name and its namespace are required',
    );
  });
});
