/**
 * Splits a SQL script into top-level statements the way psql does when it
 * runs a file with `\i`: semicolons end a statement unless they sit inside a
 * string, quoted identifier, dollar-quoted body, comment, parentheses, or the
 * BEGIN ... END block of a `CREATE FUNCTION|PROCEDURE ... BEGIN ATOMIC` body.
 *
 * The runner sends each statement on its own, so an error names the statement
 * that failed and Postgres's error position maps back to the file.
 */

/** One top-level statement of a script. */
export interface SqlStatement {
  /** The statement as sent: from its first token up to and including its `;` (if any). */
  readonly text: string;
  /** Offset (UTF-16 index) of the first character of `text` in the script. */
  readonly offset: number;
  /** 1-based line of the statement's first token. */
  readonly line: number;
  /** The first two keywords, lower-cased (e.g. `create index`), for recognising statement kinds. */
  readonly keywords: readonly string[];
}

/** A `-- comment` line of the script (used to read `-- migrate:` directives). */
export interface SqlLineComment {
  /** The comment text without the leading dashes. */
  readonly text: string;
  /** Offset of the `--` in the script. */
  readonly offset: number;
  /** True when no statement token came before it (the file header). */
  readonly inHeader: boolean;
}

/** A lexical problem that makes the script unusable (unterminated quote, psql meta-command). */
export interface SqlScanProblem {
  readonly message: string;
  readonly offset: number;
}

export interface SplitResult {
  readonly statements: SqlStatement[];
  readonly lineComments: SqlLineComment[];
  readonly problems: SqlScanProblem[];
}

/** Letters, `_` and any non-ASCII character start an identifier (as in Postgres's lexer). */
function isIdentStart(code: number): boolean {
  return (code >= 97 && code <= 122) || (code >= 65 && code <= 90) || code === 95 || code >= 128;
}

/** Identifiers continue with digits and `$` too. */
function isIdentCont(code: number): boolean {
  return isIdentStart(code) || (code >= 48 && code <= 57) || code === 36;
}
const DOLLAR_TAG = /^\$(?:[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/;

/** True when the identifiers that start a statement are CREATE [OR REPLACE] FUNCTION|PROCEDURE. */
function startsRoutineDefinition(ids: readonly string[]): boolean {
  if (ids[0] !== 'create') return false;
  const routine = (word: string | undefined) => word === 'function' || word === 'procedure';
  return routine(ids[1]) || (ids[1] === 'or' && ids[2] === 'replace' && routine(ids[3]));
}

/** Splits `sql` into statements; never throws (problems are returned). */
export function splitSqlStatements(sql: string): SplitResult {
  const statements: SqlStatement[] = [];
  const lineComments: SqlLineComment[] = [];
  const problems: SqlScanProblem[] = [];
  const lines = lineStarts(sql);

  let start = -1; // offset of the current statement's first token, -1 when between statements
  let parenDepth = 0;
  let beginDepth = 0;
  let identifiers: string[] = []; // the first four identifiers of the statement, lower-cased
  let identifierCount = 0;

  const markToken = (at: number) => {
    if (start < 0) start = at;
  };
  const endStatement = (end: number) => {
    if (start >= 0) {
      const text = sql.slice(start, end);
      statements.push({ text, offset: start, line: lineOf(lines, start), keywords: leadingKeywords(text) });
    }
    start = -1;
    parenDepth = 0;
    beginDepth = 0;
    identifiers = [];
    identifierCount = 0;
  };

  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i];
    const next = sql[i + 1];
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f' || c === '\v') {
      i++;
    } else if (c === '-' && next === '-') {
      const eol = sql.indexOf('\n', i);
      const end = eol < 0 ? n : eol;
      lineComments.push({ text: sql.slice(i + 2, end).replace(/\r$/, ''), offset: i, inHeader: statements.length === 0 && start < 0 });
      i = end;
    } else if (c === '/' && next === '*') {
      const end = skipBlockComment(sql, i);
      if (end < 0) {
        problems.push({ message: 'unterminated /* comment', offset: i });
        i = n;
      } else i = end;
    } else if (c === "'") {
      markToken(i);
      i = skipQuoted(sql, i, "'", false, problems, 'unterminated quoted string');
    } else if (c === '"') {
      markToken(i);
      i = skipQuoted(sql, i, '"', false, problems, 'unterminated quoted identifier');
    } else if (c === '$' && DOLLAR_TAG.test(sql.slice(i, i + 64))) {
      markToken(i);
      const tag = DOLLAR_TAG.exec(sql.slice(i, i + 64))![0];
      const close = sql.indexOf(tag, i + tag.length);
      if (close < 0) {
        problems.push({ message: `unterminated dollar-quoted string ${tag}`, offset: i });
        i = n;
      } else i = close + tag.length;
    } else if (isIdentStart(sql.charCodeAt(i))) {
      markToken(i);
      let j = i + 1;
      while (j < n && isIdentCont(sql.charCodeAt(j))) j++;
      const word = sql.slice(i, j).toLowerCase();
      if ((word === 'e' || word === 'x' || word === 'b' || word === 'n') && sql[j] === "'") {
        // E'...' honours backslash escapes; B'', X'' and N'' quote like plain strings.
        i = skipQuoted(sql, j, "'", word === 'e', problems, 'unterminated quoted string');
        continue;
      }
      if (word === 'u' && sql[j] === '&' && (sql[j + 1] === "'" || sql[j + 1] === '"')) {
        const q = sql[j + 1];
        i = skipQuoted(sql, j + 1, q, false, problems, q === "'" ? 'unterminated quoted string' : 'unterminated quoted identifier');
        continue;
      }
      if (identifierCount < 4) identifiers.push(word);
      identifierCount++;
      if (parenDepth === 0 && startsRoutineDefinition(identifiers)) {
        if (word === 'begin') beginDepth++;
        else if (word === 'case' && beginDepth > 0) beginDepth++;
        else if (word === 'end' && beginDepth > 0) beginDepth--;
      }
      i = j;
    } else if (c === '(') {
      markToken(i);
      parenDepth++;
      i++;
    } else if (c === ')') {
      markToken(i);
      if (parenDepth > 0) parenDepth--;
      i++;
    } else if (c === ';') {
      if (parenDepth === 0 && beginDepth === 0) {
        endStatement(i + 1);
      } else {
        markToken(i);
      }
      i++;
    } else if (c === '\\') {
      problems.push({ message: 'psql meta-commands (backslash commands) are not supported in migration files', offset: i });
      const eol = sql.indexOf('\n', i);
      i = eol < 0 ? n : eol;
    } else {
      markToken(i);
      i++;
    }
  }
  endStatement(n);
  return { statements, lineComments, problems };
}

