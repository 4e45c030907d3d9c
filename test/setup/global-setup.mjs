// Jest global setup: one real PostgreSQL server for the whole run (tests that
// need many sessions create and drop their own database in it), and a directory
// for what test files share within the run (the synthesized app, test/infra/synth.ts).
// Both reach the test workers through the environment.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPgServer } from './pg-server.mjs';

export default async function globalSetup() {
  process.env.SAAS_TEST_RUN_DIR = mkdtempSync(join(tmpdir(), 'saas-test-run-'));
  const server = await startPgServer();
  globalThis.__PG_SERVER__ = server;
  process.env.PG_TEST_URL = server.url;
}
