/**
 * Compares the files with the history and decides what a run would do. Pure:
 * `migrate`, `plan`, `status` and `verify` all start from this.
 */
import { createHash } from 'node:crypto';
import { MigrationError } from './errors';
import type { FileKind, SqlFile } from './files';
import type { AppliedFile, History } from './history';
import type { SqlStatement } from './sql-split';

/**
 * - `applied`: ran, and the file still has the checksum it ran with
 * - `pending`: will run
 * - `partial`: a no-transaction migration that stopped part-way; will resume
 * - `drifted`: ran, but the file was edited (or renamed) since
 * - `out_of_order`: pending, but older than the newest applied migration
 * - `unknown`: in the database, not in the files (e.g. after a rollback to older code)
 */
export type FileState = 'applied' | 'pending' | 'partial' | 'drifted' | 'out_of_order' | 'unknown';

export interface FileStatus {
  readonly kind: FileKind;
  readonly version: number;
  readonly name: string;
  /** The file's display path, or the path recorded in the history for unknown versions. */
  readonly path: string;
  readonly state: FileState;
  /** Checksum of the file on disk. */
  readonly checksum?: string;
  /** Checksum recorded when it was applied. */
  readonly appliedChecksum?: string;
  readonly appliedAt?: string;
  readonly appliedBy?: string;
  /** For `partial`: statements already done. */
  readonly statementsDone?: number;
  /** Why a file is drifted or otherwise noteworthy. */
  readonly note?: string;
}

/** One file the run will execute. */
export interface PlannedStep {
  readonly file: SqlFile;
  /** `apply` a new file, `reapply` a changed seed, `resume` a part-done no-transaction migration. */
  readonly action: 'apply' | 'reapply' | 'resume';
  /** Statements to skip (already done) when resuming. */
  readonly skipStatements: number;
  /** The history row being replaced, when there is one. */
  readonly previous?: AppliedFile;
}

export interface Plan {
  /** Every migration known to the files or the history, in version order. */
  readonly migrations: readonly FileStatus[];
  /** Every seed known to the files or the history (empty when seeds are not in play). */
  readonly seeds: readonly FileStatus[];
  /** What the run would execute, in order: migrations, then seeds. */
  readonly steps: readonly PlannedStep[];
  /** Highest migration version applied completely, if any. */
  readonly currentVersion?: number;
  /** Things to tell the operator that do not stop the run. */
  readonly warnings: readonly string[];
  /** What stops the run (drift, refused out-of-order files, unknown versions in strict mode). */
  readonly error?: MigrationError;
}

export interface PlanOptions {
  /** Apply pending migrations older than the newest applied one. @default false */
  readonly allowOutOfOrder?: boolean;
  /** Treat applied versions missing from the files as an error. @default false */
  readonly strict?: boolean;
}

/** sha256 over the text of the statements a part-done migration has completed. */
export function progressChecksum(statements: readonly SqlStatement[]): string {
  const hash = createHash('sha256');
  for (const s of statements) hash.update(s.text, 'utf8').update('\0');
  return hash.digest('hex');
}

function compareApplied(file: SqlFile, row: AppliedFile): { state: FileState; note?: string; skip?: number } {
  if (row.statementsDone !== undefined) {
    const done = row.statementsDone;
    if (done > file.statements.length || progressChecksum(file.statements.slice(0, done)) !== row.progressChecksum) {
      return { state: 'drifted', note: `stopped after statement ${done}, and the statements already run were edited since` };
    }
    return { state: 'partial', skip: done };
  }
  if (row.checksum !== file.checksum) return { state: 'drifted', note: 'edited after it was applied' };
  if (row.name !== file.name) return { state: 'drifted', note: `applied under the name ${row.path}` };
  return { state: 'applied' };
}

function statusOf(file: SqlFile | undefined, row: AppliedFile | undefined, state: FileState, extra: { note?: string } = {}): FileStatus {
  return {
    kind: (file?.kind ?? row?.kind)!,
    version: (file?.version ?? row?.version)!,
    name: (file?.name ?? row?.name)!,
    path: file?.displayPath ?? row!.path,
    state,
    checksum: file?.checksum,
    appliedChecksum: row?.checksum,
    appliedAt: row?.appliedAt,
    appliedBy: row?.appliedBy,
    statementsDone: row?.statementsDone,
    note: extra.note,
  };
}

/**
 * Decides what to run.
 * @param migrations parsed migrations, in version order
 * @param seeds parsed seeds, or undefined when seeds are not part of this run
 * @param history the history, or undefined for a database never migrated
 */
