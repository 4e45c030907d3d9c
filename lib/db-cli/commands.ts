/**
 * The `db` commands. Results go to stdout (JSON with --json), progress and
 * warnings to stderr, one line per file with its duration.
 */
import {
  inspect,
  migrate,
  MigrationError,
  repair,
  type FileStatus,
  type Inspection,
  type MigrationLogger,
  type RunnerOptions,
} from '../../lambda/migrator';
import type { CliOptions } from './args';
import { describeTarget, openDatabase, type OpenDatabase, type TargetInfo } from './connect';
import { openDataApi, type DataApiTarget } from './data-api';
import { driftOf, renderDriftReport } from './drift';

/** The Data API is never local, so seeds are only compared when asked for. */
function describeDataApi(target: DataApiTarget): TargetInfo {
  return { local: false, description: `${target.clusterArn} (RDS Data API, database ${target.database})` };
}

/** The Data API as an OpenDatabase: read-only (drift reads the catalog in one READ ONLY Data API transaction). */
async function openDataApiDatabase(target: DataApiTarget, readOnlyTransactions: boolean): Promise<OpenDatabase> {
  const { client, close } = await openDataApi(target, { readOnlyTransactions });
  return { client, close, ...describeDataApi(target) };
}

/** Exit codes of `status` (and the general ones). */
export const EXIT = { ok: 0, error: 1, pending: 2, drift: 3, unknown: 4 } as const;

export interface Io {
  out(text: string): void;
  err(text: string): void;
}

/** The exit code `status` gives for an inspection: drift > unknown > pending > up to date. */
export function statusExitCode(inspection: Inspection): number {
  const all = [...inspection.migrations, ...inspection.seeds];
  if (inspection.error?.code === 'drift' || inspection.error?.code === 'out_of_order') return EXIT.drift;
  if (inspection.migrations.some((s) => s.state === 'unknown')) return EXIT.unknown;
  if (all.some((s) => s.state === 'pending' || s.state === 'partial' || s.state === 'out_of_order')) return EXIT.pending;
  return EXIT.ok;
}

const DONE: Record<string, string> = { apply: 'applied   ', reapply: 're-applied', resume: 'resumed   ' };

/** Logger printing one line per finished file, plus lock waits and warnings. */
export function cliLogger(io: Io): MigrationLogger {
  return {
    info(_message, fields) {
      if (fields?.event === 'file_done') io.err(`  ${DONE[String(fields.action)] ?? fields.action} ${fields.path}  (${fields.durationMs} ms)`);
      else if (fields?.event === 'lock_wait') io.err(`waiting for the migration lock${fields.holderPid ? ` (held by pid ${fields.holderPid})` : ''}…`);
      else if (fields?.event === 'repaired') io.err(`  repaired ${fields.path}`);
    },
    warn(message) {
      io.err(`warning: ${message}`);
    },
    error() {
      // The command reports the failure itself, once, with its location.
    },
  };
}

function runnerOptions(options: CliOptions, target: TargetInfo, io: Io): RunnerOptions {
  let allowSeeds = !options.noSeeds;
  // drift compares migrations only: no seed is read, so there is nothing to say about them.
  if (allowSeeds && !target.local && !options.seedsExplicit && options.command !== 'drift') {
    allowSeeds = false;
    io.err(`note: not applying seeds to ${target.description} (not on this machine); pass --seeds DIR to apply them there`);
  }
  return {
    migrations: options.migrationsDir,
    seeds: options.seedsDir,
    allowSeeds,
    allowOutOfOrder: options.allowOutOfOrder,
    strict: options.strict,
    logger: cliLogger(io),
  };
}

function describe(s: FileStatus): string {
  const state = s.state.replace(/_/g, '-');
  const extra = s.note ? `  — ${s.note}` : s.appliedAt ? `  ${s.appliedAt.replace('T', ' ').replace(/\.\d+.*$/, '')}` : '';
  return `  ${state.padEnd(12)} ${s.path}${extra}`;
}

function printInspection(io: Io, inspection: Inspection, which: 'status' | 'plan'): void {
  if (which === 'plan') {
    if (inspection.error) return;
    if (inspection.steps.length === 0) {
      io.out('Nothing to do: the database is up to date.');
      return;
    }
    io.out(`migrate would run ${inspection.steps.length} file${inspection.steps.length === 1 ? '' : 's'}:`);
    for (const step of inspection.steps) {
      const how = step.file.directives.noTransaction ? 'no transaction' : 'in a transaction';
      const skip = step.skipStatements ? `, from statement ${step.skipStatements + 1}` : '';
      io.out(`  ${step.action.padEnd(7)} ${step.file.displayPath}  (${step.file.statements.length} statements, ${how}${skip})`);
    }
    return;
  }
  io.out(`Database version: ${inspection.currentVersion ?? 'none'}${inspection.initialized ? '' : ' (never migrated)'}`);
  if (inspection.migrations.length > 0) io.out('Migrations:');
  for (const s of inspection.migrations) io.out(describe(s));
  if (inspection.seeds.length > 0) io.out('Seeds:');
  for (const s of inspection.seeds) io.out(describe(s));
}

