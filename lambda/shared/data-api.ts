/**
 * A thin, typed wrapper over the RDS Data API's ExecuteStatement: named parameters in, JSON records out. The
 * Data API needs no VPC and no connection, which suits short-lived triggers (design decision 6).
 */
import { ExecuteStatementCommand, type Field, type RDSDataClient, type SqlParameter } from '@aws-sdk/client-rds-data';

/** Where statements go: the cluster, the login's secret, the database. ARNs, not secrets. */
export interface DataApiTarget {
  readonly resourceArn: string;
  readonly secretArn: string;
  readonly database: string;
}

export type ParameterValue = string | number | boolean | null;

/** How a string parameter is typed on the server (the Data API sends strings as text unless hinted). */
export type TypeHint = 'UUID' | 'JSON' | 'TIMESTAMP' | 'DATE' | 'TIME' | 'DECIMAL';

export interface Statement {
  readonly sql: string;
  readonly parameters?: Record<string, ParameterValue | { value: ParameterValue; typeHint: TypeHint }>;
}

export interface ExecuteOptions {
  /** Aborts the call after this many milliseconds (Cognito gives a trigger 5 s in all). */
  readonly timeoutMs?: number;
}

function toField(value: ParameterValue): Field {
  if (value === null) return { isNull: true };
  if (typeof value === 'boolean') return { booleanValue: value };
  if (typeof value === 'number') return Number.isInteger(value) ? { longValue: value } : { doubleValue: value };
  return { stringValue: value };
}

export function toSqlParameters(parameters: Statement['parameters'] = {}): SqlParameter[] {
  return Object.entries(parameters).map(([name, entry]) => {
    if (entry !== null && typeof entry === 'object') return { name, value: toField(entry.value), typeHint: entry.typeHint };
    return { name, value: toField(entry) };
  });
}

/** Runs one statement and returns its rows as objects (`formatRecordsAs: 'JSON'`). */
export async function execute<Row = Record<string, unknown>>(
  client: RDSDataClient,
  target: DataApiTarget,
  statement: Statement,
  options: ExecuteOptions = {},
): Promise<Row[]> {
  const output = await client.send(
    new ExecuteStatementCommand({
      resourceArn: target.resourceArn,
      secretArn: target.secretArn,
      database: target.database,
      sql: statement.sql,
      parameters: toSqlParameters(statement.parameters),
      formatRecordsAs: 'JSON',
    }),
    options.timeoutMs ? { abortSignal: AbortSignal.timeout(options.timeoutMs) } : {},
  );
  return output.formattedRecords ? (JSON.parse(output.formattedRecords) as Row[]) : [];
}

/** What {@link executeWithin} needs to keep to a deadline. */
export interface DeadlineOptions {
  /** Epoch milliseconds by which the statement must have answered. */
  readonly deadline: number;
  /** Wait before asking a resuming cluster again. @default 250 */
  readonly retryDelayMs?: number;
  /** @default Date.now */
  readonly now?: () => number;
  /** @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** The Data API's answer while a paused Serverless v2 writer resumes (about 15 s from 0 ACU). */
export function isDatabaseResuming(error: unknown): boolean {
  return (error as { name?: unknown } | null)?.name === 'DatabaseResumingException';
}

/**
 * Runs one statement by `deadline`: each attempt is aborted at the deadline, and a cluster that is resuming is
 * asked again while time is left. Whatever else fails, fails at once.
 */
export async function executeWithin<Row = Record<string, unknown>>(
  client: RDSDataClient,
  target: DataApiTarget,
  statement: Statement,
  options: DeadlineOptions,
): Promise<Row[]> {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const retryDelayMs = options.retryDelayMs ?? 250;
  for (;;) {
    const remaining = options.deadline - now();
    if (remaining <= 0) throw Object.assign(new Error('the time Cognito gives the trigger ran out'), { name: 'TimeoutError' });
    try {
      return await execute<Row>(client, target, statement, { timeoutMs: remaining });
    } catch (error) {
      if (!isDatabaseResuming(error) || now() + retryDelayMs >= options.deadline) throw error;
      await sleep(retryDelayMs);
    }
  }
}

/** Reads the Data API target from the function's environment; a missing variable names itself. */
export function dataApiTargetFromEnv(env: NodeJS.ProcessEnv = process.env): DataApiTarget {
  const read = (name: string) => {
    const value = env[name];
    if (!value) throw new Error(`environment variable ${name} is not set`);
    return value;
  };
  return { resourceArn: read('CLUSTER_ARN'), secretArn: read('SECRET_ARN'), database: read('DATABASE_NAME') };
}
