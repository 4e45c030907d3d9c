/** Where the runner reports progress: structured fields, so the Lambda can log JSON and the CLI plain lines. */
export interface MigrationLogger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** A logger that drops everything. */
export const silentLogger: MigrationLogger = {
  info: () => {},
  warn: () => {},
  error: () => {},
};
