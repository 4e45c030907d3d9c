/**
 * Closes a VPC's default security group: removes every ingress and egress rule
 * so nothing placed in it by mistake can talk to anything.
 *
 * CloudFormation cannot change the default group, so a custom resource does.
 * aws-cdk-lib has one (`restrictDefaultSecurityGroup`), but its function runs
 * outside any VPC, which Control Tower (CT.LAMBDA.PR.3) and the HIPAA/NIST
 * packs refuse. This one runs in the isolated subnets behind the CDK Provider
 * framework, like every custom resource here, and calls EC2 through its
 * interface endpoint. It keeps the construct id and resource type of the
 * aws-cdk-lib version, which is what cdk-nag's VPCDefaultSecurityGroupClosed
 * looks for.
 */
import { CustomResource, Duration, Stack } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct, type IDependable } from 'constructs';
import type { IIsolatedFunctions } from './isolated-functions';

/** Properties of a {@link RestrictDefaultSecurityGroup}. */
export interface RestrictDefaultSecurityGroupProps {
  /** The VPC whose default security group is closed. */
  readonly vpc: ec2.Vpc;
  /** Shared settings of functions in the isolated subnets. */
  readonly functions: IIsolatedFunctions;
  /**
   * What the custom resource must wait for: the endpoints its functions call
   * (EC2 and Lambda interface endpoints, the S3 gateway endpoint).
   */
  readonly networkDependencies: IDependable[];
}

/**
 * The handler, inline (it is small and has no dependencies beyond the SDK of
 * the runtime), so the template carries it and synth stays deterministic.
 * Create and Update revoke the two rules EC2 gives every default group (all
 * traffic from the group itself, all traffic out to 0.0.0.0/0; a rule already
 * gone is fine), so the function needs no Describe permission on "*"; Delete
 * leaves the group closed (the VPC deletes it). It throws on failure; the
 * Provider framework answers CloudFormation.
 */
const HANDLER = `
const { EC2Client, RevokeSecurityGroupIngressCommand, RevokeSecurityGroupEgressCommand } = require('@aws-sdk/client-ec2');
const ec2 = new EC2Client({ maxAttempts: 5 });
async function revoke(command) {
  try { await ec2.send(command); return 1; }
  catch (error) { if (error.name === 'InvalidPermission.NotFound') return 0; throw error; }
}
async function close(groupId) {
  return (await revoke(new RevokeSecurityGroupIngressCommand({ GroupId: groupId,
      IpPermissions: [{ IpProtocol: '-1', UserIdGroupPairs: [{ GroupId: groupId }] }] })))
    + (await revoke(new RevokeSecurityGroupEgressCommand({ GroupId: groupId,
      IpPermissions: [{ IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }] }] })));
}
exports.handler = async (event) => {
  const groupId = event.ResourceProperties.DefaultSecurityGroupId;
  const revoked = event.RequestType === 'Delete' ? 0 : await close(groupId);
  console.log(JSON.stringify({ requestType: event.RequestType, groupId, revoked }));
  return { PhysicalResourceId: event.PhysicalResourceId || 'closed-' + groupId, Data: { Revoked: String(revoked) } };
};
`;

/** The handler makes two EC2 calls; two minutes covers the SDK's retries. */
const FUNCTION_TIMEOUT = Duration.minutes(2);

/** Removes all rules from a VPC's default security group, from inside the VPC. */
export class RestrictDefaultSecurityGroup extends Construct {
  /** The function behind the custom resource. */
  readonly function: lambda.Function;

  constructor(scope: Construct, id: string, props: RestrictDefaultSecurityGroupProps) {
    super(scope, id);
    const resources = props.functions.createFunctionResources(this, 'Handler', {
      purpose: `closes the default security group of ${props.vpc.node.path}`,
      reservedConcurrentExecutions: props.functions.customResourceConcurrency,
    });
    const groupArn = Stack.of(this).formatArn({
      service: 'ec2',
      resource: 'security-group',
      resourceName: props.vpc.vpcDefaultSecurityGroup,
    });
    resources.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['ec2:RevokeSecurityGroupIngress', 'ec2:RevokeSecurityGroupEgress'],
        resources: [groupArn],
      }),
    );

    this.function = new lambda.Function(this, 'Function', {
      description: 'Closes the default security group of the VPC (custom resource)',
      runtime: lambda.Runtime.NODEJS_24_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline(HANDLER.trim()),
      timeout: FUNCTION_TIMEOUT,
      memorySize: 256,
      ...resources.settings,
    });
    props.functions.acknowledgeUnreservedConcurrency(this.function);

    const provider = props.functions.createProvider(this, 'Provider', {
      onEventHandler: this.function,
      purpose: `closes the default security group of ${props.vpc.node.path}`,
    });
    // Same id and type as aws-cdk-lib's restrictDefaultSecurityGroup, under the VPC.
    const resource = new CustomResource(props.vpc, 'RestrictDefaultSecurityGroupCustomResource', {
      serviceToken: provider.serviceToken,
      resourceType: 'Custom::VpcRestrictDefaultSG',
      // A little above the function timeout: a lost answer fails the deploy in minutes, not CloudFormation's hour.
      serviceTimeout: FUNCTION_TIMEOUT.plus(Duration.minutes(2)),
      properties: { DefaultSecurityGroupId: props.vpc.vpcDefaultSecurityGroup },
    });
    resource.node.addDependency(...props.networkDependencies, resources.role);
  }
}
