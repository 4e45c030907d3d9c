/**
 * The runner's entry points: `migrate` (apply what is pending, under the
 * lock), `inspect` (read-only: what `plan`, `status` and `verify` show) and
 * `repair` (re-record the checksums of named files).
 *
 * A run that has nothing to do sends one statement, the history read, and
 * takes no lock; a run with work reads the history again under the lock.
 */
import { applyStep, repairSql } from './apply';
import { withDeadline, type SqlClient } from './client';
import { MigrationError } from './errors';
import { listSqlDirectory, parseFileName, parseSqlFiles, readSqlDirectory, type FileKind, type SqlFile, type SqlSource } from './files';
import { createHistory, readHistory } from './history';
import { acquireLock, DEFAULT_LOCK_KEY, releaseLock } from './lock';
import { silentLogger, type MigrationLogger } from './logger';
import { planRun, type Plan, type PlanOptions } from './plan';
import { RUNNER_VERSION } from './version';

/** Where the SQL files come from: a directory, or files already loaded (e.g. shipped in a Lambda bundle). */
export type SqlFileSource = string | readonly SqlSource[];

export interface RunnerOptions extends PlanOptions {
  /** The migrations: a directory of `NNN_name.sql` files, or the files themselves. */
  readonly migrations: SqlFileSource;
  /**
   * The seeds, applied after the migrations when `allowSeeds` is set.
   * @default - no seeds
   */
  readonly seeds?: SqlFileSource;
  /**
   * Whether this environment may receive seeds. When false, seeds are
   * neither read nor applied, whatever `seeds` says.
   * @default false
   */
  readonly allowSeeds?: boolean;
  /** Receives progress and warnings. @default - nothing is logged */
  readonly logger?: MigrationLogger;
}

/** The files of a run, as `loadRunFiles` reads them. */
export interface RunFiles {
  readonly migrations: SqlFile[];
  /** Undefined when seeds are not allowed. */
  readonly seeds: SqlFile[] | undefined;
  /** Seed files present but not allowed here: listed in the result, never parsed. */
  readonly seedFilesIgnored: Array<{ kind: 'seed'; version: number; path: string }>;
}

export interface MigrateOptions extends RunnerOptions {
  /**
   * Epoch milliseconds by which the whole run must finish: waiting for the
   * lock and every statement's `statement_timeout` are bounded by it.
   * @default - 15 minutes from the start of the call
   */
  readonly deadline?: number;
  /**
   * `lock_timeout` for each file (ms; 0 = none), unless the file sets `-- migrate:lock-timeout`.
   * @default 5000
   */
  readonly lockTimeoutMs?: number;
  /**
   * `statement_timeout` for each file (ms; 0 = only the deadline), unless the file sets `-- migrate:statement-timeout`.
   * @default 0
   */
  readonly statementTimeoutMs?: number;
  /**
   * Advisory lock key (a bigint, as a decimal string) shared by every runner of this database.
   * @default DEFAULT_LOCK_KEY
   */
  readonly lockKey?: string;
}

/** A file the run executed. */
export interface AppliedStep {
  readonly kind: FileKind;
  readonly version: number;
  readonly name: string;
  readonly path: string;
  readonly action: 'apply' | 'reapply' | 'resume';
  readonly durationMs: number;
}

export interface MigrateResult {
  /** Files executed, in order. */
  readonly applied: readonly AppliedStep[];
  /** Files not executed, and why: already applied, or seeds not allowed here. */
  readonly skipped: ReadonlyArray<{ readonly kind: FileKind; readonly version: number; readonly path: string; readonly reason: 'already_applied' | 'seeds_not_allowed' }>;
  /** Highest migration version applied after the run. */
  readonly currentVersion?: number;
  readonly warnings: readonly string[];
  readonly durationMs: number;
}

const DEFAULT_RUN_MS = 15 * 60_000;
/** How long past the deadline a call may hang before the runner stops waiting for the server. */
const UNRESPONSIVE_GRACE_MS = 2000;
/** How long releasing the lock may take. */
const RELEASE_TIMEOUT_MS = 2000;

function unresponsive(): MigrationError {
  return new MigrationError('the database stopped answering before the deadline', {
    code: 'deadline',
    hint: 'check the connection to the database; the lock is released when the session ends',
  });
}

/** Runs `body` under the lock on a session bounded by the deadline, releasing the lock on every path. */
async function underLock<T>(client: SqlClient, deadline: number, lockKey: string, logger: MigrationLogger, body: (session: SqlClient) => Promise<T>): Promise<T> {
  const session = withDeadline(client, deadline + UNRESPONSIVE_GRACE_MS, unresponsive);
  await acquireLock(session, lockKey, deadline, logger);
  try {
    return await body(session);
  } finally {
    await releaseLock(withDeadline(client, Date.now() + RELEASE_TIMEOUT_MS, unresponsive), lockKey, logger);
  }
}

function loadFiles(source: SqlFileSource | undefined, kind: FileKind, optional: boolean): SqlFile[] {
  if (source === undefined) return [];
  return parseSqlFiles(typeof source === 'string' ? readSqlDirectory(source, { optional }) : source, kind);
}

