/**
 * One environment's data tier in one stack: network, encryption key, Aurora
 * with its login secrets and proxy, the migration custom resource, the Cognito
 * user pool and its triggers, and the SSM parameters applications read.
 *
 * One stack, not several: a value passed between stacks becomes an export that
 * blocks the next update which changes it, and the network, database and user
 * pool are deployed and rolled back together anyway.
 */
import { Duration, RemovalPolicy, Stack, type StackProps, Tags } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as rds from 'aws-cdk-lib/aws-rds';
import type { Construct } from 'constructs';
import type { EnvironmentConfig } from '../config';
import { ApplicationParameters } from '../constructs/application-parameters';
import { ApplicationProxy, PROXY_PORT } from '../constructs/application-proxy';
import { AuroraDatabase, type IamLoginRole, type LoginRole } from '../constructs/aurora-database';
import { CognitoTriggers } from '../constructs/cognito-triggers';
import { DatabaseMigrations } from '../constructs/database-migrations';
import { DataEncryptionKey } from '../constructs/data-encryption-key';
import { Network } from '../constructs/network';
import { PlatformUserPool } from '../constructs/user-pool';

/** Properties of a {@link DataTierStack}. */
export interface DataTierStackProps extends StackProps {
  /** The environment's validated configuration. */
  readonly config: EnvironmentConfig;
}

/** Network, database, secrets, proxy, user pool and parameters of one environment. */
export class DataTierStack extends Stack {
  /** The validated configuration this stack was built from. */
  readonly config: EnvironmentConfig;
  /** `<app>-<env>`: prefix of resource names. */
  readonly namePrefix: string;
  /** The customer-managed key of the data tier. */
  readonly encryptionKey: kms.Key;
  /** VPC, endpoints, flow logs, shared function settings. */
  readonly network: Network;
  /** The Aurora cluster, its secrets and security groups. */
  readonly database: AuroraDatabase;
  /** RDS Proxy and the application client security group. */
  readonly proxy: ApplicationProxy;
  /** The Cognito user pool and web client. */
  readonly userPool: PlatformUserPool;
  /** SSM parameters and outputs under `/<app>/<env>/`. */
  readonly parameters: ApplicationParameters;
  /** The application's login: `app_login`, member of `app_user`, IAM authentication only; used by RDS Proxy. */
  readonly appLogin: IamLoginRole;
  /** The Cognito triggers' login: `cognito_sync_login`, member of `cognito_sync`; used over the Data API. */
  readonly cognitoSyncLogin: LoginRole;
  /** The custom resource that migrates the database on deploy. */
  readonly migrations: DatabaseMigrations;
  /** The Cognito triggers that mirror users and add organization claims. */
  readonly cognitoTriggers: CognitoTriggers;

