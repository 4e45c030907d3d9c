/**
 * The db launcher (lib/db-cli/launch.ts, run from dist/ as npm test builds
 * it): a bundle runs from its V8 code cache, a bad cache is replaced, and
 * code restored from the cache can still import() ES modules, which Node.js
 * 20 breaks for cached code unless the launcher lends its own import().
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const LAUNCH = join(__dirname, '..', '..', '..', 'dist', 'lib', 'db-cli', 'launch.js');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { codeCachePath, writeEagerCodeCache } = require(LAUNCH) as typeof import('../../../lib/db-cli/launch');

/** What the CLI bundle does to load PGlite (lib/esm-import.ts, inlined as esbuild inlines it). */
const BUNDLE = `#!/usr/bin/env node
const viaLauncher = globalThis[Symbol.for('saas-data-stack.db-launcher.import')];
const load = (specifier) => (process.env.PLAIN_IMPORT || !viaLauncher ? import(specifier) : viaLauncher(specifier));
load('node:path').then(
  (path) => process.stdout.write('imported ' + typeof path.join),
  (err) => { process.stdout.write('failed: ' + err.message); process.exitCode = 1; },
);
`;

describe('db launcher', () => {
  let dir: string;
  let bundle: string;
  // Run as the CLI runs: a fresh process, with the test's NODE_OPTIONS (which must not invalidate the cache).
  const run = (env: Record<string, string> = {}) => {
    try {
      return execFileSync(process.execPath, ['-e', `require(${JSON.stringify(LAUNCH)}).runBundle(${JSON.stringify(bundle)})`], {
        env: { ...process.env, ...env },
        encoding: 'utf8',
      });
    } catch (err) {
      return (err as { stdout: string }).stdout;
    }
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'db-launch-'));
    bundle = join(dir, 'bundle.js');
    writeFileSync(bundle, BUNDLE);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('runs from the eagerly compiled cache the build writes, and leaves it as it was', () => {
    expect(writeEagerCodeCache(bundle)).toBeGreaterThan(0);
    const cache = codeCachePath(bundle);
    const written = readFileSync(cache);
    const { mtimeMs } = statSync(cache);
    expect(run()).toBe('imported function');
    expect(run()).toBe('imported function');
    // V8 accepted it both times: a rejected cache would have been rewritten.
    expect(statSync(cache).mtimeMs).toBe(mtimeMs);
    expect(readFileSync(cache).equals(written)).toBe(true);
  });

  it('compiles as usual without a cache, and leaves one behind', () => {
    const cache = codeCachePath(bundle);
    expect(run()).toBe('imported function');
    expect(statSync(cache).size).toBeGreaterThan(0);
  });

  it('replaces a cache V8 rejects, such as one from another build of the bundle', () => {
    const cache = codeCachePath(bundle);
    writeFileSync(cache, 'not a code cache');
    expect(run()).toBe('imported function');
    expect(readFileSync(cache, 'utf8')).not.toBe('not a code cache');
  });

  // The reason for the launcher's import(): shown on the Node.js 20 this project runs on.
  const onNode20 = process.versions.node.startsWith('20.') ? it : it.skip;
  onNode20('lends its own import(), since plain import() fails in code restored from a cache on Node.js 20', () => {
    writeEagerCodeCache(bundle);
    expect(run({ PLAIN_IMPORT: '1' })).toMatch(/^failed: A dynamic import callback was not specified/);
    expect(run()).toBe('imported function');
  });
});
