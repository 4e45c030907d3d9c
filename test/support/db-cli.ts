/**
 * The compiled database CLI (`dist/bin/db.js`, built by `npm test`) run as a child process from the project root,
 * as an operator runs it, with no DATABASE_URL inherited: what it prints and the exit status it ends with.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
/** The compiled CLI. */
export const DB_CLI = join(ROOT, 'dist', 'bin', 'db.js');

/** What one run of the CLI printed, and its exit status. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `node dist/bin/db.js …args` in the project root. */
export function runDbCli(args: string[]): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(process.execPath, [DB_CLI, ...args], { cwd: ROOT, env: { ...process.env, DATABASE_URL: '' } }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}
