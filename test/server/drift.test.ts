/**
 * `db drift` on a real PostgreSQL 15 server, as the NOSUPERUSER owner the Aurora master user is: a database fresh
 * from the migrations shows no drift against the same migrations applied to PGlite (PostgreSQL 18), and each kind
 * of change made by hand afterwards is reported as what it is. Each case changes its own copy of the migrated
 * template; changes to roles (which are cluster-wide) touch only roles of this run.
 */
import { randomBytes } from 'node:crypto';
import { parseCli } from '../../lib/db-cli/args';
import { runCommand, type Io } from '../../lib/db-cli/commands';
import { readSchema, type SchemaObject } from '../../lib/schema/describe';
import { compareSchemas, type Difference } from '../../lib/schema/drift';
import { migratedSchema } from '../../lib/schema/generate';
import type { Client } from 'pg';
import { createDataApiAdapterFor, type TransactionRunner } from '../support/data-api-adapter';
import { MIGRATIONS_DIR } from '../support/embedded';
import { connectTo, createLogin, createServerDatabase, describeServer, serverTier, withConnection, type ServerDatabase } from './support/server';
import { runDbCli } from '../support/db-cli';



/**
 * Memberships are cluster-wide: other test files of this run, and other runs on the same server, put their own
 * logins (st_<hex>_…) into the schema's roles while this file reads. Those are not this database's drift.
 */
const notAnotherTestsLogin = (own: readonly string[]) => (d: Difference) =>
  !(d.kind === 'member' && d.name !== undefined && /^st_[0-9a-f]{8}_/.test(d.name) && !own.includes(d.name));

const brief = (d: Difference) => `${d.change} ${d.kind} ${d.object}${d.name === undefined ? '' : ` ${d.name}`}`;

