/**
 * import() for the ESM-only packages loaded on demand (PGlite, its socket
 * server, the AWS SDK). The `db` launcher runs the bundled CLI from a V8 code
 * cache (lib/db-cli/launch.ts), and on Node.js 20 a function restored from a
 * code cache has lost its dynamic-import callback ("A dynamic import callback
 * was not specified"). So the launcher, compiled the normal way, lends its own
 * import() under a global symbol; everywhere else this is plain import().
 */
export const LAUNCHER_IMPORT = Symbol.for('saas-data-stack.db-launcher.import');

type Importer = (specifier: string) => Promise<unknown>;

export function importEsm<T>(specifier: string): Promise<T> {
  const viaLauncher = (globalThis as { [LAUNCHER_IMPORT]?: Importer })[LAUNCHER_IMPORT];
  return (viaLauncher ? viaLauncher(specifier) : import(specifier)) as Promise<T>;
}
