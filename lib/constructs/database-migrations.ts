/**
 * Migrations on every deploy: a custom resource that runs the migration runner against the writer, through the
 * CDK Provider framework (design decision 8).
 *
 * - The function is bundled by local esbuild with the SQL files inside; it connects with `pg` over verified TLS
 *   straight to the writer (not the proxy: session advisory locks), reading the master secret at invoke time.
 * - The resource's properties (the contract in lambda/migrate-handler/resource-properties.ts) hold a hash of
 *   what the function runs (every file its bundle is made of, and the SQL files shipped with it), plus
 *   `deployId` when the CLI passes `-c deployId=…`: it re-runs when any of those changes, and a synth without
 *   `deployId` is repeatable.
 * - `serviceTimeout` sits a little above the function timeout, so a stuck deploy fails in minutes, not an hour.
 * - Beside its database in one stack, it depends on the writer instance (and the cluster under it) and on the
 *   endpoints the handler calls, not on the readers or the master secret's rotation. In the data tier stack, the
 *   database, its endpoints and secrets are the stateful stack's, deployed before it.
 */
import { CustomResource, Duration } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct, type IDependable } from 'constructs';
import { join } from 'node:path';
import type { LoginGroup, MigrationResourceProperties } from '../../lambda/migrate-handler/resource-properties';
import type { IAuroraDatabase } from './aurora-database';
import { bundledFiles, contentHash } from './content-hash';
import type { IIsolatedFunctions } from './isolated-functions';

/** The project root: migrations, seeds and the runner live here. */
const PROJECT_ROOT = join(__dirname, '..', '..');
const ENTRY = join(PROJECT_ROOT, 'lambda', 'migrate-handler', 'index.ts');
/** The runtime provides AWS SDK v3; pg-native is an optional binding pg never needs here. */
const EXTERNAL_MODULES = ['@aws-sdk/*', 'pg-native'];

/** A login role the function creates or updates from its secret (a `LoginRole` of the database is one). */
export interface MigrationLogin {
  /** The login's secret: `username` and `password`. */
  readonly secret: secretsmanager.ISecret;
  /** The NOLOGIN group role the login joins (created by the migrations). */
  readonly memberOf: LoginGroup;
}

/** A login role that authenticates with IAM (an `IamLoginRole` of the database is one). */
export interface MigrationIamLogin {
  /** The login role's name. */
  readonly username: string;
  /** The NOLOGIN group role the login joins (created by the migrations). */
  readonly memberOf: LoginGroup;
}

/** Properties of {@link DatabaseMigrations}. */
export interface DatabaseMigrationsProps {
  /** The database to migrate: the resource waits for its writer, and reads its master secret. */
  readonly database: IAuroraDatabase;
  /** Shared settings of functions in the isolated subnets (role, log group, DLQ…). */
  readonly functions: IIsolatedFunctions;
  /** The security group that may reach the writer on the PostgreSQL port. */
  readonly writerClientSecurityGroup: ec2.ISecurityGroup;
  /** What the function and the Provider framework must wait for: the VPC endpoints they call. */
  readonly networkDependencies: IDependable[];
  /**
   * Login roles to create or update from their secrets, after the migrations created their groups.
   * @default - none
   */
  readonly logins?: readonly MigrationLogin[];
  /**
   * Login roles that authenticate with IAM (no password): created, or brought in line, and granted `rds_iam`.
   * @default - none
   */
  readonly iamLogins?: readonly MigrationIamLogin[];
  /**
   * Whether this environment receives seeds. When false, the seeds are not even shipped in the bundle.
   * @default false
   */
  readonly allowSeeds?: boolean;
  /**
   * An id of this deploy (CI passes `-c deployId=<run id>`): the resource re-runs on every deploy that has one.
   * @default - re-run only when the function's bundle changes
   */
  readonly deployId?: string;
  /**
   * The function timeout, 1 to 15 minutes; the runner's deadline stays below it, and the CloudFormation service
   * timeout a little above it.
   * @default Duration.minutes(10)
   */
  readonly timeout?: Duration;
  /**
   * Directory of the migrations.
   * @default - the project's `migrations/`
   */
  readonly migrationsDirectory?: string;
  /**
   * Directory of the seeds (shipped only when `allowSeeds`).
   * @default - the project's `seeds/`
   */
  readonly seedsDirectory?: string;
}

/** The migration custom resource, its function and its provider. */
export class DatabaseMigrations extends Construct {
  /** The function that runs the migrations. */
  readonly function: nodejs.NodejsFunction;
  /** The custom resource; its `Hash` property changes with what the function runs. */
  readonly resource: CustomResource;
  /** The hash of what the function runs: every file of its bundle, and the SQL files shipped with it. */
  readonly hash: string;

