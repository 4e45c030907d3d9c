/**
 * Every network path into the database: the security groups in front of the
 * database (those of clusters, standalone instances and RDS proxies), each
 * ingress rule with its source and who sits in a source group, publicly
 * accessible instances, the Data API, the VPC endpoints, and whether the VPC
 * reaches the internet at all.
 */
import {
  asList,
  asNumber,
  asObject,
  isTrue,
  prop,
  referencedResource,
  referencesWithin,
  render,
  resourcesOfType,
  sortBy,
  type CfnTemplate,
} from './cfn';

/** Where an ingress rule lets traffic come from. */
export interface IngressSource {
  readonly kind: 'security-group' | 'ipv4' | 'ipv6' | 'prefix-list';
  /** Logical id of a source group of the template, a CIDR, or a rendered id. */
  readonly value: string;
  /** The source group's description, for groups of the template. */
  readonly description?: string;
}

/** One ingress rule of a database security group. */
export interface IngressRule {
  /** Logical id of the resource that defines the rule (the group itself for inline rules). */
  readonly definedBy: string;
  readonly protocol: string;
  /** `5433`, `1024-2048`, or `all`. */
  readonly ports: string;
  readonly source: IngressSource;
  readonly description?: string;
  /** Open to any address (0.0.0.0/0 or ::/0). */
  readonly public: boolean;
}

/** A security group in front of a database resource. */
export interface DatabaseSecurityGroup {
  /** Logical id, or the rendered id of a group from outside the template. */
  readonly securityGroup: string;
  readonly description?: string;
  /** Logical ids of the clusters, instances and proxies it is attached to. */
  readonly protects: string[];
  /** Whether the group is defined in the template (its rules can be read). */
  readonly inTemplate: boolean;
  readonly ingress: IngressRule[];
}

/** A security group that is the source of a database ingress rule, and what is placed in it. */
export interface SourceGroup {
  readonly securityGroup: string;
  readonly description?: string;
  /** Logical ids and types of the resources placed in the group, e.g. `ProxyE947DB46 (AWS::RDS::DBProxy)`. */
  readonly members: string[];
  /** SSM parameters that publish the group's id, for compute outside the template to join it. */
  readonly publishedAs: string[];
}

/** A database resource with a public address. */
export interface PublicInstance {
  readonly resource: string;
  readonly type: string;
}

/** A VPC endpoint. */
export interface Endpoint {
  readonly resource: string;
  readonly service: string;
  readonly type: string;
  readonly privateDns: boolean;
  readonly securityGroups: string[];
  readonly hasPolicy: boolean;
}

/** Clusters reachable over the RDS Data API (HTTPS to the AWS API, authorized by IAM). */
export interface DataApiAccess {
  readonly cluster: string;
  readonly iamDatabaseAuthentication: boolean;
}

/** What the VPCs of the template have that could reach or be reached from the internet. */
export interface InternetExposure {
  readonly internetGateways: number;
  readonly natGateways: number;
  readonly elasticIps: number;
  readonly subnetsAssigningPublicIps: number;
  /** Routes to 0.0.0.0/0 or ::/0. */
  readonly defaultRoutes: number;
}

/** The network paths into the database of one template. */
export interface DatabaseNetwork {
  readonly securityGroups: DatabaseSecurityGroup[];
  readonly sourceGroups: SourceGroup[];
  readonly publiclyAccessible: PublicInstance[];
  readonly dataApi: DataApiAccess[];
  readonly endpoints: Endpoint[];
  readonly internet: InternetExposure;
}

const PUBLIC_CIDRS = new Set(['0.0.0.0/0', '::/0']);

/** The security-group property of each database resource type. */
const DATABASE_GROUPS: Record<string, string> = {
  'AWS::RDS::DBCluster': 'VpcSecurityGroupIds',
  'AWS::RDS::DBInstance': 'VPCSecurityGroups',
  'AWS::RDS::DBProxy': 'VpcSecurityGroupIds',
};

