/**
 * Deploying to a server-tier database the way CloudFormation does: the migration handler with real event shapes,
 * Secrets Manager mocked at the API boundary (the master secret is the owner's, the login secrets rotate on
 * demand), and the project's own migrations and seeds.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createMigrationHandler, type Connect, type MigrationHandlerDependencies, type MigrationResponse } from '../../../lambda/migrate-handler/handler';
import { fromPgClient, type SqlClient, type SqlSource } from '../../../lambda/migrator';
import { createLogger } from '../../../lambda/shared/logger';
import { MIGRATIONS_DIR, SEEDS_DIR } from '../../support/embedded';
import { connectTo, loginName, type ServerDatabase } from './server';

export const FIXTURES = join(__dirname, '..', '..', 'fixtures');
export const MASTER_ARN = 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:saas/dev/database/master-Ab12Cd';
export const APP_ARN = 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:saas/dev/database/app-login-Ef34Gh';
export const SYNC_ARN = 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:saas/dev/database/cognito-sync-login-Ij56Kl';
/** CI's login: in no fixture event (its group arrives with 021), so a test adds it to `Logins` itself. */
export const CI_ARN = 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:saas/dev/database/ci-login-Mn78Op';

/** The project's migrations, all of them or the first `count`. */
export function projectMigrations(count?: number): SqlSource[] {
  const names = readdirSync(MIGRATIONS_DIR).filter((f) => f.endsWith('.sql')).sort();
  return names.slice(0, count ?? names.length).map((fileName) => ({
    fileName,
    displayPath: `migrations/${fileName}`,
    text: readFileSync(join(MIGRATIONS_DIR, fileName), 'utf8'),
  }));
}

const event = (name: string) => JSON.parse(readFileSync(join(FIXTURES, 'custom-resource', `${name}.json`), 'utf8'));

export interface Deployer {
  /** The logins' current credentials, as their secrets hold them. */
  readonly app: { username: string; password: string };
  readonly sync: { username: string; password: string };
  readonly ci: { username: string; password: string };
  /** Every log line the handler wrote. */
  readonly logs: string[];
  /** Every statement the handler sent, with the user of the session that sent it. */
  readonly statements: { user: string; text: string }[];
  /** New passwords in the login secrets, as a rotation leaves them. */
  rotate(): void;
  /** One Create or Update of the migration resource with these files (and `properties` over the event's own). */
  deploy(
    migrations: SqlSource[],
    requestType: 'create' | 'update',
    overrides?: Partial<MigrationHandlerDependencies>,
    properties?: Record<string, unknown>,
  ): Promise<MigrationResponse>;
  restore(): void;
}

function withProperties(received: { ResourceProperties: Record<string, unknown> }, properties: Record<string, unknown>) {
  return { ...received, ResourceProperties: { ...received.ResourceProperties, ...properties } };
}

export function createDeployer(db: ServerDatabase): Deployer {
  const owner = new URL(db.ownerUrl);
  const app = { username: loginName('app'), password: '' };
  const sync = { username: loginName('sync'), password: '' };
  const ci = { username: loginName('ci'), password: '' };
  const logs: string[] = [];
  const statements: { user: string; text: string }[] = [];
  const rotate = () => {
    app.password = randomBytes(24).toString('base64url');
    sync.password = randomBytes(24).toString('base64url');
    ci.password = randomBytes(24).toString('base64url');
  };
  rotate();

  const secretsMock = mockClient(SecretsManagerClient);
  secretsMock.on(GetSecretValueCommand, { SecretId: MASTER_ARN }).callsFake(() => ({
    SecretString: JSON.stringify({ username: decodeURIComponent(owner.username), password: decodeURIComponent(owner.password), host: owner.hostname, port: Number(owner.port) }),
  }));
  secretsMock.on(GetSecretValueCommand, { SecretId: APP_ARN }).callsFake(() => ({ SecretString: JSON.stringify({ ...app, masterarn: MASTER_ARN }) }));
  secretsMock.on(GetSecretValueCommand, { SecretId: SYNC_ARN }).callsFake(() => ({ SecretString: JSON.stringify({ ...sync, masterarn: MASTER_ARN }) }));
  secretsMock.on(GetSecretValueCommand, { SecretId: CI_ARN }).callsFake(() => ({ SecretString: JSON.stringify({ ...ci, masterarn: MASTER_ARN }) }));

  /** Connects like the Lambda, minus TLS (the test server has none), to this database. */
  const connect: Connect = async (credentials) => {
    const url = `postgres://${encodeURIComponent(credentials.username)}:${encodeURIComponent(credentials.password)}@${credentials.host}:${credentials.port}/${db.name}`;
    const client = await connectTo(url, 'database-migrations');
    const sql = fromPgClient(client);
    const record = (text: string) => statements.push({ user: credentials.username, text });
    const recorded: SqlClient = {
      query: <R,>(text: string, params?: readonly unknown[]) => (record(text), sql.query<R>(text, params)),
      execute: (text: string) => (record(text), sql.execute(text)),
    };
    return { client: recorded, close: () => client.end() };
  };

  return {
    app,
    sync,
    ci,
    logs,
    statements,
    rotate,
    deploy: (migrations, requestType, overrides = {}, properties = {}) =>
      createMigrationHandler({
        secrets: new SecretsManagerClient({ region: 'eu-west-1' }),
        connect,
        migrations,
        seeds: SEEDS_DIR,
        logger: createLogger({ service: 'test', write: (line) => logs.push(line) }),
        ...overrides,
      })(withProperties(event(requestType), properties), { getRemainingTimeInMillis: () => 600_000 }),
    restore: () => secretsMock.restore(),
  };
}
