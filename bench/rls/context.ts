/**
 * Acting as the application (the `app` session: app_user, tenant context from set_app_user) or as the owner (the
 * `owner` session: no Row Level Security — PGlite's superuser session, or the admin login on a server), always
 * inside a transaction that the caller ends. Callbacks get the session to run their statements on.
 */
import type { BenchDatabase, BenchSession } from './database';

/** BEGIN; SET LOCAL ROLE app_user; SELECT set_app_user(user) — what every application transaction does. */
export async function beginAsAppUser(session: BenchSession, userId: string): Promise<void> {
  await session.exec('BEGIN; SET LOCAL ROLE app_user');
  await session.query('SELECT set_app_user($1::uuid)', [userId]);
}

/** BEGIN as the owner (no RLS). */
export async function beginAsOwner(session: BenchSession): Promise<void> {
  await session.exec('BEGIN');
}

/** Runs fn in a transaction of the app session as app_user for userId, then rolls back. */
export async function readAsAppUser<T>(db: BenchDatabase, userId: string, fn: (session: BenchSession) => Promise<T>): Promise<T> {
  await beginAsAppUser(db.app, userId);
  try {
    return await fn(db.app);
  } finally {
    await db.app.exec('ROLLBACK');
  }
}

/** Runs fn in a transaction of the owner session, then rolls back. */
export async function readAsOwner<T>(db: BenchDatabase, fn: (session: BenchSession) => Promise<T>): Promise<T> {
  await beginAsOwner(db.owner);
  try {
    return await fn(db.owner);
  } finally {
    await db.owner.exec('ROLLBACK');
  }
}

/** EXPLAIN (FORMAT JSON, VERBOSE) of a statement, in whatever role and context the session's transaction holds. */
export async function explainJson(session: BenchSession, sql: string, params: readonly unknown[] = []): Promise<unknown> {
  const { rows } = await session.query<{ 'QUERY PLAN': unknown }>(`EXPLAIN (FORMAT JSON, VERBOSE) ${sql}`, params);
  const plan = rows[0]['QUERY PLAN'];
  return typeof plan === 'string' ? JSON.parse(plan) : plan;
}
