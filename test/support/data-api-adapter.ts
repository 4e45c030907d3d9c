/**
 * Serves the RDS Data API's ExecuteStatement from an embedded database, so Lambda code that talks to the
 * Data API runs against real SQL in tests. aws-sdk-client-mock intercepts the client at the API boundary; this
 * adapter translates the command the way the Data API does: named parameters with typed Field values and type
 * hints, the login that the secret ARN stands for, and JSON-formatted records (JSON columns as strings).
 * BeginTransaction / CommitTransaction / RollbackTransaction keep a transaction open across statements that name
 * its id, as the Data API does.
 */
import {
  BeginTransactionCommand,
  CommitTransactionCommand,
  DatabaseErrorException,
  DatabaseResumingException,
  DatabaseUnavailableException,
  ExecuteStatementCommand,
  RDSDataClient,
  RollbackTransactionCommand,
  type ExecuteStatementCommandInput,
  type Field,
  type SqlParameter,
} from '@aws-sdk/client-rds-data';
import { mockClient } from 'aws-sdk-client-mock';
import type { EmbeddedDatabase } from '../../lib/local/pglite';

export interface DataApiAdapterOptions {
  /** Which group role each secret's login belongs to (the statement runs with SET LOCAL ROLE). */
  readonly loginRoles: Record<string, string>;
  /** The cluster ARN that is accepted. */
  readonly resourceArn: string;
  /**
   * Serve every RDSDataClient, not only the one the adapter returns (for code that creates its own client).
   * @default false
   */
  readonly allClients?: boolean;
}

const JSON_TYPE_IDS = new Set([114, 3802]); // json, jsonb

function fieldValue(field: Field | undefined): unknown {
  if (!field || field.isNull) return null;
  if (field.stringValue !== undefined) return field.stringValue;
  if (field.booleanValue !== undefined) return field.booleanValue;
  if (field.longValue !== undefined) return field.longValue;
  if (field.doubleValue !== undefined) return field.doubleValue;
  throw new DatabaseErrorException({ message: 'unsupported parameter value', $metadata: {} });
}

function castFor(parameter: SqlParameter): string {
  switch (parameter.typeHint) {
    case 'UUID': return '::uuid';
    case 'JSON': return '::jsonb';
    case 'TIMESTAMP': return '::timestamp';
    case 'DATE': return '::date';
    case 'TIME': return '::time';
    case 'DECIMAL': return '::numeric';
  }
  // The Data API sends longValue as int8, doubleValue as float8, booleanValue as bool.
  if (parameter.value?.longValue !== undefined) return '::bigint';
  if (parameter.value?.doubleValue !== undefined) return '::float8';
  if (parameter.value?.booleanValue !== undefined) return '::boolean';
  if (parameter.value?.stringValue !== undefined) return '::text';
  return '';
}

/** `:name` placeholders (not `::casts`) become `$n`, typed as the Data API would type them. */
export function toPositional(sql: string, parameters: SqlParameter[] = []): { text: string; values: unknown[] } {
  const index = new Map(parameters.map((parameter, i) => [parameter.name, i]));
  const text = sql.replace(/(?<![:\w]):([A-Za-z_]\w*)/g, (_match, name: string) => {
    const i = index.get(name);
    if (i === undefined) throw new DatabaseErrorException({ message: `ERROR: no value for parameter ${name}`, $metadata: {} });
    return `$${i + 1}${castFor(parameters[i])}`;
  });
  return { text, values: parameters.map((parameter) => fieldValue(parameter.value)) };
}

export interface DataApiAdapter {
  readonly client: RDSDataClient;
  /** Every statement the handlers sent, in order. */
  readonly calls: ExecuteStatementCommandInput[];
  /** Transaction calls, in order: `begin <id>`, `commit <id>`, `rollback <id>`. */
  readonly transactions: string[];
  /** Makes the next calls fail as if the cluster were unreachable. */
  setAvailable(available: boolean): void;
  /** Makes the next `calls` calls answer as a paused cluster does while it resumes (Infinity: every call). */
  resumeFor(calls: number): void;
  restore(): void;
}

/** What a statement returned, from either engine. */
export interface StatementResult {
  readonly rows: Record<string, unknown>[];
  readonly fields: ReadonlyArray<{ name: string; dataTypeID: number }>;
  readonly affectedRows: number;
}

/** Runs one statement, in a transaction of its own, as the login a secret ARN stands for (undefined: unknown secret). */
export type StatementRunner = (secretArn: string, text: string, values: unknown[]) => Promise<StatementResult | undefined>;

/** A transaction kept open across calls (BeginTransaction … Commit/RollbackTransaction). */
export interface TransactionRunner {
  /** Begins one as the login a secret ARN stands for; undefined: unknown secret. */
  begin(secretArn: string): Promise<string | undefined>;
  run(transactionId: string, text: string, values: unknown[]): Promise<StatementResult>;
  end(transactionId: string, commit: boolean): Promise<void>;
}

