/**
 * The whole benchmark: migrate a database (PGlite, or a scratch database on a PostgreSQL server), generate the
 * data set, run the measurements and return one report object (what bench/results/rls*.json holds).
 */
import { cpus, loadavg } from 'node:os';
import { redactUrl } from '../../lib/db-cli/connect';
import { openBenchDatabase, type BenchDatabase, type Engine } from './database';
import { generateDataset } from './dataset';
import type { BenchOptions } from './options';
import { organizationId, planTenants, userId } from './tenants';
import { benchRlsOverhead, type OverheadRow } from './overhead';
import { benchContextSetup, benchTenantQueries, type Actor, type ContextSetupResult, type TenantQueryResult } from './tenant-queries';
import { benchVectorSearch, type VectorSearchReport } from './vector-search';
import { benchWritePath, type WriteResult } from './write-path';

/** What the figures were measured on. */
export interface BenchEnvironment {
  readonly engine: Engine;
  /** The database, without credentials. */
  readonly database: string;
  /** server_version. */
  readonly serverVersion: string;
  /** The vector extension's version. */
  readonly pgvector: string;
  /** Whether the login acting as the application (and owning the schema) is a superuser: PGlite's is, a server's must not be. */
  readonly ownerIsSuperuser: boolean;
  /** Server settings that move the figures. */
  readonly settings: Record<string, string>;
  readonly node: string;
  readonly platform: string;
  readonly cpus: number;
  readonly cpuModel: string;
  /** os.loadavg() (1, 5, 15 minutes) when the run started and when it ended: the machine's other work. */
  readonly loadAverage: { readonly start: number[]; readonly end: number[] };
}

export interface RlsBenchReport {
  readonly benchmark: 'rls';
  readonly startedAt: string;
  readonly durationSeconds: number;
  readonly environment: BenchEnvironment;
  /** The options, server URLs without their passwords. */
  readonly options: BenchOptions;
  readonly migrations: string[];
  readonly dataset: {
    readonly rows: Record<string, number>;
    readonly generationSeconds: Record<string, number>;
    readonly probeTenants: { ordinal: number; share: number; tasks: number; results: number }[];
  };
  readonly tenantQueries: TenantQueryResult[];
  readonly contextSetup: ContextSetupResult;
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
    readonly contextSetup: boolean;
  };
}

const SETTINGS = ['shared_buffers', 'work_mem', 'maintenance_work_mem', 'effective_cache_size', 'random_page_cost', 'jit',
  'max_parallel_workers_per_gather', 'plan_cache_mode', 'synchronous_commit'];

/** Runs everything; `log` receives progress lines. The database is closed before returning. */
export async function runRlsBench(options: BenchOptions, log: (line: string) => void = () => undefined): Promise<RlsBenchReport> {
  const started = new Date();
  const clock = performance.now();
  const tenants = planTenants(options.size); // validates the sizes before any work
  const loadAtStart = loadavg();
  log(options.server
    ? `a scratch database on the server of ${redactUrl(options.server.databaseUrl)}, created and migrated by its owner`
    : 'migrating an embedded PostgreSQL (PGlite + pgvector)');
  const db = await openBenchDatabase(options.server, log);
  try {
    const environment = await describeEnvironment(db);
    log(`generating the data set (${options.size.organizations} organizations, ${options.size.tasks} tasks, ${options.size.results} vectors)`);
    const dataset = await generateDataset(db.owner, { size: options.size, seed: options.seed, queriesPerTenant: options.knnQueries, log: (l) => log(`  ${l}`) });

    const probes = options.size.probeShares.length;
    const typical = tenants[probes];
    const actors: Actor[] = [
      { label: 'typical tenant', organizationId: organizationId(typical.ordinal), userId: userId(typical.ordinal) },
      { label: 'largest tenant', organizationId: organizationId(1), userId: userId(1) },
    ];
    log('tenant-scoped queries: app_user with RLS against the owner with a hand-written filter');
    const tenantQueries = await benchTenantQueries(db, actors, options, log);
    const contextSetup = await benchContextSetup(db, actors[0], options);
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
      environment: { ...environment, loadAverage: { start: loadAtStart, end: loadavg() } },
      options: withoutPasswords(options),
      migrations: db.applied,
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
        contextSetup: contextSetup.pass,
      },
    };
  } finally {
    await db.close();
  }
}

async function describeEnvironment(db: BenchDatabase): Promise<Omit<BenchEnvironment, 'loadAverage'>> {
  const { rows } = await db.app.query<{ version: string; pgvector: string; superuser: boolean }>(
    `SELECT current_setting('server_version') AS version, (SELECT extversion FROM pg_extension WHERE extname = 'vector') AS pgvector,
            (SELECT rolsuper FROM pg_roles WHERE rolname = session_user) AS superuser`);
  const settings = await db.app.query<{ name: string; value: string }>(
    'SELECT name, current_setting(name) AS value FROM pg_settings WHERE name = ANY ($1::text[]) ORDER BY name', [SETTINGS]);
  return {
    engine: db.engine,
    database: db.description,
    serverVersion: rows[0].version,
    pgvector: rows[0].pgvector,
    ownerIsSuperuser: rows[0].superuser,
    settings: Object.fromEntries(settings.rows.map((r) => [r.name, r.value])),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
  };
}

/** The options as the report records them: a URL's password is nobody's business. */
function withoutPasswords(options: BenchOptions): BenchOptions {
  if (!options.server) return options;
  return { ...options, server: { ...options.server, databaseUrl: redactUrl(options.server.databaseUrl), adminUrl: redactUrl(options.server.adminUrl) } };
}
