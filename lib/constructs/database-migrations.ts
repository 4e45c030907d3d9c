/**
 * Migrations on every deploy: a custom resource that runs the migration runner against the writer, through the
 * CDK Provider framework (design decision 8).
 *
 * - The function is bundled by local esbuild with the SQL files inside; it connects with `pg` over verified TLS
 *   straight to the writer (not the proxy: session advisory locks), reading the master secret at invoke time.
 * - The resource's properties hold a content hash of migrations, seeds and runner, plus `deployId` when the CLI
 *   passes `-c deployId=…`: it re-runs when those change, and a synth without `deployId` is repeatable.
 * - `serviceTimeout` sits a little above the function timeout, so a stuck deploy fails in minutes, not an hour.
 * - It depends on the cluster and its instances, so it never runs before the writer exists; the login
 *   secrets' rotations depend on it, so a rotation never runs before its role exists.
 */
import { CustomResource, Duration } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import type * as rds from 'aws-cdk-lib/aws-rds';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { join } from 'node:path';
import { acknowledge, wildcardFinding } from '../compliance/acknowledge';
import { contentHash } from './content-hash';
import type { IsolatedFunctions } from './isolated-functions';

/** The project root: migrations, seeds and the runner live here. */
const PROJECT_ROOT = join(__dirname, '..', '..');

/** A login role the function creates or updates from its secret. */
export interface MigrationLogin {
  /** The login's secret: `username` and `password`. */
  readonly secret: secretsmanager.ISecret;
  /** The NOLOGIN group role the login joins (created by the migrations). */
  readonly memberOf: 'app_user' | 'cognito_sync';
}

/** Properties of {@link DatabaseMigrations}. */
export interface DatabaseMigrationsProps {
  /** The cluster to migrate; the resource waits for it and its instances. */
  readonly cluster: rds.DatabaseCluster;
  /** The master user's secret (read at invoke time, so rotation works). */
  readonly masterSecret: secretsmanager.ISecret;
  /** The database to migrate. */
  readonly databaseName: string;
  /** Shared settings of functions in the isolated subnets (role, log group, DLQ…). */
  readonly functions: IsolatedFunctions;
  /** The security group that may reach the writer on the PostgreSQL port. */
  readonly writerClientSecurityGroup: ec2.ISecurityGroup;
  /** What the function and the Provider framework must wait for: the VPC endpoints they call. */
  readonly networkDependencies: Construct[];
  /**
   * Login roles to create or update from their secrets, after the migrations created their groups.
   * @default - none
   */
  readonly logins?: MigrationLogin[];
  /**
   * Whether this environment receives seeds. When false, the seeds are not even shipped in the bundle.
   * @default false
   */
  readonly allowSeeds?: boolean;
  /**
   * An id of this deploy (CI passes `-c deployId=<run id>`): the resource re-runs on every deploy that has one.
   * @default - re-run only when migrations, seeds or runner change
   */
  readonly deployId?: string;
  /**
   * The function timeout; the runner's deadline stays below it, and the CloudFormation service timeout a
   * little above it.
   * @default Duration.minutes(10)
   */
  readonly timeout?: Duration;
  /**
   * Directories of migrations and seeds.
   * @default - the project's `migrations/` and `seeds/`
   */
  readonly migrationsDirectory?: string;
  readonly seedsDirectory?: string;
}

/** The migration custom resource, its function and its provider. */
export class DatabaseMigrations extends Construct {
  /** The function that runs the migrations. */
  readonly function: nodejs.NodejsFunction;
  /** The custom resource; its `Hash` property changes with migrations, seeds and runner. */
  readonly resource: CustomResource;
  /** The content hash of migrations, seeds (where allowed) and runner. */
  readonly hash: string;

