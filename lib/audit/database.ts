/**
 * The isolation posture of the database, for the audit: the wall between tenants is in the schema, so the report
 * shows it as the migrations build it. The migrations are applied to an empty embedded database (PGlite; no AWS,
 * no server) and its catalog is read: per table, row level security (enabled, forced) and its policies per
 * command and role; per function, owner, SECURITY DEFINER, pinned search_path and who may execute it; per role,
 * its attributes, memberships and table and column privileges.
 *
 * It fails when
 * - a table holding `organization_id` or `user_id` lacks enabled and forced row level security;
 * - a SECURITY DEFINER function lacks a pinned search_path ending in pg_temp;
 * - an application role (any role the migrations create) can bypass RLS: BYPASSRLS or SUPERUSER, its own or of a
 *   role it is a member of;
 * - PUBLIC may execute a function of the schema (extension members keep what they ship with).
 */
import type { SqlFileSource } from '../../lambda/migrator';
import type { CatalogClient } from '../schema/describe';
import { withMigratedDatabase } from '../schema/generate';

export type DatabaseFailureKind = 'table-without-forced-rls' | 'definer-without-pinned-search-path' | 'role-bypasses-rls' | 'public-executes-function';

/** One reason the database fails the audit. */
export interface DatabaseFailure {
  readonly kind: DatabaseFailureKind;
  /** The table, function or role. */
  readonly resource: string;
  readonly message: string;
}

export interface PolicyPosture {
  readonly name: string;
  readonly command: 'SELECT' | 'INSERT' | 'UPDATE' | 'DELETE' | 'ALL';
  readonly roles: string[];
  readonly permissive: boolean;
  readonly using?: string;
  readonly withCheck?: string;
}

export interface TablePosture {
  readonly table: string;
  readonly rlsEnabled: boolean;
  readonly rlsForced: boolean;
  /** Its columns among organization_id and user_id: what makes it a tenant table. */
  readonly tenantColumns: string[];
  readonly policies: PolicyPosture[];
}

export interface FunctionPosture {
  readonly function: string;
  /** `migrating user` for the role that ran the migrations (the master user on Aurora). */
  readonly owner: string;
  readonly securityDefiner: boolean;
  /** The pinned search_path, as SET; absent when none is pinned. */
  readonly searchPath?: string;
  /** Who may execute it besides its owner (PUBLIC included). */
  readonly executableBy: string[];
}

export interface TablePrivilege {
  readonly table: string;
  /** Privileges on the whole table. */
  readonly privileges: string[];
  /** Privileges on some columns only: `UPDATE (status, priority)`. */
  readonly columnPrivileges: string[];
}

export interface RolePosture {
  readonly role: string;
  /** LOGIN or NOLOGIN, and SUPERUSER, CREATEROLE, CREATEDB, NOINHERIT, BYPASSRLS, REPLICATION where set. */
  readonly attributes: string;
  readonly memberOf: string[];
  readonly tables: TablePrivilege[];
}

/** The database part of the audit report. */
export interface DatabaseAudit {
  /** What was read: the migrations and the engine. */
  readonly source: string;
  readonly passed: boolean;
  readonly failures: DatabaseFailure[];
  readonly tables: TablePosture[];
  readonly functions: FunctionPosture[];
  readonly roles: RolePosture[];
}

/** The schema's own objects: not the system's, not the runner's history, not an extension's. */
const OWN_SCHEMAS = `n.nspname NOT IN ('pg_catalog', 'information_schema', 'migration_history') AND n.nspname !~ '^pg_(toast|temp)'`;
const notFromExtension = (catalog: string, oid: string) =>
  `NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = '${catalog}'::regclass AND d.objid = ${oid} AND d.deptype = 'e')`;
const MIGRATOR = `(SELECT s.oid FROM pg_catalog.pg_roles s WHERE s.rolname = session_user)`;
const ROLE_NAME = (oid: string) =>
  `CASE WHEN ${oid} = 0 THEN 'PUBLIC' WHEN ${oid} = ${MIGRATOR} THEN 'migrating user' ELSE pg_catalog.pg_get_userbyid(${oid}) END`;
/** The roles the migrations create: everything but the system's, the cloud's and the migrating user. */
const SCHEMA_ROLE = (r: string) => `${r}.rolname !~ '^(pg_|rds)' AND ${r}.rolname <> 'postgres' AND ${r}.oid <> ${MIGRATOR}`;

