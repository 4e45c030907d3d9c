/**
 * `db serve`: the embedded database (PGlite, PostgreSQL 18 + pgvector),
 * migrated and seeded through the runner, served over the PostgreSQL wire
 * protocol on 127.0.0.1 so psql and any driver can connect. PGlite is one
 * session: one client connection at a time.
 */
import { mkdirSync } from 'node:fs';
import { fromPglite, migrate, MigrationError } from '../../lambda/migrator';
import { openEmbeddedDatabase, type EmbeddedDatabase } from '../local/pglite';
import type { CliOptions } from './args';
import { cliLogger, EXIT, type Io } from './commands';

/** Default port: PostgreSQL's. */
const DEFAULT_PORT = 5432;

/** The parts of PGLiteSocketServer used here (its ESM typings name a PGlite type distinct from ours). */
interface SocketServer {
  getServerConn(): string;
  stop(): Promise<void>;
}

async function listen(db: EmbeddedDatabase, port: number): Promise<SocketServer> {
  const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
  // The ESM and CJS typings of PGlite differ only nominally; the instance is the one PGlite.
  const server = new PGLiteSocketServer({ db: db as unknown as ConstructorParameters<typeof PGLiteSocketServer>[0]['db'], port, host: '127.0.0.1' });
  await server.start();
  return server;
}

/** Serves until SIGINT or SIGTERM; resolves with the exit code. */
export async function serve(options: CliOptions, io: Io, signals: NodeJS.EventEmitter = process): Promise<number> {
  let db: EmbeddedDatabase | undefined;
  let server: SocketServer | undefined;
  try {
    if (!options.memory) mkdirSync(options.dataDir, { recursive: true });
    io.err(options.memory ? 'opening an in-memory embedded database…' : `opening the embedded database in ${options.dataDir}…`);
    db = await openEmbeddedDatabase({ dataDir: options.memory ? undefined : options.dataDir });
    const result = await migrate(fromPglite(db), {
      migrations: options.migrationsDir,
      seeds: options.seedsDir,
      allowSeeds: !options.noSeeds,
      allowOutOfOrder: options.allowOutOfOrder,
      strict: options.strict,
      deadline: Date.now() + options.timeoutMs,
      lockTimeoutMs: options.lockTimeoutMs,
      statementTimeoutMs: options.statementTimeoutMs,
      logger: cliLogger(io),
    });
    io.err(`database at version ${result.currentVersion ?? 'none'} (${result.applied.length} file${result.applied.length === 1 ? '' : 's'} applied now)`);

    const wanted = options.port ?? DEFAULT_PORT;
    try {
      server = await listen(db, wanted);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
      if (options.port !== undefined) {
        throw new Error(`port ${wanted} on 127.0.0.1 is already in use: choose another with --port N (or --port 0 for any free port)`, { cause: err });
      }
      io.err(`port ${wanted} is in use; serving on another free port instead`);
      server = await listen(db, 0);
    }
    const port = Number(server.getServerConn().split(':').pop());
    const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
    if (options.json) io.out(JSON.stringify({ ok: true, url, port, currentVersion: result.currentVersion }));
    else io.out(url);
    io.err(`serving on 127.0.0.1:${port}, one connection at a time — try: psql ${url}\nCtrl-C stops the server.`);

    const signal = await new Promise<string>((resolve) => {
      const stop = (name: string) => () => resolve(name);
      signals.once('SIGINT', stop('SIGINT'));
      signals.once('SIGTERM', stop('SIGTERM'));
    });
    io.err(`${signal}: stopping…`);
    return EXIT.ok;
  } catch (err) {
    io.err(`error: ${err instanceof MigrationError ? err.reason : (err as Error).message}`);
    return EXIT.error;
  } finally {
    await server?.stop().catch(() => {});
    await db?.close().catch(() => {});
  }
}
