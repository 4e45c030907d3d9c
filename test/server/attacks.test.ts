/**
 * Issue 16: isolation that holds against SQL running as the application. Each test reproduces one finding of
 * the review, on a real PostgreSQL server, as the role production uses: a login in app_user or in cognito_sync,
 * or the owner (the Aurora master user) and service_role through its SET ROLE. Each failed on the schema of
 * migrations 001-006; the fixes are migrations 007-013 and, for F13, the runner's lock (lambda/migrator/lock.ts).
 *
 * TEMPORARY is revoked from PUBLIC (009), so an application login cannot plant temporary objects at all (F03).
 * The attacks that need them (F01, F05, the pooled-view part of F03) also run through a login to which the
 * superuser, as set-up, granted TEMPORARY again: a database where the privilege came back (a copy made with
 * CREATE DATABASE … TEMPLATE, a restore) must still hold, through the second line of each fix.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from 'pg';
import { DEFAULT_LOCK_KEY, fromPgClient, migrate, MigrationError, type SqlSource } from '../../lambda/migrator';
import { RUNNER_TICKET_CLASS } from '../../lambda/migrator/lock';
import { MIGRATIONS_DIR, SEED } from '../support/embedded';
import { connectTo, createLogin, createServerDatabase, describeServer, sqlStateOf, withConnection, type Login, type ServerDatabase } from './support/server';

const { org, user, role } = SEED;
const ALICE_SUB = '90000000-0000-4000-8000-000000000001';
const TECH_CUSTOM_ROLE = '31000000-0000-4000-8000-000000000016';

/** BEGIN; fn; COMMIT (ROLLBACK and rethrow on error). */
async function inTransaction<T>(client: Client, fn: () => Promise<T>): Promise<T> {
  await client.query('BEGIN');
  try {
    const result = await fn();
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK');
    throw error;
  }
}

/** Runs `sql` as service_role, through the owner's SET ROLE, and commits. */
async function asService<T = Record<string, unknown>>(db: ServerDatabase, sql: string, params: unknown[] = []): Promise<T[]> {
  return withConnection(db.ownerUrl, (owner) =>
    inTransaction(owner, async () => {
      await owner.query('SET LOCAL ROLE service_role');
      return (await owner.query(sql, params)).rows as T[];
    }),
  );
}

/** A login of `group` to which the superuser granted TEMPORARY again (set-up: a database that kept the privilege). */
async function createLoginWithTemporary(db: ServerDatabase, group: 'app_user' | 'cognito_sync'): Promise<Login> {
  const login = await createLogin(db, group);
  await withConnection(db.adminUrl, (admin) => admin.query(`GRANT TEMPORARY ON DATABASE ${db.name} TO ${login.username}`));
  return login;
}

