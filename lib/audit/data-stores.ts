/**
 * Every place a template stores data at rest, with the key that encrypts it,
 * and the KMS keys themselves. Encryption is classed as:
 * - `customer-managed`: a KMS key of this template, or a key given by ARN;
 * - `aws-managed`: the service's AWS managed key (`aws/rds`, `aws/secretsmanager`, ...);
 * - `aws-owned`: keys the service owns and never shows (CloudWatch Logs, SSE-S3, SSE-SQS, Cognito);
 * - `none`: the data is stored unencrypted.
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
  sortBy,
  type CfnResource,
  type CfnTemplate,
} from './cfn';

/** How data at rest is encrypted. */
export type Encryption = 'customer-managed' | 'aws-managed' | 'aws-owned' | 'none';

/** A store of data at rest. */
export interface DataStore {
  /** Logical id of the resource. */
  readonly resource: string;
  /** CloudFormation type. */
  readonly type: string;
  /** What is stored, for people ("Aurora cluster storage"). */
  readonly kind: string;
  /** Its name where the template gives one. */
  readonly name?: string;
  readonly encryption: Encryption;
  /** The key: logical id of a key in the template, an ARN, or the AWS key's name. */
  readonly key: string;
  /** DeletionPolicy, or CloudFormation's default when absent. */
  readonly onDelete: string;
}

/** A KMS key of the template. */
export interface EncryptionKey {
  readonly resource: string;
  readonly aliases: string[];
  readonly description?: string;
  readonly rotation: boolean;
  readonly onDelete: string;
  /** Logical ids of the stores it encrypts in this template. */
  readonly encrypts: string[];
}

interface Classified {
  readonly kind: string;
  readonly encryption: Encryption;
  readonly key: unknown;
  readonly name?: unknown;
}

/** How each store type is read. A type not listed here is not a data store for the audit. */
const STORE_TYPES: Record<string, (r: CfnResource) => Classified | undefined> = {
  'AWS::RDS::DBCluster': (r) =>
    isTrue(prop(r, 'StorageEncrypted'))
      ? keyed('Aurora cluster storage', prop(r, 'KmsKeyId'), 'aws/rds', prop(r, 'DBClusterIdentifier'))
      : { kind: 'Aurora cluster storage', encryption: 'none', key: undefined, name: prop(r, 'DBClusterIdentifier') },
  'AWS::RDS::DBInstance': (r) => {
    // Instances of a cluster keep no data of their own; a standalone instance does.
    if (prop(r, 'DBClusterIdentifier') !== undefined) return undefined;
    return isTrue(prop(r, 'StorageEncrypted'))
      ? keyed('RDS instance storage', prop(r, 'KmsKeyId'), 'aws/rds', prop(r, 'DBInstanceIdentifier'))
      : { kind: 'RDS instance storage', encryption: 'none', key: undefined, name: prop(r, 'DBInstanceIdentifier') };
  },
  'AWS::SecretsManager::Secret': (r) => keyed('secret', prop(r, 'KmsKeyId'), 'aws/secretsmanager', prop(r, 'Name')),
  'AWS::Logs::LogGroup': (r) =>
    prop(r, 'KmsKeyId') !== undefined
      ? keyed('log group', prop(r, 'KmsKeyId'), '', prop(r, 'LogGroupName'))
      : { kind: 'log group', encryption: 'aws-owned', key: 'CloudWatch Logs service key', name: prop(r, 'LogGroupName') },
  'AWS::SQS::Queue': (r) => {
    if (prop(r, 'KmsMasterKeyId') !== undefined) return keyed('queue', prop(r, 'KmsMasterKeyId'), '', prop(r, 'QueueName'));
    return prop(r, 'SqsManagedSseEnabled') === false || prop(r, 'SqsManagedSseEnabled') === 'false'
      ? { kind: 'queue', encryption: 'none', key: undefined, name: prop(r, 'QueueName') }
      : { kind: 'queue', encryption: 'aws-owned', key: 'SSE-SQS', name: prop(r, 'QueueName') };
  },
  // Messages rest in a topic until delivered; unencrypted without a key (SNS has no default encryption).
  'AWS::SNS::Topic': (r) =>
    prop(r, 'KmsMasterKeyId') !== undefined
      ? keyed('topic', prop(r, 'KmsMasterKeyId'), '', prop(r, 'TopicName'))
      : { kind: 'topic', encryption: 'none', key: undefined, name: prop(r, 'TopicName') },
  'AWS::S3::Bucket': (r) => {
    const rule = asObject(asList(asObject(prop(r, 'BucketEncryption'))?.ServerSideEncryptionConfiguration)[0]);
    const byDefault = asObject(rule?.ServerSideEncryptionByDefault);
    const algorithm = byDefault?.SSEAlgorithm;
    if (algorithm === 'aws:kms' || algorithm === 'aws:kms:dsse') {
      return keyed('bucket', byDefault?.KMSMasterKeyID, 'aws/s3', prop(r, 'BucketName'));
    }
    // Since 2023 S3 encrypts every new object with SSE-S3 when nothing else is set.
    return { kind: 'bucket', encryption: 'aws-owned', key: 'SSE-S3', name: prop(r, 'BucketName') };
  },
  'AWS::DynamoDB::Table': (r) => {
    const sse = asObject(prop(r, 'SSESpecification'));
    return isTrue(sse?.SSEEnabled)
      ? keyed('table', sse?.KMSMasterKeyId, 'aws/dynamodb', prop(r, 'TableName'))
      : { kind: 'table', encryption: 'aws-owned', key: 'DynamoDB owned key', name: prop(r, 'TableName') };
  },
  'AWS::EFS::FileSystem': (r) =>
    isTrue(prop(r, 'Encrypted'))
      ? keyed('file system', prop(r, 'KmsKeyId'), 'aws/elasticfilesystem')
      : { kind: 'file system', encryption: 'none', key: undefined },
  'AWS::EC2::Volume': (r) =>
    isTrue(prop(r, 'Encrypted'))
      ? keyed('EBS volume', prop(r, 'KmsKeyId'), 'aws/ebs')
      : { kind: 'EBS volume', encryption: 'none', key: undefined },
  'AWS::Cognito::UserPool': (r) => ({
    kind: 'user directory',
    encryption: 'aws-owned',
    key: 'Cognito service key',
    name: prop(r, 'UserPoolName'),
  }),
};

