/**
 * The migration custom resource's handler, invoked with real CloudFormation event shapes against a real
 * PostgreSQL 18 server (fixture migrations), logged in as a NOSUPERUSER CREATEROLE CREATEDB master like Aurora's.
 * Secrets Manager is mocked at the API boundary and returns the test database's credentials; every case asserts
 * the database state, the response, and that no log line or error carries a secret. The server's superuser
 * only sets up and inspects.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { createMigrationHandler, type Connect } from '../../lambda/migrate-handler/handler';
import { countingClient, DEFAULT_LOCK_KEY, fromPgClient } from '../../lambda/migrator';
import { createLogger } from '../../lambda/shared/logger';

const FIXTURES = join(__dirname, '..', 'fixtures');
const event = (name: string) => JSON.parse(readFileSync(join(FIXTURES, 'custom-resource', `${name}.json`), 'utf8'));
const migrationsOf = (version: string) => join(FIXTURES, 'handler', version);

const serverUrl = new URL(process.env.PG_TEST_URL ?? 'postgres://missing');
const MASTER_ARN = 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:saas/dev/database/master-Ab12Cd';
const APP_ARN = 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:saas/dev/database/app-login-Ef34Gh';
const SYNC_ARN = 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:saas/dev/database/cognito-sync-login-Ij56Kl';

let admin: Client;
let database: string;
let logs: string[];
let secretValues: string[];
let connectCalls: number;
const secretsMock = mockClient(SecretsManagerClient);
const suffix = randomBytes(3).toString('hex');

/** The master user: what Aurora's is, no superuser. */
const master = { username: `aurora_master_${suffix}`, password: randomBytes(18).toString('hex') };

beforeAll(async () => {
  admin = new Client({ connectionString: serverUrl.toString() });
  await admin.connect();
  await admin.query(`CREATE ROLE ${master.username} LOGIN NOSUPERUSER CREATEROLE CREATEDB PASSWORD '${master.password}'`);
  // The fixtures' group roles may exist already (roles are cluster-wide): as on Aurora, the master holds them
  // with ADMIN OPTION, which PostgreSQL 16+ requires of a CREATEROLE role to grant them.
  for (const group of ['app_user', 'cognito_sync']) {
    await admin.query(`DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${group}') THEN CREATE ROLE ${group} NOLOGIN; END IF; END $$`);
    await admin.query(`GRANT ${group} TO ${master.username} WITH ADMIN OPTION`);
  }
});
afterAll(async () => {
  for (const role of [`app_login_${suffix}`, `cognito_sync_login_${suffix}`, master.username]) await admin.query(`DROP ROLE IF EXISTS ${role}`);
  await admin.end();
});

beforeEach(async () => {
  database = `handler_${randomBytes(5).toString('hex')}`;
  await admin.query(`CREATE DATABASE ${database} OWNER ${master.username}`);
  logs = [];
  connectCalls = 0;
  const appPassword = randomBytes(20).toString('base64url');
  const syncPassword = randomBytes(20).toString('base64url');
  secretValues = [decodeURIComponent(serverUrl.password), appPassword, syncPassword, master.password];
  secretsMock.reset();
  secretsMock.on(GetSecretValueCommand, { SecretId: MASTER_ARN }).resolves({
    SecretString: JSON.stringify({
      engine: 'postgres', username: master.username, password: master.password,
      host: serverUrl.hostname, port: Number(serverUrl.port), dbname: 'saas',
    }),
  });
  secretsMock.on(GetSecretValueCommand, { SecretId: APP_ARN }).resolves({
    SecretString: JSON.stringify({ username: `app_login_${suffix}`, password: appPassword, masterarn: MASTER_ARN }),
  });
  secretsMock.on(GetSecretValueCommand, { SecretId: SYNC_ARN }).resolves({
    SecretString: JSON.stringify({ username: `cognito_sync_login_${suffix}`, password: syncPassword, masterarn: MASTER_ARN }),
  });
});

afterEach(async () => {
  await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  // No log line and no error ever carries a secret value.
  for (const value of secretValues) expect(logs.join('\n')).not.toContain(value);
});

/** Connects like the Lambda, minus TLS (the test server has none); the target database is the test's. */
const connect: Connect = async (credentials) => {
  connectCalls++;
  const client = new Client({
    host: credentials.host, port: credentials.port, user: credentials.username, password: credentials.password, database,
  });
  await client.connect();
  return { client: fromPgClient(client), close: () => client.end() };
};

const handlerFor = (version: string, overrides: Partial<Parameters<typeof createMigrationHandler>[0]> = {}) =>
  createMigrationHandler({
    secrets: new SecretsManagerClient({ region: 'eu-west-1' }),
    connect,
    migrations: migrationsOf(version),
    logger: createLogger({ service: 'test', write: (line) => logs.push(line) }),
    ...overrides,
  });

