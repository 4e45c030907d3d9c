/**
 * The stateful half of one environment's data tier: network, encryption key, the Aurora cluster with its
 * secrets and their rotation, and RDS Proxy with every security group in front of the database. It is deployed
 * first, on its own, and rarely changes. The stack after it ({@link DataTierStack}: migrations, Cognito and its
 * triggers) reads what it needs from the SSM parameters published here, resolved at deploy time.
 *
 * The proxy is here, not in the next stack, so that every path into the database is in one template (the audit
 * reads each template on its own), and because nothing of it fails for reasons of its own on a first create: with
 * IAM authentication it holds no credentials, and it accepts connections once the migrations made its login.
 *
 * Why two stacks: the cluster is deletion-protected from its first create (Control Tower's CT.RDS.PR.3). In one
 * stack with the migrations and the Cognito domain, any failure of those on the first deploy rolled back into a
 * cluster that could not be deleted (ROLLBACK_FAILED). Here, this stack's first create contains nothing that
 * fails for reasons of its own after the cluster exists, and a failed first deploy of the other stack rolls back
 * cleanly and is retried.
 *
 * Why SSM parameters and not exports: a value passed between stacks by `Fn::ImportValue` becomes an export that
 * blocks every later update which would change it.
 */
import { Aws, Duration, RemovalPolicy, Stack, type StackProps, Tags } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as rds from 'aws-cdk-lib/aws-rds';
import type { Construct } from 'constructs';
import type { EnvironmentConfig } from '../config';
import { AlarmTopic } from '../constructs/alarm-topic';
import { ApplicationParameters } from '../constructs/application-parameters';
import { ApplicationProxy, PROXY_PORT, ProxySecurityGroups } from '../constructs/application-proxy';
import { AuroraDatabase, type IamLoginRole, type LoginRole } from '../constructs/aurora-database';
import { DatabaseBackupPlan } from '../constructs/database-backup-plan';
import { DataEncryptionKey } from '../constructs/data-encryption-key';
import { Network } from '../constructs/network';
import { StageAlarms } from '../constructs/stage-alarms';

/** The application's login: IAM authentication only, through RDS Proxy. Both stacks name it. */
export const APP_LOGIN = { username: 'app_login', memberOf: 'app_user' } as const;

/** CI's login: reads the migration history (`db status`, `db drift`) over the Data API, and nothing else. */
export const CI_LOGIN = { username: 'ci_login', memberOf: 'migration_reader' } as const;

/**
 * The roles CI works with, which may read the CI login's secret and no other of the database: the promotion's
 * roles (`<app>-<env>-ci-*`, docs/operations.md) and the CDK bootstrap roles they assume, but for the
 * CloudFormation execution role, which resolves the master password into the cluster.
 */
export function ciPrincipalArnPatterns(namePrefix: string): string[] {
  const role = (name: string) => `arn:${Aws.PARTITION}:iam::${Aws.ACCOUNT_ID}:role/${name}`;
  return [
    role(`${namePrefix}-ci-*`),
    ...['deploy-role', 'file-publishing-role', 'image-publishing-role', 'lookup-role'].map((name) => role(`cdk-*-${name}-*`)),
  ];
}

/**
 * The SSM parameters (below `/<app>/<env>/`) through which the stack after this one reads it. The names are the
 * contract between the two stacks; {@link subnetParameter} names one per subnet.
 */
export const STORE_PARAMETERS = {
  vpcId: 'network/vpc-id',
  adminClientSecurityGroupId: 'network/admin-client-security-group-id',
  applicationClientSecurityGroupId: 'network/application-client-security-group-id',
  dataKeyArn: 'key/data-key-arn',
  clusterResourceId: 'database/cluster-resource-id',
  masterSecretArn: 'database/master-secret-arn',
  cognitoSyncSecretArn: 'database/cognito-sync-secret-arn',
  ciSecretArn: 'database/ci-secret-arn',
  alarmTopicArn: 'alarms/topic-arn',
} as const;

/** The parameter of the `index`-th (1-based) subnet of a subnet group (`database`, `functions`). */
export function subnetParameter(group: string, index: number): string {
  return `network/${group}-subnet-${index}`;
}

