/**
 * migrations/005: tenant-filtered vector search (search_agent_results and its two strategies), the iterative
 * scan setting set_app_user applies, the pgvector version guard, and portability to the Aurora master user.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { EmbeddedDatabase } from '../../lib/local/pglite';
import { acting } from '../support/acting';
import { applyFile, MIGRATIONS_DIR, openFreshDatabase, openSeededDatabase, SEED, SEEDS_DIR } from '../support/embedded';

const { org, user, result } = SEED;
const MIGRATION = join(MIGRATIONS_DIR, '005_rls_and_vector_search_performance.sql');
const ACME2 = '50000000-0000-4000-8000-000000000002';
/** The seeds' embedding of a phase (seeds/001_sample_data.sql), built in SQL so that RLS cannot hide it. */
const queryOf = (phase: number) => `(SELECT array_agg(sin(i * ${phase})::real ORDER BY i) FROM generate_series(1, 1536) AS i)::vector`;
const ACME1_PHASE = 0.011;
const ACME2_PHASE = 0.013;

describe('search_agent_results', () => {
  let db: EmbeddedDatabase;
  beforeAll(async () => {
    db = await openSeededDatabase();
  });
  afterAll(async () => {
    await db.close();
  });

  test('returns the organization’s nearest results, nearest first, as an exact search would', async () => {
    await acting(db, { userId: user.alice }, async (as) => {
      const found = await as.rows<{ id: string; distance: number }>(
        `SELECT id, distance FROM search_agent_results($1, ${queryOf(ACME1_PHASE)}, 10)`, [org.acme]);
      const exact = await as.rows<{ id: string }>(
        `SELECT id FROM agent_results WHERE organization_id = $1 ORDER BY embedding <=> ${queryOf(ACME1_PHASE)}`, [org.acme]);
      expect(found.map((r) => r.id)).toEqual(exact.map((r) => r.id));
      expect(found[0]).toEqual({ id: result.acme1, distance: expect.closeTo(0, 6) });
      expect(found.map((r) => r.distance)).toEqual([...found.map((r) => r.distance)].sort((a, b) => a - b));
    });
  });

  test('gives nothing for an organization the caller does not belong to, or without a tenant context', async () => {
    const search = (context: Parameters<typeof acting>[1], organization: string) =>
      acting(db, context, (as) => as.rows(`SELECT id FROM search_agent_results($1, ${queryOf(ACME1_PHASE)}, 10)`, [organization]), 'app_user');
    expect(await search({ userId: user.alice }, org.tech)).toEqual([]);
    expect(await search({ userId: user.charlie }, org.acme)).toEqual([]);
    expect(await search({ unset: true }, org.acme)).toEqual([]);
  });

  test('the HNSW strategy respects RLS and finds the same neighbours on a small tenant', async () => {
    await acting(db, { userId: user.alice }, async (as) => {
      const indexed = await as.rows<{ id: string }>(
        `SELECT id FROM tenancy.agent_results_nearest_indexed($1, ${queryOf(ACME2_PHASE)}, 10) ORDER BY distance`, [org.acme]);
      const exact = await as.rows<{ id: string }>(
        `SELECT id FROM tenancy.agent_results_nearest_exact($1, ${queryOf(ACME2_PHASE)}, 10)`, [org.acme]);
      expect(indexed).toEqual(exact);
      expect(exact.map((r) => r.id)).toEqual([ACME2, result.acme1]);
      expect(await as.rows(`SELECT id FROM tenancy.agent_results_nearest_indexed($1, ${queryOf(ACME2_PHASE)}, 10)`, [org.tech])).toEqual([]);
    });
  });

  test('small tenants are searched exactly: the cut-off is at least 100 rows', async () => {
    const [{ cutoff }] = (await db.query<{ cutoff: number }>('SELECT tenancy.agent_results_exact_search_cutoff(10) AS cutoff')).rows;
    expect(cutoff).toBeGreaterThanOrEqual(100);
  });

  test('rejects a missing organization or query, and limits outside 1..1000', async () => {
    await acting(db, { userId: user.alice }, async (as) => {
      expect(await as.run(`SELECT * FROM search_agent_results(NULL, ${queryOf(ACME1_PHASE)}, 10)`)).toEqual({ error: '22004' });
      expect(await as.run('SELECT * FROM search_agent_results($1, NULL, 10)', [org.acme])).toEqual({ error: '22004' });
      expect(await as.run(`SELECT * FROM search_agent_results($1, ${queryOf(ACME1_PHASE)}, 0)`, [org.acme])).toEqual({ error: '22023' });
      expect(await as.run(`SELECT * FROM search_agent_results($1, ${queryOf(ACME1_PHASE)}, 1001)`, [org.acme])).toEqual({ error: '22023' });
    });
  });

  test('set_app_user turns on iterative HNSW scans for the transaction only', async () => {
    const setting = async () => (await db.query<{ s: string }>(`SELECT current_setting('hnsw.iterative_scan') AS s`)).rows[0].s;
    await acting(db, { userId: user.bob }, async () => {
      expect(await setting()).toBe('relaxed_order');
    });
    expect(await setting()).toBe('off');
  });

  test('is not executable by PUBLIC', async () => {
    const [{ granted }] = (await db.query<{ granted: boolean }>(
      `SELECT bool_or(a.grantee = 0) AS granted FROM pg_proc p, aclexplode(p.proacl) a
        WHERE p.proname IN ('search_agent_results', 'agent_results_nearest_exact', 'agent_results_nearest_indexed', 'agent_results_exact_search_cutoff')`)).rows;
    expect(granted).toBe(false);
  });
});

