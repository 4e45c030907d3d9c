/**
 * Reading CloudFormation templates as plain JSON: the resource shapes the
 * audit needs, references between resources, and a flat rendering of
 * intrinsic values for people (`<DataKey2A0DE9E6.Arn>`), the same rendering
 * cdk-nag uses in the finding ids that acknowledgements name.
 */
import { flattenCfnReference } from 'cdk-nag/lib/utils/flatten-cfn-reference';

/** A resource of a template. */
export interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly Metadata?: Record<string, unknown>;
  readonly DeletionPolicy?: string;
  readonly UpdateReplacePolicy?: string;
  readonly DependsOn?: string | string[];
}

/** A template, as written to `cdk.out`. */
export interface CfnTemplate {
  readonly Description?: string;
  readonly Transform?: string | string[];
  readonly Resources?: Record<string, CfnResource>;
  readonly Outputs?: Record<string, unknown>;
}

/** A resource with its logical id. */
export interface NamedResource {
  readonly logicalId: string;
  readonly resource: CfnResource;
}

/** The resources of `template` whose type is one of `types`, sorted by logical id. */
export function resourcesOfType(template: CfnTemplate, ...types: string[]): NamedResource[] {
  return Object.entries(template.Resources ?? {})
    .filter(([, resource]) => types.includes(resource.Type))
    .map(([logicalId, resource]) => ({ logicalId, resource }))
    .sort((a, b) => compare(a.logicalId, b.logicalId));
}

/** A property of a resource (`Properties[name]`). */
export function prop(resource: CfnResource, name: string): unknown {
  return resource.Properties?.[name];
}

/** `value` as a plain object, or undefined. */
export function asObject(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/** `value` as a list: arrays as they are, a single value as a list of one, nothing as empty. */
export function asList(value: unknown): unknown[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : [value];
}

/** CloudFormation booleans may be written as strings. */
export function isTrue(value: unknown): boolean {
  return value === true || value === 'true';
}

/** A number, also from a numeric string, else undefined. */
export function asNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && /^\d+$/.test(value)) return Number(value);
  return undefined;
}

/**
 * The logical id a value refers to: `{Ref: X}` or `{Fn::GetAtt: [X, attr]}`
 * (or `"X.attr"`), when X is a resource of the template (not a parameter or
 * pseudo parameter).
 */
export function referencedResource(template: CfnTemplate, value: unknown): string | undefined {
  const object = asObject(value);
  if (!object) return undefined;
  let target: unknown;
  if ('Ref' in object) {
    target = object.Ref;
  } else if ('Fn::GetAtt' in object) {
    const getAtt = object['Fn::GetAtt'];
    target = Array.isArray(getAtt) ? getAtt[0] : typeof getAtt === 'string' ? getAtt.split('.')[0] : undefined;
  }
  return typeof target === 'string' && template.Resources?.[target] ? target : undefined;
}

/** Every logical id referenced anywhere inside `value` (Ref, GetAtt, Sub variables). */
export function referencesWithin(template: CfnTemplate, value: unknown): Set<string> {
  const found = new Set<string>();
  const visit = (node: unknown): void => {
    const direct = referencedResource(template, node);
    if (direct) {
      found.add(direct);
      return;
    }
    if (Array.isArray(node)) {
      node.forEach(visit);
      return;
    }
    const object = asObject(node);
    if (!object) return;
    if (typeof object['Fn::Sub'] === 'string') {
      for (const [, name] of (object['Fn::Sub'] as string).matchAll(/\$\{([A-Za-z0-9]+)(?:\.[A-Za-z0-9.]+)?\}/g)) {
        if (template.Resources?.[name]) found.add(name);
      }
    }
    Object.values(object).forEach(visit);
  };
  visit(value);
  return found;
}

/**
 * A value as one line of text: literals as they are, intrinsics flattened the
 * way cdk-nag flattens them (`<Logical.Attr>`, `<AWS::AccountId>`), lists
 * joined with ", ".
 */
export function render(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return value.map(render).join(', ');
  return flattenCfnReference(value);
}

/** Acknowledgements the app wrote into a resource's metadata (see lib/compliance). */
export interface ResourceAcknowledgement {
  readonly rule: string;
  readonly reason: string;
}

/** The `Metadata.acknowledgements` of a resource. */
export function acknowledgementsOf(resource: CfnResource): ResourceAcknowledgement[] {
  return asList(resource.Metadata?.acknowledgements).flatMap((entry) => {
    const object = asObject(entry);
    return object && typeof object.rule === 'string'
      ? [{ rule: object.rule, reason: typeof object.reason === 'string' ? object.reason : '' }]
      : [];
  });
}

/** Code-point order: the same on every machine and locale. */
export function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** `items` sorted by the keys `key` returns, compared in turn. */
export function sortBy<T>(items: readonly T[], key: (item: T) => readonly (string | number)[]): T[] {
  return [...items].sort((x, y) => {
    const a = key(x);
    const b = key(y);
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      const [p, q] = [a[i] ?? '', b[i] ?? ''];
      if (p === q) continue;
      if (typeof p === 'number' && typeof q === 'number') return p - q;
      return compare(String(p), String(q));
    }
    return 0;
  });
}

/**
 * What CloudFormation does with a resource when it leaves the stack: its
 * DeletionPolicy, else CloudFormation's default (Snapshot for RDS clusters and
 * standalone instances, Delete for everything else).
 */
export function deletionPolicy(resource: CfnResource): string {
  if (resource.DeletionPolicy !== undefined) return resource.DeletionPolicy;
  const snapshots =
    resource.Type === 'AWS::RDS::DBCluster' || (resource.Type === 'AWS::RDS::DBInstance' && prop(resource, 'DBClusterIdentifier') === undefined);
  return snapshots ? 'Snapshot' : 'Delete';
}
