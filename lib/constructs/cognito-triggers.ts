/**
 * The Cognito triggers that keep `users` in step with the user pool: post-confirmation (upserts the user) and
 * pre-token generation V2 (organization and role claims). Both talk to the database through the RDS Data API as
 * one login (`cognito_sync_login`): its secret and the cluster ARN are all they may use, and only ExecuteStatement.
 *
 * Cognito gives a trigger 5 seconds: the functions time out at 5 s and abort their Data API call well before.
 */
import { Duration } from 'aws-cdk-lib';
import type * as cognito from 'aws-cdk-lib/aws-cognito';
import { LambdaVersion, UserPoolOperation } from 'aws-cdk-lib/aws-cognito';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import { Construct } from 'constructs';
import { join } from 'node:path';
import type { IAuroraDatabase, SecretLogin } from './aurora-database';
import type { IIsolatedFunctions } from './isolated-functions';

const PROJECT_ROOT = join(__dirname, '..', '..');

/** Properties of {@link CognitoTriggers}. */
export interface CognitoTriggersProps {
  /** The user pool whose triggers these are (its feature plan must allow V2 pre-token events). */
  readonly userPool: cognito.UserPool;
  /** The database. */
  readonly database: IAuroraDatabase;
  /** The login the triggers act as (a member of `cognito_sync`). */
  readonly login: SecretLogin;
  /** Shared settings of functions in the isolated subnets. */
  readonly functions: IIsolatedFunctions;
  /**
   * The RDS Data API endpoint the functions call from the isolated subnets, when it is in the same stack.
   * @default - none to wait for: the endpoint is in a stack deployed before this one
   */
  readonly dataApiEndpoint?: ec2.IInterfaceVpcEndpoint;
  /**
   * Reserved concurrency of each trigger: sign-ins that arrive together each need an instance.
   * @default - none (the account's unreserved pool serves them)
   */
  readonly reservedConcurrentExecutions?: number;
}

/** The post-confirmation and pre-token-generation triggers. */
export class CognitoTriggers extends Construct {
  /** Mirrors a confirmed user into `users`. */
  readonly postConfirmation: nodejs.NodejsFunction;
  /** Adds organization and role claims to the tokens. */
  readonly preTokenGeneration: nodejs.NodejsFunction;

  constructor(scope: Construct, id: string, props: CognitoTriggersProps) {
    super(scope, id);
    const { database, login } = props;
    if (login.memberOf !== 'cognito_sync') {
      throw new Error(`CognitoTriggers ${this.node.path}: login must be a member of cognito_sync, got ${login.memberOf}`);
    }
    const trigger = (name: string, folder: string, purpose: string) => {
      const prepared = props.functions.createFunctionResources(this, name, {
        purpose,
        reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      });
      const fn = new nodejs.NodejsFunction(this, `${name}Function`, {
        description: purpose,
        entry: join(PROJECT_ROOT, 'lambda', folder, 'index.ts'),
        handler: 'handler',
        runtime: lambda.Runtime.NODEJS_24_X,
        memorySize: 256,
        timeout: Duration.seconds(5),
        ...prepared.settings,
        // ARNs and a name, no credentials: the Data API reads the login's secret itself.
        environment: {
          CLUSTER_ARN: database.cluster.clusterArn,
          SECRET_ARN: login.secret.secretArn,
          DATABASE_NAME: database.databaseName,
        },
        depsLockFilePath: join(PROJECT_ROOT, 'package-lock.json'),
        projectRoot: PROJECT_ROOT,
        bundling: { minify: true, sourceMap: false, target: 'node24', externalModules: ['@aws-sdk/*'], forceDockerBundling: false },
      });
      props.functions.acknowledgeUnreservedConcurrency(fn);
      database.grantDataApiAccess(fn, login, ['rds-data:ExecuteStatement']);
      if (props.dataApiEndpoint) fn.node.addDependency(props.dataApiEndpoint);
      return fn;
    };

    this.postConfirmation = trigger('PostConfirmation', 'cognito-post-confirmation',
      'Cognito post-confirmation: mirrors the confirmed user into the users table');
    this.preTokenGeneration = trigger('PreTokenGeneration', 'cognito-pre-token',
      'Cognito pre-token generation (V2): adds organization and role claims');
    props.userPool.addTrigger(UserPoolOperation.POST_CONFIRMATION, this.postConfirmation);
    props.userPool.addTrigger(UserPoolOperation.PRE_TOKEN_GENERATION_CONFIG, this.preTokenGeneration, LambdaVersion.V2_0);
  }
}