const lines = (text: string | null) => (text ? text.split('\n') : []);

async function readTables(client: CatalogClient): Promise<TablePosture[]> {
  const tables = await client.query<{ name: string; rls: boolean; forced: boolean; tenant: string | null }>(`SELECT * FROM (
    SELECT pg_catalog.format('%I.%I', n.nspname, c.relname) AS name, c.relrowsecurity AS rls, c.relforcerowsecurity AS forced,
           (SELECT pg_catalog.string_agg(a.attname, E'\\n' ORDER BY a.attname COLLATE "C") FROM pg_catalog.pg_attribute a
             WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attname IN ('organization_id', 'user_id')) AS tenant
      FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'p') AND ${OWN_SCHEMAS} AND ${notFromExtension('pg_class', 'c.oid')}
    ) AS q ORDER BY q.name COLLATE "C"`);
  const policies = await client.query<{ table: string; name: string; command: PolicyPosture['command']; permissive: boolean; roles: string; using: string | null; with_check: string | null }>(`SELECT * FROM (
    SELECT pg_catalog.format('%I.%I', n.nspname, c.relname) AS table, p.polname AS name,
           CASE p.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE' WHEN 'd' THEN 'DELETE' ELSE 'ALL' END AS command,
           p.polpermissive AS permissive,
           (SELECT pg_catalog.string_agg(x.name, E'\\n' ORDER BY x.name COLLATE "C")
              FROM (SELECT ${ROLE_NAME('r.role')} AS name FROM pg_catalog.unnest(p.polroles) AS r(role)) x) AS roles,
           pg_catalog.pg_get_expr(p.polqual, p.polrelid) AS using, pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid) AS with_check
      FROM pg_catalog.pg_policy p JOIN pg_catalog.pg_class c ON c.oid = p.polrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    ) AS q ORDER BY q."table" COLLATE "C", q.name COLLATE "C"`);
  return tables.rows.map((t) => ({
    table: t.name,
    rlsEnabled: t.rls,
    rlsForced: t.forced,
    tenantColumns: lines(t.tenant),
    policies: policies.rows
      .filter((p) => p.table === t.name)
      .map((p) => ({
        name: p.name,
        command: p.command,
        roles: lines(p.roles),
        permissive: p.permissive,
        ...(p.using === null ? {} : { using: p.using }),
        ...(p.with_check === null ? {} : { withCheck: p.with_check }),
      })),
  }));
}

async function readFunctions(client: CatalogClient): Promise<FunctionPosture[]> {
  const { rows } = await client.query<{ name: string; owner: string; definer: boolean; search_path: string | null; executors: string | null }>(`SELECT * FROM (
    SELECT pg_catalog.format('%I.%I(%s)', n.nspname, p.proname, pg_catalog.pg_get_function_identity_arguments(p.oid)) AS name,
           ${ROLE_NAME('p.proowner')} AS owner, p.prosecdef AS definer,
           (SELECT pg_catalog.substr(c, pg_catalog.length('search_path=') + 1) FROM pg_catalog.unnest(p.proconfig) AS c WHERE c LIKE 'search_path=%') AS search_path,
           (SELECT pg_catalog.string_agg(x.name, E'\\n' ORDER BY x.name COLLATE "C")
              FROM (SELECT DISTINCT ${ROLE_NAME('a.grantee')} AS name
                      FROM pg_catalog.aclexplode(COALESCE(p.proacl, pg_catalog.acldefault('f', p.proowner))) a
                     WHERE a.privilege_type = 'EXECUTE' AND a.grantee <> p.proowner) x) AS executors
      FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
     WHERE p.prokind IN ('f', 'p') AND ${OWN_SCHEMAS} AND ${notFromExtension('pg_proc', 'p.oid')}
    ) AS q ORDER BY q.name COLLATE "C"`);
  return rows.map((f) => ({
    function: f.name,
    owner: f.owner,
    securityDefiner: f.definer,
    ...(f.search_path === null ? {} : { searchPath: f.search_path }),
    executableBy: lines(f.executors),
  }));
}