/** Reads the network paths into the database from `template`. */
export function findDatabaseNetwork(template: CfnTemplate): DatabaseNetwork {
  const protectedBy = new Map<string, { inTemplate: boolean; protects: Set<string> }>();
  for (const { logicalId, resource } of resourcesOfType(template, ...Object.keys(DATABASE_GROUPS))) {
    for (const group of asList(prop(resource, DATABASE_GROUPS[resource.Type]))) {
      const id = referencedResource(template, group);
      const key = id ?? render(group);
      const entry = protectedBy.get(key) ?? { inTemplate: id !== undefined, protects: new Set<string>() };
      entry.protects.add(logicalId);
      protectedBy.set(key, entry);
    }
  }

  const securityGroups = sortBy(
    [...protectedBy].map(([securityGroup, { inTemplate, protects }]) => ({
      securityGroup,
      ...(inTemplate ? { description: groupDescription(template, securityGroup) } : {}),
      protects: [...protects].sort(),
      inTemplate,
      ingress: inTemplate ? ingressRules(template, securityGroup) : [],
    })),
    (g) => [g.securityGroup],
  );

  const sourceIds = new Set(
    securityGroups.flatMap((g) => g.ingress.filter((r) => r.source.kind === 'security-group').map((r) => r.source.value)),
  );
  const sourceGroups = [...sourceIds]
    .filter((id) => template.Resources?.[id])
    .sort()
    .map((id) => ({
      securityGroup: id,
      description: groupDescription(template, id),
      members: membersOf(template, id),
      publishedAs: resourcesOfType(template, 'AWS::SSM::Parameter')
        .filter(({ resource }) => referencesWithin(template, prop(resource, 'Value')).has(id))
        .map(({ resource }) => render(prop(resource, 'Name')))
        .sort(),
    }));

  return {
    securityGroups,
    sourceGroups,
    publiclyAccessible: resourcesOfType(template, 'AWS::RDS::DBInstance', 'AWS::RDS::DBCluster')
      .filter(({ resource }) => isTrue(prop(resource, 'PubliclyAccessible')))
      .map(({ logicalId, resource }) => ({ resource: logicalId, type: resource.Type })),
    dataApi: resourcesOfType(template, 'AWS::RDS::DBCluster')
      .filter(({ resource }) => isTrue(prop(resource, 'EnableHttpEndpoint')))
      .map(({ logicalId, resource }) => ({
        cluster: logicalId,
        iamDatabaseAuthentication: isTrue(prop(resource, 'EnableIAMDatabaseAuthentication')),
      })),
    endpoints: resourcesOfType(template, 'AWS::EC2::VPCEndpoint').map(({ logicalId, resource }) => ({
      resource: logicalId,
      service: render(prop(resource, 'ServiceName')).replace(/<AWS::Region>/g, '${AWS::Region}'),
      type: typeof prop(resource, 'VpcEndpointType') === 'string' ? (prop(resource, 'VpcEndpointType') as string) : 'Gateway',
      privateDns: isTrue(prop(resource, 'PrivateDnsEnabled')),
      securityGroups: asList(prop(resource, 'SecurityGroupIds'))
        .map((g) => referencedResource(template, g) ?? render(g))
        .sort(),
      hasPolicy: prop(resource, 'PolicyDocument') !== undefined,
    })),
    internet: {
      internetGateways: resourcesOfType(template, 'AWS::EC2::InternetGateway', 'AWS::EC2::EgressOnlyInternetGateway').length,
      natGateways: resourcesOfType(template, 'AWS::EC2::NatGateway').length,
      elasticIps: resourcesOfType(template, 'AWS::EC2::EIP').length,
      subnetsAssigningPublicIps: resourcesOfType(template, 'AWS::EC2::Subnet').filter(({ resource }) =>
        isTrue(prop(resource, 'MapPublicIpOnLaunch')),
      ).length,
      defaultRoutes: resourcesOfType(template, 'AWS::EC2::Route').filter(
        ({ resource }) =>
          PUBLIC_CIDRS.has(render(prop(resource, 'DestinationCidrBlock'))) ||
          PUBLIC_CIDRS.has(render(prop(resource, 'DestinationIpv6CidrBlock'))),
      ).length,
    },
  };
}

