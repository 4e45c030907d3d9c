/**
 * Where the cost of RLS goes, on one point query (a task by id, as the typical tenant's admin). The statement
 * runs four ways, interleaved:
 *   owner            the owner with the tenant filter written by hand (the baseline of every ratio);
 *   rls              app_user under RLS (what the ratios measure);
 *   privileges only  a role with app_user's grants that bypasses RLS, with the hand-written filter: SET ROLE and
 *                    the column privileges alone;
 *   lookup only      the owner, with the policy's membership sub-select written into the query by hand;
 * each as a plain statement (parsed and planned every time, as the ratios are measured) and as a prepared one
 * (plan cached: what is left is execution).
 */
import type { EmbeddedDatabase } from '../../lib/local/pglite';
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
const PRIVILEGES_ONLY_ROLE = 'bench_privileges_only';

interface Variant {
  readonly name: string;
  /** Run inside the transaction before the timed statement. */
  readonly context: string;
  /** The statement, with $1 the task id and $2 the organization id where it names it. */
  readonly sql: string;
  readonly namesOrganization: boolean;
}

function variants(userId: string): Variant[] {
  const asUser = `SELECT set_app_user('${userId}')`;
  return [
    { name: 'owner', context: '', sql: `SELECT ${COLUMNS} FROM agent_tasks WHERE id = $1 AND organization_id = $2`, namesOrganization: true },
    { name: 'rls', context: `SET LOCAL ROLE app_user; ${asUser}`, sql: `SELECT ${COLUMNS} FROM agent_tasks WHERE id = $1`, namesOrganization: false },
    {
      name: 'privileges only',
      context: `SET LOCAL ROLE ${PRIVILEGES_ONLY_ROLE}; ${asUser}`,
      sql: `SELECT ${COLUMNS} FROM agent_tasks WHERE id = $1 AND organization_id = $2`,
      namesOrganization: true,
    },
    {
      name: 'lookup only',
      context: asUser,
      sql: `SELECT ${COLUMNS} FROM agent_tasks WHERE id = $1 AND organization_id = ANY (ARRAY(SELECT tenancy.member_organization_ids()))`,
      namesOrganization: false,
    },
  ];
}

export async function benchRlsOverhead(
  db: EmbeddedDatabase,
  actor: { organizationId: string; userId: string },
  options: { warmup: number; iterations: number },
): Promise<OverheadRow[]> {
  const { rows } = await db.query<{ id: string }>('SELECT id FROM agent_tasks WHERE organization_id = $1 ORDER BY id LIMIT 1', [actor.organizationId]);
  const taskId = rows[0].id;
  // Holds app_user's grants (as a member) but not its policies; BYPASSRLS needs the superuser PGlite runs as.
  await db.exec(`CREATE ROLE ${PRIVILEGES_ONLY_ROLE} NOLOGIN BYPASSRLS IN ROLE app_user`);
  try {
    const all = variants(actor.userId);
    const params = (v: Variant) => (v.namesOrganization ? [taskId, actor.organizationId] : [taskId]);
    const literal = (v: Variant) => params(v).map((p) => `'${p}'`).join(', ');
    for (const [i, v] of all.entries()) await db.exec(`PREPARE bench_overhead_${i}(uuid${v.namesOrganization ? ', uuid' : ''}) AS ${v.sql}`);

    const run = (v: Variant, statement: () => Promise<unknown>) => async () => {
      await db.exec('BEGIN');
      try {
        if (v.context) await db.exec(v.context);
        return (await timed(statement)).ms;
      } finally {
        await db.exec('ROLLBACK');
      }
    };
    // Every way must find the task, or the comparison is void.
    for (const v of all) {
      await run(v, async () => {
        const { rows: got } = await db.query(v.sql, params(v));
        if (got.length !== 1) throw new Error(`RLS overhead: "${v.name}" found ${got.length} rows, expected the one task`);
      })();
    }
    const plain = await interleave(Object.fromEntries(all.map((v) => [v.name, run(v, () => db.query(v.sql, params(v)))])), options);
    const prepared = await interleave(Object.fromEntries(all.map((v, i) => [v.name, run(v, () => db.query(`EXECUTE bench_overhead_${i}(${literal(v)})`))])), options);
    for (const [i] of all.entries()) await db.exec(`DEALLOCATE bench_overhead_${i}`);

    const ownerPlain = summarize(plain.owner).p50;
    const ownerPrepared = summarize(prepared.owner).p50;
    return all.map((v) => {
      const p = summarize(plain[v.name]);
      const q = summarize(prepared[v.name]);
      return { variant: v.name, plain: p, prepared: q, plainRatio: p.p50 / ownerPlain, preparedRatio: q.p50 / ownerPrepared };
    });
  } finally {
    await db.exec(`DROP ROLE ${PRIVILEGES_ONLY_ROLE}`);
  }
}
