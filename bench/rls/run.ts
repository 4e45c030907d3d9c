/**
 * The whole benchmark: migrate an embedded database, generate the data set, run the three measurements and
 * return one report object (what bench/results/rls.json holds).
 */
import { cpus } from 'node:os';
import type { EmbeddedDatabase } from '../../lib/local/pglite';
import { openMigratedDatabase } from './database';
import { generateDataset } from './dataset';
import type { BenchOptions } from './options';
import { organizationId, planTenants, userId } from './tenants';
import { benchRlsOverhead, type OverheadRow } from './overhead';
import { benchContextSetup, benchTenantQueries, type Actor, type TenantQueryResult } from './tenant-queries';
import { benchVectorSearch, type VectorSearchReport } from './vector-search';
import { benchWritePath, type WriteResult } from './write-path';
import type { Summary } from '../stats';

export interface RlsBenchReport {
  readonly benchmark: 'rls';
  readonly startedAt: string;
  readonly durationSeconds: number;
  readonly environment: Record<string, string | number>;
  readonly options: BenchOptions;
  readonly migrations: string[];
  readonly dataset: {
    readonly rows: Record<string, number>;
    readonly generationSeconds: Record<string, number>;
    readonly probeTenants: { ordinal: number; share: number; tasks: number; results: number }[];
  };
  readonly tenantQueries: TenantQueryResult[];
  readonly contextSetup: Summary;
  /** Where the cost of RLS goes on a point query (bench/rls/overhead.ts). */
  readonly rlsOverhead: OverheadRow[];
  readonly vectorSearch: VectorSearchReport;
  readonly writePath: WriteResult[];
  readonly targets: {
    readonly tenantQueryRatio: boolean;
    readonly explainIndexScans: boolean;
    readonly explainLookupOncePerStatement: boolean;
    readonly vectorRecall: boolean;
    readonly vectorP95: boolean;
    readonly writePath: boolean;
  };
}

/** Runs everything; `log` receives progress lines. The database is closed before returning. */
export async function runRlsBench(options: BenchOptions, log: (line: string) => void = () => undefined): Promise<RlsBenchReport> {
  const started = new Date();
  const clock = performance.now();
  const tenants = planTenants(options.size); // validates the sizes before any work
  log('migrating an embedded PostgreSQL (PGlite + pgvector)');
  const { db, applied } = await openMigratedDatabase();
  try {
    const environment = await describeEnvironment(db);
    log(`generating the data set (${options.size.organizations} organizations, ${options.size.tasks} tasks, ${options.size.results} vectors)`);
    const dataset = await generateDataset(db, { size: options.size, seed: options.seed, queriesPerTenant: options.knnQueries, log: (l) => log(`  ${l}`) });

    const probes = options.size.probeShares.length;
    const typical = tenants[probes];
    const actors: Actor[] = [
      { label: 'typical tenant', organizationId: organizationId(typical.ordinal), userId: userId(typical.ordinal) },
      { label: 'largest tenant', organizationId: organizationId(1), userId: userId(1) },
    ];
    log('tenant-scoped queries: app_user with RLS against the owner with a hand-written filter');
    const tenantQueries = await benchTenantQueries(db, actors, options, log);
    const contextSetup = await benchContextSetup(db, actors[0].userId, options);
    log('where the cost of RLS goes (a task by id)');
    const rlsOverhead = await benchRlsOverhead(db, actors[0], options);

    log('tenant-filtered k-NN');
    const vectorSearch = await benchVectorSearch(
      db,
      tenants.slice(0, probes).map((t) => ({ ordinal: t.ordinal, organizationId: organizationId(t.ordinal), userId: userId(t.ordinal), share: t.share, vectors: t.results })),
      { queriesPerTenant: options.knnQueries, k: options.k, log },
    );

    log('write path');
    const writePath = await benchWritePath(db, actors[0], options.writeRows, log);

    return {
      benchmark: 'rls',
      startedAt: started.toISOString(),
      durationSeconds: Math.round((performance.now() - clock) / 100) / 10,
      environment,
      options,
      migrations: applied,
      dataset: {
        rows: dataset.rows,
        generationSeconds: Object.fromEntries(Object.entries(dataset.timings).map(([k, v]) => [k, Math.round(v / 100) / 10])),
        probeTenants: tenants.slice(0, probes).map((t) => ({ ordinal: t.ordinal, share: t.share, tasks: t.tasks, results: t.results })),
      },
      tenantQueries,
      contextSetup,
      rlsOverhead,
      vectorSearch,
      writePath,
      targets: {
        tenantQueryRatio: tenantQueries.every((r) => r.pass.ratio),
        explainIndexScans: tenantQueries.every((r) => r.pass.indexScans),
        explainLookupOncePerStatement: tenantQueries.every((r) => r.pass.membershipOncePerStatement),
        vectorRecall: vectorSearch.pass.recall,
        vectorP95: vectorSearch.pass.p95,
        writePath: writePath.every((r) => r.pass),
      },
    };
  } finally {
    await db.close();
  }
}

async function describeEnvironment(db: EmbeddedDatabase): Promise<Record<string, string | number>> {
  const { rows } = await db.query<{ postgres: string; pgvector: string }>(
    `SELECT current_setting('server_version') AS postgres, (SELECT extversion FROM pg_extension WHERE extname = 'vector') AS pgvector`);
  return {
    database: 'PGlite (PostgreSQL in WebAssembly, one session, in memory)',
    postgres: rows[0].postgres,
    pgvector: rows[0].pgvector,
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
  };
}
