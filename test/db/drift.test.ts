/**
 * `db drift` on the embedded database: the schema a database holds against the one its applied migrations define,
 * over the RDS Data API (served from PGlite through aws-sdk-client-mock) in one READ ONLY transaction. The same
 * kinds of manual change on a real PostgreSQL 15 server, as the Aurora-like owner: test/server/drift.test.ts.
 */
import { RDSDataClient } from '@aws-sdk/client-rds-data';
import * as sdk from '@aws-sdk/client-rds-data';
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromPglite } from '../../lambda/migrator';
import { parseCli } from '../../lib/db-cli/args';
import { runCommand, type Io } from '../../lib/db-cli/commands';
import { dataApiReadOnlySession } from '../../lib/db-cli/data-api';
import { driftOf } from '../../lib/db-cli/drift';
import type { EmbeddedDatabase } from '../../lib/local/pglite';
import type { Difference } from '../../lib/schema/drift';
import { createDataApiAdapter, type DataApiAdapter } from '../support/data-api-adapter';
import { MIGRATIONS_DIR, openMigratedDatabase } from '../support/embedded';

const CLUSTER = 'arn:aws:rds:eu-west-1:111122223333:cluster:saas-dev';
const SECRET = 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:saas/dev/database/ci-Ab12Cd';
const dataApiArgs = ['--data-api', '--cluster-arn', CLUSTER, '--secret-arn', SECRET, '--database', 'saas'];

let db: EmbeddedDatabase;
let adapter: DataApiAdapter;

beforeAll(() => {
  process.env.AWS_REGION = 'eu-west-1';
  process.env.AWS_ACCESS_KEY_ID = 'test';
  process.env.AWS_SECRET_ACCESS_KEY = 'test';
});
beforeEach(async () => {
  db = await openMigratedDatabase();
  adapter = createDataApiAdapter(db, { resourceArn: CLUSTER, loginRoles: { [SECRET]: 'postgres' }, allClients: true });
});
afterEach(async () => {
  adapter.restore();
  await db.close();
});

async function cli(args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = { out: (t) => out.push(t), err: (t) => err.push(t) };
  const code = await runCommand(parseCli(args, {})!, io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const brief = (d: Difference) => `${d.change} ${d.kind} ${d.object}${d.name === undefined ? '' : ` ${d.name}`}`;

test('a database fresh from the migrations shows no drift, read in one READ ONLY Data API transaction, rolled back', async () => {
  const result = await cli(['drift', ...dataApiArgs, '--migrations', MIGRATIONS_DIR, '--json']);
  expect(result.err).not.toMatch(/error/);
  expect(result.code).toBe(0);
  const report = JSON.parse(result.out);
  expect(report).toMatchObject({ ok: true, exitCode: 0, differences: [], summary: { missing: 0, extra: 0, changed: 0 } });
  expect(report.comparedWith.at(-1)).toMatch(/^.*migrations\/\d{3}_\w+\.sql$/);
  expect(adapter.transactions).toEqual(['begin tx-1', 'rollback tx-1']);
  const inTransaction = adapter.calls.filter((c) => c.transactionId);
  expect(inTransaction[0].sql).toBe('SET TRANSACTION READ ONLY');
  expect(inTransaction.length).toBeGreaterThan(5);
  // Outside the transaction: the history read of `status`, nothing else.
  expect(adapter.calls.filter((c) => !c.transactionId).every((c) => /^\s*SELECT/i.test(c.sql ?? ''))).toBe(true);
});

test('the Data API session cannot write, whatever it is sent', async () => {
  const session = dataApiReadOnlySession(new RDSDataClient({}), { clusterArn: CLUSTER, secretArn: SECRET, database: 'saas' }, sdk);
  await session.query('BEGIN READ ONLY');
  await expect(session.query("INSERT INTO public.permissions (resource, action) VALUES ('x', 'y')")).rejects.toThrow(/read-only transaction/);
  await session.query('ROLLBACK');
  expect(adapter.transactions).toEqual(['begin tx-1', 'rollback tx-1']);
});

test('each manual change is reported as what it is, and the exit code is 3', async () => {
  await db.exec(`
    DROP POLICY users_select ON public.users;
    ALTER TABLE public.users ADD COLUMN nickname text;
    GRANT EXECUTE ON FUNCTION public.current_app_user_id() TO PUBLIC;
    ALTER TABLE public.agent_tasks DISABLE TRIGGER agent_tasks_audit;
    ALTER TABLE public.organizations NO FORCE ROW LEVEL SECURITY;
  `);
  const result = await cli(['drift', ...dataApiArgs, '--migrations', MIGRATIONS_DIR]);
  expect(result.code).toBe(3);
  expect(result.out).toContain('Drift: 5 differences (2 missing, 2 extra, 1 changed).');
  expect(result.out).toContain('  missing  policy users_select on table public.users\n             - CREATE POLICY users_select ON public.users FOR SELECT TO app_user');
  expect(result.out).toContain('  extra    column nickname on table public.users\n             + nickname text');
  expect(result.out).toContain('  extra    grant to PUBLIC of function public.current_app_user_id()\n             + GRANT EXECUTE ON FUNCTION public.current_app_user_id() TO PUBLIC;');
  expect(result.out).toContain('  changed  trigger agent_tasks_audit on table public.agent_tasks\n             + ALTER TABLE public.agent_tasks DISABLE TRIGGER agent_tasks_audit;');
  expect(result.out).toContain('  missing  row level security forced on table public.organizations');
});

test('the logins of a deploy are not drift; a login in two groups, or a group given to another role, is', async () => {
  await db.exec(`
    CREATE ROLE saas_app LOGIN; GRANT app_user TO saas_app;
    CREATE ROLE saas_app_clone LOGIN; GRANT app_user TO saas_app_clone;
    CREATE ROLE saas_sync LOGIN; GRANT cognito_sync TO saas_sync;
  `);
  expect((await driftOf(fromPglite(db), MIGRATIONS_DIR)).differences).toEqual([]);
  await db.exec(`GRANT cognito_sync TO saas_app; GRANT service_role TO app_user; GRANT pg_read_all_data TO cognito_sync`);
  const report = await driftOf(fromPglite(db), MIGRATIONS_DIR);
  expect(report.differences.map(brief)).toEqual([
    'extra member app_user saas_app',
    'extra member cognito_sync saas_app',
    'extra member of cognito_sync pg_read_all_data',
    'extra member service_role app_user',
  ]);
});

test('only the migrations the database has applied are expected: pending files are noted, not drift', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'migrations-'));
  cpSync(MIGRATIONS_DIR, dir, { recursive: true });
  writeFileSync(join(dir, '099_next.sql'), 'CREATE TABLE public.next_things (id int);\n');
  const report = await driftOf(fromPglite(db), dir);
  expect(report.ok).toBe(true);
  expect(report.comparedWith).not.toContain(`${dir}/099_next.sql`);
  expect(report.notes).toEqual([`${dir}/099_next.sql is pending: not expected yet`]);
});

test('a database never migrated is an error, not an empty report', async () => {
  await db.exec('DROP SCHEMA migration_history CASCADE');
  const result = await cli(['drift', '--data-dir', '/nonexistent', ...dataApiArgs, '--migrations', MIGRATIONS_DIR]);
  expect(result.code).toBe(1);
  expect(result.err).toMatch(/no migration history/);
});
