/**
 * The session advisory lock that makes one runner at a time migrate a
 * database. `pg_try_advisory_lock` is polled (never the blocking
 * `pg_advisory_lock`): a waiting runner then holds no statement open, so a
 * CREATE INDEX CONCURRENTLY run by the lock holder, which waits for every
 * open transaction, never waits for the runners queueing behind it. The lock
 * is held by the session, outside any transaction, and the server drops it if
 * the connection dies.
 *
 * Advisory locks carry no privileges: any login, the application's included,
 * can take the published key and hold it forever. So a lock counts only when a
 * session of the runner's own role (the migrating user) holds it. Each attempt
 * is one statement that (1) takes a ticket, an advisory lock of the runner
 * namespace on a random number, announcing this runner; (2) takes the main key
 * if it is free (so runners of older versions, which know only the main key,
 * still wait for this one); (3) then looks, in pg_locks, for another session of
 * the same role holding the main key or a ticket. Finding none, the runner holds
 * the lock; otherwise it lets go of what it took and polls again. Because every
 * runner announces itself before it looks, two runners can never both find the
 * other absent (if both look at once, both back off, and the jittered polling
 * separates them). A session of another role holding the main key or tickets is
 * not a migration run: it is logged, and ignored.
 */
import { randomInt } from 'node:crypto';
import type { SqlClient } from './client';
import { MigrationError } from './errors';
import type { MigrationLogger } from './logger';

/** Default lock key: the first 8 bytes of sha256("migration_history lock"), as a signed bigint. */
export const DEFAULT_LOCK_KEY = '-2738387643843393297';

/** Namespace of the runners' tickets (two-key advisory locks): the first 4 bytes of sha256("migration_history runner ticket"). */
export const RUNNER_TICKET_CLASS = 1110652281;

interface LockHolder {
  pid: number;
  application_name: string | null;
  backend_start: string | null;
  state: string | null;
  user_name: string | null;
}

/** The main key as pg_locks shows it: (classid, objid) with objsubid 1. */
function keyParts(key: string): [number, number] {
  const k = BigInt.asUintN(64, BigInt(key));
  return [Number(k >> 32n), Number(k & 0xffffffffn)];
}

/**
 * FROM/WHERE of the advisory locks, in this database and held by another session, on the main key (classid and
 * objid in parameters `$k`, `$k+1`) or on a ticket (class in `$k+2`).
 */
const othersLocks = (k: number) => `
       pg_catalog.pg_locks AS l JOIN pg_catalog.pg_stat_activity AS a ON a.pid = l.pid
 WHERE l.locktype = 'advisory' AND l.granted AND l.pid <> pg_catalog.pg_backend_pid()
   AND l.database = (SELECT d.oid FROM pg_catalog.pg_database AS d WHERE d.datname = pg_catalog.current_database())
   AND ((l.objsubid = 1 AND l.classid = $${k}::oid AND l.objid = $${k + 1}::oid) OR (l.objsubid = 2 AND l.classid = $${k + 2}::oid))`;

/** The holder is a session of the runner's own role: another migration run. */
const SAME_ROLE = 'a.usesysid = (SELECT r.oid FROM pg_catalog.pg_roles AS r WHERE r.rolname = session_user)';

/**
 * One attempt, one statement: the ticket ($1, $2) and the main key ($3) in a sub-select that OFFSET 0 keeps
 * apart, so it runs first; then the check for another run, correlated to the ticket, so it runs after.
 */
const ATTEMPT = `
SELECT s.ticket, s.main,
       s.ticket AND NOT EXISTS (SELECT 1 FROM ${othersLocks(4)} AND ${SAME_ROLE} AND s.ticket) AS locked
  FROM (SELECT pg_catalog.pg_try_advisory_lock($1::int4, $2::int4) AS ticket,
               pg_catalog.pg_try_advisory_lock($3::bigint) AS main
        OFFSET 0) AS s`;

/** A session holding the main key or a ticket: another run of the runner's role first, else anyone (for messages). */
async function lockHolder(client: SqlClient, key: string): Promise<(LockHolder & { runner: boolean }) | undefined> {
  const { rows } = await client.query<LockHolder & { runner: boolean }>(
    `SELECT l.pid, a.application_name, a.backend_start::text AS backend_start, a.state, a.usename::text AS user_name,
            ${SAME_ROLE} AS runner
       FROM ${othersLocks(1)}
      ORDER BY runner DESC, l.objsubid, l.pid
      LIMIT 1`,
    [...keyParts(key), RUNNER_TICKET_CLASS],
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
  const [keyClass, keyObject] = keyParts(key);
  for (;;) {
    const ticket = randomInt(1, 2 ** 31 - 1);
    const { rows } = await client.query<{ ticket: boolean; main: boolean; locked: boolean }>(ATTEMPT, [RUNNER_TICKET_CLASS, ticket, key, keyClass, keyObject, RUNNER_TICKET_CLASS]);
    const taken = rows[0];
    if (taken?.locked) {
      if (reported) logger.info('lock acquired', { event: 'lock_acquired', lockKey: key });
      if (!taken.main) {
        // Someone holds the main key, and it is not a migration run of our role: the application, say.
        const holder = await lockHolder(client, key).catch(() => undefined);
        logger.warn('the migration lock key is held by a session of another role, which is not a migration run; going ahead without it', {
          event: 'lock_key_squatted',
          lockKey: key,
          holderPid: holder?.pid,
          holderUser: holder?.user_name ?? undefined,
          holderApplication: holder?.application_name ?? undefined,
        });
      }
      return;
    }
    // Another run holds the lock: let go of what this attempt took.
    if (taken?.ticket && taken.main) {
      await client.query('SELECT pg_catalog.pg_advisory_unlock($1::int4, $2::int4), pg_catalog.pg_advisory_unlock($3::bigint)', [RUNNER_TICKET_CLASS, ticket, key]);
    } else if (taken?.ticket) {
      await client.query('SELECT pg_catalog.pg_advisory_unlock($1::int4, $2::int4)', [RUNNER_TICKET_CLASS, ticket]);
    } else if (taken?.main) {
      await client.query('SELECT pg_catalog.pg_advisory_unlock($1::bigint)', [key]);
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

/**
 * Releases the lock: the main key if this session holds it, and its ticket. Never throws (a dead connection has
 * already released both).
 */
export async function releaseLock(client: SqlClient, key: string, logger: MigrationLogger): Promise<void> {
  try {
    await client.query(
      `SELECT count(CASE WHEN l.objsubid = 1 THEN pg_catalog.pg_advisory_unlock($1::bigint)
                         ELSE pg_catalog.pg_advisory_unlock($4::int4, l.objid::pg_catalog.int8::pg_catalog.int4) END) AS released
         FROM pg_catalog.pg_locks AS l
        WHERE l.locktype = 'advisory' AND l.granted AND l.pid = pg_catalog.pg_backend_pid()
          AND l.database = (SELECT d.oid FROM pg_catalog.pg_database AS d WHERE d.datname = pg_catalog.current_database())
          AND ((l.objsubid = 1 AND l.classid = $2::oid AND l.objid = $3::oid) OR (l.objsubid = 2 AND l.classid = $5::oid))`,
      [key, ...keyParts(key), RUNNER_TICKET_CLASS, RUNNER_TICKET_CLASS],
    );
  } catch (err) {
    logger.warn('could not release the migration lock (the server releases it when the connection closes)', { error: (err as Error).message });
  }
}
