/**
 * Aurora PostgreSQL Serverless v2 with pgvector, its parameters, logs,
 * monitoring, and the secrets of the master user and of each login role.
 *
 * The login roles themselves are created by the migration custom resource from
 * the secrets that `addLogin` makes: this construct provides the secrets, their
 * rotation and the grants.
 */
import { ArnFormat, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct, type IConstruct } from 'constructs';
import type { LoginGroup } from '../../lambda/migrate-handler/resource-properties';
import { acknowledge, wildcardFinding } from '../compliance/acknowledge';
import { ManagedPolicyRole } from './managed-policy-role';

/**
 * The engine: the newest Aurora PostgreSQL 17 minor aws-cdk-lib knows (17.9), so a new cluster is not refused
 * for a minor past standard support; every 17.x from 17.1 ships pgvector 0.8 (iterative index scans for
 * filtered vector search). Minor upgrades stay on (CT.RDS.PR.5), so AWS may move the cluster to a later 17.x in
 * the maintenance window; the template never moves it backwards, and the migration custom resource updates
 * `vector` when the engine offers a newer version. Raise it when aws-cdk-lib learns a newer minor.
 */
export const AURORA_ENGINE_VERSION = rds.AuroraPostgresEngineVersion.VER_17_9;

/** Characters left out of generated passwords: they break URLs, shells and the rotation functions. */
export const PASSWORD_EXCLUDE_CHARACTERS = " %+~`#$&*()|[]{}:;<>?!'/@\"\\";

/** PostgreSQL's own port, which the cluster must not use (AwsSolutions-RDS11). */
const POSTGRES_DEFAULT_PORT = 5432;

/** What a login role is: a name, the group it joins, the secret of its password. */
export interface LoginRoleOptions {
  /** The login role's name in PostgreSQL: a lower-case SQL identifier. */
  readonly username: string;
  /** The NOLOGIN group role it is a member of (created by the migrations). */
  readonly memberOf: LoginGroup;
}

/** What a login with a password gives those who use it: its group and its secret. */
export interface SecretLogin {
  /** The NOLOGIN group role it is a member of (created by the migrations). */
  readonly memberOf: LoginGroup;
  /** Its secret: username, password, host, port, dbname, engine, masterarn. */
  readonly secret: secretsmanager.ISecret;
}

/** A login role whose password lives in Secrets Manager, made by {@link AuroraDatabase.addLogin}. */
export interface LoginRole extends LoginRoleOptions, SecretLogin {
  /** Its rotation schedule (multi-user: the rotation alternates with `<username>_clone`). */
  readonly rotation: secretsmanager.RotationSchedule;
}

/** A login role that authenticates with IAM only (no password, no secret): made by {@link AuroraDatabase.addIamLogin}. */
export interface IamLoginRole extends LoginRoleOptions {
  /** Always `iam`: the role gets `rds_iam` and no password. */
  readonly authentication: 'iam';
}

