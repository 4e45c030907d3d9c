/**
 * Runs the bundled `db` CLI (dist/bin/db-cli.js) from a V8 code cache kept
 * beside it, as Node.js 22's module compile cache would; the Node.js 20 we
 * support has none. Compiling the bundle and the functions a run calls is
 * 5-10 ms of a ~90 ms no-op `migrate`; from the cache V8 reuses the bytecode.
 *
 * `npm run build` writes the cache with every function compiled, so the
 * first run is already fast. The cache is only an accelerator: V8 checks it
 * against the source, its own version and its flags, and rejects any
 * mismatch; a missing, rejected or unwritable cache means compiling as usual,
 * and the run then leaves a fresh cache behind (written atomically, so
 * concurrent runs cannot tear it).
 */
import { readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { Script } from 'node:vm';
import { LAUNCHER_IMPORT } from '../esm-import';

type ModuleFunction = (exports: object, require: NodeJS.Require, module: { exports: object }, filename: string, dirname: string) => void;

/** The cache belongs to one Node.js build; naming it so keeps two installed versions from evicting each other. */
export function codeCachePath(bundlePath: string): string {
  return join(dirname(bundlePath), `.${basename(bundlePath, '.js')}-${process.version}-${process.arch}.v8cache`);
}

/** The bundle as a CommonJS module function, compiled from `cachedData` when V8 accepts it. */
function compileBundle(bundlePath: string, cachedData?: Buffer): Script {
  // A shebang is only valid at the very start of a script; the module wrapper comes first.
  const source = readFileSync(bundlePath, 'utf8').replace(/^#!.*/, '');
  return new Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, { filename: bundlePath, cachedData });
}

function readCache(path: string): Buffer | undefined {
  try {
    return readFileSync(path);
  } catch {
    return undefined;
  }
}

/** Writes the cache atomically; a read-only install simply runs without one. */
function writeCache(path: string, data: Buffer): void {
  const temporary = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(temporary, data);
    renameSync(temporary, path);
  } catch {
    try {
      unlinkSync(temporary);
    } catch {
      // nothing was written
    }
  }
}

/**
 * Writes the bundle's code cache with every function compiled (for the build).
 * Compiling eagerly needs V8's `--no-lazy`; it is switched back before the
 * cache is made, because V8 stamps the cache with the flags in force and
 * rejects it under any others.
 */
export function writeEagerCodeCache(bundlePath: string, cachePath = codeCachePath(bundlePath)): number {
  // Required here, not at the top: loading node:v8 costs every CLI run a few milliseconds.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { setFlagsFromString } = require('node:v8') as typeof import('node:v8');
  setFlagsFromString('--no-lazy');
  let script: Script;
  try {
    script = compileBundle(bundlePath);
  } finally {
    setFlagsFromString('--lazy');
  }
  const data = script.createCachedData();
  writeCache(cachePath, data);
  return data.length;
}

/** Runs a CommonJS bundle as the main module, from (and, when needed, into) its code cache. */
export function runBundle(bundlePath: string, cachePath = codeCachePath(bundlePath)): void {
  const cachedData = readCache(cachePath);
  const script = compileBundle(bundlePath, cachedData);
  if (cachedData === undefined || script.cachedDataRejected) {
    // Made at exit, so the cache holds every function this run compiled, not just the top level.
    process.once('exit', () => writeCache(cachePath, script.createCachedData()));
  }
  // Code restored from a cache cannot import() on Node.js 20; the bundle borrows this module's import().
  (globalThis as { [LAUNCHER_IMPORT]?: (specifier: string) => Promise<unknown> })[LAUNCHER_IMPORT] = (specifier) => import(specifier);
  const module = { exports: {} };
  (script.runInThisContext() as ModuleFunction)(module.exports, createRequire(bundlePath), module, bundlePath, dirname(bundlePath));
}
