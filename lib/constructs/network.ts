/**
 * The network of an environment's data tier: a VPC with isolated subnets only
 * (no internet gateway, no NAT), VPC endpoints for the AWS APIs that functions
 * inside it call, flow logs to an encrypted log group, and a closed default
 * security group.
 */
import { Aws, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { IsolatedFunctions } from './isolated-functions';
import { ManagedPolicyRole } from './managed-policy-role';
import { RestrictDefaultSecurityGroup } from './restrict-default-security-group';

/** Names of the subnet groups; select them with `{ subnetGroupName }`. */
export const SUBNET_GROUPS = {
  /** The database cluster and RDS Proxy. */
  database: 'database',
  /** Lambda functions and other compute that reaches the database or AWS APIs. */
  functions: 'functions',
} as const;

/** Properties of a {@link Network}. */
export interface NetworkProps {
  /** IPv4 range of the VPC. */
  readonly cidr: string;
  /** Availability zones, explicit so that synth needs no lookup. */
  readonly availabilityZones: string[];
  /** Key that encrypts the flow logs and function log groups. */
  readonly encryptionKey: kms.IKey;
  /** Retention of the flow logs. */
  readonly flowLogRetention: logs.RetentionDays;
  /** Retention of the log groups of functions in the VPC. */
  readonly functionLogRetention: logs.RetentionDays;
  /**
   * What happens to log groups and queues when they leave the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Reserved concurrency of each custom resource function.
   * @default - none
   */
  readonly customResourceConcurrency?: number;
}

/** An isolated VPC with the endpoints and guard rails the data tier needs. */
export class Network extends Construct {
  /** The VPC. */
  readonly vpc: ec2.Vpc;
  /** Subnets of the database cluster and the proxy. */
  readonly databaseSubnets: ec2.SubnetSelection = { subnetGroupName: SUBNET_GROUPS.database };
  /** Subnets of functions. */
  readonly functionSubnets: ec2.SubnetSelection = { subnetGroupName: SUBNET_GROUPS.functions };
  /** Security group of the interface endpoints: HTTPS from inside the VPC. */
  readonly endpointSecurityGroup: ec2.SecurityGroup;
  /** The S3 gateway endpoint (custom resources post their CloudFormation response to S3). */
  readonly s3Endpoint: ec2.GatewayVpcEndpoint;
  /** Shared settings of functions in the isolated subnets. */
  readonly functions: IsolatedFunctions;
  /** The flow log group. */
  readonly flowLogGroup: logs.LogGroup;

  private readonly interfaceEndpoints = new Map<string, ec2.InterfaceVpcEndpoint>();

  constructor(scope: Construct, id: string, props: NetworkProps) {
    super(scope, id);
    if (!/^(\d{1,3}\.){3}\d{1,3}\/(1[6-9]|2[0-2])$/.test(props.cidr)) {
      throw new Error(`Network ${this.node.path}: cidr must be an IPv4 block between /16 and /22, got "${props.cidr}"`);
    }
    if (props.availabilityZones.length < 2 || new Set(props.availabilityZones).size !== props.availabilityZones.length) {
      throw new Error(`Network ${this.node.path}: availabilityZones must name at least 2 distinct zones, got ${JSON.stringify(props.availabilityZones)}`);
    }
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;

    this.vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr(props.cidr),
      availabilityZones: props.availabilityZones,
      natGateways: 0,
      createInternetGateway: false,
      // Closed by RestrictDefaultSecurityGroup below, from inside the VPC.
      restrictDefaultSecurityGroup: false,
      subnetConfiguration: [
        { name: SUBNET_GROUPS.database, subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 },
        { name: SUBNET_GROUPS.functions, subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 },
      ],
    });

    this.flowLogGroup = new logs.LogGroup(this, 'FlowLogs', {
      encryptionKey: props.encryptionKey,
      retention: props.flowLogRetention,
      removalPolicy,
    });
    const stack = Stack.of(this);
    const flowLogRole = new ManagedPolicyRole(this, 'FlowLogRole', {
      description: 'Lets VPC Flow Logs write to the flow log group',
      assumedBy: new iam.ServicePrincipal('vpc-flow-logs.amazonaws.com', {
        conditions: {
          StringEquals: { 'aws:SourceAccount': stack.account },
          ArnLike: { 'aws:SourceArn': stack.formatArn({ service: 'ec2', resource: 'vpc-flow-log', resourceName: '*' }) },
        },
      }),
    });
    this.vpc.addFlowLog('FlowLog', {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(this.flowLogGroup, flowLogRole),
      trafficType: ec2.FlowLogTrafficType.ALL,
    });

    this.endpointSecurityGroup = new ec2.SecurityGroup(this, 'EndpointSecurityGroup', {
      vpc: this.vpc,
      description: 'Interface VPC endpoints: HTTPS from inside the VPC',
      allowAllOutbound: false,
    });
    this.endpointSecurityGroup.addIngressRule(
      // The literal range, not the VPC's CidrBlock attribute: checkers cannot read an attribute.
      ec2.Peer.ipv4(props.cidr),
      ec2.Port.tcp(443),
      'HTTPS from the VPC',
    );

    this.s3Endpoint = this.vpc.addGatewayEndpoint('S3Endpoint', {
      service: ec2.GatewayVpcEndpointAwsService.S3,
      subnets: [this.functionSubnets, this.databaseSubnets],
    });
    for (const statement of accountOnlyStatements()) this.s3Endpoint.addToPolicy(statement);
    // A custom resource answers CloudFormation with a PUT to a presigned URL of AWS's response bucket: signed by
    // CloudFormation, so neither the principal nor the bucket is this account's. That bucket, PutObject only.
    this.s3Endpoint.addToPolicy(new iam.PolicyStatement({
      sid: 'CloudFormationCustomResourceResponses',
      principals: [new iam.AnyPrincipal()],
      actions: ['s3:PutObject'],
      resources: [`arn:${Aws.PARTITION}:s3:::${cloudFormationResponseBucket(stack.region)}/*`],
    }));
    // Functions in the VPC read secrets (migrations, rotation).
    this.addInterfaceEndpoint('SecretsManager', ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER);

    this.functions = new IsolatedFunctions(this, 'Functions', {
      vpc: this.vpc,
      subnets: this.functionSubnets,
      encryptionKey: props.encryptionKey,
      logRetention: props.functionLogRetention,
      removalPolicy,
      customResourceConcurrency: props.customResourceConcurrency,
    });

    new RestrictDefaultSecurityGroup(this, 'CloseDefaultSecurityGroup', {
      vpc: this.vpc,
      functions: this.functions,
      networkDependencies: [
        this.addInterfaceEndpoint('Ec2', ec2.InterfaceVpcEndpointAwsService.EC2),
        // The Provider framework's function invokes the handler, and posts the answer to S3.
        this.addInterfaceEndpoint('Lambda', ec2.InterfaceVpcEndpointAwsService.LAMBDA),
        this.s3Endpoint,
      ],
    });
  }

  /**
   * The interface endpoint of `service` in the function subnets, created on
   * first use: every AWS API a function in the VPC calls needs one (there is
   * no NAT). Later functions ask for theirs here (e.g. `RDS_DATA`, `LAMBDA`).
   */
  addInterfaceEndpoint(id: string, service: ec2.InterfaceVpcEndpointAwsService): ec2.InterfaceVpcEndpoint {
    const existing = this.interfaceEndpoints.get(service.name);
    if (existing) {
      return existing;
    }
    const endpoint = this.vpc.addInterfaceEndpoint(`${id}Endpoint`, {
      service,
      subnets: this.functionSubnets,
      securityGroups: [this.endpointSecurityGroup],
      privateDnsEnabled: true,
      open: false,
    });
    for (const statement of accountOnlyStatements()) endpoint.addToPolicy(statement);
    this.interfaceEndpoints.set(service.name, endpoint);
    return endpoint;
  }

  /** The interface endpoints created so far, by service name. */
  get endpoints(): ReadonlyMap<string, ec2.InterfaceVpcEndpoint> {
    return this.interfaceEndpoints;
  }
}

