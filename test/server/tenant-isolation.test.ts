/**
 * The tenant isolation matrix (test/support/isolation-matrix.ts) on a real PostgreSQL server, acting through a
 * login role in app_user over TCP, as the application connects in production: no SET ROLE, no superuser.
 *
 * The matrix also fingerprints every other row in the actor's own transaction, which no application role may
 * read. For that alone the superuser installs, in this throwaway database, one function that reads past RLS
 * (test_probe.read_all, SECURITY DEFINER as the superuser); the statements under test never go through it.
 */
import type { Client } from 'pg';
import { actingOn, pgSession, type ServiceReader } from '../support/acting';
import { describeIsolationMatrix } from '../support/isolation-matrix';
import { connectTo, createLogin, createServerDatabase, describeServer, withConnection, type Login, type ServerDatabase } from './support/server';

/** Installs the observer function and lets `login` call it. */
async function installProbe(db: ServerDatabase, login: Login): Promise<void> {
  await withConnection(db.adminUrl, (admin) =>
    admin.query(`
      CREATE SCHEMA test_probe;
      CREATE FUNCTION test_probe.read_all(query text) RETURNS SETOF jsonb
          LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
      AS $$ BEGIN RETURN QUERY EXECUTE format('SELECT to_jsonb(q) FROM (%s) AS q', query); END $$;
      REVOKE ALL ON FUNCTION test_probe.read_all(text) FROM PUBLIC;
      GRANT USAGE ON SCHEMA test_probe TO ${login.username};
      GRANT EXECUTE ON FUNCTION test_probe.read_all(text) TO ${login.username};`),
  );
}

const readThroughProbe: ServiceReader = async (session, sql, params) => {
  if (params?.length) throw new Error('the probe reads parameterless SQL only');
  const { rows } = await session.query('SELECT test_probe.read_all($1) AS row', [sql]);
  return (rows as Array<{ row: unknown }>).map((r) => r.row);
};

describeServer('the isolation matrix through a real app login over TCP', () => {
  let db: ServerDatabase;
  let login: Login;
  let actor: Client;
  let owner: Client;

  describeIsolationMatrix(async () => {
    db = await createServerDatabase('seeded');
    login = await createLogin(db, 'app_user');
    await installProbe(db, login);
    actor = await connectTo(db.loginUrl(login), 'app-login');
    owner = await connectTo(db.ownerUrl, 'owner');
    return {
      async asServiceCommitted(sql) {
        const results = (await owner.query(`BEGIN; SET LOCAL ROLE service_role; ${sql}; COMMIT`)) as unknown as Array<{ rows: Record<string, unknown>[] }>;
        return results[results.length - 2].rows;
      },
      acting: (context, fn) => actingOn(pgSession(actor), context, fn, { readAsService: readThroughProbe }),
      async close() {
        await Promise.all([actor.end(), owner.end()]);
        await db.drop();
      },
    };
  });

  test('the actor is what production uses: a plain login, member of app_user only', async () => {
    const { rows } = await actor.query(`
      SELECT current_user = $1 AS is_login, r.rolsuper, r.rolbypassrls, r.rolcreaterole, r.rolcreatedb,
             ARRAY(SELECT g.rolname::text FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid WHERE m.member = r.oid) AS groups
        FROM pg_roles r WHERE r.rolname = current_user`, [login.username]);
    expect(rows).toEqual([{ is_login: true, rolsuper: false, rolbypassrls: false, rolcreaterole: false, rolcreatedb: false, groups: ['app_user'] }]);
  });
});
