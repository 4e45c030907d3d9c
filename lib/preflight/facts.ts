/**
 * The facts a first deploy depends on, read from the templates of every stack of a stage: Lambda
 * reservations, Cognito prefix domains, Aurora engines and instance classes, the SES identities user
 * pools send from, and the secrets with to whom they deny their value. Values may be intrinsics over pseudo
 * parameters (a domain prefix derived from the account, an ARN built from the region); those are resolved for
 * the account and region being checked.
 * Pure: nothing here calls AWS.
 */
import { principalsDeniedTheValue } from '../audit/secrets';
import type { StageStack } from './assembly';

/** Where a template is deployed: the values of its pseudo parameters. */
export interface DeployTarget {
  readonly account: string;
  readonly region: string;
}

/** A function that reserves concurrency. */
export interface LambdaReservation {
  readonly stack: StageStack;
  readonly logicalId: string;
  readonly reserved: number;
}

/** A Cognito user pool domain. */
export interface UserPoolDomain {
  readonly stack: StageStack;
  readonly logicalId: string;
  /** The prefix or custom domain name; undefined when the template's value cannot be resolved offline. */
  readonly domain?: string;
  /** A custom domain (own name and certificate), not a Cognito prefix. */
  readonly custom: boolean;
  /**
   * The user pool it belongs to: the one its `UserPoolId` refers to in the same template, else, when the id
   * comes from elsewhere (a parameter, another stack), the stage's only user pool.
   */
  readonly userPool?: { readonly stack: StageStack; readonly logicalId: string };
}

/** An Aurora cluster and the instances in it. */
export interface DatabaseCluster {
  readonly stack: StageStack;
  readonly logicalId: string;
  readonly engine?: string;
  readonly engineVersion?: string;
  /** Distinct instance classes of the cluster's instances (`db.serverless`). */
  readonly instanceClasses: readonly string[];
  readonly minCapacity?: number;
  readonly maxCapacity?: number;
  /** `DBClusterIdentifier`, when the template names the cluster. */
  readonly identifier?: string;
}

/** A Secrets Manager secret of the stage. */
export interface SecretFact {
  readonly stack: StageStack;
  readonly logicalId: string;
  /** Its `Name`, when the template gives one. */
  readonly name?: string;
  /** Principal ARN patterns its resource policy denies `secretsmanager:GetSecretValue` to (resolved). */
  readonly valueDeniedTo: readonly string[];
  /** Names of the SSM parameters of the same stack that publish its ARN. */
  readonly publishedAs: readonly string[];
}

/** A user pool that sends e-mail through SES. */
export interface EmailSender {
  readonly stack: StageStack;
  readonly userPoolLogicalId: string;
  /** `EmailConfiguration.SourceArn`; undefined when present but not resolvable offline. */
  readonly sourceArn?: string;
  /** `EmailConfiguration.From`, as written (`Name <address>` or an address). */
  readonly from?: string;
}

/** Everything the checks read from the stage's templates. */
export interface StageFacts {
  readonly reservations: readonly LambdaReservation[];
  readonly userPoolDomains: readonly UserPoolDomain[];
  readonly databaseClusters: readonly DatabaseCluster[];
  readonly emailSenders: readonly EmailSender[];
  readonly secrets: readonly SecretFact[];
}

type Resource = { Type: string; Properties?: Record<string, unknown> };

