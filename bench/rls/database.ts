/**
 * The benchmark's database: an embedded PostgreSQL (PGlite with pgvector) with the project's migrations and
 * seeds applied exactly as the migration runner applies them, one file per transaction.
 *
 * The apply loop is a copy of test/support/embedded.ts (bench code must not import from test/).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { openEmbeddedDatabase, type EmbeddedDatabase } from '../../lib/local/pglite';

/** The repository root, from the source (bench/rls) or the compiled (dist/bench/rls) location. */
export function repositoryRoot(): string {
  const up = __dirname.split(/[\\/]/).includes('dist') ? ['..', '..', '..'] : ['..', '..'];
  return join(__dirname, ...up);
}

/** The SQL files of a directory in version order. */
export function sqlFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((name) => name.endsWith('.sql'))
    .sort()
    .map((name) => join(dir, name));
}

/** Runs one file in its own transaction, as the migration runner does. */
export async function applyFile(db: EmbeddedDatabase, file: string): Promise<void> {
  await db.exec('BEGIN');
  try {
    await db.exec(readFileSync(file, 'utf8'));
    await db.exec('COMMIT');
  } catch (error) {
    await db.exec('ROLLBACK');
    throw new Error(`${file}: ${(error as Error).message}`, { cause: error });
  }
}

/** A new in-memory database with every migration and seed applied; returns it with the files applied. */
export async function openMigratedDatabase(root = repositoryRoot()): Promise<{ db: EmbeddedDatabase; applied: string[] }> {
  const db = await openEmbeddedDatabase();
  const files = [...sqlFiles(join(root, 'migrations')), ...sqlFiles(join(root, 'seeds'))];
  try {
    for (const file of files) await applyFile(db, file);
  } catch (error) {
    await db.close();
    throw error;
  }
  return { db, applied: files.map((file) => file.slice(root.length + 1)) };
}