describeServer('issue 16: SQL running as the application cannot cross tenants', () => {
  let db: ServerDatabase;
  let app: Login;
  let sync: Login;
  let appWithTemp: Login;
  let syncWithTemp: Login;
  const session = (login: Login) => connectTo(db.loginUrl(login), `attacks-${login.group}`);

  beforeAll(async () => {
    db = await createServerDatabase('seeded');
    // One after the other: concurrent GRANTs on the same role or database collide ("tuple concurrently updated").
    app = await createLogin(db, 'app_user');
    sync = await createLogin(db, 'cognito_sync');
    appWithTemp = await createLoginWithTemporary(db, 'app_user');
    syncWithTemp = await createLoginWithTemporary(db, 'cognito_sync');
    // A custom role of Tech Startup (the seeds hold system roles only).
    await asService(db, `INSERT INTO roles (id, organization_id, name) VALUES ($1, $2, 'tech_reviewer')`, [TECH_CUSTOM_ROLE, org.tech]);
  });
  afterAll(async () => {
    await db?.drop();
  });

  describe('F01: definer functions resolve no name in the caller’s temporary schema', () => {
    test('F01: a temporary domain named jsonb runs no code as audit_writer inside the audit trigger', async () => {
      const c = await session(appWithTemp);
      try {
        await c.query('BEGIN');
        await c.query('SELECT set_app_user($1)', [user.alice]);
        // A forged, backdated audit row in another tenant, written by whoever evaluates the domain's CHECK.
        await c.query(`
          CREATE FUNCTION pg_temp.forge(v pg_catalog.jsonb) RETURNS boolean LANGUAGE plpgsql AS $$
          BEGIN
            INSERT INTO public.audit_logs (organization_id, actor_user_id, actor_role, action, table_name, created_at)
            VALUES ('${org.tech}', '${user.charlie}', 'app_user', 'forged', 'organizations', now() - interval '1 year');
            RETURN true;
          END $$`);
        await c.query('CREATE DOMAIN pg_temp.jsonb AS pg_catalog.jsonb CHECK (pg_temp.forge(VALUE))');
        // Any audited write fires tenancy.audit_row_change(), SECURITY DEFINER as audit_writer.
        expect(await sqlStateOf(c.query(`UPDATE organizations SET name = 'Acme Corporation (F01)' WHERE id = $1`, [org.acme]))).toBe('no error');
        await c.query('COMMIT');
      } finally {
        await c.end();
      }
      expect(await asService(db, `SELECT id FROM audit_logs WHERE action = 'forged'`)).toEqual([]);
      // The write itself was audited as usual.
      expect(await asService(db, `SELECT actor_user_id FROM audit_logs WHERE table_name = 'organizations' AND new_data->>'name' = 'Acme Corporation (F01)'`)).toEqual([
        { actor_user_id: user.alice },
      ]);
    });

    test('F01: a temporary domain named jsonb runs no code as rls_resolver inside tenancy.token_claims()', async () => {
      const c = await session(syncWithTemp);
      try {
        // The CHECK would read every tenant's memberships and hand them back in an error message.
        await c.query(`
          CREATE FUNCTION pg_temp.leak(v pg_catalog.jsonb) RETURNS boolean LANGUAGE plpgsql AS $$
          BEGIN
            RAISE EXCEPTION 'members: %', (SELECT string_agg(m.user_id::text, ',') FROM public.organization_members AS m);
          END $$`);
        await c.query('CREATE DOMAIN pg_temp.jsonb AS pg_catalog.jsonb CHECK (pg_temp.leak(VALUE))');
        const claims = (sub: string) =>
          c.query<{ claims: unknown }>('SELECT tenancy.token_claims($1) AS claims', [sub]).then(
            (result) => result.rows[0].claims,
            (error: Error) => error.message,
          );
        // The function casts '[]' to jsonb where a user has no organization (or no role): an unknown sub will do.
        expect(await claims('f01-no-such-sub')).toEqual({ organizations: [], truncated: false });
        expect(await claims(ALICE_SUB)).toEqual({ organizations: [{ id: org.acme, roles: ['agent_user', 'org_admin'] }], truncated: false });
      } finally {
        await c.end();
      }
    });
  });

  describe('F03: no temporary object can be planted for a later request', () => {
    test('F03: no application or Cognito login may create temporary objects (TEMPORARY is revoked from PUBLIC)', async () => {
      for (const login of [app, sync]) {
        const c = await session(login);
        try {
          expect(await sqlStateOf(c.query('CREATE TEMP VIEW agent_tasks AS SELECT * FROM public.agent_tasks'))).toBe('42501');
          expect(await sqlStateOf(c.query('CREATE TEMP TABLE stash (id uuid)'))).toBe('42501');
          expect(await sqlStateOf(c.query('CREATE FUNCTION pg_temp.f() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$'))).toBe('42501');
        } finally {
          await c.end();
        }
      }
      const { rows } = await withConnection(db.ownerUrl, (owner) =>
        owner.query<{ role: string; temporary: boolean }>(`
          SELECT r.rolname AS role, has_database_privilege(r.oid, current_database(), 'TEMPORARY') AS temporary
            FROM pg_roles AS r
           WHERE r.rolname IN ('app_user', 'service_role', 'cognito_sync', 'rls_resolver', 'audit_writer', 'cognito_mirror', $1, $2)
           ORDER BY 1`, [app.username, sync.username]),
      );
      expect(rows.filter((r) => r.temporary)).toEqual([]);
      expect(rows).toHaveLength(8);
    });

    test('F03: a temporary view planted on a pooled connection is never read through by the next request', async () => {
      const pooled = await session(appWithTemp);
      try {
        // The planter's request: a view named like the table, copying every row it is asked for.
        await pooled.query('CREATE TEMP TABLE loot (id uuid)');
        await pooled.query(`CREATE FUNCTION pg_temp.grab(t public.agent_tasks) RETURNS boolean LANGUAGE sql
                              AS $$ INSERT INTO pg_temp.loot VALUES (t.id) RETURNING true $$`);
        await pooled.query('CREATE TEMP VIEW agent_tasks AS SELECT * FROM public.agent_tasks AS t WHERE pg_temp.grab(t)');

        // The next request on the connection: Charlie's, as the application runs it.
        await pooled.query('BEGIN');
        const started = await sqlStateOf(pooled.query('SELECT set_app_user($1)', [user.charlie]));
        if (started === 'no error') await pooled.query('SELECT id FROM agent_tasks');
        await pooled.query(started === 'no error' ? 'COMMIT' : 'ROLLBACK');
        expect(started).toBe('55000'); // set_app_user refuses a connection whose temporary objects shadow the schema

        // The planter comes back for the loot.
        expect((await pooled.query('SELECT id FROM pg_temp.loot')).rows).toEqual([]);
      } finally {
        await pooled.end();
      }
    });
  });

  describe('F04: only a context set by set_app_user in the current transaction counts', () => {
    let c: Client;
    beforeEach(async () => {
      c = await session(app);
    });
    afterEach(async () => {
      await c.end();
    });
    const organizationsSeen = async () => inTransaction(c, async () => (await c.query('SELECT id FROM organizations')).rows.length);

    test('F04: a session-level SET app.current_user_id is ignored by later transactions', async () => {
      await c.query(`SET app.current_user_id = '${user.alice}'`);
      expect(await organizationsSeen()).toBe(0);
      expect((await c.query('SELECT id FROM organizations')).rows).toEqual([]);
    });

    test('F04: a session-level set_config(…, false) is ignored by later transactions', async () => {
      await c.query(`SELECT set_config('app.current_user_id', $1, false)`, [user.alice]);
      expect(await organizationsSeen()).toBe(0);
    });

    test('F04: set_app_user(NULL) clears the context, and a session-level value does not come back after it', async () => {
      await c.query(`SET app.current_user_id = '${user.alice}'`);
      await inTransaction(c, async () => {
        await c.query('SELECT set_app_user(NULL)');
        expect((await c.query('SELECT id FROM organizations')).rows).toEqual([]);
      });
      expect(await organizationsSeen()).toBe(0);
    });

    test('F04: a raw transaction-local set_config of the user id is not a context either', async () => {
      const seen = await inTransaction(c, async () => {
        await c.query(`SELECT set_config('app.current_user_id', $1, true)`, [user.alice]);
        return (await c.query('SELECT id FROM organizations')).rows.length;
      });
      expect(seen).toBe(0);
      // set_app_user in the same kind of transaction does count.
      const own = await inTransaction(c, async () => {
        await c.query('SELECT set_app_user($1)', [user.alice]);
        return (await c.query('SELECT id FROM organizations')).rows;
      });
      expect(own).toEqual([{ id: org.acme }]);
    });

    test('F04: a temporary table filled by one request cannot be left for the next', async () => {
      const outcome = await sqlStateOf(
        inTransaction(c, async () => {
          await c.query('SELECT set_app_user($1)', [user.alice]);
          await c.query('CREATE TEMP TABLE stash AS SELECT * FROM agent_tasks');
        }),
      );
      expect(outcome).toBe('42501');
    });

    test('F04: a WITH HOLD cursor of one request is closed when the next request sets its context', async () => {
      await inTransaction(c, async () => {
        await c.query('SELECT set_app_user($1)', [user.alice]);
        await c.query('DECLARE acme_tasks CURSOR WITH HOLD FOR SELECT id, organization_id FROM agent_tasks');
      });
      const fetched = await sqlStateOf(
        inTransaction(c, async () => {
          await c.query('SELECT set_app_user($1)', [user.charlie]);
          await c.query('FETCH ALL FROM acme_tasks');
        }),
      );
      expect(fetched).toBe('34000'); // invalid_cursor_name: gone
      // A cursor of the request's own transaction stays usable.
      const own = await inTransaction(c, async () => {
        await c.query('SELECT set_app_user($1)', [user.charlie]);
        await c.query('DECLARE mine CURSOR WITH HOLD FOR SELECT id FROM agent_tasks');
        await c.query('SELECT set_app_user($1)', [user.charlie]);
        return (await c.query('FETCH ALL FROM mine')).rows.length;
      });
      expect(own).toBeGreaterThan(0);
      await c.query('CLOSE mine');
    });
  });

  describe('F05: trigger functions name their tables', () => {
    test('F05: a temporary table named roles cannot let an admin grant another tenant’s custom role', async () => {
      const c = await session(appWithTemp);
      try {
        const outcome = await sqlStateOf(
          inTransaction(c, async () => {
            await c.query('SELECT set_app_user($1)', [user.alice]);
            await c.query('CREATE TEMP TABLE roles (id uuid, organization_id uuid)');
            await c.query('INSERT INTO pg_temp.roles VALUES ($1, NULL)', [TECH_CUSTOM_ROLE]);
            await c.query('INSERT INTO user_roles (organization_id, user_id, role_id) VALUES ($1, $2, $3)', [org.acme, user.bob, TECH_CUSTOM_ROLE]);
          }),
        );
        expect(outcome).toBe('23503'); // reported like a role that does not exist
      } finally {
        await c.end();
      }
      expect(await asService(db, 'SELECT id FROM user_roles WHERE role_id = $1', [TECH_CUSTOM_ROLE])).toEqual([]);
    });
  });

  describe('F09: new functions are not executable by PUBLIC', () => {
    test('F09: a function created by a later migration (as the owner) is not executable by the application', async () => {
      await withConnection(db.ownerUrl, (owner) =>
        owner.query(`CREATE FUNCTION public.f09_probe() RETURNS integer LANGUAGE sql AS $$ SELECT 1 $$;
                     CREATE FUNCTION tenancy.f09_probe() RETURNS integer LANGUAGE sql AS $$ SELECT 1 $$;`),
      );
      try {
        const c = await session(app);
        try {
          expect(await sqlStateOf(c.query('SELECT public.f09_probe()'))).toBe('42501');
          expect(await sqlStateOf(c.query('SELECT tenancy.f09_probe()'))).toBe('42501');
        } finally {
          await c.end();
        }
      } finally {
        await withConnection(db.ownerUrl, (owner) => owner.query('DROP FUNCTION public.f09_probe(); DROP FUNCTION tenancy.f09_probe();'));
      }
    });
  });

  describe('F11: the Cognito login does what the triggers do, for the user an event names', () => {
    let c: Client;
    beforeEach(async () => {
      c = await session(sync);
    });
    afterEach(async () => {
      await c.end();
    });

    test('F11: it cannot list users, so it cannot map tenants through token_claims', async () => {
      expect(await sqlStateOf(c.query('SELECT cognito_sub, email FROM users'))).toBe('42501');
      expect(await sqlStateOf(c.query('SELECT tenancy.token_claims(u.cognito_sub) FROM users AS u'))).toBe('42501');
      expect(await sqlStateOf(c.query('SELECT count(*) FROM users'))).toBe('42501');
    });

    test('F11: it cannot disable or revive a user, nor write users directly', async () => {
      expect(await sqlStateOf(c.query(`UPDATE users SET status = 'disabled' WHERE cognito_sub = $1`, [ALICE_SUB]))).toBe('42501');
      expect(await sqlStateOf(c.query(`INSERT INTO users (cognito_sub, email, status) VALUES ('f11', 'f11@example.com', 'active')`))).toBe('42501');
      expect(await asService(db, 'SELECT status FROM users WHERE id = $1', [user.alice])).toEqual([{ status: 'active' }]);
    });

    test('F11: the post-confirmation upsert inserts, refreshes, and never changes a status', async () => {
      const sub = `f11-${randomBytes(4).toString('hex')}`;
      const upsert = (name: string) => c.query('SELECT tenancy.upsert_cognito_user($1, $2, true, $3)', [sub, `${sub}@example.com`, name]);
      expect((await upsert('First')).rowCount).toBe(1);
      await upsert('Second');
      expect(await asService(db, 'SELECT full_name, status FROM users WHERE cognito_sub = $1', [sub])).toEqual([{ full_name: 'Second', status: 'active' }]);
      await asService(db, `UPDATE users SET status = 'disabled' WHERE cognito_sub = $1`, [sub]);
      await upsert('Third');
      expect(await asService(db, 'SELECT full_name, status FROM users WHERE cognito_sub = $1', [sub])).toEqual([{ full_name: 'Third', status: 'disabled' }]);
      // The claims of the user the event names, and of no one else.
      expect((await c.query('SELECT tenancy.token_claims($1) AS claims', [ALICE_SUB])).rows[0].claims).toEqual({
        organizations: [{ id: org.acme, roles: ['agent_user', 'org_admin'] }],
        truncated: false,
      });
    });
  });

  describe('F12: only the audit trigger writes the trail, and it covers every table', () => {
    test('F12: service_role cannot insert an audit row', async () => {
      const outcome = await sqlStateOf(
        asService(db, `INSERT INTO audit_logs (organization_id, actor_user_id, actor_role, action, table_name, created_at)
                       VALUES ($1, $2, 'app_user', 'forged', 'organizations', now() - interval '1 year')`, [org.tech, user.charlie]),
      );
      expect(outcome).toBe('42501');
      // Nor may the trigger's owner choose an id or a time.
      const privileges = await withConnection(db.ownerUrl, async (owner) =>
        (await owner.query(`SELECT has_column_privilege('audit_writer', 'audit_logs', 'created_at', 'INSERT') AS created_at,
                                   has_column_privilege('audit_writer', 'audit_logs', 'id', 'INSERT') AS id,
                                   has_table_privilege('service_role', 'audit_logs', 'INSERT') AS service_role`)).rows[0],
      );
      expect(privileges).toEqual({ created_at: false, id: false, service_role: false });
    });

    test('F12: users, sessions, permissions, agent_tasks and agent_results are audited, without token hashes or embeddings', async () => {
      const [{ last }] = await asService<{ last: string }>(db, 'SELECT coalesce(max(id), 0) AS last FROM audit_logs');
      const c = await session(app);
      let ids: { task: string; result: string; session: string };
      try {
        ids = await inTransaction(c, async () => {
          await c.query('SELECT set_app_user($1)', [user.alice]);
          const [{ id: taskId }] = (await c.query(`INSERT INTO agent_tasks (organization_id, agent_type) VALUES ($1, 'f12') RETURNING id`, [org.acme])).rows;
          await c.query(`UPDATE agent_tasks SET status = 'running' WHERE id = $1`, [taskId]);
          const embedding = `[${Array.from({ length: 1536 }, (_, i) => (i % 7) / 7).join(',')}]`;
          const [{ id: resultId }] = (
            await c.query(`INSERT INTO agent_results (organization_id, task_id, content, embedding) VALUES ($1, $2, 'f12', $3) RETURNING id`, [org.acme, taskId, embedding])
          ).rows;
          const [{ id: sessionId }] = (await c.query(`UPDATE sessions SET last_seen_at = now() WHERE user_id = $1 RETURNING id`, [user.alice])).rows;
          await c.query(`UPDATE users SET full_name = 'Alice (F12)' WHERE id = $1`, [user.alice]);
          return { task: taskId, result: resultId, session: sessionId };
        });
      } finally {
        await c.end();
      }
      await asService(db, `INSERT INTO permissions (resource, action) VALUES ('billing', 'f12')`);

      const trail = await asService<{ table_name: string; action: string; actor_user_id: string | null; old_data: Record<string, unknown> | null; new_data: Record<string, unknown> }>(
        db,
        `SELECT table_name, action, actor_user_id, old_data, new_data FROM audit_logs
          WHERE id > $2 AND (record_id = ANY ($1) OR (table_name = 'permissions' AND new_data->>'action' = 'f12')) ORDER BY id`,
        [[ids!.task, ids!.result, ids!.session, user.alice], last],
      );
      expect(trail.map((t) => `${t.table_name}:${t.action}`)).toEqual([
        'agent_tasks:insert', 'agent_tasks:update', 'agent_results:insert', 'sessions:update', 'users:update', 'permissions:insert',
      ]);
      expect(trail.filter((t) => t.table_name !== 'permissions').map((t) => t.actor_user_id)).toEqual(Array(5).fill(user.alice));
      const sessionEntry = trail.find((t) => t.table_name === 'sessions')!;
      expect(Object.keys(sessionEntry.new_data)).not.toContain('token_hash');
      expect(Object.keys(sessionEntry.old_data!)).not.toContain('token_hash');
      expect(sessionEntry.new_data).toHaveProperty('last_seen_at');
      const result = trail.find((t) => t.table_name === 'agent_results')!;
      expect(Object.keys(result.new_data)).not.toContain('embedding');
      expect(result.new_data).toMatchObject({ content: 'f12', organization_id: org.acme });
    });
  });
});