/** What other constructs use of an Aurora database: the cluster, where to reach it, and its grants. */
export interface IAuroraDatabase extends IConstruct, ec2.IConnectable {
  /** The cluster. */
  readonly cluster: rds.IDatabaseCluster;
  /**
   * The writer instance: what must exist before anything connects to the database. Absent for a database of
   * another stack, which exists before the stack that imports it deploys.
   */
  readonly writer?: IConstruct;
  /** The master user's secret. Migrations connect with it. */
  readonly masterSecret: secretsmanager.ISecret;
  /** The database name. */
  readonly databaseName: string;
  /** The cluster port (a literal, so security group rules stay readable). */
  readonly port: number;
  /** Lets `grantee` call the RDS Data API on this cluster as `login`. */
  grantDataApiAccess(grantee: iam.IGrantable, login: SecretLogin, actions?: readonly string[]): iam.Grant;
  /** Lets `grantee` log in to the cluster as the IAM login `login` (`rds-db:connect`). */
  grantConnect(grantee: iam.IGrantable, login: IamLoginRole): iam.Grant;
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
  /**
   * Name of the database created in the cluster.
   * @default 'saas'
   */
  readonly databaseName?: string;
  /**
   * Port of the cluster (not 5432: AwsSolutions-RDS11).
   * @default 5433
   */
  readonly port?: number;
  /**
   * Minimum capacity in ACU; 0 lets the cluster pause.
   * @default 0.5
   */
  readonly minCapacity?: number;
  /**
   * Maximum capacity in ACU.
   * @default 4
   */
  readonly maxCapacity?: number;
  /**
   * Serverless v2 readers beside the writer.
   * @default 0
   */
  readonly readers?: number;
  /**
   * Automated backups (point-in-time recovery), 1 to 35 days.
   * @default Duration.days(7)
   */
  readonly backupRetention?: Duration;
  /**
   * Daily backup window, UTC.
   * @default '02:00-03:00'
   */
  readonly backupWindow?: string;
  /**
   * Weekly maintenance window, UTC.
   * @default 'sun:03:30-sun:04:30'
   */
  readonly maintenanceWindow?: string;
  /**
   * Retention of the exported PostgreSQL logs.
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Statements slower than this are logged, in milliseconds; -1 turns it off.
   * @default 500
   */
  readonly slowStatementMillis?: number;
  /**
   * Enhanced monitoring interval.
   * @default Duration.seconds(60)
   */
  readonly monitoringInterval?: Duration;
  /**
   * Performance Insights retention.
   * @default rds.PerformanceInsightRetention.DEFAULT (7 days)
   */
  readonly performanceInsightRetention?: rds.PerformanceInsightRetention;
  /**
   * Database Insights mode. Advanced keeps execution plans, per-query and lock analysis for 15 months, and needs
   * `performanceInsightRetention` of 15 months (465 days).
   * @default rds.DatabaseInsightsMode.STANDARD
   */
  readonly databaseInsightsMode?: rds.DatabaseInsightsMode;
  /**
   * Time between password rotations of every secret.
   * @default Duration.days(30)
   */
  readonly rotationInterval?: Duration;
  /**
   * Removal policy of the cluster.
   * @default RemovalPolicy.SNAPSHOT
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Removal policy of the secrets and the log group (a snapshot does not apply to them). They have names: kept
   * by plain `RETAIN`, a failed first create would leave them behind and the retry would fail on "already exists".
   * @default RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE
   */
  readonly secretsAndLogsRemovalPolicy?: RemovalPolicy;
  /**
   * Name of the master user (not `postgres` or `admin`: CT.RDS.PR.21).
   * @default 'platform_admin'
   */
  readonly masterUsername?: string;
}

/** An encrypted, monitored Aurora PostgreSQL Serverless v2 cluster with rotated secrets. */
export class AuroraDatabase extends Construct implements IAuroraDatabase {
  /** The cluster. */
  readonly cluster: rds.DatabaseCluster;
  /** The writer instance. */
  readonly writer: IConstruct;
  /** The master user's secret (single-user rotation). Migrations connect with it. */
  readonly masterSecret: secretsmanager.ISecret;
  /** The master secret's rotation schedule. */
  readonly masterRotation: secretsmanager.RotationSchedule;
  /** PostgreSQL into the cluster, on its port, from the peers allowed with `connections.allowDefaultPortFrom`. */
  readonly connections: ec2.Connections;
  /** Security group of the cluster: Postgres in from allowed peers only. */
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
  /** The log group of the exported IAM authentication errors (`iam-db-auth-error`): why an IAM login was refused. */
  readonly iamAuthErrorLogGroup: logs.LogGroup;
  /** The database name. */
  readonly databaseName: string;
  /** The cluster port. */
  readonly port: number;

  private readonly props: AuroraDatabaseProps;
  private readonly secretsAndLogsRemovalPolicy: RemovalPolicy;
  private readonly rotationInterval: Duration;
  private readonly addedLogins: LoginRole[] = [];
  private readonly addedIamLogins: IamLoginRole[] = [];

