/**
 * The runner's single-session behaviour on a real PostgreSQL server (the same
 * suite runs on PGlite in test/db/migrator.test.ts), over a plain `pg` client
 * (as the deploy Lambda uses) and a pipelining one (as the db CLI uses, which
 * sends the lock attempt and the history read in one round trip). Each test
 * gets its own database.
 */
import { fromPgClient, migrate } from '../../lambda/migrator';
import { copyFixture } from '../support/fixtures';
import { connect, createDatabase } from '../support/pg-database';
import { runnerBehaviour } from '../support/runner-behaviour';

for (const pipeline of [false, true]) {
  describe(`migration runner on a PostgreSQL server${pipeline ? ', pipelining' : ''}`, () => {
    runnerBehaviour({
      async open() {
        const database = await createDatabase();
        const client = await connect(database.url, 'migrator-test', { pipeline });
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
}

describe('a runner whose files are bad, while another session holds the lock', () => {
  it('fails at once with the file error instead of waiting for the lock', async () => {
    const database = await createDatabase();
    const files = copyFixture();
    const holder = await connect(database.url, 'lock-holder');
    const runner = await connect(database.url, 'runner', { pipeline: true });
    try {
      files.write('migrations/003_same_version.sql', 'SELECT 1;\n');
      await holder.query('SELECT pg_advisory_lock(-2738387643843393297)');
      // Waiting would end in lock_timeout, or in jest's timeout first.
      const run = migrate(fromPgClient(runner), { migrations: files.migrations, seeds: files.seeds, deadline: Date.now() + 60_000 });
      await expect(run).rejects.toMatchObject({ code: 'invalid_file' });
    } finally {
      await holder.end().catch(() => {});
      await runner.end().catch(() => {});
      files.cleanup();
      await database.drop();
    }
  });
});

describe('a run with nothing to do, while another session holds the lock', () => {
  it('finishes without waiting: it never asks for the lock', async () => {
    const database = await createDatabase();
    const files = copyFixture();
    const holder = await connect(database.url, 'lock-holder');
    const runner = await connect(database.url, 'runner');
    try {
      const options = { migrations: files.migrations, seeds: files.seeds, allowSeeds: true };
      expect((await migrate(fromPgClient(runner), options)).applied).toHaveLength(6);
      await holder.query('SELECT pg_advisory_lock(-2738387643843393297)');
      const sent: string[] = [];
      const runnerClient = fromPgClient(runner);
      const watched = { ...runnerClient, query: (text: string, params?: readonly unknown[]) => (sent.push(text), runnerClient.query(text, params)) };
      // Waiting would end in lock_timeout, or in jest's timeout first.
      const result = await migrate(watched as typeof runnerClient, { ...options, deadline: Date.now() + 60_000 });
      expect(result.applied).toEqual([]);
      expect(sent.filter((s) => s.includes('advisory'))).toEqual([]);
    } finally {
      await holder.end().catch(() => {});
      await runner.end().catch(() => {});
      files.cleanup();
      await database.drop();
    }
  });
});

describe('a pipelining runner that has to wait for the lock', () => {
  it('ignores the history it read beside its failed first attempt and reads it again under the lock', async () => {
    const database = await createDatabase();
    const files = copyFixture();
    const holder = await connect(database.url, 'lock-holder');
    const waiter = await connect(database.url, 'waiting-runner', { pipeline: true });
    try {
      const options = { migrations: files.migrations, seeds: files.seeds, allowSeeds: true };
      // Another session holds the runners' lock while the waiting runner makes its first attempt
      // and reads the (still empty) history alongside it.
      await holder.query('SELECT pg_advisory_lock(-2738387643843393297)');
      const sent: string[] = [];
      const waiterClient = fromPgClient(waiter);
      const watched = { ...waiterClient, query: (text: string, params?: readonly unknown[]) => (sent.push(text), waiterClient.query(text, params)) };
      const waiting = migrate(watched as typeof waiterClient, { ...options, deadline: Date.now() + 30_000 });
      // First the history alone, without the lock (a run with nothing to do stops there); this one has work.
      const kinds = () => sent.map((s) => (s.includes('pg_try_advisory_lock') ? 'lock' : s.includes('migration_history.runner') ? 'history' : s));
      while (kinds().filter((k) => k === 'history').length < 2) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(kinds().slice(0, 3)).toEqual(['history', 'lock', 'history']);

      // Meanwhile the holder migrates everything (its session holds the lock already) and lets go.
      const first = await migrate(fromPgClient(holder), options);
      expect(first.applied).toHaveLength(6);
      await holder.query('SELECT pg_advisory_unlock(-2738387643843393297)');

      // Acting on the stale read would re-run every file (and fail on the tables that now exist).
      const second = await waiting;
      expect(second.applied).toEqual([]);
      const { rows } = await holder.query<{ n: string }>("SELECT count(*) AS n FROM migration_history.events WHERE action = 'apply'");
      expect(Number(rows[0].n)).toBe(6);
    } finally {
      await holder.end().catch(() => {});
      await waiter.end().catch(() => {});
      files.cleanup();
      await database.drop();
    }
  });
});
