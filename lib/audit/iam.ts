/**
 * Every IAM policy statement with a wildcard action or resource, in identity
 * policies (roles, users, groups, managed policies) and resource policies
 * (keys, queues, buckets, secrets, topics), with the written reason for each
 * wildcard: the acknowledgement of the cdk-nag finding (AwsSolutions-IAM5)
 * that names it, on the policy resource.
 *
 * An Allow in an identity policy needs that reason for every wildcard. Deny
 * statements grant nothing, and a resource policy's `"Resource": "*"` means
 * the resource the policy is attached to; both are listed without one.
 */
import {
  acknowledgementsOf,
  asList,
  asObject,
  render,
  resourcesOfType,
  sortBy,
  type CfnTemplate,
} from './cfn';

/** One wildcard of a statement and what explains it. */
export interface Wildcard {
  readonly element: 'Action' | 'NotAction' | 'Resource' | 'NotResource';
  /** The action or (flattened) resource, e.g. `ec2:Describe*` or `*`. */
  readonly value: string;
  /** The acknowledged rule that names this wildcard, with its reason. */
  readonly acknowledgedBy?: { readonly rule: string; readonly reason: string };
}

/** A statement with at least one wildcard. */
export interface WildcardStatement {
  /** Logical id of the policy (or role, or resource carrying the resource policy). */
  readonly policy: string;
  readonly policyType: string;
  /** `identity` or `resource` policy. */
  readonly kind: 'identity' | 'resource';
  /** For identity policies: the roles, users and groups it applies to. */
  readonly attachedTo: string[];
  /** Position of the statement in its document, from 0. */
  readonly index: number;
  readonly sid?: string;
  readonly effect: string;
  readonly actions: string[];
  readonly resources: string[];
  readonly principals?: string;
  readonly conditions: boolean;
  readonly wildcards: Wildcard[];
  /** Whether every wildcard is explained, or needs no explanation (Deny, resource policy). */
  readonly explained: boolean;
  /** Why no acknowledgement is needed, where none is. */
  readonly note?: string;
}

interface PolicySource {
  readonly kind: 'identity' | 'resource';
  /** Policy documents of the resource, with the principals they apply to. */
  documents(properties: Record<string, unknown>): { document: unknown; attachedTo: unknown[] }[];
}

const attached = (p: Record<string, unknown>) => [...asList(p.Roles), ...asList(p.Users), ...asList(p.Groups)];
const inlinePolicies = (p: Record<string, unknown>) => asList(p.Policies).map((policy) => asObject(policy)?.PolicyDocument);

/** Where policy documents live, by resource type. */
const POLICY_SOURCES: Record<string, PolicySource> = {
  'AWS::IAM::Policy': { kind: 'identity', documents: (p) => [{ document: p.PolicyDocument, attachedTo: attached(p) }] },
  'AWS::IAM::ManagedPolicy': { kind: 'identity', documents: (p) => [{ document: p.PolicyDocument, attachedTo: attached(p) }] },
  'AWS::IAM::Role': { kind: 'identity', documents: (p) => inlinePolicies(p).map((document) => ({ document, attachedTo: [] })) },
  'AWS::IAM::User': { kind: 'identity', documents: (p) => inlinePolicies(p).map((document) => ({ document, attachedTo: [] })) },
  'AWS::IAM::Group': { kind: 'identity', documents: (p) => inlinePolicies(p).map((document) => ({ document, attachedTo: [] })) },
  'AWS::KMS::Key': { kind: 'resource', documents: (p) => [{ document: p.KeyPolicy, attachedTo: [] }] },
  'AWS::SQS::QueuePolicy': { kind: 'resource', documents: (p) => [{ document: p.PolicyDocument, attachedTo: [] }] },
  'AWS::S3::BucketPolicy': { kind: 'resource', documents: (p) => [{ document: p.PolicyDocument, attachedTo: [] }] },
  'AWS::SNS::TopicPolicy': { kind: 'resource', documents: (p) => [{ document: p.PolicyDocument, attachedTo: [] }] },
  'AWS::SecretsManager::ResourcePolicy': { kind: 'resource', documents: (p) => [{ document: p.ResourcePolicy, attachedTo: [] }] },
};

/** The rule whose acknowledgement explains an identity-policy wildcard. */
const WILDCARD_RULE = 'AwsSolutions-IAM5';