describe('migration 005 on its own', () => {
  const upTo003 = ['001_extensions.sql', '002_core_schema.sql', '003_rls_policies.sql'].map((f) => join(MIGRATIONS_DIR, f));

  test('runs as an Aurora-like master user (NOSUPERUSER, CREATEROLE), after the seeds', async () => {
    const db = await openFreshDatabase();
    try {
      await applyFile(db, upTo003[0]);
      await db.exec(`
        CREATE ROLE rds_superuser NOLOGIN;
        CREATE ROLE rds_master LOGIN NOSUPERUSER CREATEROLE CREATEDB NOREPLICATION NOBYPASSRLS IN ROLE rds_superuser;
        ALTER DATABASE postgres OWNER TO rds_master;
        SET ROLE rds_master;`);
      for (const file of upTo003.slice(1)) await applyFile(db, file);
      // The reference data (system roles, permissions) the seeds held when 005 was written; it is a migration
      // now (014), which needs nothing after 003.
      const referenceData = '014_reference_data.sql';
      await applyFile(db, join(MIGRATIONS_DIR, referenceData));
      await applyFile(db, join(SEEDS_DIR, '001_sample_data.sql'));
      await applyFile(db, MIGRATION);
      // The rest of the schema, then the seeds' self-test (which checks what later migrations added).
      const rest = readdirSync(MIGRATIONS_DIR).filter((f) => f.endsWith('.sql')).sort()
        .filter((f) => !['001_extensions.sql', '002_core_schema.sql', '003_rls_policies.sql', referenceData, '005_rls_and_vector_search_performance.sql'].includes(f));
      for (const file of rest) await applyFile(db, join(MIGRATIONS_DIR, file));
      await applyFile(db, join(SEEDS_DIR, '002_test_rls.sql'));
      const [{ config }] = (await db.query<{ config: string[] }>(
        `SELECT proconfig AS config FROM pg_proc WHERE proname = 'agent_results_nearest_indexed'`)).rows;
      expect(config).toEqual(expect.arrayContaining(['hnsw.iterative_scan=relaxed_order', 'enable_sort=off']));
    } finally {
      await db.close();
    }
  });

  test('refuses pgvector older than 0.8.0 with a clear message, and changes nothing', async () => {
    const db = await openFreshDatabase();
    try {
      for (const file of upTo003) await applyFile(db, file);
      await db.exec(`UPDATE pg_extension SET extversion = '0.7.4' WHERE extname = 'vector'`);
      await expect(applyFile(db, MIGRATION)).rejects.toThrow(/pgvector 0\.7\.4 is installed, but this migration needs pgvector 0\.8\.0 or newer/);
      expect((await db.query(`SELECT 1 FROM pg_proc WHERE proname = 'search_agent_results'`)).rows).toEqual([]);
      await db.exec(`UPDATE pg_extension SET extversion = '0.8.0' WHERE extname = 'vector'`);
      await expect(applyFile(db, MIGRATION)).resolves.toBeUndefined();
    } finally {
      await db.close();
    }
  });
});
