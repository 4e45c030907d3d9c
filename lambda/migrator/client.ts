/**
 * The database connection the runner drives. It is injected, so the same
 * runner works over `pg` (a real server, the Lambda) and PGlite (the embedded
 * database), and tests can count round trips by wrapping it.
 *
 * No driver is imported here: the adapters accept anything shaped like a
 * `pg.Client` or a PGlite instance.
 */

/** One database session, used by one runner at a time. */
export interface SqlClient {
  /** Runs one statement with bound parameters and returns its rows. One round trip. */
  query<R = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<{ rows: R[] }>;
  /**
   * Runs SQL text without parameters over the simple query protocol (one
   * round trip). Several `;`-separated statements form one implicit
   * transaction, so a statement that refuses transactions (CREATE INDEX
   * CONCURRENTLY) must be sent alone.
   */
  execute(text: string): Promise<void>;
}

/** The part of `pg.Client` the adapter uses. */
export interface PgClientLike {
  query(text: string, values?: unknown[]): Promise<{ rows: unknown[] } | Array<{ rows: unknown[] }>>;
}

/** The part of a PGlite instance the adapter uses. */
export interface PgliteLike {
  query(text: string, params?: unknown[]): Promise<{ rows: unknown[] }>;
  exec(text: string): Promise<unknown>;
}

/** Adapts a connected `pg.Client` (not a Pool: the lock lives on one session). */
export function fromPgClient(client: PgClientLike): SqlClient {
  return {
    async query<R>(text: string, params?: readonly unknown[]) {
      const result = await client.query(text, params && params.length > 0 ? [...params] : undefined);
      return (Array.isArray(result) ? result[result.length - 1] : result) as { rows: R[] };
    },
    async execute(text: string) {
      await client.query(text);
    },
  };
}

/** Adapts a PGlite instance (one session by nature). */
export function fromPglite(db: PgliteLike): SqlClient {
  return {
    async query<R>(text: string, params?: readonly unknown[]) {
      return (await db.query(text, params ? [...params] : undefined)) as { rows: R[] };
    },
    async execute(text: string) {
      await db.exec(text);
    },
  };
}

/**
 * A client that counts what goes through it (for benchmarks and tests): the
 * calls, each one statement of the runner's and one network round trip (the
 * runner waits for each answer before it sends the next).
 */
export function countingClient(inner: SqlClient): SqlClient & { readonly roundTrips: number; readonly statements: number; readonly log: string[] } {
  const log: string[] = [];
  return {
    get roundTrips() {
      return log.length;
    },
    get statements() {
      return log.length;
    },
    log,
    query: (text, params) => (log.push(text), inner.query(text, params)),
    execute: (text) => (log.push(text), inner.execute(text)),
  };
}

/**
 * Bounds every call through the client by `deadline` (epoch ms). Server-side
 * timeouts cover a slow statement; this covers a server or network that stops
 * answering, so the caller (a Lambda with a hard timeout) still gets to report.
 * After a rejection the session is in an unknown state: close it.
 */
export function withDeadline(inner: SqlClient, deadline: number, timeoutError: () => Error): SqlClient {
  const bounded = <T>(call: () => Promise<T>): Promise<T> => {
    const ms = deadline - Date.now();
    if (ms <= 0) return Promise.reject(timeoutError());
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(timeoutError()), ms);
    });
    return Promise.race([call(), expired]).finally(() => clearTimeout(timer));
  };
  return {
    query: (text, params) => bounded(() => inner.query(text, params)),
    execute: (text) => bounded(() => inner.execute(text)),
  };
}
