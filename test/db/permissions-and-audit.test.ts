/**
 * user_has_permission, session isolation, the audit trail, and what app_user must never be able to do.
 */
import type { EmbeddedDatabase } from '../../lib/local/pglite';
import { acting } from '../support/acting';
import { openSeededDatabase, SEED } from '../support/embedded';

const { org, user, role } = SEED;

let db: EmbeddedDatabase;

beforeAll(async () => {
  db = await openSeededDatabase();
  // Bob holds agent_user in Acme, but the grant expired yesterday.
  await db.exec(`
    BEGIN;
    SET LOCAL ROLE service_role;
    INSERT INTO user_roles (organization_id, user_id, role_id, granted_at, expires_at)
    VALUES ('${org.acme}', '${user.bob}', '${role.agentUser}', now() - interval '30 days', now() - interval '1 day');
    COMMIT;`);
});

afterAll(async () => {
  await db.close();
});

describe('user_has_permission', () => {
  const check = async (asUser: string | null, subject: string, orgId: string, resource: string, action: string) => {
    const context = asUser ? { userId: asUser } : { unset: true as const };
    const role = asUser ? 'app_user' : 'service_role';
    return acting(db, context, async (as) => {
      const [row] = await as.rows<{ ok: boolean }>('SELECT user_has_permission($1, $2, $3, $4) AS ok', [subject, orgId, resource, action]);
      return row.ok;
    }, role);
  };

  test('granted: Alice (org_admin, agent_user) may run agents and update Acme', async () => {
    expect(await check(null, user.alice, org.acme, 'agents', 'run')).toBe(true);
    expect(await check(null, user.alice, org.acme, 'organizations', 'update')).toBe(true);
    expect(await check(user.alice, user.alice, org.acme, 'audit', 'read')).toBe(true);
  });

  test('missing: Bob (org_member) may read but not run agents; org_admin may not delete the organization', async () => {
    expect(await check(null, user.bob, org.acme, 'agents', 'read')).toBe(true);
    expect(await check(null, user.alice, org.acme, 'organizations', 'delete')).toBe(false);
    expect(await check(null, user.bob, org.acme, 'members', 'invite')).toBe(false);
  });

  test('expired: Bob’s lapsed agent_user grant confers nothing', async () => {
    expect(await check(null, user.bob, org.acme, 'agents', 'run')).toBe(false);
  });

  test('other organization: Alice’s Acme grants do not count in Tech Startup', async () => {
    expect(await check(null, user.alice, org.tech, 'agents', 'run')).toBe(false);
    expect(await check(null, user.charlie, org.tech, 'agents', 'run')).toBe(true);
  });

  test('an application user learns nothing about an organization it does not belong to', async () => {
    // True for service_role (above), false when Bob asks about Charlie.
    expect(await check(user.bob, user.charlie, org.tech, 'agents', 'run')).toBe(false);
  });

  test('a suspended membership or a disabled user confers nothing', async () => {
    await db.exec(`BEGIN; SET LOCAL ROLE service_role;
      UPDATE organization_members SET status = 'suspended' WHERE user_id = '${user.charlie}';`);
    try {
      const [row] = (await db.query<{ ok: boolean }>(`SELECT user_has_permission('${user.charlie}', '${org.tech}', 'agents', 'run') AS ok`)).rows;
      expect(row.ok).toBe(false);
    } finally {
      await db.exec('ROLLBACK');
    }
    await db.exec(`BEGIN; SET LOCAL ROLE service_role;
      UPDATE users SET status = 'disabled' WHERE id = '${user.charlie}';
      SET LOCAL ROLE app_user;
      SELECT set_app_user('${user.charlie}');`);
    try {
      expect((await db.query('SELECT count(*)::int AS n FROM agent_tasks')).rows).toEqual([{ n: 0 }]);
      expect((await db.query('SELECT count(*)::int AS n FROM organizations')).rows).toEqual([{ n: 0 }]);
    } finally {
      await db.exec('ROLLBACK');
    }
  });
});

describe('sessions', () => {
  test('each user sees exactly their own sessions', async () => {
    for (const id of Object.values(user)) {
      const owners = await acting(db, { userId: id }, (as) => as.rows<{ user_id: string }>('SELECT user_id FROM sessions'));
      expect(owners.length).toBeGreaterThan(0);
      expect(new Set(owners.map((row) => row.user_id))).toEqual(new Set([id]));
    }
  });

  test('a session cannot be opened in another user’s name', async () => {
    await acting(db, { userId: user.alice }, async (as) => {
      const outcome = await as.run(
        `INSERT INTO sessions (user_id, token_hash, expires_at) VALUES ($1, decode(repeat('cd', 32), 'hex'), now() + interval '1 hour')`,
        [user.bob],
      );
      expect(outcome).toEqual({ error: '42501' });
    });
  });
});

