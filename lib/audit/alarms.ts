/**
 * Every alarm of a template and who it tells: CloudWatch metric alarms, EventBridge rules and RDS event
 * subscriptions. An alarm that tells no one (no action, actions disabled, a rule without a target, a disabled
 * subscription) is a failure: it would fire unseen.
 */
import { asList, asNumber, asObject, prop, render, sortBy, resourcesOfType, type CfnTemplate } from './cfn';

/** One alarm of the template. */
export interface AlarmFacts {
  readonly resource: string;
  /** `metric` (AWS::CloudWatch::Alarm), `event` (AWS::Events::Rule), `rds-events` (AWS::RDS::EventSubscription). */
  readonly kind: 'metric' | 'event' | 'rds-events';
  readonly name?: string;
  /** What it watches: `AWS/RDS ACUUtilization (DBClusterIdentifier=…)`, the rule's event, or the RDS source. */
  readonly watches: string;
  /** When it fires: `Average >= 80 over 300 s, 3 of 3`; the event names; the RDS categories. */
  readonly firesWhen: string;
  /** Where it is sent (rendered ARNs or logical ids); empty when nowhere. */
  readonly notifies: string[];
  /** Whether it tells anyone: actions enabled and at least one. */
  readonly notifiesAnyone: boolean;
}

const COMPARISONS: Record<string, string> = {
  GreaterThanOrEqualToThreshold: '>=',
  GreaterThanThreshold: '>',
  LessThanThreshold: '<',
  LessThanOrEqualToThreshold: '<=',
};

/** Every alarm, rule and RDS event subscription of `template`, sorted by kind and name. */
export function findAlarms(template: CfnTemplate): AlarmFacts[] {
  const alarms: AlarmFacts[] = [];
  for (const { logicalId: id, resource } of resourcesOfType(template, 'AWS::CloudWatch::Alarm')) {
    const dimensions = asList(prop(resource, 'Dimensions')).map((d) => `${render(asObject(d)?.Name)}=${render(asObject(d)?.Value)}`);
    const period = asNumber(prop(resource, 'Period'));
    const evaluation = asNumber(prop(resource, 'EvaluationPeriods'));
    const notifies = asList(prop(resource, 'AlarmActions')).map(render);
    alarms.push({
      resource: id,
      kind: 'metric',
      ...(prop(resource, 'AlarmName') ? { name: render(prop(resource, 'AlarmName')) } : {}),
      watches: `${render(prop(resource, 'Namespace'))} ${render(prop(resource, 'MetricName'))}${dimensions.length ? ` (${dimensions.join(', ')})` : ''}`,
      firesWhen: `${render(prop(resource, 'Statistic') ?? prop(resource, 'ExtendedStatistic'))} ${COMPARISONS[render(prop(resource, 'ComparisonOperator'))] ?? render(prop(resource, 'ComparisonOperator'))} ${render(prop(resource, 'Threshold'))}` +
        ` over ${period ?? '?'} s, ${asNumber(prop(resource, 'DatapointsToAlarm')) ?? evaluation} of ${evaluation}`,
      notifies,
      notifiesAnyone: !isFalse(prop(resource, 'ActionsEnabled')) && notifies.length > 0,
    });
  }
  for (const { logicalId: id, resource } of resourcesOfType(template, 'AWS::Events::Rule')) {
    const pattern = asObject(prop(resource, 'EventPattern'));
    if (!pattern) continue; // A schedule, not an alarm.
    const detail = asObject(pattern.detail);
    const notifies = asList(prop(resource, 'Targets')).map((t) => render(asObject(t)?.Arn));
    alarms.push({
      resource: id,
      kind: 'event',
      ...(prop(resource, 'Name') ? { name: render(prop(resource, 'Name')) } : {}),
      watches: `${render(pattern.source)}: ${render(pattern['detail-type'])}`,
      firesWhen: detail?.eventName ? render(detail.eventName) : render(pattern['detail-type']),
      notifies,
      notifiesAnyone: render(prop(resource, 'State') ?? 'ENABLED') === 'ENABLED' && notifies.length > 0,
    });
  }
  for (const { logicalId: id, resource } of resourcesOfType(template, 'AWS::RDS::EventSubscription')) {
    const topic = prop(resource, 'SnsTopicArn');
    alarms.push({
      resource: id,
      kind: 'rds-events',
      ...(prop(resource, 'SubscriptionName') ? { name: render(prop(resource, 'SubscriptionName')) } : {}),
      watches: `${render(prop(resource, 'SourceType'))} ${render(prop(resource, 'SourceIds')) || '(every source)'}`,
      firesWhen: render(prop(resource, 'EventCategories')) || 'every category',
      notifies: topic ? [render(topic)] : [],
      notifiesAnyone: !isFalse(prop(resource, 'Enabled')) && topic !== undefined,
    });
  }
  return sortBy(alarms, (a) => [a.kind, a.name ?? a.resource]);
}

/** The alarms that tell no one. */
export function alarmsNotifyingNoOne(alarms: readonly AlarmFacts[]): AlarmFacts[] {
  return alarms.filter((a) => !a.notifiesAnyone);
}

/** CloudFormation booleans may be written as strings. */
function isFalse(value: unknown): boolean {
  return value === false || value === 'false';
}