/** Reads the files a run uses and validates them (names, versions, statements, directives), before any database work. */
export function loadRunFiles(options: RunnerOptions): RunFiles {
  const migrations = loadFiles(options.migrations, 'migration', false);
  if (options.allowSeeds) return { migrations, seeds: loadFiles(options.seeds, 'seed', true), seedFilesIgnored: [] };
  // Seeds that will not run are only listed (by name, never read): a broken dev-only seed must not stop a production deploy.
  const sources = options.seeds === undefined ? [] : typeof options.seeds === 'string' ? listSqlDirectory(options.seeds, { optional: true }) : options.seeds;
  const seedFilesIgnored = sources.flatMap((source) => {
    const parsed = parseFileName(source.fileName);
    return parsed ? [{ kind: 'seed' as const, version: parsed.version, path: source.displayPath ?? source.fileName }] : [];
  });
  return { migrations, seeds: undefined, seedFilesIgnored };
}

/**
 * Brings the database to the state the files describe. Checks every file
 * (names, versions, statements, directives) before anything runs, verifies
 * the checksums of everything applied, takes the advisory lock (polling to
 * the deadline) when there is anything to apply, then applies pending
 * migrations and, where allowed, new or changed seeds. Throws
 * `MigrationError`; the lock is released on every path.
 *
 * A run with nothing to do, the common case of a deploy, takes no lock: one
 * read of the committed history decides it. That is sound because a file and
 * its history row commit together, and no run un-applies anything: if the
 * committed history already holds every file, unchanged, nothing a concurrent
 * run does can make this one owe work. Otherwise the plan is made again under
 * the lock, from a fresh read.
 */
export async function migrate(client: SqlClient, options: MigrateOptions): Promise<MigrateResult> {
  const started = Date.now();
  const logger = options.logger ?? silentLogger;
  const deadline = options.deadline ?? started + DEFAULT_RUN_MS;
  const lockKey = options.lockKey ?? DEFAULT_LOCK_KEY;
  const failed = (err: unknown): never => {
    if (err instanceof MigrationError) logger.error(err.reason, { event: 'failed', ...err.toJSON() });
    throw err;
  };
  try {
    const { migrations, seeds, seedFilesIgnored } = loadRunFiles(options);
    const committed = await readHistory(withDeadline(client, deadline + UNRESPONSIVE_GRACE_MS, unresponsive));
    const plan = planRun(migrations, seeds, committed, options);
    if (plan.error || plan.steps.length === 0) {
      for (const warning of plan.warnings) logger.warn(warning);
      if (plan.error) throw plan.error;
      return runResult(plan, [], seedFilesIgnored, started);
    }
    return await underLock(client, deadline, lockKey, logger, (session) =>
      runPlan(session, migrations, seeds, seedFilesIgnored, { ...options, deadline, logger, started }),
    );
  } catch (err) {
    return failed(err);
  }
}

/** Under the lock: read the history, plan, apply. */
async function runPlan(
  session: SqlClient,
  migrations: readonly SqlFile[],
  seeds: readonly SqlFile[] | undefined,
  seedFilesIgnored: RunFiles['seedFilesIgnored'],
  options: MigrateOptions & { deadline: number; logger: MigrationLogger; started: number },
): Promise<MigrateResult> {
  const { deadline, logger, started } = options;
  const history = await readHistory(session);
  const plan = planRun(migrations, seeds, history, options);
  for (const warning of plan.warnings) logger.warn(warning);
  if (plan.error) throw plan.error;
  if (plan.steps.length > 0 && !history) await createHistory(session);

  const applied: AppliedStep[] = [];
  for (const step of plan.steps) {
    const { file } = step;
    logger.info(`${step.action === 'apply' ? 'applying' : step.action === 'reapply' ? 're-applying' : 'resuming'} ${file.displayPath}`, {
      event: 'file_start',
      kind: file.kind,
      version: file.version,
      path: file.displayPath,
      action: step.action,
      ...(step.skipStatements ? { skipStatements: step.skipStatements } : {}),
    });
    const durationMs = await applyStep(
      {
        client: session,
        deadline,
        lockTimeoutMs: options.lockTimeoutMs ?? 5000,
        statementTimeoutMs: options.statementTimeoutMs ?? 0,
        runnerVersion: RUNNER_VERSION,
        onRetry: (retried, attempt, error) =>
          logger.warn(`${retried.displayPath} lost a deadlock with another session and rolled back; running it again`, {
            event: 'file_retry',
            path: retried.displayPath,
            attempt,
            reason: error.reason,
          }),
      },
      step,
    );
    applied.push({ kind: file.kind, version: file.version, name: file.name, path: file.displayPath, action: step.action, durationMs });
    logger.info(`${step.action === 'reapply' ? 're-applied' : step.action === 'resume' ? 'resumed' : 'applied'} ${file.displayPath} in ${durationMs} ms`, {
      event: 'file_done',
      kind: file.kind,
      version: file.version,
      path: file.displayPath,
      action: step.action,
      durationMs,
    });
  }
  return runResult(plan, applied, seedFilesIgnored, started);
}

