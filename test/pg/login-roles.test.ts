/**
 * Login roles from secrets, on a real PostgreSQL server: created with a SCRAM verifier (the password itself is
 * never sent), able to log in, member of exactly their group, updated on rotation.
 */
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { syncLoginRole, validateLogin } from '../../lambda/migrate-handler/login-roles';
import { scramSha256Verifier } from '../../lambda/migrate-handler/scram';

const serverUrl = () => {
  const url = process.env.PG_TEST_URL;
  if (!url) throw new Error('PG_TEST_URL is not set: the jest global setup starts the server');
  return url;
};

const loginUrl = (username: string, password: string) => {
  const url = new URL(serverUrl());
  url.username = username;
  url.password = encodeURIComponent(password);
  return url.toString();
};

let admin: Client;
const statements: string[] = [];

beforeAll(async () => {
  admin = new Client({ connectionString: serverUrl() });
  await admin.connect();
  // The group roles come from the migrations; here only the group matters.
  await admin.query(`DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'app_user') THEN CREATE ROLE app_user NOLOGIN; END IF;
  END $$`);
});
afterAll(async () => {
  await admin.end();
});

const recordingClient = () => ({
  query: async <R>(text: string, params?: readonly unknown[]) => {
    statements.push(text);
    return (await admin.query(text, params ? [...params] : undefined)) as unknown as { rows: R[] };
  },
});

const canLogIn = async (username: string, password: string) => {
  const client = new Client({ connectionString: loginUrl(username, password) });
  try {
    await client.connect();
    const { rows } = await client.query(`SELECT current_user AS me, pg_has_role('app_user', 'MEMBER') AS member`);
    return rows[0] as { me: string; member: boolean };
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
};

test('creates a login in its group, then follows a password rotation', async () => {
  const username = `app_login_${randomBytes(4).toString('hex')}`;
  const first = randomBytes(24).toString('base64url');
  const second = randomBytes(24).toString('base64url');

  expect(await syncLoginRole(recordingClient(), { username, password: first, group: 'app_user' })).toBe('created');
  expect(await canLogIn(username, first)).toEqual({ me: username, member: true });

  expect(await syncLoginRole(recordingClient(), { username, password: second, group: 'app_user' })).toBe('updated');
  expect(await canLogIn(username, first)).toBe(false);
  expect(await canLogIn(username, second)).toEqual({ me: username, member: true });

  const [role] = (await admin.query(
    `SELECT rolsuper, rolcreaterole, rolcreatedb, rolbypassrls, rolpassword LIKE 'SCRAM-SHA-256$4096:%' AS scram
       FROM pg_authid WHERE rolname = $1`, [username])).rows;
  expect(role).toEqual({ rolsuper: false, rolcreaterole: false, rolcreatedb: false, rolbypassrls: false, scram: true });

  // The plaintext never travelled in a statement.
  expect(statements.join('\n')).not.toContain(first);
  expect(statements.join('\n')).not.toContain(second);
});

test('a verifier computed here authenticates exactly like one PostgreSQL computes', async () => {
  const username = `verifier_${randomBytes(4).toString('hex')}`;
  const password = 'correct horse battery staple ✓';
  await admin.query(`CREATE ROLE ${username} LOGIN PASSWORD '${scramSha256Verifier(password)}'`);
  const client = new Client({ connectionString: loginUrl(username, password) });
  await client.connect();
  await client.end();
});

test.each([
  ['a name that needs quoting', { username: 'App-Login', password: 'x'.repeat(20), group: 'app_user' }, /lower-case SQL identifier/],
  ['an injection attempt', { username: 'app_login; DROP TABLE users', password: 'x'.repeat(20), group: 'app_user' }, /lower-case SQL identifier/],
  ['a group role as login', { username: 'app_user', password: 'x'.repeat(20), group: 'app_user' }, /reserved/],
  ['a system role', { username: 'rds_superuser', password: 'x'.repeat(20), group: 'app_user' }, /reserved/],
  ['a powerful group', { username: 'app_login', password: 'x'.repeat(20), group: 'service_role' }, /not one of app_user, cognito_sync/],
  ['a short password', { username: 'app_login', password: 'short', group: 'app_user' }, /shorter than 16/],
])('refuses %s', (_what, spec, message) => {
  expect(() => validateLogin(spec as never)).toThrow(message);
});
