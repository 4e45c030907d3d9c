/**
 * The schema of a database as SQL text, read from its catalog: roles (but the system's and the session user)
 * and their memberships, extensions, schemas, types, tables with their columns, constraints, indexes, row level
 * security, policies, triggers and grants, views, sequences, functions with their definition, owner and grants,
 * default privileges, comments. Sorted by name, so the same database always reads the same, and two databases
 * can be compared line by line. The migration runner's own schema (`migration_history`) is left out.
 *
 * Owners and grantees that are the migrating user (the owner of the runner's history schema, else the session user:
 * `postgres` in the embedded database, the master user on Aurora) read `CURRENT_USER`, so a database read through
 * another login (CI's) reads the same. It only reads, in one read-only transaction; it needs a client that runs a
 * statement and returns rows (a `pg.Client`, PGlite, the runner's SqlClient, a Data API transaction). Queries
 * return text, numbers and booleans only, which every one of those returns alike.
 *
 * `readSchema` returns the objects with their parts (columns, grants, policies…), each named, for comparing two
 * databases (drift.ts); `describeSchema` renders them as the SQL text of schema.sql.
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

/** The migrating user: the owner of the runner's history schema, else (before any migration) the session user. */
const MIGRATOR = `COALESCE((SELECT h.nspowner FROM pg_catalog.pg_namespace h WHERE h.nspname = 'migration_history'),
                           (SELECT s.oid FROM pg_catalog.pg_roles s WHERE s.rolname = session_user))`;

/** A role name as SQL: the migrating user as CURRENT_USER, PUBLIC for the pseudo-role 0, else quoted. */
const ROLE = (oid: string) =>
  `CASE WHEN ${oid} = 0 THEN 'PUBLIC' WHEN ${oid} = ${MIGRATOR} THEN 'CURRENT_USER' ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(${oid})) END`;

/** Roles that are the system's or the cloud's, never the schema's: pg_*, rds* (Aurora), and PGlite's superuser. */
const SYSTEM_ROLE = (name: string) => `(${name} ~ '^(pg_|rds)' OR ${name} = 'postgres')`;

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

/** What a described object is. */
export type ObjectKind = 'role' | 'extension' | 'schema' | 'type' | 'table' | 'view' | 'sequence' | 'function' | 'default privileges';

/** What a part of an object is. */
export type PartKind =
  | 'definition'
  | 'attributes'
  | 'body'
  | 'setting'
  | 'member'
  | 'member of'
  | 'column'
  | 'constraint'
  | 'owner'
  | 'row level security'
  | 'index'
  | 'grant'
  | 'column grant'
  | 'policy'
  | 'trigger'
  | 'comment';

/** One statement (or one clause of CREATE TABLE) of an object, named so that two databases' can be paired. */
export interface SchemaPart {
  readonly kind: PartKind;
  /** Unique among the object's parts of this kind: a column's, grantee's, policy's name… */
  readonly name: string;
  /** As schema.sql shows it. */
  readonly sql: string;
  /** For a `member` part: whether the member is a LOGIN role (a login of the deploy, not the schema's). */
  readonly memberLogs?: boolean;
}

/** One object of the schema: a role, a table with everything on it, a function… */
export interface SchemaObject {
  readonly kind: ObjectKind;
  /** Schema-qualified where it has a schema; a function with its argument types. */
  readonly name: string;
  readonly parts: readonly SchemaPart[];
}

const part = (kind: PartKind, name: string, sql: string): SchemaPart => ({ kind, name, sql });
const comment = (what: string, text: string | null, name = 'comment') => (text === null ? [] : [part('comment', name, `COMMENT ON ${what} IS ${literal(text)};`)]);
const grantParts = (grants: string | null, on: string) =>
  grants ? grants.split('\n').map((g) => part('grant', g.split(' TO ')[1].replace(/ WITH GRANT OPTION$/, ''), `GRANT ${g.replace(' TO ', ` ON ${on} TO `)};`)) : [];
const ownerPart = (what: string, owner: string) => (owner === 'CURRENT_USER' ? [] : [part('owner', 'owner', `ALTER ${what} OWNER TO ${owner};`)]);

