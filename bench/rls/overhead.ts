/**
 * Where the cost of RLS goes, on one point query (a task by id, as the typical tenant's admin). The statement
 * runs four ways, interleaved:
 *   owner            the owner with the tenant filter written by hand (the baseline of every ratio);
 *   rls              app_user under RLS (what the ratios measure);
 *   privileges only  a role with app_user's grants that bypasses RLS, with the hand-written filter: SET ROLE and
 *                    the column privileges alone;
 *   lookup only      the owner, with the policy's sub-select (the context's organization) written into the query;
 * each as a plain statement (parsed and planned every time, as the ratios are measured) and as a prepared one
 * (plan cached: what is left is execution). The owner's two ways run on the owner session (the admin login on a
 * server), the application's on the app session.
 */
import type { BenchDatabase, BenchSession } from './database';
import { interleave, timed } from './measure';
import { summarize, type Summary } from '../stats';

export interface OverheadRow {
  readonly variant: string;
  readonly plain: Summary;
  readonly prepared: Summary;
  /** p50 over the owner's p50, plain and prepared. */
  readonly plainRatio: number;
  readonly preparedRatio: number;
}

const COLUMNS = 'id, agent_type, status, priority, created_at, input, output';

interface Variant {
  readonly name: string;
  /** The session it runs on: the owner's (no RLS) or the application's. */
  readonly session: 'owner' | 'app';
  /** Run inside the transaction before the timed statement. */
  readonly context: string;
  /** The statement, with $1 the task id and $2 the organization id where it names it. */
  readonly sql: string;
  readonly namesOrganization: boolean;
}

function variants(userId: string, privilegesOnlyRole: string): Variant[] {
  const asUser = `SELECT set_app_user('${userId}')`;
  return [
    { name: 'owner', session: 'owner', context: '', sql: `SELECT ${COLUMNS} FROM agent_tasks WHERE id = $1 AND organization_id = $2`, namesOrganization: true },
    { name: 'rls', session: 'app', context: `SET LOCAL ROLE app_user; ${asUser}`, sql: `SELECT ${COLUMNS} FROM agent_tasks WHERE id = $1`, namesOrganization: false },
    {
      name: 'privileges only',
      session: 'app',
      context: `SET LOCAL ROLE ${privilegesOnlyRole}; ${asUser}`,
      sql: `SELECT ${COLUMNS} FROM agent_tasks WHERE id = $1 AND organization_id = $2`,
      namesOrganization: true,
    },
    {
      name: 'lookup only',
      session: 'owner',
      context: asUser,
      sql: `SELECT ${COLUMNS} FROM agent_tasks WHERE id = $1 AND organization_id = (SELECT tenancy.context_organization())`,
      namesOrganization: false,
    },
  ];
}

export async function benchRlsOverhead(
  db: BenchDatabase,
  actor: { organizationId: string; userId: string },
  options: { warmup: number; iterations: number },
): Promise<OverheadRow[]> {
  const { rows } = await db.owner.query<{ id: string }>('SELECT id FROM agent_tasks WHERE organization_id = $1 ORDER BY id LIMIT 1', [actor.organizationId]);
  const taskId = rows[0].id;
  // Holds app_user's grants (as a member) but not its policies. BYPASSRLS needs a superuser: the owner session
  // (PGlite's superuser, or the admin login), which also lets the app session's login SET ROLE to it.
  const privilegesOnlyRole = `${db.namePrefix}_privileges_only`;
  await db.owner.exec(`CREATE ROLE ${privilegesOnlyRole} NOLOGIN BYPASSRLS IN ROLE app_user`);
  try {
    if (db.app !== db.owner) await db.owner.exec(`GRANT ${privilegesOnlyRole} TO "${db.appLogin}"`);
    const all = variants(actor.userId, privilegesOnlyRole);
    const sessionOf = (v: Variant): BenchSession => (v.session === 'owner' ? db.owner : db.app);
    const params = (v: Variant) => (v.namesOrganization ? [taskId, actor.organizationId] : [taskId]);
    const literal = (v: Variant) => params(v).map((p) => `'${p}'`).join(', ');
    for (const [i, v] of all.entries()) await sessionOf(v).exec(`PREPARE bench_overhead_${i}(uuid${v.namesOrganization ? ', uuid' : ''}) AS ${v.sql}`);

    const run = (v: Variant, statement: (session: BenchSession) => Promise<unknown>) => async () => {
      const session = sessionOf(v);
      await session.exec('BEGIN');
      try {
        if (v.context) await session.exec(v.context);
        return (await timed(() => statement(session))).ms;
      } finally {
        await session.exec('ROLLBACK');
      }
    };
    // Every way must find the task, or the comparison is void.
    for (const v of all) {
      await run(v, async (session) => {
        const { rows: got } = await session.query(v.sql, params(v));
        if (got.length !== 1) throw new Error(`RLS overhead: "${v.name}" found ${got.length} rows, expected the one task`);
      })();
    }
    const plain = await interleave(Object.fromEntries(all.map((v) => [v.name, run(v, (s) => s.query(v.sql, params(v)))])), options);
    const prepared = await interleave(Object.fromEntries(all.map((v, i) => [v.name, run(v, (s) => s.query(`EXECUTE bench_overhead_${i}(${literal(v)})`))])), options);
    for (const [i, v] of all.entries()) await sessionOf(v).exec(`DEALLOCATE bench_overhead_${i}`);

    const ownerPlain = summarize(plain.owner).p50;
    const ownerPrepared = summarize(prepared.owner).p50;
    return all.map((v) => {
      const p = summarize(plain[v.name]);
      const q = summarize(prepared[v.name]);
      return { variant: v.name, plain: p, prepared: q, plainRatio: p.p50 / ownerPlain, preparedRatio: q.p50 / ownerPrepared };
    });
  } finally {
    await db.owner.exec(`DROP ROLE ${privilegesOnlyRole}`);
  }
}