  constructor(scope: Construct, id: string, props: AuroraDatabaseProps) {
    super(scope, id);
    this.props = props;
    this.databaseName = props.databaseName ?? 'saas';
    this.port = props.port ?? 5433;
    this.secretsAndLogsRemovalPolicy = props.secretsAndLogsRemovalPolicy ?? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE;
    this.rotationInterval = props.rotationInterval ?? Duration.days(30);
    this.validate();

    const engine = rds.DatabaseClusterEngine.auroraPostgres({ version: AURORA_ENGINE_VERSION });
    this.securityGroup = this.createSecurityGroup();
    this.connections = new ec2.Connections({ securityGroups: [this.securityGroup], defaultPort: ec2.Port.tcp(this.port) });
    this.adminClientSecurityGroup = this.createAdminClientSecurityGroup();
    this.parameterGroup = new rds.ParameterGroup(this, 'ClusterParameters', {
      engine,
      description: `Cluster parameters of ${props.namePrefix}: TLS only, pg_stat_statements, logging`,
      parameters: clusterParameters(props.slowStatementMillis ?? 500),
    });
    this.postgresLogGroup = this.createLogGroup('PostgresLogs', 'postgresql');
    this.iamAuthErrorLogGroup = this.createLogGroup('IamAuthErrorLogs', 'iam-db-auth-error');
    this.cluster = this.createCluster(engine);
    this.writer = this.cluster.node.findChild('Writer');
    this.masterSecret = this.cluster.secret!;
    this.acknowledgeInstanceBackups();
    this.masterRotation = this.rotateMasterSecret();
  }

  /** The password logins added so far, in order. */
  get logins(): readonly LoginRole[] {
    return this.addedLogins;
  }

  /** The IAM logins added so far, in order. */
  get iamLogins(): readonly IamLoginRole[] {
    return this.addedIamLogins;
  }

  /**
   * Adds a login role that authenticates with IAM only: no secret, no rotation, no password. The migration custom
   * resource creates it and grants it `rds_iam`. RDS Proxy with end-to-end IAM authentication connects as one;
   * unlike a password login, no rotation can leave the proxy without credentials for it.
   */
  addIamLogin(options: LoginRoleOptions): IamLoginRole {
    this.validateUsername('addIamLogin', options.username);
    const login: IamLoginRole = { ...options, authentication: 'iam' };
    this.addedIamLogins.push(login);
    return login;
  }

  /** Lets `grantee` log in to the cluster as the IAM login `login` (`rds-db:connect` on that one database user). */
  grantConnect(grantee: iam.IGrantable, login: IamLoginRole): iam.Grant {
    if (!this.addedIamLogins.includes(login)) {
      throw new Error(`AuroraDatabase ${this.node.path}: grantConnect: "${login.username}" is not an IAM login of this database`);
    }
    return this.cluster.grantConnect(grantee, login.username);
  }

