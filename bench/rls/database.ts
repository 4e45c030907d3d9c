/**
 * The benchmark's database, with the project's migrations and seeds applied by the migration runner exactly as a
 * deploy applies them, on one of two engines:
 *
 *   PGlite (the default)  an embedded PostgreSQL in WebAssembly with pgvector, in memory: one superuser session,
 *                         which acts as the application (SET LOCAL ROLE app_user) and as the owner alike;
 *   a PostgreSQL server   (`--database-url OWNER_URL --admin-url ADMIN_URL`) a scratch database of its own, created
 *                         and migrated by the owner (NOSUPERUSER, like the Aurora master) and dropped at the end.
 *                         The owner's login acts as the application (SET LOCAL ROLE app_user); the admin login (a
 *                         superuser: no RLS) reads and writes on the owner's side and generates the data. A login
 *                         of the run in app_user starts transactions as production does, for the context set-up.
 *
 * Either way the benchmark sees a BenchDatabase with two sessions, `app` and `owner` (the same one in PGlite), so
 * every measurement runs unchanged on both engines.
 */
import { randomBytes } from 'node:crypto';
import { constants as osConstants } from 'node:os';
import { basename, join } from 'node:path';
import { Client, type QueryConfig } from 'pg';
import { scramSha256Verifier } from '../../lambda/migrate-handler/scram';
import { fromPgClient, fromPglite, migrate, type MigrateResult, type SqlClient } from '../../lambda/migrator';
import { redactUrl } from '../../lib/db-cli/connect';
import { openEmbeddedDatabase, type EmbeddedDatabase } from '../../lib/local/pglite';

/** The repository root, from the source (bench/rls) or the compiled (dist/bench/rls) location. */
export function repositoryRoot(): string {
  const up = __dirname.split(/[\\/]/).includes('dist') ? ['..', '..', '..'] : ['..', '..'];
  return join(__dirname, ...up);
}

export type Engine = 'pglite' | 'postgresql';

/** A statement's rows and how many rows it affected (PGlite's `affectedRows`, pg's `rowCount`). */
export interface BenchQueryResult<R> {
  readonly rows: R[];
  readonly affectedRows: number;
}

/** One database session, shaped alike over PGlite and `pg`. */
export interface BenchSession {
  /** One statement with bound parameters, over the extended protocol (as PGlite's `query` always does): one round trip. */
  query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<BenchQueryResult<R>>;
  /** SQL text without parameters, one or several statements, over the simple protocol: one round trip. */
  exec(sql: string): Promise<void>;
}

export interface BenchDatabase {
  readonly engine: Engine;
  /** Where the data lives, without credentials. */
  readonly description: string;
  /** The session that acts as the application: `SET LOCAL ROLE app_user` + `set_app_user` in each transaction. */
  readonly app: BenchSession;
  /** The session that reads and writes without RLS: PGlite's one superuser session, or the admin login. */
  readonly owner: BenchSession;
  /** The login role of the `app` session, to grant it roles the benchmark creates. */
  readonly appLogin: string;
  /**
   * A session of a login in app_user, as the application connects in production (a server only): a transaction
   * needs `set_app_user` and nothing else. Null in PGlite, whose one session is a superuser.
   */
  readonly applicationLogin: BenchSession | null;
  /**
   * A prefix for the cluster-wide objects (roles) the benchmark creates: unique to the run on a server, where
   * other databases share the roles; anything named `<prefix>_…` is dropped when the database is closed.
   */
  readonly namePrefix: string;
  /** The migration and seed files the runner applied, e.g. "migrations/001_extensions.sql". */
  readonly applied: string[];
  /** Closes the sessions; on a server also drops the scratch database (unless kept) and the run's roles. */
  close(): Promise<void>;
}

/** The server to run on: `--database-url`, `--admin-url` and `--keep-database`. */
export interface ServerTarget {
  /**
   * The owner's login (NOSUPERUSER, CREATEDB, CREATEROLE: what the Aurora master is). The scratch database is
   * created from the database this URL names, then migrated and used as the application through this login.
   */
  readonly databaseUrl: string;
  /** A superuser login on the same server: generates the data and reads and writes without RLS. */
  readonly adminUrl: string;
  /**
   * Keep the scratch database at the end, for a look at the data (it is dropped otherwise, failures included).
   * @default false
   */
  readonly keepDatabase?: boolean;
  /**
   * The scratch database's name.
   * @default - bench_rls_<8 random hex digits>
   */
  readonly databaseName?: string;
}

/** A server the benchmark cannot run on as given (a login of the wrong kind, a URL that does not connect): the message says which flag. */
export class BenchSetupError extends Error {
  override readonly name = 'BenchSetupError';
}

