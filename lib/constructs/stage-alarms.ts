/**
 * The alarms of one stack of a stage, each sent to the stage's alarm topic when it fires and when it clears.
 * Metric alarms for what CloudWatch measures (dead-letter queues, function errors, Aurora capacity and replica
 * lag, RDS Proxy borrow latency and authentication failures) and EventBridge rules for what only an event says
 * (a failed rotation, the data key scheduled for deletion), plus the cluster's RDS event subscription.
 *
 * Names are `<app>-<env>-<what>`, and every alarm's description says where its runbook is: docs/operations.md,
 * section "Alarms", which has an entry for each `<what>`.
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as rds from 'aws-cdk-lib/aws-rds';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/** When the alarms fire; see lib/config/schema.ts for each. */
export interface AlarmThresholds {
  readonly deadLetterMessages: number;
  readonly functionErrors: number;
  readonly acuUtilizationPercent: number;
  readonly proxyBorrowLatencyMillis: number;
  readonly proxyAuthFailures: number;
  readonly replicaLagMillis: number;
}

/** Properties of {@link StageAlarms}. */
export interface StageAlarmsProps {
  /** `<app>-<env>`: prefix of every alarm and rule name. */
  readonly namePrefix: string;
  /** The stage's alarm topic (an imported one in the stack that does not hold it). */
  readonly topic: sns.ITopic;
  /** When the alarms fire. */
  readonly thresholds: AlarmThresholds;
}

/** Cluster events worth a page: failovers, failures, maintenance that restarts, notifications (e.g. storage). */
export const CLUSTER_EVENT_CATEGORIES = ['failover', 'failure', 'maintenance', 'notification'] as const;

const RUNBOOK = 'Runbook: docs/operations.md, section "Alarms",';
const FIVE_MINUTES = Duration.minutes(5);

/** The alarms of one stack of a stage. */
export class StageAlarms extends Construct {
  /** Every metric alarm made here. */
  readonly alarms: cloudwatch.Alarm[] = [];
  /** Every EventBridge rule made here. */
  readonly rules: events.Rule[] = [];

  private readonly props: StageAlarmsProps;
  private readonly action: actions.SnsAction;

  constructor(scope: Construct, id: string, props: StageAlarmsProps) {
    super(scope, id);
    if (!/^[a-z][a-z0-9-]{1,40}$/.test(props.namePrefix)) {
      throw new Error(`StageAlarms ${this.node.path}: namePrefix must be lower-case letters, digits and hyphens, got "${props.namePrefix}"`);
    }
    for (const [name, value] of Object.entries(props.thresholds)) {
      if (!(typeof value === 'number' && value > 0)) throw new Error(`StageAlarms ${this.node.path}: thresholds.${name} must be a positive number, got ${value}`);
    }
    if (props.thresholds.acuUtilizationPercent > 100) {
      throw new Error(`StageAlarms ${this.node.path}: thresholds.acuUtilizationPercent must be at most 100, got ${props.thresholds.acuUtilizationPercent}`);
    }
    this.props = props;
    this.action = new actions.SnsAction(props.topic);
  }

  /** `dlq-<what>`: a failed asynchronous invocation landed in `queue`. */
  watchDeadLetterQueue(what: string, queue: sqs.IQueue): cloudwatch.Alarm {
    return this.alarm(`dlq-${what}`, {
      metric: queue.metricApproximateNumberOfMessagesVisible({ period: FIVE_MINUTES, statistic: cloudwatch.Stats.MAXIMUM }),
      threshold: this.props.thresholds.deadLetterMessages,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      description: `Messages in the dead-letter queue of ${what}: an asynchronous invocation failed every retry.`,
    });
  }

  /** `errors-<what>`: `fn` failed (threw, timed out or was throttled out of its reservation). */
  watchFunctionErrors(what: string, fn: lambda.IFunction, meaning: string): cloudwatch.Alarm {
    return this.alarm(`errors-${what}`, {
      metric: fn.metricErrors({ period: FIVE_MINUTES, statistic: cloudwatch.Stats.SUM }),
      threshold: this.props.thresholds.functionErrors,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      description: `Errors of ${what}: ${meaning}`,
    });
  }

  /** `acu-at-max` and, with readers, `replica-lag`: the cluster needs more capacity, or a reader falls behind. */
  watchCluster(clusterIdentifier: string, readers: number): void {
    const metric = (metricName: string, statistic: string) =>
      new cloudwatch.Metric({ namespace: 'AWS/RDS', metricName, dimensionsMap: { DBClusterIdentifier: clusterIdentifier }, period: FIVE_MINUTES, statistic });
    const { thresholds } = this.props;
    this.alarm('acu-at-max', {
      metric: metric('ACUUtilization', cloudwatch.Stats.AVERAGE),
      threshold: thresholds.acuUtilizationPercent,
      evaluationPeriods: 3,
      treatMissingData: cloudwatch.TreatMissingData.MISSING,
      description: `The writer has used ${thresholds.acuUtilizationPercent}% or more of maxCapacity for 15 minutes: queries queue for CPU and memory.`,
    });
    if (readers > 0) {
      this.alarm('replica-lag', {
        metric: metric('AuroraReplicaLagMaximum', cloudwatch.Stats.MAXIMUM),
        threshold: thresholds.replicaLagMillis,
        evaluationPeriods: 3,
        datapointsToAlarm: 2,
        treatMissingData: cloudwatch.TreatMissingData.MISSING,
        description: `A reader lagged the writer by ${thresholds.replicaLagMillis} ms or more in 2 of 3 five-minute periods: reads are stale, and a failover to it would wait.`,
      });
    }
  }