async function roles(client: CatalogClient): Promise<SchemaObject[]> {
  const { rows } = await client.query<{ name: string; attributes: string; config: string | null; comment: string | null }>(`
    SELECT pg_catalog.quote_ident(r.rolname) AS name,
           concat_ws(' ', CASE WHEN r.rolcanlogin THEN 'LOGIN' ELSE 'NOLOGIN' END,
                          CASE WHEN r.rolsuper THEN 'SUPERUSER' END, CASE WHEN r.rolcreaterole THEN 'CREATEROLE' END,
                          CASE WHEN r.rolcreatedb THEN 'CREATEDB' END, CASE WHEN NOT r.rolinherit THEN 'NOINHERIT' END,
                          CASE WHEN r.rolbypassrls THEN 'BYPASSRLS' END, CASE WHEN r.rolreplication THEN 'REPLICATION' END) AS attributes,
           pg_catalog.array_to_string(r.rolconfig, E'\\n') AS config,
           pg_catalog.shobj_description(r.oid, 'pg_authid') AS comment
      FROM pg_catalog.pg_roles r
     WHERE NOT ${SYSTEM_ROLE('r.rolname')} AND r.rolname <> session_user AND r.oid <> ${MIGRATOR}
     ORDER BY r.rolname COLLATE "C"`);
  // One row per member and group, whoever granted it (PostgreSQL 16+ keeps one per grantor).
  const members = await client.query<{ role: string; member: string; admin: boolean; login: boolean }>(`
    SELECT pg_catalog.quote_ident(g.rolname) AS role, ${ROLE('m.member')} AS member,
           pg_catalog.bool_or(m.admin_option) AS admin, pg_catalog.bool_or(r.rolcanlogin) AS login
      FROM pg_catalog.pg_auth_members m
      JOIN pg_catalog.pg_roles g ON g.oid = m.roleid
      JOIN pg_catalog.pg_roles r ON r.oid = m.member
     GROUP BY g.rolname, m.member`);
  // Sorted here, by code point as COLLATE "C" would.
  const sorted = [...members.rows].sort((a, b) => (a.member < b.member ? -1 : a.member > b.member ? 1 : 0));
  const byRole = new Map<string, typeof members.rows>();
  for (const m of sorted) byRole.set(m.role, [...(byRole.get(m.role) ?? []), m]);
  return rows.map((r) => ({
    kind: 'role',
    name: r.name,
    parts: [
      part('definition', r.name, `CREATE ROLE ${r.name} ${r.attributes};`),
      ...(r.config ? r.config.split('\n') : []).map((setting) => part('setting', setting.split('=')[0], `ALTER ROLE ${r.name} SET ${setting.replace('=', ' = ')};`)),
      ...(byRole.get(r.name) ?? []).map((m) => ({
        ...part('member', m.member, `GRANT ${r.name} TO ${m.member}${m.admin ? ' WITH ADMIN OPTION' : ''};`),
        memberLogs: m.login,
      })),
      // Membership in roles described nowhere else (pg_read_all_data, rds_superuser…) is power all the same.
      ...sorted
        .filter((m) => m.member === r.name && !rows.some((o) => o.name === m.role))
        .sort((a, b) => (a.role < b.role ? -1 : 1))
        .map((m) => part('member of', m.role, `GRANT ${m.role} TO ${r.name}${m.admin ? ' WITH ADMIN OPTION' : ''};`)),
      ...comment(`ROLE ${r.name}`, r.comment),
    ],
  }));
}

async function extensions(client: CatalogClient): Promise<SchemaObject[]> {
  const { rows } = await client.query<{ name: string; line: string }>(`
    SELECT pg_catalog.quote_ident(e.extname) AS name,
           'CREATE EXTENSION ' || pg_catalog.quote_ident(e.extname) || ' WITH SCHEMA ' || pg_catalog.quote_ident(n.nspname) || ';' AS line
      FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
     WHERE e.extname <> 'plpgsql'
     ORDER BY e.extname COLLATE "C"`);
  return rows.map((r) => ({ kind: 'extension', name: r.name, parts: [part('definition', r.name, r.line)] }));
}

