/**
 * The RLS benchmark end to end at a tiny size, one set of checks for both engines: test/db runs it on PGlite,
 * test/server on a real PostgreSQL server. The pipeline migrates, generates, measures and reports, and the
 * correctness parts of the report hold (same rows under RLS as with the hand-written filter, nothing from another
 * tenant, exact answers from the exact strategy). No timing is asserted: figures come from the benchmark itself
 * (docs/performance.md).
 */
import { DEFAULT_OPTIONS, type BenchOptions } from '../../bench/rls/options';
import { contextSetupLine, overheadTable, tenantQueryTable, vectorSearchTable, writePathTable } from '../../bench/rls/report';
import type { RlsBenchReport } from '../../bench/rls/run';
import { SEARCH_CONFIGS } from '../../bench/rls/vector-search';

export const TINY: BenchOptions = {
  ...DEFAULT_OPTIONS,
  size: { organizations: 12, users: 40, tasks: 600, results: 120, auditLogs: 200, sessionsPerUser: 1, probeShares: [0.1, 0.01, 0.001] },
  iterations: 3,
  warmup: 1,
  knnQueries: 3,
  writeRows: 20,
  out: null,
};

/** Defines the checks on a tiny run's report; `report()` gives the report of a run made in a beforeAll. */
export function describeTinyBenchReport(report: () => RlsBenchReport): void {
  test('generates the data set it was asked for, on every migration', () => {
    expect(report().migrations).toEqual(expect.arrayContaining(['migrations/005_rls_and_vector_search_performance.sql', 'seeds/002_test_rls.sql']));
    // Generated rows plus the seeds' sample data (3 organizations, 4 users, 5 tasks, 5 results).
    expect(report().dataset.rows).toMatchObject({ organizations: 15, users: 44, agent_tasks: 605, agent_results: 125 });
    expect(report().dataset.probeTenants.map((t) => t.results)).toEqual([12, 1, 1]);
  });

  test('tenant-scoped queries: every query, both tenants, same rows under RLS as with the hand-written filter', () => {
    expect(report().tenantQueries).toHaveLength(16);
    for (const row of report().tenantQueries) {
      expect({ query: `${row.tenant}: ${row.query} (${row.scope})`, sameRows: row.sameRows }).toEqual({ query: expect.any(String), sameRows: true });
      expect(row.rows).toBeGreaterThan(0);
      expect(row.owner.n).toBe(TINY.iterations);
      expect(row.rls.n).toBe(TINY.iterations);
      expect(row.ratio).toBeGreaterThan(0);
      expect(row.ratioInterval.low).toBeLessThanOrEqual(row.ratio);
      expect(row.ratioInterval.high).toBeGreaterThanOrEqual(row.ratio);
      // The membership lookup never runs per row, whatever plan the tiny tables get.
      expect(row.plan.noPerRowLookups).toBe(true);
      // Issue 18's targets: 1.3 for a read that names its organization, 1.5 for one that leaves it to RLS.
      expect(row.target).toBe(row.scope === 'app' ? 1.3 : 1.5);
    }
    expect(tenantQueryTable(report().tenantQueries)).toMatch(/task counts by status/);
  });

  test('the context set-up is measured beside one small statement', () => {
    const { setup, statement, ratio, ratioInterval } = report().contextSetup;
    expect([setup.n, statement.n]).toEqual([TINY.iterations, TINY.iterations]);
    expect(ratio).toBeGreaterThan(0);
    expect(ratioInterval.low).toBeLessThanOrEqual(ratio);
    expect(ratioInterval.high).toBeGreaterThanOrEqual(ratio);
    expect(contextSetupLine(report().contextSetup)).toMatch(/set-up \/ statement: ×/);
  });

  test('where the cost of RLS goes: four ways of one point query, plain and prepared, each finding the task', () => {
    expect(report().rlsOverhead.map((r) => r.variant)).toEqual(['owner', 'rls', 'privileges only', 'lookup only']);
    for (const row of report().rlsOverhead) {
      expect(row.plain.n).toBe(TINY.iterations);
      expect(row.prepared.n).toBe(TINY.iterations);
      expect(row.plainRatio).toBeGreaterThan(0);
    }
    expect(report().rlsOverhead[0].plainRatio).toBe(1);
    expect(overheadTable(report().rlsOverhead)).toMatch(/privileges only/);
  });

  test('vector search: every configuration and probe tenant measured; no foreign rows; the exact strategy is exact', () => {
    const { vectorSearch } = report();
    expect(vectorSearch.results).toHaveLength(SEARCH_CONFIGS.length * 3);
    for (const row of vectorSearch.results) {
      expect(row.foreignRows).toBe(0);
      expect(row.latency.n).toBe(TINY.knnQueries);
    }
    const chosen = vectorSearch.results.filter((r) => r.config === 'search_agent_results()');
    for (const row of chosen) {
      expect(row.plan).toMatch(/^exact branch/); // tiny tenants are below the cut-off
      expect(row.recall).toBe(1);
      expect(row.shortResults).toBe(0);
    }
    expect(vectorSearch.settings['set_app_user']).toMatch(/hnsw\.iterative_scan=relaxed_order/);
    expect(vectorSearch.settings['as-is (pgvector defaults)']).toMatch(/hnsw\.iterative_scan=off, hnsw\.ef_search=40/);
    expect(vectorSearch.unfiltered.map((u) => u.efSearch)).toEqual([40, 100]);
    expect(vectorSearchTable(vectorSearch)).toMatch(/unfiltered search, hnsw.ef_search=40/);
  });

  test('write path: four operations measured on both sides', () => {
    expect(report().writePath.map((w) => w.operation)).toEqual(['insert (1 row)', 'insert batch (500 rows)', 'update status (1 row)', 'insert (1 row), triggers']);
    for (const row of report().writePath) {
      expect(row.withChecks.n).toBeGreaterThan(0);
      expect(row.without.n).toBe(row.withChecks.n);
      expect(row.rowsPerSecondWith).toBeGreaterThan(0);
      expect(row.ratioInterval.low).toBeLessThanOrEqual(row.ratio);
      expect(row.ratioInterval.high).toBeGreaterThanOrEqual(row.ratio);
    }
    // Issue 18's targets: one-row statements 1.5, the batch insert 1.2; the triggers' own cost is information.
    expect(report().writePath.map((w) => w.target)).toEqual([1.5, 1.2, 1.5, null]);
    expect(writePathTable(report().writePath)).toMatch(/triggers/);
  });

  test('reports a verdict for every target', () => {
    expect(Object.keys(report().targets).sort()).toEqual(
      ['contextSetup', 'explainIndexScans', 'explainLookupOncePerStatement', 'tenantQueryRatio', 'vectorP95', 'vectorRecall', 'writePath']);
    expect(Object.values(report().targets).every((v) => typeof v === 'boolean')).toBe(true);
  });
}
