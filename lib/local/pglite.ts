/**
 * The embedded database: PGlite (PostgreSQL 18 in WebAssembly) with pgvector
 * and the contrib extensions the migrations create. It is the default
 * database of the CLI and of the schema tests, so local work and `npm test`
 * need no server (design decision 9).
 */
/**
 * The extensions `migrations/001_extensions.sql` creates, loaded into PGlite.
 * Loaded by dynamic import: the packages are ESM, and a CLI run against a
 * real server should not pay for loading PGlite at all.
 */
async function embeddedExtensions() {
  const [{ vector }, { pgcrypto }, { uuid_ossp }, { citext }, { btree_gist }] = await Promise.all([
    import('@electric-sql/pglite-pgvector'),
    import('@electric-sql/pglite/contrib/pgcrypto'),
    import('@electric-sql/pglite/contrib/uuid_ossp'),
    import('@electric-sql/pglite/contrib/citext'),
    import('@electric-sql/pglite/contrib/btree_gist'),
  ]);
  return { vector, pgcrypto, uuid_ossp, citext, btree_gist };
}

export interface EmbeddedDatabaseOptions {
  /**
   * Directory that keeps the data between runs.
   * @default - in memory, gone when the process exits
   */
  readonly dataDir?: string;
  /**
   * A data directory tarball (from `dumpDataDir`) to start from; much faster
   * than initdb when many tests each need a fresh database.
   * @default - a new cluster
   */
  readonly loadDataDir?: Blob | File;
}

/** Opens (creating if needed) an embedded PostgreSQL with pgvector. */
export async function openEmbeddedDatabase(options: EmbeddedDatabaseOptions = {}) {
  const { PGlite } = await import('@electric-sql/pglite');
  return PGlite.create({
    dataDir: options.dataDir,
    loadDataDir: options.loadDataDir,
    extensions: await embeddedExtensions(),
  });
}

/** A PGlite instance (typed from the ESM build that is actually loaded). */
export type EmbeddedDatabase = Awaited<ReturnType<typeof openEmbeddedDatabase>>;
