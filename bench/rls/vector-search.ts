/**
 * Tenant-filtered k-NN over agent_results.embedding (cosine, 1536 dimensions) under RLS, for the probe tenants
 * (10 %, 1 %, 0.1 % of the vectors by default): recall@k against exact search, p50 / p95 latency, and the same
 * for an unfiltered search of the same index.
 *
 * Configurations, each run as app_user in the tenant's context:
 *   as-is, planner's choice   the plain query with pgvector's defaults (no iterative scan, ef_search 40) — the
 *                             index as it is, and whatever plan PostgreSQL picks;
 *   as-is, HNSW plan          the same with the HNSW plan forced (sorting off): what a tenant gets whenever the
 *                             planner does pick the index — the post-filter trap;
 *   set_app_user, HNSW plan   the HNSW plan with the settings set_app_user applies (iterative scan);
 *   search_agent_results()    the function of migration 005, which picks exact or HNSW search by tenant size.
 * The query vector is read from a table in the same statement, so that shipping 1536 floats as text (the same
 * for every variant, and slow through PGlite's JavaScript boundary) does not drown the search itself.
 */
import type { BenchDatabase, BenchSession } from './database';
import { explainJson, readAsAppUser, readAsOwner } from './context';
import { interleave, timed } from './measure';
import { planRoot, type PlanNode } from './plans';
import { ratio, recallAtK, summarize, type Summary } from '../stats';

export interface ProbeTenant {
  readonly ordinal: number;
  readonly organizationId: string;
  readonly userId: string;
  /** Share of all vectors the tenant holds. */
  readonly share: number;
  readonly vectors: number;
}

export type SearchConfig = 'as-is, planner' | 'as-is, HNSW plan' | 'set_app_user, HNSW plan' | 'search_agent_results()';
export const SEARCH_CONFIGS: readonly SearchConfig[] = ['as-is, planner', 'as-is, HNSW plan', 'set_app_user, HNSW plan', 'search_agent_results()'];
/** The configuration the targets are judged on. */
export const CHOSEN_CONFIG: SearchConfig = 'search_agent_results()';
export const RECALL_TARGET = 0.95;
export const P95_TARGET = 3;

/** pgvector's defaults, i.e. the index as it is before migration 005's settings. */
const PGVECTOR_DEFAULTS = 'SET LOCAL hnsw.iterative_scan = off; SET LOCAL hnsw.ef_search = 40';

const queryVector = '(SELECT q.embedding FROM bench_knn_queries AS q WHERE q.tenant = $2 AND q.n = $3)';
const PLAIN_SQL = `SELECT id FROM agent_results WHERE organization_id = $1 ORDER BY embedding <=> ${queryVector} LIMIT $4`;
const FUNCTION_SQL = `SELECT id FROM search_agent_results($1, ${queryVector}, $4::int)`;
const EXACT_SQL = `SELECT id FROM agent_results WHERE organization_id = $1 ORDER BY embedding <=> ${queryVector} LIMIT $4`;
const UNFILTERED_SQL = `SELECT id FROM agent_results WHERE $1::uuid IS NOT NULL ORDER BY embedding <=> ${queryVector} LIMIT $4`;

export interface SearchResult {
  readonly config: SearchConfig;
  readonly tenant: number;
  readonly share: number;
  readonly vectors: number;
  /** Mean and minimum recall@k over the tenant's queries. */
  readonly recall: number;
  readonly recallMin: number;
  /** Queries that returned fewer than min(k, tenant's vectors) rows. */
  readonly shortResults: number;
  readonly latency: Summary;
  /** The plan the first query got, e.g. "HNSW index scan" or "exact (b-tree + sort)". */
  readonly plan: string;
  /** Rows of another organization returned (must be 0). */
  readonly foreignRows: number;
  /** p95 / p95 of the unfiltered search with the same hnsw.ef_search. */
  readonly p95Ratio: number;
}

export interface VectorSearchReport {
  readonly k: number;
  /** hnsw.* settings of each configuration, read back from the database. */
  readonly settings: Record<string, string>;
  /** search_agent_results() searches exactly below this many tenant rows. */
  readonly exactSearchCutoff: number;
  readonly unfiltered: { efSearch: number; latency: Summary; recall: number }[];
  readonly results: SearchResult[];
  readonly pass: { recall: boolean; p95: boolean };
}