function reportError(io: Io, options: CliOptions, err: unknown): number {
  if (err instanceof MigrationError) {
    if (options.json) io.out(JSON.stringify({ ok: false, error: err.toJSON() }, null, 2));
    io.err(`error: ${err.reason}`);
    if (err.where && !err.reason.includes(err.where)) io.err(`  context: ${err.where}`);
  } else {
    const message = (err as Error)?.message ?? String(err);
    if (options.json) io.out(JSON.stringify({ ok: false, error: { code: 'error', message } }, null, 2));
    io.err(`error: ${message}`);
  }
  return EXIT.error;
}

/** Runs a non-serve command; returns the process exit code. */
export async function runCommand(options: CliOptions, io: Io): Promise<number> {
  let db: OpenDatabase | undefined;
  try {
    const target = { url: options.databaseUrl, dataDir: options.dataDir };
    const runner = runnerOptions(options, options.dataApi ? describeDataApi(options.dataApi) : describeTarget(target), io);
    db = await (options.dataApi ? openDataApiDatabase(options.dataApi, options.command === 'drift') : openDatabase(target));
    const deadline = Date.now() + options.timeoutMs;
    switch (options.command) {
      case 'migrate': {
        const result = await migrate(db.client, {
          ...runner,
          deadline,
          lockTimeoutMs: options.lockTimeoutMs,
          statementTimeoutMs: options.statementTimeoutMs,
        });
        if (options.json) io.out(JSON.stringify({ ok: true, ...result, statements: db.client.statements, roundTrips: db.client.roundTrips }, null, 2));
        else if (result.applied.length === 0) io.out(`Up to date at version ${result.currentVersion ?? 'none'}.`);
        else io.out(`Applied ${result.applied.length} file${result.applied.length === 1 ? '' : 's'}; database at version ${result.currentVersion ?? 'none'} (${result.durationMs} ms).`);
        return EXIT.ok;
      }
      case 'plan':
      case 'status':
      case 'verify': {
        const inspection = await inspect(db.client, runner);
        for (const warning of inspection.warnings) io.err(`warning: ${warning}`);
        const code = options.command === 'status' ? statusExitCode(inspection) : inspection.error ? EXIT.error : EXIT.ok;
        if (options.json) {
          const { steps, error, ...rest } = inspection;
          io.out(
            JSON.stringify(
              {
                ok: !error,
                exitCode: code,
                ...rest,
                steps: steps.map((s) => ({ action: s.action, kind: s.file.kind, version: s.file.version, path: s.file.displayPath, skipStatements: s.skipStatements })),
                error: error?.toJSON(),
              },
              null,
              2,
            ),
          );
        } else if (options.command === 'verify') {
          if (!inspection.error) io.out(`Verified: files valid, checksums of ${inspection.migrations.filter((m) => m.state === 'applied').length} applied migrations match.`);
        } else {
          printInspection(io, inspection, options.command);
        }
        if (inspection.error) io.err(`error: ${inspection.error.reason}`);
        return code;
      }
      case 'drift': {
        const report = await driftOf(db.client, options.migrationsDir);
        const code = report.ok ? EXIT.ok : EXIT.drift;
        if (options.json) io.out(JSON.stringify({ exitCode: code, ...report }, null, 2));
        else for (const line of renderDriftReport(report, db.description)) io.out(line);
        return code;
      }
      case 'repair': {
        const result = await repair(db.client, { ...runner, files: options.files, deadline });
        if (options.json) io.out(JSON.stringify({ ok: true, ...result }, null, 2));
        else {
          for (const r of result.repaired) io.out(`Repaired ${r.path}: checksum ${r.oldChecksum.slice(0, 12)}… → ${r.newChecksum.slice(0, 12)}…`);
          for (const path of result.unchanged) io.out(`Unchanged ${path}: already matches its history.`);
        }
        return EXIT.ok;
      }
      default:
        throw new Error(`unexpected command ${options.command}`);
    }
  } catch (err) {
    return reportError(io, options, err);
  } finally {
    await db?.close().catch(() => {});
  }
}
