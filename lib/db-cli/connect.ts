/**
 * Opens the database a `db` command works on: a PostgreSQL server (over `pg`)
 * when a URL is given, else the embedded PGlite kept on disk.
 * Drivers are loaded on demand, so a run against a server never loads PGlite.
 */
import { mkdirSync } from 'node:fs';
import { countingClient, fromPgClient, fromPglite, type SqlClient } from '../../lambda/migrator';
import { openEmbeddedDatabase } from '../local/pglite';

export interface DatabaseTarget {
  /** A PostgreSQL URL; undefined means the embedded database. */
  readonly url?: string;
  /** Data directory of the embedded database. */
  readonly dataDir: string;
}

export interface OpenDatabase {
  /** The session, counting round trips. */
  readonly client: SqlClient & { readonly roundTrips: number };
  /** Human description of the target, without credentials. */
  readonly description: string;
  /** True for the embedded database or a server on this machine (where seeds are applied by default). */
  readonly local: boolean;
  close(): Promise<void>;
}

/** The URL with any password removed, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparsable database URL)';
  }
}

function isLoopback(url: string): boolean {
  try {
    const host = new URL(url).hostname;
    return host === '' || host === 'localhost' || host === '[::1]' || host.startsWith('127.');
  } catch {
    return false;
  }
}

/**
 * Loads `pg`. On Node.js 20, which has no global `navigator`, pg probes for
 * Cloudflare Workers by constructing a `Response`, which loads the whole
 * fetch implementation (~15 ms of a ~150 ms no-op run). Node.js 21+ defines
 * `navigator`; giving Node.js 20 the same object for the duration of the load
 * skips the probe.
 */
function loadPg(): typeof import('pg') {
  const g = globalThis as { navigator?: unknown };
  const shim = g.navigator === undefined;
  if (shim) g.navigator = { userAgent: `Node.js/${process.versions.node}` };
  try {
    // require, not import(): pg is CommonJS, and the ESM loader would cost ~15 ms more at startup.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('pg') as typeof import('pg');
  } finally {
    if (shim) delete g.navigator;
  }
}

/** Connects to the target. The caller closes it. */
export async function openDatabase(target: DatabaseTarget): Promise<OpenDatabase> {
  if (target.url) {
    const { Client } = loadPg();
    const pg = new Client({ connectionString: target.url, application_name: 'db-migrate' });
    // A server-side kill surfaces as an 'error' event; without a listener it would crash the process.
    // The failing query reports it; nothing more to do here.
    pg.on('error', () => {});
    await pg.connect();
    return {
      client: countingClient(fromPgClient(pg)),
      description: redactUrl(target.url),
      local: isLoopback(target.url),
      // Ending a connection the server already dropped fails; that is fine.
      close: () => pg.end().catch(() => {}),
    };
  }
  mkdirSync(target.dataDir, { recursive: true });
  const db = await openEmbeddedDatabase({ dataDir: target.dataDir });
  return {
    client: countingClient(fromPglite(db)),
    description: `embedded database in ${target.dataDir}`,
    local: true,
    close: () => db.close(),
  };
}
