export default async function globalTeardown() {
  await Promise.all([globalThis.__PG_SERVER__?.stop(), globalThis.__SERVER_TIER__?.cleanup()]);
}