  constructor(scope: Construct, id: string, props: DatabaseMigrationsProps) {
    super(scope, id);
    const timeout = props.timeout ?? Duration.minutes(10);
    if (timeout.toSeconds() < 60 || timeout.toSeconds() > 900) {
      throw new Error(`DatabaseMigrations timeout must be between 1 and 15 minutes, got ${timeout.toHumanString()}`);
    }
    if (props.deployId !== undefined && !/^[A-Za-z0-9._-]{1,128}$/.test(props.deployId)) {
      throw new Error(`DatabaseMigrations deployId must be 1-128 characters of A-Z a-z 0-9 . _ -, got "${props.deployId}"`);
    }
    const allowSeeds = props.allowSeeds ?? false;
    const migrationsDirectory = props.migrationsDirectory ?? join(PROJECT_ROOT, 'migrations');
    const seedsDirectory = props.seedsDirectory ?? join(PROJECT_ROOT, 'seeds');

    this.hash = contentHash(PROJECT_ROOT, [
      migrationsDirectory,
      ...(allowSeeds ? [seedsDirectory] : []),
      join(PROJECT_ROOT, 'lambda', 'migrator'),
      join(PROJECT_ROOT, 'lambda', 'migrate-handler'),
    ]);

    const prepared = props.functions.prepare(this, 'Handler', { purpose: 'applies database migrations on deploy' });

    this.function = new nodejs.NodejsFunction(this, 'Function', {
      description: 'Applies the database migrations (and seeds where allowed) on deploy',
      entry: join(PROJECT_ROOT, 'lambda', 'migrate-handler', 'index.ts'),
      handler: 'handler',
      runtime: lambda.Runtime.NODEJS_24_X,
      memorySize: 512,
      timeout,
      ...prepared.settings,
      // Its own group (HTTPS to the endpoints) and the writer clients' (PostgreSQL to the writer).
      securityGroups: [prepared.securityGroup, props.writerClientSecurityGroup],
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
        // The runtime provides AWS SDK v3; pg-native is an optional binding pg never needs here.
        externalModules: ['@aws-sdk/*', 'pg-native'],
        forceDockerBundling: false,
        commandHooks: {
          beforeBundling: () => [],
          beforeInstall: () => [],
          afterBundling: (_inputDir: string, outputDir: string) => [
            `cp -R "${migrationsDirectory}" "${outputDir}/migrations"`,
            ...(allowSeeds ? [`cp -R "${seedsDirectory}" "${outputDir}/seeds"`] : []),
          ],
        },
      },
    });
    props.masterSecret.grantRead(this.function);
    for (const login of props.logins ?? []) login.secret.grantRead(this.function);

    const providerResources = props.functions.prepare(this, 'Provider', {
      purpose: 'CloudFormation custom resource framework of the database migrations',
    });
    const provider = new cr.Provider(this, 'Provider', {
      onEventHandler: this.function,
      vpc: prepared.settings.vpc,
      vpcSubnets: prepared.settings.vpcSubnets,
      securityGroups: [providerResources.securityGroup],
      frameworkOnEventRole: providerResources.role,
      logGroup: providerResources.logGroup,
    });
    const frameworkFunction = provider.node.findChild('framework-onEvent').node.defaultChild as lambda.CfnFunction;
    frameworkFunction.reservedConcurrentExecutions = 1;
    frameworkFunction.deadLetterConfig = { targetArn: prepared.settings.deadLetterQueue.queueArn };
    providerResources.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [prepared.settings.deadLetterQueue.queueArn] }),
    );
    acknowledge(providerResources.role.permissionsPolicy!, wildcardFinding(this, `${this.function.functionArn}:*`),
      'The CDK Provider framework invokes the migration function by its ARN and by its qualified ARNs ' +
        '(versions and aliases of that one function), which IAM can only express with the ":*" suffix.');

    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: provider.serviceToken,
      resourceType: 'Custom::DatabaseMigrations',
      // A little above the function timeout: the handler always answers first, and a lost answer fails fast.
      serviceTimeout: timeout.plus(Duration.minutes(2)),
      properties: {
        Hash: this.hash,
        ...(props.deployId ? { DeployId: props.deployId } : {}),
        DatabaseName: props.databaseName,
        MasterSecretArn: props.masterSecret.secretArn,
        AllowSeeds: allowSeeds ? 'true' : 'false',
        Logins: (props.logins ?? []).map((login) => ({ SecretArn: login.secret.secretArn, MemberOf: login.memberOf })),
      },
    });
    this.resource.node.addDependency(props.cluster, ...props.networkDependencies);
  }
}