  constructor(scope: Construct, id: string, props: DatabaseMigrationsProps) {
    super(scope, id);
    const timeout = props.timeout ?? Duration.minutes(10);
    if (timeout.toSeconds() < 60 || timeout.toSeconds() > 900) {
      throw new Error(`DatabaseMigrations ${this.node.path}: timeout must be between 1 and 15 minutes, got ${timeout.toHumanString()}`);
    }
    if (props.deployId !== undefined && !/^[A-Za-z0-9._-]{1,128}$/.test(props.deployId)) {
      throw new Error(`DatabaseMigrations ${this.node.path}: deployId must be 1-128 characters of A-Z a-z 0-9 . _ -, got "${props.deployId}"`);
    }
    const allowSeeds = props.allowSeeds ?? false;
    const { database } = props;
    const migrationsDirectory = props.migrationsDirectory ?? join(PROJECT_ROOT, 'migrations');
    // Seeds are shipped (and hashed) only where they run.
    const seedsDirectory = allowSeeds ? (props.seedsDirectory ?? join(PROJECT_ROOT, 'seeds')) : undefined;
    const sqlDirectories = seedsDirectory ? [migrationsDirectory, seedsDirectory] : [migrationsDirectory];

    this.function = this.createFunction(props, timeout, migrationsDirectory, seedsDirectory);
    database.masterSecret.grantRead(this.function);
    for (const login of props.logins ?? []) login.secret.grantRead(this.function);
    this.hash = contentHash(PROJECT_ROOT, [...bundledFiles(PROJECT_ROOT, ENTRY, EXTERNAL_MODULES), ...sqlDirectories]);

    const provider = props.functions.createProvider(this, 'Provider', { onEventHandler: this.function, purpose: 'applies database migrations on deploy' });
    const properties: MigrationResourceProperties = {
      Hash: this.hash,
      ...(props.deployId ? { DeployId: props.deployId } : {}),
      DatabaseName: database.databaseName,
      MasterSecretArn: database.masterSecret.secretArn,
      AllowSeeds: allowSeeds ? 'true' : 'false',
      Logins: (props.logins ?? []).map((login) => ({ SecretArn: login.secret.secretArn, MemberOf: login.memberOf })),
      ...(props.iamLogins?.length ? { IamLogins: props.iamLogins.map((login) => ({ Username: login.username, MemberOf: login.memberOf })) } : {}),
    };
    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: provider.serviceToken,
      resourceType: 'Custom::DatabaseMigrations',
      // A little above the function timeout: the handler always answers first, and a lost answer fails fast.
      serviceTimeout: timeout.plus(Duration.minutes(2)),
      properties: { ...properties },
    });
    // The writer and what the handler calls: not the whole cluster construct, whose readers and master rotation
    // (a nested stack) the migrations never touch, and which would then hold up or fail the deploy for nothing.
    // (A database of another stack has no writer here: that stack deploys first.)
    this.resource.node.addDependency(...(database.writer ? [database.writer] : []), ...props.networkDependencies);
  }

  /** The function, bundled with `migrations/` (and `seeds/`, when given) beside it. */
  private createFunction(props: DatabaseMigrationsProps, timeout: Duration, migrationsDirectory: string, seedsDirectory?: string): nodejs.NodejsFunction {
    const resources = props.functions.createFunctionResources(this, 'Handler', {
      purpose: 'applies database migrations on deploy',
      reservedConcurrentExecutions: props.functions.customResourceConcurrency,
    });
    const fn = new nodejs.NodejsFunction(this, 'Function', {
      description: 'Applies the database migrations (and seeds where allowed) on deploy',
      entry: ENTRY,
      handler: 'handler',
      runtime: lambda.Runtime.NODEJS_24_X,
      memorySize: 512,
      timeout,
      ...resources.settings,
      // Its own group (HTTPS to the endpoints) and the writer clients' (PostgreSQL to the writer).
      securityGroups: [resources.securityGroup, props.writerClientSecurityGroup],
      environment: {
        // The runtime's CA bundle includes the RDS certificate authorities: TLS is verified, nothing downloaded.
        NODE_EXTRA_CA_CERTS: '/var/runtime/ca-cert.pem',
        NODE_OPTIONS: '--enable-source-maps',
      },
      depsLockFilePath: join(PROJECT_ROOT, 'package-lock.json'),
      projectRoot: PROJECT_ROOT,
      bundling: {
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        target: 'node24',
        externalModules: EXTERNAL_MODULES,
        forceDockerBundling: false,
        commandHooks: {
          beforeBundling: () => [],
          beforeInstall: () => [],
          afterBundling: (_inputDir: string, outputDir: string) => [
            `cp -R "${migrationsDirectory}" "${outputDir}/migrations"`,
            ...(seedsDirectory ? [`cp -R "${seedsDirectory}" "${outputDir}/seeds"`] : []),
          ],
        },
      },
    });
    props.functions.acknowledgeUnreservedConcurrency(fn);
    return fn;
  }
}
