import { lineAndColumn, offsetOfCharPosition, splitSqlStatements } from '../../../lambda/migrator/sql-split';

const texts = (sql: string) => splitSqlStatements(sql).statements.map((s) => s.text);

describe('splitSqlStatements', () => {
  it('splits on top-level semicolons and keeps a last statement without one', () => {
    expect(texts('SELECT 1;\nSELECT 2;\n  SELECT 3')).toEqual(['SELECT 1;', 'SELECT 2;', 'SELECT 3']);
  });

  it('reports the line of each statement, skipping leading comments', () => {
    const { statements } = splitSqlStatements('-- header\n\n/* block */ CREATE TABLE a (id int);\n\nDROP TABLE a;');
    expect(statements.map((s) => [s.line, s.text])).toEqual([
      [3, 'CREATE TABLE a (id int);'],
      [5, 'DROP TABLE a;'],
    ]);
  });

  it('ignores semicolons in strings, quoted identifiers and comments', () => {
    const sql = `INSERT INTO t VALUES ('a;b', 'it''s; fine');
SELECT "odd;name" FROM t; -- trailing; comment
/* a; /* nested; */ still comment; */ SELECT 2;`;
    expect(texts(sql)).toEqual([
      "INSERT INTO t VALUES ('a;b', 'it''s; fine');",
      'SELECT "odd;name" FROM t;',
      '/* a; /* nested; */ still comment; */ SELECT 2;'.replace(/^\/\*.*\*\/ /, ''),
    ]);
  });

  it('honours backslash escapes only in E strings', () => {
    expect(texts("SELECT E'a\\';b'; SELECT 'c\\'; SELECT 3;")).toEqual(["SELECT E'a\\';b';", "SELECT 'c\\';", 'SELECT 3;']);
  });

  it('treats dollar-quoted bodies, with or without tags, as one token', () => {
    const sql = `CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN 1; END; $$;
DO $body$ BEGIN PERFORM 1; RAISE NOTICE '$$;'; END $body$;
SELECT $1;`;
    const statements = texts(sql);
    expect(statements).toHaveLength(3);
    expect(statements[1]).toBe("DO $body$ BEGIN PERFORM 1; RAISE NOTICE '$$;'; END $body$;");
  });

  it('does not take $ inside an identifier or a positional parameter for a dollar quote', () => {
    expect(texts('SELECT a$b$c FROM t; SELECT $1, $2;')).toEqual(['SELECT a$b$c FROM t;', 'SELECT $1, $2;']);
  });

  it('keeps a BEGIN ATOMIC routine body together, like psql', () => {
    const sql = `CREATE OR REPLACE FUNCTION n() RETURNS bigint LANGUAGE sql
BEGIN ATOMIC
  SELECT CASE WHEN true THEN 1 ELSE 2 END;
  SELECT 2;
END;
SELECT 3;`;
    expect(texts(sql)).toEqual([sql.slice(0, sql.indexOf('SELECT 3;')).trimEnd(), 'SELECT 3;']);
  });

  it('does not treat BEGIN as a block outside routine definitions', () => {
    expect(texts('BEGIN; SELECT 1; COMMIT;')).toEqual(['BEGIN;', 'SELECT 1;', 'COMMIT;']);
  });

  it('keeps semicolons inside parentheses', () => {
    expect(texts("CREATE RULE r AS ON INSERT TO t DO ALSO (NOTIFY a; NOTIFY b); SELECT 1;")).toHaveLength(2);
  });

  it('reports unterminated strings, comments and dollar quotes with their offset', () => {
    expect(splitSqlStatements("SELECT 'oops;").problems).toEqual([{ message: 'unterminated quoted string', offset: 7 }]);
    expect(splitSqlStatements('SELECT 1; /* open').problems[0].message).toBe('unterminated /* comment');
    expect(splitSqlStatements('DO $x$ BEGIN END $y$;').problems[0].message).toBe('unterminated dollar-quoted string $x$');
  });

  it('rejects psql meta-commands', () => {
    expect(splitSqlStatements('\\set ON_ERROR_STOP 1\nSELECT 1;').problems[0].message).toMatch(/psql meta-commands/);
  });

  it('marks header comments apart from later ones', () => {
    const { lineComments } = splitSqlStatements('-- migrate:no-transaction\nSELECT 1;\n-- later');
    expect(lineComments.map((c) => [c.text, c.inHeader])).toEqual([
      [' migrate:no-transaction', true],
      [' later', false],
    ]);
  });

  it('gives the leading keywords of each statement', () => {
    expect(splitSqlStatements('create  index concurrently i on t (a);').statements[0].keywords).toEqual(['create', 'index']);
  });
});

describe('positions', () => {
  it('maps offsets to 1-based line and column', () => {
    const text = 'a\nbc\n\ndef';
    expect(lineAndColumn(text, 0)).toEqual({ line: 1, column: 1 });
    expect(lineAndColumn(text, 3)).toEqual({ line: 2, column: 2 });
    expect(lineAndColumn(text, 7)).toEqual({ line: 4, column: 2 });
  });

  it('counts characters the way Postgres does, beyond the Basic Multilingual Plane too', () => {
    const text = "SELECT '😀' + x";
    // Postgres: the x is character 14 (the emoji is one character, two UTF-16 units).
    expect(text[offsetOfCharPosition(text, 14)]).toBe('x');
    expect(lineAndColumn(text, offsetOfCharPosition(text, 14)).column).toBe(14);
  });
});