/** Reads the facts of every stack of the stage. */
export function stageFacts(stacks: readonly StageStack[], target: DeployTarget): StageFacts {
  const facts = {
    reservations: [] as LambdaReservation[],
    userPoolDomains: [] as UserPoolDomain[],
    databaseClusters: [] as DatabaseCluster[],
    emailSenders: [] as EmailSender[],
    secrets: [] as SecretFact[],
  };
  for (const stack of stacks) {
    const resources = Object.entries(stack.template.Resources ?? {}) as [string, Resource][];
    const ofType = (type: string) => resources.filter(([, r]) => r.Type === type);
    for (const [logicalId, r] of ofType('AWS::Lambda::Function')) {
      // A reservation taken from a template parameter cannot be known here; none of this app's are.
      const reserved = Number(resolve(r.Properties?.ReservedConcurrentExecutions, target) ?? 0);
      if (reserved > 0) facts.reservations.push({ stack, logicalId, reserved });
    }
    for (const [logicalId, r] of ofType('AWS::Cognito::UserPoolDomain')) {
      const domain = resolve(r.Properties?.Domain, target);
      facts.userPoolDomains.push({
        stack,
        logicalId,
        ...(domain !== undefined ? { domain } : {}),
        custom: r.Properties?.CustomDomainConfig !== undefined || (domain?.includes('.') ?? false),
        ...optional('userPool', userPoolOf(stacks, stack, refTo(r.Properties?.UserPoolId))),
      });
    }
    for (const [logicalId, r] of ofType('AWS::RDS::DBCluster')) {
      const p = r.Properties ?? {};
      const scaling = (p.ServerlessV2ScalingConfiguration ?? {}) as Record<string, unknown>;
      const instanceClasses = ofType('AWS::RDS::DBInstance')
        .filter(([, i]) => refTo(i.Properties?.DBClusterIdentifier) === logicalId || (typeof p.DBClusterIdentifier === 'string' && i.Properties?.DBClusterIdentifier === p.DBClusterIdentifier))
        .map(([, i]) => resolve(i.Properties?.DBInstanceClass, target))
        .filter((c): c is string => c !== undefined);
      facts.databaseClusters.push({
        stack,
        logicalId,
        ...optional('engine', resolve(p.Engine, target)),
        ...optional('engineVersion', resolve(p.EngineVersion, target)),
        instanceClasses: [...new Set(instanceClasses)].sort(),
        ...optional('minCapacity', numberOrUndefined(scaling.MinCapacity)),
        ...optional('maxCapacity', numberOrUndefined(scaling.MaxCapacity)),
        ...optional('identifier', resolve(p.DBClusterIdentifier, target)),
      });
    }
    for (const [logicalId, r] of ofType('AWS::Cognito::UserPool')) {
      const email = r.Properties?.EmailConfiguration as Record<string, unknown> | undefined;
      if (!email || (email.SourceArn === undefined && email.EmailSendingAccount !== 'DEVELOPER')) continue;
      facts.emailSenders.push({
        stack,
        userPoolLogicalId: logicalId,
        ...optional('sourceArn', resolve(email.SourceArn, target)),
        ...optional('from', resolve(email.From, target)),
      });
    }
    for (const [logicalId, r] of ofType('AWS::SecretsManager::Secret')) {
      // Policies and parameters name the secret or its attachment to the cluster, whose Ref is the same ARN.
      const attachments = ofType('AWS::SecretsManager::SecretTargetAttachment').filter(([, a]) => refTo(a.Properties?.SecretId) === logicalId);
      const ids = new Set([logicalId, ...attachments.map(([id]) => id)]);
      const naming = (type: string, key: string) => ofType(type).filter(([, x]) => ids.has(refTo(x.Properties?.[key]) ?? ''));
      const policies = naming('AWS::SecretsManager::ResourcePolicy', 'SecretId');
      const parameters = naming('AWS::SSM::Parameter', 'Value');
      facts.secrets.push({
        stack,
        logicalId,
        ...optional('name', resolve(r.Properties?.Name, target)),
        valueDeniedTo: policies
          .flatMap(([, policy]) => principalsDeniedTheValue(policy.Properties?.ResourcePolicy))
          .map((pattern) => resolve(pattern, target))
          .filter((p): p is string => p !== undefined),
        publishedAs: parameters.map(([, parameter]) => resolve(parameter.Properties?.Name, target)).filter((n): n is string => n !== undefined),
      });
    }
  }
  return facts;
}

/**
 * The value of `value` once deployed to `target`, for literals and intrinsics over pseudo parameters
 * (`Ref AWS::AccountId`, `Fn::Join`, `Fn::Sub` without variables of its own); undefined for anything that
 * depends on other resources or parameters.
 */
export function resolve(value: unknown, target: DeployTarget): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (!value || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const [fn, arg] = Object.entries(value)[0] ?? [];
  if (Object.keys(value).length !== 1) return undefined;
  if (fn === 'Ref') return typeof arg === 'string' ? pseudoParameter(arg, target) : undefined;
  if (fn === 'Fn::Join' && Array.isArray(arg) && typeof arg[0] === 'string' && Array.isArray(arg[1])) {
    const parts = (arg[1] as unknown[]).map((part) => resolve(part, target));
    return parts.every((p) => p !== undefined) ? parts.join(arg[0]) : undefined;
  }
  if (fn === 'Fn::Sub' && typeof arg === 'string') {
    let unresolved = false;
    const text = arg.replace(/\$\{([^}!]+)\}/g, (_, name: string) => pseudoParameter(name, target) ?? ((unresolved = true), ''));
    return unresolved ? undefined : text;
  }
  return undefined;
}

function pseudoParameter(name: string, target: DeployTarget): string | undefined {
  switch (name) {
    case 'AWS::AccountId':
      return target.account;
    case 'AWS::Region':
      return target.region;
    case 'AWS::Partition':
      return partitionOf(target.region);
    case 'AWS::URLSuffix':
      return target.region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com';
    default:
      return undefined;
  }
}

/** The partition of a region. */
export function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}

function userPoolOf(stacks: readonly StageStack[], stack: StageStack, logicalId: string | undefined): UserPoolDomain['userPool'] {
  const isPool = (s: StageStack, id: string) => s.template.Resources?.[id]?.Type === 'AWS::Cognito::UserPool';
  if (logicalId && isPool(stack, logicalId)) return { stack, logicalId };
  const pools = stacks.flatMap((s) => Object.keys(s.template.Resources ?? {}).filter((id) => isPool(s, id)).map((id) => ({ stack: s, logicalId: id })));
  return pools.length === 1 ? pools[0] : undefined;
}

/** The logical id a `{ Ref }` or `{ Fn::GetAtt }` points to. */
function refTo(value: unknown): string | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v.Ref === 'string') return v.Ref;
  const getAtt = v['Fn::GetAtt'];
  return Array.isArray(getAtt) && typeof getAtt[0] === 'string' ? getAtt[0] : undefined;
}

function numberOrUndefined(value: unknown): number | undefined {
  return typeof value === 'number' ? value : undefined;
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
