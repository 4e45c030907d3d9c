/**
 * The tenant lifecycle cases (test/support/lifecycle-cases.ts) on PGlite with migrations only, acting as
 * app_user, cognito_sync and service_role with SET LOCAL ROLE; test/server runs the same cases through real
 * logins.
 */
import type { EmbeddedDatabase } from '../../lib/local/pglite';
import { acting } from '../support/acting';
import { openMigratedDatabase } from '../support/embedded';
import { describeTenantLifecycle } from '../support/lifecycle-cases';

let db: EmbeddedDatabase;

/** One statement as `role` (in `userId`'s context, if any), committed. */
async function committed<T>(role: string, sql: string, params: unknown[] = [], userId?: string): Promise<T[]> {
  await db.exec('BEGIN');
  try {
    await db.exec(`SET LOCAL ROLE ${role}`);
    if (userId) await db.query('SELECT set_app_user($1)', [userId]);
    const { rows } = await db.query<T>(sql, params);
    await db.exec('COMMIT');
    return rows;
  } catch (error) {
    await db.exec('ROLLBACK');
    throw error;
  }
}

describeTenantLifecycle(async () => {
  db = await openMigratedDatabase();
  return {
    service: (sql, params) => committed('service_role', sql, params),
    cognito: (sql, params) => committed('cognito_sync', sql, params),
    app: (userId, sql, params) => committed('app_user', sql, params, userId),
    acting: (context, fn) => acting(db, context, fn),
    close: () => db.close(),
  };
});
