/**
 * Fresh embedded databases for the schema tests. Migrating and seeding PGlite takes a few seconds, so each
 * jest worker does it once, dumps the data directory, and every test file starts from a copy of that dump.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fromPglite, migrate, splitSqlStatements } from '../../lambda/migrator';
import { openEmbeddedDatabase, type EmbeddedDatabase } from '../../lib/local/pglite';

export const ROOT = join(__dirname, '..', '..');
export const MIGRATIONS_DIR = join(ROOT, 'migrations');
export const SEEDS_DIR = join(ROOT, 'seeds');

/**
 * Runs one file as the migration runner does: in its own transaction, or, for a `-- migrate:no-transaction`
 * file, statement by statement.
 */
export async function applyFile(db: EmbeddedDatabase, file: string): Promise<void> {
  const text = readFileSync(file, 'utf8');
  if (text.startsWith('-- migrate:no-transaction')) {
    for (const statement of splitSqlStatements(text).statements) {
      await db.exec(statement.text).catch((error: Error) => {
        throw new Error(`${file}:${statement.line}: ${error.message}`, { cause: error });
      });
    }
    return;
  }
  await db.exec('BEGIN');
  try {
    await db.exec(text);
    await db.exec('COMMIT');
  } catch (error) {
    await db.exec('ROLLBACK');
    throw new Error(`${file}: ${(error as Error).message}`, { cause: error });
  }
}

let emptyDump: Promise<Blob> | undefined;
let migratedDump: Promise<Blob> | undefined;
let seededDump: Promise<Blob> | undefined;

/** A new in-memory database with nothing applied (a copy of a cached fresh cluster: no initdb per test). */
export async function openFreshDatabase(): Promise<EmbeddedDatabase> {
  emptyDump ??= (async () => {
    const db = await openEmbeddedDatabase();
    const dump = await db.dumpDataDir('none');
    await db.close();
    return dump;
  })();
  return openEmbeddedDatabase({ loadDataDir: await emptyDump });
}

/** A new in-memory database with every migration and no seed: what a production database holds. */
export async function openMigratedDatabase(): Promise<EmbeddedDatabase> {
  migratedDump ??= (async () => {
    const db = await openFreshDatabase();
    await migrate(fromPglite(db), { migrations: MIGRATIONS_DIR });
    const dump = await db.dumpDataDir('none');
    await db.close();
    return dump;
  })();
  return openEmbeddedDatabase({ loadDataDir: await migratedDump });
}

/**
 * A new in-memory database with every migration and seed applied by the migration runner, exactly as a deploy
 * applies them (seeds/002_test_rls.sql passing).
 */
export async function openSeededDatabase(): Promise<EmbeddedDatabase> {
  seededDump ??= (async () => {
    const db = await openFreshDatabase();
    await migrate(fromPglite(db), { migrations: MIGRATIONS_DIR, seeds: SEEDS_DIR, allowSeeds: true });
    const dump = await db.dumpDataDir('none');
    await db.close();
    return dump;
  })();
  return openEmbeddedDatabase({ loadDataDir: await seededDump });
}

/** The seed data's fixed ids (seeds/001_sample_data.sql). */
export const SEED = {
  org: {
    acme: '10000000-0000-4000-8000-000000000001',
    tech: '10000000-0000-4000-8000-000000000002',
    health: '10000000-0000-4000-8000-000000000003',
  },
  user: {
    alice: '20000000-0000-4000-8000-000000000001',
    bob: '20000000-0000-4000-8000-000000000002',
    charlie: '20000000-0000-4000-8000-000000000003',
    diana: '20000000-0000-4000-8000-000000000004',
  },
  role: {
    superAdmin: '30000000-0000-4000-8000-000000000001',
    orgAdmin: '30000000-0000-4000-8000-000000000002',
    orgMember: '30000000-0000-4000-8000-000000000003',
    agentUser: '30000000-0000-4000-8000-000000000004',
  },
  task: { acme1: '40000000-0000-4000-8000-000000000001', tech1: '40000000-0000-4000-8000-000000000003' },
  result: { acme1: '50000000-0000-4000-8000-000000000001', tech1: '50000000-0000-4000-8000-000000000003' },
} as const;
