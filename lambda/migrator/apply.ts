/**
 * Runs one file. A transactional file runs in one transaction together with
 * its history row, so a failure leaves no trace. A no-transaction file runs
 * statement by statement, recording progress after each one, so a rerun
 * resumes where it stopped.
 */
import type { SqlClient } from './client';
import { isPostgresError, MigrationError } from './errors';
import type { SqlFile } from './files';
import { eventSql, HISTORY_SCHEMA, sqlLiteral, upsertAppliedSql } from './history';
import { progressChecksum, type PlannedStep } from './plan';
import { lineAndColumn, lineStarts, lineOf, offsetOfCharPosition, type SqlStatement } from './sql-split';

export interface ApplyContext {
  readonly client: SqlClient;
  /** Epoch ms by which the file must be done. */
  readonly deadline: number;
  /** Default lock_timeout (ms, 0 = none) when the file has no directive. */
  readonly lockTimeoutMs: number;
  /** Default statement_timeout (ms, 0 = none) when the file has no directive. */
  readonly statementTimeoutMs: number;
  readonly runnerVersion: string;
  /** Told when a file is run again after losing a deadlock. @default - nothing */
  readonly onRetry?: (file: SqlFile, attempt: number, error: MigrationError) => void;
}

/** How often a transactional file that lost a deadlock is run again. */
export const DEADLOCK_RETRIES = 3;

/** Time kept back from the deadline for rolling back and releasing the lock. */
const DEADLINE_MARGIN_MS = 250;

function remainingMs(deadline: number): number {
  return deadline - DEADLINE_MARGIN_MS - Date.now();
}

/** A timeout bounded by the time left (0 means "no limit but the deadline"). */
function bounded(timeoutMs: number, deadline: number): number {
  const remaining = Math.max(1, Math.floor(remainingMs(deadline)));
  return timeoutMs > 0 ? Math.min(timeoutMs, remaining) : remaining;
}

function deadlineError(file: SqlFile, statement?: SqlStatement): MigrationError {
  return new MigrationError('the run reached its deadline before this file finished', {
    code: 'deadline',
    file: file.displayPath,
    statementLine: statement?.line,
    hint: 'give the run more time, or split the work into smaller migrations',
  });
}

/** Line of the first dollar quote in a statement (where a DO or function body starts). */
function bodyStartOffset(statement: SqlStatement): number | undefined {
  const m = /\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$/.exec(statement.text);
  return m ? m.index + m[0].length : undefined;
}

/**
 * Turns whatever a statement threw into a MigrationError pointing into the
 * file: Postgres's `position` when it gave one; else the position inside a
 * PL/pgSQL body (`internalQuery` + `internalPosition`, or the body line in
 * `where`); else the statement's first line.
 */
