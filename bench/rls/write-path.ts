/**
 * Write-path cost of RLS on agent_tasks: the application (app_user: RLS WITH CHECK and USING policies) against
 * the owner with no RLS. Both fire the table's own triggers (the audit trail, updated_at): they are the schema's
 * behaviour whoever writes, not the cost of RLS. Three operations, each timed per statement and interleaved:
 *   insert        one-row INSERT, the way a request creates a task;
 *   insert batch  INSERT … SELECT of 500 rows in one statement (per-row cost, fixed costs amortised);
 *   update        one-row status change (USING and WITH CHECK policies).
 * Plus, for information, what the triggers themselves cost: the owner's one-row insert with the table's user
 * triggers against the same insert with them disabled.
 * Statements run in transactions that commit (50 one-row statements, or 4 batches), so the table grows as it
 * would; the two sides alternate transaction by transaction. The application's side runs on the app session, the
 * owner's on the owner session (on a server the admin login: a superuser, so no RLS applies although the tables
 * force it).
 */
import type { BenchDatabase, BenchSession } from './database';
import { beginAsAppUser, beginAsOwner } from './context';
import { interleave, timed } from './measure';
import { ratio, ratioInterval, summarize, type Interval, type Summary } from '../stats';

/** Targets of issue 18, p50(with) / p50(without): one-row statements ≤ 1.5, a multi-row insert ≤ 1.2. */
export const WRITE_RATIO_TARGETS = { singleRow: 1.5, batch: 1.2 } as const;
const STATEMENTS_PER_TRANSACTION = 50;
const BATCH_ROWS = 500;
/** Batches per transaction: few, so that the sides alternate often (a single pair of windows is all noise). */
const BATCHES_PER_TRANSACTION = 4;
/** Batches per side for `rows` one-row statements: 40 (20,000 rows) by default, never fewer than 8. */
const batchStatements = (rows: number) => Math.max(8, Math.round(rows / 50));

export interface WriteResult {
  readonly operation: string;
  /** What the "with" side carries. */
  readonly with: string;
  readonly rowsPerStatement: number;
  readonly withChecks: Summary;
  readonly without: Summary;
  /** Rows per second at the median statement time. */
  readonly rowsPerSecondWith: number;
  readonly rowsPerSecondWithout: number;
  /** p50(with) / p50(without). */
  readonly ratio: number;
  /** 95 % bootstrap interval of the ratio. */
  readonly ratioInterval: Interval;
  /** Whether a target applies (false for the informational audit variant). */
  readonly judged: boolean;
  /** The ratio's target, or null when not judged. */
  readonly target: number | null;
  readonly pass: boolean;
}

interface Side {
  readonly session: BenchSession;
  /** Opens a transaction in the right role and trigger state. */
  begin(): Promise<void>;
  /** Ends it (commit), restoring trigger state. Not called when a statement failed: the transaction is rolled back. */
  end(): Promise<void>;
  statement(session: BenchSession): Promise<number>;
}

/** Runs `statements` statements on each side, a transaction of each in turn; returns every statement's time. */
async function compare(
  withSide: Side,
  withoutSide: Side,
  statements: number,
  perTransaction = STATEMENTS_PER_TRANSACTION,
): Promise<{ with: number[]; without: number[] }> {
  const collected = { with: [] as number[], without: [] as number[] };
  const transaction = (side: Side, into: number[]) => async () => {
    await side.begin();
    try {
      for (let i = 0; i < Math.min(perTransaction, statements); i++) into.push(await side.statement(side.session));
    } catch (error) {
      await side.session.exec('ROLLBACK');
      throw error;
    }
    await side.end();
    return 0;
  };
  const transactions = Math.max(1, Math.ceil(statements / perTransaction));
  await interleave(
    { with: transaction(withSide, collected.with), without: transaction(withoutSide, collected.without) },
    { warmup: 0, iterations: transactions },
  );
  return collected;
}

