/**
 * What makes a deploy fail on day 1, day 2 or day 30, as far as the template shows it: custom resources and
 * their service timeouts (without one, a lost answer holds the deploy for CloudFormation's hour), resources kept
 * when the stack lets go of them (a named one kept by a plain Retain survives a failed first create, and the
 * retry fails on "already exists"), and how each RDS Proxy authenticates (a secret rotated with alternating users
 * names the clone user after its first rotation, and the proxy then has no credentials for the user it was
 * given: aws/aws-cdk#25568).
 */
import { asList, asObject, deletionPolicy, prop, referencedResource, render, resourcesOfType, sortBy, type CfnTemplate } from './cfn';
import type { SecretFacts } from './secrets';

/** A custom resource and its service timeout. */
export interface CustomResourceFacts {
  readonly resource: string;
  readonly type: string;
  /** Seconds; absent when CloudFormation waits its default hour. */
  readonly serviceTimeoutSeconds?: number;
}

/** A resource CloudFormation keeps when it leaves the stack (or when a create rolls back). */
export interface RetainedResource {
  readonly resource: string;
  readonly type: string;
  /** Its name, when it has one that must be unique (a retry then needs it free). */
  readonly name?: string;
  /** `Retain` (kept even by a failed create's rollback) or `RetainExceptOnCreate`. */
  readonly onDelete: string;
}

/** How an RDS Proxy logs in to its database. */
export interface ProxyAuthentication {
  readonly proxy: string;
  /** `IAM_AUTH` (end to end) or `NONE` (the secrets below). */
  readonly defaultAuthScheme: string;
  /** The secrets it reads, and how each rotates. */
  readonly secrets: { readonly secret: string; readonly rotatedBy: string }[];
}

/** The deploy-related facts of one template. */
export interface DeployFacts {
  readonly customResources: CustomResourceFacts[];
  readonly retained: RetainedResource[];
  readonly proxies: ProxyAuthentication[];
}

/**
 * The property that names a resource, by type: names a failed create must leave free for the retry. Only names
 * that are unique in an account and region (or globally) count; a user pool's name, for one, does not.
 */
export const NAME_PROPERTIES: Readonly<Record<string, string>> = {
  'AWS::RDS::DBCluster': 'DBClusterIdentifier',
  'AWS::RDS::DBInstance': 'DBInstanceIdentifier',
  'AWS::RDS::DBProxy': 'DBProxyName',
  'AWS::RDS::DBClusterParameterGroup': 'DBClusterParameterGroupName',
  'AWS::RDS::DBSubnetGroup': 'DBSubnetGroupName',
  'AWS::SecretsManager::Secret': 'Name',
  'AWS::Logs::LogGroup': 'LogGroupName',
  'AWS::KMS::Alias': 'AliasName',
  'AWS::SQS::Queue': 'QueueName',
  'AWS::SNS::Topic': 'TopicName',
  'AWS::S3::Bucket': 'BucketName',
  'AWS::DynamoDB::Table': 'TableName',
  'AWS::Lambda::Function': 'FunctionName',
  'AWS::SSM::Parameter': 'Name',
  'AWS::IAM::Role': 'RoleName',
  'AWS::IAM::ManagedPolicy': 'ManagedPolicyName',
  'AWS::Cognito::UserPoolDomain': 'Domain',
  'AWS::EC2::SecurityGroup': 'GroupName',
};

/** Rotation types that alternate between the user and its clone. */
const ALTERNATING_USERS = /MultiUser$/;

/** The deploy-related facts of `template`; `secrets` are the template's (findSecrets). */
export function findDeployFacts(template: CfnTemplate, secrets: readonly SecretFacts[]): DeployFacts {
  const resources = sortBy(Object.entries(template.Resources ?? {}), ([logicalId]) => [logicalId]);
  const customResources = resources
    .filter(([, r]) => r.Type.startsWith('Custom::') || r.Type === 'AWS::CloudFormation::CustomResource')
    .map(([logicalId, r]) => {
      const timeout = prop(r, 'ServiceTimeout');
      return { resource: logicalId, type: r.Type, ...(timeout !== undefined ? { serviceTimeoutSeconds: Number(timeout) } : {}) };
    });
  const retained = resources
    .filter(([, r]) => deletionPolicy(r) === 'Retain' || deletionPolicy(r) === 'RetainExceptOnCreate')
    .map(([logicalId, r]) => {
      const nameProperty = NAME_PROPERTIES[r.Type];
      const name = nameProperty ? prop(r, nameProperty) : undefined;
      return { resource: logicalId, type: r.Type, ...(name !== undefined ? { name: render(name) } : {}), onDelete: deletionPolicy(r) };
    });
  const proxies = resourcesOfType(template, 'AWS::RDS::DBProxy').map(({ logicalId, resource }) => ({
    proxy: logicalId,
    defaultAuthScheme: prop(resource, 'DefaultAuthScheme') === undefined ? 'NONE' : render(prop(resource, 'DefaultAuthScheme')),
    secrets: asList(prop(resource, 'Auth')).map((auth) => {
      const arn = asObject(auth)?.SecretArn;
      const secret = secretBehind(template, arn);
      const facts = secrets.find((s) => s.resource === secret);
      return { secret: secret ?? render(arn), rotatedBy: facts?.rotation?.rotatedBy ?? (facts ? 'no rotation' : 'unknown (outside the template)') };
    }),
  }));
  return { customResources, retained, proxies };
}

/** The secret an ARN names, directly or through its target attachment. */
function secretBehind(template: CfnTemplate, value: unknown): string | undefined {
  const target = referencedResource(template, value);
  const resource = target ? template.Resources![target] : undefined;
  return resource?.Type === 'AWS::SecretsManager::SecretTargetAttachment' ? referencedResource(template, prop(resource, 'SecretId')) : target;
}

/** Custom resources CloudFormation would wait an hour for. */
export function customResourcesWithoutTimeout(facts: DeployFacts): CustomResourceFacts[] {
  return facts.customResources.filter((c) => c.serviceTimeoutSeconds === undefined || !(c.serviceTimeoutSeconds > 0));
}

/** Named resources kept by a plain Retain: a failed first create leaves them, and the retry fails on the name. */
export function namedResourcesRetainedOnCreate(facts: DeployFacts): RetainedResource[] {
  return facts.retained.filter((r) => r.onDelete === 'Retain' && r.name !== undefined);
}

/** Proxy secrets rotated with alternating users: after the first rotation the proxy cannot log in. */
export function proxySecretsWithAlternatingUsers(facts: DeployFacts): { proxy: string; secret: string; rotatedBy: string }[] {
  return facts.proxies.flatMap((p) =>
    p.secrets.filter((s) => ALTERNATING_USERS.test(s.rotatedBy)).map((s) => ({ proxy: p.proxy, ...s })),
  );
}
