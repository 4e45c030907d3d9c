// Bundles the db CLI (bin/db.ts) with pg into one file, dist/bin/db.js, in place of what tsc wrote there
// (run by `npm run build` after tsc). One file loads faster than the forty-odd CommonJS modules it replaces.
// PGlite and the AWS SDK stay outside: they are ESM, loaded with import() only by the commands that use them.
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
  external: ['@electric-sql/*', '@aws-sdk/*', 'pg-native', 'pg-cloudflare'],
  logLevel: 'warning',
});