export function toMigrationError(err: unknown, file: SqlFile, statement: SqlStatement | undefined, prefixLength = 0): MigrationError {
  if (err instanceof MigrationError) return err;
  const base = { file: file.displayPath, statementLine: statement?.line, cause: err };
  if (!isPostgresError(err)) {
    return new MigrationError((err as Error)?.message ?? String(err), { code: 'sql_error', ...base });
  }
  let offset: number | undefined;
  let line: number | undefined;
  // `prefixLength`: characters the runner sent ahead of the statement (its BEGIN and SET LOCALs).
  const position = Number(err.position) - prefixLength;
  if (statement && err.position && position >= 1) {
    offset = statement.offset + offsetOfCharPosition(statement.text, position);
  } else if (statement && err.internalQuery && err.internalPosition) {
    const at = statement.text.indexOf(err.internalQuery);
    if (at >= 0) offset = statement.offset + at + offsetOfCharPosition(err.internalQuery, Number(err.internalPosition));
  }
  if (offset === undefined && statement && err.where) {
    // "PL/pgSQL function inline_code_block line 7 at RAISE": line 1 is the line the body's $$ opens on.
    const m = /PL\/pgSQL function inline_code_block line (\d+)/.exec(err.where);
    const body = bodyStartOffset(statement);
    if (m && body !== undefined && statement.keywords[0] === 'do') {
      line = lineOf(lineStarts(file.text), statement.offset + body) + Number(m[1]) - 1;
    }
  }
  const at = offset === undefined ? undefined : lineAndColumn(file.text, offset);
  let hint = err.hint;
  if (err.code === '25001' && !file.directives.noTransaction) {
    hint = hint ?? 'this statement cannot run inside a transaction: put "-- migrate:no-transaction" on the first line of the file, or move the statement to a file of its own that has it';
  } else if (file.directives.noTransaction && statement && /^\s*create\s+(unique\s+)?index\s+concurrently/i.test(statement.text)) {
    hint = hint ?? 'a failed CREATE INDEX CONCURRENTLY leaves an INVALID index behind: drop it (DROP INDEX CONCURRENTLY IF EXISTS ...) before the rerun, e.g. as the statement before it';
  }
  return new MigrationError(err.message, {
    code: 'sql_error',
    ...base,
    line: at?.line ?? line ?? statement?.line,
    column: at?.column,
    sqlState: err.code,
    hint,
    detail: err.detail,
    where: err.where,
  });
}

/**
 * Runs `step`; returns its duration in ms. Throws MigrationError on any failure.
 *
 * A migration that alters policies locks tables in its own order, while a request locks the table it queries
 * and then those its policies read: the two can deadlock, and PostgreSQL aborts one of them. When the migration
 * is the one aborted, its transaction has rolled back whole, so it runs again (a few times, within the deadline)
 * instead of failing the deploy over a request that simply came at the wrong moment.
 */
export async function applyStep(ctx: ApplyContext, step: PlannedStep): Promise<number> {
  if (remainingMs(ctx.deadline) <= 0) throw deadlineError(step.file);
  if (step.file.directives.noTransaction) return applyWithoutTransaction(ctx, step);
  for (let attempt = 1; ; attempt++) {
    try {
      return await applyInTransaction(ctx, step);
    } catch (error) {
      const lostDeadlock = error instanceof MigrationError && error.sqlState === '40P01';
      if (!lostDeadlock || attempt > DEADLOCK_RETRIES || remainingMs(ctx.deadline) <= 0) throw error;
      ctx.onRetry?.(step.file, attempt, error);
      await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
    }
  }
}

function timeouts(ctx: ApplyContext, file: SqlFile): { lock: number; statement: number } {
  return {
    lock: bounded(file.directives.lockTimeoutMs ?? ctx.lockTimeoutMs, ctx.deadline),
    statement: bounded(file.directives.statementTimeoutMs ?? ctx.statementTimeoutMs, ctx.deadline),
  };
}

/**
 * The statement_timeout `statement` must run under: `current`, or less when the deadline is nearer than that
 * (the caller then sets the new value). Throws at the deadline.
 */
function statementTimeoutBefore(ctx: ApplyContext, file: SqlFile, statement: SqlStatement, current: number): number {
  const remaining = remainingMs(ctx.deadline);
  if (remaining <= 0) throw deadlineError(file, statement);
  return remaining < current ? Math.max(1, Math.floor(remaining)) : current;
}

