/**
 * The migration custom resource's handler on the embedded database with the project's own migrations and
 * seeds (pgvector included): a Create brings an empty database to the current schema, runs the seeds where the
 * environment allows them (the RLS self-test among them), and creates the login roles; seeds never run where
 * they are not allowed.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createMigrationHandler } from '../../lambda/migrate-handler/handler';
import { fromPglite, readSqlDirectory } from '../../lambda/migrator';
import { createLogger } from '../../lambda/shared/logger';
import type { EmbeddedDatabase } from '../../lib/local/pglite';
import { MIGRATIONS_DIR, openFreshDatabase, SEEDS_DIR } from '../support/embedded';

const event = (name: string) =>
  JSON.parse(readFileSync(join(__dirname, '..', 'fixtures', 'custom-resource', `${name}.json`), 'utf8'));
const PASSWORDS = { master: 'master-password-never-logged-1', app: 'app-password-never-logged-22', sync: 'sync-password-never-logged-333' };

const secretsMock = mockClient(SecretsManagerClient);
let db: EmbeddedDatabase;
let logs: string[];

beforeEach(async () => {
  db = await openFreshDatabase();
  logs = [];
  secretsMock.reset();
  const secret = (username: string, password: string) => ({ SecretString: JSON.stringify({ username, password, host: 'embedded', port: 5432 }) });
  secretsMock.on(GetSecretValueCommand, { SecretId: event('create').ResourceProperties.MasterSecretArn }).resolves(secret('postgres', PASSWORDS.master));
  secretsMock.on(GetSecretValueCommand, { SecretId: event('create').ResourceProperties.Logins[0].SecretArn }).resolves(secret('app_login', PASSWORDS.app));
  secretsMock.on(GetSecretValueCommand, { SecretId: event('create').ResourceProperties.Logins[1].SecretArn }).resolves(secret('cognito_sync_login', PASSWORDS.sync));
});
afterEach(async () => {
  await db.close();
  for (const password of Object.values(PASSWORDS)) expect(logs.join('\n')).not.toContain(password);
});

const handler = () =>
  createMigrationHandler({
    secrets: new SecretsManagerClient({ region: 'eu-west-1' }),
    connect: async () => ({ client: fromPglite(db), close: async () => undefined }),
    migrations: readSqlDirectory(MIGRATIONS_DIR, { displayPrefix: 'migrations/' }),
    seeds: readSqlDirectory(SEEDS_DIR, { displayPrefix: 'seeds/' }),
    logger: createLogger({ service: 'test', write: (line) => logs.push(line) }),
  });

const migrationVersions = readSqlDirectory(MIGRATIONS_DIR).map((f) => Number(f.fileName.slice(0, 3)));

test('Create applies the project’s migrations and seeds, and the logins can act as their groups', async () => {
  const response = await handler()(event('create'), { getRemainingTimeInMillis: () => 600_000 });
  expect(response.Data).toMatchObject({
    CurrentVersion: String(Math.max(...migrationVersions)),
    Applied: migrationVersions.map((v) => String(v).padStart(3, '0')).join(','),
    SeedsApplied: '001,002',
    Rollback: 'false',
  });
  expect((await db.query(`SELECT count(*)::int AS n FROM pg_roles WHERE rolname IN ('app_login', 'cognito_sync_login') AND rolcanlogin`)).rows).toEqual([{ n: 2 }]);
  expect((await db.query(`SELECT pg_has_role('app_login', 'app_user', 'MEMBER') AS app, pg_has_role('cognito_sync_login', 'cognito_sync', 'MEMBER') AS sync,
      pg_has_role('app_login', 'service_role', 'MEMBER') AS escalated`)).rows).toEqual([{ app: true, sync: true, escalated: false }]);
});

test('where seeds are forbidden, none runs and none is recorded', async () => {
  const prod = event('create');
  prod.ResourceProperties.AllowSeeds = 'false';
  const response = await handler()(prod, { getRemainingTimeInMillis: () => 600_000 });
  expect(response.Data.SeedsApplied).toBe('');
  expect((await db.query(`SELECT count(*)::int AS n FROM migration_history.applied_files WHERE kind = 'seed'`)).rows).toEqual([{ n: 0 }]);
  await db.exec('BEGIN; SET LOCAL ROLE service_role');
  expect((await db.query('SELECT count(*)::int AS n FROM organizations')).rows).toEqual([{ n: 0 }]);
  await db.exec('ROLLBACK');
});
