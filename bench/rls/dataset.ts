/**
 * Generates the benchmark's data set inside the database, in SQL (generate_series + random(), seeded with
 * setseed, so a run is repeatable), on the owner session (a superuser: PGlite's, or the admin login on a server;
 * no RLS, triggers fire as usual).
 *
 * Embeddings are clustered, so that nearest neighbours mean something (uniform random vectors in 1536
 * dimensions are all about equally far apart):
 *   embedding = topic centroid (norm ~1) + sub-topic offset (norm ~0.6) + per-vector noise (norm ~0.35)
 * with TOPICS global topics of SUBTOPICS sub-topics each. Every vector picks its sub-topic uniformly at
 * random whatever its tenant, so a tenant's vectors are scattered across the same clusters as everyone
 * else's: the hard case for a tenant filter applied after an approximate index scan. A k-NN query of a tenant
 * is a fresh point (centre + noise) of a sub-topic the tenant holds vectors in.
 */
import type { BenchSession } from './database';
import { planTenants, type DatasetSize, type TenantPlan } from './tenants';

export const DIMENSIONS = 1536;
export const TOPICS = 32;
export const SUBTOPICS = 16;
/** Scales of uniform(-0.5, 0.5) per element giving the norms above (norm = scale × sqrt(1536 / 12)). */
const CENTROID_SCALE = 1 / Math.sqrt(DIMENSIONS / 12);
const SUBTOPIC_SCALE = 0.6 / Math.sqrt(DIMENSIONS / 12);
const NOISE_SCALE = 0.35 / Math.sqrt(DIMENSIONS / 12);
/** Results inserted per statement: bounds memory while the embeddings are built. */
const RESULT_BATCH = 2000;

/** A random vector expression, re-evaluated per row because it mentions `rowRef`. */
const randomVector = (scale: number, rowRef: string) =>
  `(SELECT array_agg((random() - 0.5) * ${scale}) FROM generate_series(1, ${DIMENSIONS}) WHERE ${rowRef} IS NOT NULL)::vector`;

export interface GeneratedDataset {
  readonly tenants: TenantPlan[];
  /** Wall time of each step, in milliseconds. */
  readonly timings: Record<string, number>;
  /** Rows per table after generation (including the seeds' sample data). */
  readonly rows: Record<string, number>;
}

export interface GenerateOptions {
  readonly size: DatasetSize;
  /** setseed() value in [-1, 1]. */
  readonly seed: number;
  /** k-NN queries to prepare per probe tenant. */
  readonly queriesPerTenant: number;
  /** Progress lines (default: none). */
  readonly log?: (line: string) => void;
}

/**
 * Fills the migrated database through `db`, the owner session. Leaves behind, for the benchmark, the table
 * `bench_knn_queries` (tenant ordinal, n, embedding): a plain table, since on a server the application's session
 * reads it too; the generator's working tables (`bench_tenants`, …) are temporary.
 */
