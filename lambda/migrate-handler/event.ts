/**
 * The CloudFormation custom-resource event, validated. A malformed event fails the deploy at once with a reason
 * naming what is wrong, instead of hanging or half-running.
 */
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { SECRET_ARN, SQL_NAME } from '../shared/input-formats';
import {
  LOGIN_GROUPS, type LoginGroup, type MigrationIamLoginProperties, type MigrationLoginProperties, type MigrationResourceProperties,
} from './resource-properties';

export interface LoginReference {
  readonly secretArn: string;
  readonly memberOf: LoginGroup;
}

export interface IamLoginReference {
  readonly username: string;
  readonly memberOf: LoginGroup;
}

/** What a Create or Update asks for. */
export interface MigrationRequest {
  readonly requestType: 'Create' | 'Update' | 'Delete';
  /** Stable: the same for every update of the resource. */
  readonly physicalResourceId: string;
  readonly databaseName: string;
  readonly masterSecretArn: string;
  readonly allowSeeds: boolean;
  readonly logins: readonly LoginReference[];
  readonly iamLogins: readonly IamLoginReference[];
  readonly hash: string;
  readonly deployId?: string;
}

export class MalformedEventError extends Error {
  constructor(problem: string) {
    super(`Malformed custom resource event: ${problem}`);
    this.name = 'MalformedEventError';
  }
}

/** What arrives: the contract's keys, each of any type until checked. */
type Received<T> = { readonly [K in keyof T]?: unknown };
type ReceivedProperties = Received<MigrationResourceProperties>;

function field(properties: ReceivedProperties, name: 'DatabaseName' | 'MasterSecretArn' | 'Hash'): string {
  const value = properties[name];
  if (typeof value !== 'string' || value === '') throw new MalformedEventError(`ResourceProperties.${name} is missing`);
  return value;
}

/** Validates an event from CloudFormation (through the Provider framework). */
export function parseEvent(event: unknown): MigrationRequest {
  if (!event || typeof event !== 'object') throw new MalformedEventError('the event is not an object');
  const e = event as Partial<CloudFormationCustomResourceEvent> & { PhysicalResourceId?: string };
  const requestType = e.RequestType;
  if (requestType !== 'Create' && requestType !== 'Update' && requestType !== 'Delete') {
    throw new MalformedEventError(`RequestType must be Create, Update or Delete, got ${JSON.stringify(requestType)}`);
  }
  const properties = e.ResourceProperties as ReceivedProperties | undefined;
  if (!properties || typeof properties !== 'object') throw new MalformedEventError('ResourceProperties is missing');

  const databaseName = field(properties, 'DatabaseName');
  if (!SQL_NAME.test(databaseName)) throw new MalformedEventError(`DatabaseName "${databaseName}" is not a database name`);
  const masterSecretArn = field(properties, 'MasterSecretArn');
  if (!SECRET_ARN.test(masterSecretArn)) throw new MalformedEventError('MasterSecretArn is not a Secrets Manager ARN');
  const hash = field(properties, 'Hash');
  const allowSeeds = properties.AllowSeeds;
  if (allowSeeds !== 'true' && allowSeeds !== 'false') throw new MalformedEventError('AllowSeeds must be "true" or "false"');

  const rawLogins = properties.Logins ?? [];
  if (!Array.isArray(rawLogins)) throw new MalformedEventError('Logins must be a list');
  const logins = rawLogins.map((login: unknown, i: number) => {
    const { SecretArn, MemberOf } = (login ?? {}) as Received<MigrationLoginProperties>;
    if (typeof SecretArn !== 'string' || !SECRET_ARN.test(SecretArn)) throw new MalformedEventError(`Logins[${i}].SecretArn is not a Secrets Manager ARN`);
    if (typeof MemberOf !== 'string' || !(LOGIN_GROUPS as readonly string[]).includes(MemberOf)) {
      throw new MalformedEventError(`Logins[${i}].MemberOf must be one of ${LOGIN_GROUPS.join(', ')}`);
    }
    return { secretArn: SecretArn, memberOf: MemberOf as LoginGroup };
  });

  const rawIamLogins = properties.IamLogins ?? [];
  if (!Array.isArray(rawIamLogins)) throw new MalformedEventError('IamLogins must be a list');
  const iamLogins = rawIamLogins.map((login: unknown, i: number) => {
    const { Username, MemberOf } = (login ?? {}) as Received<MigrationIamLoginProperties>;
    if (typeof Username !== 'string' || !SQL_NAME.test(Username)) throw new MalformedEventError(`IamLogins[${i}].Username is not a lower-case SQL identifier`);
    if (typeof MemberOf !== 'string' || !(LOGIN_GROUPS as readonly string[]).includes(MemberOf)) {
      throw new MalformedEventError(`IamLogins[${i}].MemberOf must be one of ${LOGIN_GROUPS.join(', ')}`);
    }
    return { username: Username, memberOf: MemberOf as LoginGroup };
  });

  if (requestType !== 'Create' && !e.PhysicalResourceId) throw new MalformedEventError(`${requestType} without PhysicalResourceId`);
  const deployId = typeof properties.DeployId === 'string' ? properties.DeployId : undefined;
  return {
    requestType,
    // Stable across updates, so CloudFormation never sees a replacement (and never deletes the "old" one).
    physicalResourceId: e.PhysicalResourceId ?? `database-migrations-${databaseName}`,
    databaseName,
    masterSecretArn,
    allowSeeds: allowSeeds === 'true',
    logins,
    iamLogins,
    hash,
    ...(deployId ? { deployId } : {}),
  };
}
