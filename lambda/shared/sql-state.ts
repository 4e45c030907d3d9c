/**
 * A loggable code for a failed Data API or pg call: the SQLSTATE when PostgreSQL reported one (the Data API
 * puts it at the end of its message: "...; SQLState: 23505"), else the error's name. Never the message, which
 * can quote the data that failed.
 */
export function sqlState(error: unknown): string {
  if (!error || typeof error !== 'object') return 'UnknownError';
  const { code, name, message } = error as { code?: unknown; name?: unknown; message?: unknown };
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
  return sqlStateInMessage(message) ?? (typeof name === 'string' ? name : 'UnknownError');
}

/** The SQLSTATE a Data API error message ends with, if any. */
export function sqlStateInMessage(message: unknown): string | undefined {
  return typeof message === 'string' ? /SQLState: ([0-9A-Z]{5})/.exec(message)?.[1] : undefined;
}
