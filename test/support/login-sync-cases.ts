/**
 * The login sync (lambda/migrate-handler/login-roles.ts) as the Aurora master runs it: as a NOSUPERUSER
 * CREATEROLE owner. Shared by the PostgreSQL 18 tier (test/pg) and the real-server tier (test/server).
 */
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { syncLoginRole } from '../../lambda/migrate-handler/login-roles';

export interface LoginSyncServer {
  /** The NOSUPERUSER CREATEROLE owner that syncs. */
  readonly ownerUrl: string;
  /** A superuser, to set up what only a superuser can (and to read pg_authid). */
  readonly adminUrl: string;
  /** A unique login name, dropped by the caller's clean-up. */
  loginName(kind: string): string;
}

const urlAs = (url: string, username: string, password: string) => {
  const u = new URL(url);
  u.username = username;
  u.password = encodeURIComponent(password);
  return u.toString();
};

async function using<T>(url: string, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export function describeLoginSync(server: () => LoginSyncServer): void {
  const statements: string[] = [];
  const sync = (spec: Parameters<typeof syncLoginRole>[1]) =>
    using(server().ownerUrl, (owner) =>
      syncLoginRole({ query: (text, params) => (statements.push(text), owner.query(text, params ? [...params] : undefined)) as never }, spec));

  const logIn = async (username: string, password: string) => {
    try {
      return await using(urlAs(server().ownerUrl, username, password), async (c) =>
        (await c.query(`SELECT current_user AS me, pg_has_role('app_user', 'MEMBER') AS member`)).rows[0] as { me: string; member: boolean });
    } catch {
      return false;
    }
  };

  const attributes = (username: string) =>
    using(server().adminUrl, async (admin) =>
      (await admin.query(`
        SELECT r.rolsuper, r.rolcreaterole, r.rolcreatedb, r.rolbypassrls, r.rolpassword LIKE 'SCRAM-SHA-256$4096:%' AS scram,
               ARRAY(SELECT g.rolname::text FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid WHERE m.member = r.oid ORDER BY 1) AS groups
          FROM pg_authid r WHERE r.rolname = $1`, [username])).rows[0]);

  test('creates a login in its group, then follows a password rotation', async () => {
    const username = server().loginName('app');
    const first = randomBytes(24).toString('base64url');
    const second = randomBytes(24).toString('base64url');

    expect(await sync({ username, password: first, group: 'app_user' })).toBe('created');
    expect(await logIn(username, first)).toEqual({ me: username, member: true });

    expect(await sync({ username, password: second, group: 'app_user' })).toBe('updated');
    expect(await logIn(username, first)).toBe(false);
    expect(await logIn(username, second)).toEqual({ me: username, member: true });
    expect(await attributes(username)).toEqual({ rolsuper: false, rolcreaterole: false, rolcreatedb: false, rolbypassrls: false, scram: true, groups: ['app_user'] });

    // The plaintext never travelled in a statement.
    expect(statements.join('\n')).not.toContain(first);
    expect(statements.join('\n')).not.toContain(second);
  });

  test('takes CREATEDB and other schema groups away from an existing login', async () => {
    const username = server().loginName('app');
    const password = randomBytes(24).toString('base64url');
    await sync({ username, password: randomBytes(24).toString('base64url'), group: 'app_user' });
    // Widened by hand since.
    await using(server().adminUrl, (admin) => admin.query(`ALTER ROLE ${username} CREATEDB`));
    await using(server().ownerUrl, (owner) => owner.query(`GRANT service_role TO ${username}`));
    expect(await sync({ username, password, group: 'app_user' })).toBe('updated');
    expect(await attributes(username)).toMatchObject({ rolcreatedb: false, groups: ['app_user'] });
    expect(await logIn(username, password)).toEqual({ me: username, member: true });
  });

  test('refuses an existing login that bypasses RLS, says what to do, and changes nothing', async () => {
    const username = server().loginName('app');
    await using(server().adminUrl, (admin) => admin.query(`CREATE ROLE ${username} LOGIN BYPASSRLS`));
    await expect(sync({ username, password: randomBytes(24).toString('base64url'), group: 'app_user' })).rejects.toThrow(
      new RegExp(`login "${username}" exists with BYPASSRLS.*ALTER ROLE ${username} NOSUPERUSER NOBYPASSRLS`),
    );
    expect(await attributes(username)).toMatchObject({ rolbypassrls: true, groups: [] });
  });
}