async function readRoles(client: CatalogClient): Promise<Array<RolePosture & { canBypassRls: string | null }>> {
  const roles = await client.query<{ name: string; attributes: string; member_of: string | null; bypass: string | null }>(`SELECT * FROM (
    SELECT r.rolname AS name,
           concat_ws(' ', CASE WHEN r.rolcanlogin THEN 'LOGIN' ELSE 'NOLOGIN' END,
                          CASE WHEN r.rolsuper THEN 'SUPERUSER' END, CASE WHEN r.rolcreaterole THEN 'CREATEROLE' END,
                          CASE WHEN r.rolcreatedb THEN 'CREATEDB' END, CASE WHEN NOT r.rolinherit THEN 'NOINHERIT' END,
                          CASE WHEN r.rolbypassrls THEN 'BYPASSRLS' END, CASE WHEN r.rolreplication THEN 'REPLICATION' END) AS attributes,
           (SELECT pg_catalog.string_agg(g.rolname, E'\\n' ORDER BY g.rolname COLLATE "C")
              FROM pg_catalog.pg_auth_members m JOIN pg_catalog.pg_roles g ON g.oid = m.roleid WHERE m.member = r.oid) AS member_of,
           -- BYPASSRLS and SUPERUSER are not inherited, but a member may SET ROLE to the role that has them.
           (SELECT pg_catalog.string_agg(b.rolname || CASE WHEN b.rolsuper THEN ' (SUPERUSER)' ELSE ' (BYPASSRLS)' END, ', ' ORDER BY b.rolname COLLATE "C")
              FROM pg_catalog.pg_roles b
             WHERE (b.rolsuper OR b.rolbypassrls) AND pg_catalog.pg_has_role(r.oid, b.oid, 'MEMBER')) AS bypass
      FROM pg_catalog.pg_roles r
     WHERE ${SCHEMA_ROLE('r')}
    ) AS q ORDER BY q.name COLLATE "C"`);
  const privileges = await client.query<{ grantee: string; table: string; privileges: string }>(`SELECT * FROM (
    SELECT ${ROLE_NAME('a.grantee')} AS grantee, pg_catalog.format('%I.%I', n.nspname, c.relname) AS table,
           pg_catalog.string_agg(a.privilege_type, E'\\n' ORDER BY a.privilege_type COLLATE "C") AS privileges
      FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace,
           pg_catalog.aclexplode(COALESCE(c.relacl, pg_catalog.acldefault('r', c.relowner))) a
     WHERE c.relkind IN ('r', 'p', 'v', 'm') AND ${OWN_SCHEMAS} AND ${notFromExtension('pg_class', 'c.oid')} AND a.grantee <> c.relowner
     GROUP BY 1, 2
    ) AS q ORDER BY q.grantee COLLATE "C", q."table" COLLATE "C"`);
  const columnPrivileges = await client.query<{ grantee: string; table: string; privilege: string }>(`SELECT * FROM (
    SELECT x.grantee, x.table, x.privilege_type || ' (' || pg_catalog.string_agg(x.column, ', ' ORDER BY x.attnum) || ')' AS privilege
      FROM (SELECT ${ROLE_NAME('a.grantee')} AS grantee, pg_catalog.format('%I.%I', n.nspname, c.relname) AS table,
                   a.privilege_type, pg_catalog.quote_ident(att.attname) AS column, att.attnum
              FROM pg_catalog.pg_attribute att
              JOIN pg_catalog.pg_class c ON c.oid = att.attrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace,
                   pg_catalog.aclexplode(att.attacl) a
             WHERE att.attnum > 0 AND NOT att.attisdropped AND ${OWN_SCHEMAS}) x
     GROUP BY x.grantee, x.table, x.privilege_type
    ) AS q ORDER BY q.grantee COLLATE "C", q."table" COLLATE "C", q.privilege COLLATE "C"`);
  const grantees = [...new Set([...privileges.rows, ...columnPrivileges.rows].map((p) => p.grantee))];
  const roleNames = roles.rows.map((r) => r.name);
  // PUBLIC (and any grantee that is not a schema role) shows as a role of its own: what it may do counts too.
  const others = grantees.filter((g) => !roleNames.includes(g)).sort();
  const tablesOf = (role: string): TablePrivilege[] => {
    const tables = [...new Set([...privileges.rows, ...columnPrivileges.rows].filter((p) => p.grantee === role).map((p) => p.table))].sort();
    return tables.map((table) => ({
      table,
      privileges: lines(privileges.rows.find((p) => p.grantee === role && p.table === table)?.privileges ?? null),
      columnPrivileges: columnPrivileges.rows.filter((p) => p.grantee === role && p.table === table).map((p) => p.privilege),
    }));
  };
  return [
    ...roles.rows.map((r) => ({ role: r.name, attributes: r.attributes, memberOf: lines(r.member_of), tables: tablesOf(r.name), canBypassRls: r.bypass })),
    ...others.map((g) => ({ role: g, attributes: g === 'PUBLIC' ? 'every role' : '', memberOf: [], tables: tablesOf(g), canBypassRls: null })),
  ];
}

