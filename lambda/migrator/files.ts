/**
 * Migration and seed files: naming, parsing, checksums and ordering. Pure
 * functions, except `listSqlDirectory` and `readSqlDirectory`, the places
 * that read the disk.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDirectives, type Directives } from './directives';
import { MigrationError } from './errors';
import { lineAndColumn, splitSqlStatements, type SqlStatement } from './sql-split';

export type FileKind = 'migration' | 'seed';

/** A file as read from disk (or shipped in a bundle), before parsing. */
export interface SqlSource {
  /** The file name, e.g. `003_rls_policies.sql`. */
  readonly fileName: string;
  /** How messages name the file, e.g. `migrations/003_rls_policies.sql`. @default fileName */
  readonly displayPath?: string;
  /** The file's contents. */
  readonly text: string;
}

/** A parsed, validated migration or seed. */
export interface SqlFile {
  readonly kind: FileKind;
  /** The number before the first underscore. */
  readonly version: number;
  /** The part between the version and `.sql`. */
  readonly name: string;
  readonly fileName: string;
  readonly displayPath: string;
  /** The text after BOM removal and CRLF→LF: what runs and what is hashed. */
  readonly text: string;
  /** sha256 (hex) of `text`. */
  readonly checksum: string;
  readonly statements: readonly SqlStatement[];
  readonly directives: Directives;
}

const FILE_NAME = /^(\d+)_([A-Za-z0-9][A-Za-z0-9_-]*)\.sql$/;

/** Strips a UTF-8 byte order mark and turns CRLF line endings into LF. */
export function normalizeSql(text: string): string {
  return (text.charCodeAt(0) === 0xfeff ? text.slice(1) : text).replace(/\r\n/g, '\n');
}

/** sha256 (hex) of the normalized text: the same for a file saved with CRLF or a BOM. */
export function checksumSql(text: string): string {
  return createHash('sha256').update(normalizeSql(text), 'utf8').digest('hex');
}

/** Parses `NNN_name.sql`; undefined when the name does not have that shape. */
export function parseFileName(fileName: string): { version: number; name: string } | undefined {
  const m = FILE_NAME.exec(fileName);
  if (!m) return undefined;
  const version = Number(m[1]);
  if (!Number.isSafeInteger(version)) return undefined;
  return { version, name: m[2] };
}

/** Statement kinds that end or open a transaction the runner owns. */
function transactionControl(keywords: readonly string[], noTransaction: boolean): string | undefined {
  const [first, second] = keywords;
  switch (first) {
    case 'begin':
    case 'commit':
    case 'end':
    case 'abort':
      return first.toUpperCase();
    case 'start':
      return second === 'transaction' ? 'START TRANSACTION' : undefined;
    case 'rollback':
      return second === 'to' && !noTransaction ? undefined : 'ROLLBACK';
    case 'prepare':
      return second === 'transaction' ? 'PREPARE TRANSACTION' : undefined;
    case 'savepoint':
    case 'release':
      return noTransaction ? first.toUpperCase() : undefined;
    default:
      return undefined;
  }
}

interface FileProblem {
  readonly file: string;
  readonly line?: number;
  readonly column?: number;
  readonly message: string;
}

/** Splits a file's text into statements and reads its directives, collecting every problem. */
function parseBody(text: string, displayPath: string): Pick<SqlFile, 'statements' | 'directives'> & { problems: FileProblem[] } {
  const at = (offset: number) => lineAndColumn(text, offset);
  const split = splitSqlStatements(text);
  const { directives, problems: directiveProblems } = parseDirectives(split.lineComments, split.statements.at(-1)?.offset ?? -1);
  const problems: FileProblem[] = [];
  for (const p of [...split.problems, ...directiveProblems]) problems.push({ file: displayPath, ...at(p.offset), message: p.message });
  if (split.statements.length === 0 && split.problems.length === 0) {
    problems.push({ file: displayPath, message: text.trim() === '' ? 'empty file' : 'file contains no SQL statements' });
  }
  for (const statement of split.statements) {
    const control = transactionControl(statement.keywords, directives.noTransaction);
    if (control) {
      problems.push({
        file: displayPath,
        ...at(statement.offset),
        message: directives.noTransaction
          ? `${control} is not allowed: a no-transaction file runs each statement on its own; put a transaction in a file of its own`
          : `${control} is not allowed: the runner wraps each file in its own transaction (use "-- migrate:no-transaction" to manage it yourself)`,
      });
    }
  }
  return { statements: split.statements, directives, problems };
}