describe('audit trail', () => {
  test('invitation, role, grant and organization changes are recorded with the acting user', async () => {
    await acting(db, { userId: user.alice }, async (as) => {
      await as.rows(`SELECT invite_member($1, 'diana@healthcare.com')`, [org.acme]);
      const [analyst] = await as.rows<{ id: string }>(`INSERT INTO roles (organization_id, name) VALUES ($1, 'analyst') RETURNING id`, [org.acme]);
      await as.rows(`INSERT INTO user_roles (organization_id, user_id, role_id) VALUES ($1, $2, $3)`, [org.acme, user.bob, analyst.id]);
      await as.rows(`UPDATE organizations SET name = 'Acme Corp' WHERE id = $1`, [org.acme]);
      const entries = await as.rows<{ table_name: string; action: string; actor_user_id: string; actor_role: string; organization_id: string }>(
        `SELECT table_name, action, actor_user_id, actor_role, organization_id FROM audit_logs
          WHERE created_at = now() ORDER BY id`,
      );
      expect(entries).toEqual([
        { table_name: 'organization_invitations', action: 'insert', actor_user_id: user.alice, actor_role: 'app_user', organization_id: org.acme },
        { table_name: 'roles', action: 'insert', actor_user_id: user.alice, actor_role: 'app_user', organization_id: org.acme },
        { table_name: 'user_roles', action: 'insert', actor_user_id: user.alice, actor_role: 'app_user', organization_id: org.acme },
        { table_name: 'organizations', action: 'update', actor_user_id: user.alice, actor_role: 'app_user', organization_id: org.acme },
      ]);
      const [update] = await as.rows<{ old_name: string; new_name: string }>(
        `SELECT old_data->>'name' AS old_name, new_data->>'name' AS new_name FROM audit_logs
          WHERE created_at = now() AND table_name = 'organizations'`,
      );
      expect(update).toEqual({ old_name: 'Acme Corporation', new_name: 'Acme Corp' });
    });
  });

  test('an update that changes nothing is not recorded', async () => {
    await acting(db, { userId: user.alice }, async (as) => {
      await as.rows(`UPDATE organizations SET name = name WHERE id = $1`, [org.acme]);
      expect(await as.rows(`SELECT id FROM audit_logs WHERE created_at = now()`)).toEqual([]);
    });
  });

  test('audit rows of one organization are invisible to another organization’s auditor', async () => {
    const seen = await acting(db, { userId: user.charlie }, (as) =>
      as.rows<{ organization_id: string }>('SELECT DISTINCT organization_id FROM audit_logs'),
    );
    expect(seen).toEqual([{ organization_id: org.tech }]);
  });

  test('the trail is append-only, even for service_role and the owner', async () => {
    await acting(db, { unset: true }, async (as) => {
      expect(await as.run(`UPDATE audit_logs SET action = 'x'`)).toEqual({ error: '42501' });
      expect(await as.run('DELETE FROM audit_logs')).toEqual({ error: '42501' });
      expect(await as.run('TRUNCATE audit_logs')).toEqual({ error: '42501' });
    }, 'service_role');
    // The owner (here the superuser) is stopped by the append-only triggers.
    for (const statement of [`UPDATE audit_logs SET action = 'x'`, 'DELETE FROM audit_logs', 'TRUNCATE audit_logs']) {
      await expect(db.exec(statement)).rejects.toThrow(/append-only/);
    }
  });
});

