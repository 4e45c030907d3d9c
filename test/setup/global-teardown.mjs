import { rmSync } from 'node:fs';

export default async function globalTeardown() {
  await globalThis.__PG_SERVER__?.stop();
  if (process.env.SAAS_TEST_RUN_DIR) rmSync(process.env.SAAS_TEST_RUN_DIR, { recursive: true, force: true });
}
