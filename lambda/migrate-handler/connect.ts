/**
 * Connecting to the writer, patiently: on the first deploy the cluster may exist before it accepts connections,
 * and a Serverless v2 writer may be resuming. Transient failures are retried with exponential backoff until the
 * deadline; failures that waiting cannot fix (wrong password, missing database) stop at once.
 */
import type { Logger } from '../shared/logger';

/** Network errors and SQLSTATEs worth waiting out. */
const TRANSIENT = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE',
  '57P03', // cannot_connect_now: the server is starting up
  '53300', // too_many_connections
  '08001', '08006', // connection failures
]);

export function isTransientConnectError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && TRANSIENT.has(code)) return true;
  // pg reports a connect timeout and an unexpected close by message only.
  const message = String((error as { message?: unknown } | null)?.message ?? '');
  return /timeout expired|Connection terminated unexpectedly/i.test(message);
}

export interface BackoffOptions {
  /** Epoch ms after which no new attempt starts. */
  readonly deadline: number;
  readonly logger: Logger;
  /** @default 1000 */
  readonly initialDelayMs?: number;
  /** @default 15000 */
  readonly maxDelayMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => number;
}

/** Calls `connect` until it succeeds, a non-transient error occurs, or the deadline leaves no time to retry. */
export async function connectWithBackoff<T>(connect: () => Promise<T>, options: BackoffOptions): Promise<T> {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const now = options.now ?? Date.now;
  let delay = options.initialDelayMs ?? 1000;
  for (let attempt = 1; ; attempt++) {
    try {
      return await connect();
    } catch (error) {
      const code = (error as { code?: string }).code ?? 'unknown';
      if (!isTransientConnectError(error)) throw error;
      if (now() + delay >= options.deadline) {
        throw new Error(`the database did not accept connections before the deadline (last error: ${code}, ${attempt} attempts)`, { cause: error });
      }
      options.logger.warn('database not reachable yet; retrying', { attempt, code, retryInMs: delay });
      await sleep(delay);
      delay = Math.min(delay * 2, options.maxDelayMs ?? 15000);
    }
  }
}