async function applyInTransaction(ctx: ApplyContext, step: PlannedStep): Promise<number> {
  const { client } = ctx;
  const { file } = step;
  const started = Date.now();
  const limits = timeouts(ctx, file);
  let statementTimeout = limits.statement;
  let current: SqlStatement | undefined;
  // The transaction opens in the same round trip as the first statement; error positions are shifted back by it.
  let prefix = `BEGIN; SET LOCAL lock_timeout = '${limits.lock}ms'; SET LOCAL statement_timeout = '${statementTimeout}ms';\n`;
  try {
    for (const statement of file.statements) {
      current = statement;
      const timeout = statementTimeoutBefore(ctx, file, statement, statementTimeout);
      if (timeout !== statementTimeout) {
        statementTimeout = timeout;
        prefix += `SET LOCAL statement_timeout = '${timeout}ms';\n`;
      }
      await client.execute(prefix + statement.text);
      prefix = '';
    }
    current = undefined;
    const durationMs = Date.now() - started;
    const fields = { kind: file.kind, version: file.version, name: file.name, path: file.fileName, checksum: file.checksum, durationMs, runnerVersion: ctx.runnerVersion };
    // RESET ROLE first: a seed's SET LOCAL ROLE must not write the history (it could not).
    await client.execute(
      `RESET ROLE; ${upsertAppliedSql(fields)}; ${eventSql(step.action, { ...fields, oldChecksum: step.previous?.checksum, newChecksum: file.checksum })}; COMMIT`,
    );
    return durationMs;
  } catch (err) {
    await client.execute('ROLLBACK; RESET ROLE').catch(() => {});
    throw toMigrationError(err, file, current, prefix.length);
  }
}

async function applyWithoutTransaction(ctx: ApplyContext, step: PlannedStep): Promise<number> {
  const { client } = ctx;
  const { file } = step;
  const started = Date.now();
  const limits = timeouts(ctx, file);
  let statementTimeout = limits.statement;
  const base = { kind: file.kind, version: file.version, name: file.name, path: file.fileName, checksum: file.checksum, runnerVersion: ctx.runnerVersion };
  let recordedAt = started;
  let current: SqlStatement | undefined;
  try {
    await client.execute(`SET lock_timeout = '${limits.lock}ms'; SET statement_timeout = '${statementTimeout}ms'`);
    const total = file.statements.length;
    for (let i = step.skipStatements; i < total; i++) {
      const statement = file.statements[i];
      current = statement;
      const timeout = statementTimeoutBefore(ctx, file, statement, statementTimeout);
      if (timeout !== statementTimeout) {
        statementTimeout = timeout;
        await client.execute(`SET statement_timeout = '${timeout}ms'`);
      }
      await client.execute(statement.text);
      current = undefined;
      if (i + 1 < total) {
        const now = Date.now();
        await client.execute(
          upsertAppliedSql({ ...base, durationMs: now - recordedAt, statementsDone: i + 1, progressChecksum: progressChecksum(file.statements.slice(0, i + 1)) }),
        );
        recordedAt = now;
      }
    }
    const now = Date.now();
    const final = { ...base, durationMs: now - recordedAt };
    const action = step.action === 'apply' && step.skipStatements === 0 ? 'apply' : step.action;
    await client.execute(
      `${upsertAppliedSql(final)}; ${eventSql(action, { ...final, durationMs: now - started, oldChecksum: step.previous?.checksum, newChecksum: file.checksum })}; RESET lock_timeout; RESET statement_timeout`,
    );
    return now - started;
  } catch (err) {
    await client.execute('RESET lock_timeout; RESET statement_timeout').catch(() => {});
    throw toMigrationError(err, file, current);
  }
}

/** SQL that re-records a file's checksum (and progress, for a part-done file) and logs the repair. */
export function repairSql(file: SqlFile, statementsDone: number | undefined, oldChecksum: string, runnerVersion: string): string {
  const v = sqlLiteral;
  const progress = statementsDone === undefined ? 'NULL' : v(progressChecksum(file.statements.slice(0, statementsDone)));
  return `BEGIN;
UPDATE ${HISTORY_SCHEMA}.applied_files SET checksum = ${v(file.checksum)}, name = ${v(file.name)}, path = ${v(file.fileName)}, progress_checksum = ${progress}
 WHERE kind = ${v(file.kind)} AND version = ${v(file.version)};
${eventSql('repair', { kind: file.kind, version: file.version, path: file.fileName, runnerVersion, oldChecksum, newChecksum: file.checksum })};
COMMIT`;
}