const appliedFiles = (result: MigrateResult) =>
  result.applied.map((step) => `${step.kind === 'seed' ? 'seeds' : 'migrations'}/${basename(step.path)}`);

const runMigrations = (client: SqlClient, root: string) =>
  migrate(client, { migrations: join(root, 'migrations'), seeds: join(root, 'seeds'), allowSeeds: true });

function pgliteSession(db: EmbeddedDatabase): BenchSession {
  return {
    async query<R>(sql: string, params?: readonly unknown[]) {
      const result = await db.query<R>(sql, params as unknown[] | undefined);
      return { rows: result.rows, affectedRows: result.affectedRows ?? 0 };
    },
    async exec(sql: string) {
      await db.exec(sql);
    },
  };
}

/** A new in-memory PGlite database with every migration and seed applied. */
export async function openPgliteDatabase(root = repositoryRoot()): Promise<BenchDatabase> {
  const db = await openEmbeddedDatabase();
  try {
    const applied = appliedFiles(await runMigrations(fromPglite(db), root));
    const session = pgliteSession(db);
    return {
      engine: 'pglite',
      description: 'PGlite (PostgreSQL in WebAssembly, one session, in memory)',
      app: session,
      owner: session,
      appLogin: (await session.query<{ u: string }>('SELECT session_user AS u')).rows[0].u,
      applicationLogin: null,
      namePrefix: 'bench',
      applied,
      close: () => db.close(),
    };
  } catch (error) {
    await db.close();
    throw error;
  }
}

function pgSession(client: Client): BenchSession {
  return {
    async query<R>(sql: string, params: readonly unknown[] = []) {
      // Extended protocol even without parameters, as PGlite's query(): both sides of a ratio speak alike.
      const result = await client.query({ text: sql, values: [...params], queryMode: 'extended' } as QueryConfig);
      return { rows: result.rows as R[], affectedRows: result.rowCount ?? 0 };
    },
    async exec(sql: string) {
      await client.query(sql);
    },
  };
}

async function connect(url: string, applicationName: string): Promise<Client> {
  const client = new Client({ connectionString: url, application_name: applicationName });
  // A backend ended under the client (DROP DATABASE … WITH (FORCE) on an interrupt) fails the pending query;
  // without a listener the 'error' event would also crash the process.
  client.on('error', () => {});
  await client.connect();
  return client;
}

