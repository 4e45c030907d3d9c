/**
 * `npm run bench -- --database-url OWNER_URL --admin-url ADMIN_URL` end to end at a tiny size on the real server:
 * the same checks as on PGlite (test/support/bench-rls.ts), plus what only a server shows — the owner is no
 * superuser, the benchmark works in a scratch database of its own, and drops it (and the roles it made) at the
 * end, after a failure too. A superuser as the owner is refused before anything is created.
 */
import { randomBytes } from 'node:crypto';
import { BenchSetupError } from '../../bench/rls/database';
import { runRlsBench, type RlsBenchReport } from '../../bench/rls/run';
import { describeTinyBenchReport, TINY } from '../support/bench-rls';
import { describeServer, serverTier, withConnection } from './support/server';

/** A scratch database name of this test run, so the global teardown would catch a leftover. */
const scratchName = (kind: string) => `${serverTier!.prefix}_bench_${kind}_${randomBytes(3).toString('hex')}`;

/** Databases and roles on the server whose names start with `name`. */
async function leftovers(name: string): Promise<string[]> {
  return withConnection(serverTier!.adminUrl, async (admin) => {
    const pattern = `${name.replaceAll('_', '\\_')}%`;
    const databases = await admin.query<{ n: string }>('SELECT datname AS n FROM pg_database WHERE datname LIKE $1', [pattern]);
    const roles = await admin.query<{ n: string }>('SELECT rolname AS n FROM pg_roles WHERE rolname LIKE $1', [pattern]);
    return [...databases.rows, ...roles.rows].map((r) => r.n);
  });
}

describeServer('the RLS benchmark on a real server', () => {
  const databaseName = serverTier ? scratchName('run') : '';
  let report: RlsBenchReport;
  const progress: string[] = [];
  const signalListeners = () => ['SIGINT', 'SIGTERM', 'SIGHUP'].map((signal) => process.listenerCount(signal));
  let listenersBefore: number[];
  let listenersDuring: number[] = [];
  beforeAll(async () => {
    const { ownerUrl, adminUrl } = serverTier!;
    listenersBefore = signalListeners();
    report = await runRlsBench({ ...TINY, server: { databaseUrl: ownerUrl, adminUrl, databaseName } }, (line) => {
      progress.push(line);
      if (line.startsWith('generating the data set')) listenersDuring = signalListeners();
    });
  }, 300_000);

  describeTinyBenchReport(() => report);

  test('records the engine: PostgreSQL with pgvector, as an owner that is no superuser', () => {
    expect(report.environment).toMatchObject({ engine: 'postgresql', ownerIsSuperuser: false, pgvector: expect.stringMatching(/^0\.8\./) });
    expect(report.environment.serverVersion).toMatch(/^1[5-9]\./);
    expect(report.environment.database).toContain(databaseName);
    expect(report.environment.settings).toHaveProperty('shared_buffers');
  });

  test('records the URLs without their passwords', () => {
    const { server } = report.options;
    expect(server).toMatchObject({ databaseName });
    for (const [url, given] of [[server!.databaseUrl, serverTier!.ownerUrl], [server!.adminUrl, serverTier!.adminUrl]]) {
      const password = new URL(given).password;
      if (password) expect(url).not.toContain(`:${password}@`);
    }
  });

  test('worked in a scratch database of its own, and dropped it and its roles at the end', async () => {
    expect(progress).toEqual(expect.arrayContaining([expect.stringMatching(`created the scratch database ${databaseName}`), `dropped the scratch database ${databaseName}`]));
    expect(await leftovers(databaseName)).toEqual([]);
  });

  test('drops the scratch database on SIGINT, SIGTERM or SIGHUP while it runs, and leaves no handler behind', () => {
    expect(listenersDuring).toEqual(listenersBefore.map((n) => n + 1));
    expect(signalListeners()).toEqual(listenersBefore);
  });

  test('drops the scratch database when the run fails half-way', async () => {
    const name = scratchName('failed');
    const { ownerUrl, adminUrl } = serverTier!;
    const failing = (line: string) => {
      if (line.startsWith('generating the data set')) throw new Error('stopped by the test');
    };
    await expect(runRlsBench({ ...TINY, server: { databaseUrl: ownerUrl, adminUrl, databaseName: name } }, failing)).rejects.toThrow('stopped by the test');
    expect(await leftovers(name)).toEqual([]);
  }, 120_000);

  test('refuses a superuser as the owner, naming the flag, before creating anything', async () => {
    const name = scratchName('refused');
    const { adminUrl } = serverTier!;
    const run = runRlsBench({ ...TINY, server: { databaseUrl: adminUrl, adminUrl, databaseName: name } });
    await expect(run).rejects.toThrow(BenchSetupError);
    await expect(run).rejects.toThrow(/^--database-url logs in as \S+, a superuser/);
    expect(await leftovers(name)).toEqual([]);
  });
});
