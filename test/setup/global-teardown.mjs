import { rmSync } from 'node:fs';

export default async function globalTeardown() {
  await Promise.all([globalThis.__PG_SERVER__?.stop(), globalThis.__SERVER_TIER__?.cleanup()]);
  if (process.env.SAAS_TEST_RUN_DIR) rmSync(process.env.SAAS_TEST_RUN_DIR, { recursive: true, force: true });
}
