/**
 * CI's login (migration 021, issue 21) on PostgreSQL 15, made by the deploy's login sync as on Aurora: it reads
 * the migration history (`db status`) and nothing else. Every other way in is tried, each expecting the server's
 * refusal: tenant tables, the history's event log, writes to the history, the schema's functions, the schema's
 * roles, objects of its own, the server's files.
 */
import type { Client } from 'pg';
import { APP_ARN, CI_ARN, createDeployer, projectMigrations, SYNC_ARN, type Deployer } from './support/deploy';
import { createServerDatabase, describeServer, sqlStateOf, withConnection, type ServerDatabase } from './support/server';
import { runDbCli } from '../support/db-cli';



/** The synthesized resource's logins (the app login is an IAM one there), plus the fixture's app login. */
const LOGINS = [
  { SecretArn: APP_ARN, MemberOf: 'app_user' },
  { SecretArn: SYNC_ARN, MemberOf: 'cognito_sync' },
  { SecretArn: CI_ARN, MemberOf: 'migration_reader' },
];

describeServer('CI’s login reads the migration history and nothing else', () => {
  let database: ServerDatabase;
  let deployer: Deployer;
  const asCi = <T,>(fn: (client: Client) => Promise<T>) => withConnection(database.loginUrl(deployer.ci), fn);

  beforeAll(async () => {
    database = await createServerDatabase('empty');
    deployer = createDeployer(database);
    const response = await deployer.deploy(projectMigrations(), 'create', {}, { Logins: LOGINS });
    expect(response.Data.CurrentVersion).toBe(String(projectMigrations().length));
  }, 120_000);
  afterAll(async () => {
    deployer.restore();
    await database.drop();
  });

  test('the deploy makes it a plain login in migration_reader only; the group logs in nowhere and is a member of nothing', async () => {
    const roles = await withConnection(database.adminUrl, async (admin) => (await admin.query<Record<string, unknown>>(
      `SELECT r.rolname = $1 AS is_login, r.rolcanlogin, r.rolsuper, r.rolcreaterole, r.rolcreatedb, r.rolbypassrls, r.rolreplication,
              ARRAY(SELECT g.rolname::text FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid WHERE m.member = r.oid ORDER BY 1) AS groups
         FROM pg_roles r WHERE r.rolname IN ($1, 'migration_reader') ORDER BY 1 DESC`, [deployer.ci.username])).rows);
    const none = { rolsuper: false, rolcreaterole: false, rolcreatedb: false, rolbypassrls: false, rolreplication: false };
    expect(roles).toEqual([
      { is_login: true, rolcanlogin: true, ...none, groups: ['migration_reader'] },
      { is_login: false, rolcanlogin: false, ...none, groups: [] },
    ]);
  });

  test('`db status` over its URL reads the history: every migration applied', async () => {
    const result = await runDbCli(['status', '--database-url', database.loginUrl(deployer.ci)]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const applied = projectMigrations().map((m) => m.fileName.replace(/\.sql$/, ''));
    for (const name of applied) expect(result.stdout).toContain(name);
  }, 60_000);

  test('of all the database’s tables, views and sequences it may SELECT the history’s runner and applied_files, and do nothing else', async () => {
    const privileges = await asCi(async (ci) => (await ci.query<{ relation: string; privilege: string }>(
      `SELECT c.oid::regclass::text AS relation, p.privilege
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace,
              unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER']) AS p(privilege)
        WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_'
          AND has_table_privilege(c.oid, p.privilege)
        ORDER BY 1, 2`)).rows);
    expect(privileges).toEqual([
      { relation: 'migration_history.applied_files', privilege: 'SELECT' },
      { relation: 'migration_history.runner', privilege: 'SELECT' },
    ]);
  });

  test('it may execute none of the schema’s functions', async () => {
    const executable = await asCi(async (ci) => (await ci.query<{ routine: string }>(
      `SELECT p.oid::regprocedure::text AS routine FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND has_function_privilege(p.oid, 'EXECUTE')
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')`)).rows);
    expect(executable).toEqual([]);
  });

  test('every attempt beyond reading the history is refused by the server', async () => {
    const { ci } = deployer;
    const attempts: Record<string, string> = {
      'read tenant data': 'SELECT count(*) FROM public.agent_tasks',
      'read users': 'SELECT email FROM public.users',
      'read the history’s event log': 'SELECT * FROM migration_history.events',
      'mark a migration applied': `INSERT INTO migration_history.applied_files (kind, version, name, path, checksum, duration_ms, runner_version)
                                   VALUES ('migration', 999, 'x', 'migrations/999_x.sql', 'x', 0, 'x')`,
      'change a checksum': `UPDATE migration_history.applied_files SET checksum = 'forged'`,
      'forget a migration': 'DELETE FROM migration_history.applied_files',
      'empty the history': 'TRUNCATE migration_history.applied_files',
      'change the history’s format': 'UPDATE migration_history.runner SET format = 2',
      'lock the history for update': 'SELECT 1 FROM migration_history.applied_files FOR UPDATE',
      'act as a user of the application': `SELECT set_app_user('00000000-0000-0000-0000-000000000001')`,
      'become the application': 'SET ROLE app_user',
      'become service_role': 'SET ROLE service_role',
      'become the Cognito mirror': 'SET ROLE cognito_sync',
      'become the migrating user': `SET ROLE ${decodeURIComponent(new URL(database.ownerUrl).username)}`,
      'grant its group to another role': `GRANT migration_reader TO ${deployer.sync.username}`,
      'give itself CREATEDB': `ALTER ROLE ${ci.username} CREATEDB`,
      'create a table in public': 'CREATE TABLE public.ci_was_here (id int)',
      'create a table in the history': 'CREATE TABLE migration_history.ci_was_here (id int)',
      'create a schema': 'CREATE SCHEMA ci_was_here',
      'create a temporary table': 'CREATE TEMP TABLE ci_was_here (id int)',
      'read a server file': `SELECT pg_read_file('postgresql.conf')`,
      'run a program on the server': `COPY migration_history.applied_files TO PROGRAM 'cat'`,
    };
    const outcomes: Record<string, string> = {};
    for (const [what, sql] of Object.entries(attempts)) outcomes[what] = await asCi((client) => sqlStateOf(client.query(sql)));
    expect(outcomes).toEqual(Object.fromEntries(Object.keys(attempts).map((what) => [what, '42501'])));
  });
});