async function schemas(client: CatalogClient): Promise<SchemaObject[]> {
  const { rows } = await client.query<{ name: string; owner: string; grants: string | null; comment: string | null }>(`
    SELECT pg_catalog.quote_ident(n.nspname) AS name, ${ROLE('n.nspowner')} AS owner,
           ${grantsOf('n.nspacl', 'n', 'n.nspowner')} AS grants, pg_catalog.obj_description(n.oid, 'pg_namespace') AS comment
      FROM pg_catalog.pg_namespace n
     WHERE ${EXCLUDED_SCHEMAS} AND ${notFromExtension('pg_namespace', 'n.oid')}
     ORDER BY n.nspname COLLATE "C"`);
  return rows.map((r) => ({
    kind: 'schema',
    name: r.name,
    parts: [
      ...(r.name === 'public' ? [] : [part('definition', r.name, `CREATE SCHEMA ${r.name};`)]),
      ...ownerPart(`SCHEMA ${r.name}`, r.owner),
      ...grantParts(r.grants, `SCHEMA ${r.name}`),
      ...(r.name === 'public' ? [] : comment(`SCHEMA ${r.name}`, r.comment)),
    ],
  }));
}

/** Enums and domains (composite types of tables are their tables). */
async function types(client: CatalogClient): Promise<SchemaObject[]> {
  const { rows } = await client.query<{ name: string; line: string }>(`
    SELECT pg_catalog.format('%I.%I', n.nspname, t.typname) AS name,
           CASE t.typtype
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
  return rows.map((r) => ({ kind: 'type', name: r.name, parts: [part('definition', r.name, r.line)] }));
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

/** What ALTER TABLE … {ENABLE|DISABLE} TRIGGER reads as, by pg_trigger.tgenabled ('O', the default, reads as nothing). */
const TRIGGER_STATE: Record<string, string> = { D: 'DISABLE TRIGGER', R: 'ENABLE REPLICA TRIGGER', A: 'ENABLE ALWAYS TRIGGER' };

async function tables(client: CatalogClient): Promise<SchemaObject[]> {
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
  const constraints = await client.query<{ table_oid: number; name: string; line: string }>(`
    SELECT c.conrelid::int AS table_oid, pg_catalog.quote_ident(c.conname) AS name,
           'CONSTRAINT ' || pg_catalog.quote_ident(c.conname) || ' ' || pg_catalog.pg_get_constraintdef(c.oid, true) AS line
      FROM pg_catalog.pg_constraint c
     WHERE c.conrelid <> 0 AND c.contype <> 'n'
     ORDER BY c.conrelid, c.conname COLLATE "C"`);
  const indexes = await client.query<{ table_oid: number; name: string; line: string }>(`
    SELECT i.indrelid::int AS table_oid, pg_catalog.quote_ident(ic.relname) AS name, pg_catalog.pg_get_indexdef(i.indexrelid) || ';' AS line
      FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
     WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint c WHERE c.conindid = i.indexrelid AND c.contype IN ('p', 'u', 'x'))
     ORDER BY i.indrelid, ic.relname COLLATE "C"`);
  const policies = await client.query<{ table_oid: number; name: string; line: string }>(`
    SELECT p.polrelid::int AS table_oid, pg_catalog.quote_ident(p.polname) AS name,
           'CREATE POLICY ' || pg_catalog.quote_ident(p.polname) || ' ON ' || pg_catalog.format('%I.%I', n.nspname, c.relname)
             || CASE WHEN p.polpermissive THEN '' ELSE ' AS RESTRICTIVE' END
             || ' FOR ' || CASE p.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE' WHEN 'd' THEN 'DELETE' ELSE 'ALL' END
             || ' TO ' || (SELECT pg_catalog.string_agg(${ROLE('r.role')}, ', ' ORDER BY ${ROLE('r.role')} COLLATE "C") FROM pg_catalog.unnest(p.polroles) AS r(role))
             || COALESCE(E'\\n    USING (' || pg_catalog.pg_get_expr(p.polqual, p.polrelid) || ')', '')
             || COALESCE(E'\\n    WITH CHECK (' || pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid) || ')', '') || ';' AS line
      FROM pg_catalog.pg_policy p JOIN pg_catalog.pg_class c ON c.oid = p.polrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     ORDER BY p.polrelid, p.polname COLLATE "C"`);
  const triggers = await client.query<{ table_oid: number; name: string; line: string; enabled: string }>(`
    SELECT t.tgrelid::int AS table_oid, pg_catalog.quote_ident(t.tgname) AS name, pg_catalog.pg_get_triggerdef(t.oid, true) || ';' AS line,
           t.tgenabled::text AS enabled
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

  return relations.rows.map((t) => {
    const cols = columnsOf.get(t.oid) ?? [];
    const columnGrants = cols.flatMap((c) => (c.grants ? c.grants.split('\n').map((g) => ({ column: c.name, grant: g })) : []));
    // Column grants read as one statement per privilege and grantee, listing its columns.
    const grouped = new Map<string, string[]>();
    for (const { column, grant } of columnGrants) grouped.set(grant, [...(grouped.get(grant) ?? []), column]);
    return {
      kind: 'table' as const,
      name: t.name,
      parts: [
        ...cols.map((c) => part('column', c.name, c.definition)),
        ...(constraintsOf.get(t.oid) ?? []).map((c) => part('constraint', c.name, c.line)),
        ...ownerPart(`TABLE ${t.name}`, t.owner),
        ...(t.rls ? [part('row level security', 'enabled', `ALTER TABLE ${t.name} ENABLE ROW LEVEL SECURITY;`)] : []),
        ...(t.force_rls ? [part('row level security', 'forced', `ALTER TABLE ${t.name} FORCE ROW LEVEL SECURITY;`)] : []),
        ...(indexesOf.get(t.oid) ?? []).map((i) => part('index', i.name, i.line)),
        ...grantParts(t.grants, `TABLE ${t.name}`),
        ...[...grouped].sort(([a], [b]) => (a < b ? -1 : 1)).map(([grant, cols]) => {
          const [privilege, grantee] = grant.split(' TO ');
          return part('column grant', grant, `GRANT ${privilege} (${cols.join(', ')}) ON TABLE ${t.name} TO ${grantee};`);
        }),
        ...(policiesOf.get(t.oid) ?? []).map((p) => part('policy', p.name, p.line)),
        ...(triggersOf.get(t.oid) ?? []).map((tr) =>
          part('trigger', tr.name, TRIGGER_STATE[tr.enabled] ? `${tr.line}\nALTER TABLE ${t.name} ${TRIGGER_STATE[tr.enabled]} ${tr.name};` : tr.line),
        ),
        ...comment(`TABLE ${t.name}`, t.comment),
        ...cols.flatMap((c) => comment(`COLUMN ${t.name}.${c.name}`, c.comment, c.name)),
      ],
    };
  });
}