/**
 * An endpoint policy that lets only this account's principals through, to this account's resources: stolen
 * credentials of another account cannot use the endpoint, and this account's cannot carry data to another
 * account's resources through it. `IfExists` on the resource's account: calls that name no resource
 * (`secretsmanager:GetRandomPassword`, the EC2 Describe calls) carry no resource account and have nowhere to
 * carry data to.
 */
export function accountOnlyStatements(): iam.PolicyStatement[] {
  return [
    new iam.PolicyStatement({
      sid: 'ThisAccountsPrincipalsToThisAccountsResources',
      principals: [new iam.AnyPrincipal()],
      actions: ['*'],
      resources: ['*'],
      conditions: {
        StringEquals: { 'aws:PrincipalAccount': Aws.ACCOUNT_ID },
        StringEqualsIfExists: { 'aws:ResourceAccount': Aws.ACCOUNT_ID },
      },
    }),
  ];
}

/**
 * The bucket CloudFormation receives custom resource responses in, per region: `cloudformation-custom-resource-
 * response-<region without hyphens>` (e.g. `…-euwest1`).
 */
export function cloudFormationResponseBucket(region: string): string {
  if (Token.isUnresolved(region)) {
    throw new Error('cloudFormationResponseBucket: the region must be known at synth (set it in the configuration)');
  }
  return `cloudformation-custom-resource-response-${region.replace(/-/g, '')}`;
}
