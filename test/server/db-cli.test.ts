/**
 * The `db` CLI against the real server as the Aurora-like owner, as a platform engineer runs it: migrations,
 * then seeds, status, verify, and a run with nothing to do. Runs the compiled dist/bin/db.js (npm test builds it).
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createServerDatabase, describeServer, withConnection, type ServerDatabase } from './support/server';
import { runDbCli } from '../support/db-cli';

const ROOT = join(__dirname, '..', '..');
const count = (dir: string) => readdirSync(join(ROOT, dir)).filter((f) => f.endsWith('.sql')).length;


describeServer('the db CLI as the Aurora-like owner', () => {
  let database: ServerDatabase;
  beforeAll(async () => {
    database = await createServerDatabase('empty');
  });
  afterAll(() => database.drop());

  const url = () => database.ownerUrl;

  test('migrates without seeds, then seeds, then has nothing to do; status and verify agree', async () => {
    const migrated = await runDbCli(['migrate', '--database-url', url(), '--no-seeds', '--json']);
    expect(migrated).toMatchObject({ code: 0 });
    const first = JSON.parse(migrated.stdout) as { applied: Array<{ kind: string }> };
    expect(first.applied.map((a) => a.kind)).toEqual(Array(count('migrations')).fill('migration'));

    const seeded = await runDbCli(['migrate', '--database-url', url(), '--seeds', 'seeds', '--json']);
    expect(seeded).toMatchObject({ code: 0 });
    expect((JSON.parse(seeded.stdout) as { applied: Array<{ kind: string }> }).applied.map((a) => a.kind)).toEqual(Array(count('seeds')).fill('seed'));

    const again = await runDbCli(['migrate', '--database-url', url(), '--seeds', 'seeds', '--json']);
    expect(again).toMatchObject({ code: 0 });
    expect((JSON.parse(again.stdout) as { applied: unknown[] }).applied).toEqual([]);

    expect(await runDbCli(['status', '--database-url', url()])).toMatchObject({ code: 0 });
    expect(await runDbCli(['verify', '--database-url', url()])).toMatchObject({ code: 0 });

    // Everything ran as the owner, who is no superuser: the seeds' RLS self-test passed in its own right.
    const owner = await withConnection(url(), async (c) => (await c.query('SELECT rolsuper FROM pg_roles WHERE rolname = current_user')).rows[0]);
    expect(owner).toEqual({ rolsuper: false });
  });
});