/** What a stack's removal policies are, from the configuration. */
export function removalPolicies(config: EnvironmentConfig) {
  const dev = config.database.removalPolicy === 'destroy';
  return {
    // Kept outside dev, but not by a failed first create: RETAIN_ON_UPDATE_OR_DELETE (DeletionPolicy
    // RetainExceptOnCreate) lets that rollback delete what it made, so the retry finds the names free.
    retainUnlessDev: dev ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
    cluster: { destroy: RemovalPolicy.DESTROY, snapshot: RemovalPolicy.SNAPSHOT, retain: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE }[config.database.removalPolicy],
  };
}

/** Reserved concurrency of the stage's functions, or undefined for none. */
export function reservedConcurrency(config: EnvironmentConfig) {
  return config.functions.reservedConcurrency === 'none' ? undefined : config.functions.reservedConcurrency;
}

/** Properties of a {@link DataStoreStack}. */
export interface DataStoreStackProps extends StackProps {
  /** The environment's validated configuration. */
  readonly config: EnvironmentConfig;
}

/** Network, key, database, secrets and the security groups in front of the database, of one environment. */
export class DataStoreStack extends Stack {
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
  /** The RDS Proxy's security group and the application client group, and their rules. */
  readonly proxySecurityGroups: ProxySecurityGroups;
  /** RDS Proxy, end-to-end IAM authentication as the application's login. */
  readonly proxy: ApplicationProxy;
  /** The Cognito triggers' login: `cognito_sync_login`, member of `cognito_sync`; used over the Data API. */
  readonly cognitoSyncLogin: LoginRole;
  /** The application's login: `app_login`, member of `app_user`, IAM authentication only. */
  readonly appLogin: IamLoginRole;
  /** CI's login: `ci_login`, member of `migration_reader` (the migration history, nothing else); over the Data API. */
  readonly ciLogin: LoginRole;
  /** SSM parameters and outputs under `/<app>/<env>/`. */
  readonly parameters: ApplicationParameters;
  /** The cluster's AWS Backup plan with copies to other regions or accounts, where configured (prod). */
  readonly backupPlan?: DatabaseBackupPlan;
  /** The stage's encrypted alarm topic and its subscriptions; the next stack's alarms are sent to it too. */
  readonly alarmTopic: AlarmTopic;
  /** This stack's alarms: its dead-letter queue, the cluster, the proxy, rotations, the data key. */
  readonly alarms: StageAlarms;