/** A one-line description of how a plan finds the neighbours. */
export function describeSearchPlan(explain: unknown): string {
  const kinds = new Set<string>();
  const visit = (node: PlanNode) => {
    if (node['Relation Name'] === 'agent_results') {
      const index = String(node['Index Name'] ?? '');
      if (index.includes('hnsw')) kinds.add('HNSW index scan');
      else if (node['Node Type'] === 'Seq Scan') kinds.add('exact (sequential scan + sort)');
      else kinds.add(`exact (${node['Node Type'].toLowerCase()} + sort)`);
    }
    for (const child of node.Plans ?? []) visit(child);
  };
  visit(planRoot(explain));
  return [...kinds].join(', ') || 'unknown';
}

async function efSearchOfIndexedSearch(session: BenchSession): Promise<number> {
  const { rows } = await session.query<{ config: string[] | null }>(
    `SELECT proconfig AS config FROM pg_proc WHERE oid = 'tenancy.agent_results_nearest_indexed(uuid, vector, integer)'::regprocedure`);
  const entry = (rows[0]?.config ?? []).find((setting) => setting.startsWith('hnsw.ef_search='));
  return entry ? Number(entry.split('=')[1]) : 40;
}

/** Runs the k-NN benchmark. Needs the temporary table bench_knn_queries (tenant, n, embedding). */
export async function benchVectorSearch(
  db: BenchDatabase,
  tenants: readonly ProbeTenant[],
  options: { queriesPerTenant: number; k: number; log?: (line: string) => void },
): Promise<VectorSearchReport> {
  const { k, queriesPerTenant } = options;
  const log = options.log ?? (() => undefined);
  await db.owner.exec('GRANT SELECT ON bench_knn_queries TO app_user');
  const indexedEfSearch = await efSearchOfIndexedSearch(db.owner);
  const efSearches = [...new Set([40, indexedEfSearch])];

  // What each configuration runs with.
  const settings: Record<string, string> = {};
  await readAsAppUser(db, tenants[0].userId, async (s) => {
    const read = async () => (await s.query<{ s: string }>(
      `SELECT 'hnsw.iterative_scan=' || current_setting('hnsw.iterative_scan') || ', hnsw.ef_search=' || current_setting('hnsw.ef_search')
              || ', hnsw.max_scan_tuples=' || current_setting('hnsw.max_scan_tuples') AS s`)).rows[0].s;
    settings['set_app_user'] = await read();
    await s.exec(PGVECTOR_DEFAULTS);
    settings['as-is (pgvector defaults)'] = await read();
    settings['search_agent_results() HNSW branch'] = `hnsw.iterative_scan=relaxed_order, hnsw.ef_search=${indexedEfSearch} (function SET clause)`;
  });

  const results: SearchResult[] = [];
  const unfilteredSamples = new Map<number, number[]>(efSearches.map((ef) => [ef, []]));
  const unfilteredRecall = new Map<number, number[]>(efSearches.map((ef) => [ef, []]));
  const cutoff = Number((await db.owner.query<{ c: number | string }>('SELECT tenancy.agent_results_exact_search_cutoff($1) AS c', [k])).rows[0].c);

  for (const tenant of tenants) {
    log(`  tenant ${tenant.ordinal} (${(tenant.share * 100).toPrecision(2)} % of vectors): exact answers`);
    const truth: string[][] = [];
    const unfilteredTruth: string[][] = [];
    const exactQueries = Math.min(queriesPerTenant, 20);
    await readAsOwner(db, async (s) => {
      await s.exec('SET LOCAL enable_indexscan = off'); // HNSW can only serve index scans: this makes it exact
      for (let n = 1; n <= queriesPerTenant; n++) {
        truth.push((await s.query<{ id: string }>(EXACT_SQL, [tenant.organizationId, tenant.ordinal, n, k])).rows.map((r) => r.id));
        if (n <= exactQueries) {
          unfilteredTruth.push((await s.query<{ id: string }>(UNFILTERED_SQL, [tenant.organizationId, tenant.ordinal, n, k])).rows.map((r) => r.id));
        }
      }
    });

    const found = new Map<SearchConfig, string[][]>(SEARCH_CONFIGS.map((c) => [c, []]));
    const plans = new Map<SearchConfig, string>();
    const asApp = (config: SearchConfig, n: number) => () => readAsAppUser(db, tenant.userId, async (s) => {
      if (config.startsWith('as-is')) await s.exec(PGVECTOR_DEFAULTS);
      if (config.endsWith('HNSW plan')) await s.exec('SET LOCAL enable_sort = off');
      const sql = config === 'search_agent_results()' ? FUNCTION_SQL : PLAIN_SQL;
      const params = [tenant.organizationId, tenant.ordinal, n, k];
      if (!plans.has(config) && config !== 'search_agent_results()') plans.set(config, describeSearchPlan(await explainJson(s, sql, params)));
      const { ms, value } = await timed(() => s.query<{ id: string }>(sql, params));
      found.get(config)![n - 1] = value.rows.map((r) => r.id);
      return ms;
    });
    const recallByQuery = new Map<number, Map<number, number>>(efSearches.map((ef) => [ef, new Map()]));
    // The unfiltered search runs on the owner session (no RLS), as the owner's side of every ratio does.
    const unfiltered = (ef: number, n: number) => async () => {
      await db.owner.exec(`BEGIN; SET LOCAL hnsw.ef_search = ${ef}`);
      try {
        const { ms, value } = await timed(() => db.owner.query<{ id: string }>(UNFILTERED_SQL, [tenant.organizationId, tenant.ordinal, n, k]));
        if (n <= exactQueries) recallByQuery.get(ef)!.set(n, recallAtK(value.rows.map((r) => r.id), unfilteredTruth[n - 1], k));
        return ms;
      } finally {
        await db.owner.exec('ROLLBACK');
      }
    };

    log(`  tenant ${tenant.ordinal}: ${queriesPerTenant} queries × ${SEARCH_CONFIGS.length} configurations + unfiltered`);
    const samples = new Map<string, number[]>();
    for (let n = 1; n <= queriesPerTenant; n++) {
      // Every variant once per query vector, starting with a different one each time.
      const names = [...SEARCH_CONFIGS, ...efSearches.map((ef) => `unfiltered ef_search=${ef}`)];
      const variants: Record<string, () => Promise<number>> = {};
      for (const name of [...names.slice(n % names.length), ...names.slice(0, n % names.length)]) {
        variants[name] = name.startsWith('unfiltered') ? unfiltered(Number(name.split('=')[1]), n) : asApp(name as SearchConfig, n);
      }
      // One warm-up pass on the first query only: each query vector is new to the index, as in production.
      const measured = await interleave(variants, { warmup: n === 1 ? 1 : 0, iterations: 1 });
      for (const [name, values] of Object.entries(measured)) samples.set(name, [...(samples.get(name) ?? []), ...values]);
    }
    for (const ef of efSearches) {
      unfilteredSamples.get(ef)!.push(...(samples.get(`unfiltered ef_search=${ef}`) ?? []));
      unfilteredRecall.get(ef)!.push(...recallByQuery.get(ef)!.values());
    }

    // Isolation: nothing returned may belong to another organization.
    const foreign = async (ids: string[][]) => readAsOwner(db, async (s) =>
      (await s.query<{ n: number }>('SELECT count(*)::int AS n FROM agent_results WHERE id = ANY ($1::uuid[]) AND organization_id <> $2',
        [ids.flat(), tenant.organizationId])).rows[0].n);

    for (const config of SEARCH_CONFIGS) {
      const answers = found.get(config)!;
      const recalls = answers.map((ids, i) => recallAtK(ids, truth[i], k));
      const expectedRows = Math.min(k, tenant.vectors);
      results.push({
        config,
        tenant: tenant.ordinal,
        share: tenant.share,
        vectors: tenant.vectors,
        recall: recalls.reduce((sum, r) => sum + r, 0) / recalls.length,
        recallMin: Math.min(...recalls),
        shortResults: answers.filter((ids) => ids.length < expectedRows).length,
        latency: summarize(samples.get(config) ?? []),
        plan: config === 'search_agent_results()'
          ? (tenant.vectors < cutoff ? `exact branch (${tenant.vectors} < cut-off ${cutoff})` : `HNSW branch (${tenant.vectors} ≥ cut-off ${cutoff})`)
          : plans.get(config) ?? 'unknown',
        foreignRows: await foreign(answers),
        p95Ratio: Number.NaN,
      });
    }
  }

  const unfilteredReport = efSearches.map((ef) => {
    const recalls = unfilteredRecall.get(ef)!;
    return { efSearch: ef, latency: summarize(unfilteredSamples.get(ef)!), recall: recalls.reduce((s, r) => s + r, 0) / recalls.length };
  });
  const baselineP95 = (config: SearchConfig) => {
    const ef = config === 'search_agent_results()' ? indexedEfSearch : 40;
    return unfilteredReport.find((u) => u.efSearch === ef)!.latency.p95;
  };
  const withRatios = results.map((r) => ({ ...r, p95Ratio: ratio(r.latency.p95, baselineP95(r.config)) }));
  const chosen = withRatios.filter((r) => r.config === CHOSEN_CONFIG);
  return {
    k,
    settings,
    exactSearchCutoff: cutoff,
    unfiltered: unfilteredReport,
    results: withRatios,
    pass: {
      recall: chosen.every((r) => r.recall >= RECALL_TARGET && r.foreignRows === 0),
      p95: chosen.every((r) => r.p95Ratio <= P95_TARGET),
    },
  };
}
