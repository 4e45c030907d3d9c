/**
 * Alarms per stage (issue 21): read from the real synthesized templates of every stage, each alarm the issue
 * names, with the thresholds of the stage's configuration, sent to the stage's encrypted topic; the topic's key,
 * policy and subscriptions; the EventBridge rules and the RDS event subscription; the audit's listing of each,
 * and its failure for an alarm that tells no one; the configuration's refusal of a stage outside dev that pages
 * no one; and the docs/operations.md runbook entry every alarm's description points to.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- templates are untyped JSON read back from cdk.out */
import { App, Stack } from 'aws-cdk-lib';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { auditTemplate, findAlarms, templateFailures, type CfnTemplate } from '../../lib/audit';
import { ConfigError, loadEnvironmentConfig } from '../../lib/config';
import { StageAlarms } from '../../lib/constructs/stage-alarms';
import { configError } from './config-errors';
import { resourcesOfType, SHIPPED_STAGES, type Synthesized, synthesizedApp } from './synth';

const ROOT = path.resolve(__dirname, '..', '..');

let synth: Synthesized;
beforeAll(async () => {
  synth = await synthesizedApp();
}, 600_000);

const STAGES = SHIPPED_STAGES;

const templateOf = (stage: string, name: 'DataStore' | 'DataTier'): any =>
  synth.stageStacks[stage].find((s) => s.displayName === `${stage}/${name}`)!.template;
const one = (template: any, type: string): [string, any] => {
  const found = Object.entries(resourcesOfType(template, type));
  expect(found).toHaveLength(1);
  return found[0];
};
const alarmsByName = (template: any): Record<string, any> =>
  Object.fromEntries(Object.values(resourcesOfType(template, 'AWS::CloudWatch::Alarm')).map((a: any) => [a.Properties.AlarmName, a.Properties]));