  constructor(scope: Construct, id: string, props: DataTierStackProps) {
    super(scope, id, props);
    const { config } = props;
    this.config = config;
    this.namePrefix = `${config.appName}-${config.name}`;
    // Keys, secrets, logs, queues and the user pool outlive the stack outside dev, but not a failed first create:
    // RETAIN_ON_UPDATE_OR_DELETE (DeletionPolicy RetainExceptOnCreate) lets that rollback delete what it made,
    // so the retry does not fail on names ("already exists") that a plain Retain would have kept.
    const retainUnlessDev = config.database.removalPolicy === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE;
    const reserved = config.functions.reservedConcurrency === 'none' ? undefined : config.functions.reservedConcurrency;

    this.encryptionKey = new DataEncryptionKey(this, 'DataKey', {
      aliasName: `${config.appName}/${config.name}/data`,
      removalPolicy: retainUnlessDev,
    }).key;

    this.network = new Network(this, 'Network', {
      cidr: config.network.cidr,
      availabilityZones: config.network.availabilityZones,
      encryptionKey: this.encryptionKey,
      flowLogRetention: config.network.flowLogRetentionDays,
      functionLogRetention: config.database.logRetentionDays,
      removalPolicy: retainUnlessDev,
      customResourceConcurrency: reserved?.customResources,
    });

    this.database = new AuroraDatabase(this, 'Database', {
      namePrefix: this.namePrefix,
      secretNamePrefix: `${config.appName}/${config.name}`,
      vpc: this.network.vpc,
      subnets: this.network.databaseSubnets,
      rotationSubnets: this.network.functionSubnets,
      encryptionKey: this.encryptionKey,
      databaseName: config.database.databaseName,
      port: config.database.port,
      minCapacity: config.database.minCapacity,
      maxCapacity: config.database.maxCapacity,
      readers: config.database.readers,
      backupRetention: Duration.days(config.database.backupRetentionDays),
      backupWindow: config.database.backupWindow,
      maintenanceWindow: config.database.maintenanceWindow,
      logRetention: config.database.logRetentionDays,
      slowStatementMillis: config.database.slowStatementMillis,
      monitoringInterval: Duration.seconds(config.database.monitoringIntervalSeconds),
      performanceInsightRetention: config.database.performanceInsightsRetentionDays as rds.PerformanceInsightRetention,
      rotationInterval: Duration.days(config.database.secretRotationDays),
      removalPolicy: {
        destroy: RemovalPolicy.DESTROY,
        snapshot: RemovalPolicy.SNAPSHOT,
        retain: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
      }[config.database.removalPolicy],
      secretsAndLogsRemovalPolicy: retainUnlessDev,
    });
    this.appLogin = this.database.addIamLogin({ username: 'app_login', memberOf: 'app_user' });
    this.cognitoSyncLogin = this.database.addLogin('CognitoSyncLogin', { username: 'cognito_sync_login', memberOf: 'cognito_sync' });

    this.migrations = new DatabaseMigrations(this, 'Migrations', {
      database: this.database,
      functions: this.network.functions,
      writerClientSecurityGroup: this.database.adminClientSecurityGroup,
      networkDependencies: [
        this.network.addInterfaceEndpoint('SecretsManager', ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER),
        // The Provider framework's function invokes the handler, and posts the answer to S3.
        this.network.addInterfaceEndpoint('Lambda', ec2.InterfaceVpcEndpointAwsService.LAMBDA),
        this.network.s3Endpoint,
      ],
      logins: this.database.logins,
      iamLogins: this.database.iamLogins,
      allowSeeds: config.database.seedsEnabled,
      // CI passes `-c deployId=<run id>` to re-run on every deploy; a plain synth stays repeatable.
      deployId: this.node.tryGetContext('deployId') as string | undefined,
    });
    // A login's first rotation needs its role, which the migrations create.
    for (const login of this.database.logins) {
      login.rotation.node.addDependency(this.migrations.resource);
    }

    this.proxy = new ApplicationProxy(this, 'Proxy', {
      proxyName: this.namePrefix,
      database: this.database,
      login: this.appLogin,
      vpc: this.network.vpc,
      subnets: this.network.databaseSubnets,
    });

    this.userPool = new PlatformUserPool(this, 'Auth', {
      userPoolName: this.namePrefix,
      selfSignUp: config.auth.selfSignUp,
      mfa: config.auth.mfa,
      threatProtection: config.auth.threatProtection,
      passwordMinLength: config.auth.passwordMinLength,
      accessTokenValidity: Duration.minutes(config.auth.accessTokenMinutes),
      idTokenValidity: Duration.minutes(config.auth.idTokenMinutes),
      refreshTokenValidity: Duration.days(config.auth.refreshTokenDays),
      callbackUrls: config.auth.callbackUrls,
      logoutUrls: config.auth.logoutUrls,
      // Global per region: unless configured, unique to the account (`<app>-<env>-<account id>`).
      domainPrefix: config.auth.domainPrefix ?? `${this.namePrefix}-${this.account}`,
      deletionProtection: config.auth.deletionProtection,
      // Plain Retain: a deletion-protected pool cannot be deleted by a failed first create's rollback, which would
      // end in ROLLBACK_FAILED; retained, it is left aside (pool names need not be unique) and the retry proceeds.
      removalPolicy: config.database.removalPolicy === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
    });

    this.cognitoTriggers = new CognitoTriggers(this, 'CognitoTriggers', {
      userPool: this.userPool.userPool,
      database: this.database,
      login: this.cognitoSyncLogin,
      functions: this.network.functions,
      reservedConcurrentExecutions: reserved?.cognitoTriggers,
      dataApiEndpoint: this.network.addInterfaceEndpoint('RdsData', ec2.InterfaceVpcEndpointAwsService.RDS_DATA),
    });

    this.parameters = new ApplicationParameters(this, 'Parameters', {
      pathPrefix: `/${config.appName}/${config.name}`,
    });
    this.publishParameters();

    for (const [key, value] of Object.entries(config.tags)) {
      Tags.of(this).add(key, value);
    }
  }

  private publishParameters(): void {
    const { cluster } = this.database;
    const p = this.parameters;
    p.publish('database/cluster-endpoint', cluster.clusterEndpoint.hostname, 'Writer endpoint of the Aurora cluster');
    p.publish('database/reader-endpoint', cluster.clusterReadEndpoint.hostname, 'Reader endpoint of the Aurora cluster');
    p.publish('database/port', String(this.database.port), 'Port of the Aurora cluster endpoints');
    p.publish('database/name', this.database.databaseName, 'Name of the application database');
    p.publish('database/cluster-arn', cluster.clusterArn, 'ARN of the Aurora cluster (RDS Data API resource)');
    p.publish('database/proxy-endpoint', this.proxy.proxy.endpoint, 'RDS Proxy endpoint for application traffic (TLS and IAM auth required)');
    p.publish('database/proxy-port', String(PROXY_PORT), 'Port of the RDS Proxy endpoint');
    p.publish('database/proxy-arn', this.proxy.proxy.dbProxyArn, 'ARN of the RDS Proxy (IAM policies granting rds-db:connect name its id)');
    p.publish('database/proxy-username', this.proxy.username, 'Database user applications connect as through the proxy, with an IAM token (rds-db:connect)');
    p.publish('database/master-secret-arn', this.database.masterSecret.secretArn, 'Secret of the master user (migrations only)');
    p.publish('database/cognito-sync-secret-arn', this.cognitoSyncLogin.secret.secretArn, 'Secret of the Cognito sync login (cognito_sync_login)');
    p.publish('network/vpc-id', this.network.vpc.vpcId, 'VPC of the data tier');
    p.publish('network/application-client-security-group-id', this.proxy.applicationClientSecurityGroup.securityGroupId, 'Security group application compute joins to reach the RDS Proxy');
    p.publish('auth/user-pool-id', this.userPool.userPool.userPoolId, 'Cognito user pool id');
    p.publish('auth/user-pool-arn', this.userPool.userPool.userPoolArn, 'Cognito user pool ARN');
    p.publish('auth/web-client-id', this.userPool.webClient.userPoolClientId, 'Public web client id (authorization code + PKCE)');
    p.publish('auth/domain', this.userPool.domain.baseUrl(), 'Base URL of the authorization endpoints');
    p.publish('auth/issuer', this.userPool.userPool.userPoolProviderUrl, 'Token issuer URL (OIDC discovery lives below it)');
  }
}