async function views(client: CatalogClient): Promise<SchemaObject[]> {
  const { rows } = await client.query<RelationRow & { kind: string; definition: string }>(`
    SELECT c.oid::int AS oid, pg_catalog.format('%I.%I', n.nspname, c.relname) AS name, ${ROLE('c.relowner')} AS owner, c.relkind::text AS kind,
           pg_catalog.pg_get_viewdef(c.oid, true) AS definition,
           ${grantsOf('c.relacl', 'r', 'c.relowner')} AS grants, pg_catalog.obj_description(c.oid, 'pg_class') AS comment
      FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('v', 'm') AND ${EXCLUDED_SCHEMAS} AND ${notFromExtension('pg_class', 'c.oid')}
     ORDER BY n.nspname COLLATE "C", c.relname COLLATE "C"`);
  return rows.map((v) => {
    const what = v.kind === 'm' ? 'MATERIALIZED VIEW' : 'VIEW';
    return {
      kind: 'view' as const,
      name: v.name,
      parts: [
        part('definition', v.name, `CREATE ${what} ${v.name} AS\n${v.definition.replace(/;?\s*$/, ';')}`),
        ...ownerPart(`${what} ${v.name}`, v.owner),
        ...grantParts(v.grants, `TABLE ${v.name}`),
        ...comment(`${what} ${v.name}`, v.comment),
      ],
    };
  });
}

