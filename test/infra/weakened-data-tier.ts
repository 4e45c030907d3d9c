/**
 * Test only: weakens a data tier stack in the ways the audit must catch —
 * the database opened to the internet, a publicly accessible instance, an
 * unencrypted queue, a secret without rotation, a secret whose value is in
 * the template, a wildcard policy without a reason; and what fails a deploy
 * on day 30 or day 2: the proxy logging in with a secret rotated with
 * alternating users, a custom resource without a service timeout, a named
 * log group kept by a plain Retain.
 */
import { CfnResource, RemovalPolicy, SecretValue } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { EnvironmentStage } from '../../lib/environment-stage';

/** The resources the weakening added, by what they break. */
export interface Weaknesses {
  readonly unencryptedQueue: sqs.Queue;
  readonly unrotatedSecret: secretsmanager.Secret;
  readonly plaintextSecret: secretsmanager.Secret;
  readonly wildcardPolicy: iam.ManagedPolicy;
  /** The RDS Proxy, given the Cognito login's secret (rotated with alternating users) to log in with. */
  readonly proxyWithRotatedSecret: rds.DatabaseProxy;
  /** The migration custom resource, without its ServiceTimeout. */
  readonly customResourceWithoutTimeout: CfnResource;
  /** The exported PostgreSQL log group (named), kept by a plain Retain. */
  readonly retainedNamedLogGroup: CfnResource;
}

/** Adds every weakness to the stacks of `stage` (the new resources to its stateful stack). */
export class WeakenedDataTier extends Construct {
  readonly weaknesses: Weaknesses;

  constructor(stage: EnvironmentStage, id: string) {
    const stack = stage.dataStore;
    super(stack, id);
    const { database } = stack;
    database.securityGroup.addIngressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(database.port), 'PostgreSQL from anywhere');
    database.securityGroup.addIngressRule(ec2.Peer.anyIpv6(), ec2.Port.allTcp(), 'Everything from anywhere (IPv6)');
    const writer = database.cluster.node.findChild('Writer').node.defaultChild as rds.CfnDBInstance;
    writer.publiclyAccessible = true;
    // A proxy beside the database that logs in with the Cognito login's secret, rotated with alternating users.
    const proxy = new rds.DatabaseProxy(this, 'ProxyWithSecret', {
      proxyTarget: rds.ProxyTarget.fromCluster(database.cluster),
      secrets: [stack.cognitoSyncLogin.secret],
      vpc: stack.network.vpc,
      vpcSubnets: stack.network.databaseSubnets,
      securityGroups: [stack.proxySecurityGroups.securityGroup],
    });
    const customResource = stage.dataTier.migrations.resource.node.defaultChild as CfnResource;
    customResource.addPropertyDeletionOverride('ServiceTimeout');
    const logGroup = database.postgresLogGroup.node.defaultChild as CfnResource;
    logGroup.applyRemovalPolicy(RemovalPolicy.RETAIN);
    this.weaknesses = {
      unencryptedQueue: new sqs.Queue(this, 'UnencryptedQueue', { encryption: sqs.QueueEncryption.UNENCRYPTED }),
      unrotatedSecret: new secretsmanager.Secret(this, 'UnrotatedSecret', { encryptionKey: stack.encryptionKey }),
      plaintextSecret: new secretsmanager.Secret(this, 'PlaintextSecret', {
        encryptionKey: stack.encryptionKey,
        secretStringValue: SecretValue.unsafePlainText('not-a-real-password'),
      }),
      wildcardPolicy: new iam.ManagedPolicy(this, 'WildcardPolicy', {
        statements: [new iam.PolicyStatement({ actions: ['s3:*'], resources: ['*'] })],
      }),
      proxyWithRotatedSecret: proxy,
      customResourceWithoutTimeout: customResource,
      retainedNamedLogGroup: logGroup,
    };
  }
}
