/**
 * What needs a real server with many sessions: runners racing, a killed
 * migrating connection, CREATE INDEX CONCURRENTLY under write load next to a
 * waiting runner, and the lock deadline. The CLI is run as the compiled
 * `dist/bin/db.js` (npm test builds it first).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from 'pg';
import { DEFAULT_LOCK_KEY, fromPgClient, migrate, MigrationError, type MigrateOptions } from '../../lambda/migrator';
import { copyFixture, FIXTURES, type FixtureCopy } from '../support/fixtures';
import { DB_CLI as CLI, runDbCli } from '../support/db-cli';
import { connect, createDatabase, type ScratchDatabase } from '../support/pg-database';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('migration runner sessions on a PostgreSQL server', () => {
  let database: ScratchDatabase;
  let files: FixtureCopy;
  let observer: Client;
  const options = (extra: Partial<MigrateOptions> = {}): MigrateOptions => ({ migrations: files.migrations, seeds: files.seeds, allowSeeds: true, deadline: Date.now() + 60_000, ...extra });
  const cliArgs = (command: string) => [command, '--database-url', database.url, '--migrations', files.migrations, '--seeds', files.seeds];
  const steps = async () => (await observer.query<{ step: string }>('SELECT step FROM applied_log ORDER BY at')).rows.map((r) => r.step);
  const advisoryLocks = async () => (await observer.query("SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())")).rows;

  beforeAll(() => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run "npm run build" first (npm test does)`);
  });
  beforeEach(async () => {
    database = await createDatabase();
    files = copyFixture();
    observer = await connect(database.url, 'observer');
  });
  afterEach(async () => {
    await observer.end().catch(() => {});
    await database.drop();
    files.cleanup();
  });

  it('a CLI run ends its session cleanly: the server reads Terminate, no session is abandoned', async () => {
    const counts = async () => {
      await observer.query('SELECT pg_stat_clear_snapshot()');
      const { rows } = await observer.query<{ sessions: string; abandoned: string }>(
        'SELECT sessions, sessions_abandoned AS abandoned FROM pg_stat_database WHERE datname = current_database()',
      );
      return { sessions: Number(rows[0].sessions), abandoned: Number(rows[0].abandoned) };
    };
    const before = await counts();
    expect((await runDbCli(cliArgs('migrate'))).code).toBe(0);
    expect((await runDbCli(cliArgs('migrate'))).code).toBe(0);
    for (let i = 0; i < 100; i++) {
      const { rows } = await observer.query("SELECT 1 FROM pg_stat_activity WHERE application_name = 'db-migrate'");
      if (rows.length === 0) break;
      await sleep(50);
    }
    // A client that leaves without Terminate is counted in sessions_abandoned (the server sees only EOF).
    let after = await counts();
    for (let i = 0; i < 40 && after.sessions < before.sessions + 2; i++) {
      await sleep(50);
      after = await counts();
    }
    expect(after).toEqual({ sessions: before.sessions + 2, abandoned: before.abandoned });
  });

  it('eight runners started at once apply every file exactly once and all exit 0', async () => {
    const runs = await Promise.all(Array.from({ length: 8 }, () => runDbCli([...cliArgs('migrate'), '--json'])));
    for (const run of runs) expect({ code: run.code, stderr: run.code === 0 ? '' : run.stderr }).toEqual({ code: 0, stderr: '' });
    const applied = runs.flatMap((run) => (JSON.parse(run.stdout) as { applied: Array<{ kind: string; version: number }> }).applied);
    expect(applied.map((a) => `${a.kind}:${a.version}`).sort()).toEqual(['migration:1', 'migration:2', 'migration:3', 'migration:4', 'migration:5', 'seed:1']);
    expect(await steps()).toEqual(['001', '002', '003', '004', '005']);
    expect((await observer.query("SELECT count(*)::int AS n FROM migration_history.events WHERE action = 'apply'")).rows).toEqual([{ n: 6 }]);
    expect(await advisoryLocks()).toEqual([]);
  });

  it('a syntax error in the third of five files exits non-zero naming file and line; the rerun after the fix completes', async () => {
    files.edit('migrations/003_add_status.sql', (t) => t.replace('  SELECT count(*) FROM accounts;', '  SELEC count(*) FROM accounts;'));
    const failed = await runDbCli(cliArgs('migrate'));
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/003_add_status\.sql:8:3: ERROR 42601: syntax error at or near "SELEC"/);
    expect(failed.stderr).toMatch(/applied +\S+001_create_accounts\.sql +\(\d+ ms\)/);
    expect(await steps()).toEqual(['001', '002']);
    expect(await advisoryLocks()).toEqual([]);

    const status = await runDbCli(cliArgs('status'));
    expect(status.code).toBe(2);

    files.edit('migrations/003_add_status.sql', (t) => t.replace('SELEC count', 'SELECT count'));
    const fixed = await runDbCli(cliArgs('migrate'));
    expect(fixed.code).toBe(0);
    expect(await steps()).toEqual(['001', '002', '003', '004', '005']);
    expect((await runDbCli(cliArgs('status'))).code).toBe(0);
  });

  it('a migrating connection killed mid-file: the rerun completes, nothing runs twice, the lock is gone', async () => {
    // Each file sleeps once per row of its switch table: long enough to be killed, then not at all once disarmed.
    await observer.query('CREATE TABLE switch_6 (armed boolean); INSERT INTO switch_6 VALUES (true); CREATE TABLE switch_7 (armed boolean); INSERT INTO switch_7 VALUES (true)');
    files.write('migrations/006_slow.sql', "INSERT INTO applied_log (step) VALUES ('006');\nSELECT pg_sleep(30) FROM switch_6;\nINSERT INTO applied_log (step) VALUES ('006 end');\n");
    files.write(
      'migrations/007_slow_no_tx.sql',
      "-- migrate:no-transaction\nINSERT INTO applied_log (step) VALUES ('007');\nSELECT pg_sleep(30) FROM switch_7;\nINSERT INTO applied_log (step) VALUES ('007 end');\n",
    );

    const runAndKill = async () => {
      const victim = await connect(database.url, 'victim');
      const run = migrate(fromPgClient(victim), options());
      run.catch(() => {});
      for (let i = 0; ; i++) {
        const { rows } = await observer.query(
          "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'victim' AND query LIKE '%pg_sleep(30)%' AND state = 'active'",
        );
        if (rows.length > 0) break;
        if (i > 200) throw new Error('the migration never reached its slow statement');
        await sleep(50);
      }
      await expect(run).rejects.toBeInstanceOf(MigrationError);
      await victim.end().catch(() => {});
      expect(await advisoryLocks()).toEqual([]);
    };
    const progress = async () => (await observer.query('SELECT version::int, statements_done FROM migration_history.applied_files WHERE version >= 6 ORDER BY 1')).rows;

    // Killed inside the transactional 006: it leaves no trace, not even its first INSERT.
    await runAndKill();
    expect(await progress()).toEqual([]);
    expect((await steps()).filter((s) => s.startsWith('006'))).toEqual([]);

    // Killed inside the no-transaction 007: its first statement is recorded as done.
    await observer.query('DELETE FROM switch_6');
    await runAndKill();
    expect(await progress()).toEqual([
      { version: 6, statements_done: null },
      { version: 7, statements_done: 1 },
    ]);

    await observer.query('DELETE FROM switch_7');
    const rerun = await connect(database.url, 'rerun');
    try {
      const result = await migrate(fromPgClient(rerun), options());
      expect(result.applied.map((a) => `${a.kind}:${a.version}:${a.action}`)).toEqual(['migration:7:resume', 'seed:1:apply']);
    } finally {
      await rerun.end();
    }
    const all = await steps();
    for (const step of ['001', '002', '003', '004', '005', '006', '006 end', '007', '007 end']) expect(all.filter((s) => s === step)).toEqual([step]);
  });

  it('CREATE INDEX CONCURRENTLY completes under write load while another runner waits for the lock', async () => {
    files.remove('migrations/004_index_notes.sql');
    files.remove('migrations/005_account_summary.sql');
    await migrate(fromPgClient(observer), options({ allowSeeds: false }));
    await observer.query("INSERT INTO accounts (name) VALUES ('load'); INSERT INTO notes (account_id, body) SELECT 1, 'n' || g FROM generate_series(1, 50000) g");
    files.write('migrations/004_index_notes.sql', readFixture('004_index_notes.sql'));
    files.write('migrations/005_account_summary.sql', readFixture('005_account_summary.sql'));

    let writing = true;
    let written = 0;
    const writers = await Promise.all([1, 2, 3].map((i) => connect(database.url, `writer${i}`)));
    const load = writers.map(async (w, i) => {
      while (writing) {
        if (i === 0) await w.query("BEGIN; INSERT INTO notes (account_id, body) VALUES (1, 'tx'); UPDATE notes SET body = 'u' WHERE id = 1; COMMIT");
        else await w.query("INSERT INTO notes (account_id, body) VALUES (1, 'w')");
        written++;
      }
    });
    const runners = await Promise.all([connect(database.url, 'runner-a'), connect(database.url, 'runner-b')]);
    try {
      const started = Date.now();
      const results = await Promise.all(runners.map((r) => migrate(fromPgClient(r), options({ allowSeeds: false, deadline: Date.now() + 60_000 }))));
      const elapsed = Date.now() - started;
      writing = false;
      await Promise.all(load);
      expect(results.map((r) => r.applied.map((a) => a.version)).sort()).toEqual([[], [4, 5]]);
      expect(elapsed).toBeLessThan(60_000);
      expect(written).toBeGreaterThan(0);
      const index = await observer.query("SELECT indisvalid, indisready FROM pg_index WHERE indexrelid = 'notes_account_id_idx'::regclass");
      expect(index.rows).toEqual([{ indisvalid: true, indisready: true }]);
    } finally {
      writing = false;
      await Promise.all(load).catch(() => {});
      await Promise.all([...writers, ...runners].map((c) => c.end().catch(() => {})));
    }
  });

  it('gives up at the deadline while another session holds the lock, naming the holder', async () => {
    const holder = await connect(database.url, 'lock-holder');
    try {
      await holder.query('SELECT pg_advisory_lock($1::bigint)', [DEFAULT_LOCK_KEY]);
      const { rows } = await holder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      const started = Date.now();
      const err = await migrate(fromPgClient(observer), options({ deadline: Date.now() + 800 })).catch((e: unknown) => e as MigrationError);
      expect(err).toBeInstanceOf(MigrationError);
      expect((err as MigrationError).code).toBe('lock_timeout');
      expect((err as MigrationError).message).toContain(`pid ${rows[0].pid} (lock-holder)`);
      expect(Date.now() - started).toBeLessThan(3000);
    } finally {
      await holder.end();
    }
    expect((await migrate(fromPgClient(observer), options())).applied).toHaveLength(6);
  });
});

function readFixture(name: string): string {
  return readFileSync(join(FIXTURES, 'basic', 'migrations', name), 'utf8');
}
