/**
 * The one error type the runner throws. It carries what a person needs to fix
 * the problem (file, line, column, SQLSTATE, message, hint) and a short
 * `reason` that fits a CloudFormation failure message.
 */

/** What kind of failure stopped the run. */
export type MigrationErrorCode =
  /** A file is badly named, duplicated, empty or unparsable. */
  | 'invalid_file'
  /** A statement failed in the database. */
  | 'sql_error'
  /** Applied files were edited since they ran. */
  | 'drift'
  /** A pending migration is older than the newest applied one. */
  | 'out_of_order'
  /** The database has versions the files do not know (strict mode only). */
  | 'unknown_versions'
  /** Another runner held the lock until the deadline. */
  | 'lock_timeout'
  /** The run did not finish by its deadline. */
  | 'deadline'
  /** The history tables are of a format this runner does not know. */
  | 'history'
  /** A request the runner cannot carry out (e.g. repair of a file never applied). */
  | 'usage';

export interface MigrationErrorDetails {
  readonly code: MigrationErrorCode;
  /** The file at fault, as the runner names it (e.g. `migrations/003_rls.sql`). */
  readonly file?: string;
  /** 1-based line in the file. */
  readonly line?: number;
  /** 1-based column in the file. */
  readonly column?: number;
  /** 1-based line where the failing statement starts. */
  readonly statementLine?: number;
  /** PostgreSQL SQLSTATE (e.g. `42601`). */
  readonly sqlState?: string;
  readonly hint?: string;
  readonly detail?: string;
  /** Postgres's context line (e.g. `PL/pgSQL function inline_code_block line 3 at RAISE`). */
  readonly where?: string;
  /** All files concerned, when more than one (drift, out-of-order). */
  readonly files?: readonly string[];
  readonly cause?: unknown;
}

/** Maximum length of `reason` (CloudFormation caps a custom resource's reason at 4 KB). */
export const MAX_REASON_LENGTH = 3500;

/** `text` cut to MAX_REASON_LENGTH, an ellipsis marking the cut. */
export function clampReason(text: string): string {
  return text.length <= MAX_REASON_LENGTH ? text : `${text.slice(0, MAX_REASON_LENGTH - 1)}…`;
}

export class MigrationError extends Error {
  readonly code: MigrationErrorCode;
  readonly file?: string;
  readonly line?: number;
  readonly column?: number;
  readonly statementLine?: number;
  readonly sqlState?: string;
  readonly hint?: string;
  readonly detail?: string;
  readonly where?: string;
  readonly files?: readonly string[];

  constructor(message: string, details: MigrationErrorDetails) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'MigrationError';
    this.code = details.code;
    this.file = details.file;
    this.line = details.line;
    this.column = details.column;
    this.statementLine = details.statementLine;
    this.sqlState = details.sqlState;
    this.hint = details.hint;
    this.detail = details.detail;
    this.where = details.where;
    this.files = details.files;
  }

  /** `file:line:column` (as far as known), the way compilers point at source. */
  get location(): string | undefined {
    if (!this.file) return undefined;
    const line = this.line ?? this.statementLine;
    if (line === undefined) return this.file;
    return this.column === undefined ? `${this.file}:${line}` : `${this.file}:${line}:${this.column}`;
  }

  /** One short paragraph for CloudFormation and CI logs: location, SQLSTATE, message, hint. */
  get reason(): string {
    const parts = [this.location ? `${this.location}: ` : '', this.sqlState ? `ERROR ${this.sqlState}: ` : '', this.message];
    if (this.detail) parts.push(` DETAIL: ${this.detail}`);
    if (this.hint) parts.push(` HINT: ${this.hint}`);
    return clampReason(parts.join(''));
  }

  /** Plain fields for structured logs and `--json` output. */
  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      message: this.message,
      file: this.file,
      line: this.line,
      column: this.column,
      statementLine: this.statementLine,
      sqlState: this.sqlState,
      detail: this.detail,
      hint: this.hint,
      where: this.where,
      files: this.files,
      reason: this.reason,
    };
  }
}

/** The fields of a PostgreSQL error as `pg` and PGlite report them. */
export interface PostgresErrorFields {
  readonly message: string;
  readonly code?: string;
  readonly position?: string;
  readonly internalPosition?: string;
  readonly internalQuery?: string;
  readonly where?: string;
  readonly hint?: string;
  readonly detail?: string;
}

/** True when `err` looks like an error reported by the PostgreSQL server. */
export function isPostgresError(err: unknown): err is PostgresErrorFields & Error {
  const code = err instanceof Error ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code);
}
