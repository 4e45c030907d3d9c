/**
 * A read-only session over the RDS Data API, for `status`, `plan`, `verify` and `drift` from outside the VPC (CI): no
 * network path to the cluster and no password needed, only IAM permission on the cluster and a login's secret.
 * The Data API has no session, so nothing that needs one (the advisory lock, migrate, repair) runs over it.
 */
import type { RDSDataClient } from '@aws-sdk/client-rds-data';
import { countingClient, type SqlClient } from '../../lambda/migrator';
import { sqlStateInMessage } from '../../lambda/shared/sql-state';

export interface DataApiTarget {
  readonly clusterArn: string;
  readonly secretArn: string;
  readonly database: string;
}

/** Runs the runner's read queries as ExecuteStatement calls (JSON records; no parameters are needed). */
export function dataApiSqlClient(client: RDSDataClient, target: DataApiTarget, send: typeof import('@aws-sdk/client-rds-data')): SqlClient {
  return {
    async query<R>(text: string, params?: readonly unknown[]) {
      if (params && params.length > 0) throw new Error('the Data API session of the db CLI runs read queries without parameters');
      try {
        const output = await client.send(
          new send.ExecuteStatementCommand({
            resourceArn: target.clusterArn,
            secretArn: target.secretArn,
            database: target.database,
            sql: text,
            formatRecordsAs: 'JSON',
          }),
        );
        return { rows: (output.formattedRecords ? JSON.parse(output.formattedRecords) : []) as R[] };
      } catch (error) {
        // The runner recognises a missing history by SQLSTATE; the Data API puts it in the message.
        const state = sqlStateInMessage((error as Error).message);
        throw Object.assign(error as Error, state ? { code: state } : {});
      }
    },
    async execute() {
      throw new Error('the RDS Data API path is read-only: use status, plan or verify');
    },
  };
}

/**
 * A session that runs its queries in one Data API transaction: `BEGIN READ ONLY` begins one (BeginTransaction,
 * then SET TRANSACTION READ ONLY inside it), `ROLLBACK` ends it (RollbackTransaction); every other query runs in it.
 * What describe.ts needs to read the catalog consistently, and unable to change anything whatever it is sent.
 */
export function dataApiReadOnlySession(client: RDSDataClient, target: DataApiTarget, send: typeof import('@aws-sdk/client-rds-data')): SqlClient {
  const statements = dataApiSqlClient(client, target, send);
  let transactionId: string | undefined;
  const run = async <R>(sql: string): Promise<{ rows: R[] }> => {
    if (!transactionId) throw new Error('the read-only Data API session runs queries inside BEGIN READ ONLY … ROLLBACK only');
    const output = await client.send(
      new send.ExecuteStatementCommand({ ...resource(target), transactionId, sql, formatRecordsAs: 'JSON' }),
    );
    return { rows: (output.formattedRecords ? JSON.parse(output.formattedRecords) : []) as R[] };
  };
  return {
    async query<R>(text: string, params?: readonly unknown[]) {
      if (params && params.length > 0) throw new Error('the Data API session of the db CLI runs read queries without parameters');
      const command = text.trim().toUpperCase();
      if (command === 'BEGIN READ ONLY') {
        if (transactionId) throw new Error('a read-only Data API transaction is already open');
        transactionId = (await client.send(new send.BeginTransactionCommand(resource(target)))).transactionId;
        await run('SET TRANSACTION READ ONLY');
        return { rows: [] };
      }
      if (command === 'ROLLBACK') {
        const id = transactionId;
        transactionId = undefined;
        if (id) await client.send(new send.RollbackTransactionCommand({ resourceArn: target.clusterArn, secretArn: target.secretArn, transactionId: id }));
        return { rows: [] };
      }
      // Outside a transaction (the history read before it), a statement runs on its own, as for status.
      return transactionId ? run<R>(text) : statements.query<R>(text);
    },
    execute: statements.execute,
  };
}

const resource = (target: DataApiTarget) => ({ resourceArn: target.clusterArn, secretArn: target.secretArn, database: target.database });

/** Opens the Data API "session" (the SDK is loaded only when this path is used). */
export async function openDataApi(
  target: DataApiTarget,
  options: { readOnlyTransactions?: boolean } = {},
): Promise<{ client: SqlClient & { readonly roundTrips: number; readonly statements: number }; close(): Promise<void> }> {
  const sdk = await import('@aws-sdk/client-rds-data');
  const client = new sdk.RDSDataClient({ maxAttempts: 3 });
  const session = options.readOnlyTransactions ? dataApiReadOnlySession(client, target, sdk) : dataApiSqlClient(client, target, sdk);
  return { client: countingClient(session), close: async () => client.destroy() };
}
