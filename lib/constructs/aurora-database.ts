/**
 * Aurora PostgreSQL Serverless v2 with pgvector, its parameters, logs,
 * monitoring, and the secrets of the master user and of each login role.
 *
 * The login roles themselves (`app_login` in `app_user`, `cognito_sync_login`
 * in `cognito_sync`) are created by the migration custom resource from these
 * secrets: this construct provides the secrets, their rotation and the grants.
 */
import { ArnFormat, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { acknowledge, wildcardFinding } from '../compliance/acknowledge';
import { ManagedPolicyRole } from './managed-policy-role';

/**
 * The engine, pinned: Aurora PostgreSQL 17.5 ships pgvector 0.8.0 (iterative
 * index scans for filtered vector search). Minor upgrades stay on
 * (CT.RDS.PR.5), so AWS may move the cluster to a later 17.x in the
 * maintenance window; the template never moves it backwards.
 */
export const AURORA_ENGINE_VERSION = rds.AuroraPostgresEngineVersion.VER_17_5;

/** Characters left out of generated passwords: they break URLs, shells and the rotation functions. */
export const PASSWORD_EXCLUDE_CHARACTERS = " %+~`#$&*()|[]{}:;<>?!'/@\"\\";

/** A login role whose password lives in Secrets Manager. */
export interface LoginRole {
  /** The login role's name in PostgreSQL. */
  readonly username: string;
  /** The NOLOGIN group role it is a member of (created by the migrations). */
  readonly memberOf: string;
  /** Its secret: username, password, host, port, dbname, engine, masterarn. */
  readonly secret: rds.DatabaseSecret;
  /** Its rotation schedule (multi-user: the rotation alternates with `<username>_clone`). */
  readonly rotation: secretsmanager.RotationSchedule;
}

/** Properties of an {@link AuroraDatabase}. */
export interface AuroraDatabaseProps {
  /** Resource name prefix, `<app>-<env>`; also the cluster identifier. */
  readonly namePrefix: string;
  /** Prefix of secret names, `<app>/<env>`. */
  readonly secretNamePrefix: string;
  /** The VPC. */
  readonly vpc: ec2.IVpc;
  /** Subnets of the cluster. */
  readonly subnets: ec2.SubnetSelection;
  /** Subnets of the rotation functions (they reach Secrets Manager through its endpoint). */
  readonly rotationSubnets: ec2.SubnetSelection;
  /** The customer-managed key for storage, Performance Insights, secrets and logs. */
  readonly encryptionKey: kms.IKey;
  /** Name of the database created in the cluster. */
  readonly databaseName: string;
  /** Port of the cluster (not 5432: AwsSolutions-RDS11). */
  readonly port: number;
  /** Minimum capacity in ACU; 0 lets the cluster pause. */
  readonly minCapacity: number;
  /** Maximum capacity in ACU. */
  readonly maxCapacity: number;
  /** Serverless v2 readers beside the writer. */
  readonly readers: number;
  /** Days of automated backups. */
  readonly backupRetention: Duration;
  /** Daily backup window, UTC. */
  readonly backupWindow: string;
  /** Weekly maintenance window, UTC. */
  readonly maintenanceWindow: string;
  /** Retention of the exported PostgreSQL logs. */
  readonly logRetention: logs.RetentionDays;
  /** Statements slower than this are logged, in milliseconds; -1 turns it off. */
  readonly slowStatementMillis: number;
  /** Enhanced monitoring interval. */
  readonly monitoringInterval: Duration;
  /** Performance Insights retention. */
  readonly performanceInsightRetention: rds.PerformanceInsightRetention;
  /** Time between password rotations. */
  readonly rotationInterval: Duration;
  /** Removal policy of the cluster (RETAIN in prod, SNAPSHOT outside dev). */
  readonly removalPolicy: RemovalPolicy;
  /**
   * Removal policy of the secrets and the log group.
   * @default RemovalPolicy.RETAIN
   */
  readonly supportingRemovalPolicy?: RemovalPolicy;
  /**
   * Name of the master user (not `postgres` or `admin`: CT.RDS.PR.21).
   * @default 'platform_admin'
   */
  readonly masterUsername?: string;
}

/** An encrypted, monitored Aurora PostgreSQL Serverless v2 cluster with rotated secrets. */
export class AuroraDatabase extends Construct {
  /** The cluster. */
  readonly cluster: rds.DatabaseCluster;
  /** The master user's secret (single-user rotation). Migrations connect with it. */
  readonly masterSecret: secretsmanager.ISecret;
  /** The master secret's rotation schedule. */
  readonly masterRotation: secretsmanager.RotationSchedule;
  /** The application's login: `app_login`, member of `app_user`; used by RDS Proxy. */
  readonly appLogin: LoginRole;
  /** The Cognito triggers' login: `cognito_sync_login`, member of `cognito_sync`; used over the Data API. */
  readonly cognitoSyncLogin: LoginRole;
  /** Security group of the cluster: Postgres in from named client groups only. */
  readonly securityGroup: ec2.SecurityGroup;
  /**
   * Clients that connect straight to the writer: the rotation functions and the
   * migration custom resource. Postgres to the cluster and HTTPS to VPC endpoints out.
   */
  readonly adminClientSecurityGroup: ec2.SecurityGroup;
  /** The cluster parameter group. */
  readonly parameterGroup: rds.ParameterGroup;
  /** The log group of the exported PostgreSQL log. */
  readonly postgresLogGroup: logs.LogGroup;
  /** The database name. */
  readonly databaseName: string;
  /** The cluster port. */
  readonly port: number;

  constructor(scope: Construct, id: string, props: AuroraDatabaseProps) {
    super(scope, id);
    const supportingRemovalPolicy = props.supportingRemovalPolicy ?? RemovalPolicy.RETAIN;
    const clusterIdentifier = props.namePrefix;
    const engine = rds.DatabaseClusterEngine.auroraPostgres({ version: AURORA_ENGINE_VERSION });
    this.databaseName = props.databaseName;
    this.port = props.port;

    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'Aurora cluster: PostgreSQL from named client security groups only',
      allowAllOutbound: false,
    });
    this.adminClientSecurityGroup = new ec2.SecurityGroup(this, 'AdminClientSecurityGroup', {
      vpc: props.vpc,
      description: 'Writer clients (migrations, secret rotation): PostgreSQL to the cluster, HTTPS to endpoints',
      allowAllOutbound: false,
    });
    this.adminClientSecurityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS to VPC endpoints and the S3 gateway');
    this.allowPostgresFrom(this.adminClientSecurityGroup, 'writer clients (migrations, rotation)');

    this.parameterGroup = new rds.ParameterGroup(this, 'ClusterParameters', {
      engine,
      description: `Cluster parameters of ${clusterIdentifier}: TLS only, pg_stat_statements, logging`,
      parameters: clusterParameters(props.slowStatementMillis),
    });

    // Created before the cluster so RDS writes into an encrypted group with a
    // retention, and no log-retention function is needed.
    this.postgresLogGroup = new logs.LogGroup(this, 'PostgresLogs', {
      logGroupName: `/aws/rds/cluster/${clusterIdentifier}/postgresql`,
      encryptionKey: props.encryptionKey,
      retention: props.logRetention,
      removalPolicy: supportingRemovalPolicy,
    });

    const monitoringRole = this.createMonitoringRole();

    const instanceDefaults = {
      autoMinorVersionUpgrade: true,
      enablePerformanceInsights: true,
      performanceInsightRetention: props.performanceInsightRetention,
      performanceInsightEncryptionKey: props.encryptionKey,
      publiclyAccessible: false,
      caCertificate: rds.CaCertificate.RDS_CA_RSA2048_G1,
    };
    this.cluster = new rds.DatabaseCluster(this, 'Cluster', {
      engine,
      clusterIdentifier,
      credentials: rds.Credentials.fromGeneratedSecret(props.masterUsername ?? 'platform_admin', {
        secretName: `${props.secretNamePrefix}/database/master`,
        encryptionKey: props.encryptionKey,
        excludeCharacters: PASSWORD_EXCLUDE_CHARACTERS,
      }),
      defaultDatabaseName: props.databaseName,
      port: props.port,
      writer: rds.ClusterInstance.serverlessV2('Writer', instanceDefaults),
      readers: Array.from({ length: props.readers }, (_, i) =>
        rds.ClusterInstance.serverlessV2(`Reader${i + 1}`, { ...instanceDefaults, scaleWithWriter: i === 0 }),
      ),
      serverlessV2MinCapacity: props.minCapacity,
      serverlessV2MaxCapacity: props.maxCapacity,
      vpc: props.vpc,
      vpcSubnets: props.subnets,
      securityGroups: [this.securityGroup],
      parameterGroup: this.parameterGroup,
      storageEncrypted: true,
      storageEncryptionKey: props.encryptionKey,
      iamAuthentication: true,
      enableDataApi: true,
      cloudwatchLogsExports: ['postgresql'],
      monitoringInterval: props.monitoringInterval,
      monitoringRole,
      enablePerformanceInsights: true,
      performanceInsightRetention: props.performanceInsightRetention,
      performanceInsightEncryptionKey: props.encryptionKey,
      backup: { retention: props.backupRetention, preferredWindow: props.backupWindow },
      preferredMaintenanceWindow: props.maintenanceWindow,
      copyTagsToSnapshot: true,
      // Always on: Control Tower (CT.RDS.PR.3) requires it, and a deletion in
      // any environment should be a deliberate two-step act.
      deletionProtection: true,
      removalPolicy: props.removalPolicy,
    });
    this.cluster.node.addDependency(this.postgresLogGroup);
    this.masterSecret = this.cluster.secret!;
    // `cluster.secret` is the attachment; the generated secret is the cluster's child.
    (this.cluster.node.findChild('Secret') as rds.DatabaseSecret).applyRemovalPolicy(supportingRemovalPolicy);

    // Aurora backs up the cluster volume: the instances hold no data of their own.
    for (const instance of this.cluster.node.findAll().filter((c) => c instanceof rds.CfnDBInstance)) {
      for (const rule of ['HIPAA.Security-RDSInBackupPlan', 'NIST.800.53.R5-RDSInBackupPlan']) {
        acknowledge(instance, rule,
          'Aurora instances have no storage of their own: the cluster volume is backed up continuously with ' +
            `${props.backupRetention.toDays()} days of point-in-time recovery and copy-tags-to-snapshot, ` +
            'and AWS Backup does not accept Aurora instances, only clusters.');
      }
    }

    const rotationOptions = {
      vpc: props.vpc,
      vpcSubnets: props.rotationSubnets,
      securityGroups: [this.adminClientSecurityGroup],
      excludeCharacters: PASSWORD_EXCLUDE_CHARACTERS,
    };
    this.masterRotation = this.masterSecret.addRotationSchedule('Rotation', {
      hostedRotation: secretsmanager.HostedRotation.postgreSqlSingleUser({
        ...rotationOptions,
        functionName: `${props.namePrefix}-rotate-master`,
      }),
      automaticallyAfter: props.rotationInterval,
      // The first rotation waits a full interval: a rotation racing the first
      // migration would change the password under it.
      rotateImmediatelyOnUpdate: false,
    });
    this.masterRotation.node.addDependency(this.cluster);

    const login = (idPrefix: string, username: string, memberOf: string, fn: string): LoginRole => {
      const secret = new rds.DatabaseSecret(this, `${idPrefix}Secret`, {
        username,
        dbname: props.databaseName,
        secretName: `${props.secretNamePrefix}/database/${username.replace(/_/g, '-')}`,
        encryptionKey: props.encryptionKey,
        masterSecret: this.masterSecret,
        excludeCharacters: PASSWORD_EXCLUDE_CHARACTERS,
      });
      secret.applyRemovalPolicy(supportingRemovalPolicy);
      const attached = secret.attach(this.cluster);
      const rotation = attached.addRotationSchedule('Rotation', {
        hostedRotation: secretsmanager.HostedRotation.postgreSqlMultiUser({
          ...rotationOptions,
          masterSecret: this.masterSecret,
          functionName: `${props.namePrefix}-rotate-${fn}`,
        }),
        automaticallyAfter: props.rotationInterval,
        // The role exists only once the migrations ran; the first rotation waits.
        rotateImmediatelyOnUpdate: false,
      });
      rotation.node.addDependency(this.cluster);
      return { username, memberOf, secret, rotation };
    };
    this.appLogin = login('AppLogin', 'app_login', 'app_user', 'app-login');
    this.cognitoSyncLogin = login('CognitoSyncLogin', 'cognito_sync_login', 'cognito_sync', 'cognito-sync');
  }

  /** Lets `peer` open PostgreSQL connections to the cluster (and only that). */
  allowPostgresFrom(peer: ec2.SecurityGroup, description: string): void {
    this.securityGroup.addIngressRule(peer, ec2.Port.tcp(this.port), `PostgreSQL from ${description}`);
    peer.addEgressRule(this.securityGroup, ec2.Port.tcp(this.port), 'PostgreSQL to the Aurora cluster');
  }

  /**
   * Lets `grantee` call the RDS Data API on this cluster as `login` (read its
   * secret, run statements and transactions; or only `actions`), and nothing
   * else. The Cognito triggers use it. Unlike `DatabaseCluster.grantDataApiAccess`,
   * it never grants the master secret.
   */
  grantDataApiAccess(
    grantee: iam.IGrantable,
    login: LoginRole,
    actions: readonly string[] = [
      'rds-data:ExecuteStatement',
      'rds-data:BatchExecuteStatement',
      'rds-data:BeginTransaction',
      'rds-data:CommitTransaction',
      'rds-data:RollbackTransaction',
    ],
  ): iam.Grant {
    login.secret.grantRead(grantee);
    return iam.Grant.addToPrincipal({ grantee, actions: [...actions], resourceArns: [this.cluster.clusterArn] });
  }

  private createMonitoringRole(): ManagedPolicyRole {
    const stack = Stack.of(this);
    const role = new ManagedPolicyRole(this, 'MonitoringRole', {
      description: 'Lets RDS enhanced monitoring publish OS metrics to CloudWatch Logs',
      assumedBy: new iam.ServicePrincipal('monitoring.rds.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
    });
    const metricsGroup = stack.formatArn({
      service: 'logs',
      resource: 'log-group',
      resourceName: 'RDSOSMetrics',
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['logs:CreateLogGroup', 'logs:PutRetentionPolicy'],
        resources: [metricsGroup],
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams', 'logs:GetLogEvents'],
        resources: [`${metricsGroup}:log-stream:*`],
      }),
    );
    acknowledge(role.permissionsPolicy!, wildcardFinding(role, `${metricsGroup}:log-stream:*`),
      'RDS enhanced monitoring writes one log stream per instance, named by the instance resource id that ' +
        'exists only after creation, into the regional RDSOSMetrics group; the wildcard covers those streams ' +
        'of that one group only (the scope of the AWS managed AmazonRDSEnhancedMonitoringRole policy, narrowed).');
    return role;
  }
}

/**
 * The cluster parameters. Statement logging stays off (`log_statement=none`)
 * because the migration custom resource sets login passwords with
 * `ALTER ROLE ... PASSWORD`, and a logged DDL statement would put them in
 * CloudWatch; slow statements are logged by duration instead.
 */
export function clusterParameters(slowStatementMillis: number): Record<string, string> {
  return {
    'rds.force_ssl': '1',
    ssl_min_protocol_version: 'TLSv1.2',
    password_encryption: 'scram-sha-256',
    shared_preload_libraries: 'pg_stat_statements',
    'pg_stat_statements.track': 'top',
    'pg_stat_statements.max': '10000',
    log_statement: 'none',
    log_min_duration_statement: String(slowStatementMillis),
    log_connections: '1',
    log_disconnections: '1',
    log_lock_waits: '1',
    log_temp_files: '10240',
    log_autovacuum_min_duration: '10000',
    log_error_verbosity: 'default',
    idle_in_transaction_session_timeout: '600000',
  };
}