describe.each(STAGES)('the alarms of %s', (stage, config) => {
  const prefix = `${config.appName}-${config.name}`;
  const t = config.alarms.thresholds;

  it('has an SNS topic encrypted with a key of its own (not the data key), which only the publishing services of this account may use', () => {
    const store = templateOf(stage, 'DataStore');
    const [topicId, topic] = one(store, 'AWS::SNS::Topic');
    expect(topic.Properties.TopicName).toBe(`${prefix}-alarms`);
    const keyId = topic.Properties.KmsMasterKeyId['Fn::GetAtt'][0];
    expect(store.Resources[keyId].Type).toBe('AWS::KMS::Key');
    expect(store.Resources[keyId].Properties.EnableKeyRotation).toBe(true);
    const aliases = Object.values(resourcesOfType(store, 'AWS::KMS::Alias')).map((a: any) => [a.Properties.AliasName, a.Properties.TargetKeyId['Fn::GetAtt'][0]]);
    expect(Object.fromEntries(aliases)).toEqual({ [`alias/${config.appName}/${config.name}/alarms`]: keyId, [`alias/${config.appName}/${config.name}/data`]: expect.not.stringMatching(keyId) });
    const publishers = store.Resources[keyId].Properties.KeyPolicy.Statement.find((s: any) => s.Sid === 'AllowAlarmPublishersOfThisAccount');
    expect(publishers.Principal.Service.sort()).toEqual(['cloudwatch.amazonaws.com', 'events.amazonaws.com', 'events.rds.amazonaws.com']);
    expect(publishers.Condition.StringEquals['aws:SourceAccount']).toEqual({ Ref: 'AWS::AccountId' });
    expect(publishers.Action.sort()).toEqual(['kms:Decrypt', 'kms:GenerateDataKey*']);

    const [, policy] = one(store, 'AWS::SNS::TopicPolicy');
    const statements = policy.Properties.PolicyDocument.Statement;
    expect(statements.find((s: any) => s.Effect === 'Deny' && s.Condition?.Bool?.['aws:SecureTransport'] === 'false')).toBeDefined();
    const allowed = statements.filter((s: any) => s.Effect === 'Allow').flatMap((s: any) => [s.Principal.Service].flat());
    expect(new Set(allowed)).toEqual(new Set(['cloudwatch.amazonaws.com', 'events.amazonaws.com', 'events.rds.amazonaws.com']));

    const subscriptions = Object.values(resourcesOfType(store, 'AWS::SNS::Subscription')).map((s: any) => ({ protocol: s.Properties.Protocol, endpoint: s.Properties.Endpoint, topic: s.Properties.TopicArn.Ref }));
    expect(subscriptions).toEqual(config.alarms.subscriptions.map((s) => ({ ...s, topic: topicId })));
  });

  it('alarms on the stateful stack’s dead-letter queue, ACU at max, replica lag, proxy borrow latency and auth failures, at the configured thresholds', () => {
    const store = templateOf(stage, 'DataStore');
    const [topicId] = one(store, 'AWS::SNS::Topic');
    const alarms = alarmsByName(store);
    const expected: Record<string, [string, number]> = {
      [`${prefix}-dlq-data-store`]: ['ApproximateNumberOfMessagesVisible', t.deadLetterMessages],
      [`${prefix}-acu-at-max`]: ['ACUUtilization', t.acuUtilizationPercent],
      [`${prefix}-proxy-borrow-latency`]: ['DatabaseConnectionsBorrowLatency', t.proxyBorrowLatencyMillis * 1000],
      [`${prefix}-proxy-auth-failures`]: ['ClientConnectionsSetupFailedAuth', t.proxyAuthFailures],
      ...(config.database.readers > 0 ? { [`${prefix}-replica-lag`]: ['AuroraReplicaLagMaximum', t.replicaLagMillis] } : {}),
    };
    expect(Object.keys(alarms).sort()).toEqual(Object.keys(expected).sort());
    for (const [name, [metric, threshold]] of Object.entries(expected)) {
      expect({ name, metric: alarms[name].MetricName, threshold: alarms[name].Threshold }).toEqual({ name, metric, threshold });
      expect(alarms[name].ComparisonOperator).toBe('GreaterThanOrEqualToThreshold');
      expect(alarms[name].AlarmActions).toEqual([{ Ref: topicId }]);
      expect(alarms[name].OKActions).toEqual([{ Ref: topicId }]);
    }
    const [clusterId] = one(store, 'AWS::RDS::DBCluster');
    const [proxyId] = one(store, 'AWS::RDS::DBProxy');
    expect(alarms[`${prefix}-acu-at-max`].Dimensions).toEqual([{ Name: 'DBClusterIdentifier', Value: { Ref: clusterId } }]);
    expect(alarms[`${prefix}-proxy-auth-failures`].Dimensions).toEqual([{ Name: 'ProxyName', Value: { Ref: proxyId } }]);
    const [queueId] = one(store, 'AWS::SQS::Queue');
    expect(alarms[`${prefix}-dlq-data-store`].Dimensions).toEqual([{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queueId, 'QueueName'] } }]);
  });

  it('alarms on the data tier’s dead-letter queue, each Cognito trigger’s errors and the migrations’ errors, through the topic the stateful stack publishes', () => {
    const tier = templateOf(stage, 'DataTier');
    const alarms = alarmsByName(tier);
    const functionOf = (name: string) => alarms[name].Dimensions.find((d: any) => d.Name === 'FunctionName').Value.Ref;
    expect(Object.keys(alarms).sort()).toEqual([
      `${prefix}-dlq-data-tier`, `${prefix}-errors-migrations`, `${prefix}-errors-post-confirmation`, `${prefix}-errors-pre-token-generation`,
    ]);
    const pool = Object.values(resourcesOfType(tier, 'AWS::Cognito::UserPool'))[0] as any;
    expect(functionOf(`${prefix}-errors-post-confirmation`)).toBe(pool.Properties.LambdaConfig.PostConfirmation['Fn::GetAtt'][0]);
    expect(functionOf(`${prefix}-errors-pre-token-generation`)).toBe(pool.Properties.LambdaConfig.PreTokenGenerationConfig.LambdaArn['Fn::GetAtt'][0]);
    expect(functionOf(`${prefix}-errors-migrations`)).toMatch(/^MigrationsFunction/);
    for (const alarm of Object.values(alarms)) {
      expect(alarm.Threshold).toBe(alarm.MetricName === 'Errors' ? t.functionErrors : t.deadLetterMessages);
      expect(alarm.AlarmActions).toEqual([`{{resolve:ssm:/${config.appName}/${config.name}/alarms/topic-arn}}`]);
    }
    const store = templateOf(stage, 'DataStore');
    const [topicId] = one(store, 'AWS::SNS::Topic');
    const published = Object.values(resourcesOfType(store, 'AWS::SSM::Parameter')).find((p: any) => p.Properties.Name === `/${config.appName}/${config.name}/alarms/topic-arn`) as any;
    expect(published.Properties.Value).toEqual({ Ref: topicId });
  });

  it('sends failed rotations and the data key’s scheduled deletion from EventBridge, and the cluster’s RDS events, to the topic', () => {
    const store = templateOf(stage, 'DataStore');
    const [topicId] = one(store, 'AWS::SNS::Topic');
    const rules: Record<string, any> = Object.fromEntries(Object.values(resourcesOfType(store, 'AWS::Events::Rule')).map((r: any) => [r.Properties.Name, r.Properties]));
    expect(Object.keys(rules).sort()).toEqual([`${prefix}-data-key-deletion`, `${prefix}-rotation-failed`]);
    const rotation = rules[`${prefix}-rotation-failed`];
    expect(rotation.EventPattern).toEqual({
      source: ['aws.secretsmanager'],
      'detail-type': ['AWS Service Event via CloudTrail'],
      detail: { eventSource: ['secretsmanager.amazonaws.com'], eventName: ['RotationFailed', 'RotationAbandoned'] },
    });
    const deletion = rules[`${prefix}-data-key-deletion`];
    const dataKeyAlias = Object.values(resourcesOfType(store, 'AWS::KMS::Alias')).find((a: any) => a.Properties.AliasName === `alias/${config.appName}/${config.name}/data`) as any;
    expect(deletion.EventPattern.detail.eventName).toEqual(['ScheduleKeyDeletion', 'DisableKey']);
    expect(deletion.EventPattern.detail.resources.ARN).toEqual([dataKeyAlias.Properties.TargetKeyId]);
    for (const rule of Object.values(rules)) expect(rule.Targets.map((x: any) => x.Arn)).toEqual([{ Ref: topicId }]);

    const [, subscription] = one(store, 'AWS::RDS::EventSubscription');
    const [clusterId] = one(store, 'AWS::RDS::DBCluster');
    expect(subscription.Properties).toMatchObject({
      SourceType: 'db-cluster',
      SourceIds: [{ Ref: clusterId }],
      SnsTopicArn: { Ref: topicId },
      Enabled: true,
      EventCategories: ['failover', 'failure', 'maintenance', 'notification'],
    });
  });
});

