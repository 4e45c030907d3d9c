// Jest global setup: one real PostgreSQL server for the whole run (tests that
// need many sessions create and drop their own database in it). Its URL
// reaches the test workers through PG_TEST_URL.
import { startPgServer } from './pg-server.mjs';

export default async function globalSetup() {
  const server = await startPgServer();
  globalThis.__PG_SERVER__ = server;
  process.env.PG_TEST_URL = server.url;
}
