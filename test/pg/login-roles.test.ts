/**
 * Login roles from secrets on PostgreSQL 18 (the embedded server), synced as a NOSUPERUSER CREATEROLE CREATEDB
 * owner like the Aurora master: created with a SCRAM verifier (the password itself is never sent), able to log
 * in, member of exactly their group, updated on rotation. test/server runs the same cases on PostgreSQL 15.
 */
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { syncLoginRole, validateLogin } from '../../lambda/migrate-handler/login-roles';
import { scramSha256Verifier } from '../../lambda/migrate-handler/scram';
import { describeLoginSync } from '../support/login-sync-cases';
import { serverUrl } from '../support/pg-database';

const run = randomBytes(3).toString('hex');
const owner = { username: `aurora_master_${run}`, password: randomBytes(18).toString('hex') };
const created: string[] = [];
let admin: Client;

const urlAs = (username: string, password: string) => {
  const url = new URL(serverUrl());
  url.username = username;
  url.password = encodeURIComponent(password);
  return url.toString();
};

beforeAll(async () => {
  admin = new Client({ connectionString: serverUrl() });
  await admin.connect();
  await admin.query(`CREATE ROLE ${owner.username} LOGIN NOSUPERUSER CREATEROLE CREATEDB PASSWORD '${owner.password}'`);
  // The group roles come from the migrations, which the owner runs; here only the groups matter. From PostgreSQL
  // 16 a CREATEROLE role grants only roles it holds with ADMIN OPTION, which it has for the roles it created.
  for (const group of ['app_user', 'service_role']) {
    await admin.query(`DO $$ BEGIN
      IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${group}') THEN CREATE ROLE ${group} NOLOGIN; END IF; END $$`);
    await admin.query(`GRANT ${group} TO ${owner.username} WITH ADMIN OPTION`);
  }
});
afterAll(async () => {
  for (const name of [...created, owner.username]) await admin.query(`DROP ROLE IF EXISTS ${name}`);
  await admin.end();
});

describeLoginSync(() => ({
  ownerUrl: urlAs(owner.username, owner.password),
  adminUrl: serverUrl(),
  loginName: (kind) => {
    const name = `${kind}_login_${run}_${created.length}`;
    created.push(name);
    return name;
  },
}));

test('PostgreSQL 16+: a login someone else created is refused with what to do', async () => {
  const username = `other_login_${run}`;
  created.push(username);
  await admin.query(`CREATE ROLE ${username} LOGIN`);
  const owned = new Client({ connectionString: urlAs(owner.username, owner.password) });
  await owned.connect();
  try {
    await expect(syncLoginRole(owned, { username, password: randomBytes(24).toString('base64url'), group: 'app_user' })).rejects.toThrow(
      /may not alter login "other_login_\w+", which someone else created: drop that login/,
    );
  } finally {
    await owned.end();
  }
});

test('PostgreSQL 16+: a powerful group another role granted cannot be revoked by the owner, so the deploy fails', async () => {
  const username = `widened_login_${run}`;
  created.push(username);
  const owned = new Client({ connectionString: urlAs(owner.username, owner.password) });
  await owned.connect();
  try {
    await syncLoginRole(owned, { username, password: randomBytes(24).toString('base64url'), group: 'app_user' });
    await admin.query(`GRANT service_role TO ${username}`);
    await expect(syncLoginRole(owned, { username, password: randomBytes(24).toString('base64url'), group: 'app_user' })).rejects.toThrow(
      `login "${username}" is still a member of service_role, granted by another role: have an administrator run REVOKE service_role FROM ${username}`,
    );
  } finally {
    await owned.end();
  }
});

test('a verifier computed here authenticates exactly like one PostgreSQL computes', async () => {
  const username = `verifier_${randomBytes(4).toString('hex')}`;
  created.push(username);
  const password = 'correct horse battery staple ✓';
  await admin.query(`CREATE ROLE ${username} LOGIN PASSWORD '${scramSha256Verifier(password)}'`);
  const client = new Client({ connectionString: urlAs(username, password) });
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
