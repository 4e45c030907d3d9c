/**
 * The runner's own bookkeeping, in schema `migration_history`, owned by the
 * migrating user. PUBLIC gets nothing, so `app_user` and the other
 * application roles cannot even see the schema's contents.
 *
 * - `applied_files`: one row per applied migration or seed (kind, version).
 *   A no-transaction migration that stopped part-way keeps a row with
 *   `statements_done` set, so a rerun resumes after the last statement that
 *   completed; `progress_checksum` hashes those statements so an edit to them
 *   is caught.
 * - `events`: append-only log of every apply, re-apply, resume and repair.
 * - `runner`: one row with the format of these tables, for future upgrades.
 */
import type { SqlClient } from './client';
import { MigrationError } from './errors';
import type { FileKind } from './files';

export const HISTORY_SCHEMA = 'migration_history';
/** Format of the history tables this runner writes. */
export const HISTORY_FORMAT = 1;

/** A row of `applied_files`. */
export interface AppliedFile {
  readonly kind: FileKind;
  readonly version: number;
  readonly name: string;
  readonly path: string;
  readonly checksum: string;
  /** When, by whom, how long and by which runner: read for reports (`status`), not for runs. */
  readonly appliedAt?: string;
  readonly appliedBy?: string;
  readonly durationMs?: number;
  readonly runnerVersion?: string;
  /** Statements completed of a no-transaction migration still in progress; undefined once complete. */
  readonly statementsDone?: number;
  /** sha256 of the completed statements' text, while in progress. */
  readonly progressChecksum?: string;
}

/** The history as read at the start of a run; `undefined` tables mean a database the runner never touched. */
export interface History {
  readonly format: number;
  readonly applied: readonly AppliedFile[];
}

export const CREATE_HISTORY_SQL = `
CREATE SCHEMA ${HISTORY_SCHEMA};
COMMENT ON SCHEMA ${HISTORY_SCHEMA} IS 'Migration runner bookkeeping: which migrations and seeds ran, when, by whom. Not for application roles.';
REVOKE ALL ON SCHEMA ${HISTORY_SCHEMA} FROM PUBLIC;
CREATE TABLE ${HISTORY_SCHEMA}.runner (
  singleton boolean NOT NULL DEFAULT true CONSTRAINT runner_pkey PRIMARY KEY CONSTRAINT runner_singleton_check CHECK (singleton),
  format integer NOT NULL,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
INSERT INTO ${HISTORY_SCHEMA}.runner (format) VALUES (${HISTORY_FORMAT});
CREATE TABLE ${HISTORY_SCHEMA}.applied_files (
  kind text NOT NULL CONSTRAINT applied_files_kind_check CHECK (kind IN ('migration', 'seed')),
  version bigint NOT NULL,
  name text NOT NULL,
  path text NOT NULL,
  checksum text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  applied_by text NOT NULL DEFAULT session_user,
  duration_ms integer NOT NULL,
  runner_version text NOT NULL,
  statements_done integer,
  progress_checksum text,
  CONSTRAINT applied_files_pkey PRIMARY KEY (kind, version)
);
COMMENT ON COLUMN ${HISTORY_SCHEMA}.applied_files.statements_done IS 'Set while a no-transaction migration is part-way: statements completed so far.';
CREATE TABLE ${HISTORY_SCHEMA}.events (
  id bigint GENERATED ALWAYS AS IDENTITY CONSTRAINT events_pkey PRIMARY KEY,
  occurred_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  actor text NOT NULL DEFAULT session_user,
  action text NOT NULL CONSTRAINT events_action_check CHECK (action IN ('apply', 'reapply', 'resume', 'repair')),
  kind text NOT NULL,
  version bigint NOT NULL,
  path text NOT NULL,
  old_checksum text,
  new_checksum text,
  duration_ms integer,
  runner_version text NOT NULL
);
REVOKE ALL ON ALL TABLES IN SCHEMA ${HISTORY_SCHEMA} FROM PUBLIC;
`;

/**
 * One statement that reads the history (one round trip): one row per applied
 * file, each carrying the format, or a single row with NULL columns when
 * nothing was applied yet. Plain columns, not json_agg: on the fresh session
 * of a deploy, building JSON costs the server about twice as much as this.
 * A run needs only what identifies and checks each file; the report columns
 * (`applied_at` as ISO 8601 text, the same from every driver) are read only
 * for reports, because a no-op run spends a good part of its time parsing
 * the rows: leaving them out takes ~2 ms off 200 files.
 */
