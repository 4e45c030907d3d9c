/**
 * The tenant context resolved once per transaction (migration 020), through an app login on a real server: the
 * organization a request acts in, what naming one narrows, what it refuses, when a change of membership or grant
 * counts, and that nothing but set_app_user() in the current transaction sets a context.
 */
import type { Client } from 'pg';
import { SEED } from '../support/embedded';
import { connectTo, createLogin, createServerDatabase, describeServer, sqlStateOf, withConnection, type ServerDatabase } from './support/server';

const { org, user } = SEED;

describeServer('the tenant context, resolved per transaction', () => {
  let db: ServerDatabase;
  let app: Client;

  const asService = (sql: string) => withConnection(db.ownerUrl, (owner) => owner.query(`BEGIN; SET LOCAL ROLE service_role; ${sql}; COMMIT`));

  beforeAll(async () => {
    db = await createServerDatabase('seeded');
    app = await connectTo(db.loginUrl(await createLogin(db, 'app_user')), 'context');
    // Alice belongs to Acme and, from here on, to Tech Startup as well.
    await asService(`INSERT INTO organization_members (organization_id, user_id, status, joined_at) VALUES ('${org.tech}', '${user.alice}', 'active', now())`);
  });
  afterAll(async () => {
    await app.end();
    await db.drop();
  });

  /** Runs fn in a transaction of the app login after set_app_user(...context), then rolls back. */
  async function inRequest<T>(context: unknown[], fn: () => Promise<T>): Promise<T> {
    await app.query('BEGIN');
    try {
      await app.query(`SELECT set_app_user(${context.map((_, i) => `$${i + 1}::uuid`).join(', ')})`, context);
      return await fn();
    } finally {
      await app.query('ROLLBACK');
    }
  }

  /** The distinct organizations of a table's rows a request sees (`id` for organizations). */
  const seen = (table: string, ...context: unknown[]) => inRequest(context, async () => {
    const column = table === 'organizations' ? 'id' : 'organization_id';
    const { rows } = await app.query<{ o: string }>(`SELECT DISTINCT ${column} AS o FROM ${table} ORDER BY 1`);
    return rows.map((r) => r.o);
  });

  /** 'ok', or the SQLSTATE that refused it. */
  const insertTask = async (organizationId: string) => {
    const state = await sqlStateOf(app.query(`INSERT INTO agent_tasks (organization_id, agent_type) VALUES ($1, 'context')`, [organizationId]));
    return state === 'no error' ? 'ok' : state;
  };

  test('a user in one organization acts in it without naming it', async () => {
    expect(await seen('agent_tasks', user.bob)).toEqual([org.acme]);
    expect(await seen('audit_logs', user.charlie)).toEqual([org.tech]);
  });

  test('a user in several organizations who names none reads the membership lists and no tenant data', async () => {
    expect(await seen('organizations', user.alice)).toEqual([org.acme, org.tech].sort());
    expect(await seen('organization_members', user.alice)).toEqual([org.acme, org.tech].sort());
    expect(await seen('agent_tasks', user.alice)).toEqual([]);
    expect(await seen('agent_results', user.alice)).toEqual([]);
    expect(await seen('audit_logs', user.alice)).toEqual([]);
    expect(await inRequest([user.alice], () => insertTask(org.acme))).toBe('42501');
  });

  test('naming an organization narrows tenant data to it; the membership lists still show every one', async () => {
    expect(await seen('agent_tasks', user.alice, org.acme)).toEqual([org.acme]);
    expect(await seen('agent_tasks', user.alice, org.tech)).toEqual([org.tech]);
    expect(await seen('audit_logs', user.alice, org.acme)).toEqual([org.acme]);
    expect(await seen('organizations', user.alice, org.tech)).toEqual([org.acme, org.tech].sort());
  });

  test('an organization the user is not an active member of gives no tenant data and allows no change', async () => {
    for (const [who, where] of [[user.alice, org.health], [user.bob, org.tech], [user.charlie, org.acme]]) {
      expect(await seen('agent_tasks', who, where)).toEqual([]);
      expect(await seen('audit_logs', who, where)).toEqual([]);
      expect(await inRequest([who, where], () => insertTask(where))).toBe('42501');
      expect(await inRequest([who, where], async () => (await app.query(`UPDATE organizations SET name = name WHERE id = $1`, [where])).rowCount)).toBe(0);
    }
  });

  test('writes happen in the organization the request acts in, with the permissions held there', async () => {
    expect(await inRequest([user.alice, org.acme], () => insertTask(org.acme))).toBe('ok');
    expect(await inRequest([user.alice, org.acme], () => insertTask(org.tech))).toBe('42501');
    // Alice is a plain member of Tech Startup (no role there): she reads its tasks but may not run one.
    expect(await inRequest([user.alice, org.tech], () => insertTask(org.tech))).toBe('42501');
    expect(await inRequest([user.charlie], () => insertTask(org.tech))).toBe('ok');
  });

  test('a suspended membership counts from the next transaction; the one in progress keeps what it resolved', async () => {
    const suspend = (status: string) =>
      asService(`UPDATE organization_members SET status = '${status}' WHERE organization_id = '${org.tech}' AND user_id = '${user.alice}'`);
    try {
      await inRequest([user.alice, org.tech], async () => {
        await suspend('suspended');
        const { rows } = await app.query<{ n: number }>('SELECT count(DISTINCT organization_id)::int AS n FROM agent_tasks');
        expect(rows).toEqual([{ n: 1 }]);
      });
      expect(await seen('agent_tasks', user.alice, org.tech)).toEqual([]);
      expect(await seen('organizations', user.alice)).toEqual([org.acme]);
      // With one organization left, Alice acts in it again without naming it.
      expect(await seen('agent_tasks', user.alice)).toEqual([org.acme]);
    } finally {
      await suspend('active');
    }
    expect(await seen('agent_tasks', user.alice, org.tech)).toEqual([org.tech]);
  });

  test('an expired grant counts from the next transaction', async () => {
    const expire = (when: string) =>
      asService(`UPDATE user_roles SET expires_at = ${when} WHERE organization_id = '${org.tech}' AND user_id = '${user.charlie}'`);
    try {
      await inRequest([user.charlie], async () => {
        await expire(`now() - interval '1 second'`);
        expect(await insertTask(org.tech)).toBe('ok');
      });
      expect(await inRequest([user.charlie], () => insertTask(org.tech))).toBe('42501');
      expect(await seen('agent_tasks', user.charlie)).toEqual([org.tech]);
    } finally {
      await expire('NULL');
    }
    expect(await inRequest([user.charlie], () => insertTask(org.tech))).toBe('ok');
  });

  test('a second set_app_user in a transaction replaces the first context entirely', async () => {
    expect(await inRequest([user.alice, org.acme], async () => {
      await app.query('SELECT set_app_user($1)', [user.charlie]);
      return { tasks: await app.query('SELECT DISTINCT organization_id AS o FROM agent_tasks'), insert: await insertTask(org.acme) };
    })).toMatchObject({ tasks: { rows: [{ o: org.tech }] }, insert: '42501' });
    expect(await inRequest([user.alice, org.acme], async () => {
      await app.query('SELECT set_app_user(NULL)');
      return (await app.query('SELECT count(*)::int AS n FROM agent_tasks')).rows[0];
    })).toEqual({ n: 0 });
  });

  test('settings forged at session level do not count, and set_app_user overwrites them', async () => {
    await app.query(`SELECT set_config('app.organization', $1, false), set_config('app.permissions', ' agents.run ', false),
                            set_config('app.member_orgs', $2, false), set_config('app.active_user', $3, false)`,
    [org.health, `{${org.health}}`, user.diana]);
    try {
      const { rows } = await app.query<{ n: number }>('SELECT count(*)::int AS n FROM agent_tasks');
      expect(rows).toEqual([{ n: 0 }]);
      expect(await seen('agent_tasks', user.bob)).toEqual([org.acme]);
      expect(await seen('organizations', user.bob)).toEqual([org.acme]);
      expect(await inRequest([user.bob], () => insertTask(org.health))).toBe('42501');
    } finally {
      await app.query('RESET app.organization; RESET app.permissions; RESET app.member_orgs; RESET app.active_user');
    }
  });

  test('a context set the way set_app_user did before 020 (a request in flight during the deploy) must be retried', async () => {
    await app.query('BEGIN');
    try {
      await app.query(`SELECT set_config('app.current_user_id', $1, true),
                              set_config('app.current_context', EXTRACT(epoch FROM transaction_timestamp())::text || '/' || $1, true)`, [user.bob]);
      expect(await sqlStateOf(app.query('SELECT count(*) FROM agent_tasks'))).toBe('40001');
    } finally {
      await app.query('ROLLBACK');
    }
  });
});
