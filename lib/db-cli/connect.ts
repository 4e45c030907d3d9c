/**
 * Opens the database a `db` command works on: a PostgreSQL server (over `pg`)
 * when a URL is given, else the embedded PGlite kept on disk (loaded only then).
 */
import { mkdirSync } from 'node:fs';
import { Client } from 'pg';
import { countingClient, fromPgClient, fromPglite, type SqlClient } from '../../lambda/migrator';
import { openEmbeddedDatabase } from '../local/pglite';

export interface DatabaseTarget {
  /** A PostgreSQL URL; undefined means the embedded database. */
  readonly url?: string;
  /** Data directory of the embedded database. */
  readonly dataDir: string;
}

/** What a command can know about its database before connecting. */
export interface TargetInfo {
  /** Human description of the target, without credentials. */
  readonly description: string;
  /** True for the embedded database or a server on this machine (where seeds are applied by default). */
  readonly local: boolean;
}

export interface OpenDatabase extends TargetInfo {
  /** The session, counting statements and round trips. */
  readonly client: SqlClient & { readonly roundTrips: number; readonly statements: number };
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

/** What is known of the target without connecting (seeds are applied by default only where it is local). */
export function describeTarget(target: DatabaseTarget): TargetInfo {
  return target.url
    ? { description: redactUrl(target.url), local: isLoopback(target.url) }
    : { description: `embedded database in ${target.dataDir}`, local: true };
}

/** Connects to the target. The caller closes it. */
export async function openDatabase(target: DatabaseTarget): Promise<OpenDatabase> {
  if (target.url) {
    const pg = new Client({ connectionString: target.url, application_name: 'db-migrate' });
    // A server-side kill surfaces as an 'error' event; without a listener it would crash the process.
    // The failing query reports it; nothing more to do here.
    pg.on('error', () => {});
    await pg.connect();
    return {
      ...describeTarget(target),
      client: countingClient(fromPgClient(pg)),
      // Ending a connection the server already dropped fails; that is fine.
      close: () => pg.end().catch(() => {}),
    };
  }
  mkdirSync(target.dataDir, { recursive: true });
  const db = await openEmbeddedDatabase({ dataDir: target.dataDir });
  return {
    ...describeTarget(target),
    client: countingClient(fromPglite(db)),
    close: () => db.close(),
  };
}
