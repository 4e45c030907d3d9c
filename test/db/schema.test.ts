/**
 * The schema as a whole: the RLS self-test seed (passing, and failing when a policy is broken), portability
 * to the Aurora master user, the pgvector version guard, and structural rules every table must follow.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SCHEMA_GROUPS } from '../../lambda/migrate-handler/login-roles';
import type { EmbeddedDatabase } from '../../lib/local/pglite';
import { applyFile, MIGRATIONS_DIR, openFreshDatabase, openSeededDatabase, SEEDS_DIR } from '../support/embedded';
import { FUNCTIONS_EXECUTABLE_BY_PUBLIC, FUNCTIONS_WITHOUT_PG_TEMP_LAST, TENANT_INDEXES_NOT_LED_BY_ORGANIZATION } from '../support/schema-rules';

const TABLES = [
  'organizations', 'organization_members', 'organization_invitations', 'users', 'sessions', 'roles', 'permissions',
  'role_permissions', 'user_roles', 'agent_tasks', 'agent_results', 'audit_logs',
];
const ORG_SCOPED = [
  'organization_members', 'organization_invitations', 'roles', 'role_permissions', 'user_roles', 'agent_tasks', 'agent_results', 'audit_logs',
];
const migration = (name: string) => join(MIGRATIONS_DIR, name);
const RLS_TEST = join(SEEDS_DIR, '002_test_rls.sql');

describe('seeds/002_test_rls.sql', () => {
  let db: EmbeddedDatabase;
  beforeAll(async () => {
    db = await openSeededDatabase();
  });
  afterAll(async () => {
    await db.close();
  });

  const fingerprint = async () =>
    (await db.query<{ fp: string }>(`SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) AS fp FROM (
        SELECT 'o' || o::text AS t FROM organizations o UNION ALL SELECT 'a' || a::text FROM agent_tasks a
        UNION ALL SELECT 'l' || l::text FROM audit_logs l UNION ALL SELECT 's' || s::text FROM sessions s) x`)).rows[0].fp;

  test('passes on the seeded database, and leaves no trace', async () => {
    const before = await fingerprint();
    await applyFile(db, RLS_TEST);
    await applyFile(db, RLS_TEST);
    expect(await fingerprint()).toBe(before);
    expect((await db.query(`SELECT current_user AS u, current_setting('app.current_user_id', true) AS ctx`)).rows)
      .toEqual([{ u: 'postgres', ctx: '' }]);
  });

  test.each([
    ['a policy that shows every task', 'DROP POLICY agent_tasks_select ON agent_tasks; CREATE POLICY agent_tasks_select ON agent_tasks FOR SELECT TO app_user USING (true)', /Alice should see the 2 Acme tasks only/],
    ['an update policy without the permission check', 'DROP POLICY organizations_update ON organizations; CREATE POLICY organizations_update ON organizations FOR UPDATE TO app_user USING (id IN (SELECT tenancy.member_organization_ids()))', /Bob \(no organizations:update\) renamed Acme Corp/],
    ['sessions readable by everyone', 'DROP POLICY sessions_select ON sessions; CREATE POLICY sessions_select ON sessions FOR SELECT TO app_user USING (true)', /Bob can see Tech Startup data|Alice should see her own sessions/],
    ['RLS switched off on a table', 'ALTER TABLE agent_results DISABLE ROW LEVEL SECURITY', /Alice sees results, members or role grants outside Acme Corp/],
    ['grants that may escalate', 'DROP TRIGGER user_roles_refuse_escalation ON user_roles', /Alice \(org_admin\) granted herself super_admin/],
    ['memberships added without consent', 'ALTER POLICY organization_members_insert ON organization_members WITH CHECK (true)', /adding Diana gave/],
    ['sessions for disabled users', 'ALTER POLICY sessions_insert ON sessions WITH CHECK (user_id = (SELECT current_app_user_id()))', /disabled Bob opened a session/],
  ])('fails on %s', async (_what, sabotage, message) => {
    await db.exec('BEGIN');
    try {
      await db.exec(sabotage);
      await expect(db.exec(readFileSync(RLS_TEST, 'utf8'))).rejects.toThrow(message);
    } finally {
      await db.exec('ROLLBACK');
    }
  });

  test('refuses to run without the sample data', async () => {
    const empty = await openFreshDatabase();
    try {
      for (const file of ['001_extensions.sql', '002_core_schema.sql', '003_rls_policies.sql']) await applyFile(empty, migration(file));
      await expect(applyFile(empty, RLS_TEST)).rejects.toThrow(/needs the sample data/);
    } finally {
      await empty.close();
    }
  });
});

describe('portability', () => {
  test('the migrations after 001 and the seeds run as an Aurora-like master user (NOSUPERUSER, CREATEROLE, CREATEDB)', async () => {
    const db = await openFreshDatabase();
    try {
      // As on Aurora: rds_superuser creates the extensions; the master user owns the database.
      await applyFile(db, migration('001_extensions.sql'));
      await db.exec(`
        CREATE ROLE rds_superuser NOLOGIN;
        CREATE ROLE rds_master LOGIN NOSUPERUSER CREATEROLE CREATEDB NOREPLICATION NOBYPASSRLS IN ROLE rds_superuser;
        ALTER DATABASE postgres OWNER TO rds_master;
        SET ROLE rds_master;`);
      const [me] = (await db.query<Record<string, unknown>>(
        `SELECT rolsuper, rolcreaterole, rolcreatedb, rolbypassrls FROM pg_roles WHERE rolname = current_user`)).rows;
      expect(me).toEqual({ rolsuper: false, rolcreaterole: true, rolcreatedb: true, rolbypassrls: false });

      const files = readdirSync(MIGRATIONS_DIR).filter((f) => f.endsWith('.sql') && f !== '001_extensions.sql').sort();
      for (const file of files) await applyFile(db, migration(file));
      for (const file of ['001_sample_data.sql', '002_test_rls.sql']) await applyFile(db, join(SEEDS_DIR, file));

      const owners = (await db.query<{ owner: string; n: number }>(`
        SELECT pg_get_userbyid(relowner) AS owner, count(*)::int AS n FROM pg_class
         WHERE relnamespace = 'public'::regnamespace AND relkind = 'r' GROUP BY 1`)).rows;
      expect(owners).toEqual([{ owner: 'rds_master', n: TABLES.length }]);
      // The master user is subject to the policies too (FORCE): it reads through service_role's.
      expect((await db.query('SELECT count(*)::int AS n FROM organizations')).rows).toEqual([{ n: 3 }]);
    } finally {
      await db.close();
    }
  });
});

describe('001_extensions.sql', () => {
  test('creates the five extensions', async () => {
    const db = await openFreshDatabase();
    try {
      await applyFile(db, migration('001_extensions.sql'));
      const names = (await db.query<{ extname: string }>('SELECT extname FROM pg_extension ORDER BY extname')).rows.map((r) => r.extname);
      expect(names).toEqual(expect.arrayContaining(['btree_gist', 'citext', 'pgcrypto', 'uuid-ossp', 'vector']));
    } finally {
      await db.close();
    }
  });

  test('refuses pgvector older than 0.5.0 with a clear message, before any table exists', async () => {
    const db = await openFreshDatabase();
    try {
      // Pretend an old pgvector is installed.
      await db.exec(`CREATE EXTENSION vector; UPDATE pg_extension SET extversion = '0.4.4' WHERE extname = 'vector'`);
      await expect(applyFile(db, migration('001_extensions.sql'))).rejects.toThrow(
        /pgvector 0\.4\.4 is installed, but this schema needs pgvector 0\.5\.0 or newer/,
      );
      await db.exec(`UPDATE pg_extension SET extversion = '0.5.0' WHERE extname = 'vector'`);
      await expect(applyFile(db, migration('001_extensions.sql'))).resolves.toBeUndefined();
    } finally {
      await db.close();
    }
  });
});

describe('structure', () => {
  let db: EmbeddedDatabase;
  beforeAll(async () => {
    db = await openSeededDatabase();
  });
  afterAll(async () => {
    await db.close();
  });
  const rows = async <T>(sql: string) => (await db.query<T>(sql)).rows;

  test('all twelve tables exist, with RLS enabled and forced', async () => {
    const tables = await rows<{ relname: string; relrowsecurity: boolean; relforcerowsecurity: boolean }>(`
      SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class
       WHERE relnamespace = 'public'::regnamespace AND relkind = 'r' ORDER BY relname`);
    expect(tables.map((t) => t.relname).sort()).toEqual([...TABLES].sort());
    for (const t of tables) expect(t).toEqual({ relname: t.relname, relrowsecurity: true, relforcerowsecurity: true });
  });

  test('every table has a policy for app_user per command it may run, and nothing for PUBLIC', async () => {
    const policies = await rows<{ tablename: string; cmd: string; roles: string[] }>(`
      SELECT tablename, cmd, roles FROM pg_policies WHERE schemaname = 'public'`);
    expect(policies.filter((p) => p.roles.includes('public'))).toEqual([]);
    const appUser = (table: string) =>
      policies.filter((p) => p.tablename === table && p.roles.includes('app_user')).map((p) => p.cmd).sort();
    expect(appUser('agent_tasks')).toEqual(['DELETE', 'INSERT', 'SELECT', 'UPDATE']);
    expect(appUser('sessions')).toEqual(['DELETE', 'INSERT', 'SELECT', 'UPDATE']);
    expect(appUser('audit_logs')).toEqual(['SELECT']);
    for (const table of TABLES) expect(appUser(table)).toContain('SELECT');
  });

  // On a tenant table the index may put organization_id first (migrations/013: an index led by a user, role or
  // permission key would let EXPLAIN count other tenants' rows); deleting the referenced row then reads the
  // whole index instead of a few entries, which users, roles and permissions can afford.
  test('every foreign key has an index led by its columns (or by organization_id, then its columns) and an explicit ON DELETE', async () => {
    const unindexed = await rows<{ conname: string }>(`
      SELECT c.conname FROM pg_constraint c
       WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace
         AND NOT EXISTS (
           SELECT 1 FROM pg_index i
            WHERE i.indrelid = c.conrelid
              AND (   ((i.indkey::int2[])[0:cardinality(c.conkey) - 1] @> c.conkey
                       AND (i.indkey::int2[])[0:cardinality(c.conkey) - 1] <@ c.conkey)
                   OR ((i.indkey::int2[])[0] = (SELECT attnum FROM pg_attribute WHERE attrelid = c.conrelid AND attname = 'organization_id')
                       AND (i.indkey::int2[])[1:cardinality(c.conkey)] @> c.conkey
                       AND (i.indkey::int2[])[1:cardinality(c.conkey)] <@ c.conkey)))`);
    expect(unindexed).toEqual([]);
    const implicit = await rows<{ conname: string }>(`
      SELECT conname FROM pg_constraint WHERE contype = 'f' AND connamespace = 'public'::regnamespace AND confdeltype = 'a'`);
    expect(implicit).toEqual([]);
  });

  test('every org-scoped table has an index that leads with organization_id', async () => {
    const missing = await rows<{ relname: string }>(`
      SELECT t.relname FROM pg_class t
       WHERE t.relname = ANY ($1)
         AND NOT EXISTS (
           SELECT 1 FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
            WHERE i.indrelid = t.oid AND a.attname = 'organization_id')`.replace('$1', `ARRAY[${ORG_SCOPED.map((t) => `'${t}'`).join(',')}]`));
    expect(missing).toEqual([]);
  });

  test('no unique constraint on an org-scoped table spans tenants (except the primary key, never client-chosen)', async () => {
    const global = await rows<{ index: string }>(`
      SELECT i.indexrelid::regclass::text AS index FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid
        JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = i.indkey[0]
       WHERE t.relname = ANY (ARRAY[${ORG_SCOPED.map((t) => `'${t}'`).join(',')}])
         AND i.indisunique AND NOT i.indisprimary AND a.attname <> 'organization_id'
         AND pg_get_expr(i.indpred, i.indrelid) IS DISTINCT FROM '(organization_id IS NULL)'`);
    expect(global).toEqual([]);
  });

  test('no function or procedure of the schema is executable by PUBLIC (extensions’ own excepted)', async () => {
    const open = await rows<{ routine: string }>(`
      SELECT p.oid::regprocedure::text AS routine FROM pg_proc p
       WHERE p.pronamespace IN ('public'::regnamespace, 'tenancy'::regnamespace)
         AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
         AND has_function_privilege('public', p.oid, 'EXECUTE')`);
    expect(open).toEqual([]);
  });

  test('the login sync knows every role the schema uses (no login may join one but its own group)', async () => {
    const used = await rows<{ role: string }>(`
      SELECT DISTINCT r AS role FROM pg_policies, unnest(roles) AS r WHERE schemaname = 'public' AND r <> 'public'
      UNION
      SELECT pg_get_userbyid(p.proowner) FROM pg_proc p
       WHERE p.pronamespace IN ('public'::regnamespace, 'tenancy'::regnamespace) AND p.proowner <> (SELECT oid FROM pg_roles WHERE rolname = current_user)
         AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
      UNION
      SELECT grantee::text FROM information_schema.role_table_grants WHERE table_schema = 'migration_history' AND grantee <> current_user
      ORDER BY 1`);
    expect(used.length).toBeGreaterThan(5);
    expect(used.map((r) => r.role)).toContain('migration_reader');
    expect([...SCHEMA_GROUPS]).toEqual(expect.arrayContaining(used.map((r) => r.role)));
  });

  test('every SECURITY DEFINER function pins search_path with pg_temp last and belongs to a NOLOGIN role', async () => {
    const definers = await rows<{ proname: string; config: string[] | null; owner: string; canlogin: boolean }>(`
      SELECT p.proname, p.proconfig AS config, r.rolname AS owner, r.rolcanlogin AS canlogin
        FROM pg_proc p JOIN pg_roles r ON r.oid = p.proowner
       WHERE p.prosecdef AND p.pronamespace IN ('public'::regnamespace, 'tenancy'::regnamespace)`);
    expect(definers.map((d) => d.proname).sort()).toEqual([
      'accept_invitation', 'audit_row_change', 'decline_invitation', 'held_permission_ids', 'holds_permission',
      'is_active_user', 'is_system_role_name', 'member_organization_ids', 'my_invitations', 'my_organizations',
      'permitted_organization_ids', 'role_grant_refusal', 'set_app_user', 'sign_in_claims', 'token_claims', 'upsert_cognito_user', 'visible_user_ids',
    ]);
    for (const d of definers) {
      expect(d.config).toContain('search_path=pg_catalog, public, pg_temp');
      expect(['rls_resolver', 'audit_writer', 'cognito_mirror', 'membership_keeper', 'user_mirror']).toContain(d.owner);
      expect(d.canlogin).toBe(false);
    }
  });

  // The rules the real-server tier checks too (test/server/catalog.test.ts), over every function and index.
  test('every trigger function, and every function whose body is parsed at run time, pins search_path with pg_temp last', async () => {
    expect(await rows(FUNCTIONS_WITHOUT_PG_TEMP_LAST)).toEqual([]);
  });

  test('PUBLIC executes no function of the schema (extension members aside)', async () => {
    expect(await rows(FUNCTIONS_EXECUTABLE_BY_PUBLIC)).toEqual([]);
  });

  test('every index of a tenant table leads with organization_id, but for the documented exceptions', async () => {
    expect(await rows(TENANT_INDEXES_NOT_LED_BY_ORGANIZATION)).toEqual([]);
  });

  test('policy helpers are STABLE and set-returning, so PostgreSQL runs them once per statement', async () => {
    const helpers = await rows<{ proname: string; provolatile: string; proretset: boolean }>(`
      SELECT proname, provolatile, proretset FROM pg_proc
       WHERE pronamespace = 'tenancy'::regnamespace AND proname LIKE '%_ids' ORDER BY proname`);
    expect(helpers).toEqual([
      { proname: 'held_permission_ids', provolatile: 's', proretset: true },
      { proname: 'member_organization_ids', provolatile: 's', proretset: true },
      { proname: 'permitted_organization_ids', provolatile: 's', proretset: true },
      { proname: 'visible_user_ids', provolatile: 's', proretset: true },
    ]);
    const plan = await db.transaction(async (tx) => {
      await tx.exec(`SET LOCAL ROLE app_user; SELECT set_app_user('20000000-0000-4000-8000-000000000001')`);
      return (await tx.query<{ 'QUERY PLAN': string }>('EXPLAIN SELECT * FROM agent_tasks')).rows.map((r) => r['QUERY PLAN']).join('\n');
    });
    // The membership lookup is an InitPlan (migrations/005: an index condition) or a hashed sub-plan, either
    // computed once per statement; a plain "(SubPlan n)" in a filter would run per row.
    expect(plan).toMatch(/(Filter|Index Cond|Recheck Cond): .*(\(InitPlan \d+\)|\(hashed SubPlan \d+\))/);
    expect(plan).not.toMatch(/[^d] SubPlan \d+\)/);
  });

  test('agent_results.embedding is vector(1536) with an HNSW cosine index', async () => {
    const [column] = await rows<{ type: string }>(`
      SELECT format_type(atttypid, atttypmod) AS type FROM pg_attribute
       WHERE attrelid = 'agent_results'::regclass AND attname = 'embedding'`);
    expect(column.type).toBe('vector(1536)');
    const [index] = await rows<{ def: string }>(`SELECT pg_get_indexdef('agent_results_embedding_hnsw_idx'::regclass) AS def`);
    expect(index.def).toMatch(/USING hnsw \(embedding vector_cosine_ops\)/);
  });

  test('users mirrors Cognito: unique sub, case-insensitive unique email', async () => {
    await db.exec('BEGIN; SET LOCAL ROLE cognito_sync');
    try {
      await expect(db.exec(`SELECT tenancy.upsert_cognito_user('new-sub', 'ALICE@ACME.COM', true, NULL)`)).rejects.toMatchObject({ code: '23505' });
    } finally {
      await db.exec('ROLLBACK');
    }
    const [row] = await rows<{ t: string }>(`SELECT format_type(atttypid, atttypmod) AS t FROM pg_attribute WHERE attrelid = 'users'::regclass AND attname = 'email'`);
    expect(row.t).toBe('citext');
  });

  test('updated_at is maintained by a trigger on every table that has it', async () => {
    const missing = await rows<{ relname: string }>(`
      SELECT c.relname FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'updated_at'
       WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'
         AND NOT EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = c.oid AND t.tgfoid = 'set_updated_at'::regproc)`);
    expect(missing).toEqual([]);
  });
});
