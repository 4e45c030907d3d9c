// The real-server tier (test/server): PostgreSQL with pgvector, reached as a NOSUPERUSER CREATEROLE CREATEDB owner
// like the Aurora master (TEST_DATABASE_URL), plus a superuser for set-up only (TEST_ADMIN_URL).
//
// Once per jest run, as the owner and through the `db` CLI as a user would run it, two template databases are
// built: <prefix>_migrated (migrations only, what Prod has) and <prefix>_seeded (migrations and seeds). Each test
// file copies the one it needs into a database of its own, so files run in parallel and never see each other.
// Everything the run creates (databases, login roles) is named <prefix>_… and dropped at the end.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, URL } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const cli = join(root, 'dist', 'bin', 'db.js');

/** The tier's URLs, or undefined when it is not configured. */
export function serverTierUrls(env = process.env) {
  const owner = env.TEST_DATABASE_URL;
  const admin = env.TEST_ADMIN_URL;
  return owner && admin ? { owner, admin } : undefined;
}

function withDatabase(url, name) {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

async function withClient(url, fn) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Builds the templates; returns the prefix and a cleanup that drops everything named after it. */
export async function prepareServerTier(urls) {
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run "npm run build" first (npm test does)`);
  const [owner] = await withClient(urls.owner, async (c) =>
    (await c.query('SELECT rolname, rolsuper, rolcreaterole, rolcreatedb, rolbypassrls FROM pg_roles WHERE rolname = current_user')).rows);
  // The tier exists to prove that nothing needs a superuser: refuse to run as one.
  if (owner.rolsuper || owner.rolbypassrls || !owner.rolcreaterole || !owner.rolcreatedb) {
    throw new Error(`TEST_DATABASE_URL must log in as a NOSUPERUSER NOBYPASSRLS CREATEROLE CREATEDB owner like the Aurora master; ${owner.rolname} is not`);
  }
  const prefix = `st_${randomBytes(4).toString('hex')}`;
  const cleanup = () => dropEverything(urls, prefix);
  try {
    for (const [kind, seedArgs] of [['migrated', ['--no-seeds']], ['seeded', ['--seeds', 'seeds']]]) {
      const name = `${prefix}_${kind}`;
      await withClient(urls.owner, (c) => c.query(`CREATE DATABASE ${name}`));
      await promisify(execFile)(process.execPath, [cli, 'migrate', '--database-url', withDatabase(urls.owner, name), ...seedArgs], {
        cwd: root,
        env: { ...process.env, DATABASE_URL: '' },
      }).catch((error) => {
        throw new Error(`building the ${kind} template with the db CLI failed:\n${error.stderr ?? error.message}`);
      });
    }
  } catch (error) {
    await cleanup();
    throw error;
  }
  return { prefix, ownerRole: owner.rolname, cleanup };
}

/** Drops the run's databases (sessions and all), then its login roles. */
export async function dropEverything(urls, prefix) {
  await withClient(urls.admin, async (c) => {
    const pattern = `${prefix}\\_%`;
    const { rows: databases } = await c.query('SELECT datname FROM pg_database WHERE datname LIKE $1', [pattern]);
    for (const { datname } of databases) await c.query(`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`);
    const { rows: roles } = await c.query('SELECT rolname FROM pg_roles WHERE rolname LIKE $1', [pattern]);
    for (const { rolname } of roles) await c.query(`DROP ROLE IF EXISTS ${rolname}`);
  });
}
