/**
 * The migration custom resource's logic, with its dependencies injected (Secrets Manager client, how to
 * connect, where the files are) so tests drive it against real databases with real event shapes.
 *
 * Create and Update: read the master secret, wait for the writer, run the migrations (and seeds where allowed),
 * then create or update the login roles from their secrets. Delete: nothing (data is never touched). An Update
 * that is a CloudFormation rollback (older files, newer database) applies nothing and only syncs the logins. Failures
 * throw — the Provider framework turns a throw into FAILED — with a reason under 4 KB naming file, line and
 * SQLSTATE; the runner's deadline stays below the function's remaining time, so the function always answers.
 */
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { clampReason, inspect, migrate, MigrationError, type MigrateResult, type SqlClient, type SqlFileSource } from '../migrator';
import type { Logger } from '../shared/logger';
import { connectWithBackoff } from './connect';
import { parseEvent, type MigrationRequest } from './event';
import { updateVectorExtension } from './extensions';
import { RDS_IAM_ROLE, syncLoginRole } from './login-roles';
import { readCredentials, type DatabaseCredentials } from './secrets';

/** SQLSTATEs of a refused login: wrong password, or no such login / not allowed to log in. */
const INVALID_PASSWORD = '28P01';
const INVALID_AUTHORIZATION = '28000';

/** A connected session: the runner's client, and a way to end it. */
export interface DatabaseSession {
  readonly client: SqlClient;
  close(): Promise<void>;
}

/** Opens one session to `database` on the writer with the given credentials. */
export type Connect = (credentials: DatabaseCredentials, database: string) => Promise<DatabaseSession>;

export interface MigrationHandlerDependencies {
  readonly secrets: SecretsManagerClient;
  readonly connect: Connect;
  readonly migrations: SqlFileSource;
  readonly seeds?: SqlFileSource;
  readonly logger: Logger;
  /**
   * Time kept back from the function's remaining time: the runner's deadline is `remaining - reserve`, so the
   * handler can still close the session and answer. @default 30000
   */
  readonly reserveMs?: number;
  /** @default Date.now */
  readonly now?: () => number;
  /** Backoff between connection attempts. @default 1000 */
  readonly initialRetryDelayMs?: number;
}

/** What the Provider framework sends back to CloudFormation. */
export interface MigrationResponse {
  readonly PhysicalResourceId: string;
  readonly Data: Record<string, string>;
}

/** The slice of the Lambda context the handler uses. */
export interface InvocationContext {
  getRemainingTimeInMillis(): number;
}

function failureReason(error: unknown): string {
  if (error instanceof MigrationError) return error.reason;
  const message = error instanceof Error ? `${error.name === 'Error' ? '' : `${error.name}: `}${error.message}` : String(error);
  return clampReason(message);
}

/** Versions as CloudFormation attributes: strings, short. */
function listVersions(versions: readonly number[]): string {
  const text = versions.map((v) => String(v).padStart(3, '0')).join(',');
  return text.length > 1000 ? `${text.slice(0, 999)}…` : text;
}

