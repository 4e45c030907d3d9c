/**
 * The runner's single-session behaviour on a real PostgreSQL server (the same
 * suite runs on PGlite in test/db/migrator.test.ts), over a `pg` client as the
 * deploy Lambda and the db CLI use. Each test gets its own database.
 */
import type { Client } from 'pg';
import { DEFAULT_LOCK_KEY, fromPgClient, migrate, type MigrateOptions, type SqlClient } from '../../lambda/migrator';
import { copyFixture, type FixtureCopy } from '../support/fixtures';
import { connect, createDatabase } from '../support/pg-database';
import { runnerBehaviour } from '../support/runner-behaviour';

describe('migration runner on a PostgreSQL server', () => {
  runnerBehaviour({
    async open() {
      const database = await createDatabase();
      const client = await connect(database.url, 'migrator-test');
      return {
        client: fromPgClient(client),
        async close() {
          await client.end().catch(() => {});
          await database.drop();
        },
      };
    },
  });
});

/**
 * Two sessions on a fresh database: `holder`, which holds the runners' lock, and `runner`, whose statements
 * are recorded in `sent` as the runner issues them.
 */
async function withLockHeldElsewhere(
  test: (t: { files: FixtureCopy; holder: Client; runner: SqlClient; sent: string[]; options: MigrateOptions }) => Promise<void>,
): Promise<void> {
  const database = await createDatabase();
  const files = copyFixture();
  const holder = await connect(database.url, 'lock-holder');
  const runnerConnection = await connect(database.url, 'runner');
  try {
    const sent: string[] = [];
    const client = fromPgClient(runnerConnection);
    const runner: SqlClient = { ...client, query: (text, params) => (sent.push(text), client.query(text, params)) };
    await test({ files, holder, runner, sent, options: { migrations: files.migrations, seeds: files.seeds, allowSeeds: true, deadline: Date.now() + 60_000 } });
  } finally {
    await holder.end().catch(() => {});
    await runnerConnection.end().catch(() => {});
    files.cleanup();
    await database.drop();
  }
}

const holdLock = (holder: Client) => holder.query('SELECT pg_advisory_lock($1::bigint)', [DEFAULT_LOCK_KEY]);

// In each, waiting for the lock would end in lock_timeout, or in jest's timeout first.
describe('while another session holds the lock', () => {
  it('a runner whose files are bad fails at once with the file error', () =>
    withLockHeldElsewhere(async ({ files, holder, runner, options }) => {
      files.write('migrations/003_same_version.sql', 'SELECT 1;\n');
      await holdLock(holder);
      await expect(migrate(runner, options)).rejects.toMatchObject({ code: 'invalid_file' });
    }));

  it('a run with nothing to do finishes without waiting: it never asks for the lock', () =>
    withLockHeldElsewhere(async ({ holder, runner, sent, options }) => {
      expect((await migrate(runner, options)).applied).toHaveLength(6);
      await holdLock(holder);
      sent.length = 0;
      expect((await migrate(runner, options)).applied).toEqual([]);
      expect(sent.filter((s) => s.includes('advisory'))).toEqual([]);
    }));

  it('a runner that has to wait does not act on the history it read before the lock, but reads it again under the lock', () =>
    withLockHeldElsewhere(async ({ holder, runner, sent, options }) => {
      // The waiting runner reads the (still empty) history without the lock, finds work, and asks for the lock.
      await holdLock(holder);
      const waiting = migrate(runner, options);
      const kinds = () => sent.map((s) => (s.includes('pg_try_advisory_lock') ? 'lock' : s.includes('migration_history.runner') ? 'history' : s));
      while (!kinds().includes('lock')) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(kinds().slice(0, 2)).toEqual(['history', 'lock']);

      // Meanwhile the holder migrates everything (its session holds the lock already) and lets go.
      expect((await migrate(fromPgClient(holder), options)).applied).toHaveLength(6);
      await holder.query('SELECT pg_advisory_unlock($1::bigint)', [DEFAULT_LOCK_KEY]);

      // Acting on the stale read would re-run every file (and fail on the tables that now exist).
      expect((await waiting).applied).toEqual([]);
      expect(kinds().filter((k) => k === 'history')).toHaveLength(2);
      const { rows } = await holder.query<{ n: string }>("SELECT count(*) AS n FROM migration_history.events WHERE action = 'apply'");
      expect(Number(rows[0].n)).toBe(6);
    }));
});
