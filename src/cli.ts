#!/usr/bin/env node
/**
 * The `canary-judge` command line: `canary-judge report …` (src/report/cli.ts) and
 * `canary-judge --version`. It is the package's `bin` (compiled to dist/src/cli.js), and the
 * image's entrypoint (src/main.ts) hands `report …` over to it.
 */
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { VERSION } from './observability/build.js';
import { ReportError } from './report/judge-client.js';
import { USAGE as REPORT_USAGE, report } from './report/cli.js';

export const USAGE = `${REPORT_USAGE}   or: canary-judge --version\n`;

/** Runs one command line; resolves to the exit code (a report's failure rejects). */
export async function cli(
  argv: readonly string[],
  out: (s: string) => void = (s) => process.stdout.write(s),
  err: (s: string) => void = (s) => process.stderr.write(s),
): Promise<number> {
  const [command, ...rest] = argv;
  if (command === 'report') {
    await report(rest, out);
    return 0;
  }
  if (command === '--version' || command === '-V') {
    out(`${VERSION}\n`);
    return 0;
  }
  if (command === undefined || command === '--help' || command === '-h') {
    out(USAGE);
    return 0;
  }
  err(`unknown command ${command}\n${USAGE}`);
  return 2;
}

/** Runs the command line of this process and exits with its code. */
export function runCli(argv: readonly string[]): void {
  cli(argv).then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(
        `canary-judge: ${e instanceof ReportError || e instanceof TypeError ? e.message : String(e)}\n`,
      );
      process.exit(1);
    },
  );
}

// Run when this file is the program (through the bin's link too), not when imported.
const entry = process.argv[1];
if (entry !== undefined && import.meta.url === pathToFileURL(realpathSync(entry)).href)
  runCli(process.argv.slice(2));
