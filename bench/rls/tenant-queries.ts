/**
 * Tenant-scoped application queries through app_user with RLS, against the same query as the owner with the
 * tenant filter written by hand: p50 of each, their ratio, the EXPLAIN checks, and that both return the same
 * rows.
 *
 * Each query is measured in up to two forms: as the application writes it for a page of one organization
 * (naming the organization, as it must for a user who belongs to several), and leaving the tenant filter to
 * RLS alone. Only the statement itself is timed; the transaction, SET ROLE and set_app_user around it are not
 * (their cost is reported once, as the context set-up).
 */
import type { BenchDatabase } from './database';
import { explainJson, readAsAppUser, readAsOwner } from './context';
import { interleave, timed } from './measure';
import { checkPlan, type PlanCheck } from './plans';
import { ratio, ratioInterval, summarize, type Interval, type Summary } from '../stats';

/** Who runs the queries: an admin of one organization. */
export interface Actor {
  /** Label in the report, e.g. "typical tenant". */
  readonly label: string;
  readonly organizationId: string;
  readonly userId: string;
}

interface QueryForm {
  /** "app" when the query names the organization, "rls" when it leaves the tenant filter to RLS. */
  readonly scope: 'app' | 'rls';
  readonly sql: string;
  readonly params: (ids: QueryIds) => unknown[];
}

interface TenantQuery {
  readonly name: string;
  readonly forms: readonly QueryForm[];
  /** The owner's query: the same, with the tenant filter written by hand. */
  readonly owner: string;
  readonly ownerParams: (ids: QueryIds) => unknown[];
}

interface QueryIds {
  readonly organizationId: string;
  readonly userId: string;
  readonly taskId: string;
}

const TASK_COLUMNS = 'id, agent_type, status, priority, created_at';
const AUDIT_COLUMNS = 'id, actor_user_id, actor_role, action, table_name, record_id, created_at';
const SESSION_COLUMNS = 'id, ip_address, user_agent, created_at, expires_at, last_seen_at';

/** The common application queries of issue 7. */
export const TENANT_QUERIES: readonly TenantQuery[] = [
  {
    name: 'task by id',
    forms: [{ scope: 'rls', sql: `SELECT ${TASK_COLUMNS}, input, output FROM agent_tasks WHERE id = $1`, params: (ids) => [ids.taskId] }],
    owner: `SELECT ${TASK_COLUMNS}, input, output FROM agent_tasks WHERE id = $1 AND organization_id = $2`,
    ownerParams: (ids) => [ids.taskId, ids.organizationId],
  },
  {
    name: 'latest 50 tasks',
    forms: [
      { scope: 'app', sql: `SELECT ${TASK_COLUMNS} FROM agent_tasks WHERE organization_id = $1 ORDER BY created_at DESC, id LIMIT 50`, params: (ids) => [ids.organizationId] },
      { scope: 'rls', sql: `SELECT ${TASK_COLUMNS} FROM agent_tasks ORDER BY created_at DESC, id LIMIT 50`, params: () => [] },
    ],
    owner: `SELECT ${TASK_COLUMNS} FROM agent_tasks WHERE organization_id = $1 ORDER BY created_at DESC, id LIMIT 50`,
    ownerParams: (ids) => [ids.organizationId],
  },
  {
    name: 'task counts by status',
    forms: [
      { scope: 'app', sql: 'SELECT status, count(*) AS n FROM agent_tasks WHERE organization_id = $1 GROUP BY status ORDER BY status', params: (ids) => [ids.organizationId] },
      { scope: 'rls', sql: 'SELECT status, count(*) AS n FROM agent_tasks GROUP BY status ORDER BY status', params: () => [] },
    ],
    owner: 'SELECT status, count(*) AS n FROM agent_tasks WHERE organization_id = $1 GROUP BY status ORDER BY status',
    ownerParams: (ids) => [ids.organizationId],
  },
  {
    name: 'my sessions',
    forms: [{ scope: 'rls', sql: `SELECT ${SESSION_COLUMNS} FROM sessions WHERE revoked_at IS NULL AND expires_at > now() ORDER BY expires_at DESC`, params: () => [] }],
    owner: `SELECT ${SESSION_COLUMNS} FROM sessions WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > now() ORDER BY expires_at DESC`,
    ownerParams: (ids) => [ids.userId],
  },
  {
    name: 'audit log page',
    forms: [
      { scope: 'app', sql: `SELECT ${AUDIT_COLUMNS} FROM audit_logs WHERE organization_id = $1 ORDER BY created_at DESC, id DESC LIMIT 50`, params: (ids) => [ids.organizationId] },
      { scope: 'rls', sql: `SELECT ${AUDIT_COLUMNS} FROM audit_logs ORDER BY created_at DESC, id DESC LIMIT 50`, params: () => [] },
    ],
    owner: `SELECT ${AUDIT_COLUMNS} FROM audit_logs WHERE organization_id = $1 ORDER BY created_at DESC, id DESC LIMIT 50`,
    ownerParams: (ids) => [ids.organizationId],
  },
];