async function withClient<T>(url: string, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = await connect(url, 'bench-rls');
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

export interface RoleFacts {
  readonly name: string;
  readonly superuser: boolean;
  readonly bypassRls: boolean;
  readonly createDb: boolean;
}

async function roleOf(client: Client): Promise<RoleFacts> {
  const { rows } = await client.query<{ rolname: string; rolsuper: boolean; rolbypassrls: boolean; rolcreatedb: boolean }>(
    'SELECT rolname, rolsuper, rolbypassrls, rolcreatedb FROM pg_roles WHERE rolname = session_user');
  return { name: rows[0].rolname, superuser: rows[0].rolsuper, bypassRls: rows[0].rolbypassrls, createDb: rows[0].rolcreatedb };
}

/**
 * Checks the two logins: the owner must be what the Aurora master is (no superuser, no BYPASSRLS: RLS must apply
 * to what it runs as app_user, and nothing may need more), the admin a superuser. Errors name the flag.
 */
export function checkLogins(owner: RoleFacts, admin: RoleFacts): void {
  if (owner.superuser || owner.bypassRls) {
    throw new BenchSetupError(
      `--database-url logs in as ${owner.name}, a ${owner.superuser ? 'superuser' : 'BYPASSRLS role'}: the benchmark runs as the schema's owner, ` +
      'which must be NOSUPERUSER NOBYPASSRLS like the Aurora master user. Pass such an owner as --database-url, and the superuser as --admin-url.');
  }
  if (!owner.createDb) throw new BenchSetupError(`--database-url logs in as ${owner.name}, which lacks CREATEDB: it creates the benchmark's scratch database`);
  if (!admin.superuser) {
    throw new BenchSetupError(`--admin-url logs in as ${admin.name}, which is not a superuser: it generates the data set and reads without RLS`);
  }
}

const DATABASE_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
/** Signals that end the run: the scratch database is dropped first. */
const SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * Creates a scratch database on the server as the owner, migrates it with the runner as the owner (seeds and
 * their self-test included) and opens the two sessions. The database is dropped again when this fails, when the
 * returned database is closed (unless `keepDatabase`), and on SIGINT, SIGTERM or SIGHUP while it is open.
 */
export async function openServerDatabase(target: ServerTarget, log: (line: string) => void = () => undefined, root = repositoryRoot()): Promise<BenchDatabase> {
  const name = target.databaseName ?? `bench_rls_${randomBytes(4).toString('hex')}`;
  if (!DATABASE_NAME.test(name)) throw new RangeError(`the scratch database name must be a lower-case SQL identifier, got "${name}"`);
  const ownerUrl = withDatabase(target.databaseUrl, name);
  const adminUrl = withDatabase(target.adminUrl, name);

  const [owner, admin] = await Promise.all([
    withClient(target.databaseUrl, roleOf).catch((error: Error) => { throw new BenchSetupError(`--database-url: ${error.message}`, { cause: error }); }),
    withClient(target.adminUrl, roleOf).catch((error: Error) => { throw new BenchSetupError(`--admin-url: ${error.message}`, { cause: error }); }),
  ]);
  checkLogins(owner, admin);

  await withClient(target.databaseUrl, (c) => c.query(`CREATE DATABASE ${name}`));
  log(`created the scratch database ${name} as ${owner.name}`);
  const sessions: Client[] = [];
  let closing: Promise<void> | undefined;
  const close = () => (closing ??= (async () => {
    for (const signal of SIGNALS) process.off(signal, onSignal);
    await Promise.all(sessions.map((client) => client.end().catch(() => {})));
    await dropRunRoles(target.adminUrl, name).catch((error: Error) => log(`could not drop the roles named ${name}_…: ${error.message}`));
    if (target.keepDatabase) {
      log(`kept the scratch database ${name} (--keep-database): drop it with DROP DATABASE ${name}`);
      return;
    }
    await dropDatabase(target, name);
    log(`dropped the scratch database ${name}`);
  })());
  const onSignal = (signal: NodeJS.Signals) => {
    log(`${signal}: dropping the scratch database ${name}`);
    void close().finally(() => process.exit(128 + (osConstants.signals[signal] ?? 0)));
  };
  for (const signal of SIGNALS) process.once(signal, onSignal);

  try {
    const migrator = await connect(ownerUrl, 'bench-rls-migrate');
    let applied: string[];
    try {
      applied = appliedFiles(await runMigrations(fromPgClient(migrator), root));
    } finally {
      await migrator.end().catch(() => {});
    }
    const applicationUrl = await createApplicationLogin(ownerUrl, `${name}_app`);
    sessions.push(await connect(ownerUrl, 'bench-rls-app'), await connect(adminUrl, 'bench-rls-owner'), await connect(applicationUrl, 'bench-rls-login'));
    const [app, ownerSide, applicationLogin] = sessions.map(pgSession);
    // Load pgvector's library in every session, as any pooled connection that searched once has: until then its
    // settings (hnsw.ef_search, …) do not exist in the session and cannot be read back.
    await Promise.all([app, ownerSide, applicationLogin].map((session) => session.exec(`SELECT '[0]'::vector`)));
    return {
      engine: 'postgresql',
      description: `PostgreSQL server, scratch database ${name} (${redactUrl(ownerUrl)})`,
      app,
      owner: ownerSide,
      appLogin: owner.name,
      applicationLogin,
      namePrefix: name,
      applied,
      close,
    };
  } catch (error) {
    await close().catch(() => {});
    throw error;
  }
}

/**
 * Creates, as the owner, a login in app_user named after the run (dropped with the run's roles), with a random
 * password that is never printed nor sent; returns its URL.
 */
async function createApplicationLogin(ownerUrl: string, login: string): Promise<string> {
  const password = randomBytes(24).toString('hex');
  // Sent as a SCRAM verifier, as the login sync does: the statement text holds no password.
  await withClient(ownerUrl, (c) => c.query(`CREATE ROLE ${login} LOGIN PASSWORD '${scramSha256Verifier(password)}' IN ROLE app_user`));
  const url = new URL(ownerUrl);
  url.username = login;
  url.password = password;
  return url.toString();
}

/** Drops the roles named after the run (`<name>_…`), which outlive any database. */
async function dropRunRoles(adminUrl: string, name: string): Promise<void> {
  await withClient(adminUrl, async (admin) => {
    const { rows } = await admin.query<{ rolname: string }>(`SELECT rolname FROM pg_roles WHERE rolname LIKE $1`, [`${name.replaceAll('_', '\\_')}\\_%`]);
    for (const { rolname } of rows) await admin.query(`DROP ROLE IF EXISTS "${rolname}"`);
  });
}

/** DROP DATABASE as the owner that created it; as the admin if that fails (a session of another role left). */
async function dropDatabase(target: ServerTarget, name: string): Promise<void> {
  const drop = (url: string) => withClient(url, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  try {
    await drop(target.databaseUrl);
  } catch {
    await drop(target.adminUrl);
  }
}

/** The benchmark's database: a server when `server` is given, else PGlite. */
export function openBenchDatabase(server: ServerTarget | null, log: (line: string) => void = () => undefined): Promise<BenchDatabase> {
  return server ? openServerDatabase(server, log) : openPgliteDatabase();
}
