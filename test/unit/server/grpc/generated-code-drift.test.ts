/**
 * src/gen must be exactly what scripts/gen-proto.sh makes from proto/ (buf + ts-proto from
 * node_modules): this fails when someone edits a .proto without regenerating, or edits the
 * generated code by hand. The fix is always `bash scripts/gen-proto.sh`.
 */

import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..', '..', '..');

async function files(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

let tmp: string;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'canary-judge-gen-'));
  await run('bash', [join(root, 'scripts/gen-proto.sh'), tmp], { cwd: root });
});

afterAll(async () => {
  if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
});

describe('generated gRPC code', () => {
  it('has exactly the files the contract generates', async () => {
    const fresh = await files(join(tmp, 'src/gen'));
    expect(fresh).toContain('canary_judge/v1/judge.ts');
    expect(fresh).toContain('grpc/health/v1/health.ts');
    expect(await files(join(root, 'src/gen'))).toEqual(fresh);
  });

  it('matches a fresh generation byte for byte (regenerate with scripts/gen-proto.sh)', async () => {
    for (const f of await files(join(tmp, 'src/gen'))) {
      const fresh = await readFile(join(tmp, 'src/gen', f), 'utf8');
      const committed = await readFile(join(root, 'src/gen', f), 'utf8');
      const a = committed.split('\n');
      const b = fresh.split('\n');
      const line = a.findIndex((l, i) => l !== b[i]);
      const where =
        line === -1
          ? `${a.length} vs ${b.length} lines`
          : `line ${line + 1}: ${JSON.stringify(a[line])} vs ${JSON.stringify(b[line])}`;
      expect(
        committed === fresh,
        `src/gen/${f} differs from what proto/ generates (${where}); run scripts/gen-proto.sh`,
      ).toBe(true);
    }
  });
});
