// Bundles the db CLI into one file, dist/bin/db-cli.js, which dist/bin/db.js
// starts (run by `npm run build` after tsc). A no-op `npm run db -- migrate`
// is mostly process start-up: resolving and loading some forty CommonJS files
// (ours and pg's) costs 15-25 ms of it, a single file much less, and a
// minified one parses faster still (names are kept for stack traces). PGlite
// stays outside the bundle: it is ESM, loaded with import() only when the
// embedded database is used. Then the bundle's V8 code cache is written with
// every function compiled, so even the first run skips compiling
// (lib/db-cli/launch.ts, which tsc has just built).
import { build } from 'esbuild';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const bundle = join(root, 'dist', 'bin', 'db-cli.js');

await build({
  entryPoints: [join(root, 'lib', 'db-cli', 'main.ts')],
  outfile: bundle,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  minify: true,
  keepNames: true,
  sourcemap: true,
  // pg-native and pg-cloudflare are optional paths of pg never taken on Node.js.
  // The AWS SDK is loaded only by --data-api, from node_modules.
  external: ['@electric-sql/*', '@aws-sdk/*', 'pg-native', 'pg-cloudflare'],
  logLevel: 'warning',
});

const { writeEagerCodeCache } = createRequire(import.meta.url)(join(root, 'dist', 'lib', 'db-cli', 'launch.js'));
writeEagerCodeCache(bundle);
