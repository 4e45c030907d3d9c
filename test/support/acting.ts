/**
 * Acting as the application does: in a transaction, with the tenant context set by set_app_user() (or
 * deliberately unset, empty or malformed). Every helper rolls back, so tests never leak state into each other.
 *
 * The same helpers drive PGlite (one superuser session that acts as app_user with SET LOCAL ROLE) and a real
 * server, where the actor is a login role in app_user, as production's is, and acts as itself.
 */
import type { Client } from 'pg';
import type { EmbeddedDatabase } from '../../lib/local/pglite';

/** Whose request this is: a user id, no context at all, or a raw (possibly malformed) setting. */
export type TenantContext = { userId: string; organizationId?: string } | { unset: true } | { raw: string };

/** What a statement did: the rows it returned or touched, or the SQLSTATE it failed with. */
export type Outcome = { rows: number } | { error: string };

/** One connection: PGlite, or a `pg` client through `pgSession`. */
export interface ActingSession {
  exec(sql: string): Promise<unknown>;
  query(sql: string, params?: unknown[]): Promise<{ rows: unknown[]; affectedRows?: number; rowCount?: number | null }>;
}

/** Reads every row the query selects, past RLS, inside the actor's own transaction (so it sees its changes). */
export type ServiceReader = (session: ActingSession, sql: string, params?: unknown[]) => Promise<unknown[]>;

export interface Acting {
  /** Runs a statement as the actor inside a savepoint; failures become `{ error: SQLSTATE }`. */
  run(sql: string, params?: unknown[]): Promise<Outcome>;
  /** Runs a query as the actor and returns its rows (throws on error). */
  rows<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Runs a query that sees everything, without ending the actor's transaction. */
  asService<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
}

export interface ActingOptions {
  /** `SET LOCAL ROLE` to this role first; without it the login acts as itself. */
  readonly role?: string;
  readonly readAsService: ServiceReader;
}

/** A `pg` client as an acting session. */
export function pgSession(client: Client): ActingSession {
  return { exec: (sql) => client.query(sql), query: (sql, params) => client.query(sql, params) };
}

async function setContext(session: ActingSession, context: TenantContext): Promise<void> {
  if ('userId' in context) await session.query('SELECT set_app_user($1::uuid, $2::uuid)', [context.userId, context.organizationId ?? null]);
  else if ('raw' in context) await session.query(`SELECT set_config('app.current_user_id', $1, true)`, [context.raw]);
}

/** Runs `fn` as the actor with the given tenant context, then rolls everything back. */
export async function actingOn<T>(session: ActingSession, context: TenantContext, fn: (acting: Acting) => Promise<T>, options: ActingOptions): Promise<T> {
  await session.exec('BEGIN');
  try {
    if (options.role) await session.exec(`SET LOCAL ROLE ${options.role}`);
    await setContext(session, context);
    let savepoints = 0;
    const helpers: Acting = {
      async run(sql, params) {
        const savepoint = `s${++savepoints}`;
        await session.exec(`SAVEPOINT ${savepoint}`);
        try {
          const result = await session.query(sql, params);
          await session.exec(`RELEASE SAVEPOINT ${savepoint}`);
          return { rows: result.affectedRows || result.rowCount || result.rows.length };
        } catch (error) {
          await session.exec(`ROLLBACK TO SAVEPOINT ${savepoint}`);
          return { error: (error as { code?: string }).code ?? String(error) };
        }
      },
      async rows(sql, params) {
        return (await session.query(sql, params)).rows as never;
      },
      async asService(sql, params) {
        return (await options.readAsService(session, sql, params)) as never;
      },
    };
    return await fn(helpers);
  } finally {
    await session.exec('ROLLBACK');
  }
}

/** PGlite's superuser session switches to service_role for the read, then back to the actor's role. */
const switchToServiceRole =
  (actorRole: string): ServiceReader =>
  async (session, sql, params) => {
    await session.exec('SET LOCAL ROLE service_role');
    try {
      return (await session.query(sql, params)).rows;
    } finally {
      await session.exec(`SET LOCAL ROLE ${actorRole}`);
    }
  };

/** Runs `fn` in PGlite as `role` (app_user by default) with the given tenant context, then rolls everything back. */
export function acting<T>(db: EmbeddedDatabase, context: TenantContext, fn: (acting: Acting) => Promise<T>, role = 'app_user'): Promise<T> {
  return actingOn(db, context, fn, { role, readAsService: switchToServiceRole(role) });
}
