/**
 * Opens the database a `db` command works on: a PostgreSQL server (over `pg`)
 * when a URL is given, else the embedded PGlite kept on disk.
 * Drivers are loaded on demand, so a run against a server never loads PGlite.
 */
import { mkdirSync } from 'node:fs';
import { countingClient, fromPgClient, fromPglite, type SqlClient } from '../../lambda/migrator';
import { openEmbeddedDatabase } from '../local/pglite';
import { EarlySocket } from './early-socket';

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

/**
 * Loads `pg`'s Client alone (an exported path of the package), without the
 * pool and the rest of its index, which a CLI session never uses. On Node.js
 * 20, which has no global `navigator`, pg probes for Cloudflare Workers by
 * constructing a `Response`, which loads the whole fetch implementation
 * (~15 ms of a ~150 ms no-op run). Node.js 21+ defines `navigator`; giving
 * Node.js 20 the same object for the duration of the load skips the probe.
 */
function loadPgClient(): typeof import('pg').Client {
  const g = globalThis as { navigator?: unknown };
  const shim = g.navigator === undefined;
  if (shim) g.navigator = { userAgent: `Node.js/${process.versions.node}` };
  try {
    // require, not import(): pg is CommonJS, and the ESM loader would cost ~15 ms more at startup.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('pg/lib/client') as typeof import('pg').Client;
  } finally {
    if (shim) delete g.navigator;
  }
}

/** What is known of the target without connecting (seeds are applied by default only where it is local). */
export function describeTarget(target: DatabaseTarget): TargetInfo {
  return target.url
    ? { description: redactUrl(target.url), local: isLoopback(target.url) }
    : { description: `embedded database in ${target.dataDir}`, local: true };
}

/**
 * Starts the TCP connection the URL names, before pg is loaded (see EarlySocket), reading the
 * host and port as pg does (URL, then PGHOST and PGPORT, then its defaults). A Unix socket is left to pg.
 */
function connectEarly(url: string): EarlySocket | undefined {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ConnectionParameters = require('pg/lib/connection-parameters') as new (config: object) => { host: string; port: number };
  const { host, port } = new ConnectionParameters({ connectionString: url });
  return host.startsWith('/') ? undefined : new EarlySocket(port, host);
}

/**
 * Ends the session without waiting for the server to hang up too (a Go client does not wait either):
 * pg writes Terminate and half-closes the socket, the server ends the session when it reads it, and the
 * socket, unreferenced, no longer keeps the process alive, though its pending write and shutdown still
 * do (libuv requests), so Terminate always goes out. Waiting for the server's side of the close cost a
 * no-op run 2-3 ms. A Unix socket is left to pg's own end().
 */
function endSession(pg: { end(): Promise<void> }, socket: EarlySocket | undefined): Promise<void> {
  // Ending a connection the server already dropped fails; that is fine.
  const ended = pg.end().catch(() => {});
  if (!socket) return ended;
  socket.unref();
  return Promise.resolve();
}

/** Connects to the target. The caller closes it. */
export async function openDatabase(target: DatabaseTarget): Promise<OpenDatabase> {
  if (target.url) {
    const stream = connectEarly(target.url);
    let Client;
    try {
      Client = loadPgClient();
    } catch (err) {
      stream?.destroy();
      throw err;
    }
    // Pipelining lets the runner send its lock attempt and history read in one round trip.
    const pg = new Client({ connectionString: target.url, application_name: 'db-migrate', pipeline: true, stream: stream && (() => stream) });
    // A server-side kill surfaces as an 'error' event; without a listener it would crash the process.
    // The failing query reports it; nothing more to do here.
    pg.on('error', () => {});
    await pg.connect();
    return {
      ...describeTarget(target),
      client: countingClient(fromPgClient(pg)),
      close: () => endSession(pg, stream),
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
