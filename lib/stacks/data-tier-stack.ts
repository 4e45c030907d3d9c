/**
 * What runs on top of the stateful stack ({@link DataStoreStack}) of one environment: the migration custom
 * resource, the Cognito user pool and its triggers, and the SSM parameters applications read for them. It is deployed after that stack and reads from it only SSM parameters, resolved at deploy time (no
 * exports). Everything here that can fail a first deploy (a migration, the Cognito domain, the functions'
 * concurrency) fails in a stack that holds no deletion-protected database, so the rollback completes and the
 * deploy can simply be run again.
 */
import { Annotations, Duration, RemovalPolicy, Stack, type StackProps, Tags } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import type { Construct } from 'constructs';
import type { EnvironmentConfig } from '../config';
import { ApplicationParameters } from '../constructs/application-parameters';
import type { IamLoginRole, SecretLogin } from '../constructs/aurora-database';
import { CognitoTriggers } from '../constructs/cognito-triggers';
import { DatabaseMigrations } from '../constructs/database-migrations';
import { ImportedAuroraDatabase } from '../constructs/imported-database';
import { IsolatedFunctions } from '../constructs/isolated-functions';
import { SUBNET_GROUPS } from '../constructs/network';
import { StageAlarms } from '../constructs/stage-alarms';
import { PlatformUserPool } from '../constructs/user-pool';
import { APP_LOGIN, CI_LOGIN, removalPolicies, reservedConcurrency, STORE_PARAMETERS, subnetParameter } from './data-store-stack';

/** Properties of a {@link DataTierStack}. */
export interface DataTierStackProps extends StackProps {
  /** The environment's validated configuration. */
  readonly config: EnvironmentConfig;
}

/** Migrations, the user pool and its triggers, and their parameters, of one environment. */
export class DataTierStack extends Stack {
  /** The validated configuration this stack was built from. */
  readonly config: EnvironmentConfig;
  /** `<app>-<env>`: prefix of resource names. */
  readonly namePrefix: string;
  /** The stateful stack's database, as this stack sees it. */
  readonly database: ImportedAuroraDatabase;
  /** Shared settings of this stack's functions in the isolated subnets. */
  readonly functions: IsolatedFunctions;
  /** The Cognito user pool and web client. */
  readonly userPool: PlatformUserPool;
  /** SSM parameters and outputs under `/<app>/<env>/`. */
  readonly parameters: ApplicationParameters;
  /** The application's login: `app_login`, member of `app_user`, IAM authentication only; created by the migrations. */
  readonly appLogin: IamLoginRole;
  /** The Cognito triggers' login: `cognito_sync_login`, member of `cognito_sync`; used over the Data API. */
  readonly cognitoSyncLogin: SecretLogin;
  /** CI's login: `ci_login`, member of `migration_reader`; the promotion's status and drift steps use it. */
  readonly ciLogin: SecretLogin;
  /** The custom resource that migrates the database on deploy. */
  readonly migrations: DatabaseMigrations;
  /** The Cognito triggers that mirror users and add organization claims. */
  readonly cognitoTriggers: CognitoTriggers;
  /** This stack's alarms (its dead-letter queue, the triggers, the migrations), sent to the stage's alarm topic. */
  readonly alarms: StageAlarms;

  private readonly pathPrefix: string;

