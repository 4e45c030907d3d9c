/**
 * The benchmark's database: an embedded PostgreSQL (PGlite with pgvector) with the project's migrations and
 * seeds applied by the migration runner, exactly as a deploy applies them.
 */
import { basename, join } from 'node:path';
import { fromPglite, migrate } from '../../lambda/migrator';
import { openEmbeddedDatabase, type EmbeddedDatabase } from '../../lib/local/pglite';

/** The repository root, from the source (bench/rls) or the compiled (dist/bench/rls) location. */
export function repositoryRoot(): string {
  const up = __dirname.split(/[\\/]/).includes('dist') ? ['..', '..', '..'] : ['..', '..'];
  return join(__dirname, ...up);
}

/** A new in-memory database with every migration and seed applied; returns it with the files applied. */
export async function openMigratedDatabase(root = repositoryRoot()): Promise<{ db: EmbeddedDatabase; applied: string[] }> {
  const db = await openEmbeddedDatabase();
  try {
    const result = await migrate(fromPglite(db), { migrations: join(root, 'migrations'), seeds: join(root, 'seeds'), allowSeeds: true });
    return { db, applied: result.applied.map((step) => `${step.kind === 'seed' ? 'seeds' : 'migrations'}/${basename(step.path)}`) };
  } catch (error) {
    await db.close();
    throw error;
  }
}