/** Inline rules of group `groupId` and the standalone ingress resources that target it. */
function ingressRules(template: CfnTemplate, groupId: string): IngressRule[] {
  const group = template.Resources![groupId];
  const rules: IngressRule[] = asList(prop(group, 'SecurityGroupIngress')).flatMap((rule) => {
    const object = asObject(rule);
    return object ? [toRule(template, groupId, object)] : [];
  });
  for (const { logicalId, resource } of resourcesOfType(template, 'AWS::EC2::SecurityGroupIngress')) {
    if (referencedResource(template, prop(resource, 'GroupId')) === groupId) {
      rules.push(toRule(template, logicalId, resource.Properties ?? {}));
    }
  }
  return sortBy(rules, (r) => [r.source.value, r.ports, r.protocol, r.definedBy]);
}

function toRule(template: CfnTemplate, definedBy: string, rule: Record<string, unknown>): IngressRule {
  const source = ruleSource(template, rule);
  const protocol = render(rule.IpProtocol);
  return {
    definedBy,
    protocol: protocol === '-1' ? 'all' : protocol,
    ports: portRange(protocol, rule.FromPort, rule.ToPort),
    source,
    ...(rule.Description !== undefined ? { description: render(rule.Description) } : {}),
    public: (source.kind === 'ipv4' || source.kind === 'ipv6') && PUBLIC_CIDRS.has(source.value),
  };
}

function ruleSource(template: CfnTemplate, rule: Record<string, unknown>): IngressSource {
  if (rule.CidrIp !== undefined) return { kind: 'ipv4', value: render(rule.CidrIp) };
  if (rule.CidrIpv6 !== undefined) return { kind: 'ipv6', value: render(rule.CidrIpv6) };
  if (rule.SourcePrefixListId !== undefined) return { kind: 'prefix-list', value: render(rule.SourcePrefixListId) };
  const group = rule.SourceSecurityGroupId ?? rule.SourceSecurityGroupName;
  const id = referencedResource(template, group);
  return id
    ? { kind: 'security-group', value: id, description: groupDescription(template, id) }
    : { kind: 'security-group', value: render(group) };
}

function portRange(protocol: string, from: unknown, to: unknown): string {
  const [f, t] = [asNumber(from), asNumber(to)];
  if (protocol === '-1' || protocol === 'all' || f === undefined || f === -1) return 'all';
  if (f === 0 && t === 65535) return 'all';
  return t === undefined || t === f ? String(f) : `${f}-${t}`;
}

function groupDescription(template: CfnTemplate, groupId: string): string | undefined {
  const group = template.Resources?.[groupId];
  const description = group ? prop(group, 'GroupDescription') : undefined;
  return description === undefined ? undefined : render(description);
}

/** Resources placed in group `groupId`: those that name it outside of security-group rules. */
function membersOf(template: CfnTemplate, groupId: string): string[] {
  const ruleTypes = new Set(['AWS::EC2::SecurityGroupIngress', 'AWS::EC2::SecurityGroupEgress', 'AWS::EC2::SecurityGroup']);
  return Object.entries(template.Resources ?? {})
    .filter(([, resource]) => !ruleTypes.has(resource.Type) && !resource.Type.startsWith('AWS::SSM::'))
    .filter(([, resource]) => referencesWithin(template, resource.Properties).has(groupId))
    .map(([logicalId, resource]) => `${logicalId} (${resource.Type})`)
    .sort();
}