  constructor(scope: Construct, id: string, props: DataTierStackProps) {
    super(scope, id, props);
    const { config } = props;
    this.config = config;
    this.namePrefix = `${config.appName}-${config.name}`;
    this.pathPrefix = `/${config.appName}/${config.name}`;
    const policies = removalPolicies(config);
    const reserved = reservedConcurrency(config);

    const encryptionKey = kms.Key.fromKeyArn(this, 'DataKey', this.read(STORE_PARAMETERS.dataKeyArn));
    const zones = config.network.availabilityZones;
    const subnets = (group: string) => zones.map((_, i) => this.read(subnetParameter(group, i + 1)));
    const vpc = ec2.Vpc.fromVpcAttributes(this, 'Vpc', {
      // Isolated subnets route nowhere but inside the VPC: nothing here adds a route, so no route table is read.
      vpcId: this.read(STORE_PARAMETERS.vpcId),
      availabilityZones: zones,
      isolatedSubnetIds: [...subnets(SUBNET_GROUPS.database), ...subnets(SUBNET_GROUPS.functions)],
      isolatedSubnetNames: [SUBNET_GROUPS.database, SUBNET_GROUPS.functions],
    });
    Annotations.of(vpc).acknowledgeWarning('@aws-cdk/aws-ec2:noSubnetRouteTableId',
      'The imported subnets are isolated and this stack adds no route to them, so their route tables are never read.');
    const securityGroup = (name: string, parameter: string) =>
      ec2.SecurityGroup.fromSecurityGroupId(this, name, this.read(parameter), { allowAllOutbound: false, mutable: false });

    this.functions = new IsolatedFunctions(this, 'Functions', {
      vpc,
      subnets: { subnetGroupName: SUBNET_GROUPS.functions },
      encryptionKey,
      logRetention: config.database.logRetentionDays,
      removalPolicy: policies.retainUnlessDev,
      customResourceConcurrency: reserved?.customResources,
    });

    this.database = new ImportedAuroraDatabase(this, 'Database', {
      clusterIdentifier: this.namePrefix,
      clusterResourceIdentifier: this.read(STORE_PARAMETERS.clusterResourceId),
      port: config.database.port,
      databaseName: config.database.databaseName,
      masterSecretArn: this.read(STORE_PARAMETERS.masterSecretArn),
      encryptionKey,
    });
    this.cognitoSyncLogin = {
      memberOf: 'cognito_sync',
      secret: this.database.importSecret('CognitoSyncLoginSecret', this.read(STORE_PARAMETERS.cognitoSyncSecretArn)),
    };
    this.ciLogin = {
      memberOf: CI_LOGIN.memberOf,
      secret: this.database.importSecret('CiLoginSecret', this.read(STORE_PARAMETERS.ciSecretArn)),
    };
    this.appLogin = { ...APP_LOGIN, authentication: 'iam' };

    this.migrations = new DatabaseMigrations(this, 'Migrations', {
      database: this.database,
      functions: this.functions,
      writerClientSecurityGroup: securityGroup('AdminClientSecurityGroup', STORE_PARAMETERS.adminClientSecurityGroupId),
      // The endpoints the function and its provider call are the stateful stack's, deployed before this one.
      networkDependencies: [],
      logins: [this.cognitoSyncLogin, this.ciLogin],
      iamLogins: [this.appLogin],
      allowSeeds: config.database.seedsEnabled,
      // CI passes `-c deployId=<run id>` to re-run on every deploy; a plain synth stays repeatable.
      deployId: this.node.tryGetContext('deployId') as string | undefined,
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
      email: config.auth.email,
      // Plain Retain outside dev: a deletion-protected pool cannot be deleted by a failed first create's rollback,
      // which would end in ROLLBACK_FAILED; retained, it is left aside (pool names need not be unique).
      removalPolicy: config.database.removalPolicy === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
    });

    this.cognitoTriggers = new CognitoTriggers(this, 'CognitoTriggers', {
      userPool: this.userPool.userPool,
      database: this.database,
      login: this.cognitoSyncLogin,
      functions: this.functions,
      reservedConcurrentExecutions: reserved?.cognitoTriggers,
    });

    this.alarms = new StageAlarms(this, 'Alarms', {
      namePrefix: this.namePrefix,
      topic: sns.Topic.fromTopicArn(this, 'AlarmTopic', this.read(STORE_PARAMETERS.alarmTopicArn)),
      thresholds: config.alarms.thresholds,
    });
    this.alarms.watchDeadLetterQueue('data-tier', this.functions.deadLetterQueue);
    this.alarms.watchFunctionErrors('post-confirmation', this.cognitoTriggers.postConfirmation,
      'a confirmed user was not mirrored into the users table (the sign-up itself succeeded).');
    this.alarms.watchFunctionErrors('pre-token-generation', this.cognitoTriggers.preTokenGeneration,
      'Cognito refused sign-ins and token refreshes, since a failed trigger fails the sign-in.');
    this.alarms.watchFunctionErrors('migrations', this.migrations.function,
      'a migration or seed failed and the deploy rolled back; the database stays at the last version applied.');

    this.parameters = new ApplicationParameters(this, 'Parameters', { pathPrefix: this.pathPrefix });
    this.publishParameters();

    for (const [key, value] of Object.entries(config.tags)) {
      Tags.of(this).add(key, value);
    }
  }

  /**
   * A parameter of the stateful stack, as a dynamic reference (`{{resolve:ssm:…}}`) that CloudFormation resolves
   * when this stack deploys. A reference, not a template parameter: the Control Tower rules want a function's
   * subnets and security groups as strings or resources of the template, and a reference is a string.
   */
  private read(name: string): string {
    const parameterName = `${this.pathPrefix}/${name}`;
    const id = `Parameter${name.split(/[/-]/).map((w) => w[0].toUpperCase() + w.slice(1)).join('')}`;
    const existing = this.node.tryFindChild(id) as ssm.IStringParameter | undefined;
    return (existing ?? ssm.StringParameter.fromStringParameterAttributes(this, id, { parameterName, forceDynamicReference: true })).stringValue;
  }

  private publishParameters(): void {
    const p = this.parameters;
    p.publish('auth/user-pool-id', this.userPool.userPool.userPoolId, 'Cognito user pool id');
    p.publish('auth/user-pool-arn', this.userPool.userPool.userPoolArn, 'Cognito user pool ARN');
    p.publish('auth/web-client-id', this.userPool.webClient.userPoolClientId, 'Public web client id (authorization code + PKCE)');
    p.publish('auth/domain', this.userPool.domain.baseUrl(), 'Base URL of the authorization endpoints');
    p.publish('auth/issuer', this.userPool.userPool.userPoolProviderUrl, 'Token issuer URL (OIDC discovery lives below it)');
  }
}