function invalidFiles(kind: string, problems: readonly FileProblem[]): MigrationError {
  const lines = problems.map((p) => `${p.file}${p.line ? `:${p.line}:${p.column}` : ''}: ${p.message}`);
  const first = problems[0];
  return new MigrationError(problems.length === 1 ? first.message : `${problems.length} problems in ${kind} files:\n${lines.join('\n')}`, {
    code: 'invalid_file',
    file: first.file,
    line: first.line,
    column: first.column,
    files: [...new Set(problems.map((p) => p.file))],
  });
}

/** Parses one source into a `SqlFile`, collecting problems instead of stopping at the first. */
function parseOne(source: SqlSource, kind: FileKind, problems: FileProblem[]): SqlFile | undefined {
  const displayPath = source.displayPath ?? source.fileName;
  const parsedName = parseFileName(source.fileName);
  if (!parsedName) {
    problems.push({ file: displayPath, message: 'bad file name: expected NNN_name.sql (digits, underscore, then letters, digits, _ or -)' });
    return undefined;
  }
  const text = normalizeSql(source.text);
  const body = parseBody(text, displayPath);
  if (body.problems.length > 0) {
    problems.push(...body.problems);
    return undefined;
  }
  return {
    kind,
    version: parsedName.version,
    name: parsedName.name,
    fileName: source.fileName,
    displayPath,
    text,
    checksum: createHash('sha256').update(text, 'utf8').digest('hex'),
    statements: body.statements,
    directives: body.directives,
  };
}

/**
 * Parses and validates a set of migrations or seeds and returns them in
 * version order. Bad names, duplicate versions, empty files, unterminated
 * quotes, unknown directives and transaction-control statements are all
 * reported together in one `MigrationError` (code `invalid_file`).
 */
export function parseSqlFiles(sources: readonly SqlSource[], kind: FileKind): SqlFile[] {
  const problems: FileProblem[] = [];
  const files: SqlFile[] = [];
  for (const source of sources) {
    const file = parseOne(source, kind, problems);
    if (file) files.push(file);
  }
  files.sort((a, b) => a.version - b.version || a.fileName.localeCompare(b.fileName));
  for (let i = 1; i < files.length; i++) {
    if (files[i].version === files[i - 1].version) {
      problems.push({ file: files[i].displayPath, message: `duplicate version ${files[i].version}: also used by ${files[i - 1].displayPath}` });
    }
  }
  if (problems.length > 0) throw invalidFiles(kind, problems);
  return files;
}

/** The `.sql` files of a directory, in name order, without their text. */
export function listSqlDirectory(dir: string, options: { displayPrefix?: string; optional?: boolean }): Array<{ fileName: string; displayPath: string; path: string }> {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    if (options.optional && (err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new MigrationError(`cannot read directory ${dir}: ${(err as Error).message}`, { code: 'usage', cause: err });
  }
  const prefix = (options.displayPrefix ?? dir).replace(/\/+$/, '');
  return entries
    .filter((e) => (e.isFile() || e.isSymbolicLink()) && !e.name.startsWith('.') && e.name.toLowerCase().endsWith('.sql'))
    .map((e) => e.name)
    .sort()
    .map((fileName) => ({ fileName, displayPath: prefix ? `${prefix}/${fileName}` : fileName, path: join(dir, fileName) }));
}

/**
 * Reads the `.sql` files of a directory (not recursive; other files and
 * dot-files are ignored, so a README can sit beside the migrations).
 * A missing directory reads as empty only when `optional` is set.
 */
export function readSqlDirectory(dir: string, options: { displayPrefix?: string; optional?: boolean } = {}): SqlSource[] {
  return listSqlDirectory(dir, options).map(({ fileName, displayPath, path }) => ({ fileName, displayPath, text: readFileSync(path, 'utf8') }));
}
