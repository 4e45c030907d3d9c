/**
 * The schema of a database as SQL text, read from its catalog: roles (but the system's and the session user)
 * and their memberships, extensions, schemas, types, tables with their columns, constraints, indexes, row level
 * security, policies, triggers and grants, views, sequences, functions with their definition, owner and grants,
 * default privileges, comments. Sorted by name, so the same database always reads the same, and two databases
 * can be compared line by line. The migration runner's own schema (`migration_history`) is left out.
 *
 * Owners and grantees that are the session user (the migrating user: `postgres` in the embedded database, the
 * master user on Aurora) read `CURRENT_USER`. It only reads, in one read-only transaction; it needs a client
 * that runs a statement and returns rows (a `pg.Client`, PGlite, the runner's SqlClient).
 */

/** A session to read the catalog through. */
export interface CatalogClient {
  query<R = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<{ rows: R[] }>;
}

/** Schemas never described: the system's, and the migration runner's bookkeeping. */
const EXCLUDED_SCHEMAS = `n.nspname NOT IN ('pg_catalog', 'information_schema', 'migration_history') AND n.nspname !~ '^pg_(toast|temp)'`;

/** Not created by an extension. */
const notFromExtension = (catalog: string, oid: string) =>
  `NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = '${catalog}'::regclass AND d.objid = ${oid} AND d.deptype = 'e')`;

/** A role name as SQL: the session user as CURRENT_USER, PUBLIC for the pseudo-role 0, else quoted. */
const ROLE = (oid: string) =>
  `CASE WHEN ${oid} = 0 THEN 'PUBLIC' WHEN ${oid} = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = session_user) THEN 'CURRENT_USER' ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(${oid})) END`;

/** Grants of an ACL (NULL means the default for `kind`), one row per grantee, privileges sorted; not the owner's own. */
const grantsOf = (acl: string, kind: string, owner: string) => `
  (SELECT pg_catalog.string_agg(g.line, E'\\n' ORDER BY g.line COLLATE "C") FROM (
     SELECT pg_catalog.string_agg(a.privilege_type, ', ' ORDER BY a.privilege_type COLLATE "C")
            || ' TO ' || ${ROLE('a.grantee')} || CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END AS line
       FROM pg_catalog.aclexplode(COALESCE(${acl}, pg_catalog.acldefault('${kind}', ${owner}))) a
      WHERE a.grantee <> ${owner}
      GROUP BY a.grantee, a.is_grantable) g)`;

