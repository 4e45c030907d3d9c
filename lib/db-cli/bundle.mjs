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
import { realpathSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const bundle = join(root, 'dist', 'bin', 'db-cli.js');
const require = createRequire(import.meta.url);

// Two of pg's modules cost every run start-up time for paths the CLI rarely or never takes.
// Its SCRAM hashing goes through Web Crypto; it is swapped for Node's synchronous primitives (see the module).
const pgCrypto = realpathSync(require.resolve('pg/lib/crypto/utils.js'));
// And pg loads `dns` up front, which starts a resolver (reading /etc/resolv.conf) that only pg-native's
// connection string uses; it is loaded when first called instead. Connecting to a host name loads it anyway.
const pgConnectionParameters = realpathSync(require.resolve('pg/lib/connection-parameters.js'));
const slimPg = {
  name: 'slim-pg',
  setup(build) {
    build.onResolve({ filter: /utils$/ }, ({ resolveDir, path }) =>
      resolveDir && join(realpathSync(resolveDir), `${path}.js`) === pgCrypto ? { path: join(root, 'lib', 'db-cli', 'pg-crypto.ts') } : undefined,
    );
    build.onResolve({ filter: /^dns$/ }, ({ importer }) => (importer && realpathSync(importer) === pgConnectionParameters ? { path: 'node:dns', namespace: 'lazy' } : undefined));
  },
};

// node:crypto loads some twenty modules (~3 ms). Loaded at first use instead of at start-up, that happens
// once the connection is under way (lib/db-cli/early-socket.ts), while the server forks its backend.
const lazyCrypto = {
  name: 'lazy-crypto',
  setup(build) {
    build.onResolve({ filter: /^(node:)?crypto$/ }, ({ namespace }) =>
      namespace === 'lazy' ? { path: 'node:crypto', external: true } : { path: 'node:crypto', namespace: 'lazy' },
    );
  },
};

/**
 * A module standing for a Node.js built-in, which requires it when one of its exports is first read.
 * Its exports are getters named as the built-in's (listed now), so that esbuild's ES-module interop,
 * which copies the names of a CommonJS module's exports, sees them all without loading it.
 */
const lazyBuiltin = {
  name: 'lazy-builtin',
  setup(build) {
    build.onLoad({ filter: /.*/, namespace: 'lazy' }, ({ path }) => ({
      contents: `let loaded;
const load = () => (loaded ??= require(${JSON.stringify(path)}));
for (const name of ${JSON.stringify(Object.keys(require(path)))}) {
  Object.defineProperty(module.exports, name, { enumerable: true, get: () => load()[name] });
}`,
      loader: 'js',
    }));
  },
};

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
  plugins: [slimPg, lazyCrypto, lazyBuiltin],
  logLevel: 'warning',
});
const bundled = await readFile(bundle, 'utf8');
if (!bundled.includes('pbkdf2Sync') || /require\("(dns|crypto)"\)/.test(bundled)) throw new Error('pg was not slimmed: has it moved its crypto or dns use?');

const { writeEagerCodeCache } = require(join(root, 'dist', 'lib', 'db-cli', 'launch.js'));
writeEagerCodeCache(bundle);