/** Sequences of their own (not those of identity columns). */
async function sequences(client: CatalogClient): Promise<SchemaObject[]> {
  const { rows } = await client.query<RelationRow>(`
    SELECT c.oid::int AS oid, pg_catalog.format('%I.%I', n.nspname, c.relname) AS name, ${ROLE('c.relowner')} AS owner,
           ${grantsOf('c.relacl', 's', 'c.relowner')} AS grants, pg_catalog.obj_description(c.oid, 'pg_class') AS comment
      FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind = 'S' AND ${EXCLUDED_SCHEMAS} AND ${notFromExtension('pg_class', 'c.oid')}
       AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'i')
     ORDER BY n.nspname COLLATE "C", c.relname COLLATE "C"`);
  return rows.map((s) => ({
    kind: 'sequence',
    name: s.name,
    parts: [
      part('definition', s.name, `CREATE SEQUENCE ${s.name};`),
      ...ownerPart(`SEQUENCE ${s.name}`, s.owner),
      ...grantParts(s.grants, `SEQUENCE ${s.name}`),
      ...comment(`SEQUENCE ${s.name}`, s.comment),
    ],
  }));
}

/**
 * pg_get_functiondef's text as two parts: its attributes (the header: arguments, result, language, volatility,
 * SECURITY DEFINER, SET clauses; every line after the first starts with a space) and its body (from `AS`,
 * `RETURN` or `BEGIN ATOMIC` on).
 */
function splitFunctionDefinition(definition: string): { attributes: string; body: string } {
  const lines = definition.trimEnd().split('\n');
  const start = lines.findIndex((line, i) => i > 0 && !line.startsWith(' '));
  const at = start < 0 ? lines.length : start;
  return { attributes: lines.slice(0, at).join('\n'), body: `${lines.slice(at).join('\n')};` };
}

async function functions(client: CatalogClient): Promise<SchemaObject[]> {
  const { rows } = await client.query<{ signature: string; kind: string; definition: string; owner: string; grants: string | null; comment: string | null }>(`
    SELECT pg_catalog.format('%I.%I(%s)', n.nspname, p.proname, pg_catalog.pg_get_function_identity_arguments(p.oid)) AS signature,
           CASE p.prokind WHEN 'p' THEN 'PROCEDURE' ELSE 'FUNCTION' END AS kind,
           pg_catalog.pg_get_functiondef(p.oid) AS definition, ${ROLE('p.proowner')} AS owner,
           ${grantsOf('p.proacl', 'f', 'p.proowner')} AS grants, pg_catalog.obj_description(p.oid, 'pg_proc') AS comment
      FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
     WHERE p.prokind IN ('f', 'p') AND ${EXCLUDED_SCHEMAS} AND ${notFromExtension('pg_proc', 'p.oid')}
     ORDER BY n.nspname COLLATE "C", p.proname COLLATE "C", pg_catalog.pg_get_function_identity_arguments(p.oid) COLLATE "C"`);
  return rows.map((f) => {
    const { attributes, body } = splitFunctionDefinition(f.definition);
    return {
      kind: 'function' as const,
      name: f.signature,
      parts: [
        part('attributes', f.signature, attributes),
        part('body', f.signature, body),
        ...ownerPart(`${f.kind} ${f.signature}`, f.owner),
        ...grantParts(f.grants, `${f.kind} ${f.signature}`),
        ...comment(`${f.kind} ${f.signature}`, f.comment),
      ],
    };
  });
}