  private validateUsername(method: string, username: string): void {
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(username)) {
      throw new Error(`AuroraDatabase ${this.node.path}: ${method}: username must be a lower-case SQL identifier, got "${username}"`);
    }
    if ([...this.addedLogins, ...this.addedIamLogins].some((login) => login.username === username)) {
      throw new Error(`AuroraDatabase ${this.node.path}: ${method}: username "${username}" is already a login`);
    }
  }

  /**
   * Adds a login role: a secret of its own (encrypted with the key, attached to the cluster) and its multi-user
   * rotation. The role itself is created by the migration custom resource, from the secret.
   * @param id construct id prefix of its secret, e.g. `AppLogin`
   */
  addLogin(id: string, options: LoginRoleOptions): LoginRole {
    this.validateUsername('addLogin', options.username);
    const name = options.username.replace(/_/g, '-');
    const secret = new rds.DatabaseSecret(this, `${id}Secret`, {
      username: options.username,
      dbname: this.databaseName,
      secretName: `${this.props.secretNamePrefix}/database/${name}`,
      encryptionKey: this.props.encryptionKey,
      masterSecret: this.masterSecret,
      excludeCharacters: PASSWORD_EXCLUDE_CHARACTERS,
    });
    secret.applyRemovalPolicy(this.secretsAndLogsRemovalPolicy);
    const rotation = secret.attach(this.cluster).addRotationSchedule('Rotation', {
      hostedRotation: secretsmanager.HostedRotation.postgreSqlMultiUser({
        ...this.rotationOptions(),
        masterSecret: this.masterSecret,
        functionName: `${this.props.namePrefix}-rotate-${name}`,
      }),
      automaticallyAfter: this.rotationInterval,
      // The role exists only once the migrations ran; the first rotation waits.
      rotateImmediatelyOnUpdate: false,
    });
    rotation.node.addDependency(this.cluster);
    const login = { ...options, secret, rotation };
    this.addedLogins.push(login);
    return login;
  }

  /**
   * Denies reading the master secret and every login's secret but those of `except` to the principals whose ARN
   * matches one of `principalArnPatterns`, whatever their own policies allow: a resource-policy Deny, which no
   * identity policy overrides. The promotion's roles get it, so CI reads its own login's secret and no other.
   * Covers the logins added so far.
   */
  denySecretValues(principalArnPatterns: readonly string[], except: readonly SecretLogin[] = []): void {
    const statement = new iam.PolicyStatement({
      sid: 'DenySecretValue',
      effect: iam.Effect.DENY,
      principals: [new iam.AnyPrincipal()],
      actions: ['secretsmanager:GetSecretValue'],
      resources: ['*'],
      conditions: { ArnLike: { 'aws:PrincipalArn': [...principalArnPatterns] } },
    });
    for (const secret of [this.masterSecret, ...this.addedLogins.map((login) => login.secret)]) {
      if (except.some((login) => login.secret === secret)) continue;
      secret.addToResourcePolicy(statement);
    }
  }

  /**
   * Lets `grantee` call the RDS Data API on this cluster as `login` (read its
   * secret, run statements and transactions; or only `actions`), and nothing
   * else. The Cognito triggers use it. Unlike `DatabaseCluster.grantDataApiAccess`,
   * it never grants the master secret.
   */
  grantDataApiAccess(
    grantee: iam.IGrantable,
    login: SecretLogin,
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

  /** Each problem names its property. */
  private validate(): void {
    const { props } = this;
    const fail = (message: string) => {
      throw new Error(`AuroraDatabase ${this.node.path}: ${message}`);
    };
    if (!/^[a-z][a-z0-9-]{0,62}$/.test(props.namePrefix)) fail(`namePrefix must be lower-case letters, digits and hyphens, got "${props.namePrefix}"`);
    if (!/^[a-z][a-z0-9_]{0,62}$/.test(this.databaseName)) fail(`databaseName must be a lower-case PostgreSQL identifier, got "${this.databaseName}"`);
    if (!Number.isInteger(this.port) || this.port < 1150 || this.port > 65535 || this.port === POSTGRES_DEFAULT_PORT) {
      fail(`port must be an integer from 1150 to 65535 other than ${POSTGRES_DEFAULT_PORT}, got ${this.port}`);
    }
    const min = props.minCapacity ?? 0.5;
    const max = props.maxCapacity ?? 4;
    if (min < 0 || !Number.isInteger(min * 2)) fail(`minCapacity must be 0 or more in steps of 0.5 ACU, got ${min}`);
    if (max < 1 || max > 256 || !Number.isInteger(max * 2)) fail(`maxCapacity must be 1 to 256 in steps of 0.5 ACU, got ${max}`);
    if (min > max) fail(`minCapacity (${min} ACU) must not be above maxCapacity (${max} ACU)`);
    const readers = props.readers ?? 0;
    if (!Number.isInteger(readers) || readers < 0 || readers > 15) fail(`readers must be an integer from 0 to 15, got ${readers}`);
    const backupDays = (props.backupRetention ?? Duration.days(7)).toDays();
    if (backupDays < 1 || backupDays > 35) fail(`backupRetention must be 1 to 35 days, got ${backupDays}`);
    const slow = props.slowStatementMillis ?? 500;
    if (!Number.isInteger(slow) || slow < -1) fail(`slowStatementMillis must be -1 (off) or more, got ${slow}`);
  }

  private createSecurityGroup(): ec2.SecurityGroup {
    return new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: this.props.vpc,
      description: 'Aurora cluster: PostgreSQL from named client security groups only',
      allowAllOutbound: false,
    });
  }

  private createAdminClientSecurityGroup(): ec2.SecurityGroup {
    const group = new ec2.SecurityGroup(this, 'AdminClientSecurityGroup', {
      vpc: this.props.vpc,
      description: 'Writer clients (migrations, secret rotation): PostgreSQL to the cluster, HTTPS to endpoints',
      allowAllOutbound: false,
    });
    group.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS to VPC endpoints and the S3 gateway');
    this.connections.allowDefaultPortFrom(group, 'PostgreSQL from writer clients (migrations, rotation) to the Aurora cluster');
    return group;
  }

  /**
   * Created before the cluster so RDS writes into an encrypted group with a
   * retention, and no log-retention function is needed.
   */
  private createLogGroup(id: string, logType: string): logs.LogGroup {
    return new logs.LogGroup(this, id, {
      logGroupName: `/aws/rds/cluster/${this.props.namePrefix}/${logType}`,
      encryptionKey: this.props.encryptionKey,
      retention: this.props.logRetention ?? logs.RetentionDays.ONE_YEAR,
      removalPolicy: this.secretsAndLogsRemovalPolicy,
    });
  }

  private createCluster(engine: rds.IClusterEngine): rds.DatabaseCluster {
    const { props } = this;
    const performanceInsightRetention = props.performanceInsightRetention ?? rds.PerformanceInsightRetention.DEFAULT;
    const instanceDefaults = {
      autoMinorVersionUpgrade: true,
      enablePerformanceInsights: true,
      performanceInsightRetention,
      performanceInsightEncryptionKey: props.encryptionKey,
      publiclyAccessible: false,
      caCertificate: rds.CaCertificate.RDS_CA_RSA2048_G1,
    };
    const cluster = new rds.DatabaseCluster(this, 'Cluster', {
      engine,
      clusterIdentifier: props.namePrefix,
      credentials: rds.Credentials.fromGeneratedSecret(props.masterUsername ?? 'platform_admin', {
        secretName: `${props.secretNamePrefix}/database/master`,
        encryptionKey: props.encryptionKey,
        excludeCharacters: PASSWORD_EXCLUDE_CHARACTERS,
      }),
      defaultDatabaseName: this.databaseName,
      port: this.port,
      writer: rds.ClusterInstance.serverlessV2('Writer', instanceDefaults),
      readers: Array.from({ length: props.readers ?? 0 }, (_, i) =>
        rds.ClusterInstance.serverlessV2(`Reader${i + 1}`, { ...instanceDefaults, scaleWithWriter: i === 0 }),
      ),
      serverlessV2MinCapacity: props.minCapacity ?? 0.5,
      serverlessV2MaxCapacity: props.maxCapacity ?? 4,
      vpc: props.vpc,
      vpcSubnets: props.subnets,
      securityGroups: [this.securityGroup],
      parameterGroup: this.parameterGroup,
      storageEncrypted: true,
      storageEncryptionKey: props.encryptionKey,
      iamAuthentication: true,
      enableDataApi: true,
      // IAM authentication errors (why a token was refused) since the application logs in with IAM end to end.
      cloudwatchLogsExports: ['postgresql', 'iam-db-auth-error'],
      monitoringInterval: props.monitoringInterval ?? Duration.seconds(60),
      monitoringRole: this.createMonitoringRole(),
      enablePerformanceInsights: true,
      performanceInsightRetention,
      performanceInsightEncryptionKey: props.encryptionKey,
      databaseInsightsMode: props.databaseInsightsMode ?? rds.DatabaseInsightsMode.STANDARD,
      backup: { retention: props.backupRetention ?? Duration.days(7), preferredWindow: props.backupWindow ?? '02:00-03:00' },
      preferredMaintenanceWindow: props.maintenanceWindow ?? 'sun:03:30-sun:04:30',
      copyTagsToSnapshot: true,
      // Always on: Control Tower (CT.RDS.PR.3) requires it, and a deletion in
      // any environment should be a deliberate two-step act.
      deletionProtection: true,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.SNAPSHOT,
    });
    cluster.node.addDependency(this.postgresLogGroup, this.iamAuthErrorLogGroup);
    acknowledge(cluster, 'cdk-validator-cfnguard::rds_cluster_logging_enabled_check',
      'The cluster exports every log type Aurora PostgreSQL has: postgresql, and iam-db-auth-error since the application ' +
        'logs in with IAM end to end; the bundled CT.RDS.PR.25 rule predates iam-db-auth-error and accepts postgresql alone.');
    // `cluster.secret` is the attachment; the generated secret is the cluster's child.
    (cluster.node.findChild('Secret') as rds.DatabaseSecret).applyRemovalPolicy(this.secretsAndLogsRemovalPolicy);
    return cluster;
  }

  /** Aurora backs up the cluster volume: the instances hold no data of their own. */
  private acknowledgeInstanceBackups(): void {
    const days = (this.props.backupRetention ?? Duration.days(7)).toDays();
    for (const instance of this.cluster.node.findAll().filter((c) => c instanceof rds.CfnDBInstance)) {
      for (const rule of ['HIPAA.Security-RDSInBackupPlan', 'NIST.800.53.R5-RDSInBackupPlan']) {
        acknowledge(instance, rule,
          'Aurora instances have no storage of their own: the cluster volume is backed up continuously with ' +
            `${days} days of point-in-time recovery and copy-tags-to-snapshot, ` +
            'and AWS Backup does not accept Aurora instances, only clusters.');
      }
    }
  }

  /** Where the rotation functions run: beside the writer clients, in the rotation subnets. */
  private rotationOptions() {
    return {
      vpc: this.props.vpc,
      vpcSubnets: this.props.rotationSubnets,
      securityGroups: [this.adminClientSecurityGroup],
      excludeCharacters: PASSWORD_EXCLUDE_CHARACTERS,
    };
  }

  private rotateMasterSecret(): secretsmanager.RotationSchedule {
    const rotation = this.masterSecret.addRotationSchedule('Rotation', {
      hostedRotation: secretsmanager.HostedRotation.postgreSqlSingleUser({
        ...this.rotationOptions(),
        functionName: `${this.props.namePrefix}-rotate-master`,
      }),
      automaticallyAfter: this.rotationInterval,
      // The first rotation waits a full interval: a rotation racing the first
      // migration would change the password under it.
      rotateImmediatelyOnUpdate: false,
    });
    rotation.node.addDependency(this.cluster);
    return rotation;
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
 * The cluster parameters. The login sync and AWS's rotation functions set passwords with `ALTER ROLE ...
 * PASSWORD '...'`, whose text must reach neither the exported log nor `pg_stat_statements`:
 * - statement logging stays off (`log_statement=none`); slow statements are logged by duration instead;
 * - `log_min_error_statement=panic`: a failed statement's text is not logged beside its error (the default,
 *   `error`, would log a refused `ALTER ROLE` with its password); the error message itself still is;
 * - `pg_stat_statements.track_utility=off`: utility statements (ALTER ROLE among them) are not recorded with
 *   their text; plannable statements are, with their constants replaced by parameters.
 */
export function clusterParameters(slowStatementMillis: number): Record<string, string> {
  return {
    'rds.force_ssl': '1',
    ssl_min_protocol_version: 'TLSv1.2',
    password_encryption: 'scram-sha-256',
    shared_preload_libraries: 'pg_stat_statements',
    'pg_stat_statements.track': 'top',
    'pg_stat_statements.max': '10000',
    'pg_stat_statements.track_utility': '0',
    log_statement: 'none',
    log_min_duration_statement: String(slowStatementMillis),
    log_connections: '1',
    log_disconnections: '1',
    log_lock_waits: '1',
    log_temp_files: '10240',
    log_autovacuum_min_duration: '10000',
    log_error_verbosity: 'default',
    log_min_error_statement: 'panic',
    idle_in_transaction_session_timeout: '600000',
  };
}
