/**
 * The topic every alarm of a stage is sent to, encrypted with a key of its own, and its subscriptions.
 *
 * Its own key, not the data key: the data key scheduled for deletion is one of the things the topic must report,
 * and a topic encrypted with a key that is pending deletion delivers nothing. The key lets exactly the services
 * that publish here (CloudWatch alarms, EventBridge rules, RDS event subscriptions) use it, for this account only,
 * and the topic policy lets the same three publish, over TLS.
 */
import { Aws, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { denyGrantsExceptForAwsServices } from './data-encryption-key';

/** Who is told of an alarm: an e-mail address or an HTTPS endpoint. */
export interface AlarmSubscription {
  readonly protocol: 'email' | 'https';
  readonly endpoint: string;
}

/** The services that publish to the alarm topic. */
export const ALARM_PUBLISHERS = ['cloudwatch.amazonaws.com', 'events.amazonaws.com', 'events.rds.amazonaws.com'] as const;

/** Properties of an {@link AlarmTopic}. */
export interface AlarmTopicProps {
  /** Name of the topic, e.g. `saas-prod-alarms`. */
  readonly topicName: string;
  /** Alias of its key, without `alias/`. */
  readonly keyAlias: string;
  /**
   * Who is told.
   * @default - nobody: the alarms reach the topic only
   */
  readonly subscriptions?: readonly AlarmSubscription[];
  /**
   * What happens to the key when it leaves the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/** An encrypted SNS topic for a stage's alarms, with its subscriptions. */
export class AlarmTopic extends Construct {
  /** The topic. */
  readonly topic: sns.Topic;
  /** The topic's own key. */
  readonly key: kms.Key;

  constructor(scope: Construct, id: string, props: AlarmTopicProps) {
    super(scope, id);
    if (!/^[A-Za-z0-9_-]{1,256}$/.test(props.topicName)) {
      throw new Error(`AlarmTopic ${this.node.path}: topicName must be letters, digits, _ and -, got "${props.topicName}"`);
    }
    for (const [i, s] of (props.subscriptions ?? []).entries()) {
      const valid = s.protocol === 'email' ? /^[^@\s]+@[^@\s]+$/.test(s.endpoint) : s.endpoint.startsWith('https://');
      if (!valid) throw new Error(`AlarmTopic ${this.node.path}: subscriptions[${i}].endpoint is not a valid ${s.protocol} endpoint: "${s.endpoint}"`);
    }

    this.key = new kms.Key(this, 'Key', {
      alias: `alias/${props.keyAlias}`,
      description: `Encrypts the alarm topic ${props.topicName}`,
      enableKeyRotation: true,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    denyGrantsExceptForAwsServices(this.key);
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowAlarmPublishersOfThisAccount',
        principals: ALARM_PUBLISHERS.map((service) => new iam.ServicePrincipal(service)),
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } },
      }),
    );

    this.topic = new sns.Topic(this, 'Topic', {
      topicName: props.topicName,
      displayName: `Alarms of ${props.topicName.replace(/-alarms$/, '')}`,
      masterKey: this.key,
      enforceSSL: true,
    });
    // A topic policy replaces SNS's default one, which let the account's services publish: say who may.
    this.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowAlarmPublishersOfThisAccount',
        principals: ALARM_PUBLISHERS.map((service) => new iam.ServicePrincipal(service)),
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } },
      }),
    );
    for (const s of props.subscriptions ?? []) {
      this.topic.addSubscription(s.protocol === 'email' ? new subscriptions.EmailSubscription(s.endpoint) : new subscriptions.UrlSubscription(s.endpoint, { protocol: sns.SubscriptionProtocol.HTTPS }));
    }
  }
}
