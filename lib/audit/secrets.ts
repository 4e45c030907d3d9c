/**
 * Every Secrets Manager secret with its key, how its value is made, its
 * rotation schedule, and to whom its resource policy denies the value. A
 * rotation schedule or resource policy names its secret directly or through
 * the secret's target attachment (whose Ref is the secret's ARN); both are
 * followed.
 */
import {
  deletionPolicy,
  asList,
  asObject,
  isTrue,
  prop,
  referencedResource,
  render,
  resourcesOfType,
  type CfnResource,
  type CfnTemplate,
} from './cfn';

/** The rotation of a secret. */
export interface Rotation {
  /** Logical id of the AWS::SecretsManager::RotationSchedule. */
  readonly schedule: string;
  /** `rate(30 days)`, `cron(...)`, or `every N days`. */
  readonly every: string;
  /** Rotation window, when set. */
  readonly window?: string;
  /** What rotates: an AWS hosted rotation type (`PostgreSQLMultiUser`) or the rotation function. */
  readonly rotatedBy: string;
  /** Whether CloudFormation rotates as soon as the schedule is created or changed. */
  readonly rotateImmediately: boolean;
  /** For multi-user rotation: the secret whose user alters this one. */
  readonly masterSecret?: string;
}

/** A secret of the template. */
export interface SecretFacts {
  readonly resource: string;
  readonly name?: string;
  /** Key logical id or rendered key; `aws/secretsmanager` when none is set. */
  readonly key: string;
  /** `generated` (GenerateSecretString), `literal` (a value in the template), `reference` (dynamic reference), or `empty`. */
  readonly value: 'generated' | 'literal' | 'reference' | 'empty';
  /** Logical id of the database the secret is attached to. */
  readonly attachedTo?: string;
  readonly rotation?: Rotation;
  readonly onDelete: string;
  /** Principal ARN patterns its resource policy denies `secretsmanager:GetSecretValue` to, whatever they are allowed. */
  readonly valueDeniedTo: string[];
  /** Logical ids of the database clusters whose master password it holds. */
  readonly masterOf: string[];
}

/** Every secret of `template`, sorted by logical id. */
export function findSecrets(template: CfnTemplate): SecretFacts[] {
  const attachments = resourcesOfType(template, 'AWS::SecretsManager::SecretTargetAttachment');
  const secretOf = (value: unknown): string | undefined => {
    const target = referencedResource(template, value);
    if (!target) return undefined;
    const resource = template.Resources![target];
    return resource.Type === 'AWS::SecretsManager::SecretTargetAttachment'
      ? referencedResource(template, prop(resource, 'SecretId'))
      : target;
  };
  const schedules = resourcesOfType(template, 'AWS::SecretsManager::RotationSchedule');
  const policies = resourcesOfType(template, 'AWS::SecretsManager::ResourcePolicy');
  const clusters = resourcesOfType(template, 'AWS::RDS::DBCluster');

  return resourcesOfType(template, 'AWS::SecretsManager::Secret').map(({ logicalId, resource }) => {
    const attachment = attachments.find((a) => referencedResource(template, prop(a.resource, 'SecretId')) === logicalId);
    const schedule = schedules.find((s) => secretOf(prop(s.resource, 'SecretId')) === logicalId);
    const attachedTo = attachment ? referencedResource(template, prop(attachment.resource, 'TargetId')) : undefined;
    const key = prop(resource, 'KmsKeyId');
    return {
      resource: logicalId,
      ...(prop(resource, 'Name') !== undefined ? { name: render(prop(resource, 'Name')) } : {}),
      key: key === undefined ? 'aws/secretsmanager' : (referencedResource(template, key) ?? render(key)),
      value: valueKind(resource),
      ...(attachedTo ? { attachedTo } : {}),
      ...(schedule ? { rotation: rotation(template, schedule.logicalId, schedule.resource, secretOf) } : {}),
      onDelete: deletionPolicy(resource),
      valueDeniedTo: policies
        .filter((p) => secretOf(prop(p.resource, 'SecretId')) === logicalId)
        .flatMap((p) => principalsDeniedTheValue(prop(p.resource, 'ResourcePolicy')).map(render)),
      masterOf: clusters
        .filter((c) => refersTo(prop(c.resource, 'MasterUserPassword'), [logicalId, ...(attachment ? [attachment.logicalId] : [])]))
        .map((c) => c.logicalId),
    };
  });
}