const context = (ms = 600_000) => ({ getRemainingTimeInMillis: () => ms });

async function inDatabase<T = Record<string, unknown>>(sql: string): Promise<T[]> {
  const client = new Client({ connectionString: Object.assign(new URL(serverUrl.toString()), { pathname: `/${database}` }).toString() });
  await client.connect();
  try {
    return (await client.query(sql)).rows as T[];
  } finally {
    await client.end();
  }
}

const historyVersions = async () =>
  (await inDatabase<{ version: number }>(`SELECT version FROM migration_history.applied_files WHERE kind = 'migration' ORDER BY version`)).map((r) => Number(r.version));

test('Create migrates an empty database and creates the logins in their groups', async () => {
  const response = await handlerFor('v1')(event('create'), context());
  expect(response).toEqual({
    PhysicalResourceId: 'database-migrations-saas',
    Data: { CurrentVersion: '3', Applied: '001,002,003', SeedsApplied: '', Rollback: 'false' },
  });
  expect(await historyVersions()).toEqual([1, 2, 3]);
  const logins = await inDatabase(`SELECT r.rolname, r.rolcanlogin, g.rolname AS member_of FROM pg_roles r
      JOIN pg_auth_members m ON m.member = r.oid JOIN pg_roles g ON g.oid = m.roleid
     WHERE r.rolname LIKE '%_${suffix}' AND r.rolname <> '${master.username}' ORDER BY r.rolname`);
  expect(logins).toEqual([
    { rolname: `app_login_${suffix}`, rolcanlogin: true, member_of: 'app_user' },
    { rolname: `cognito_sync_login_${suffix}`, rolcanlogin: true, member_of: 'cognito_sync' },
  ]);
  // The app login really logs in with the password from its secret.
  const app = new Client({ host: serverUrl.hostname, port: Number(serverUrl.port), database, user: `app_login_${suffix}`, password: secretValues[1] });
  await app.connect();
  expect((await app.query('SELECT count(*)::int AS n FROM items')).rows).toEqual([{ n: 0 }]);
  await app.end();
});

test('Update applies only what is new, and an Update with nothing new changes nothing', async () => {
  await handlerFor('v1')(event('create'), context());
  const response = await handlerFor('v2')(event('update'), context());
  expect(response.Data).toMatchObject({ CurrentVersion: '4', Applied: '004', Rollback: 'false' });
  const again = await handlerFor('v2')(event('update'), context());
  expect(again.Data).toMatchObject({ CurrentVersion: '4', Applied: '' });
  expect(await historyVersions()).toEqual([1, 2, 3, 4]);
});

test('an Update with nothing new sends two statements, the history read and the vector version read, before the logins are synced', async () => {
  await handlerFor('v2')(event('create'), context());
  // Without logins, everything the handler sends is the migration part.
  const update = event('update');
  update.ResourceProperties.Logins = [];
  let counted: ReturnType<typeof countingClient> | undefined;
  const counting: Connect = async (credentials, db) => {
    const session = await connect(credentials, db);
    counted = countingClient(session.client);
    return { client: counted, close: session.close };
  };
  const response = await handlerFor('v2', { connect: counting })(update, context());
  expect(response.Data).toMatchObject({ CurrentVersion: '4', Applied: '', SeedsApplied: '', Rollback: 'false' });
  expect(counted!.statements).toBe(2);
  expect(counted!.log[0]).toContain('FROM migration_history.runner');
  // An engine upgrade brings a newer pgvector with no migration: every deploy compares the two versions.
  expect(counted!.log[1]).toContain('FROM pg_extension');
});

test('a rollback Update (older files, newer database) succeeds and changes nothing', async () => {
  await handlerFor('v2')(event('create'), context());
  const before = await inDatabase(`SELECT * FROM migration_history.applied_files ORDER BY kind, version`);
  const response = await handlerFor('v1')(event('update'), context());
  expect(response).toEqual({
    PhysicalResourceId: 'database-migrations-saas',
    Data: { CurrentVersion: '4', Applied: '', Rollback: 'true' },
  });
  expect(await inDatabase(`SELECT * FROM migration_history.applied_files ORDER BY kind, version`)).toEqual(before);
  expect(logs.some((line) => line.includes('a rollback'))).toBe(true);
});

test('Delete leaves the database alone and never connects', async () => {
  await handlerFor('v1')(event('create'), context());
  connectCalls = 0;
  const response = await handlerFor('v1')(event('delete'), context());
  expect(response).toEqual({ PhysicalResourceId: 'database-migrations-saas', Data: {} });
  expect(connectCalls).toBe(0);
  expect(secretsMock.commandCalls(GetSecretValueCommand)).toHaveLength(3); // the Create's three reads only
  expect(await historyVersions()).toEqual([1, 2, 3]);
});