/** What objects get when they are created (ALTER DEFAULT PRIVILEGES), as the grants they start with. */
async function defaultPrivileges(client: CatalogClient): Promise<SchemaObject[]> {
  const { rows } = await client.query<{ name: string; grants: string }>(`
    SELECT ${ROLE('d.defaclrole')} || ' creates ' || CASE d.defaclobjtype WHEN 'r' THEN 'tables' WHEN 'S' THEN 'sequences'
             WHEN 'f' THEN 'functions' WHEN 'T' THEN 'types' WHEN 'n' THEN 'schemas' ELSE d.defaclobjtype::text END
             || COALESCE(' in schema ' || pg_catalog.quote_ident(n.nspname), '') AS name,
           COALESCE((SELECT pg_catalog.string_agg(a.privilege_type || ' TO ' || ${ROLE('a.grantee')}, ', '
                            ORDER BY a.privilege_type COLLATE "C", ${ROLE('a.grantee')} COLLATE "C")
                       FROM pg_catalog.aclexplode(d.defaclacl) a WHERE a.grantee <> d.defaclrole), 'no grants') AS grants
      FROM pg_catalog.pg_default_acl d LEFT JOIN pg_catalog.pg_namespace n ON n.oid = d.defaclnamespace
     WHERE d.defaclrole = ${MIGRATOR} OR NOT ${SYSTEM_ROLE('pg_catalog.pg_get_userbyid(d.defaclrole)')}`);
  return rows
    .map((r) => ({ name: r.name, line: `-- ${r.name} with: ${r.grants}` }))
    .sort((a, b) => (a.line < b.line ? -1 : a.line > b.line ? 1 : 0))
    .map((r) => ({ kind: 'default privileges' as const, name: r.name, parts: [part('definition', r.name, r.line)] }));
}

/**
 * The schema's objects, read from the catalog in one read-only transaction with a search path of `public` alone,
 * in the order schema.sql shows them.
 */
export async function readSchema(client: CatalogClient): Promise<SchemaObject[]> {
  await client.query('BEGIN READ ONLY');
  try {
    // Names outside public read schema-qualified, whatever the session's own search path.
    await client.query("SELECT pg_catalog.set_config('search_path', 'public', true)");
    return [
      ...(await roles(client)),
      ...(await extensions(client)),
      ...(await schemas(client)),
      ...(await types(client)),
      ...(await tables(client)),
      ...(await views(client)),
      ...(await sequences(client)),
      ...(await functions(client)),
      ...(await defaultPrivileges(client)),
    ];
  } finally {
    await client.query('ROLLBACK');
  }
}

/** Section titles of schema.sql; a compact section has no blank line between its objects. */
const SECTIONS: ReadonlyArray<{ kind: ObjectKind; title: string; compact?: boolean }> = [
  { kind: 'role', title: 'Roles' },
  { kind: 'extension', title: 'Extensions', compact: true },
  { kind: 'schema', title: 'Schemas' },
  { kind: 'type', title: 'Types', compact: true },
  { kind: 'table', title: 'Tables, each with its indexes, grants, policies and triggers' },
  { kind: 'view', title: 'Views' },
  { kind: 'sequence', title: 'Sequences' },
  { kind: 'function', title: 'Functions' },
  { kind: 'default privileges', title: 'Default privileges', compact: true },
];

/** An object's statements; a table's columns and constraints go inside its CREATE TABLE. */
function render(object: SchemaObject): string[] {
  if (object.kind === 'function') {
    const attributes = object.parts.find((p) => p.kind === 'attributes')!;
    const body = object.parts.find((p) => p.kind === 'body')!;
    return [`${attributes.sql}\n${body.sql}`, ...object.parts.filter((p) => p !== attributes && p !== body).map((p) => p.sql)];
  }
  if (object.kind !== 'table') return object.parts.map((p) => p.sql);
  const body = object.parts.filter((p) => p.kind === 'column' || p.kind === 'constraint');
  return [
    `CREATE TABLE ${object.name} (`,
    ...body.map((p, i) => `    ${p.sql}${i < body.length - 1 ? ',' : ''}`),
    ');',
    ...object.parts.filter((p) => p.kind !== 'column' && p.kind !== 'constraint').map((p) => p.sql),
  ];
}

/** The objects as SQL text (schema.sql's body). */
export function renderSchema(objects: readonly SchemaObject[]): string {
  const lines = SECTIONS.flatMap(({ kind, title, compact }) => {
    const blocks = objects.filter((o) => o.kind === kind).map(render);
    if (blocks.length === 0) return [];
    return [`-- ${title}`, '', ...(compact ? [...blocks.flat(), ''] : blocks.flatMap((b) => [...b, '']))];
  });
  return `${lines.join('\n').trimEnd()}\n`;
}

/** The schema of the database `client` is connected to, as SQL text (see the header). */
export async function describeSchema(client: CatalogClient): Promise<string> {
  return renderSchema(await readSchema(client));
}
