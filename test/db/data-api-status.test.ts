/**
 * `db status --data-api`: the read-only status path CI uses from outside the VPC. The RDS Data API is served
 * from an embedded database migrated by the runner; the CLI reads the history through ExecuteStatement only.
 */
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromPglite, migrate } from '../../lambda/migrator';
import { parseCli, UsageError } from '../../lib/db-cli/args';
import { runCommand, type Io } from '../../lib/db-cli/commands';
import type { EmbeddedDatabase } from '../../lib/local/pglite';
import { createDataApiAdapter, type DataApiAdapter } from '../support/data-api-adapter';
import { MIGRATIONS_DIR, openFreshDatabase } from '../support/embedded';

const CLUSTER = 'arn:aws:rds:eu-west-1:111122223333:cluster:saas-dev';
const SECRET = 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:saas/dev/database/master-Ab12Cd';

let db: EmbeddedDatabase;
let adapter: DataApiAdapter;

beforeAll(async () => {
  db = await openFreshDatabase();
  await migrate(fromPglite(db), { migrations: MIGRATIONS_DIR });
  process.env.AWS_REGION = 'eu-west-1';
  process.env.AWS_ACCESS_KEY_ID = 'test';
  process.env.AWS_SECRET_ACCESS_KEY = 'test';
});
afterAll(async () => {
  await db.close();
});
beforeEach(() => {
  adapter = createDataApiAdapter(db, { resourceArn: CLUSTER, loginRoles: { [SECRET]: 'postgres' }, allClients: true });
});
afterEach(() => adapter.restore());

async function cli(args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = { out: (t) => out.push(t), err: (t) => err.push(t) };
  const options = parseCli(args, {})!;
  const code = await runCommand(options, io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const dataApiArgs = ['--data-api', '--cluster-arn', CLUSTER, '--secret-arn', SECRET, '--database', 'saas'];

test('reports an up-to-date database through ExecuteStatement alone (exit 0)', async () => {
  const result = await cli(['status', ...dataApiArgs, '--migrations', MIGRATIONS_DIR, '--json']);
  expect(result.code).toBe(0);
  const report = JSON.parse(result.out);
  expect(report.migrations.every((m: { state: string }) => m.state === 'applied')).toBe(true);
  expect(adapter.calls.length).toBeGreaterThan(0);
  expect(adapter.calls.every((c) => c.resourceArn === CLUSTER && c.secretArn === SECRET && c.database === 'saas')).toBe(true);
});

test('reports pending migrations (exit 2) without changing anything', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'migrations-'));
  cpSync(MIGRATIONS_DIR, dir, { recursive: true });
  writeFileSync(join(dir, '099_next.sql'), 'CREATE TABLE next_thing (id int);\n');
  const result = await cli(['status', ...dataApiArgs, '--migrations', dir, '--json']);
  expect(result.code).toBe(2);
  const report = JSON.parse(result.out);
  expect(report.migrations.find((m: { version: number }) => m.version === 99).state).toBe('pending');
  expect(adapter.calls.every((c) => /^\s*SELECT/i.test(c.sql ?? ''))).toBe(true);
  expect((await db.query(`SELECT to_regclass('next_thing') AS t`)).rows).toEqual([{ t: null }]);
});

test('a cluster that cannot be reached is an error (exit 1)', async () => {
  adapter.setAvailable(false);
  const result = await cli(['status', ...dataApiArgs, '--migrations', MIGRATIONS_DIR]);
  expect(result.code).toBe(1);
  expect(result.err).toMatch(/unavailable/i);
});

test.each([
  [['migrate', ...dataApiArgs], /--data-api is read-only/],
  [['status', '--data-api', '--secret-arn', SECRET], /--cluster-arn: expected/],
  [['status', '--data-api', '--cluster-arn', CLUSTER, '--secret-arn', 'master'], /--secret-arn: expected/],
  [['status', '--cluster-arn', CLUSTER], /go with --data-api/],
])('refuses %j', (args, message) => {
  expect(() => parseCli(args, {})).toThrow(UsageError);
  expect(() => parseCli(args, {})).toThrow(message);
});
