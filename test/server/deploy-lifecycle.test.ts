/**
 * The migration handler through a deploy's life, on a real server as the Aurora-like owner, with the project's
 * own migrations and seeds: Create, an Update with a new file, a no-op Update and a rollback Update (older
 * files), each syncing the logins from their secrets (rotated between deploys). After each deploy, every login
 * connects with its secret's current password and does its job: the app login sees one tenant, the Cognito
 * login mirrors a user through the real post-confirmation trigger.
 *
 * Secrets Manager is mocked at the API boundary; the Data API is served by the Cognito login's own connections.
 */
import type { PostConfirmationTriggerEvent } from 'aws-lambda';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createPostConfirmationHandler } from '../../lambda/cognito-post-confirmation';
import { createLogger } from '../../lambda/shared/logger';
import { createDataApiAdapterFor } from '../support/data-api-adapter';
import { SEED } from '../support/embedded';
import { createDeployer, FIXTURES, projectMigrations, SYNC_ARN, type Deployer } from './support/deploy';
import { createServerDatabase, describeServer, sqlStateOf, withConnection, type ServerDatabase } from './support/server';

const CLUSTER_ARN = 'arn:aws:rds:eu-west-1:111122223333:cluster:saas-dev';
const ALL = projectMigrations();
const OLDER = projectMigrations(ALL.length - 1);
// Versions as the runner records them, from the file names.
const VERSIONS = ALL.map((file) => file.fileName.split('_')[0]);
const LATEST = Number(VERSIONS[VERSIONS.length - 1]);
const PREVIOUS = Number(VERSIONS[VERSIONS.length - 2]);

