/**
 * The session advisory lock that makes one runner at a time migrate a
 * database. `pg_try_advisory_lock` is polled (never the blocking
 * `pg_advisory_lock`): a waiting runner then holds no statement open, so a
 * CREATE INDEX CONCURRENTLY run by the lock holder, which waits for every
 * open transaction, never waits for the runners queueing behind it. The lock
 * is held by the session, outside any transaction, and the server drops it if
 * the connection dies.
 */
import type { SqlClient } from './client';
import { MigrationError } from './errors';
import type { MigrationLogger } from './logger';

/** Default lock key: the first 8 bytes of sha256("migration_history lock"), as a signed bigint. */
export const DEFAULT_LOCK_KEY = '-2738387643843393297';

interface LockHolder {
  pid: number;
  application_name: string | null;
  backend_start: string | null;
  state: string | null;
}

/** Who holds the lock (for messages); undefined when nobody or not visible. */
async function lockHolder(client: SqlClient, key: string): Promise<LockHolder | undefined> {
  const k = BigInt.asUintN(64, BigInt(key));
  const classid = Number(k >> 32n);
  const objid = Number(k & 0xffffffffn);
  const { rows } = await client.query<LockHolder>(
    `SELECT l.pid, a.application_name, a.backend_start::text AS backend_start, a.state
       FROM pg_catalog.pg_locks l LEFT JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.granted AND l.classid = $1::oid AND l.objid = $2::oid AND l.objsubid = 1
        AND l.database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())`,
    [classid, objid],
  );
  return rows[0];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Takes the lock, polling with backoff (50 ms growing to 1 s, with jitter)
 * until `deadline` (epoch ms). Throws `lock_timeout` naming the holder.
 */
export async function acquireLock(client: SqlClient, key: string, deadline: number, logger: MigrationLogger): Promise<void> {
  let delay = 50;
  let reported = false;
  for (;;) {
    const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1::bigint) AS locked', [key]);
    if (rows[0]?.locked) {
      if (reported) logger.info('lock acquired', { event: 'lock_acquired', lockKey: key });
      return;
    }
    const remaining = deadline - Date.now();
    if (remaining <= 0) {
      const holder = await lockHolder(client, key).catch(() => undefined);
      const who = holder ? ` by pid ${holder.pid}${holder.application_name ? ` (${holder.application_name})` : ''}, connected since ${holder.backend_start}` : '';
      throw new MigrationError(`another migration run holds the lock${who}; gave up at the deadline`, {
        code: 'lock_timeout',
        hint: 'wait for the other run to finish, or give this run a later deadline',
      });
    }
    if (!reported) {
      reported = true;
      const holder = await lockHolder(client, key).catch(() => undefined);
      logger.info('waiting for the migration lock', { event: 'lock_wait', lockKey: key, holderPid: holder?.pid, holderApplication: holder?.application_name ?? undefined });
    }
    await sleep(Math.min(delay * (0.75 + Math.random() * 0.5), remaining));
    delay = Math.min(delay * 1.6, 1000);
  }
}

/** Releases the lock; never throws (a dead connection has already released it). */
export async function releaseLock(client: SqlClient, key: string, logger: MigrationLogger): Promise<void> {
  try {
    await client.query('SELECT pg_advisory_unlock($1::bigint)', [key]);
  } catch (err) {
    logger.warn('could not release the migration lock (the server releases it when the connection closes)', { error: (err as Error).message });
  }
}