/** Performance Insights keeps query samples per instance: a store of its own. */
function performanceInsights(r: CfnResource): Classified | undefined {
  if (!isTrue(prop(r, 'EnablePerformanceInsights'))) return undefined;
  return keyed('Performance Insights data', prop(r, 'PerformanceInsightsKMSKeyId'), 'aws/rds', prop(r, 'DBInstanceIdentifier'));
}

/** Lambda environment variables are stored encrypted; with a key of one's own when KmsKeyArn is set. */
function functionEnvironment(r: CfnResource): Classified | undefined {
  if (!asObject(asObject(prop(r, 'Environment'))?.Variables)) return undefined;
  return keyed('function environment variables', prop(r, 'KmsKeyArn'), 'aws/lambda', prop(r, 'FunctionName'));
}

/** Every data store of `template`, sorted by logical id then kind. */
export function findDataStores(template: CfnTemplate): DataStore[] {
  const stores: DataStore[] = [];
  const add = (logicalId: string, resource: CfnResource, c: Classified | undefined) => {
    if (!c) return;
    stores.push({
      resource: logicalId,
      type: resource.Type,
      kind: c.kind,
      ...(c.name !== undefined ? { name: render(c.name) } : {}),
      encryption: c.encryption,
      key: c.encryption === 'none' ? '' : keyName(template, c.key),
      onDelete: deletionPolicy(resource),
    });
  };
  for (const { logicalId, resource } of resourcesOfType(template, ...Object.keys(STORE_TYPES), 'AWS::Lambda::Function')) {
    add(logicalId, resource, STORE_TYPES[resource.Type]?.(resource));
    if (resource.Type === 'AWS::RDS::DBInstance') add(logicalId, resource, performanceInsights(resource));
    if (resource.Type === 'AWS::Lambda::Function') add(logicalId, resource, functionEnvironment(resource));
  }
  return sortBy(stores, (s) => [s.resource, s.kind]);
}

/** Every KMS key of `template` with its aliases and the stores it encrypts. */
export function findEncryptionKeys(template: CfnTemplate, stores: readonly DataStore[]): EncryptionKey[] {
  const aliases = resourcesOfType(template, 'AWS::KMS::Alias');
  return resourcesOfType(template, 'AWS::KMS::Key').map(({ logicalId, resource }) => ({
    resource: logicalId,
    aliases: aliases
      .filter((a) => referencedResource(template, prop(a.resource, 'TargetKeyId')) === logicalId)
      .map((a) => render(prop(a.resource, 'AliasName')))
      .sort(),
    ...(typeof prop(resource, 'Description') === 'string' ? { description: prop(resource, 'Description') as string } : {}),
    rotation: isTrue(prop(resource, 'EnableKeyRotation')),
    onDelete: deletionPolicy(resource),
    encrypts: [...new Set(stores.filter((s) => s.key === logicalId).map((s) => s.resource))].sort(),
  }));
}

/** A store encrypted with `key` when given, else with the service's AWS managed key `awsManaged`. */
function keyed(kind: string, key: unknown, awsManaged: string, name?: unknown): Classified {
  if (key === undefined || key === null || key === '') {
    return { kind, encryption: 'aws-managed', key: awsManaged, name };
  }
  if (typeof key === 'string' && /(^|:)alias\/aws\//.test(key)) {
    return { kind, encryption: 'aws-managed', key: key.replace(/^.*alias\//, ''), name };
  }
  return { kind, encryption: 'customer-managed', key, name };
}

/** A key as the report names it: the logical id of a key in the template, else the rendered value. */
function keyName(template: CfnTemplate, key: unknown): string {
  const target = referencedResource(template, key);
  if (target && template.Resources?.[target]?.Type === 'AWS::KMS::Alias') {
    return referencedResource(template, prop(template.Resources[target], 'TargetKeyId')) ?? render(key);
  }
  return target ?? render(key);
}
