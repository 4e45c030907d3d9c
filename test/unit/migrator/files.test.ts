import { parseDuration } from '../../../lambda/migrator/directives';
import { MigrationError } from '../../../lambda/migrator/errors';
import { checksumSql, normalizeSql, parseFileName, parseSqlFiles, type SqlSource } from '../../../lambda/migrator/files';

const src = (fileName: string, text: string): SqlSource => ({ fileName, displayPath: `migrations/${fileName}`, text });

function parseError(sources: SqlSource[]): MigrationError {
  try {
    parseSqlFiles(sources, 'migration');
  } catch (err) {
    return err as MigrationError;
  }
  throw new Error('expected a MigrationError');
}

describe('file names', () => {
  it('parses NNN_name.sql', () => {
    expect(parseFileName('003_rls_policies.sql')).toEqual({ version: 3, name: 'rls_policies' });
    expect(parseFileName('20240101120000_add-index.sql')).toEqual({ version: 20240101120000, name: 'add-index' });
  });

  it('rejects other shapes', () => {
    for (const bad of ['rls.sql', '003-rls.sql', '003_.sql', '003_rls.SQL', '003_rls policies.sql', '99999999999999999999_x.sql']) {
      expect(parseFileName(bad)).toBeUndefined();
    }
  });
});

describe('checksums', () => {
  it('ignore CRLF line endings and a byte order mark', () => {
    const lf = 'CREATE TABLE a (id int);\nSELECT 1;\n';
    expect(checksumSql(lf.replace(/\n/g, '\r\n'))).toBe(checksumSql(lf));
    expect(checksumSql(`\ufeff${lf}`)).toBe(checksumSql(lf));
    expect(normalizeSql('\ufeffa\r\nb')).toBe('a\nb');
  });

  it('change with any other edit', () => {
    expect(checksumSql('SELECT 1;\n')).not.toBe(checksumSql('SELECT 1; \n'));
    expect(checksumSql('SELECT 1;')).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('parseSqlFiles', () => {
  it('orders by numeric version, not by name', () => {
    const files = parseSqlFiles([src('10_c.sql', 'SELECT 10;'), src('2_b.sql', 'SELECT 2;'), src('001_a.sql', 'SELECT 1;')], 'migration');
    expect(files.map((f) => f.version)).toEqual([1, 2, 10]);
  });

  it('reports duplicate versions, bad names and empty files together', () => {
    const err = parseError([src('001_a.sql', 'SELECT 1;'), src('1_b.sql', 'SELECT 1;'), src('two.sql', 'SELECT 2;'), src('003_c.sql', '  \n'), src('004_d.sql', '-- only a comment\n')]);
    expect(err).toBeInstanceOf(MigrationError);
    expect(err.code).toBe('invalid_file');
    expect(err.message).toContain('migrations/1_b.sql: duplicate version 1: also used by migrations/001_a.sql');
    expect(err.message).toContain('migrations/two.sql: bad file name');
    expect(err.message).toContain('migrations/003_c.sql: empty file');
    expect(err.message).toContain('migrations/004_d.sql: file contains no SQL statements');
  });

  it('reads directives from the header', () => {
    const [file] = parseSqlFiles([src('001_a.sql', '-- migrate:no-transaction\n-- migrate:lock-timeout 2s\n-- migrate:statement-timeout 10min\nCREATE INDEX CONCURRENTLY i ON t (a);')], 'migration');
    expect(file.directives).toEqual({ noTransaction: true, lockTimeoutMs: 2000, statementTimeoutMs: 600000 });
  });

  it('accepts dbmate markers with an empty down section', () => {
    const [file] = parseSqlFiles([src('001_a.sql', '-- migrate:up transaction:false\nSELECT 1;\n\n-- migrate:down\n')], 'migration');
    expect(file.directives.noTransaction).toBe(true);
  });

  it('rejects unknown directives, misplaced ones and down sections with statements, with line numbers', () => {
    const err = parseError([
      src('001_a.sql', '-- migrate:no-transactions\nSELECT 1;'),
      src('002_b.sql', 'SELECT 1;\n-- migrate:no-transaction\nSELECT 2;'),
      src('003_c.sql', '-- migrate:up\nSELECT 1;\n-- migrate:down\nDROP TABLE t;'),
      src('004_d.sql', '-- migrate:lock-timeout soon\nSELECT 1;'),
    ]);
    expect(err.message).toContain('migrations/001_a.sql:1:1: unknown directive "-- migrate:no-transactions"');
    expect(err.message).toContain('migrations/002_b.sql:2:1: directive "-- migrate:no-transaction" must be in the file header');
    expect(err.message).toContain('migrations/003_c.sql:3:1: down migrations are not supported');
    expect(err.message).toContain('migrations/004_d.sql:1:1: "-- migrate:lock-timeout" needs a duration');
  });

  it('rejects transaction control in files the runner wraps in a transaction', () => {
    const err = parseError([src('001_a.sql', 'CREATE TABLE a (id int);\n\nCOMMIT;\nBEGIN;')]);
    expect(err.message).toContain('migrations/001_a.sql:3:1: COMMIT is not allowed');
    expect(err.message).toContain('migrations/001_a.sql:4:1: BEGIN is not allowed');
    // Savepoints are fine inside the runner's transaction.
    expect(parseSqlFiles([src('001_a.sql', 'SAVEPOINT s; SELECT 1; ROLLBACK TO SAVEPOINT s;')], 'migration')).toHaveLength(1);
  });

  it('keeps the normalized text and a checksum equal for CRLF and LF copies', () => {
    const [crlf] = parseSqlFiles([src('001_a.sql', 'SELECT 1;\r\nSELECT 2;\r\n')], 'migration');
    const [lf] = parseSqlFiles([src('001_a.sql', 'SELECT 1;\nSELECT 2;\n')], 'migration');
    expect(crlf.checksum).toBe(lf.checksum);
    expect(crlf.text).toBe(lf.text);
  });
});

describe('problems in several files', () => {
  it('are reported together, each with its file, line and column', () => {
    const sources = [src('001_a.sql', 'SELECT 1;'), src('002_b.sql', "SELECT 'open"), src('003_c.sql', 'COMMIT;')];
    expect(() => parseSqlFiles(sources, 'migration')).toThrow(/2 problems in migration files:\n.*002_b\.sql:1:8: unterminated quoted string\n.*003_c\.sql:1:1: COMMIT is not allowed/);
    expect(parseSqlFiles([sources[0]], 'migration')[0].statements).toHaveLength(1);
  });
});

describe('parseDuration', () => {
  it('understands Postgres units, a bare number being milliseconds', () => {
    expect(parseDuration('500')).toBe(500);
    expect(parseDuration('5s')).toBe(5000);
    expect(parseDuration('10min')).toBe(600000);
    expect(parseDuration('1h')).toBe(3600000);
    expect(parseDuration('0')).toBe(0);
    expect(parseDuration('5 minutes')).toBeUndefined();
    expect(parseDuration('-1s')).toBeUndefined();
  });
});
