/**
 * What keeps data from being lost: backup retention and deletion protection
 * of the database clusters (and standalone instances), deletion protection of
 * user pools, and log retention. Also the SSM parameters, whose values the
 * report lists by name so a reader can see that none holds a secret.
 */
import {
  deletionPolicy,
  asList,
  asNumber,
  asObject,
  isTrue,
  prop,
  referencedResource,
  render,
  resourcesOfType,
  type CfnTemplate,
} from './cfn';

/** A database cluster or standalone instance. */
export interface DatabaseProtection {
  readonly resource: string;
  readonly type: string;
  readonly identifier?: string;
  readonly engine?: string;
  readonly engineVersion?: string;
  /** Days of automated backups (point-in-time recovery); RDS keeps 1 day when unset. */
  readonly backupRetentionDays: number;
  readonly backupWindow?: string;
  readonly deletionProtection: boolean;
  readonly onDelete: string;
  readonly onReplace: string;
  readonly copyTagsToSnapshot: boolean;
  /** Instances of a cluster: logical id, class, public, monitoring interval. */
  readonly instances: { resource: string; instanceClass: string; publiclyAccessible: boolean; monitoringSeconds: number }[];
}

/** A user pool's protection. */
export interface UserPoolProtection {
  readonly resource: string;
  readonly name?: string;
  readonly deletionProtection: boolean;
  readonly onDelete: string;
  readonly mfa?: string;
}

/** A log group with its retention. */
export interface LogRetention {
  readonly resource: string;
  /** The group's name, or `(generated)`. */
  readonly name: string;
  /** Days kept; `undefined` means kept forever. */
  readonly retentionDays?: number;
  readonly key?: string;
  readonly onDelete: string;
  /** What writes to it (functions, flow logs, clusters by name). */
  readonly writers: string[];
}

/** A function whose log group the template does not declare (CloudWatch creates one, kept forever). */
export interface ImplicitLogGroup {
  readonly resource: string;
  readonly type: string;
  /** The group AWS creates, as far as the template tells. */
  readonly logGroup: string;
}

/** An SSM parameter. */
export interface ParameterFacts {
  readonly resource: string;
  readonly name: string;
  readonly type: string;
  readonly description?: string;
}

/** Backup and deletion settings of every database. */
export function findDatabaseProtection(template: CfnTemplate): DatabaseProtection[] {
  const instances = resourcesOfType(template, 'AWS::RDS::DBInstance');
  const clusters = resourcesOfType(template, 'AWS::RDS::DBCluster').map(({ logicalId, resource }) => ({ logicalId, resource }));
  const standalone = instances.filter(({ resource }) => prop(resource, 'DBClusterIdentifier') === undefined);
  return [...clusters, ...standalone].map(({ logicalId, resource }) => {
    const isCluster = resource.Type === 'AWS::RDS::DBCluster';
    const members = isCluster
      ? instances.filter((i) => referencedResource(template, prop(i.resource, 'DBClusterIdentifier')) === logicalId)
      : [{ logicalId, resource }];
    return {
      resource: logicalId,
      type: resource.Type,
      ...optional('identifier', prop(resource, isCluster ? 'DBClusterIdentifier' : 'DBInstanceIdentifier')),
      ...optional('engine', prop(resource, 'Engine')),
      ...optional('engineVersion', prop(resource, 'EngineVersion')),
      backupRetentionDays: asNumber(prop(resource, 'BackupRetentionPeriod')) ?? 1,
      ...optional('backupWindow', prop(resource, 'PreferredBackupWindow')),
      deletionProtection: isTrue(prop(resource, 'DeletionProtection')),
      onDelete: deletionPolicy(resource),
      onReplace: resource.UpdateReplacePolicy ?? 'Delete',
      copyTagsToSnapshot: isTrue(prop(resource, 'CopyTagsToSnapshot')),
      instances: members.map((i) => ({
        resource: i.logicalId,
        instanceClass: render(prop(i.resource, 'DBInstanceClass')),
        publiclyAccessible: isTrue(prop(i.resource, 'PubliclyAccessible')),
        monitoringSeconds: asNumber(prop(i.resource, 'MonitoringInterval')) ?? 0,
      })),
    };
  });
}

/** Deletion protection of every user pool. */
export function findUserPools(template: CfnTemplate): UserPoolProtection[] {
  return resourcesOfType(template, 'AWS::Cognito::UserPool').map(({ logicalId, resource }) => ({
    resource: logicalId,
    ...optional('name', prop(resource, 'UserPoolName')),
    deletionProtection: prop(resource, 'DeletionProtection') === 'ACTIVE',
    onDelete: deletionPolicy(resource),
    ...optional('mfa', prop(resource, 'MfaConfiguration')),
  }));
}