  constructor(scope: Construct, id: string, props: DataStoreStackProps) {
    super(scope, id, props);
    const { config } = props;
    this.config = config;
    this.namePrefix = `${config.appName}-${config.name}`;
    const policies = removalPolicies(config);

    this.encryptionKey = new DataEncryptionKey(this, 'DataKey', {
      aliasName: `${config.appName}/${config.name}/data`,
      removalPolicy: policies.retainUnlessDev,
    }).key;

    this.network = new Network(this, 'Network', {
      cidr: config.network.cidr,
      availabilityZones: config.network.availabilityZones,
      encryptionKey: this.encryptionKey,
      flowLogRetention: config.network.flowLogRetentionDays,
      functionLogRetention: config.database.logRetentionDays,
      removalPolicy: policies.retainUnlessDev,
      customResourceConcurrency: reservedConcurrency(config)?.customResources,
    });
    // The endpoints the next stack's functions call: the migrations (Secrets Manager, and Lambda and S3 for the
    // Provider framework) and the Cognito triggers (the Data API).
    this.network.addInterfaceEndpoint('SecretsManager', ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER);
    this.network.addInterfaceEndpoint('Lambda', ec2.InterfaceVpcEndpointAwsService.LAMBDA);
    this.network.addInterfaceEndpoint('RdsData', ec2.InterfaceVpcEndpointAwsService.RDS_DATA);

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
      databaseInsightsMode: config.database.databaseInsights === 'advanced' ? rds.DatabaseInsightsMode.ADVANCED : rds.DatabaseInsightsMode.STANDARD,
      rotationInterval: Duration.days(config.database.secretRotationDays),
      removalPolicy: policies.cluster,
      secretsAndLogsRemovalPolicy: policies.retainUnlessDev,
    });
    this.cognitoSyncLogin = this.database.addLogin('CognitoSyncLogin', { username: 'cognito_sync_login', memberOf: 'cognito_sync' });
    this.appLogin = this.database.addIamLogin(APP_LOGIN);
    this.ciLogin = this.database.addLogin('CiLogin', CI_LOGIN);
    this.database.denySecretValues(ciPrincipalArnPatterns(this.namePrefix), [this.ciLogin]);
    this.proxySecurityGroups = new ProxySecurityGroups(this, 'Proxy', { vpc: this.network.vpc, database: this.database });
    this.proxy = new ApplicationProxy(this, 'ApplicationProxy', {
      proxyName: this.namePrefix,
      database: this.database,
      login: this.appLogin,
      vpc: this.network.vpc,
      subnets: this.network.databaseSubnets,
      securityGroup: this.proxySecurityGroups.securityGroup,
    });

    if (config.database.backupCopies?.length) {
      this.backupPlan = new DatabaseBackupPlan(this, 'BackupPlan', {
        namePrefix: this.namePrefix,
        cluster: this.database.cluster,
        encryptionKey: this.encryptionKey,
        retentionDays: config.database.backupRetentionDays,
        copies: config.database.backupCopies,
        removalPolicy: policies.retainUnlessDev,
      });
    }

    this.alarmTopic = new AlarmTopic(this, 'AlarmTopic', {
      topicName: `${this.namePrefix}-alarms`,
      keyAlias: `${config.appName}/${config.name}/alarms`,
      subscriptions: config.alarms.subscriptions,
      removalPolicy: policies.retainUnlessDev,
    });
    this.alarms = this.createAlarms();

    this.parameters = new ApplicationParameters(this, 'Parameters', { pathPrefix: `/${config.appName}/${config.name}` });
    this.publishParameters();

    for (const [key, value] of Object.entries(config.tags)) {
      Tags.of(this).add(key, value);
    }
  }

  private createAlarms(): StageAlarms {
    const alarms = new StageAlarms(this, 'Alarms', {
      namePrefix: this.namePrefix,
      topic: this.alarmTopic.topic,
      thresholds: this.config.alarms.thresholds,
    });
    alarms.watchDeadLetterQueue('data-store', this.network.functions.deadLetterQueue);
    alarms.watchCluster(this.database.cluster.clusterIdentifier, this.config.database.readers);
    alarms.watchProxy(this.proxy.proxy.dbProxyName);
    alarms.reportRotationFailures();
    alarms.reportKeyDeletion(this.encryptionKey);
    alarms.subscribeClusterEvents(this.database.cluster.clusterIdentifier);
    return alarms;
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
    p.publish(STORE_PARAMETERS.clusterResourceId, cluster.clusterResourceIdentifier, 'Resource id of the Aurora cluster (rds-db:connect names it)');
    p.publish(STORE_PARAMETERS.masterSecretArn, this.database.masterSecret.secretArn, 'Secret of the master user (migrations only)');
    p.publish(STORE_PARAMETERS.cognitoSyncSecretArn, this.cognitoSyncLogin.secret.secretArn, 'Secret of the Cognito sync login (cognito_sync_login)');
    p.publish(STORE_PARAMETERS.ciSecretArn, this.ciLogin.secret.secretArn, 'Secret of CI\'s login (ci_login): reads the migration history only');
    p.publish(STORE_PARAMETERS.alarmTopicArn, this.alarmTopic.topic.topicArn, 'The stage\'s alarm topic (encrypted; subscriptions from the configuration)');
    p.publish(STORE_PARAMETERS.dataKeyArn, this.encryptionKey.keyArn, 'The data key: storage, secrets, logs and queues of the data tier');
    p.publish(STORE_PARAMETERS.vpcId, this.network.vpc.vpcId, 'VPC of the data tier');
    for (const [group, selection] of [['database', this.network.databaseSubnets], ['functions', this.network.functionSubnets]] as const) {
      this.network.vpc.selectSubnets(selection).subnetIds.forEach((subnetId, i) =>
        p.publish(subnetParameter(group, i + 1), subnetId, `Subnet ${i + 1} of the ${group} subnets`));
    }
    p.publish(STORE_PARAMETERS.adminClientSecurityGroupId, this.database.adminClientSecurityGroup.securityGroupId,
      'Security group of the writer clients (migrations, rotation): PostgreSQL to the cluster');
    p.publish(STORE_PARAMETERS.applicationClientSecurityGroupId, this.proxySecurityGroups.applicationClientSecurityGroup.securityGroupId,
      'Security group application compute joins to reach the RDS Proxy');
  }
}
