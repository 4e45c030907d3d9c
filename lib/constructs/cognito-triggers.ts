/**
 * The Cognito triggers that keep `users` in step with the user pool: post-confirmation (upserts the user) and
 * pre-token generation V2 (organization and role claims). Both talk to the database through the RDS Data API as
 * the `cognito_sync` login: its secret and the cluster ARN are all they may use, and only ExecuteStatement.
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
import type { AuroraDatabase } from './aurora-database';
import type { IsolatedFunctions } from './isolated-functions';

const PROJECT_ROOT = join(__dirname, '..', '..');

/** Properties of {@link CognitoTriggers}. */
export interface CognitoTriggersProps {
  /** The user pool whose triggers these are (its feature plan must allow V2 pre-token events). */
  readonly userPool: cognito.UserPool;
  /** The database; the triggers act as its Cognito sync login. */
  readonly database: AuroraDatabase;
  /** Shared settings of functions in the isolated subnets. */
  readonly functions: IsolatedFunctions;
  /** The RDS Data API endpoint the functions call from the isolated subnets. */
  readonly dataApiEndpoint: ec2.IInterfaceVpcEndpoint;
  /**
   * Reserved concurrency of each trigger: sign-ins that arrive together each need an instance.
   * @default 20
   */
  readonly reservedConcurrentExecutions?: number;
}

/** The post-confirmation and pre-token-generation triggers. */
export class CognitoTriggers extends Construct {
  readonly postConfirmation: nodejs.NodejsFunction;
  readonly preTokenGeneration: nodejs.NodejsFunction;

  constructor(scope: Construct, id: string, props: CognitoTriggersProps) {
    super(scope, id);
    const { database } = props;
    const trigger = (name: string, folder: string, purpose: string) => {
      const prepared = props.functions.prepare(this, name, {
        purpose,
        reservedConcurrentExecutions: props.reservedConcurrentExecutions ?? 20,
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
          SECRET_ARN: database.cognitoSyncLogin.secret.secretArn,
          DATABASE_NAME: database.databaseName,
        },
        depsLockFilePath: join(PROJECT_ROOT, 'package-lock.json'),
        projectRoot: PROJECT_ROOT,
        bundling: { minify: true, sourceMap: false, target: 'node24', externalModules: ['@aws-sdk/*'], forceDockerBundling: false },
      });
      database.grantDataApiAccess(fn, database.cognitoSyncLogin, ['rds-data:ExecuteStatement']);
      fn.node.addDependency(props.dataApiEndpoint);
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