/** Every log group with its retention and writers. */
export function findLogGroups(template: CfnTemplate): LogRetention[] {
  const writers = new Map<string, Set<string>>();
  const wrote = (group: string | undefined, writer: string) => {
    if (group) writers.set(group, (writers.get(group) ?? new Set()).add(writer));
  };
  for (const { logicalId, resource } of resourcesOfType(template, 'AWS::Lambda::Function')) {
    wrote(referencedResource(template, asObject(prop(resource, 'LoggingConfig'))?.LogGroup), logicalId);
  }
  for (const { logicalId, resource } of resourcesOfType(template, 'AWS::EC2::FlowLog')) {
    wrote(referencedResource(template, prop(resource, 'LogGroupName')), logicalId);
  }
  const groups = resourcesOfType(template, 'AWS::Logs::LogGroup');
  // RDS writes exported logs to /aws/rds/cluster/<identifier>/<log>.
  for (const { logicalId, resource } of resourcesOfType(template, 'AWS::RDS::DBCluster')) {
    const identifier = prop(resource, 'DBClusterIdentifier');
    for (const log of asList(prop(resource, 'EnableCloudwatchLogsExports'))) {
      const name = `/aws/rds/cluster/${render(identifier)}/${render(log)}`;
      wrote(groups.find((g) => render(prop(g.resource, 'LogGroupName')) === name)?.logicalId, logicalId);
    }
  }
  return groups.map(({ logicalId, resource }) => {
    const key = prop(resource, 'KmsKeyId');
    return {
      resource: logicalId,
      name: prop(resource, 'LogGroupName') !== undefined ? render(prop(resource, 'LogGroupName')) : '(generated)',
      ...optionalNumber('retentionDays', asNumber(prop(resource, 'RetentionInDays'))),
      ...(key !== undefined ? { key: referencedResource(template, key) ?? render(key) } : {}),
      onDelete: deletionPolicy(resource),
      writers: [...(writers.get(logicalId) ?? [])].sort(),
    };
  });
}

/**
 * Functions whose logs go to a group the template does not declare, and the
 * rotation functions the Secrets Manager transform creates at deploy time:
 * their groups are kept forever unless someone sets a retention.
 */
export function findImplicitLogGroups(template: CfnTemplate): ImplicitLogGroup[] {
  const functions = resourcesOfType(template, 'AWS::Lambda::Function')
    .filter(({ resource }) => referencedResource(template, asObject(prop(resource, 'LoggingConfig'))?.LogGroup) === undefined)
    .map(({ logicalId, resource }) => ({
      resource: logicalId,
      type: resource.Type,
      logGroup:
        prop(resource, 'FunctionName') !== undefined ? `/aws/lambda/${render(prop(resource, 'FunctionName'))}` : '/aws/lambda/(generated name)',
    }));
  const hosted = resourcesOfType(template, 'AWS::SecretsManager::RotationSchedule')
    .filter(({ resource }) => asObject(prop(resource, 'HostedRotationLambda')) !== undefined)
    .map(({ logicalId, resource }) => {
      const name = asObject(prop(resource, 'HostedRotationLambda'))?.RotationLambdaName;
      return {
        resource: logicalId,
        type: resource.Type,
        logGroup: name !== undefined ? `/aws/lambda/${render(name)}` : '/aws/lambda/(generated name)',
      };
    });
  return [...functions, ...hosted].sort((a, b) => (a.resource < b.resource ? -1 : a.resource > b.resource ? 1 : 0));
}

/** Every SSM parameter with its type. */
export function findParameters(template: CfnTemplate): ParameterFacts[] {
  return resourcesOfType(template, 'AWS::SSM::Parameter')
    .map(({ logicalId, resource }) => ({
      resource: logicalId,
      name: prop(resource, 'Name') !== undefined ? render(prop(resource, 'Name')) : '(generated)',
      type: render(prop(resource, 'Type')),
      ...optional('description', prop(resource, 'Description')),
    }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function optional<K extends string>(key: K, value: unknown): Partial<Record<K, string>> {
  return value === undefined ? {} : ({ [key]: render(value) } as Record<K, string>);
}

function optionalNumber<K extends string>(key: K, value: number | undefined): Partial<Record<K, number>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, number>);
}