  /** `proxy-borrow-latency` and `proxy-auth-failures` of the RDS Proxy named `proxyName`. */
  watchProxy(proxyName: string): void {
    const metric = (metricName: string, statistic: string) =>
      new cloudwatch.Metric({ namespace: 'AWS/RDS', metricName, dimensionsMap: { ProxyName: proxyName }, period: FIVE_MINUTES, statistic });
    const { thresholds } = this.props;
    this.alarm('proxy-borrow-latency', {
      // Reported in microseconds.
      metric: metric('DatabaseConnectionsBorrowLatency', cloudwatch.Stats.AVERAGE),
      threshold: thresholds.proxyBorrowLatencyMillis * 1000,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      description: `Borrowing a connection from the proxy's pool took ${thresholds.proxyBorrowLatencyMillis} ms or more on average, in 2 of 3 five-minute periods: the pool is exhausted or the database is slow to accept connections.`,
    });
    this.alarm('proxy-auth-failures', {
      metric: metric('ClientConnectionsSetupFailedAuth', cloudwatch.Stats.SUM),
      threshold: thresholds.proxyAuthFailures,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      description: `${thresholds.proxyAuthFailures} or more client connections to the proxy failed authentication in 5 minutes: expired or wrongly scoped IAM tokens, a missing rds-db:connect grant, or someone guessing.`,
    });
  }

  /** `rotation-failed`: Secrets Manager reports a rotation of one of the account's secrets failed in this region. */
  reportRotationFailures(): events.Rule {
    return this.rule('rotation-failed', 'Secrets Manager rotation failed: a secret keeps its old password until rotation succeeds.', {
      source: ['aws.secretsmanager'],
      detailType: ['AWS Service Event via CloudTrail'],
      detail: { eventSource: ['secretsmanager.amazonaws.com'], eventName: ['RotationFailed', 'RotationAbandoned'] },
    });
  }

  /** `data-key-deletion`: someone scheduled `key` for deletion or disabled it (needs a CloudTrail trail). */
  reportKeyDeletion(key: kms.IKey): events.Rule {
    return this.rule('data-key-deletion', 'The data key was scheduled for deletion or disabled: every copy it encrypts, backups included, becomes unreadable when it is deleted.', {
      source: ['aws.kms'],
      detailType: ['AWS API Call via CloudTrail'],
      detail: {
        eventSource: ['kms.amazonaws.com'],
        eventName: ['ScheduleKeyDeletion', 'DisableKey'],
        resources: { ARN: [key.keyArn] },
      },
    });
  }

  /** `cluster-events`: RDS's own events of the cluster (failover, failure, maintenance, notification). */
  subscribeClusterEvents(clusterIdentifier: string): rds.CfnEventSubscription {
    return new rds.CfnEventSubscription(this, 'ClusterEvents', {
      subscriptionName: `${this.props.namePrefix}-cluster-events`,
      snsTopicArn: this.props.topic.topicArn,
      sourceType: 'db-cluster',
      sourceIds: [clusterIdentifier],
      eventCategories: [...CLUSTER_EVENT_CATEGORIES],
      enabled: true,
    });
  }

  private alarm(what: string, options: { metric: cloudwatch.IMetric; threshold: number; evaluationPeriods: number; datapointsToAlarm?: number; treatMissingData: cloudwatch.TreatMissingData; description: string }): cloudwatch.Alarm {
    const alarm = new cloudwatch.Alarm(this, idOf(what), {
      alarmName: `${this.props.namePrefix}-${what}`,
      alarmDescription: `${options.description} ${RUNBOOK} ${what}.`,
      metric: options.metric,
      threshold: options.threshold,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: options.evaluationPeriods,
      datapointsToAlarm: options.datapointsToAlarm,
      treatMissingData: options.treatMissingData,
      actionsEnabled: true,
    });
    alarm.addAlarmAction(this.action);
    alarm.addOkAction(this.action);
    this.alarms.push(alarm);
    return alarm;
  }

  private rule(what: string, description: string, eventPattern: events.EventPattern): events.Rule {
    const rule = new events.Rule(this, idOf(what), {
      ruleName: `${this.props.namePrefix}-${what}`,
      description: `${description} ${RUNBOOK} ${what}.`,
      eventPattern,
      // The topic's own policies already let EventBridge of this account publish and use the key; the library's
      // SnsTopic target would add a key statement for EventBridge without the account condition.
      targets: [{ bind: () => ({ arn: this.props.topic.topicArn }) }],
    });
    this.rules.push(rule);
    return rule;
  }
}

function idOf(what: string): string {
  return what.split('-').map((w) => w[0].toUpperCase() + w.slice(1)).join('');
}