const historySql = (report: boolean) => `SELECT r.format, a.kind, a.version, a.name, a.path, a.checksum, a.statements_done, a.progress_checksum${
  report
    ? `,
  to_char(a.applied_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS applied_at, a.applied_by, a.duration_ms, a.runner_version`
    : ''
}
FROM ${HISTORY_SCHEMA}.runner r LEFT JOIN ${HISTORY_SCHEMA}.applied_files a ON true
ORDER BY a.kind, a.version`;
const READ_HISTORY_SQL = { run: historySql(false), report: historySql(true) };

interface HistoryRow {
  format: number | string | null;
  kind: string | null;
  version: number | string | bigint;
  name: string;
  path: string;
  checksum: string;
  applied_at?: string;
  applied_by?: string;
  duration_ms?: number;
  runner_version?: string;
  statements_done: number | null;
  progress_checksum: string | null;
}

/** SQLSTATEs meaning the history schema or its tables do not exist yet. */
const MISSING = new Set(['3F000', '42P01']);

/**
 * Reads the history; `undefined` when the schema was never created.
 * @param purpose `report` also reads when, by whom, how long and by which runner each file was applied
 */
export async function readHistory(client: SqlClient, purpose: 'run' | 'report' = 'run'): Promise<History | undefined> {
  let rows;
  try {
    ({ rows } = await client.query<HistoryRow>(READ_HISTORY_SQL[purpose]));
  } catch (err) {
    if (MISSING.has((err as { code?: string }).code ?? '')) return undefined;
    throw err;
  }
  const format = Number(rows[0]?.format ?? 0);
  if (format !== HISTORY_FORMAT) {
    throw new MigrationError(
      `the history in schema ${HISTORY_SCHEMA} has format ${format}; this runner knows format ${HISTORY_FORMAT} (a newer runner may have upgraded it)`,
      { code: 'history' },
    );
  }
  return {
    format,
    applied: rows
      .filter((a) => a.kind !== null)
      .map((a) => ({
        kind: a.kind as FileKind,
        version: Number(a.version),
        name: a.name,
        path: a.path,
        checksum: a.checksum,
        appliedAt: a.applied_at,
        appliedBy: a.applied_by,
        durationMs: a.duration_ms === undefined ? undefined : Number(a.duration_ms),
        runnerVersion: a.runner_version,
        statementsDone: a.statements_done === null || a.statements_done === undefined ? undefined : Number(a.statements_done),
        progressChecksum: a.progress_checksum ?? undefined,
      })),
  };
}

/** Creates the schema and tables (inside the caller's lock, in one transaction). */
export async function createHistory(client: SqlClient): Promise<void> {
  await client.execute(`BEGIN;${CREATE_HISTORY_SQL}COMMIT;`);
}

/**
 * A SQL literal for values the runner itself produces (names checked against
 * the file-name pattern, hex checksums, integers). The E'' form is correct
 * whatever `standard_conforming_strings` is set to.
 */
export function sqlLiteral(value: string | number | undefined | null): string {
  if (value === undefined || value === null) return 'NULL';
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new Error(`not an integer: ${value}`);
    return String(value);
  }
  if (value.includes('\0')) throw new Error('NUL in SQL literal');
  return `E'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** Fields that go into an `applied_files` row and its event. */
export interface RecordFields {
  readonly kind: FileKind;
  readonly version: number;
  readonly name: string;
  readonly path: string;
  readonly checksum: string;
  readonly durationMs: number;
  readonly runnerVersion: string;
  readonly statementsDone?: number;
  readonly progressChecksum?: string;
}

/**
 * SQL that upserts a file's row (complete, or in progress when
 * `statementsDone` is set). Durations add up over the runs of a resumed file.
 */
export function upsertAppliedSql(f: RecordFields): string {
  const v = sqlLiteral;
  return `INSERT INTO ${HISTORY_SCHEMA}.applied_files AS a (kind, version, name, path, checksum, duration_ms, runner_version, statements_done, progress_checksum)
VALUES (${v(f.kind)}, ${v(f.version)}, ${v(f.name)}, ${v(f.path)}, ${v(f.checksum)}, ${v(f.durationMs)}, ${v(f.runnerVersion)}, ${v(f.statementsDone)}, ${v(f.progressChecksum)})
ON CONFLICT (kind, version) DO UPDATE SET name = excluded.name, path = excluded.path, checksum = excluded.checksum,
  applied_at = clock_timestamp(), applied_by = session_user, runner_version = excluded.runner_version,
  duration_ms = CASE WHEN a.statements_done IS NOT NULL THEN a.duration_ms + excluded.duration_ms ELSE excluded.duration_ms END,
  statements_done = excluded.statements_done, progress_checksum = excluded.progress_checksum`;
}

/** SQL that appends an event. */
export function eventSql(
  action: 'apply' | 'reapply' | 'resume' | 'repair',
  f: Pick<RecordFields, 'kind' | 'version' | 'path' | 'runnerVersion'> & { oldChecksum?: string; newChecksum?: string; durationMs?: number },
): string {
  const v = sqlLiteral;
  return `INSERT INTO ${HISTORY_SCHEMA}.events (action, kind, version, path, old_checksum, new_checksum, duration_ms, runner_version)
VALUES (${v(action)}, ${v(f.kind)}, ${v(f.version)}, ${v(f.path)}, ${v(f.oldChecksum)}, ${v(f.newChecksum)}, ${v(f.durationMs)}, ${v(f.runnerVersion)})`;
}