describeServer('F08: EXPLAIN ANALYZE as the application counts no other tenant’s rows', () => {
  let db: ServerDatabase;
  let app: Login;

  beforeAll(async () => {
    db = await createServerDatabase('seeded');
    app = await createLogin(db, 'app_user');
    // Tech Startup grows where Alice's queries below look: Charlie creates tasks and grants, and is the actor of
    // audit rows. Done through the application as Charlie, so every row is one a real request makes.
    const newcomers = (
      await asService<{ id: string }>(db, `
        INSERT INTO users (cognito_sub, email) SELECT 'f08-' || i, 'f08-' || i || '@example.com' FROM generate_series(1, 40) AS i
        RETURNING id`)
    ).map((u) => u.id);
    // Memberships need the newcomers' consent (issue 17): service_role stands for their accepted invitations.
    await asService(db, `INSERT INTO organization_members (organization_id, user_id, status, joined_at, invited_by)
                         SELECT '${org.tech}', unnest('{${newcomers.join(',')}}'::uuid[]), 'active', now(), '${user.charlie}'`);
    await withConnection(db.loginUrl(app), (c) =>
      inTransaction(c, async () => {
        await c.query('SELECT set_app_user($1)', [user.charlie]);
        await c.query(`INSERT INTO agent_tasks (organization_id, agent_type) SELECT $1, 'f08' FROM generate_series(1, 60)`, [org.tech]);
        await c.query('INSERT INTO user_roles (organization_id, user_id, role_id) SELECT $1, unnest($2::uuid[]), $3', [org.tech, newcomers, role.orgMember]);
        for (let i = 0; i < 40; i++) await c.query(`UPDATE organizations SET settings = jsonb_build_object('n', $2::int) WHERE id = $1`, [org.tech, i]);
      }),
    );
    await withConnection(db.ownerUrl, (owner) => owner.query('ANALYZE agent_tasks, organization_members, user_roles, audit_logs'));
  });
  afterAll(async () => {
    await db?.drop();
  });

  /** Every row count a plan reports: rows returned per node, rows removed by filters and rechecks. */
  function counts(plan: Record<string, unknown>): number[] {
    const own = ['Actual Rows', 'Rows Removed by Filter', 'Rows Removed by Index Recheck', 'Rows Removed by Join Filter']
      .map((key) => plan[key])
      .filter((value): value is number => typeof value === 'number');
    return [...own, ...((plan.Plans as Record<string, unknown>[] | undefined) ?? []).flatMap(counts)];
  }

  // Alice (Acme) looks for rows that match Charlie or a system role. Tech Startup holds 40 or more of each; Acme a
  // handful. Through an index that does not lead with organization_id, a count above Acme's own rows would show.
  const probes: Array<[string, string, () => unknown[]]> = [
    ['agent_tasks by created_by', 'SELECT id FROM agent_tasks WHERE created_by = $1', () => [user.charlie]],
    ['audit_logs by actor', 'SELECT id FROM audit_logs WHERE actor_user_id = $1', () => [user.charlie]],
    ['organization_members by invited_by', 'SELECT id FROM organization_members WHERE invited_by = $1', () => [user.charlie]],
    ['user_roles by granted_by', 'SELECT id FROM user_roles WHERE granted_by = $1', () => [user.charlie]],
    ['user_roles by role', 'SELECT id FROM user_roles WHERE role_id = $1', () => [role.orgMember]],
  ];
  const planners: Array<[string, string]> = [
    ['any index', 'SET LOCAL enable_seqscan = off'],
    ['index scans only', 'SET LOCAL enable_seqscan = off; SET LOCAL enable_bitmapscan = off'],
    ['bitmap scans only', 'SET LOCAL enable_seqscan = off; SET LOCAL enable_indexscan = off; SET LOCAL enable_indexonlyscan = off'],
  ];

  test.each(probes)('F08: %s', async (_name, sql, params) => {
    const table = /FROM (\w+)/.exec(sql)![1];
    const [{ n: acmeRows }] = await asService<{ n: number }>(db, `SELECT count(*)::int AS n FROM ${table} WHERE organization_id = $1`, [org.acme]);
    await withConnection(db.loginUrl(app), async (c) => {
      for (const [planner, settings] of planners) {
        const reported = await inTransaction(c, async () => {
          await c.query('SELECT set_app_user($1)', [user.alice]);
          await c.query(settings);
          const { rows } = await c.query(`EXPLAIN (ANALYZE, FORMAT JSON, COSTS OFF, TIMING OFF, SUMMARY OFF) ${sql}`, params());
          return counts((rows[0]['QUERY PLAN'] as Array<{ Plan: Record<string, unknown> }>)[0].Plan);
        });
        // A few dead index entries of Acme's may be counted too; 40 rows of Tech Startup may not.
        expect({ planner, beyondAcme: Math.max(...reported) > acmeRows + 10 }).toEqual({ planner, beyondAcme: false });
      }
    });
  });
});