test('a failing migration fails the deploy with file, line and SQLSTATE, and leaves no trace of that file', async () => {
  await handlerFor('v1')(event('create'), context());
  const failure = handlerFor('broken')(event('update'), context());
  await expect(failure).rejects.toThrow(/004_broken\.sql:3:\d+: ERROR 42704: type "numerc" does not exist/);
  const error = await failure.catch((e: Error) => e);
  expect(Buffer.byteLength((error as Error).message)).toBeLessThan(4096);
  expect(await historyVersions()).toEqual([1, 2, 3]);
  const columns = await inDatabase(`SELECT column_name FROM information_schema.columns WHERE table_name = 'items' ORDER BY 1`);
  expect(columns).toEqual([{ column_name: 'id' }, { column_name: 'name' }]);
});

/** The event fixture as the JSON it is. */
type EventJson = { RequestType?: string; ResourceProperties?: { MasterSecretArn: string; Logins: Array<{ MemberOf: string }>; IamLogins?: unknown } };

test.each([
  ['no RequestType', (e: EventJson) => { delete e.RequestType; }, /RequestType must be Create, Update or Delete/],
  ['no properties', (e: EventJson) => { delete e.ResourceProperties; }, /ResourceProperties is missing/],
  ['a bad secret ARN', (e: EventJson) => { e.ResourceProperties!.MasterSecretArn = 'master'; }, /MasterSecretArn is not a Secrets Manager ARN/],
  ['a login in a powerful group', (e: EventJson) => { e.ResourceProperties!.Logins[0].MemberOf = 'service_role'; }, /Logins\[0\]\.MemberOf must be one of/],
  ['an IAM login named like no SQL role', (e: EventJson) => { e.ResourceProperties!.IamLogins = [{ Username: 'App-Login', MemberOf: 'app_user' }]; },
    /IamLogins\[0\]\.Username is not a lower-case SQL identifier/],
  ['an IAM login in a powerful group', (e: EventJson) => { e.ResourceProperties!.IamLogins = [{ Username: 'app_login', MemberOf: 'rls_resolver' }]; },
    /IamLogins\[0\]\.MemberOf must be one of app_user, cognito_sync/],
  ['an Update without physical id', (e: EventJson) => { e.RequestType = 'Update'; }, /Update without PhysicalResourceId/],
])('a malformed event (%s) fails at once, before any AWS or database call', async (_what, mutate, message) => {
  const malformed = event('create');
  mutate(malformed);
  await expect(handlerFor('v1')(malformed, context())).rejects.toThrow(message);
  expect(connectCalls).toBe(0);
  expect(secretsMock.commandCalls(GetSecretValueCommand)).toHaveLength(0);
});

test('waits for a writer that is not accepting connections yet', async () => {
  let refusals = 2;
  const flaky: Connect = async (credentials, db) => {
    if (refusals-- > 0) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    return connect(credentials, db);
  };
  const response = await handlerFor('v1', { connect: flaky, initialRetryDelayMs: 10 })(event('create'), context());
  expect(response.Data.CurrentVersion).toBe('3');
  expect(logs.filter((line) => line.includes('retrying'))).toHaveLength(2);
});

test('a wrong password is not retried', async () => {
  secretsMock.on(GetSecretValueCommand, { SecretId: MASTER_ARN }).resolves({
    SecretString: JSON.stringify({ username: master.username, password: 'not-the-password-at-all', host: serverUrl.hostname, port: Number(serverUrl.port) }),
  });
  secretValues.push('not-the-password-at-all');
  await expect(handlerFor('v1')(event('create'), context())).rejects.toThrow(/password authentication failed/);
  expect(connectCalls).toBe(1);
});

test('answers before the function times out when another deploy holds the lock', async () => {
  // Another deploy: a session of the same master user.
  const holder = new Client({ host: serverUrl.hostname, port: Number(serverUrl.port), database, user: master.username, password: master.password });
  await holder.connect();
  await holder.query('SELECT pg_advisory_lock($1::bigint)', [DEFAULT_LOCK_KEY]);
  try {
    const started = Date.now();
    // 33 s left, 30 s kept in reserve: the runner has 3 s.
    await expect(handlerFor('v1')(event('create'), context(33_000))).rejects.toThrow(/lock/i);
    expect(Date.now() - started).toBeLessThan(15_000);
  } finally {
    await holder.end();
  }
  expect(await inDatabase(`SELECT to_regclass('items') AS t`)).toEqual([{ t: null }]);
});
