/**
 * `-- migrate:` directives in a file's header (the comment lines before its
 * first statement):
 *
 *   -- migrate:no-transaction          run statement by statement, outside a transaction
 *   -- migrate:lock-timeout 5s         lock_timeout for this file
 *   -- migrate:statement-timeout 10min statement_timeout for this file
 *   -- migrate:up [transaction:false]  accepted for dbmate compatibility
 *   -- migrate:down                    accepted (dbmate requires it) only with nothing but comments after it
 *
 * An unknown directive, a directive after the first statement, or a
 * `-- migrate:down` section with statements is an error: a typo must not
 * silently change how a migration runs, and this runner never runs down
 * migrations.
 */
import type { SqlLineComment } from './sql-split';

export interface Directives {
  /** Run outside a transaction, one statement at a time. */
  readonly noTransaction: boolean;
  /** lock_timeout in milliseconds (0 = none), when the file sets it. */
  readonly lockTimeoutMs?: number;
  /** statement_timeout in milliseconds (0 = none), when the file sets it. */
  readonly statementTimeoutMs?: number;
}

export interface DirectiveProblem {
  readonly message: string;
  readonly offset: number;
}

const DIRECTIVE = /^\s*migrate:(\S*)\s*(.*?)\s*$/;
const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, min: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Parses a Postgres duration as these settings accept it (`500`, `500ms`,
 * `5s`, `10min`, `1h`; a bare number is milliseconds) into milliseconds.
 * Returns undefined when the text is not such a duration.
 */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d+)\s*(us|ms|s|min|h|d)?$/.exec(text.trim());
  if (!m) return undefined;
  return Math.ceil(Number(m[1]) * UNIT_MS[m[2] ?? 'ms']);
}

/**
 * Reads the directives out of a file's line comments.
 * @param lastStatementOffset offset of the file's last statement (-1 when none), to tell an empty down section
 */
export function parseDirectives(comments: readonly SqlLineComment[], lastStatementOffset = -1): { directives: Directives; problems: DirectiveProblem[] } {
  const problems: DirectiveProblem[] = [];
  let noTransaction = false;
  let lockTimeoutMs: number | undefined;
  let statementTimeoutMs: number | undefined;
  for (const comment of comments) {
    const m = DIRECTIVE.exec(comment.text);
    if (!m) continue;
    const [, name, arg] = m;
    const fail = (message: string) => problems.push({ message, offset: comment.offset });
    if (name === 'down') {
      if (lastStatementOffset > comment.offset) {
        fail('down migrations are not supported: remove the statements of the "-- migrate:down" section (write a new migration to undo a change)');
      }
      continue;
    }
    if (!comment.inHeader) {
      fail(`directive "-- migrate:${name}" must be in the file header, before the first statement`);
      continue;
    }
    switch (name) {
      case 'no-transaction':
        if (arg) fail(`"-- migrate:no-transaction" takes no argument (got "${arg}")`);
        noTransaction = true;
        break;
      case 'up':
        // dbmate's marker; "transaction:false" is dbmate's spelling of no-transaction.
        for (const option of arg.split(/\s+/).filter(Boolean)) {
          if (option === 'transaction:false') noTransaction = true;
          else if (option !== 'transaction:true') fail(`unknown option "${option}" on "-- migrate:up"`);
        }
        break;
      case 'lock-timeout':
      case 'statement-timeout': {
        const ms = parseDuration(arg);
        if (ms === undefined) fail(`"-- migrate:${name}" needs a duration such as 5s, 500ms or 10min (got "${arg}")`);
        else if (name === 'lock-timeout') lockTimeoutMs = ms;
        else statementTimeoutMs = ms;
        break;
      }
      default:
        fail(`unknown directive "-- migrate:${name}" (known: no-transaction, lock-timeout, statement-timeout)`);
    }
  }
  return { directives: { noTransaction, lockTimeoutMs, statementTimeoutMs }, problems };
}
