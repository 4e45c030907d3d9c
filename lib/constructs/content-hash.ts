/**
 * The hash of what a bundled function runs: every file its bundle is made of (its entry and each module it
 * imports, as esbuild resolves them, `pg` included) and the files shipped beside it (the SQL). The migration
 * custom resource carries it as a property, so CloudFormation updates the resource (and the migrations run)
 * exactly when one of those files changes, and never because of anything else: not a comment elsewhere, not
 * the directory the project is checked out in (which the bundle's source map names, so CDK's asset hash of
 * the bundle would change with it).
 */
import { buildSync } from 'esbuild';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return filesUnder(path);
    return entry.isFile() ? [path] : [];
  });
}

/**
 * sha256 over every file below `paths` (directories are walked), in a stable order, each as its path relative
 * to `base` and its content with CRLF line endings and a BOM removed (so a checkout on Windows hashes the same).
 */
export function contentHash(base: string, paths: readonly string[]): string {
  const hash = createHash('sha256');
  const files = paths
    .flatMap((path) => (statSync(path).isDirectory() ? filesUnder(path) : [path]))
    .map((path) => ({ path, name: relative(base, path).split('\\').join('/') }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const { path, name } of files) {
    const text = readFileSync(path, 'utf8').replace(/^\uFEFF/, '').replace(/\r\n/g, '\n');
    hash.update(`${name}\0${text.length}\0${text}\0`);
  }
  return hash.digest('hex');
}

/** The files a bundle of `entry` is made of, as esbuild resolves its imports (absolute paths). */
export function bundledFiles(root: string, entry: string, external: readonly string[]): string[] {
  const { metafile } = buildSync({
    entryPoints: [entry],
    absWorkingDir: root,
    bundle: true,
    platform: 'node',
    write: false,
    metafile: true,
    external: [...external],
    logLevel: 'silent',
  });
  return Object.keys(metafile.inputs).map((path) => join(root, path));
}