/** Tables big enough that a sequential scan of them would be a bug. */
export const BIG_TABLES = ['agent_tasks', 'agent_results', 'audit_logs', 'sessions', 'organization_members', 'users'];

/**
 * Targets of issue 18, p50(RLS) / p50(owner with the filter by hand): a read that names its organization, as an
 * application writes a page of one organization, ≤ 1.3; a read that leaves the tenant filter to RLS alone ≤ 1.5.
 */
export const RATIO_TARGETS: Readonly<Record<'app' | 'rls', number>> = { app: 1.3, rls: 1.5 };

export interface TenantQueryResult {
  readonly tenant: string;
  /** Rows of the tenant in agent_tasks (for scale). */
  readonly tenantTasks: number;
  readonly query: string;
  readonly scope: 'app' | 'rls';
  readonly sql: string;
  readonly rows: number;
  /** RLS and owner queries returned the same rows. */
  readonly sameRows: boolean;
  readonly owner: Summary;
  readonly rls: Summary;
  /** p50(rls) / p50(owner). */
  readonly ratio: number;
  /** 95 % bootstrap interval of the ratio: how far this run's noise reaches. */
  readonly ratioInterval: Interval;
  /** The ratio's target (RATIO_TARGETS of the form's scope). */
  readonly target: number;
  readonly plan: PlanCheck;
  readonly pass: { ratio: boolean; indexScans: boolean; membershipOncePerStatement: boolean };
}

export interface TenantQueryOptions {
  readonly warmup: number;
  readonly iterations: number;
}

/** Runs every query form for every actor. */
export async function benchTenantQueries(
  db: BenchDatabase,
  actors: readonly Actor[],
  options: TenantQueryOptions,
  log: (line: string) => void = () => undefined,
): Promise<TenantQueryResult[]> {
  const results: TenantQueryResult[] = [];
  for (const actor of actors) {
    const { taskId, tenantTasks } = await readAsOwner(db, async (s) => {
      const task = await s.query<{ id: string }>('SELECT id FROM agent_tasks WHERE organization_id = $1 ORDER BY created_at DESC LIMIT 1 OFFSET 7', [actor.organizationId]);
      const count = await s.query<{ n: number }>('SELECT count(*)::int AS n FROM agent_tasks WHERE organization_id = $1', [actor.organizationId]);
      return { taskId: (task.rows[0] ?? (await s.query<{ id: string }>('SELECT id FROM agent_tasks WHERE organization_id = $1 LIMIT 1', [actor.organizationId])).rows[0]).id, tenantTasks: count.rows[0].n };
    });
    const ids: QueryIds = { organizationId: actor.organizationId, userId: actor.userId, taskId };
    for (const query of TENANT_QUERIES) {
      for (const form of query.forms) {
        const params = form.params(ids);
        const ownerParams = query.ownerParams(ids);
        const rlsRows = await readAsAppUser(db, actor.userId, async (s) => (await s.query(form.sql, params)).rows);
        const ownerRows = await readAsOwner(db, async (s) => (await s.query(query.owner, ownerParams)).rows);
        const plan = checkPlan(await readAsAppUser(db, actor.userId, (s) => explainJson(s, form.sql, params)), BIG_TABLES);

        const samples = await interleave(
          {
            owner: () => readAsOwner(db, async (s) => (await timed(() => s.query(query.owner, ownerParams))).ms),
            rls: () => readAsAppUser(db, actor.userId, async (s) => (await timed(() => s.query(form.sql, params))).ms),
          },
          options,
        );
        const owner = summarize(samples.owner);
        const rls = summarize(samples.rls);
        const r = ratio(rls.p50, owner.p50);
        results.push({
          tenant: actor.label,
          tenantTasks,
          query: query.name,
          scope: form.scope,
          sql: form.sql,
          rows: rlsRows.length,
          sameRows: JSON.stringify(rlsRows) === JSON.stringify(ownerRows),
          owner,
          rls,
          ratio: r,
          ratioInterval: ratioInterval(samples.rls, samples.owner),
          target: RATIO_TARGETS[form.scope],
          plan,
          pass: { ratio: r <= RATIO_TARGETS[form.scope], indexScans: plan.indexScans, membershipOncePerStatement: plan.noPerRowLookups },
        });
        log(`  ${actor.label}: ${query.name} (${form.scope === 'app' ? 'names the organization' : 'RLS alone'}) ×${r.toFixed(2)}`);
      }
    }
  }
  return results;
}

