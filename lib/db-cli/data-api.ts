/**
 * A read-only session over the RDS Data API, for `status`, `plan` and `verify` from outside the VPC (CI): no
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

/** Opens the Data API "session" (the SDK is loaded only when this path is used). */
export async function openDataApi(target: DataApiTarget): Promise<{ client: SqlClient & { readonly roundTrips: number; readonly statements: number }; close(): Promise<void> }> {
  const sdk = await import('@aws-sdk/client-rds-data');
  const client = new sdk.RDSDataClient({ maxAttempts: 3 });
  return { client: countingClient(dataApiSqlClient(client, target, sdk)), close: async () => client.destroy() };
}
