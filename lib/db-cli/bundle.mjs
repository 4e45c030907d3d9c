// Bundles the db CLI into one file, dist/bin/db.js, replacing tsc's output of
// bin/db.ts (run by `npm run build` after tsc). A no-op `npm run db -- migrate`
// is mostly process start-up: resolving and loading some forty CommonJS files
// (ours and pg's) costs 15-25 ms of it, a single file much less. PGlite stays
// outside the bundle: it is ESM, loaded with import() only when the embedded
// database is used.
import { build } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

await build({
  entryPoints: [join(root, 'bin', 'db.ts')],
  outfile: join(root, 'dist', 'bin', 'db.js'),
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: true,
  // pg-native and pg-cloudflare are optional paths of pg never taken on Node.js.
  // The AWS SDK is loaded only by --data-api, from node_modules.
  external: ['@electric-sql/*', '@aws-sdk/*', 'pg-native', 'pg-cloudflare'],
  logLevel: 'warning',
});
