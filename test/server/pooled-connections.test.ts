/**
 * What a connection pool (RDS Proxy, any pool) does to the tenant context, on a real server through the app
 * login: one connection serves request after request, so nothing of one request's context may reach the next.
 */
import { Pool, type Client, type PoolClient } from 'pg';
import { SEED } from '../support/embedded';
import { connectTo, createLogin, createServerDatabase, describeServer, withConnection, type Login, type ServerDatabase } from './support/server';

const { org, user } = SEED;

describeServer('pooled connections through the app login', () => {
  let db: ServerDatabase;
  let login: Login;
  let conn: Client;

  beforeAll(async () => {
    db = await createServerDatabase('seeded');
    login = await createLogin(db, 'app_user');
    conn = await connectTo(db.loginUrl(login), 'pooled');
  });
  afterAll(async () => {
    await conn.end();
    await db.drop();
  });

  /** What a request that sets no context sees on this connection: the user it resolves to, and tenant rows. */
  async function nextRequestSees(client: Client | PoolClient = conn) {
    await client.query('BEGIN');
    try {
      const { rows } = await client.query<{ me: string | null; tasks: number; orgs: number }>(
        `SELECT current_app_user_id() AS me, (SELECT count(*)::int FROM agent_tasks) AS tasks, (SELECT count(*)::int FROM organizations) AS orgs`);
      return rows[0];
    } finally {
      await client.query('COMMIT');
    }
  }
  const NOTHING = { me: null, tasks: 0, orgs: 0 };

  async function asAlice(finish: (client: Client) => Promise<unknown>): Promise<void> {
    await conn.query('BEGIN');
    await conn.query('SELECT set_app_user($1)', [user.alice]);
    expect((await conn.query('SELECT count(*)::int AS n FROM organizations')).rows).toEqual([{ n: 1 }]);
    await finish(conn);
  }

  test('a context ends with COMMIT', async () => {
    await asAlice((c) => c.query('COMMIT'));
    expect(await nextRequestSees()).toEqual(NOTHING);
  });

  test('a context ends with ROLLBACK', async () => {
    await asAlice((c) => c.query('ROLLBACK'));
    expect(await nextRequestSees()).toEqual(NOTHING);
  });

  test('a context ends with a failed transaction', async () => {
    await asAlice(async (c) => {
      await expect(c.query('SELECT 1 / 0')).rejects.toMatchObject({ code: '22012' });
      await c.query('ROLLBACK');
    });
    expect(await nextRequestSees()).toEqual(NOTHING);
  });

  test('a context set inside a rolled-back savepoint is gone at once, and in the next transaction', async () => {
    await conn.query('BEGIN');
    await conn.query('SAVEPOINT request');
    await conn.query('SELECT set_app_user($1)', [user.alice]);
    await conn.query('ROLLBACK TO SAVEPOINT request');
    expect((await conn.query('SELECT current_app_user_id() AS me, (SELECT count(*)::int FROM agent_tasks) AS tasks')).rows).toEqual([{ me: null, tasks: 0 }]);
    await conn.query('COMMIT');
    expect(await nextRequestSees()).toEqual(NOTHING);
  });

  test('statements outside a transaction see no tenant rows, even right after set_app_user', async () => {
    await conn.query('SELECT set_app_user($1)', [user.alice]); // its own transaction, over at once
    expect((await conn.query('SELECT count(*)::int AS n FROM agent_tasks')).rows).toEqual([{ n: 0 }]);
    expect((await conn.query('SELECT current_app_user_id() AS me')).rows).toEqual([{ me: null }]);
  });

  test('two pooled connections interleaving users never see each other’s rows', async () => {
    const pool = new Pool({ connectionString: db.loginUrl(login), max: 2 });
    pool.on('error', () => {});
    const scopes = { [user.alice]: org.acme, [user.bob]: org.acme, [user.charlie]: org.tech, [user.diana]: org.health } as Record<string, string>;
    try {
      const requests = Array.from({ length: 60 }, (_, i) => Object.keys(scopes)[i % 4]);
      const seen = await Promise.all(
        requests.map(async (who) => {
          const client = await pool.connect();
          try {
            await client.query('BEGIN');
            await client.query('SELECT set_app_user($1)', [who]);
            // Give the other connection a chance to run in between.
            await client.query('SELECT pg_sleep(0.002)');
            const { rows } = await client.query<{ organization_id: string }>('SELECT DISTINCT organization_id FROM organization_members');
            await client.query('COMMIT');
            return { who, orgs: rows.map((r) => r.organization_id) };
          } finally {
            client.release();
          }
        }),
      );
      for (const { who, orgs } of seen) expect({ who, orgs }).toEqual({ who, orgs: [scopes[who]] });
      // And what each connection keeps afterwards is nothing.
      const after = await Promise.all([pool.connect(), pool.connect()]);
      try {
        for (const client of after) expect(await nextRequestSees(client)).toEqual(NOTHING);
      } finally {
        after.forEach((client) => client.release());
      }
    } finally {
      await pool.end();
    }
  });

  test('a membership revoked in one session counts in the other session’s next transaction', async () => {
    const bobSees = async () => {
      await conn.query('BEGIN');
      await conn.query('SELECT set_app_user($1)', [user.bob]);
      const { rows } = await conn.query<{ n: number }>('SELECT count(*)::int AS n FROM agent_tasks');
      await conn.query('COMMIT');
      return rows[0].n;
    };
    const setBob = (status: string) =>
      withConnection(db.ownerUrl, (owner) =>
        owner.query(`BEGIN; SET LOCAL ROLE service_role;
          UPDATE organization_members SET status = '${status}' WHERE organization_id = '${org.acme}' AND user_id = '${user.bob}'; COMMIT`));
    const before = await bobSees();
    expect(before).toBeGreaterThan(0);
    await setBob('suspended');
    try {
      expect(await bobSees()).toBe(0);
    } finally {
      await setBob('active');
    }
    expect(await bobSees()).toBe(before);
  });
});
