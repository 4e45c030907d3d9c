/**
 * schema.sql, the schema the migrations leave behind, read from the catalog of an embedded database: the
 * committed file must be what the migrations produce now, and the reading itself says what matters (a
 * policy's text per command and role, grants down to columns, function owners and settings, roles).
 */
import { readFileSync } from 'node:fs';
import { describeSchema } from '../../lib/schema/describe';
import { generateSchema, SCHEMA_FILE } from '../../lib/schema/generate';
import { openFreshDatabase } from '../support/embedded';

test('the committed schema.sql is what the migrations leave behind', async () => {
  const generated = await generateSchema();
  const committed = readFileSync(SCHEMA_FILE, 'utf8');
  if (generated !== committed) {
    const [a, b] = [committed.split('\n'), generated.split('\n')];
    const line = a.findIndex((text, i) => text !== b[i]);
    throw new Error(
      `schema.sql does not match the migrations: run npm run schema and commit the result\n` +
        `first difference at line ${line + 1}:\n  committed: ${a[line]}\n  generated: ${b[line]}`,
    );
  }
}, 120_000);

test('reads tables, policies, grants, functions and roles, sorted and with the migrating user as CURRENT_USER', async () => {
  const db = await openFreshDatabase();
  try {
    await db.exec(`
      CREATE ROLE reader NOLOGIN;
      CREATE ROLE definer NOLOGIN;
      CREATE SCHEMA extra;
      CREATE TABLE notes (id int NOT NULL, body text DEFAULT 'x', CONSTRAINT notes_pkey PRIMARY KEY (id));
      CREATE TABLE alpha (id int);
      ALTER TABLE notes ENABLE ROW LEVEL SECURITY;
      CREATE INDEX notes_body_idx ON notes (body);
      CREATE POLICY notes_read ON notes FOR SELECT TO reader USING (id > 0);
      CREATE POLICY notes_write ON notes FOR UPDATE TO reader, definer USING (id > 0) WITH CHECK (body <> '');
      GRANT SELECT ON notes TO reader;
      GRANT UPDATE (body) ON notes TO reader;
      CREATE FUNCTION extra.answer() RETURNS int LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS 'SELECT 42';
      ALTER FUNCTION extra.answer() OWNER TO definer;
      REVOKE ALL ON FUNCTION extra.answer() FROM PUBLIC;
      GRANT EXECUTE ON FUNCTION extra.answer() TO reader;
      COMMENT ON TABLE notes IS 'It''s a note.';
    `);
    const text = await describeSchema(db);
    expect(text).toContain('CREATE ROLE reader NOLOGIN;');
    expect(text).toContain('CREATE SCHEMA extra;');
    expect(text.indexOf('CREATE TABLE public.alpha')).toBeLessThan(text.indexOf('CREATE TABLE public.notes'));
    expect(text).toContain(
      [
        'CREATE TABLE public.notes (',
        '    id integer NOT NULL,',
        "    body text DEFAULT 'x'::text,",
        '    CONSTRAINT notes_pkey PRIMARY KEY (id)',
        ');',
        'ALTER TABLE public.notes ENABLE ROW LEVEL SECURITY;',
        'CREATE INDEX notes_body_idx ON public.notes USING btree (body);',
        'GRANT SELECT ON TABLE public.notes TO reader;',
        'GRANT UPDATE (body) ON TABLE public.notes TO reader;',
        'CREATE POLICY notes_read ON public.notes FOR SELECT TO reader',
        '    USING ((id > 0));',
        'CREATE POLICY notes_write ON public.notes FOR UPDATE TO definer, reader',
        '    USING ((id > 0))',
        "    WITH CHECK ((body <> ''::text));",
        "COMMENT ON TABLE public.notes IS 'It''s a note.';",
      ].join('\n'),
    );
    expect(text).toMatch(/CREATE OR REPLACE FUNCTION extra\.answer\(\)\n RETURNS integer\n LANGUAGE sql\n SECURITY DEFINER\n SET search_path TO 'pg_catalog'\n/);
    expect(text).toContain('ALTER FUNCTION extra.answer() OWNER TO definer;\nGRANT EXECUTE ON FUNCTION extra.answer() TO reader;');
    // The migrating user owns the rest: no owner line; and its name never appears.
    expect(text).not.toContain('OWNER TO CURRENT_USER');
    expect(text).not.toMatch(/\bpostgres\b/);
    expect(await describeSchema(db)).toBe(text);
  } finally {
    await db.close();
  }
});
