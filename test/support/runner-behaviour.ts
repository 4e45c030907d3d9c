/**
 * Behaviour of the runner that one database session can show, run on both
 * engines: the real server (test/pg) and PGlite (test/db). Every test gets a
 * fresh database and its own copy of the fixture files.
 */
import { countingClient, migrate, inspect, MigrationError, readHistory, repair, type MigrateOptions, type SqlClient } from '../../lambda/migrator';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { copyFixture, FIXTURES, type FixtureCopy } from './fixtures';

export interface TestDatabase {
  /** The session the runner uses. */
  readonly client: SqlClient;
  close(): Promise<void>;
}

export interface Harness {
  /** A new, empty database. */
  open(): Promise<TestDatabase>;
}

async function rows<T = Record<string, unknown>>(client: SqlClient, sql: string): Promise<T[]> {
  return (await client.query<T>(sql)).rows;
}

async function failure(run: Promise<unknown>): Promise<MigrationError> {
  try {
    await run;
  } catch (err) {
    if (err instanceof MigrationError) return err;
    throw err;
  }
  throw new Error('expected the run to fail');
}

const warnings = () => {
  const seen: string[] = [];
  return { seen, logger: { info: () => {}, warn: (m: string) => seen.push(m), error: () => {} } };
};

export function runnerBehaviour(harness: Harness): void {
  let db: TestDatabase;
  let files: FixtureCopy;
  const options = (extra: Partial<MigrateOptions> = {}): MigrateOptions => ({ migrations: files.migrations, seeds: files.seeds, allowSeeds: true, ...extra });
  const stepsLogged = async () => (await rows<{ step: string }>(db.client, 'SELECT step FROM applied_log ORDER BY at')).map((r) => r.step);

  beforeEach(async () => {
    db = await harness.open();
    files = copyFixture();
  });
  afterEach(async () => {
    await db?.close();
    files?.cleanup();
  });

  it('applies migrations then seeds once, and a second run is a no-op of one statement, the history read, without the lock', async () => {
    const first = await migrate(db.client, options());
    expect(first.applied.map((a) => `${a.kind}:${a.version}`)).toEqual(['migration:1', 'migration:2', 'migration:3', 'migration:4', 'migration:5', 'seed:1']);
    expect(first.currentVersion).toBe(5);

    const counted = countingClient(db.client);
    const second = await migrate(counted, options());
    expect(second.applied).toEqual([]);
    expect(second.skipped).toHaveLength(6);
    expect(counted.statements).toBe(1);
    expect(counted.roundTrips).toBe(1);

    expect(await stepsLogged()).toEqual(['001', '002', '003', '004', '005']);
    const history = await rows<{ kind: string; version: string; checksum: string; applied_by: string; runner_version: string; statements_done: number | null }>(
      db.client,
      'SELECT kind, version::text, checksum, applied_by, runner_version, statements_done FROM migration_history.applied_files ORDER BY kind, version',
    );
    expect(history.map((h) => `${h.kind}:${h.version}`)).toEqual(['migration:1', 'migration:2', 'migration:3', 'migration:4', 'migration:5', 'seed:1']);
    expect(history.every((h) => /^[0-9a-f]{64}$/.test(h.checksum) && h.applied_by.length > 0 && h.runner_version && h.statements_done === null)).toBe(true);
    // The seed ran as its role, and the session is back to its own role afterwards.
    expect(await rows(db.client, "SELECT name FROM accounts ORDER BY name")).toEqual([{ name: 'alpha' }, { name: 'beta' }]);
    expect(await rows(db.client, 'SELECT current_user = session_user AS same')).toEqual([{ same: true }]);
    expect(await rows(db.client, "SELECT indisvalid FROM pg_index WHERE indexrelid = 'notes_account_id_idx'::regclass")).toEqual([{ indisvalid: true }]);
  });

  it('stops at a syntax error in the third of five files: two applied, nothing of the third, then completes once fixed', async () => {
    files.edit('migrations/003_add_status.sql', (t) => t.replace('  SELECT count(*) FROM accounts;', '  SELEC count(*) FROM accounts;'));
    const err = await failure(migrate(db.client, options()));
    expect(err.code).toBe('sql_error');
    expect(err.file).toMatch(/migrations\/003_add_status\.sql$/);
    expect([err.line, err.column, err.sqlState, err.statementLine]).toEqual([8, 3, '42601', 5]);
    expect(err.reason).toMatch(/003_add_status\.sql:8:3: ERROR 42601: syntax error at or near "SELEC"/);

    expect(await stepsLogged()).toEqual(['001', '002']);
    // The file's first statement (ALTER TABLE) was rolled back with the rest.
    expect(await rows(db.client, "SELECT 1 FROM information_schema.columns WHERE table_name = 'accounts' AND column_name = 'status'")).toEqual([]);
    expect(await rows(db.client, "SELECT version::int FROM migration_history.applied_files WHERE kind = 'migration' ORDER BY 1")).toEqual([{ version: 1 }, { version: 2 }]);

    files.edit('migrations/003_add_status.sql', (t) => t.replace('SELEC count', 'SELECT count'));
    const rerun = await migrate(db.client, options());
    expect(rerun.applied.map((a) => a.version)).toEqual([3, 4, 5, 1]);
    expect(await stepsLogged()).toEqual(['001', '002', '003', '004', '005']);
  });

  it('points at the error in the first statement of a file, past the transaction the runner opens with it', async () => {
    files.write('migrations/006_missing.sql', '-- reads a table that is not there\nSELECT id FROM no_such_table;\n');
    const err = await failure(migrate(db.client, options({ allowSeeds: false })));
    expect([err.line, err.column, err.sqlState]).toEqual([2, 16, '42P01']);
    expect(await rows(db.client, "SELECT count(*)::int AS n FROM migration_history.applied_files WHERE version = 6")).toEqual([{ n: 0 }]);
  });

  it('checks every file about to run before the first one runs', async () => {
    files.write('migrations/006_bad.sql', "INSERT INTO applied_log (step) VALUES ('006');\nCOMMIT;\n");
    const err = await failure(migrate(db.client, options()));
    expect(err.code).toBe('invalid_file');
    expect(err.reason).toMatch(/006_bad\.sql:2:1: COMMIT is not allowed/);
    // Nothing ran, not even the valid files before it.
    expect(await rows(db.client, "SELECT 1 FROM pg_namespace WHERE nspname = 'migration_history'")).toEqual([]);
  });

  it('stops on an edited applied file before applying anything, and accepts the same file with CRLF line endings', async () => {
    await migrate(db.client, options({ allowSeeds: false }));
    files.write('migrations/006_more.sql', "INSERT INTO applied_log (step) VALUES ('006');\n");

    files.edit('migrations/002_create_notes.sql', (t) => t.replace("'empty; really'", "'blank'"));
    const err = await failure(migrate(db.client, options()));
    expect(err.code).toBe('drift');
    expect(err.files).toEqual([expect.stringMatching(/002_create_notes\.sql$/)]);
    expect(err.reason).toContain('002_create_notes.sql');
    expect(await stepsLogged()).not.toContain('006');
    expect(await rows(db.client, 'SELECT count(*)::int AS n FROM accounts')).toEqual([{ n: 0 }]);

    files.edit('migrations/002_create_notes.sql', (t) => t.replace("'blank'", "'empty; really'").replace(/\n/g, '\r\n'));
    files.edit('migrations/001_create_accounts.sql', (t) => `\ufeff${t}`);
    const result = await migrate(db.client, options());
    expect(result.applied.map((a) => `${a.kind}:${a.version}`)).toEqual(['migration:6', 'seed:1']);
  });

  it('refuses an out-of-order file unless allowed', async () => {
    files.remove('migrations/003_add_status.sql');
    await migrate(db.client, options({ allowSeeds: false }));
    copyBack(files, '003_add_status.sql');
    const err = await failure(migrate(db.client, options({ allowSeeds: false })));
    expect(err.code).toBe('out_of_order');
    expect(err.reason).toContain('003_add_status.sql');
    const { seen, logger } = warnings();
    const allowed = await migrate(db.client, options({ allowSeeds: false, allowOutOfOrder: true, logger }));
    expect(allowed.applied.map((a) => a.version)).toEqual([3]);
    expect(seen.join('\n')).toContain('out of order');
  });

  it('tolerates applied versions missing from the files with a warning, and refuses them in strict mode', async () => {
    await migrate(db.client, options({ allowSeeds: false }));
    files.remove('migrations/005_account_summary.sql');
    const { seen, logger } = warnings();
    const result = await migrate(db.client, options({ allowSeeds: false, logger }));
    expect(result.applied).toEqual([]);
    expect(result.currentVersion).toBe(5);
    expect(seen.join('\n')).toMatch(/5 \(005_account_summary\.sql\)/);
    const err = await failure(migrate(db.client, options({ allowSeeds: false, strict: true })));
    expect(err.code).toBe('unknown_versions');
  });

  it('repair re-records an edited file and logs it; migrate then passes', async () => {
    await migrate(db.client, options({ allowSeeds: false }));
    files.edit('migrations/005_account_summary.sql', (t) => t.replace('-- A view over accounts and notes.', '-- A view over accounts and their notes.'));
    expect((await failure(migrate(db.client, options()))).code).toBe('drift');

    const result = await repair(db.client, { ...options(), files: ['migrations/005_account_summary.sql'] });
    expect(result.repaired).toEqual([expect.objectContaining({ version: 5 })]);
    const [event] = await rows<{ action: string; old_checksum: string; new_checksum: string }>(
      db.client,
      "SELECT action, old_checksum, new_checksum FROM migration_history.events WHERE action = 'repair'",
    );
    expect(event.old_checksum).not.toBe(event.new_checksum);
    expect(event.new_checksum).toBe(result.repaired[0].newChecksum);
    expect((await migrate(db.client, options())).applied.map((a) => a.kind)).toEqual(['seed']);
    await expect(repair(db.client, { ...options(), files: ['999_nope.sql'] })).rejects.toThrow(/no migration or seed file/);
  });

  it('inspect (plan, status) changes nothing, not even on a new database', async () => {
    const before = await inspect(db.client, options());
    expect(before.initialized).toBe(false);
    expect(before.steps).toHaveLength(6);
    expect(await rows(db.client, "SELECT 1 FROM pg_namespace WHERE nspname = 'migration_history'")).toEqual([]);

    await migrate(db.client, options());
    files.write('migrations/006_more.sql', "INSERT INTO applied_log (step) VALUES ('006');\n");
    const snapshot = async () => rows(db.client, 'SELECT kind, version, checksum, applied_at FROM migration_history.applied_files ORDER BY 1, 2');
    const history = await snapshot();
    const plan = await inspect(db.client, options());
    expect(plan.steps.map((s) => s.file.version)).toEqual([6]);
    expect(await snapshot()).toEqual(history);
    expect(await stepsLogged()).not.toContain('006');
  });

  it('a bad file fails the run before the lock is taken or the history created', async () => {
    files.write('migrations/003_same_version.sql', 'SELECT 1;\n');
    const err = await failure(migrate(db.client, options()));
    expect(err.code).toBe('invalid_file');
    expect(err.message).toMatch(/003/);
    expect(await rows(db.client, "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()")).toEqual([]);
    expect(await rows(db.client, "SELECT 1 FROM pg_namespace WHERE nspname = 'migration_history'")).toEqual([]);
  });

  it('reports when and by whom each file was applied (status), which a run does not read', async () => {
    await migrate(db.client, options());
    const [{ user }] = await rows<{ user: string }>(db.client, 'SELECT session_user AS "user"');
    const applied = (await inspect(db.client, options())).migrations.filter((m) => m.state === 'applied');
    expect(applied).toHaveLength(5);
    for (const m of applied) {
      expect(m.appliedBy).toBe(user);
      expect(Date.now() - Date.parse(m.appliedAt!)).toBeLessThan(10 * 60_000);
      expect(m.appliedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    }
    const forRun = await readHistory(db.client);
    expect(forRun!.applied.map((a) => [a.appliedAt, a.appliedBy, a.durationMs, a.runnerVersion])).toEqual(Array(6).fill(Array(4).fill(undefined)));
    expect((await readHistory(db.client, 'report'))!.applied.every((a) => a.durationMs! >= 0 && a.runnerVersion)).toBe(true);
  });

  it('resumes a no-transaction file after the last statement that completed', async () => {
    files.write(
      'migrations/006_backfill.sql',
      "-- migrate:no-transaction\nINSERT INTO applied_log (step) VALUES ('006a');\nINSERT INTO applied_log (step) VALUES ('006b', 'not a timestamp');\nINSERT INTO applied_log (step) VALUES ('006c');\n",
    );
    const err = await failure(migrate(db.client, options({ allowSeeds: false })));
    expect(err.file).toMatch(/006_backfill\.sql$/);
    expect(err.line).toBe(3);
    const [progress] = await rows<{ statements_done: number }>(db.client, 'SELECT statements_done FROM migration_history.applied_files WHERE version = 6');
    expect(progress.statements_done).toBe(1);
    expect((await inspect(db.client, options())).migrations.find((m) => m.version === 6)?.state).toBe('partial');

    files.edit('migrations/006_backfill.sql', (t) => t.replace(", 'not a timestamp'", ''));
    const result = await migrate(db.client, options({ allowSeeds: false }));
    expect(result.applied).toEqual([expect.objectContaining({ version: 6, action: 'resume' })]);
    expect((await stepsLogged()).filter((s) => s.startsWith('006'))).toEqual(['006a', '006b', '006c']);
    expect(await rows(db.client, 'SELECT statements_done, progress_checksum FROM migration_history.applied_files WHERE version = 6')).toEqual([
      { statements_done: null, progress_checksum: null },
    ]);
  });

  it('re-applies a seed when it changes and never applies seeds where they are not allowed', async () => {
    const withoutSeeds = await migrate(db.client, options({ allowSeeds: false }));
    expect(withoutSeeds.skipped.filter((s) => s.reason === 'seeds_not_allowed').map((s) => s.version)).toEqual([1]);
    expect(await rows(db.client, 'SELECT count(*)::int AS n FROM accounts')).toEqual([{ n: 0 }]);

    await migrate(db.client, options());
    files.edit('seeds/001_accounts.sql', (t) => t.replace("('beta')", "('beta'), ('gamma')"));
    const again = await migrate(db.client, options());
    expect(again.applied).toEqual([expect.objectContaining({ kind: 'seed', version: 1, action: 'reapply' })]);
    expect(await rows(db.client, 'SELECT name FROM accounts ORDER BY name')).toEqual([{ name: 'alpha' }, { name: 'beta' }, { name: 'gamma' }]);
    expect(await rows(db.client, "SELECT action FROM migration_history.events WHERE kind = 'seed' ORDER BY id")).toEqual([{ action: 'apply' }, { action: 'reapply' }]);
  });

  it('keeps the history out of reach of application roles', async () => {
    await migrate(db.client, options({ allowSeeds: false }));
    await db.client.execute(`DO $$ BEGIN CREATE ROLE app_user NOLOGIN; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$`);
    await db.client.execute('BEGIN; SET LOCAL ROLE app_user');
    try {
      await expect(db.client.query('SELECT * FROM migration_history.applied_files')).rejects.toMatchObject({ code: '42501' });
    } finally {
      await db.client.execute('ROLLBACK');
    }
  });
}

/** Restores a fixture file the test had removed from its copy. */
function copyBack(files: FixtureCopy, name: string): void {
  files.write(`migrations/${name}`, readFileSync(join(FIXTURES, 'basic', 'migrations', name), 'utf8'));
}