describeServer('db drift on a real server, as the Aurora-like owner', () => {
  let expected: SchemaObject[];
  const databases: ServerDatabase[] = [];

  beforeAll(async () => {
    expected = await migratedSchema(MIGRATIONS_DIR);
  }, 120_000);
  afterAll(async () => {
    for (const d of databases) await d.drop();
  });

  async function migratedCopy(): Promise<ServerDatabase> {
    const database = await createServerDatabase('migrated');
    databases.push(database);
    return database;
  }

  /** The drift of a fresh copy after `sql`, run as the owner; `own` names the roles this case made. */
  async function driftAfter(sql: string, own: readonly string[] = []): Promise<string[]> {
    const database = await migratedCopy();
    return withConnection(database.ownerUrl, async (owner) => {
      if (sql) await owner.query(sql);
      return compareSchemas(expected, await readSchema(owner)).filter(notAnotherTestsLogin(own)).map(brief);
    });
  }

  test('a database fresh from the migrations: no drift, through the CLI (exit 0) and as JSON', async () => {
    const database = await migratedCopy();
    const text = await runDbCli(['drift', '--database-url', database.ownerUrl]);
    const json = await runDbCli(['drift', '--database-url', database.ownerUrl, '--json']);
    const report = JSON.parse(json.stdout) as { ok: boolean; exitCode: number; differences: Difference[] };
    const others = report.differences.filter((d) => !notAnotherTestsLogin([])(d));
    // Only another test's login, caught in the middle of being moved between groups, could show (see above).
    if (others.length === 0) {
      expect(text).toMatchObject({ code: 0 });
      expect(text.stdout).toContain('No drift: the schema is what its migrations define.');
      expect(report).toMatchObject({ ok: true, exitCode: 0, differences: [] });
    }
    expect(report.differences.filter(notAnotherTestsLogin([]))).toEqual([]);
  }, 120_000);

  test('read through another login (here the superuser) the owner is still CURRENT_USER: no drift', async () => {
    const database = await migratedCopy();
    const differences = await withConnection(database.adminUrl, async (admin) => compareSchemas(expected, await readSchema(admin)));
    expect(differences.filter(notAnotherTestsLogin([]))).toEqual([]);
  });

  test('the logins a deploy makes (one login group each) are not drift', async () => {
    const database = await migratedCopy();
    const app = await createLogin(database, 'app_user');
    const sync = await createLogin(database, 'cognito_sync');
    const differences = await withConnection(database.ownerUrl, async (owner) => compareSchemas(expected, await readSchema(owner)));
    expect(differences.filter(notAnotherTestsLogin([])).map(brief)).toEqual([]);
    expect([app.username, sync.username].every((name) => /^st_[0-9a-f]{8}_/.test(name))).toBe(true);
  });

  // The five kinds of the issue, then more, each alone on a fresh copy.
  test.each([
    ['a policy dropped', 'DROP POLICY users_select ON public.users', ['missing policy public.users users_select']],
    ['a column added', 'ALTER TABLE public.users ADD COLUMN nickname text', ['extra column public.users nickname']],
    [
      'a function body edited',
      `CREATE OR REPLACE FUNCTION public.set_updated_at() RETURNS trigger LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp
         AS $$ BEGIN NEW.updated_at := pg_catalog.clock_timestamp(); RETURN NEW; END $$`,
      ['changed body public.set_updated_at() public.set_updated_at()'],
    ],
    ['a GRANT to PUBLIC on a function', 'GRANT EXECUTE ON FUNCTION public.current_app_user_id() TO PUBLIC', ['extra grant public.current_app_user_id() PUBLIC']],
    ['a GRANT to PUBLIC on a table', 'GRANT SELECT ON public.organizations TO PUBLIC', ['extra grant public.organizations PUBLIC']],
    ['a trigger disabled', 'ALTER TABLE public.agent_tasks DISABLE TRIGGER agent_tasks_audit', ['changed trigger public.agent_tasks agent_tasks_audit']],
    ['an index dropped', 'DROP INDEX public.agent_tasks_organization_status_idx', ['missing index public.agent_tasks agent_tasks_organization_status_idx']],
    ['RLS disabled', 'ALTER TABLE public.organizations DISABLE ROW LEVEL SECURITY', ['missing row level security public.organizations enabled']],
    ['RLS no longer forced', 'ALTER TABLE public.organizations NO FORCE ROW LEVEL SECURITY', ['missing row level security public.organizations forced']],
    [
      'a function made SECURITY DEFINER',
      'ALTER FUNCTION public.set_updated_at() SECURITY DEFINER',
      ['changed attributes public.set_updated_at() public.set_updated_at()'],
    ],
    [
      'a function’s search_path changed',
      'ALTER FUNCTION tenancy.member_organization_ids() SET search_path = public',
      ['changed attributes tenancy.member_organization_ids() tenancy.member_organization_ids()'],
    ],
    ['a policy’s expression changed', 'ALTER POLICY users_select ON public.users USING (true)', ['changed policy public.users users_select']],
    ['a constraint dropped', 'ALTER TABLE public.agent_tasks DROP CONSTRAINT agent_tasks_priority_range', ['missing constraint public.agent_tasks agent_tasks_priority_range']],
    ['a column’s type changed', 'ALTER TABLE public.agent_tasks ALTER COLUMN priority TYPE integer', ['changed column public.agent_tasks priority']],
    ['a grant revoked', 'REVOKE SELECT ON public.organizations FROM app_user', ['changed grant public.organizations app_user']],
    ['a table added', 'CREATE TABLE public.notes (id int)', ['extra table public.notes']],
    ['a function added', 'CREATE FUNCTION public.helper() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$', ['extra function public.helper()']],
  ])('%s is reported as what it is', async (_what, sql, differences) => {
    expect(await driftAfter(sql)).toEqual(differences);
  }, 60_000);

  test('a schema role granted to another role (a role of this run) is an extra membership', async () => {
    const rogue = `${serverTier!.prefix}_rogue_${randomBytes(3).toString('hex')}`;
    expect(await driftAfter(`CREATE ROLE ${rogue} NOLOGIN; GRANT service_role TO ${rogue}`, [rogue])).toEqual([`extra member service_role ${rogue}`]);
  }, 60_000);

  test('a table given to another owner shows the new owner (and the CREATE it needed on the schema)', async () => {
    const owner = `${serverTier!.prefix}_owner_${randomBytes(3).toString('hex')}`;
    const sql = `CREATE ROLE ${owner} NOLOGIN; GRANT ${owner} TO CURRENT_USER; GRANT CREATE ON SCHEMA public TO ${owner};
                 ALTER TABLE public.agent_tasks OWNER TO ${owner}`;
    expect(await driftAfter(sql, [owner])).toEqual(['extra grant public ' + owner, 'extra owner public.agent_tasks owner']);
  }, 60_000);

  test('a login in a group that is not a login group, or in two login groups, is an extra membership', async () => {
    const login = `${serverTier!.prefix}_login_${randomBytes(3).toString('hex')}`;
    expect(await driftAfter(`CREATE ROLE ${login} LOGIN; GRANT app_user TO ${login}; GRANT rls_resolver TO ${login}`, [login])).toEqual([
      `extra member rls_resolver ${login}`,
    ]);
    // Roles are cluster-wide: the login is still in rls_resolver, on every copy.
    expect(await driftAfter(`GRANT cognito_sync TO ${login}`, [login])).toEqual([
      `extra member app_user ${login}`,
      `extra member cognito_sync ${login}`,
      `extra member rls_resolver ${login}`,
    ]);
  }, 60_000);

  test('the CLI prints a changed database’s differences and exits 3', async () => {
    const database = await migratedCopy();
    await withConnection(database.ownerUrl, (owner) => owner.query('DROP POLICY users_select ON public.users; ALTER TABLE public.users ADD COLUMN nickname text'));
    const result = await runDbCli(['drift', '--database-url', database.ownerUrl]);
    expect(result.code).toBe(3);
    expect(result.stdout).toContain('  missing  policy users_select on table public.users\n');
    expect(result.stdout).toContain('  extra    column nickname on table public.users\n             + nickname text\n');
  }, 120_000);

  test('over the Data API as CI’s login (migration_reader: the history, nothing else): no drift, then a dropped policy', async () => {
    const database = await migratedCopy();
    const ci = await createLogin(database, 'migration_reader');
    const CLUSTER = 'arn:aws:rds:eu-west-1:111122223333:cluster:saas-dev';
    const SECRET = 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:saas/dev/database/ci-Ab12Cd';
    const url = database.loginUrl(ci);
    // The Data API as the CI login: each statement on a connection of its own, a transaction on one kept open.
    const open = new Map<string, Client>();
    const transactions: TransactionRunner = {
      async begin(secretArn) {
        if (secretArn !== SECRET) return undefined;
        const client = await connectTo(url, 'data-api');
        await client.query('BEGIN');
        const id = randomBytes(6).toString('hex');
        open.set(id, client);
        return id;
      },
      async run(id, text, values) {
        const result = await open.get(id)!.query(text, values);
        return { rows: result.rows, fields: result.fields, affectedRows: result.rowCount ?? 0 };
      },
      async end(id, commit) {
        const client = open.get(id)!;
        open.delete(id);
        await client.query(commit ? 'COMMIT' : 'ROLLBACK');
        await client.end();
      },
    };
    const adapter = createDataApiAdapterFor(
      (secretArn, text, values) =>
        secretArn !== SECRET
          ? Promise.resolve(undefined)
          : withConnection(url, async (client) => {
              const result = await client.query(text, values);
              return { rows: result.rows, fields: result.fields, affectedRows: result.rowCount ?? 0 };
            }),
      { resourceArn: CLUSTER, allClients: true },
      transactions,
    );
    Object.assign(process.env, { AWS_REGION: 'eu-west-1', AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' });
    const drift = async () => {
      const out: string[] = [];
      const io: Io = { out: (t) => out.push(t), err: () => {} };
      const args = ['drift', '--data-api', '--cluster-arn', CLUSTER, '--secret-arn', SECRET, '--database', database.name, '--migrations', MIGRATIONS_DIR, '--json'];
      const code = await runCommand(parseCli(args, {})!, io);
      return { code, report: JSON.parse(out.join('\n')) as { differences: Difference[] } };
    };
    try {
      const fresh = await drift();
      expect(fresh.report.differences.filter(notAnotherTestsLogin([]))).toEqual([]);
      expect(adapter.transactions).toEqual([expect.stringMatching(/^begin /), expect.stringMatching(/^rollback /)]);
      expect(adapter.calls.find((c) => c.transactionId)?.sql).toBe('SET TRANSACTION READ ONLY');

      await withConnection(database.ownerUrl, (owner) => owner.query('DROP POLICY users_select ON public.users'));
      const changed = await drift();
      expect(changed.code).toBe(3);
      expect(changed.report.differences.filter(notAnotherTestsLogin([])).map(brief)).toEqual(['missing policy public.users users_select']);
    } finally {
      adapter.restore();
      for (const client of open.values()) await client.end();
      await withConnection(database.adminUrl, (admin) => admin.query(`DROP OWNED BY ${ci.username}; DROP ROLE ${ci.username}`)).catch(() => {});
    }
  }, 120_000);
});
