/**
 * The contract between the migration custom resource (lib/constructs/database-migrations.ts) and this handler:
 * the resource's properties as CloudFormation delivers them (strings, lists, objects of strings), and the group
 * roles a login may join. The construct imports them as types only (lint allows nothing else from lambda/), so
 * the CDK app loads no function code; the handler validates every event against them (event.ts).
 */

/**
 * Group roles a login may join: the application, the Cognito mirror, and CI's reader of the migration history;
 * nothing with more power.
 */
export const LOGIN_GROUPS = ['app_user', 'cognito_sync', 'migration_reader'] as const;
export type LoginGroup = (typeof LOGIN_GROUPS)[number];

/** One login role the handler creates or updates from its secret. */
export interface MigrationLoginProperties {
  /** Its secret: `username` and `password`. */
  readonly SecretArn: string;
  /** The NOLOGIN group role it joins (created by the migrations). */
  readonly MemberOf: LoginGroup;
}

/** One login role that authenticates with IAM only (RDS Proxy end to end): no password, member of `rds_iam`. */
export interface MigrationIamLoginProperties {
  /** The login role's name: a lower-case SQL identifier. */
  readonly Username: string;
  /** The NOLOGIN group role it joins (created by the migrations). */
  readonly MemberOf: LoginGroup;
}

/** The properties of `Custom::DatabaseMigrations`. */
export interface MigrationResourceProperties {
  /** Changes with the function's code bundle (runner, handler, SQL files): CloudFormation then updates the resource. */
  readonly Hash: string;
  /** Set by CI (`-c deployId=…`) to run on every deploy. */
  readonly DeployId?: string;
  /** The database to migrate (a lower-case SQL identifier). */
  readonly DatabaseName: string;
  /** The master user's secret, read at invoke time. */
  readonly MasterSecretArn: string;
  /** Whether seeds run in this environment. */
  readonly AllowSeeds: 'true' | 'false';
  /** Login roles with a password in a secret, to sync after migrating. */
  readonly Logins: readonly MigrationLoginProperties[];
  /** Login roles that authenticate with IAM, to sync after migrating. */
  readonly IamLogins?: readonly MigrationIamLoginProperties[];
}