describeServer('F13: the application login cannot block a deploy by holding the migration lock', () => {
  let db: ServerDatabase;
  let app: Login;
  const projectMigrations = (): SqlSource[] =>
    readdirSync(MIGRATIONS_DIR)
      .filter((f) => f.endsWith('.sql'))
      .sort()
      .map((fileName) => ({ fileName, displayPath: `migrations/${fileName}`, text: readFileSync(join(MIGRATIONS_DIR, fileName), 'utf8') }));
  const withProbe = (version: number): SqlSource[] => [
    ...projectMigrations(),
    { fileName: `${version}_f13_probe.sql`, text: `CREATE TABLE f13_probe_${version} (id integer);\n` },
  ];

  beforeAll(async () => {
    db = await createServerDatabase('migrated');
    app = await createLogin(db, 'app_user');
  });
  afterAll(async () => {
    await db?.drop();
  });

  test('F13: a deploy applies its migrations while the application login holds the published lock key and runner tickets', async () => {
    const squatter = await connectTo(db.loginUrl(app), 'squatter');
    const owner = await connectTo(db.ownerUrl, 'database-migrations');
    const warnings: string[] = [];
    try {
      await squatter.query('SELECT pg_advisory_lock($1::bigint)', [DEFAULT_LOCK_KEY]);
      await squatter.query('SELECT pg_advisory_lock($1::int4, n) FROM generate_series(1, 200) AS n', [RUNNER_TICKET_CLASS]);
      const result = await migrate(fromPgClient(owner), {
        migrations: withProbe(900),
        deadline: Date.now() + 10_000,
        logger: { info: () => {}, error: () => {}, warn: (message) => warnings.push(message) },
      });
      expect(result.applied.map((a) => a.version)).toEqual([900]);
      expect(warnings.join('\n')).toMatch(/held by a session of another role/);
      // The runner let go of everything it took.
      const { rows } = await owner.query(`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()`);
      expect(rows).toEqual([{ n: 0 }]);
    } finally {
      await Promise.all([squatter.end(), owner.end()]);
    }
  });

  test('F13: a run of the migrating user still waits for another run, and says which', async () => {
    const other = await connectTo(db.ownerUrl, 'other-run');
    const owner = await connectTo(db.ownerUrl, 'database-migrations');
    try {
      await other.query('SELECT pg_advisory_lock($1::bigint)', [DEFAULT_LOCK_KEY]);
      const { rows } = await other.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      const error = await migrate(fromPgClient(owner), { migrations: withProbe(901), deadline: Date.now() + 1500 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MigrationError);
      expect(error).toMatchObject({ code: 'lock_timeout', message: expect.stringContaining(`pid ${rows[0].pid} (other-run)`) });
      await other.query('SELECT pg_advisory_unlock($1::bigint)', [DEFAULT_LOCK_KEY]);
      expect((await migrate(fromPgClient(owner), { migrations: withProbe(901) })).applied.map((a) => a.version)).toEqual([901]);
    } finally {
      await Promise.all([other.end(), owner.end()]);
    }
  });

  test('F13: two runs of the migrating user at once: one applies, the other finds nothing left to do', async () => {
    const runners = await Promise.all([connectTo(db.ownerUrl, 'run-a'), connectTo(db.ownerUrl, 'run-b')]);
    try {
      const results = await Promise.all(runners.map((r) => migrate(fromPgClient(r), { migrations: withProbe(902), deadline: Date.now() + 20_000 })));
      expect(results.map((r) => r.applied.map((a) => a.version)).sort()).toEqual([[], [902]]);
    } finally {
      await Promise.all(runners.map((r) => r.end()));
    }
  });
});