export function createMigrationHandler(deps: MigrationHandlerDependencies) {
  const now = deps.now ?? Date.now;
  return async (event: unknown, context?: InvocationContext): Promise<MigrationResponse> => {
    let request: MigrationRequest;
    try {
      request = parseEvent(event);
    } catch (error) {
      deps.logger.error('rejected custom resource event', { error: failureReason(error) });
      throw error;
    }
    const logger = deps.logger.child({ requestType: request.requestType, hash: request.hash, deployId: request.deployId });
    if (request.requestType === 'Delete') {
      logger.info('delete: the database is left as it is');
      return { PhysicalResourceId: request.physicalResourceId, Data: {} };
    }

    const remaining = context?.getRemainingTimeInMillis() ?? 15 * 60_000;
    const deadline = now() + remaining - (deps.reserveMs ?? 30_000);
    try {
      const master = await readCredentials(deps.secrets, request.masterSecretArn);
      const session = await connectWithBackoff(() => deps.connect(master, request.databaseName), {
        deadline,
        logger,
        initialDelayMs: deps.initialRetryDelayMs,
      });
      try {
        return await run(request, session.client, master, deadline, logger);
      } finally {
        await session.close().catch(() => undefined);
      }
    } catch (error) {
      const reason = failureReason(error);
      logger.error('migration failed', {
        reason,
        ...(error instanceof MigrationError ? { code: error.code, file: error.file, line: error.line, sqlState: error.sqlState } : {}),
      });
      throw new Error(reason, { cause: error });
    }
  };

  async function syncLogins(request: MigrationRequest, client: SqlClient, master: DatabaseCredentials, logger: Logger): Promise<void> {
    for (const login of request.logins) {
      const credentials = await readCredentials(deps.secrets, login.secretArn);
      const outcome = await syncLoginRole(client, { username: credentials.username, password: credentials.password, group: login.memberOf }, {
        passwordWorks: () => passwordWorks(credentials, master, request.databaseName, logger),
      });
      logger.info(`login role ${outcome}`, { username: credentials.username, memberOf: login.memberOf });
    }
    if (request.iamLogins.length === 0) return;
    const { rows } = await client.query<{ present: boolean }>('SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1) AS present', [RDS_IAM_ROLE]);
    if (!rows[0]?.present) logger.warn(`this server has no ${RDS_IAM_ROLE} role (only RDS has it): IAM logins get no password and cannot log in here`);
    for (const login of request.iamLogins) {
      const outcome = await syncLoginRole(client, { username: login.username, group: login.memberOf });
      logger.info(`login role ${outcome}`, { username: login.username, memberOf: login.memberOf, authentication: 'iam' });
    }
  }

  /**
   * Whether the secret's password already opens a session as its login, on the writer the master secret names.
   * Only a refusal of the password says no; any other failure says no too, and the password is set as before.
   */
  async function passwordWorks(login: DatabaseCredentials, master: DatabaseCredentials, database: string, logger: Logger): Promise<boolean> {
    try {
      const session = await deps.connect({ ...login, host: master.host, port: master.port }, database);
      await session.close().catch(() => undefined);
      return true;
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code !== INVALID_PASSWORD && code !== INVALID_AUTHORIZATION) {
        logger.warn('could not check the login\'s password; setting it', { username: login.username, code: code ?? 'unknown' });
      }
      return false;
    }
  }

  async function run(request: MigrationRequest, client: SqlClient, master: DatabaseCredentials, deadline: number, logger: Logger): Promise<MigrationResponse> {
    const started = now();
    const options = { migrations: deps.migrations, seeds: deps.seeds, allowSeeds: request.allowSeeds };

    // One history read answers what a deploy asks first. Is it a rollback? It re-runs the previous template's
    // (older) files against a database that is already newer: that is expected, and nothing may be applied. Is there
    // nothing to do? Then the run ends here, as the runner's own no-op does: one statement, no lock.
    const inspection = await inspect(client, options);
    const newest = Math.max(0, ...inspection.migrations.filter((m) => m.state !== 'unknown').map((m) => m.version));
    const newer = inspection.migrations.filter((m) => m.state === 'unknown' && m.version > newest).map((m) => m.version);
    if (request.requestType === 'Update' && newer.length > 0) {
      logger.warn('the database is newer than these files (a rollback): nothing applied', { newerVersions: listVersions(newer) });
      // The logins do not depend on the schema's version: the rolled-back template's secrets still apply.
      await syncLogins(request, client, master, logger);
      return {
        PhysicalResourceId: request.physicalResourceId,
        Data: { CurrentVersion: String(inspection.currentVersion ?? ''), Applied: '', Rollback: 'true' },
      };
    }

    let result: Pick<MigrateResult, 'applied' | 'currentVersion'> = { applied: [], currentVersion: inspection.currentVersion };
    if (inspection.error || inspection.steps.length > 0) {
      // The runner plans again, under its lock, and reports any error itself.
      result = await migrate(client, { ...options, deadline, logger: { info: logger.info, warn: logger.warn, error: logger.error } });
    } else {
      for (const warning of inspection.warnings) logger.warn(warning);
    }

    // After an engine upgrade the server offers a newer pgvector than the database runs.
    const vectorUpdatedTo = await updateVectorExtension(client, logger);

    // Logins join their groups, which the migrations create.
    await syncLogins(request, client, master, logger);

    const applied = result.applied.filter((step) => step.kind === 'migration').map((step) => step.version);
    const seeded = result.applied.filter((step) => step.kind === 'seed').map((step) => step.version);
    logger.info('migrations complete', { currentVersion: result.currentVersion, applied: listVersions(applied), seeds: listVersions(seeded), durationMs: now() - started });
    return {
      PhysicalResourceId: request.physicalResourceId,
      Data: {
        CurrentVersion: String(result.currentVersion ?? ''),
        Applied: listVersions(applied),
        SeedsApplied: listVersions(seeded),
        ...(vectorUpdatedTo ? { VectorUpdatedTo: vectorUpdatedTo } : {}),
        Rollback: 'false',
      },
    };
  }
}