/** Whether `value` (a dynamic reference built with Fn::Join, say) holds a Ref to one of `logicalIds`. */
function refersTo(value: unknown, logicalIds: readonly string[]): boolean {
  const text = JSON.stringify(value ?? null);
  return logicalIds.some((id) => text.includes(`{"Ref":"${id}"}`));
}

/**
 * The `aws:PrincipalArn` patterns of a secret resource policy's Deny statements on GetSecretValue (for every
 * principal), as the template writes them (intrinsics unresolved): `'*'` for a Deny without condition. The audit
 * and the preflight both read them, and render them their own way.
 */
export function principalsDeniedTheValue(document: unknown): unknown[] {
  return asList(asObject(document)?.Statement).flatMap((entry) => {
    const statement = asObject(entry);
    const actions = asList(statement?.Action).map(render);
    if (statement?.Effect !== 'Deny' || !actions.some((a) => a === 'secretsmanager:GetSecretValue' || a === 'secretsmanager:*' || a === '*')) return [];
    const principal = asObject(statement.Principal);
    if (statement.Principal !== '*' && render(principal?.AWS) !== '*') return [];
    const conditions = asObject(statement.Condition);
    if (conditions === undefined) return ['*'];
    const arnLike = asObject(conditions.ArnLike) ?? asObject(conditions.ArnEquals) ?? asObject(conditions.StringLike) ?? asObject(conditions.StringEquals);
    return Object.keys(conditions).length === 1 && arnLike && Object.keys(arnLike).length === 1 && arnLike['aws:PrincipalArn'] !== undefined
      ? asList(arnLike['aws:PrincipalArn'])
      : [];
  });
}

function valueKind(resource: CfnResource): SecretFacts['value'] {
  if (prop(resource, 'GenerateSecretString') !== undefined) return 'generated';
  const value = prop(resource, 'SecretString');
  if (value === undefined) return 'empty';
  // A dynamic reference resolves at deploy time: the template holds no value.
  return typeof value === 'string' && !/^\{\{resolve:/.test(value) ? 'literal' : 'reference';
}

function rotation(
  template: CfnTemplate,
  logicalId: string,
  schedule: CfnResource,
  secretOf: (value: unknown) => string | undefined,
): Rotation {
  const rules = asObject(prop(schedule, 'RotationRules'));
  const hosted = asObject(prop(schedule, 'HostedRotationLambda'));
  const every =
    rules?.ScheduleExpression !== undefined
      ? render(rules.ScheduleExpression)
      : rules?.AutomaticallyAfterDays !== undefined
        ? `every ${render(rules.AutomaticallyAfterDays)} days`
        : 'no schedule';
  const fn = prop(schedule, 'RotationLambdaARN');
  const master = hosted?.MasterSecretArn !== undefined ? secretOf(hosted.MasterSecretArn) : undefined;
  return {
    schedule: logicalId,
    every,
    ...(rules?.Duration !== undefined ? { window: render(rules.Duration) } : {}),
    rotatedBy: hosted ? `hosted ${render(hosted.RotationType)}` : fn !== undefined ? (referencedResource(template, fn) ?? render(fn)) : 'unknown',
    rotateImmediately: prop(schedule, 'RotateImmediatelyOnUpdate') === undefined || isTrue(prop(schedule, 'RotateImmediatelyOnUpdate')),
    ...(master ? { masterSecret: master } : {}),
  };
}

/** The master secrets of clusters whose resource policy denies the value to no principal: whoever deploys may read them. */
export function masterSecretsDeniedToNoOne(secrets: readonly SecretFacts[]): SecretFacts[] {
  return secrets.filter((s) => s.masterOf.length > 0 && s.valueDeniedTo.length === 0);
}

/** Secrets that have no rotation schedule (or one without a schedule expression). */
export function secretsWithoutRotation(secrets: readonly SecretFacts[]): SecretFacts[] {
  return secrets.filter((s) => !s.rotation || s.rotation.every === 'no schedule');
}
