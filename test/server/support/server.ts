/**
 * The real-server tier: PostgreSQL with pgvector, reached as the NOSUPERUSER CREATEROLE CREATEDB owner that the
 * Aurora master user is (TEST_DATABASE_URL), and through login roles made the way a deploy makes them. The
 * superuser (TEST_ADMIN_URL) only sets up: it never runs a statement whose outcome a test asserts.
 *
 * The jest global setup (test/setup/server-tier.mjs) builds the template databases with the db CLI; each test
 * file copies one into a database of its own. Without the two URLs every test here is skipped, and the run
 * prints how many and how to run them.
 */
import { randomBytes } from 'node:crypto';
import type { Client } from 'pg';
import { connect } from '../../support/pg-database';
import { syncLoginRole, type LoginGroup } from '../../../lambda/migrate-handler/login-roles';

interface ServerTier {
  readonly ownerUrl: string;
  readonly adminUrl: string;
  /** Names every database and login role of this run (dropped by the global teardown). */
  readonly prefix: string;
}

function readTier(): ServerTier | undefined {
  const { TEST_DATABASE_URL: ownerUrl, TEST_ADMIN_URL: adminUrl, SERVER_TEST_PREFIX: prefix } = process.env;
  return ownerUrl && adminUrl && prefix ? { ownerUrl, adminUrl, prefix } : undefined;
}

export const serverTier = readTier();

/** `describe` when the tier is configured, `describe.skip` otherwise (the tests count as skipped). */
export const describeServer: jest.Describe = serverTier ? describe : describe.skip;

function tier(): ServerTier {
  if (!serverTier) throw new Error('the server tier is not configured (TEST_DATABASE_URL, TEST_ADMIN_URL)');
  return serverTier;
}

/** `url` with another database, user or password. */
export function withUrl(url: string, change: { database?: string; user?: string; password?: string }): string {
  const u = new URL(url);
  if (change.database) u.pathname = `/${change.database}`;
  if (change.user) u.username = change.user;
  if (change.password) u.password = encodeURIComponent(change.password);
  return u.toString();
}

/** A connected client; an error from a backend killed under it is recorded, not thrown at the process. */
export function connectTo(url: string, applicationName = 'server-tier'): Promise<Client> {
  return connect(url, applicationName);
}

/** Runs `fn` on a fresh connection to `url`, then closes it. */
export async function withConnection<T>(url: string, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = await connectTo(url);
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** What a test file's database starts as: nothing, the migrations (what Prod has), or migrations and seeds. */
export type Template = 'empty' | 'migrated' | 'seeded';

export interface ServerDatabase {
  readonly name: string;
  /** As the owner (the Aurora master user's role). */
  readonly ownerUrl: string;
  /** As the superuser: set-up and inspection only. */
  readonly adminUrl: string;
  /** As a login role. */
  loginUrl(login: { username: string; password: string }): string;
  drop(): Promise<void>;
}

/**
 * Gives `name` the database privileges of `template`, as the owner. CREATE DATABASE … TEMPLATE copies a database's
 * contents but not its own privileges (the ACL lives in the shared catalog), so without this a copy would grant
 * PUBLIC what the migrations revoked (TEMPORARY, 009) and would not be the database the migrations made.
 */
async function copyDatabasePrivileges(owner: Client, template: string, name: string): Promise<void> {
  const { rows } = await owner.query<{ grantee: string; privilege: string }>(
    `SELECT CASE WHEN e.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(e.grantee)) END AS grantee, e.privilege_type AS privilege
       FROM pg_database AS d, aclexplode(d.datacl) AS e
      WHERE d.datname = $1 AND d.datacl IS NOT NULL`,
    [template],
  );
  if (rows.length === 0) return; // the template has the default privileges, which the copy has too
  await owner.query(`REVOKE ALL ON DATABASE ${name} FROM PUBLIC`);
  for (const { grantee, privilege } of rows) await owner.query(`GRANT ${privilege} ON DATABASE ${name} TO ${grantee}`);
}

/** A database of this file's own, created by the owner as a copy of a template (privileges included). */
export async function createServerDatabase(template: Template): Promise<ServerDatabase> {
  const { ownerUrl, adminUrl, prefix } = tier();
  const name = `${prefix}_${randomBytes(5).toString('hex')}`;
  await withConnection(ownerUrl, async (owner) => {
    await owner.query(`CREATE DATABASE ${name}${template === 'empty' ? '' : ` TEMPLATE ${prefix}_${template}`}`);
    if (template !== 'empty') await copyDatabasePrivileges(owner, `${prefix}_${template}`, name);
  });
  return {
    name,
    ownerUrl: withUrl(ownerUrl, { database: name }),
    adminUrl: withUrl(adminUrl, { database: name }),
    loginUrl: ({ username, password }) => withUrl(ownerUrl, { database: name, user: username, password }),
    drop: () => withConnection(adminUrl, (admin) => admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
}

export interface Login {
  readonly username: string;
  readonly password: string;
  readonly group: LoginGroup;
}

/** A unique login name of this run (login roles are cluster-wide). */
export function loginName(kind: string): string {
  return `${tier().prefix}_${kind}_${randomBytes(3).toString('hex')}`;
}

/** A login role made the way the deploy makes it: syncLoginRole, run as the owner. */
export async function createLogin(db: ServerDatabase, group: LoginGroup): Promise<Login> {
  const login = { username: loginName({ app_user: 'app', cognito_sync: 'sync', migration_reader: 'ci' }[group]), password: randomBytes(24).toString('base64url'), group };
  await withConnection(db.ownerUrl, (owner) => syncLoginRole(owner, login));
  return login;
}

/** SQLSTATE of a failed promise (or 'no error'). */
export async function sqlStateOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'no error';
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  }
}