describe('what app_user can never do', () => {
  const asAlice = <T>(fn: Parameters<typeof acting<T>>[2]) => acting(db, { userId: user.alice }, fn);

  test.each([
    ['alter a table', 'ALTER TABLE agent_tasks ADD COLUMN hacked text'],
    ['disable RLS', 'ALTER TABLE agent_tasks DISABLE ROW LEVEL SECURITY'],
    ['stop forcing RLS', 'ALTER TABLE agent_tasks NO FORCE ROW LEVEL SECURITY'],
    ['drop a policy', 'DROP POLICY agent_tasks_select ON agent_tasks'],
    ['create a permissive policy', 'CREATE POLICY open ON agent_tasks FOR SELECT TO app_user USING (true)'],
    ['drop the audit trigger', 'DROP TRIGGER organizations_audit ON organizations'],
    ['truncate a table', 'TRUNCATE agent_tasks'],
    ['create a table', 'CREATE TABLE public.scratch (id int)'],
    ['create a function in tenancy', 'CREATE FUNCTION tenancy.x() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$'],
    ['update audit rows', `UPDATE audit_logs SET action = 'x'`],
    ['delete audit rows', 'DELETE FROM audit_logs'],
    ['write audit rows', `INSERT INTO audit_logs (action, table_name) VALUES ('forged', 'users')`],
    ['read the migration history', 'SELECT * FROM migration_history.applied_files'],
    ['read the migration events', 'SELECT * FROM migration_history.events'],
  ])('cannot %s', async (_what, statement) => {
    await asAlice(async (as) => {
      const outcome = await as.run(statement);
      expect(outcome).toHaveProperty('error');
      expect(['42501', '42P01']).toContain((outcome as { error: string }).error);
    });
  });

  // 006 drops the UPDATE policies' WITH CHECK on these keys because app_user cannot change them: the USING
  // clause has admitted the old row, so the new row has the same key. Granting UPDATE on one of them would let a
  // row move to another tenant unchecked; this test must fail first.
  test.each([
    ['organizations', 'id'],
    ['organization_members', 'organization_id'],
    ['organization_members', 'user_id'],
    ['users', 'id'],
    ['sessions', 'user_id'],
    ['roles', 'organization_id'],
    ['user_roles', 'organization_id'],
    ['user_roles', 'user_id'],
    ['agent_tasks', 'organization_id'],
    ['agent_results', 'organization_id'],
  ])('cannot update the tenant key %s.%s', async (table, column) => {
    const [row] = (await db.query<{ granted: boolean }>(`SELECT has_column_privilege('app_user', $1, $2, 'UPDATE') AS granted`, [table, column])).rows;
    expect(row.granted).toBe(false);
    await asAlice(async (as) => {
      expect(await as.run(`UPDATE ${table} SET ${column} = ${column}`)).toEqual({ error: '42501' });
    });
  });

  test('cannot name who created a task: created_by is always the acting user', async () => {
    await asAlice(async (as) => {
      expect(await as.run(`INSERT INTO agent_tasks (organization_id, created_by, agent_type) VALUES ($1, $2, 'x')`, [org.acme, user.bob])).toEqual({ error: '42501' });
      expect(await as.run(`INSERT INTO agent_tasks (organization_id, agent_type) VALUES ($1, 'x')`, [org.acme])).toEqual({ rows: 1 });
      expect(await as.rows(`SELECT created_by FROM agent_tasks WHERE agent_type = 'x'`)).toEqual([{ created_by: user.alice }]);
    });
  });

  test('a login in app_user cannot switch to another role', async () => {
    // SET ROLE is checked against the session user, so this needs a login session. PGlite does not restore
    // the session user reliably, so the check runs on a database of its own.
    const login = await openSeededDatabase();
    try {
      await login.exec('CREATE ROLE app_login_test LOGIN IN ROLE app_user; SET SESSION AUTHORIZATION app_login_test');
      for (const role of ['service_role', 'rls_resolver', 'audit_writer', 'cognito_sync', 'cognito_mirror']) {
        await expect(login.exec(`SET ROLE ${role}`)).rejects.toMatchObject({ code: '42501' });
      }
      await login.exec('SET ROLE app_user');
      expect((await login.query('SELECT count(*)::int AS n FROM agent_tasks')).rows).toEqual([{ n: 0 }]);
    } finally {
      await login.close();
    }
  });

  test('owns nothing and has no dangerous attributes', async () => {
    const [owned] = (await db.query<{ n: number }>(`
      SELECT (SELECT count(*) FROM pg_class WHERE relowner = 'app_user'::regrole)
           + (SELECT count(*) FROM pg_proc WHERE proowner = 'app_user'::regrole)
           + (SELECT count(*) FROM pg_namespace WHERE nspowner = 'app_user'::regrole) AS n`)).rows;
    expect(Number(owned.n)).toBe(0);
    const roles = (await db.query<{ rolname: string; rolsuper: boolean; rolbypassrls: boolean; rolcanlogin: boolean }>(`
      SELECT rolname, rolsuper, rolbypassrls, rolcanlogin FROM pg_roles
       WHERE rolname IN ('app_user', 'service_role', 'cognito_sync', 'rls_resolver', 'audit_writer', 'cognito_mirror') ORDER BY rolname`)).rows;
    expect(roles).toHaveLength(6);
    for (const r of roles) expect(r).toEqual({ rolname: r.rolname, rolsuper: false, rolbypassrls: false, rolcanlogin: false });
  });

  test('cognito_sync mirrors one user through the upsert function and touches no table', async () => {
    await acting(db, { unset: true }, async (as) => {
      const upsert = `SELECT tenancy.upsert_cognito_user($1, $2, true, $3)`;
      expect(await as.run(upsert, ['sub-new', 'new@example.com', 'New'])).toEqual({ rows: 1 });
      expect(await as.run(upsert, ['sub-new', 'new@example.com', 'New Name'])).toEqual({ rows: 1 });
      expect(await as.asService(`SELECT full_name, status FROM users WHERE cognito_sub = 'sub-new'`)).toEqual([{ full_name: 'New Name', status: 'active' }]);
      // migrations/011: no privilege on users at all, so no listing, no status change, no direct insert.
      expect(await as.run('SELECT cognito_sub FROM users')).toEqual({ error: '42501' });
      expect(await as.run(`UPDATE users SET status = 'disabled'`)).toEqual({ error: '42501' });
      expect(await as.run(`INSERT INTO users (cognito_sub, email) VALUES ('sub-other', 'other@example.com')`)).toEqual({ error: '42501' });
      expect(await as.run('SELECT id FROM organizations')).toEqual({ error: '42501' });
      expect(await as.run('SELECT id FROM agent_tasks')).toEqual({ error: '42501' });
      expect(await as.run('SELECT token_hash FROM sessions')).toEqual({ error: '42501' });
      expect(await as.run('DELETE FROM users')).toEqual({ error: '42501' });
    }, 'cognito_sync');
  });
});