export async function generateDataset(db: BenchSession, options: GenerateOptions): Promise<GeneratedDataset> {
  const { size, seed, queriesPerTenant } = options;
  const log = options.log ?? (() => undefined);
  const tenants = planTenants(size);
  const timings: Record<string, number> = {};
  const step = async (name: string, sql: string, params?: unknown[]) => {
    const started = performance.now();
    if (params) await db.query(sql, params);
    else await db.exec(sql);
    timings[name] = (timings[name] ?? 0) + (performance.now() - started);
  };

  await db.query('SELECT setseed($1)', [seed]);
  await step('plan', `
    CREATE TEMP TABLE bench_tenants AS
    SELECT p.ordinal, ('b0000000-0000-4000-8000-' || lpad(to_hex(p.ordinal), 12, '0'))::uuid AS id,
           p.tasks, p.results, p.audit_logs, p.users
      FROM unnest($1::int[], $2::int[], $3::int[], $4::int[], $5::int[]) AS p (ordinal, tasks, results, audit_logs, users)`,
  [tenants.map((t) => t.ordinal), tenants.map((t) => t.tasks), tenants.map((t) => t.results), tenants.map((t) => t.auditLogs), tenants.map((t) => t.users)]);
  await db.exec(`
    CREATE FUNCTION pg_temp.bench_user_id(ordinal bigint) RETURNS uuid LANGUAGE sql IMMUTABLE
      AS $$ SELECT ('b1000000-0000-4000-8000-' || lpad(to_hex(ordinal), 12, '0'))::uuid $$;`);

  log(`organizations, users, memberships, grants, sessions`);
  await step('organizations', `
    INSERT INTO organizations (id, name, slug, plan, created_at)
    SELECT id, 'Bench tenant ' || ordinal, 'bench-' || ordinal,
           (ARRAY['free', 'pro', 'enterprise'])[1 + ordinal % 3], now() - interval '2 years'
      FROM bench_tenants`);
  await step('users', `
    INSERT INTO users (id, cognito_sub, email, email_verified, full_name, status, created_at)
    SELECT pg_temp.bench_user_id(u), 'bench-' || u, 'user' || u || '@bench.example', true, 'Bench User ' || u,
           'active', now() - interval '2 years'
      FROM generate_series(1, ${size.users}) AS u`);
  // User u's primary organization is ((u - 1) mod organizations) + 1, and user o is organization o's admin.
  // Every tenth user (not an admin) is also a member of a second organization, half the ring away.
  await step('memberships', `
    INSERT INTO organization_members (organization_id, user_id, status, joined_at)
    SELECT ('b0000000-0000-4000-8000-' || lpad(to_hex(org), 12, '0'))::uuid, pg_temp.bench_user_id(u), 'active',
           now() - interval '1 year'
      FROM (SELECT u, (u - 1) % ${size.organizations} + 1 AS org FROM generate_series(1, ${size.users}) AS u
            UNION ALL
            SELECT u, (u - 1 + ${Math.floor(size.organizations / 2)}) % ${size.organizations} + 1
              FROM generate_series(${size.organizations + 1}, ${size.users}) AS u
             WHERE u % 10 = 0 AND ${Math.floor(size.organizations / 2)} % ${size.organizations} <> 0) AS m (u, org)`);
  // Admins: org_admin + agent_user; everyone else org_member, and every fourth member agent_user too.
  await step('grants', `
    INSERT INTO user_roles (organization_id, user_id, role_id, granted_at)
    SELECT m.organization_id, m.user_id, r.id, now() - interval '1 year'
      FROM organization_members AS m
      JOIN LATERAL (SELECT ('x' || substr(replace(m.user_id::text, '-', ''), 21, 12))::bit(48)::bigint AS u) AS who ON true
      JOIN roles AS r ON r.organization_id IS NULL AND r.name = ANY (
           CASE WHEN m.organization_id = ('b0000000-0000-4000-8000-' || lpad(to_hex(who.u), 12, '0'))::uuid
                THEN ARRAY['org_admin', 'agent_user']
                WHEN who.u % 4 = 0 THEN ARRAY['org_member', 'agent_user']
                ELSE ARRAY['org_member'] END)
     WHERE m.user_id::text LIKE 'b1000000-%'`);
  await step('sessions', `
    INSERT INTO sessions (user_id, token_hash, ip_address, user_agent, created_at, expires_at, last_seen_at, revoked_at)
    SELECT pg_temp.bench_user_id(u), digest('bench-session:' || u || ':' || k, 'sha256'), '10.0.0.1', 'bench',
           c, c + interval '30 days', c + interval '1 hour', CASE WHEN k = 1 AND u % 5 = 0 THEN c + interval '2 hours' END
      FROM (SELECT u, k, now() - random() * interval '29 days' AS c
              FROM generate_series(1, ${size.users}) AS u, generate_series(1, ${size.sessionsPerUser}) AS k) AS s`);

  log(`agent_tasks (${size.tasks})`);
  await step('tasks', `
    INSERT INTO agent_tasks (organization_id, created_by, agent_type, status, priority, input, created_at, updated_at,
                             started_at, completed_at)
    SELECT id, created_by, agent_type, status, priority, input, created_at, created_at,
           CASE WHEN status IN ('running', 'completed', 'failed') THEN created_at + interval '1 minute' END,
           CASE WHEN status IN ('completed', 'failed') THEN created_at + interval '2 minutes' END
      FROM (SELECT t.id,
                   pg_temp.bench_user_id(t.ordinal + ${size.organizations}::bigint * (g % t.users)) AS created_by,
                   (ARRAY['research', 'summarize', 'classify', 'extract'])[1 + g % 4] AS agent_type,
                   CASE WHEN r < 0.70 THEN 'completed' WHEN r < 0.80 THEN 'failed' WHEN r < 0.85 THEN 'running'
                        WHEN r < 0.92 THEN 'queued' WHEN r < 0.97 THEN 'pending' ELSE 'cancelled' END AS status,
                   (g % 10)::smallint AS priority,
                   jsonb_build_object('prompt', 'bench task ' || g) AS input,
                   created_at
              FROM bench_tenants AS t, generate_series(1, t.tasks) AS g,
                   LATERAL (SELECT random() AS r, now() - random() * interval '365 days' AS created_at WHERE g > 0) AS x
           ) AS tasks`);

  log(`audit_logs (${size.auditLogs} synthetic, besides the triggers' own)`);
  await step('audit', `
    INSERT INTO audit_logs (organization_id, actor_user_id, actor_role, action, table_name, record_id, new_data, created_at)
    SELECT t.id, pg_temp.bench_user_id(t.ordinal), 'app_user', (ARRAY['insert', 'update', 'delete'])[1 + g % 3],
           'agent_tasks', gen_random_uuid()::text, jsonb_build_object('n', g), c
      FROM bench_tenants AS t, generate_series(1, t.audit_logs) AS g,
           LATERAL (SELECT now() - random() * interval '365 days' AS c WHERE g > 0) AS x`);

  log(`agent_results (${size.results}, ${DIMENSIONS} dimensions, ${TOPICS}×${SUBTOPICS} clusters)`);
  await step('clusters', `
    CREATE TEMP TABLE bench_topics AS
    SELECT topic, ${randomVector(CENTROID_SCALE, 'topic')} AS centroid FROM generate_series(0, ${TOPICS - 1}) AS topic;
    CREATE TEMP TABLE bench_centers AS
    SELECT topic * ${SUBTOPICS} + s AS id, topic, s AS subtopic, centroid + ${randomVector(SUBTOPIC_SCALE, 's')} AS center
      FROM bench_topics, generate_series(0, ${SUBTOPICS - 1}) AS s;
    CREATE TEMP TABLE bench_result_slots AS
    SELECT row_number() OVER (ORDER BY x.organization_id, x.id) AS slot, x.organization_id, x.id AS task_id,
           x.created_at, x.center
      FROM (SELECT a.organization_id, a.id, a.created_at, floor(random() * ${TOPICS * SUBTOPICS})::int AS center,
                   row_number() OVER (PARTITION BY a.organization_id ORDER BY a.id) AS rn
              FROM agent_tasks AS a) AS x
      JOIN bench_tenants AS t ON t.id = x.organization_id AND x.rn <= t.results;`);
  // The HNSW index is built once after loading (as a restore would), not grown row by row.
  const [{ def: hnswDefinition }] = (await db.query<{ def: string }>(
    `SELECT pg_get_indexdef('agent_results_embedding_hnsw_idx'::regclass) AS def`)).rows;
  await db.exec('DROP INDEX agent_results_embedding_hnsw_idx');
  const slots = Number((await db.query<{ n: string }>('SELECT count(*) AS n FROM bench_result_slots')).rows[0].n);
  for (let from = 1; from <= slots; from += RESULT_BATCH) {
    await step('results', `
      INSERT INTO agent_results (organization_id, task_id, result_type, content, metadata, embedding, created_at, updated_at)
      SELECT s.organization_id, s.task_id, 'text', 'bench result ' || s.slot,
             jsonb_build_object('topic', c.topic, 'subtopic', c.subtopic),
             c.center + ${randomVector(NOISE_SCALE, 's.slot')}, s.created_at, s.created_at
        FROM bench_result_slots AS s JOIN bench_centers AS c ON c.id = s.center
       WHERE s.slot BETWEEN $1 AND $2`, [from, Math.min(slots, from + RESULT_BATCH - 1)]);
    log(`  results ${Math.min(slots, from + RESULT_BATCH - 1)}/${slots}`);
  }

  // k-NN queries: per probe tenant, fresh points near the centres of sub-topics the tenant holds vectors in.
  const probes = size.probeShares.length;
  await step('queries', `
    CREATE TABLE bench_knn_queries AS
    SELECT q.tenant, q.n, c.center + ${randomVector(NOISE_SCALE, 'q.n')} AS embedding
      FROM (SELECT t.ordinal AS tenant, n,
                   (SELECT s.center FROM bench_result_slots AS s
                     WHERE s.organization_id = t.id AND n > 0 ORDER BY random() LIMIT 1) AS center
              FROM bench_tenants AS t, generate_series(1, ${queriesPerTenant}) AS n
             WHERE t.ordinal <= ${probes}) AS q
      JOIN bench_centers AS c ON c.id = q.center;`);

  log('HNSW index build');
  await step('hnsw_build', `SET maintenance_work_mem = '512MB'; ${hnswDefinition}; RESET maintenance_work_mem;`);
  log('VACUUM ANALYZE');
  await step('vacuum_analyze', 'VACUUM ANALYZE');

  const rows: Record<string, number> = {};
  for (const table of ['organizations', 'users', 'organization_members', 'user_roles', 'sessions', 'agent_tasks', 'agent_results', 'audit_logs']) {
    rows[table] = Number((await db.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`)).rows[0].n);
  }
  return { tenants, timings, rows };
}
