/**
 * A content hash of the files that decide what a migration run does: the migrations, the seeds and the runner
 * code. The custom resource carries it as a property, so CloudFormation updates the resource (and the runner
 * runs) exactly when one of those files changes, and never because of anything else.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

function filesUnder(root: string, dir: string = root): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) return filesUnder(root, path);
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
