/**
 * Acting as the application (app_user, tenant context from set_app_user) or as the owner (the migrating user,
 * a superuser in PGlite: no Row Level Security), always inside a transaction that the caller ends.
 */
import type { EmbeddedDatabase } from '../../lib/local/pglite';

/** BEGIN; SET LOCAL ROLE app_user; SELECT set_app_user(user) — what every application transaction does. */
export async function beginAsAppUser(db: EmbeddedDatabase, userId: string): Promise<void> {
  await db.exec('BEGIN; SET LOCAL ROLE app_user');
  await db.query('SELECT set_app_user($1::uuid)', [userId]);
}

/** BEGIN as the owner (no RLS). */
export async function beginAsOwner(db: EmbeddedDatabase): Promise<void> {
  await db.exec('BEGIN');
}

/** Runs fn in a transaction as app_user for userId, then rolls back. */
export async function readAsAppUser<T>(db: EmbeddedDatabase, userId: string, fn: () => Promise<T>): Promise<T> {
  await beginAsAppUser(db, userId);
  try {
    return await fn();
  } finally {
    await db.exec('ROLLBACK');
  }
}

/** Runs fn in a transaction as the owner, then rolls back. */
export async function readAsOwner<T>(db: EmbeddedDatabase, fn: () => Promise<T>): Promise<T> {
  await beginAsOwner(db);
  try {
    return await fn();
  } finally {
    await db.exec('ROLLBACK');
  }
}

/** EXPLAIN (FORMAT JSON, VERBOSE) of a statement, in whatever role and context the transaction holds. */
export async function explainJson(db: EmbeddedDatabase, sql: string, params: unknown[] = []): Promise<unknown> {
  const { rows } = await db.query<{ 'QUERY PLAN': unknown }>(`EXPLAIN (FORMAT JSON, VERBOSE) ${sql}`, params);
  const plan = rows[0]['QUERY PLAN'];
  return typeof plan === 'string' ? JSON.parse(plan) : plan;
}