describe('the alarms in the audit and the runbook', () => {
  const operations = fs.readFileSync(path.join(ROOT, 'docs', 'operations.md'), 'utf8');

  it('lists every alarm, rule and event subscription of every stack, each telling the topic', () => {
    for (const [stage] of STAGES) {
      for (const name of ['DataStore', 'DataTier'] as const) {
        const template = templateOf(stage, name);
        const listed = findAlarms(template);
        const expected = ['AWS::CloudWatch::Alarm', 'AWS::Events::Rule', 'AWS::RDS::EventSubscription'].flatMap((type) => Object.keys(resourcesOfType(template, type)));
        expect(listed.map((a) => a.resource).sort()).toEqual(expected.sort());
        expect(listed.every((a) => a.notifiesAnyone && a.notifies.length === 1)).toBe(true);
      }
    }
  });

  it('has a runbook entry, in docs/operations.md, for the name every alarm’s description points to', () => {
    const section = operations.slice(operations.indexOf('\n## Alarms'));
    expect(section.length).toBeLessThan(operations.length);
    const pointedTo = new Set<string>();
    for (const [stage] of STAGES) {
      for (const name of ['DataStore', 'DataTier'] as const) {
        for (const r of Object.values(templateOf(stage, name).Resources) as any[]) {
          const text = r.Properties?.AlarmDescription ?? r.Properties?.Description ?? '';
          const m = /section "Alarms", ([a-z-]+)\.$/.exec(text);
          if (m) pointedTo.add(m[1]);
        }
      }
    }
    expect(pointedTo.size).toBe(11);
    for (const what of pointedTo) expect({ what, documented: section.includes(`### \`${what}\``) }).toEqual({ what, documented: true });
    expect(section).toContain('### `cluster-events`');
  });

  it('fails an alarm with no action, actions disabled, a rule with no target, and a disabled RDS event subscription; not one that tells the topic', () => {
    const alarm = (props: Record<string, unknown>) => ({ Type: 'AWS::CloudWatch::Alarm', Properties: { AlarmName: 'a', Namespace: 'AWS/SQS', MetricName: 'M', Threshold: 1, EvaluationPeriods: 1, Period: 300, Statistic: 'Sum', ComparisonOperator: 'GreaterThanOrEqualToThreshold', ...props } });
    const template = {
      Resources: {
        Topic: { Type: 'AWS::SNS::Topic', Properties: { KmsMasterKeyId: 'alias/x' } },
        Told: alarm({ AlarmActions: [{ Ref: 'Topic' }] }),
        NoAction: alarm({}),
        Disabled: alarm({ AlarmActions: [{ Ref: 'Topic' }], ActionsEnabled: false }),
        RuleWithoutTarget: { Type: 'AWS::Events::Rule', Properties: { EventPattern: { source: ['aws.kms'] } } },
        RuleTold: { Type: 'AWS::Events::Rule', Properties: { EventPattern: { source: ['aws.kms'] }, Targets: [{ Arn: { Ref: 'Topic' }, Id: 't' }] } },
        Schedule: { Type: 'AWS::Events::Rule', Properties: { ScheduleExpression: 'rate(1 day)' } },
        SubscriptionOff: { Type: 'AWS::RDS::EventSubscription', Properties: { SnsTopicArn: { Ref: 'Topic' }, SourceType: 'db-cluster', Enabled: false } },
      },
    } as unknown as CfnTemplate;
    const failures = templateFailures(auditTemplate(template)).filter((f) => f.kind === 'alarm-notifies-no-one').map((f) => f.resource);
    expect(failures.sort()).toEqual(['Disabled', 'NoAction', 'RuleWithoutTarget', 'SubscriptionOff']);
    expect(findAlarms(template).find((a) => a.resource === 'Told')).toMatchObject({ firesWhen: 'Sum >= 1 over 300 s, 1 of 1', notifies: ['<Topic>'] });
  });
});

