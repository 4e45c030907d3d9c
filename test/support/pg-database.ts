/** Throwaway databases on the test server (PG_TEST_URL, started by the jest global setup). */
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

export function serverUrl(): string {
  const url = process.env.PG_TEST_URL;
  if (!url) throw new Error('PG_TEST_URL is not set: run the tests through jest (its global setup starts the server)');
  return url;
}

/** The server URL pointed at another database. */
export function databaseUrl(name: string): string {
  const url = new URL(serverUrl());
  url.pathname = `/${name}`;
  return url.toString();
}

/** A connected client; errors from a killed backend are recorded instead of crashing the process. */
export async function connect(url: string, applicationName = 'migrator-test'): Promise<Client> {
  const client = new Client({ connectionString: url, application_name: applicationName });
  client.on('error', () => {});
  await client.connect();
  return client;
}

export interface ScratchDatabase {
  readonly name: string;
  readonly url: string;
  drop(): Promise<void>;
}

/** Creates an empty database; `drop` removes it even with sessions still connected. */
export async function createDatabase(): Promise<ScratchDatabase> {
  const name = `migrator_${randomBytes(6).toString('hex')}`;
  const admin = await connect(serverUrl());
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  return {
    name,
    url: databaseUrl(name),
    async drop() {
      const a = await connect(serverUrl());
      try {
        await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await a.end();
      }
    },
  };
}
