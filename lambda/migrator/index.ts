/**
 * The migration runner shared by the deploy-time Lambda and the `db` CLI.
 * No AWS SDK here: the caller connects, the runner drives the session.
 */
export { countingClient, fromPgClient, fromPglite, type PgClientLike, type PgliteLike, type SqlClient } from './client';
export { parseDirectives, parseDuration, type Directives } from './directives';
export { clampReason, MAX_REASON_LENGTH, MigrationError, type MigrationErrorCode, type MigrationErrorDetails } from './errors';
export {
  checksumSql,
  normalizeSql,
  parseFileName,
  parseSqlFiles,
  readSqlDirectory,
  type FileKind,
  type SqlFile,
  type SqlSource,
} from './files';
export { CREATE_HISTORY_SQL, HISTORY_FORMAT, HISTORY_SCHEMA, readHistory, type AppliedFile, type History } from './history';
export { DEFAULT_LOCK_KEY } from './lock';
export { silentLogger, type MigrationLogger } from './logger';
export {
  inspect,
  migrate,
  repair,
  type AppliedStep,
  type Inspection,
  type MigrateOptions,
  type MigrateResult,
  type RepairOptions,
  type RepairResult,
  type RunnerOptions,
  type SqlFileSource,
} from './migrate';
export { planRun, type FileState, type FileStatus, type Plan, type PlanOptions, type PlannedStep } from './plan';
export { splitSqlStatements, type SqlStatement } from './sql-split';
export { RUNNER_VERSION } from './version';
