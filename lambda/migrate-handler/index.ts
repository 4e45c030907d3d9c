/**
 * Lambda entry of the migration custom resource: real Secrets Manager, `pg` over verified TLS to the writer,
 * and the SQL files shipped beside this bundle (`migrations/`, and `seeds/` where the environment allows).
 */
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { fromPgClient, readSqlDirectory } from '../migrator';
import { createLogger } from '../shared/logger';
import { createMigrationHandler, type Connect, type InvocationContext } from './handler';

const logger = createLogger({ service: 'database-migrations' });

/** One session straight to the writer (not RDS Proxy: it breaks session advisory locks). */
const connect: Connect = async (credentials, database) => {
  if (!credentials.host) throw new Error('the master secret has no host: attach it to the cluster');
  const client = new Client({
    host: credentials.host,
    port: credentials.port ?? 5432,
    user: credentials.username,
    password: credentials.password,
    database,
    // Verified against the runtime's CA bundle (NODE_EXTRA_CA_CERTS includes the RDS authorities).
    ssl: { rejectUnauthorized: true, servername: credentials.host },
    connectionTimeoutMillis: 10_000,
    application_name: 'database-migrations',
  });
  // A session killed server-side emits 'error' on the client; unhandled, it would crash the function.
  client.on('error', (error: Error & { code?: string }) => logger.warn('database session ended', { code: error.code ?? error.name }));
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    throw error;
  }
  return { client: fromPgClient(client), close: () => client.end() };
};

const seedsDirectory = join(__dirname, 'seeds');

const handle = createMigrationHandler({
  secrets: new SecretsManagerClient({ maxAttempts: 5 }),
  connect,
  migrations: readSqlDirectory(join(__dirname, 'migrations'), { displayPrefix: 'migrations/' }),
  // Seeds are only in the bundle of environments that allow them.
  seeds: existsSync(seedsDirectory) ? readSqlDirectory(seedsDirectory, { displayPrefix: 'seeds/' }) : undefined,
  logger,
});

export const handler = (event: unknown, context: InvocationContext) => handle(event, context);