/** Every statement with a wildcard in `template`, sorted by policy and position. */
export function findWildcardStatements(template: CfnTemplate): WildcardStatement[] {
  const found: WildcardStatement[] = [];
  for (const { logicalId, resource } of resourcesOfType(template, ...Object.keys(POLICY_SOURCES))) {
    const source = POLICY_SOURCES[resource.Type];
    const acknowledgements = acknowledgementsOf(resource);
    for (const { document, attachedTo } of source.documents(resource.Properties ?? {})) {
      asList(asObject(document)?.Statement).forEach((raw, index) => {
        const statement = asObject(raw);
        if (!statement) return;
        const effect = render(statement.Effect) || 'Allow';
        const actions = asList(statement.Action ?? statement.NotAction).map(render);
        const resources = asList(statement.Resource ?? statement.NotResource).map(render);
        const actionElement: Wildcard['element'] = statement.NotAction !== undefined ? 'NotAction' : 'Action';
        const resourceElement: Wildcard['element'] = statement.NotResource !== undefined ? 'NotResource' : 'Resource';
        const candidates: { element: Wildcard['element']; value: string }[] = [
          ...actions
            .filter((a) => a.includes('*') || actionElement === 'NotAction')
            .map((value) => ({ element: actionElement, value })),
          ...resources
            .filter((r) => r.includes('*') || resourceElement === 'NotResource')
            .map((value) => ({ element: resourceElement, value })),
        ];
        if (candidates.length === 0) return;
        const needsReason = source.kind === 'identity' && effect === 'Allow';
        const wildcards = candidates.map((w): Wildcard => {
          const ack = needsReason ? acknowledgementFor(acknowledgements, w) : undefined;
          return ack ? { ...w, acknowledgedBy: ack } : w;
        });
        found.push({
          policy: logicalId,
          policyType: resource.Type,
          kind: source.kind,
          attachedTo: attachedTo.map(render).sort(),
          index,
          ...(typeof statement.Sid === 'string' ? { sid: statement.Sid } : {}),
          effect,
          actions,
          resources,
          ...(statement.Principal !== undefined ? { principals: renderPrincipal(statement.Principal) } : {}),
          conditions: statement.Condition !== undefined,
          wildcards,
          explained: !needsReason || wildcards.every((w) => w.acknowledgedBy !== undefined),
          ...(needsReason ? {} : { note: noteFor(source.kind, resource.Type, effect) }),
        });
      });
    }
  }
  return sortBy(found, (s) => [s.policy, s.index]);
}

/**
 * The acknowledgement on the policy that names this wildcard: the IAM5 finding
 * for exactly this action or resource (`AwsSolutions-IAM5[Resource::*]`), or an
 * IAM5 acknowledgement without a finding, which covers all of the policy's.
 */
function acknowledgementFor(
  acknowledgements: readonly { rule: string; reason: string }[],
  wildcard: { element: string; value: string },
): { rule: string; reason: string } | undefined {
  const kind = wildcard.element.endsWith('Action') ? 'Action' : 'Resource';
  return (
    acknowledgements.find((a) => a.rule === `${WILDCARD_RULE}[${kind}::${wildcard.value}]`) ??
    acknowledgements.find((a) => a.rule === WILDCARD_RULE)
  );
}

function noteFor(kind: 'identity' | 'resource', type: string, effect: string): string {
  if (effect !== 'Allow') return 'Deny statement: it takes permissions away and grants none.';
  if (type === 'AWS::KMS::Key') return 'Key policy: "*" as the resource is the key itself.';
  if (type === 'AWS::SecretsManager::ResourcePolicy') return 'Secret resource policy: "*" as the resource is the secret itself.';
  return kind === 'resource' ? 'Resource policy: it applies to the resource it is attached to.' : 'Needs no reason.';
}

function renderPrincipal(principal: unknown): string {
  if (typeof principal === 'string') return principal;
  const object = asObject(principal);
  if (!object) return render(principal);
  return Object.keys(object)
    .sort()
    .map((key) => `${key}: ${asList(object[key]).map(render).join(', ')}`)
    .join('; ');
}

/** Statements whose wildcards need a reason and lack one. */
export function unexplainedWildcards(statements: readonly WildcardStatement[]): WildcardStatement[] {
  return statements.filter((s) => !s.explained);
}