/** A SQL string literal. */
function literal(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

const comment = (what: string, text: string | null) => (text === null ? [] : [`COMMENT ON ${what} IS ${literal(text)};`]);
const grantLines = (grants: string | null, on: string) => (grants ? grants.split('\n').map((g) => `GRANT ${g.replace(' TO ', ` ON ${on} TO `)};`) : []);
const ownerLine = (what: string, owner: string) => (owner === 'CURRENT_USER' ? [] : [`ALTER ${what} OWNER TO ${owner};`]);

interface Described {
  readonly roles: string[];
  readonly extensions: string[];
  readonly schemas: string[];
  readonly types: string[];
  readonly tables: string[];
  readonly views: string[];
  readonly sequences: string[];
  readonly functions: string[];
  readonly defaultPrivileges: string[];
}

async function roles(client: CatalogClient): Promise<string[]> {
  const { rows } = await client.query<{ name: string; oid: number; attributes: string; config: string[] | null; comment: string | null; members: string | null }>(`
    SELECT pg_catalog.quote_ident(r.rolname) AS name, r.oid::int AS oid,
           concat_ws(' ', CASE WHEN r.rolcanlogin THEN 'LOGIN' ELSE 'NOLOGIN' END,
                          CASE WHEN r.rolsuper THEN 'SUPERUSER' END, CASE WHEN r.rolcreaterole THEN 'CREATEROLE' END,
                          CASE WHEN r.rolcreatedb THEN 'CREATEDB' END, CASE WHEN NOT r.rolinherit THEN 'NOINHERIT' END,
                          CASE WHEN r.rolbypassrls THEN 'BYPASSRLS' END, CASE WHEN r.rolreplication THEN 'REPLICATION' END) AS attributes,
           r.rolconfig AS config,
           pg_catalog.shobj_description(r.oid, 'pg_authid') AS comment,
           (SELECT pg_catalog.string_agg(${ROLE('m.member')} || CASE WHEN m.admin_option THEN ' WITH ADMIN OPTION' ELSE '' END, E'\\n'
                                         ORDER BY ${ROLE('m.member')} COLLATE "C")
              FROM pg_catalog.pg_auth_members m WHERE m.roleid = r.oid) AS members
      FROM pg_catalog.pg_roles r
     WHERE r.rolname !~ '^(pg_|rds)' AND r.rolname <> session_user AND r.rolname <> 'postgres'
     ORDER BY r.rolname COLLATE "C"`);
  return rows.flatMap((r) => [
    `CREATE ROLE ${r.name} ${r.attributes};`,
    ...(r.config ?? []).map((setting) => `ALTER ROLE ${r.name} SET ${setting.replace('=', ' = ')};`),
    ...(r.members ? r.members.split('\n').map((m) => `GRANT ${r.name} TO ${m};`) : []),
    ...comment(`ROLE ${r.name}`, r.comment),
    '',
  ]);
}

async function extensions(client: CatalogClient): Promise<string[]> {
  const { rows } = await client.query<{ line: string }>(`
    SELECT 'CREATE EXTENSION ' || pg_catalog.quote_ident(e.extname) || ' WITH SCHEMA ' || pg_catalog.quote_ident(n.nspname) || ';' AS line
      FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
     WHERE e.extname <> 'plpgsql'
     ORDER BY e.extname COLLATE "C"`);
  return rows.map((r) => r.line).concat(rows.length > 0 ? [''] : []);
}

async function schemas(client: CatalogClient): Promise<string[]> {
  const { rows } = await client.query<{ name: string; owner: string; grants: string | null; comment: string | null }>(`
    SELECT pg_catalog.quote_ident(n.nspname) AS name, ${ROLE('n.nspowner')} AS owner,
           ${grantsOf('n.nspacl', 'n', 'n.nspowner')} AS grants, pg_catalog.obj_description(n.oid, 'pg_namespace') AS comment
      FROM pg_catalog.pg_namespace n
     WHERE ${EXCLUDED_SCHEMAS} AND ${notFromExtension('pg_namespace', 'n.oid')}
     ORDER BY n.nspname COLLATE "C"`);
  return rows.flatMap((r) => [
    ...(r.name === 'public' ? [] : [`CREATE SCHEMA ${r.name};`]),
    ...ownerLine(`SCHEMA ${r.name}`, r.owner),
    ...grantLines(r.grants, `SCHEMA ${r.name}`),
    ...(r.name === 'public' ? [] : comment(`SCHEMA ${r.name}`, r.comment)),
    '',
  ]);
}

/** Enums and domains (composite types of tables are their tables). */
async function types(client: CatalogClient): Promise<string[]> {
  const { rows } = await client.query<{ line: string }>(`
    SELECT CASE t.typtype
             WHEN 'e' THEN 'CREATE TYPE ' || pg_catalog.format('%I.%I', n.nspname, t.typname) || ' AS ENUM ('
                           || (SELECT pg_catalog.string_agg(pg_catalog.quote_literal(e.enumlabel), ', ' ORDER BY e.enumsortorder)
                                 FROM pg_catalog.pg_enum e WHERE e.enumtypid = t.oid) || ');'
             ELSE 'CREATE DOMAIN ' || pg_catalog.format('%I.%I', n.nspname, t.typname) || ' AS '
                  || pg_catalog.format_type(t.typbasetype, t.typtypmod) || CASE WHEN t.typnotnull THEN ' NOT NULL' ELSE '' END
                  || COALESCE(' DEFAULT ' || t.typdefault, '')
                  || COALESCE((SELECT pg_catalog.string_agg(' CONSTRAINT ' || pg_catalog.quote_ident(c.conname) || ' ' || pg_catalog.pg_get_constraintdef(c.oid), '' ORDER BY c.conname COLLATE "C")
                                 FROM pg_catalog.pg_constraint c WHERE c.contypid = t.oid), '') || ';'
           END AS line
      FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
     WHERE t.typtype IN ('e', 'd') AND ${EXCLUDED_SCHEMAS} AND ${notFromExtension('pg_type', 't.oid')}
     ORDER BY n.nspname COLLATE "C", t.typname COLLATE "C"`);
  return rows.map((r) => r.line).concat(rows.length > 0 ? [''] : []);
}

interface RelationRow {
  oid: number;
  name: string;
  owner: string;
  rls: boolean;
  force_rls: boolean;
  grants: string | null;
  comment: string | null;
}

async function tables(client: CatalogClient): Promise<string[]> {
  const relations = await client.query<RelationRow>(`
    SELECT c.oid::int AS oid, pg_catalog.format('%I.%I', n.nspname, c.relname) AS name, ${ROLE('c.relowner')} AS owner,
           c.relrowsecurity AS rls, c.relforcerowsecurity AS force_rls,
           ${grantsOf('c.relacl', 'r', 'c.relowner')} AS grants, pg_catalog.obj_description(c.oid, 'pg_class') AS comment
      FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'p') AND ${EXCLUDED_SCHEMAS} AND ${notFromExtension('pg_class', 'c.oid')}
     ORDER BY n.nspname COLLATE "C", c.relname COLLATE "C"`);
  const columns = await client.query<{ table_oid: number; name: string; definition: string; comment: string | null; grants: string | null }>(`
    SELECT a.attrelid::int AS table_oid, pg_catalog.quote_ident(a.attname) AS name,
           pg_catalog.quote_ident(a.attname) || ' ' || pg_catalog.format_type(a.atttypid, a.atttypmod)
             || CASE WHEN a.attcollation <> t.typcollation THEN ' COLLATE ' || pg_catalog.quote_ident(co.collname) ELSE '' END
             || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END
             || CASE a.attidentity WHEN 'a' THEN ' GENERATED ALWAYS AS IDENTITY' WHEN 'd' THEN ' GENERATED BY DEFAULT AS IDENTITY' ELSE '' END
             || CASE WHEN a.attgenerated = 's' THEN ' GENERATED ALWAYS AS (' || pg_catalog.pg_get_expr(d.adbin, d.adrelid) || ') STORED'
                     WHEN d.adbin IS NOT NULL THEN ' DEFAULT ' || pg_catalog.pg_get_expr(d.adbin, d.adrelid) ELSE '' END AS definition,
           pg_catalog.col_description(a.attrelid, a.attnum) AS comment,
           (SELECT pg_catalog.string_agg(x.privilege_type || ' TO ' || ${ROLE('x.grantee')}, E'\\n' ORDER BY x.privilege_type COLLATE "C", ${ROLE('x.grantee')} COLLATE "C")
              FROM pg_catalog.aclexplode(a.attacl) x) AS grants
      FROM pg_catalog.pg_attribute a
      JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
      LEFT JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation
      LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
     WHERE a.attnum > 0 AND NOT a.attisdropped
     ORDER BY a.attrelid, a.attnum`);
  const constraints = await client.query<{ table_oid: number; line: string }>(`
    SELECT c.conrelid::int AS table_oid, 'CONSTRAINT ' || pg_catalog.quote_ident(c.conname) || ' ' || pg_catalog.pg_get_constraintdef(c.oid, true) AS line
      FROM pg_catalog.pg_constraint c
     WHERE c.conrelid <> 0 AND c.contype <> 'n'
     ORDER BY c.conrelid, c.conname COLLATE "C"`);
  const indexes = await client.query<{ table_oid: number; line: string }>(`
    SELECT i.indrelid::int AS table_oid, pg_catalog.pg_get_indexdef(i.indexrelid) || ';' AS line
      FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
     WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint c WHERE c.conindid = i.indexrelid AND c.contype IN ('p', 'u', 'x'))
     ORDER BY i.indrelid, ic.relname COLLATE "C"`);
  const policies = await client.query<{ table_oid: number; line: string }>(`
    SELECT p.polrelid::int AS table_oid,
           'CREATE POLICY ' || pg_catalog.quote_ident(p.polname) || ' ON ' || pg_catalog.format('%I.%I', n.nspname, c.relname)
             || CASE WHEN p.polpermissive THEN '' ELSE ' AS RESTRICTIVE' END
             || ' FOR ' || CASE p.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE' WHEN 'd' THEN 'DELETE' ELSE 'ALL' END
             || ' TO ' || (SELECT pg_catalog.string_agg(${ROLE('r.role')}, ', ' ORDER BY ${ROLE('r.role')} COLLATE "C") FROM pg_catalog.unnest(p.polroles) AS r(role))
             || COALESCE(E'\\n    USING (' || pg_catalog.pg_get_expr(p.polqual, p.polrelid) || ')', '')
             || COALESCE(E'\\n    WITH CHECK (' || pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid) || ')', '') || ';' AS line
      FROM pg_catalog.pg_policy p JOIN pg_catalog.pg_class c ON c.oid = p.polrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     ORDER BY p.polrelid, p.polname COLLATE "C"`);
  const triggers = await client.query<{ table_oid: number; line: string }>(`
    SELECT t.tgrelid::int AS table_oid, pg_catalog.pg_get_triggerdef(t.oid, true) || ';' AS line
      FROM pg_catalog.pg_trigger t WHERE NOT t.tgisinternal
     ORDER BY t.tgrelid, t.tgname COLLATE "C"`);
  const byTable = <T extends { table_oid: number }>(rows: T[]) => {
    const map = new Map<number, T[]>();
    for (const row of rows) map.set(row.table_oid, [...(map.get(row.table_oid) ?? []), row]);
    return map;
  };
  const columnsOf = byTable(columns.rows);
  const constraintsOf = byTable(constraints.rows);
  const indexesOf = byTable(indexes.rows);
  const policiesOf = byTable(policies.rows);
  const triggersOf = byTable(triggers.rows);

  return relations.rows.flatMap((t) => {
    const cols = columnsOf.get(t.oid) ?? [];
    const body = [...cols.map((c) => c.definition), ...(constraintsOf.get(t.oid) ?? []).map((c) => c.line)];
    const columnGrants = cols.flatMap((c) => (c.grants ? c.grants.split('\n').map((g) => ({ column: c.name, grant: g })) : []));
    // Column grants read as one statement per privilege and grantee, listing its columns.
    const grouped = new Map<string, string[]>();
    for (const { column, grant } of columnGrants) grouped.set(grant, [...(grouped.get(grant) ?? []), column]);
    return [
      `CREATE TABLE ${t.name} (`,
      ...body.map((line, i) => `    ${line}${i < body.length - 1 ? ',' : ''}`),
      ');',
      ...ownerLine(`TABLE ${t.name}`, t.owner),
      ...(t.rls ? [`ALTER TABLE ${t.name} ENABLE ROW LEVEL SECURITY;`] : []),
      ...(t.force_rls ? [`ALTER TABLE ${t.name} FORCE ROW LEVEL SECURITY;`] : []),
      ...(indexesOf.get(t.oid) ?? []).map((i) => i.line),
      ...grantLines(t.grants, `TABLE ${t.name}`),
      ...[...grouped].sort(([a], [b]) => (a < b ? -1 : 1)).map(([grant, cols]) => {
        const [privilege, grantee] = grant.split(' TO ');
        return `GRANT ${privilege} (${cols.join(', ')}) ON TABLE ${t.name} TO ${grantee};`;
      }),
      ...(policiesOf.get(t.oid) ?? []).map((p) => p.line),
      ...(triggersOf.get(t.oid) ?? []).map((tr) => tr.line),
      ...comment(`TABLE ${t.name}`, t.comment),
      ...cols.flatMap((c) => comment(`COLUMN ${t.name}.${c.name}`, c.comment)),
      '',
    ];
  });
}

async function views(client: CatalogClient): Promise<string[]> {
  const { rows } = await client.query<RelationRow & { kind: string; definition: string }>(`
    SELECT c.oid::int AS oid, pg_catalog.format('%I.%I', n.nspname, c.relname) AS name, ${ROLE('c.relowner')} AS owner, c.relkind AS kind,
           pg_catalog.pg_get_viewdef(c.oid, true) AS definition,
           ${grantsOf('c.relacl', 'r', 'c.relowner')} AS grants, pg_catalog.obj_description(c.oid, 'pg_class') AS comment
      FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('v', 'm') AND ${EXCLUDED_SCHEMAS} AND ${notFromExtension('pg_class', 'c.oid')}
     ORDER BY n.nspname COLLATE "C", c.relname COLLATE "C"`);
  return rows.flatMap((v) => {
    const what = v.kind === 'm' ? 'MATERIALIZED VIEW' : 'VIEW';
    return [
      `CREATE ${what} ${v.name} AS`,
      v.definition.replace(/;?\s*$/, ';'),
      ...ownerLine(`${what} ${v.name}`, v.owner),
      ...grantLines(v.grants, `TABLE ${v.name}`),
      ...comment(`${what} ${v.name}`, v.comment),
      '',
    ];
  });
}

/** Sequences of their own (not those of identity columns). */
async function sequences(client: CatalogClient): Promise<string[]> {
  const { rows } = await client.query<RelationRow>(`
    SELECT c.oid::int AS oid, pg_catalog.format('%I.%I', n.nspname, c.relname) AS name, ${ROLE('c.relowner')} AS owner,
           ${grantsOf('c.relacl', 's', 'c.relowner')} AS grants, pg_catalog.obj_description(c.oid, 'pg_class') AS comment
      FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind = 'S' AND ${EXCLUDED_SCHEMAS} AND ${notFromExtension('pg_class', 'c.oid')}
       AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'i')
     ORDER BY n.nspname COLLATE "C", c.relname COLLATE "C"`);
  return rows.flatMap((s) => [
    `CREATE SEQUENCE ${s.name};`,
    ...ownerLine(`SEQUENCE ${s.name}`, s.owner),
    ...grantLines(s.grants, `SEQUENCE ${s.name}`),
    ...comment(`SEQUENCE ${s.name}`, s.comment),
    '',
  ]);
}

async function functions(client: CatalogClient): Promise<string[]> {
  const { rows } = await client.query<{ signature: string; kind: string; definition: string; owner: string; grants: string | null; comment: string | null }>(`
    SELECT pg_catalog.format('%I.%I(%s)', n.nspname, p.proname, pg_catalog.pg_get_function_identity_arguments(p.oid)) AS signature,
           CASE p.prokind WHEN 'p' THEN 'PROCEDURE' ELSE 'FUNCTION' END AS kind,
           pg_catalog.pg_get_functiondef(p.oid) AS definition, ${ROLE('p.proowner')} AS owner,
           ${grantsOf('p.proacl', 'f', 'p.proowner')} AS grants, pg_catalog.obj_description(p.oid, 'pg_proc') AS comment
      FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
     WHERE p.prokind IN ('f', 'p') AND ${EXCLUDED_SCHEMAS} AND ${notFromExtension('pg_proc', 'p.oid')}
     ORDER BY n.nspname COLLATE "C", p.proname COLLATE "C", pg_catalog.pg_get_function_identity_arguments(p.oid) COLLATE "C"`);
  return rows.flatMap((f) => [
    `${f.definition.trimEnd()};`,
    ...ownerLine(`${f.kind} ${f.signature}`, f.owner),
    ...grantLines(f.grants, `${f.kind} ${f.signature}`),
    ...comment(`${f.kind} ${f.signature}`, f.comment),
    '',
  ]);
}

/** What objects get when they are created (ALTER DEFAULT PRIVILEGES), as the grants they start with. */
async function defaultPrivileges(client: CatalogClient): Promise<string[]> {
  const { rows } = await client.query<{ line: string }>(`
    SELECT '-- ' || ${ROLE('d.defaclrole')} || ' creates ' || CASE d.defaclobjtype WHEN 'r' THEN 'tables' WHEN 'S' THEN 'sequences'
             WHEN 'f' THEN 'functions' WHEN 'T' THEN 'types' WHEN 'n' THEN 'schemas' ELSE d.defaclobjtype::text END
             || COALESCE(' in schema ' || pg_catalog.quote_ident(n.nspname), '') || ' with: '
             || COALESCE((SELECT pg_catalog.string_agg(a.privilege_type || ' TO ' || ${ROLE('a.grantee')}, ', '
                                 ORDER BY a.privilege_type COLLATE "C", ${ROLE('a.grantee')} COLLATE "C")
                            FROM pg_catalog.aclexplode(d.defaclacl) a WHERE a.grantee <> d.defaclrole), 'no grants') AS line
      FROM pg_catalog.pg_default_acl d LEFT JOIN pg_catalog.pg_namespace n ON n.oid = d.defaclnamespace`);
  return rows.map((r) => r.line).sort().concat(rows.length > 0 ? [''] : []);
}

/** Reads the catalog; every query runs in one read-only transaction with a search path of `public` alone. */
async function read(client: CatalogClient): Promise<Described> {
  await client.query('BEGIN READ ONLY');
  try {
    // Names outside public read schema-qualified, whatever the session's own search path.
    await client.query("SELECT pg_catalog.set_config('search_path', 'public', true)");
    return {
      roles: await roles(client),
      extensions: await extensions(client),
      schemas: await schemas(client),
      types: await types(client),
      tables: await tables(client),
      views: await views(client),
      sequences: await sequences(client),
      functions: await functions(client),
      defaultPrivileges: await defaultPrivileges(client),
    };
  } finally {
    await client.query('ROLLBACK');
  }
}

/** The schema of the database `client` is connected to, as SQL text (see the header). */
export async function describeSchema(client: CatalogClient): Promise<string> {
  const d = await read(client);
  const section = (title: string, lines: readonly string[]) => (lines.length === 0 ? [] : [`-- ${title}`, '', ...lines]);
  const lines = [
    ...section('Roles', d.roles),
    ...section('Extensions', d.extensions),
    ...section('Schemas', d.schemas),
    ...section('Types', d.types),
    ...section('Tables, each with its indexes, grants, policies and triggers', d.tables),
    ...section('Views', d.views),
    ...section('Sequences', d.sequences),
    ...section('Functions', d.functions),
    ...section('Default privileges', d.defaultPrivileges),
  ];
  return `${lines.join('\n').trimEnd()}\n`;
}