describeServer('a deploy’s life on a real server, as the Aurora-like owner', () => {
  let db: ServerDatabase;
  let deployer: Deployer;
  let app: Deployer['app'];
  let sync: Deployer['sync'];
  let logs: string[];

  beforeAll(async () => {
    db = await createServerDatabase('empty');
    deployer = createDeployer(db);
    ({ app, sync, logs } = deployer);
  });
  afterAll(async () => {
    deployer.restore();
    await db.drop();
  });
  afterEach(() => {
    // No log line carries a password.
    for (const secret of [app.password, sync.password, decodeURIComponent(new URL(db.ownerUrl).password)]) expect(logs.join('\n')).not.toContain(secret);
  });

  const deploy = (migrations: typeof ALL, requestType: 'create' | 'update') => deployer.deploy(migrations, requestType);
  const rotate = () => deployer.rotate();

  /** Each login logs in with its secret's current password and does its job. */
  async function loginsDoTheirJobs(): Promise<void> {
    // The app login, as the application: one transaction, set_app_user first; Alice sees Acme only.
    const seen = await withConnection(db.loginUrl(app), async (client) => {
      await client.query('BEGIN');
      await client.query('SELECT set_app_user($1)', [SEED.user.alice]);
      const { rows } = await client.query<{ id: string }>('SELECT id FROM organizations');
      await client.query('COMMIT');
      return rows.map((r) => r.id);
    });
    expect(seen).toEqual([SEED.org.acme]);

    // The Cognito login, through the real post-confirmation trigger and a Data API served by its own connection.
    const dataApi = createDataApiAdapterFor(
      (secretArn, text, values) =>
        secretArn !== SYNC_ARN
          ? Promise.resolve(undefined)
          : withConnection(db.loginUrl(sync), async (client) => {
              const result = await client.query(text, values);
              return { rows: result.rows, fields: result.fields, affectedRows: result.rowCount ?? 0 };
            }),
      { resourceArn: CLUSTER_ARN },
    );
    try {
      const sub = `sub-${randomBytes(6).toString('hex')}`;
      const trigger = createPostConfirmationHandler({
        client: dataApi.client,
        target: { resourceArn: CLUSTER_ARN, secretArn: SYNC_ARN, database: db.name },
        logger: createLogger({ service: 'test', write: (line) => logs.push(line) }),
      });
      const confirmation = JSON.parse(readFileSync(join(FIXTURES, 'cognito', 'post-confirmation.json'), 'utf8')) as PostConfirmationTriggerEvent;
      confirmation.request.userAttributes = { ...confirmation.request.userAttributes, sub, email: `${sub}@example.com` };
      await trigger(confirmation);
      const mirrored = await withConnection(db.ownerUrl, async (owner) => {
        await owner.query('BEGIN; SET LOCAL ROLE service_role');
        const { rows } = await owner.query('SELECT email, status FROM users WHERE cognito_sub = $1', [sub]);
        await owner.query('COMMIT');
        return rows;
      });
      expect(mirrored).toEqual([{ email: `${sub}@example.com`, status: 'active' }]);
    } finally {
      dataApi.restore();
    }
  }

  const history = () =>
    withConnection(db.ownerUrl, async (owner) => (await owner.query(`SELECT kind, version, checksum FROM migration_history.applied_files ORDER BY kind, version`)).rows);

  test('Create migrates and seeds an empty database and creates both logins', async () => {
    const response = await deploy(OLDER, 'create');
    expect(response.Data).toEqual({ CurrentVersion: String(PREVIOUS), Applied: VERSIONS.slice(0, -1).join(','), SeedsApplied: '001,002', Rollback: 'false' });
    await loginsDoTheirJobs();
  });

  test('an Update with a new migration applies it and re-syncs the rotated logins (the old passwords stop working)', async () => {
    const before = { ...app };
    rotate();
    const response = await deploy(ALL, 'update');
    expect(response.Data).toMatchObject({ CurrentVersion: String(LATEST), Applied: VERSIONS[VERSIONS.length - 1], Rollback: 'false' });
    expect(logs.some((line) => line.includes('login role updated'))).toBe(true);
    expect(await sqlStateOf(withConnection(db.loginUrl(before), (c) => c.query('SELECT 1')))).toBe('28P01');
    await loginsDoTheirJobs();
  });

  test('an Update with nothing new changes no history and keeps the logins working', async () => {
    const before = await history();
    const response = await deploy(ALL, 'update');
    expect(response.Data).toMatchObject({ CurrentVersion: String(LATEST), Applied: '', SeedsApplied: '', Rollback: 'false' });
    expect(await history()).toEqual(before);
    await loginsDoTheirJobs();
  });

  test('a deploy whose secrets already open a session sets no password: a rotation racing it keeps its new one', async () => {
    deployer.statements.length = 0;
    const logged = logs.length;
    await deploy(ALL, 'update');
    // Each login was tried with its secret's password (a session of its own), and nothing was altered or granted.
    expect(new Set(deployer.statements.map((s) => s.user))).toEqual(new Set([decodeURIComponent(new URL(db.ownerUrl).username)]));
    expect(deployer.statements.filter((s) => /^\s*(ALTER|CREATE|GRANT|REVOKE)\s+ROLE|^\s*(GRANT|REVOKE)\s/i.test(s.text))).toEqual([]);
    expect(logs.slice(logged).filter((line) => line.includes('login role unchanged'))).toHaveLength(2);
    // A rotation since the last deploy (the password in the database is not the secret's): the sync sets it.
    deployer.statements.length = 0;
    rotate();
    await deploy(ALL, 'update');
    expect(deployer.statements.filter((s) => /^ALTER ROLE .* PASSWORD 'SCRAM-SHA-256\$/.test(s.text))).toHaveLength(2);
    await loginsDoTheirJobs();
  });

  test('a rollback Update (older files, newer database) applies nothing and still syncs the logins', async () => {
    const before = await history();
    rotate();
    const response = await deploy(OLDER, 'update');
    expect(response.Data).toEqual({ CurrentVersion: String(LATEST), Applied: '', Rollback: 'true' });
    expect(await history()).toEqual(before);
    await loginsDoTheirJobs();
  });

  test('the logins hold LOGIN and their group only, and the owner never became a superuser', async () => {
    const roles = await withConnection(db.adminUrl, async (admin) =>
      (await admin.query(`
        SELECT r.rolname, r.rolsuper, r.rolcreaterole, r.rolcreatedb, r.rolbypassrls, r.rolcanlogin,
               ARRAY(SELECT g.rolname::text FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid WHERE m.member = r.oid) AS groups
          FROM pg_roles r WHERE r.rolname IN ($1, $2, current_database()::text) OR r.rolname = $3 ORDER BY r.rolname`,
        [app.username, sync.username, decodeURIComponent(new URL(db.ownerUrl).username)])).rows);
    const login = { rolsuper: false, rolcreaterole: false, rolcreatedb: false, rolbypassrls: false, rolcanlogin: true };
    expect(roles).toEqual(expect.arrayContaining([
      { rolname: app.username, ...login, groups: ['app_user'] },
      { rolname: sync.username, ...login, groups: ['cognito_sync'] },
      expect.objectContaining({ rolname: decodeURIComponent(new URL(db.ownerUrl).username), rolsuper: false, rolbypassrls: false }),
    ]));
  });
});
