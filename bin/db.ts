#!/usr/bin/env node
/**
 * The database CLI: `npm run db -- migrate|plan|status|verify|repair|serve`
 * (`npm run db -- --help` lists the options and exit codes). `npm run build`
 * bundles it with `pg` into dist/bin/db.js (lib/db-cli/bundle.mjs).
 */
import { parseCli, UsageError, USAGE } from '../lib/db-cli/args';
import { EXIT, runCommand, type Io } from '../lib/db-cli/commands';
import { serve } from '../lib/db-cli/serve';

// A reader that stops early (`db status | head`) must not abort the command, least of all a migrate
// in the middle of a file: the rest of the output is dropped and the command runs to its end.
let stdoutOpen = true;
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
  stdoutOpen = false;
});

const io: Io = {
  out: (text) => {
    if (stdoutOpen) process.stdout.write(`${text}\n`);
  },
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
