/**
 * Acting as the application does: in a transaction, as app_user, with the tenant context set by
 * set_app_user() (or deliberately unset, empty or malformed). Every helper rolls back, so tests never
 * leak state into each other.
 */
import type { EmbeddedDatabase } from '../../lib/local/pglite';

/** Whose request this is: a user id, no context at all, or a raw (possibly malformed) setting. */
export type TenantContext = { userId: string } | { unset: true } | { raw: string };

/** What a statement did: the rows it returned or touched, or the SQLSTATE it failed with. */
export type Outcome = { rows: number } | { error: string };

export interface Acting {
  /** Runs a statement as the actor inside a savepoint; failures become `{ error: SQLSTATE }`. */
  run(sql: string, params?: unknown[]): Promise<Outcome>;
  /** Runs a query as the actor and returns its rows (throws on error). */
  rows<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Runs a query as service_role (sees everything) without ending the actor's transaction. */
  asService<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
}

async function setContext(db: EmbeddedDatabase, context: TenantContext): Promise<void> {
  if ('userId' in context) await db.query('SELECT set_app_user($1::uuid)', [context.userId]);
  else if ('raw' in context) await db.query(`SELECT set_config('app.current_user_id', $1, true)`, [context.raw]);
}

/** Runs `fn` as `role` (app_user by default) with the given tenant context, then rolls everything back. */
export async function acting<T>(
  db: EmbeddedDatabase,
  context: TenantContext,
  fn: (acting: Acting) => Promise<T>,
  role = 'app_user',
): Promise<T> {
  await db.exec('BEGIN');
  try {
    await db.exec(`SET LOCAL ROLE ${role}`);
    await setContext(db, context);
    let savepoints = 0;
    const helpers: Acting = {
      async run(sql, params) {
        const savepoint = `s${++savepoints}`;
        await db.exec(`SAVEPOINT ${savepoint}`);
        try {
          const result = await db.query(sql, params);
          await db.exec(`RELEASE SAVEPOINT ${savepoint}`);
          return { rows: result.affectedRows || result.rows.length };
        } catch (error) {
          await db.exec(`ROLLBACK TO SAVEPOINT ${savepoint}`);
          return { error: (error as { code?: string }).code ?? String(error) };
        }
      },
      async rows(sql, params) {
        return (await db.query(sql, params)).rows as never;
      },
      async asService(sql, params) {
        await db.exec('SET LOCAL ROLE service_role');
        try {
          return (await db.query(sql, params)).rows as never;
        } finally {
          await db.exec(`SET LOCAL ROLE ${role}`);
        }
      },
    };
    return await fn(helpers);
  } finally {
    await db.exec('ROLLBACK');
  }
}
