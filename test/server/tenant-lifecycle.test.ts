/**
 * The tenant lifecycle cases (test/support/lifecycle-cases.ts) on a real server, on a database with migrations
 * only, as production has it: onboarding through provision_organization as service_role (the owner's
 * SET LOCAL ROLE), users mirrored through a real cognito_sync login, and everything the application does
 * through a real login in app_user over TCP, acting as itself.
 */
import type { Client } from 'pg';
import { actingOn, pgSession } from '../support/acting';
import { describeTenantLifecycle } from '../support/lifecycle-cases';
import { connectTo, createLogin, createServerDatabase, describeServer, type ServerDatabase } from './support/server';

/** One statement on `client`, in a transaction that first runs `prelude`, committed. */
async function committed<T>(client: Client, prelude: (client: Client) => Promise<unknown>, sql: string, params: unknown[] = []): Promise<T[]> {
  await client.query('BEGIN');
  try {
    await prelude(client);
    const { rows } = await client.query(sql, params);
    await client.query('COMMIT');
    return rows as T[];
  } catch (error) {
    await client.query('ROLLBACK');
    throw error;
  }
}

describeServer('the tenant lifecycle on a production-like database (migrations only), through real logins', () => {
  let db: ServerDatabase;
  let owner: Client;
  let app: Client;
  let sync: Client;

  describeTenantLifecycle(async () => {
    db = await createServerDatabase('migrated');
    const [appLogin, syncLogin] = [await createLogin(db, 'app_user'), await createLogin(db, 'cognito_sync')];
    owner = await connectTo(db.ownerUrl, 'owner');
    app = await connectTo(db.loginUrl(appLogin), 'app-login');
    sync = await connectTo(db.loginUrl(syncLogin), 'cognito-sync-login');
    return {
      service: (sql, params) => committed(owner, (c) => c.query('SET LOCAL ROLE service_role'), sql, params),
      cognito: (sql, params) => committed(sync, async () => undefined, sql, params),
      app: (userId, sql, params) => committed(app, (c) => c.query('SELECT set_app_user($1)', [userId]), sql, params),
      acting: (context, fn) =>
        actingOn(pgSession(app), context, fn, {
          readAsService: () => Promise.reject(new Error('the lifecycle cases read through service_role outside the actor’s transaction')),
        }),
      async close() {
        await Promise.all([owner.end(), app.end(), sync.end()]);
        await db.drop();
      },
    };
  });
});