/** The context set-up against one small statement (issue 18: at most the cost of one). */
export const CONTEXT_SETUP_TARGET = 1;

export interface ContextSetupResult {
  /** What the set-up is: `SELECT set_app_user($1)` on a login in app_user (a server), else with SET LOCAL ROLE. */
  readonly setupSql: string;
  /** The application's transaction set-up after BEGIN (one call on a server, two in PGlite). */
  readonly setup: Summary;
  /** The small statement it is compared with: the owner's task by id with the tenant filter by hand. */
  readonly statement: Summary;
  readonly statementSql: string;
  /** p50(setup) / p50(statement). */
  readonly ratio: number;
  readonly ratioInterval: Interval;
  readonly pass: boolean;
}

/**
 * The cost of starting an application transaction, interleaved with one small statement (the owner's point query
 * with the tenant filter written by hand); BEGIN is not timed on either side. On a server the set-up runs as
 * production does, on a login in app_user: `SELECT set_app_user($1)`, one call. PGlite has no such login: its
 * superuser session also needs `SET LOCAL ROLE app_user` (a second call).
 */
export async function benchContextSetup(
  db: BenchDatabase,
  actor: { organizationId: string; userId: string },
  options: TenantQueryOptions,
): Promise<ContextSetupResult> {
  const statementSql = `SELECT ${TASK_COLUMNS}, input, output FROM agent_tasks WHERE id = $1 AND organization_id = $2`;
  const taskId = await readAsOwner(db, async (s) =>
    (await s.query<{ id: string }>('SELECT id FROM agent_tasks WHERE organization_id = $1 ORDER BY id LIMIT 1', [actor.organizationId])).rows[0].id);
  const session = db.applicationLogin ?? db.app;
  const setRole = db.applicationLogin === null;
  const setupSql = `${setRole ? 'SET LOCAL ROLE app_user; ' : ''}SELECT set_app_user($1)`;
  const samples = await interleave(
    {
      setup: async () => {
        await session.exec('BEGIN');
        try {
          return (await timed(async () => {
            if (setRole) await session.exec('SET LOCAL ROLE app_user');
            await session.query('SELECT set_app_user($1::uuid)', [actor.userId]);
          })).ms;
        } finally {
          await session.exec('ROLLBACK');
        }
      },
      statement: () => readAsOwner(db, async (s) => (await timed(() => s.query(statementSql, [taskId, actor.organizationId]))).ms),
    },
    options,
  );
  const setup = summarize(samples.setup);
  const statement = summarize(samples.statement);
  const r = ratio(setup.p50, statement.p50);
  return { setupSql, setup, statement, statementSql, ratio: r, ratioInterval: ratioInterval(samples.setup, samples.statement), pass: r <= CONTEXT_SETUP_TARGET };
}