/** The search_path elements of a SET clause value (`pg_catalog, public, pg_temp`, quoted or not). */
export function searchPathElements(value: string): string[] {
  return value.split(',').map((e) => e.trim().replace(/^"(.*)"$/, '$1'));
}

/** The failures of a posture (pure, so tests can feed any). */
export function databaseFailures(posture: Pick<DatabaseAudit, 'tables' | 'functions'> & { roles: Array<RolePosture & { canBypassRls?: string | null }> }): DatabaseFailure[] {
  const failures: DatabaseFailure[] = [];
  for (const t of posture.tables.filter((t) => t.tenantColumns.length > 0 && !(t.rlsEnabled && t.rlsForced))) {
    const missing = [t.rlsEnabled ? '' : 'enabled', t.rlsForced ? '' : 'forced'].filter(Boolean).join(' nor ');
    failures.push({
      kind: 'table-without-forced-rls',
      resource: t.table,
      message: `${t.table} holds ${t.tenantColumns.join(' and ')} but its row level security is not ${missing}`,
    });
  }
  for (const f of posture.functions.filter((f) => f.securityDefiner)) {
    const path = f.searchPath === undefined ? undefined : searchPathElements(f.searchPath);
    if (path && path.at(-1) === 'pg_temp') continue;
    failures.push({
      kind: 'definer-without-pinned-search-path',
      resource: f.function,
      message: path
        ? `SECURITY DEFINER function ${f.function} pins search_path ${f.searchPath}, which does not end in pg_temp`
        : `SECURITY DEFINER function ${f.function} pins no search_path: it resolves names through its caller's`,
    });
  }
  for (const r of posture.roles.filter((r) => r.canBypassRls)) {
    failures.push({ kind: 'role-bypasses-rls', resource: r.role, message: `application role ${r.role} can bypass row level security: ${r.canBypassRls}` });
  }
  for (const f of posture.functions.filter((f) => f.executableBy.includes('PUBLIC'))) {
    failures.push({ kind: 'public-executes-function', resource: f.function, message: `PUBLIC may execute ${f.function}` });
  }
  return failures.sort((a, b) => (a.kind + a.resource < b.kind + b.resource ? -1 : a.kind + a.resource > b.kind + b.resource ? 1 : 0));
}

/** The posture of the database `client` is connected to, read in one read-only transaction. */
export async function readDatabasePosture(client: CatalogClient, source: string): Promise<DatabaseAudit> {
  await client.query('BEGIN READ ONLY');
  try {
    await client.query("SELECT pg_catalog.set_config('search_path', 'public', true)");
    const tables = await readTables(client);
    const functions = await readFunctions(client);
    const rolesWithBypass = await readRoles(client);
    const failures = databaseFailures({ tables, functions, roles: rolesWithBypass });
    const roles = rolesWithBypass.map(({ canBypassRls: _bypass, ...role }) => role);
    return { source, passed: failures.length === 0, failures, tables, functions, roles };
  } finally {
    await client.query('ROLLBACK');
  }
}

/**
 * The posture the migrations in `migrations` build: applied to an empty embedded database, then read.
 * `described` names them in the report (a directory relative to the project, never this machine's path).
 */
export function auditDatabase(migrations: SqlFileSource, described: string): Promise<DatabaseAudit> {
  return withMigratedDatabase(migrations, (db, { applied }) => {
    const files = applied.map((a) => a.path.split('/').at(-1));
    const range = files.length === 0 ? 'no migration' : `${files[0]} … ${files.at(-1)} (${files.length} files)`;
    return readDatabasePosture(db, `${described}: ${range}, applied to an empty embedded PostgreSQL (PGlite)`);
  });
}
