/**
 * Deploys meet other sessions on a real server: another deploy, an application writing, an application
 * transaction holding a lock that a migration needs. The deploy either finishes or fails in time with a reason
 * naming the file, and never leaves a migration half-applied.
 */
import type { Client } from 'pg';
import { SEED } from '../support/embedded';
import { createDeployer, projectMigrations } from './support/deploy';
import { connectTo, createServerDatabase, describeServer, withConnection, type ServerDatabase } from './support/server';

const ALL = projectMigrations();
const LATEST = ALL.length;
const OLDER = projectMigrations(LATEST - 1);
/**
 * The newest migration that runs in one transaction (a no-transaction file records progress by design) and changes
 * the application's tables or their policies, so it needs locks an application transaction can hold.
 */
const TRANSACTIONAL = ALL.map((file) => !/^-- migrate:no-transaction/.test(file.text) && /^\s*(ALTER TABLE|CREATE POLICY|ALTER POLICY|DROP POLICY)\b/im.test(file.text))
  .lastIndexOf(true) + 1;
const transactionalFile = ALL[TRANSACTIONAL - 1].displayPath!;

const history = (db: ServerDatabase) =>
  withConnection(db.ownerUrl, async (owner) =>
    (await owner.query<{ kind: string; version: number }>(`SELECT kind, version FROM migration_history.applied_files ORDER BY kind, version`)).rows);

/** The policies of the schema as text: what a half-applied migration would change. */
const policies = (db: ServerDatabase) =>
  withConnection(db.ownerUrl, async (owner) =>
    (await owner.query(`SELECT tablename, policyname, cmd, roles::text, qual, with_check FROM pg_policies ORDER BY 1, 2`)).rows);

describeServer('deploys meeting other sessions', () => {
  const databases: ServerDatabase[] = [];
  const fresh = async (template: 'empty' | 'seeded') => {
    const db = await createServerDatabase(template);
    databases.push(db);
    return db;
  };
  afterAll(async () => {
    for (const db of databases) await db.drop();
  });

  test('two deploys at once: one applies, the other waits for it, both succeed', async () => {
    const db = await fresh('empty');
    const deployer = createDeployer(db);
    try {
      const responses = await Promise.all([deployer.deploy(ALL, 'create'), deployer.deploy(ALL, 'create')]);
      const applied = responses.map((r) => r.Data.Applied).sort();
      expect(applied).toEqual(['', ALL.map((_, i) => String(i + 1).padStart(3, '0')).join(',')]);
      expect(responses.map((r) => r.Data.CurrentVersion)).toEqual([String(LATEST), String(LATEST)]);
      const rows = await history(db);
      expect(rows.filter((r) => r.kind === 'migration').map((r) => Number(r.version))).toEqual(ALL.map((_, i) => i + 1));
      // Both synced the same logins; each still logs in.
      for (const login of [deployer.app, deployer.sync]) {
        await withConnection(db.loginUrl(login), (client) => client.query('SELECT 1'));
      }
    } finally {
      deployer.restore();
    }
  });

  test('a deploy while the application writes: every write commits, the migration applies', async () => {
    const db = await fresh('empty');
    const deployer = createDeployer(db);
    let app: Client | undefined;
    try {
      await deployer.deploy(OLDER, 'create');
      app = await connectTo(db.loginUrl(deployer.app), 'application');
      let writing = true;
      let committed = 0;
      let retried = 0;
      // What a well-behaved application does: one transaction per request, run again when PostgreSQL aborted it
      // to break a deadlock (a migration altering policies locks tables in another order than requests do).
      const writes = (async () => {
        while (writing) {
          try {
            await app!.query('BEGIN');
            await app!.query('SELECT set_app_user($1)', [SEED.user.alice]);
            await app!.query(`INSERT INTO agent_tasks (organization_id, agent_type) VALUES ($1, 'concurrent')`, [SEED.org.acme]);
            await app!.query('COMMIT');
            committed++;
          } catch (error) {
            await app!.query('ROLLBACK');
            if (!['40P01', '40001'].includes((error as { code?: string }).code ?? '')) throw error;
            retried++;
          }
        }
      })();
      await new Promise((resolve) => setTimeout(resolve, 100));
      const response = await deployer.deploy(ALL, 'update');
      await new Promise((resolve) => setTimeout(resolve, 100));
      writing = false;
      await writes;

      expect(response.Data).toMatchObject({ CurrentVersion: String(LATEST), Applied: String(LATEST).padStart(3, '0') });
      const [{ n }] = await withConnection(db.ownerUrl, async (owner) => {
        await owner.query('BEGIN; SET LOCAL ROLE service_role');
        const { rows } = await owner.query<{ n: number }>(`SELECT count(*)::int AS n FROM agent_tasks WHERE agent_type = 'concurrent'`);
        await owner.query('COMMIT');
        return rows;
      });
      expect(committed).toBeGreaterThan(5);
      expect(n).toBe(committed);
      expect(retried).toBeLessThanOrEqual(3);
    } finally {
      await app?.end();
      deployer.restore();
    }
  });

  test('an application transaction holding a lock the newest transactional migration of the tables needs: the deploy fails on lock_timeout, naming the file, and changes nothing', async () => {
    const db = await fresh('empty');
    const deployer = createDeployer(db);
    let app: Client | undefined;
    try {
      await deployer.deploy(projectMigrations(TRANSACTIONAL - 1), 'create');
      const policiesBefore = await policies(db);
      const historyBefore = await history(db);

      // A long request: its transaction has read every table and is writing one.
      app = await connectTo(db.loginUrl(deployer.app), 'long-request');
      await app.query('BEGIN');
      await app.query('SELECT set_app_user($1)', [SEED.user.alice]);
      for (const table of ['organizations', 'organization_members', 'users', 'sessions', 'roles', 'user_roles', 'agent_tasks', 'agent_results']) {
        await app.query(`SELECT count(*) FROM ${table}`);
      }
      expect((await app.query('UPDATE agent_tasks SET priority = priority WHERE organization_id = $1', [SEED.org.acme])).rowCount).toBeGreaterThan(0);

      const started = Date.now();
      const failure = await deployer.deploy(projectMigrations(TRANSACTIONAL), 'update', { reserveMs: 0 }).then(
        () => undefined,
        (error: Error) => error,
      );
      expect(failure?.message).toMatch(new RegExp(`${transactionalFile.replace('.', '\\.')}:\\d+: ERROR 55P03: .*lock`));
      expect(Date.now() - started).toBeLessThan(30_000);
      expect(await policies(db)).toEqual(policiesBefore);
      expect(await history(db)).toEqual(historyBefore);

      // Once the request ends, the same deploy goes through.
      await app.query('COMMIT');
      const retry = await deployer.deploy(projectMigrations(TRANSACTIONAL), 'update');
      expect(retry.Data).toMatchObject({ CurrentVersion: String(TRANSACTIONAL), Applied: String(TRANSACTIONAL).padStart(3, '0') });
    } finally {
      await app?.end();
      deployer.restore();
    }
  });
});
