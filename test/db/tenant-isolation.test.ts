/**
 * The tenant isolation matrix (test/support/isolation-matrix.ts) on PGlite, acting as app_user with SET ROLE;
 * test/server runs the same matrix through a real login over TCP.
 */
import type { EmbeddedDatabase } from '../../lib/local/pglite';
import { acting } from '../support/acting';
import { openSeededDatabase, SEED } from '../support/embedded';
import { describeIsolationMatrix } from '../support/isolation-matrix';

/** The rows of the last statement of a multi-statement run, as service_role, committed. */
async function asServiceCommitted(db: EmbeddedDatabase, sql: string): Promise<Record<string, unknown>[]> {
  const results = await db.exec(`BEGIN; SET LOCAL ROLE service_role; ${sql}; COMMIT`);
  return results[results.length - 2].rows as Record<string, unknown>[];
}

let db: EmbeddedDatabase;

describeIsolationMatrix(async () => {
  db = await openSeededDatabase();
  return {
    asServiceCommitted: (sql) => asServiceCommitted(db, sql),
    acting: (context, fn) => acting(db, context, fn),
    close: () => db.close(),
  };
});

test('the tenant context ends with the transaction', async () => {
  await db.exec('BEGIN');
  await db.exec('SET LOCAL ROLE app_user');
  await db.query('SELECT set_app_user($1)', [SEED.user.alice]);
  expect((await db.query('SELECT count(*)::int AS n FROM agent_tasks')).rows).toEqual([{ n: 2 }]);
  await db.exec('COMMIT');
  await acting(db, { unset: true }, async (as) => {
    expect(await as.rows('SELECT current_app_user_id() AS id')).toEqual([{ id: null }]);
    expect(await as.rows('SELECT id FROM agent_tasks')).toEqual([]);
  });
});
