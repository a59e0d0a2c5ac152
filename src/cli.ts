#!/usr/bin/env node
/** The `canary-judge` command line: `canary-judge report …` (src/report/cli.ts). */
import { ReportError } from './report/judge-client.js';
import { USAGE, report } from './report/cli.js';

async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === 'report') {
    await report(rest);
    return 0;
  }
  process.stderr.write(
    command === undefined || command === '--help' || command === '-h'
      ? USAGE
      : `unknown command ${command}\n${USAGE}`,
  );
  return command === undefined || command === '--help' || command === '-h' ? 0 : 2;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(
      `canary-judge: ${e instanceof ReportError || e instanceof TypeError ? e.message : String(e)}\n`,
    );
    process.exit(1);
  },
);
