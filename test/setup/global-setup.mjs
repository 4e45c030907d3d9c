// Jest global setup: one real PostgreSQL server for the whole run (tests that
// need many sessions create and drop their own database in it), and a directory
// for what test files share within the run (the synthesized app, test/infra/synth.ts).
// Both reach the test workers through the environment (PG_TEST_URL, SAAS_TEST_RUN_DIR).
//
// When TEST_DATABASE_URL and TEST_ADMIN_URL are set, also the real-server tier
// (test/server): its template databases, built as the owner; their common
// prefix reaches the workers through SERVER_TEST_PREFIX.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPgServer } from './pg-server.mjs';
import { prepareServerTier, serverTierUrls } from './server-tier.mjs';

export default async function globalSetup() {
  process.env.SAAS_TEST_RUN_DIR = mkdtempSync(join(tmpdir(), 'saas-test-run-'));
  const urls = serverTierUrls();
  const [server, tier] = await Promise.all([startPgServer(), urls ? prepareServerTier(urls) : undefined]);
  globalThis.__PG_SERVER__ = server;
  globalThis.__SERVER_TIER__ = tier;
  process.env.PG_TEST_URL = server.url;
  if (tier) process.env.SERVER_TEST_PREFIX = tier.prefix;
}