export function planRun(migrations: readonly SqlFile[], seeds: readonly SqlFile[] | undefined, history: History | undefined, options: PlanOptions = {}): Plan {
  const applied = history?.applied ?? [];
  const appliedMigrations = new Map(applied.filter((a) => a.kind === 'migration').map((a) => [a.version, a]));
  const appliedSeeds = new Map(applied.filter((a) => a.kind === 'seed').map((a) => [a.version, a]));
  const warnings: string[] = [];
  const steps: PlannedStep[] = [];

  let newestApplied: number | undefined;
  for (const row of appliedMigrations.values()) {
    if (row.statementsDone === undefined && (newestApplied === undefined || row.version > newestApplied)) newestApplied = row.version;
  }

  const migrationStatus: FileStatus[] = [];
  const fileVersions = new Set<number>();
  for (const file of migrations) {
    fileVersions.add(file.version);
    const row = appliedMigrations.get(file.version);
    if (row) {
      const { state, note, skip } = compareApplied(file, row);
      migrationStatus.push(statusOf(file, row, state, { note }));
      if (state === 'partial') steps.push({ file, action: 'resume', skipStatements: skip!, previous: row });
    } else if (newestApplied !== undefined && file.version < newestApplied) {
      migrationStatus.push(statusOf(file, undefined, 'out_of_order', { note: `older than the newest applied migration (${newestApplied})` }));
      if (options.allowOutOfOrder) steps.push({ file, action: 'apply', skipStatements: 0 });
    } else {
      migrationStatus.push(statusOf(file, undefined, 'pending'));
      steps.push({ file, action: 'apply', skipStatements: 0 });
    }
  }
  for (const row of appliedMigrations.values()) {
    if (!fileVersions.has(row.version)) {
      const note = row.statementsDone === undefined ? undefined : `stopped after statement ${row.statementsDone}`;
      migrationStatus.push(statusOf(undefined, row, 'unknown', { note }));
    }
  }
  migrationStatus.sort((a, b) => a.version - b.version);
  // Resumed and out-of-order files run in version order with the pending ones.
  steps.sort((a, b) => a.file.version - b.file.version);

  const seedStatus: FileStatus[] = [];
  if (seeds) {
    const seedVersions = new Set<number>();
    for (const file of seeds) {
      seedVersions.add(file.version);
      const row = appliedSeeds.get(file.version);
      if (!row) {
        seedStatus.push(statusOf(file, undefined, 'pending'));
        steps.push({ file, action: 'apply', skipStatements: 0 });
        continue;
      }
      const { state, skip } = compareApplied(file, row);
      if (state === 'applied') {
        seedStatus.push(statusOf(file, row, 'applied'));
      } else if (state === 'partial') {
        seedStatus.push(statusOf(file, row, 'partial'));
        steps.push({ file, action: 'resume', skipStatements: skip!, previous: row });
      } else {
        // A changed seed is not drift: seeds are re-applied when they change.
        seedStatus.push(statusOf(file, row, 'pending', { note: 'changed since it was applied; will be re-applied' }));
        steps.push({ file, action: 'reapply', skipStatements: 0, previous: row });
      }
    }
    for (const row of appliedSeeds.values()) {
      if (!seedVersions.has(row.version)) seedStatus.push(statusOf(undefined, row, 'unknown'));
    }
    seedStatus.sort((a, b) => a.version - b.version);
  }

  const drifted = migrationStatus.filter((s) => s.state === 'drifted');
  const outOfOrder = migrationStatus.filter((s) => s.state === 'out_of_order');
  const unknown = migrationStatus.filter((s) => s.state === 'unknown');
  const list = (items: readonly FileStatus[]) => items.map((s) => s.path).join(', ');

  if (unknown.length > 0) {
    warnings.push(
      `the database has ${unknown.length === 1 ? 'a migration' : 'migrations'} the files do not: ${unknown.map((s) => `${s.version} (${s.path})`).join(', ')}` +
        ' — expected after a rollback to older code; the database stays as it is',
    );
  }
  if (outOfOrder.length > 0 && options.allowOutOfOrder) {
    warnings.push(`applying out of order (allowed): ${list(outOfOrder)}`);
  }

  let error: MigrationError | undefined;
  if (drifted.length > 0) {
    error = new MigrationError(
      `${drifted.length === 1 ? 'an applied file was' : `${drifted.length} applied files were`} changed since ${drifted.length === 1 ? 'it' : 'they'} ran: ` +
        drifted.map((s) => `${s.path} (${s.note})`).join('; '),
      {
        code: 'drift',
        file: drifted[0].path,
        files: drifted.map((s) => s.path),
        hint: 'restore the applied text, or, if the change is deliberate and already reflected in the database, run "db repair <file>" to record the new checksum; put new changes in a new migration',
      },
    );
  } else if (outOfOrder.length > 0 && !options.allowOutOfOrder) {
    error = new MigrationError(`pending ${outOfOrder.length === 1 ? 'migration is' : 'migrations are'} older than the newest applied one (${newestApplied}): ${list(outOfOrder)}`, {
      code: 'out_of_order',
      file: outOfOrder[0].path,
      files: outOfOrder.map((s) => s.path),
      hint: 'renumber the file after the newest applied migration, or allow out-of-order migrations (--allow-out-of-order)',
    });
  } else if (unknown.length > 0 && options.strict) {
    error = new MigrationError(`strict mode: the database has migrations the files do not: ${unknown.map((s) => `${s.version} (${s.path})`).join(', ')}`, {
      code: 'unknown_versions',
      files: unknown.map((s) => s.path),
    });
  }

  return { migrations: migrationStatus, seeds: seedStatus, steps, currentVersion: newestApplied, warnings, error };
}
