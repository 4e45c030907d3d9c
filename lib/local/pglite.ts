/**
 * The embedded database: PGlite (PostgreSQL 18 in WebAssembly) with pgvector
 * and the contrib extensions the migrations create. It is the default
 * database of the CLI and of the schema tests, so local work and `npm test`
 * need no server (design decision 9).
 */
import { importEsm } from '../esm-import';

/** The ESM packages' types, as the import() calls below load them. */
type EsmPglite = typeof import('@electric-sql/pglite', { with: { 'resolution-mode': 'import' } });
type EsmVector = typeof import('@electric-sql/pglite-pgvector', { with: { 'resolution-mode': 'import' } });
type EsmPgcrypto = typeof import('@electric-sql/pglite/contrib/pgcrypto', { with: { 'resolution-mode': 'import' } });
type EsmUuidOssp = typeof import('@electric-sql/pglite/contrib/uuid_ossp', { with: { 'resolution-mode': 'import' } });
type EsmCitext = typeof import('@electric-sql/pglite/contrib/citext', { with: { 'resolution-mode': 'import' } });
type EsmBtreeGist = typeof import('@electric-sql/pglite/contrib/btree_gist', { with: { 'resolution-mode': 'import' } });

/**
 * The extensions `migrations/001_extensions.sql` creates, loaded into PGlite.
 * Loaded by dynamic import: the packages are ESM, and a CLI run against a
 * real server should not pay for loading PGlite at all.
 */
async function embeddedExtensions() {
  const [{ vector }, { pgcrypto }, { uuid_ossp }, { citext }, { btree_gist }] = await Promise.all([
    importEsm<EsmVector>('@electric-sql/pglite-pgvector'),
    importEsm<EsmPgcrypto>('@electric-sql/pglite/contrib/pgcrypto'),
    importEsm<EsmUuidOssp>('@electric-sql/pglite/contrib/uuid_ossp'),
    importEsm<EsmCitext>('@electric-sql/pglite/contrib/citext'),
    importEsm<EsmBtreeGist>('@electric-sql/pglite/contrib/btree_gist'),
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
  const { PGlite } = await importEsm<EsmPglite>('@electric-sql/pglite');
  return PGlite.create({
    dataDir: options.dataDir,
    loadDataDir: options.loadDataDir,
    extensions: await embeddedExtensions(),
  });
}

/** A PGlite instance (typed from the ESM build that is actually loaded). */
export type EmbeddedDatabase = Awaited<ReturnType<typeof openEmbeddedDatabase>>;