/** Returns the offset just past a (nested) block comment starting at `i`, or -1 if unterminated. */
function skipBlockComment(sql: string, i: number): number {
  let depth = 0;
  let j = i;
  while (j < sql.length) {
    if (sql[j] === '/' && sql[j + 1] === '*') {
      depth++;
      j += 2;
    } else if (sql[j] === '*' && sql[j + 1] === '/') {
      depth--;
      j += 2;
      if (depth === 0) return j;
    } else j++;
  }
  return -1;
}

/** Skips a quoted token opening at `i` (doubled quotes escape; with `backslash`, `\x` does too). */
function skipQuoted(sql: string, i: number, quote: string, backslash: boolean, problems: SqlScanProblem[], message: string): number {
  let j = i + 1;
  while (j < sql.length) {
    const c = sql[j];
    if (backslash && c === '\\') {
      j += 2;
    } else if (c === quote) {
      if (sql[j + 1] === quote) j += 2;
      else return j + 1;
    } else j++;
  }
  problems.push({ message, offset: i });
  return sql.length;
}

function leadingKeywords(text: string): string[] {
  const words: string[] = [];
  const re = /[A-Za-z_]+/y;
  let i = 0;
  while (words.length < 2 && i < text.length) {
    re.lastIndex = i;
    const m = re.exec(text);
    if (!m) break;
    words.push(m[0].toLowerCase());
    i = re.lastIndex;
    while (i < text.length && /\s/.test(text[i])) i++;
  }
  return words;
}

/** Offsets at which each line starts. */
export function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text[i] === '\n') starts.push(i + 1);
  return starts;
}

/** 1-based line of `offset`, given `lineStarts(text)`. */
export function lineOf(starts: readonly number[], offset: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid] <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo + 1;
}

/** 1-based line and column (in characters, as an editor counts them) of `offset` in `text`. */
export function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const starts = lineStarts(text);
  const line = lineOf(starts, offset);
  const column = [...text.slice(starts[line - 1], offset)].length + 1;
  return { line, column };
}

/**
 * Converts a Postgres error position (1-based, counted in characters) within
 * `text` to a UTF-16 offset into `text`. Postgres counts code points, JavaScript
 * strings count UTF-16 units; they differ only beyond the Basic Multilingual Plane.
 */
export function offsetOfCharPosition(text: string, position: number): number {
  let offset = 0;
  let chars = 1;
  while (chars < position && offset < text.length) {
    const code = text.codePointAt(offset)!;
    offset += code > 0xffff ? 2 : 1;
    chars++;
  }
  return Math.min(offset, text.length);
}
