#!/usr/bin/env node
/**
 * The database CLI: `npm run db -- migrate|plan|status|verify|repair|serve`.
 * Runs as compiled JavaScript (dist/bin/db.js) so a no-op migrate starts fast;
 * `npm run db -- --help` lists the options and exit codes.
 */
import { parseCli, UsageError, USAGE } from '../lib/db-cli/args';
import { EXIT, runCommand, type Io } from '../lib/db-cli/commands';
import { serve } from '../lib/db-cli/serve';

const io: Io = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
};

async function main(argv: readonly string[]): Promise<number> {
  let options;
  try {
    options = parseCli(argv, process.env);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.err(`error: ${err.message}\n\n${USAGE}`);
    return EXIT.error;
  }
  if (!options) {
    io.out(USAGE);
    return EXIT.ok;
  }
  if (options.command === 'serve') {
    return serve(options, io);
  }
  return runCommand(options, io);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    io.err(`error: ${(err as Error)?.stack ?? String(err)}`);
    process.exitCode = EXIT.error;
  },
);