describe('alarm configuration', () => {
  it('refuses a stage outside dev whose alarms reach no one, naming the field; dev may have none', () => {
    for (const name of ['staging', 'prod']) {
      expect(configError(name, { alarms: { subscriptions: [] } }).issues).toEqual([
        { path: 'alarms.subscriptions', message: expect.stringMatching(/reach someone/) },
      ]);
    }
    expect(loadEnvironmentConfig('dev', { alarms: { subscriptions: [] } }).alarms.subscriptions).toEqual([]);
  });

  it('refuses a bad subscription or threshold, naming the field', () => {
    const paths = (e: ConfigError) => e.issues.map((i) => i.path);
    expect(paths(configError('prod', { alarms: { subscriptions: [{ protocol: 'email', endpoint: 'not-an-address' }] } }))).toEqual(['alarms.subscriptions.0.endpoint']);
    expect(paths(configError('prod', { alarms: { subscriptions: [{ protocol: 'https', endpoint: 'http://pager.example.com/hook' }] } }))).toEqual(['alarms.subscriptions.0.endpoint']);
    expect(paths(configError('dev', { alarms: { thresholds: { acuUtilizationPercent: 120 } } }))).toEqual(['alarms.thresholds.acuUtilizationPercent']);
    expect(paths(configError('dev', { alarms: { thresholds: { proxyAuthFailures: 0 } } }))).toEqual(['alarms.thresholds.proxyAuthFailures']);
  });

  it('StageAlarms refuses a threshold that is not positive, naming it', () => {
    const stack = new Stack(new App(), 'S');
    const topic = sns.Topic.fromTopicArn(stack, 'T', 'arn:aws:sns:eu-west-1:123456789012:t');
    const thresholds = loadEnvironmentConfig('dev').alarms.thresholds;
    expect(() => new StageAlarms(stack, 'A', { namePrefix: 'saas-dev', topic, thresholds: { ...thresholds, replicaLagMillis: 0 } })).toThrow(/thresholds\.replicaLagMillis must be a positive number/);
    expect(() => new StageAlarms(stack, 'B', { namePrefix: 'Saas Dev', topic, thresholds })).toThrow(/namePrefix/);
  });
});