/** PGlite's one session holds the transaction (one at a time), as the login's group role. */
function pgliteTransactions(db: EmbeddedDatabase, loginRoles: Record<string, string>): TransactionRunner {
  let open: string | undefined;
  let next = 0;
  return {
    async begin(secretArn) {
      const role = loginRoles[secretArn];
      if (!role) return undefined;
      if (open) throw new Error('the PGlite Data API adapter holds one transaction at a time');
      await db.exec(`BEGIN; SET LOCAL ROLE ${role}`);
      open = `tx-${++next}`;
      return open;
    },
    async run(transactionId, text, values) {
      if (transactionId !== open) throw new Error(`no transaction ${transactionId}`);
      const result = await db.query<Record<string, unknown>>(text, values);
      return { rows: result.rows, fields: result.fields, affectedRows: result.affectedRows ?? 0 };
    },
    async end(transactionId, commit) {
      if (transactionId !== open) throw new Error(`no transaction ${transactionId}`);
      open = undefined;
      await db.exec(commit ? 'COMMIT' : 'ROLLBACK');
    },
  };
}

/** PGlite: the superuser session switches to the login's group role for the statement. */
function pgliteRunner(db: EmbeddedDatabase, loginRoles: Record<string, string>): StatementRunner {
  return async (secretArn, text, values) => {
    const role = loginRoles[secretArn];
    if (!role) return undefined;
    await db.exec(`BEGIN; SET LOCAL ROLE ${role}`);
    try {
      const result = await db.query<Record<string, unknown>>(text, values);
      await db.exec('COMMIT');
      return { rows: result.rows, fields: result.fields, affectedRows: result.affectedRows ?? 0 };
    } catch (error) {
      await db.exec('ROLLBACK');
      throw error;
    }
  };
}

export function createDataApiAdapter(db: EmbeddedDatabase, options: DataApiAdapterOptions): DataApiAdapter {
  return createDataApiAdapterFor(pgliteRunner(db, options.loginRoles), options, pgliteTransactions(db, options.loginRoles));
}

/** The adapter over any statement runner (a real server's login connections, in the server tier). */
export function createDataApiAdapterFor(
  runStatement: StatementRunner,
  options: Omit<DataApiAdapterOptions, 'loginRoles'>,
  transactions?: TransactionRunner,
): DataApiAdapter {
  const client = new RDSDataClient({ region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  const mock = options.allClients ? mockClient(RDSDataClient) : mockClient(client);
  const calls: ExecuteStatementCommandInput[] = [];
  const transactionCalls: string[] = [];
  let available = true;
  const asDataApiError = (error: unknown) => {
    const { message, code } = error as { message: string; code?: string };
    return new DatabaseErrorException({ message: `ERROR: ${message}; SQLState: ${code ?? 'XX000'}`, $metadata: {} });
  };
  const transactionsOrFail = () => {
    if (!transactions) throw new DatabaseErrorException({ message: 'transactions are not served by this adapter', $metadata: {} });
    return transactions;
  };

  mock.on(BeginTransactionCommand).callsFake(async (input: { resourceArn?: string; secretArn?: string }) => {
    if (!available) throw new DatabaseUnavailableException({ message: 'The database is unavailable', $metadata: {} });
    if (input.resourceArn !== options.resourceArn) throw new DatabaseErrorException({ message: 'unknown cluster', $metadata: {} });
    const id = input.secretArn ? await transactionsOrFail().begin(input.secretArn) : undefined;
    if (!id) throw new DatabaseErrorException({ message: 'secret not accepted', $metadata: {} });
    transactionCalls.push(`begin ${id}`);
    return { transactionId: id, $metadata: {} };
  });
  for (const [command, commit] of [[CommitTransactionCommand, true], [RollbackTransactionCommand, false]] as const) {
    mock.on(command).callsFake(async (input: { transactionId?: string }) => {
      transactionCalls.push(`${commit ? 'commit' : 'rollback'} ${input.transactionId}`);
      await transactionsOrFail().end(input.transactionId ?? '', commit);
      return { transactionStatus: commit ? 'Transaction Committed' : 'Rollback Complete', $metadata: {} };
    });
  }
  let resuming = 0;

  mock.on(ExecuteStatementCommand).callsFake(async (input: ExecuteStatementCommandInput) => {
    calls.push(input);
    if (!available) throw new DatabaseUnavailableException({ message: 'The database is unavailable', $metadata: {} });
    if (resuming > 0) {
      resuming--;
      throw new DatabaseResumingException({ message: 'The database is resuming after being auto-paused', $metadata: {} });
    }
    if (input.resourceArn !== options.resourceArn) throw new DatabaseErrorException({ message: 'unknown cluster', $metadata: {} });
    const { text, values } = toPositional(input.sql ?? '', input.parameters);
    let result: StatementResult | undefined;
    try {
      if (input.transactionId) result = await transactionsOrFail().run(input.transactionId, text, values);
      else result = input.secretArn ? await runStatement(input.secretArn, text, values) : undefined;
    } catch (error) {
      if (error instanceof DatabaseErrorException) throw error;
      throw asDataApiError(error);
    }
    if (!result) throw new DatabaseErrorException({ message: 'secret not accepted', $metadata: {} });
    const jsonColumns = new Set(result.fields.filter((f) => JSON_TYPE_IDS.has(f.dataTypeID)).map((f) => f.name));
    const rows = result.rows.map((row) =>
      Object.fromEntries(Object.entries(row).map(([key, value]) => [key, jsonColumns.has(key) && value !== null ? JSON.stringify(value) : value])),
    );
    return {
      numberOfRecordsUpdated: result.affectedRows,
      formattedRecords: input.formatRecordsAs === 'JSON' ? JSON.stringify(rows) : undefined,
      $metadata: {},
    };
  });

  return {
    client,
    calls,
    transactions: transactionCalls,
    setAvailable: (value) => {
      available = value;
    },
    resumeFor: (count) => {
      resuming = count;
    },
    restore: () => mock.restore(),
  };
}
