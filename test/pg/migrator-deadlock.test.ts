/**
 * A migration that loses a deadlock to an application request runs again instead of failing the deploy
 * (lambda/migrator/apply.ts). Deterministic: the request's session waits longer before checking for deadlocks,
 * so PostgreSQL picks the migration as the victim.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from 'pg';
import { fromPgClient, migrate, type MigrationLogger } from '../../lambda/migrator';
import { connect, createDatabase, type ScratchDatabase } from '../support/pg-database';

describe('a migration that loses a deadlock', () => {
  let database: ScratchDatabase;
  let migrations: string;
  let request: Client;
  let runner: Client;

  beforeEach(async () => {
    database = await createDatabase();
    migrations = mkdtempSync(join(tmpdir(), 'deadlock-'));
    writeFileSync(join(migrations, '001_touch_both.sql'), 'ALTER TABLE a ADD COLUMN x int;\nALTER TABLE b ADD COLUMN y int;\n');
    request = await connect(database.url, 'request');
    runner = await connect(database.url, 'runner');
    await request.query('CREATE TABLE a (id int); CREATE TABLE b (id int)');
  });
  afterEach(async () => {
    await Promise.all([request.end(), runner.end()]);
    await database.drop();
    rmSync(migrations, { recursive: true, force: true });
  });

  it('is run again once the request has gone, and the run succeeds', async () => {
    const warnings: Array<{ message: string; fields?: Record<string, unknown> }> = [];
    const logger: MigrationLogger = { info: () => {}, warn: (message, fields) => warnings.push({ message, fields }), error: () => {} };

    // The request holds b and checks for deadlocks late; the migration will take a, then wait for b.
    await request.query(`BEGIN; SET LOCAL deadlock_timeout = '20s'; LOCK TABLE b IN ACCESS SHARE MODE`);
    const run = migrate(fromPgClient(runner), { migrations, deadline: Date.now() + 60_000, logger });
    const waiting = async () =>
      (await request.query(`SELECT count(*)::int AS n FROM pg_locks l JOIN pg_stat_activity s ON s.pid = l.pid
                              WHERE s.application_name = 'runner' AND NOT l.granted`)).rows[0].n > 0;
    while (!(await waiting())) await new Promise((resolve) => setTimeout(resolve, 20));
    // Now the request wants a: a cycle, which the migration's session finds first (deadlock_timeout 1 s).
    await request.query('SELECT count(*) FROM a');
    await request.query('COMMIT');

    const result = await run;
    expect(result.applied.map((step) => step.version)).toEqual([1]);
    expect(warnings).toEqual([
      expect.objectContaining({ message: expect.stringContaining('001_touch_both.sql lost a deadlock'), fields: expect.objectContaining({ event: 'file_retry', attempt: 1 }) }),
    ]);
    const columns = await request.query(`SELECT table_name, column_name FROM information_schema.columns WHERE column_name IN ('x', 'y') ORDER BY 1`);
    expect(columns.rows).toEqual([{ table_name: 'a', column_name: 'x' }, { table_name: 'b', column_name: 'y' }]);
  });
});