export async function benchWritePath(
  db: BenchDatabase,
  actor: { organizationId: string; userId: string },
  rows: number,
  log: (line: string) => void = () => undefined,
): Promise<WriteResult[]> {
  const { organizationId, userId } = actor;
  let counter = 0;
  const insertApp = (s: BenchSession) => timed(() => s.query(
    `INSERT INTO agent_tasks (organization_id, agent_type, priority, input) VALUES ($1, 'bench', 5, jsonb_build_object('n', $2::int))`,
    [organizationId, ++counter])).then((t) => t.ms);
  const insertOwner = (s: BenchSession) => timed(() => s.query(
    `INSERT INTO agent_tasks (organization_id, created_by, agent_type, priority, input) VALUES ($1, $2, 'bench', 5, jsonb_build_object('n', $3::int))`,
    [organizationId, userId, ++counter])).then((t) => t.ms);
  const batchApp = (s: BenchSession) => timed(() => s.query(
    `INSERT INTO agent_tasks (organization_id, agent_type, priority, input)
     SELECT $1, 'bench', 5, jsonb_build_object('n', g) FROM generate_series(1, ${BATCH_ROWS}) AS g`, [organizationId])).then((t) => t.ms);
  const batchOwner = (s: BenchSession) => timed(() => s.query(
    `INSERT INTO agent_tasks (organization_id, created_by, agent_type, priority, input)
     SELECT $1, $2, 'bench', 5, jsonb_build_object('n', g) FROM generate_series(1, ${BATCH_ROWS}) AS g`, [organizationId, userId])).then((t) => t.ms);

  // Rows to update: the tenant's own, a different one each time, alternating status so every update changes it
  // (priority too: a status change alone could be a no-op for rows already in that status).
  const targets = (await db.owner.query<{ id: string }>('SELECT id FROM agent_tasks WHERE organization_id = $1 ORDER BY id LIMIT $2',
    [organizationId, Math.max(rows, 1)])).rows.map((r) => r.id);
  let next = 0;
  const update = (s: BenchSession) => {
    const id = targets[next++ % targets.length];
    const status = Math.floor(next / targets.length) % 2 === 0 ? 'running' : 'queued';
    return timed(() => s.query('UPDATE agent_tasks SET status = $2, priority = (priority + 1) % 100 WHERE id = $1', [id, status])).then((t) => t.ms);
  };

  const appSide = (statement: (s: BenchSession) => Promise<number>): Side => ({
    session: db.app,
    begin: () => beginAsAppUser(db.app, userId),
    end: () => db.app.exec('COMMIT'),
    statement,
  });
  const ownerSide = (statement: (s: BenchSession) => Promise<number>, triggers = true): Side => ({
    session: db.owner,
    begin: async () => {
      await beginAsOwner(db.owner);
      if (!triggers) await db.owner.exec('ALTER TABLE agent_tasks DISABLE TRIGGER USER');
    },
    end: async () => {
      if (!triggers) await db.owner.exec('ALTER TABLE agent_tasks ENABLE TRIGGER USER');
      await db.owner.exec('COMMIT');
    },
    statement,
  });

  const results: WriteResult[] = [];
  const record = (operation: string, withWhat: string, rowsPerStatement: number, target: number | null, samples: { with: number[]; without: number[] }) => {
    const w = summarize(samples.with);
    const wo = summarize(samples.without);
    const r = ratio(w.p50, wo.p50);
    results.push({
      operation,
      with: withWhat,
      rowsPerStatement,
      withChecks: w,
      without: wo,
      rowsPerSecondWith: (rowsPerStatement * 1000) / w.p50,
      rowsPerSecondWithout: (rowsPerStatement * 1000) / wo.p50,
      ratio: r,
      ratioInterval: ratioInterval(samples.with, samples.without),
      judged: target !== null,
      target,
      pass: target === null || r <= target,
    });
    log(`  ${operation}: ×${r.toFixed(2)}`);
  };

  record('insert (1 row)', 'app_user: RLS WITH CHECK', 1, WRITE_RATIO_TARGETS.singleRow,
    await compare(appSide(insertApp), ownerSide(insertOwner), rows));
  record(`insert batch (${BATCH_ROWS} rows)`, 'app_user: RLS WITH CHECK', BATCH_ROWS, WRITE_RATIO_TARGETS.batch,
    await compare(appSide(batchApp), ownerSide(batchOwner), batchStatements(rows), BATCHES_PER_TRANSACTION));
  record('update status (1 row)', 'app_user: RLS USING + WITH CHECK', 1, WRITE_RATIO_TARGETS.singleRow,
    await compare(appSide(update), ownerSide(update), rows));
  record('insert (1 row), triggers', 'owner: the table\'s user triggers (audit trail) against none', 1, null,
    await compare(ownerSide(insertOwner), ownerSide(insertOwner, false), rows));
  return results;
}