/** A run's result: what it applied, and what it found applied already or was not allowed to run. */
function runResult(plan: Plan, applied: AppliedStep[], seedFilesIgnored: RunFiles['seedFilesIgnored'], started: number): MigrateResult {
  let currentVersion = plan.currentVersion;
  for (const a of applied) if (a.kind === 'migration' && (currentVersion === undefined || a.version > currentVersion)) currentVersion = a.version;
  const executed = new Set(applied.map((a) => `${a.kind}:${a.version}`));
  const skipped: Array<MigrateResult['skipped'][number]> = [
    ...[...plan.migrations, ...plan.seeds]
      .filter((s) => s.state === 'applied' && !executed.has(`${s.kind}:${s.version}`))
      .map((s) => ({ kind: s.kind, version: s.version, path: s.path, reason: 'already_applied' as const })),
    ...seedFilesIgnored.map((f) => ({ ...f, reason: 'seeds_not_allowed' as const })),
  ];
  return { applied, skipped, currentVersion, warnings: plan.warnings, durationMs: Date.now() - started };
}

/** What `inspect` found: the plan, plus the history it was made from. */
export interface Inspection extends Plan {
  /** False when the database was never migrated (no history schema). */
  readonly initialized: boolean;
}

/**
 * Compares files and database without changing anything and without the
 * lock (one round trip). The basis of `plan`, `status` and `verify`.
 */
export async function inspect(client: SqlClient, options: RunnerOptions): Promise<Inspection> {
  const { migrations, seeds } = loadRunFiles(options);
  const history = await readHistory(client, 'report');
  return { ...planRun(migrations, seeds, history, options), initialized: history !== undefined };
}

export interface RepairOptions extends Omit<MigrateOptions, 'allowOutOfOrder' | 'strict'> {
  /** Files to re-record: file names (`003_x.sql`) or paths ending in them. */
  readonly files: readonly string[];
}

export interface RepairResult {
  readonly repaired: ReadonlyArray<{ readonly kind: FileKind; readonly version: number; readonly path: string; readonly oldChecksum: string; readonly newChecksum: string }>;
  /** Files named that already matched their history. */
  readonly unchanged: readonly string[];
}

/**
 * Re-records the checksum of each named, applied file to match its current
 * text (for a deliberate edit, e.g. a comment fixed), logging a `repair`
 * event with the old and new checksums. Changes no schema object.
 */
export async function repair(client: SqlClient, options: RepairOptions): Promise<RepairResult> {
  const logger = options.logger ?? silentLogger;
  const deadline = options.deadline ?? Date.now() + DEFAULT_RUN_MS;
  const lockKey = options.lockKey ?? DEFAULT_LOCK_KEY;
  if (options.files.length === 0) throw new MigrationError('name at least one file to repair', { code: 'usage' });
  const migrations = loadFiles(options.migrations, 'migration', false);
  const seeds = loadFiles(options.seeds, 'seed', true);
  const all = [...migrations, ...seeds];
  const targets = options.files.map((name) => {
    const base = name.replace(/^.*[\\/]/, '');
    const matches = all.filter((f) => f.fileName === base || f.displayPath === name);
    if (matches.length === 0) throw new MigrationError(`no migration or seed file named ${name}`, { code: 'usage', file: name });
    if (matches.length > 1) throw new MigrationError(`${name} names both a migration and a seed: give its path`, { code: 'usage', file: name });
    return matches[0];
  });

  return underLock(client, deadline, lockKey, logger, async (session) => {
    const history = await readHistory(session);
    const repaired: Array<RepairResult['repaired'][number]> = [];
    const unchanged: string[] = [];
    for (const file of targets) {
      const row = history?.applied.find((a) => a.kind === file.kind && a.version === file.version);
      if (!row) throw new MigrationError(`${file.displayPath} was never applied: nothing to repair (migrate applies it)`, { code: 'usage', file: file.displayPath });
      const plan = planRun(file.kind === 'migration' ? [file] : [], file.kind === 'seed' ? [file] : undefined, { format: history!.format, applied: [row] });
      const state = (file.kind === 'migration' ? plan.migrations : plan.seeds)[0]?.state;
      if (state === 'applied' || state === 'partial') {
        unchanged.push(file.displayPath);
        continue;
      }
      if (row.statementsDone !== undefined && row.statementsDone > file.statements.length) {
        throw new MigrationError(`${file.displayPath} stopped after statement ${row.statementsDone} but now has only ${file.statements.length}: repair cannot line them up`, {
          code: 'usage',
          file: file.displayPath,
        });
      }
      await session.execute(repairSql(file, row.statementsDone, row.checksum, RUNNER_VERSION));
      logger.info(`repaired ${file.displayPath}`, { event: 'repaired', path: file.displayPath, oldChecksum: row.checksum, newChecksum: file.checksum });
      repaired.push({ kind: file.kind, version: file.version, path: file.displayPath, oldChecksum: row.checksum, newChecksum: file.checksum });
    }
    return { repaired, unchanged };
  });
}
