/**
 * What every Lambda function in the isolated subnets needs to pass the
 * compliance packs without acknowledgements of its own: a role whose
 * permissions are customer-managed, an encrypted log group with retention, a
 * security group with no open egress beyond HTTPS, a dead-letter queue for
 * asynchronous invocations (CloudFormation invokes custom resources that way)
 * and reserved concurrency where the stage reserves any. Functions (the custom resources, the Cognito
 * triggers) take their settings from {@link IsolatedFunctions.createFunctionResources};
 * every custom resource goes through the CDK Provider framework, set up the
 * same way by {@link IsolatedFunctions.createProvider}.
 */
import { CfnResource, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct, type IConstruct } from 'constructs';
import { acknowledge, wildcardFinding } from '../compliance/acknowledge';
import { ManagedPolicyRole } from './managed-policy-role';

/** Properties of {@link IsolatedFunctions}. */
export interface IsolatedFunctionsProps {
  /** The VPC the functions run in. */
  readonly vpc: ec2.IVpc;
  /** The subnets the functions run in. */
  readonly subnets: ec2.SubnetSelection;
  /** Key for log groups and the dead-letter queue. */
  readonly encryptionKey: kms.IKey;
  /** Retention of each function's log group (at least a year: CT.CLOUDWATCH.PR.2). */
  readonly logRetention: logs.RetentionDays;
  /**
   * What happens to log groups and the dead-letter queue when they leave the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Reserved concurrency of each custom resource's functions (handler and framework).
   * @default - no reservation: a new account's concurrency limit (often 10) admits none
   */
  readonly customResourceConcurrency?: number;
}

/** Options of one function's resources, made by {@link IsolatedFunctions.createFunctionResources}. */
export interface IsolatedFunctionOptions {
  /** What the function is for; used in the descriptions of its role and security group. */
  readonly purpose: string;
  /**
   * Reserved concurrent executions.
   * @default - none
   */
  readonly reservedConcurrentExecutions?: number;
}

/** The settings to spread into a `lambda.Function` (or `NodejsFunction`) in the isolated subnets. */
export interface IsolatedFunctionSettings {
  readonly role: ManagedPolicyRole;
  readonly logGroup: logs.ILogGroup;
  readonly vpc: ec2.IVpc;
  readonly vpcSubnets: ec2.SubnetSelection;
  readonly securityGroups: ec2.ISecurityGroup[];
  readonly deadLetterQueue: sqs.IQueue;
  readonly reservedConcurrentExecutions?: number;
  readonly architecture: lambda.Architecture;
  readonly loggingFormat: lambda.LoggingFormat;
}

/** One function's role, log group and security group. */
export interface IsolatedFunctionResources {
  /** The execution role; grants made to the function land in its customer-managed policy. */
  readonly role: ManagedPolicyRole;
  /** The function's log group. */
  readonly logGroup: logs.LogGroup;
  /** The function's security group: HTTPS egress only until the caller adds more. */
  readonly securityGroup: ec2.SecurityGroup;
  /** Settings to spread into the function's props. */
  readonly settings: IsolatedFunctionSettings;
}

/** Options of a custom resource provider made by {@link IsolatedFunctions.createProvider}. */
export interface IsolatedProviderOptions {
  /** The function that handles the custom resource's events (it throws on failure). */
  readonly onEventHandler: lambda.IFunction;
  /** What the provider is for; used in the descriptions of its role and security group. */
  readonly purpose: string;
}

/** What functions in the isolated subnets take from their shared settings. */
export interface IIsolatedFunctions {
  /** Creates the role, log group and security group of one function and returns the settings to spread into it. */
  createFunctionResources(scope: Construct, id: string, options: IsolatedFunctionOptions): IsolatedFunctionResources;
  /** A CDK Provider framework for a custom resource, its own function set up like any other here. */
  createProvider(scope: Construct, id: string, options: IsolatedProviderOptions): cr.Provider;
  /** Reserved concurrency of each custom resource function, or undefined for none. */
  readonly customResourceConcurrency?: number;
  /** Records why `fn` reserves no concurrency, when it reserves none (the HIPAA and NIST packs ask for it). */
  acknowledgeUnreservedConcurrency(fn: IConstruct): void;
}

/** The compliance rules that ask every function to reserve concurrency. */
const CONCURRENCY_RULES = ['HIPAA.Security-LambdaConcurrency', 'NIST.800.53.R5-LambdaConcurrency'];

/** Shared resources of the functions in the isolated subnets of one stack. */
export class IsolatedFunctions extends Construct implements IIsolatedFunctions {
  /** Dead-letter queue of every function's failed asynchronous invocations. */
  readonly deadLetterQueue: sqs.Queue;
  /** Network-interface permissions every function in a VPC needs; attached to each role. */
  readonly vpcAccessPolicy: iam.ManagedPolicy;

  /** Reserved concurrency of each custom resource function, or undefined for none. */
  readonly customResourceConcurrency?: number;

  private readonly props: IsolatedFunctionsProps;

  constructor(scope: Construct, id: string, props: IsolatedFunctionsProps) {
    super(scope, id);
    this.props = props;
    this.customResourceConcurrency = props.customResourceConcurrency;
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: props.encryptionKey,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      // A dead-letter queue itself: other queues may redrive into it (CT.SQS.PR.1).
      redriveAllowPolicy: { redrivePermission: sqs.RedrivePermission.ALLOW_ALL },
      removalPolicy,
    });

    this.vpcAccessPolicy = new iam.ManagedPolicy(this, 'VpcAccessPolicy', {
      description: 'Lets Lambda manage the network interfaces of functions in the isolated subnets',
      statements: [
        new iam.PolicyStatement({
          actions: [
            'ec2:CreateNetworkInterface',
            'ec2:DescribeNetworkInterfaces',
            'ec2:DescribeSubnets',
            'ec2:DeleteNetworkInterface',
            'ec2:AssignPrivateIpAddresses',
            'ec2:UnassignPrivateIpAddresses',
          ],
          resources: ['*'],
        }),
      ],
    });
    acknowledge(this.vpcAccessPolicy, 'AwsSolutions-IAM5[Resource::*]',
      'Lambda creates and describes the network interfaces of a function in a VPC before the interfaces exist, ' +
        'and the EC2 describe calls support no resource-level permissions, so these actions need the "*" resource ' +
        '(the same statement as the AWS managed AWSLambdaVPCAccessExecutionRole policy, kept customer-managed).');
  }

  /** Creates the role, log group and security group of one function and returns the settings to spread into it. */
  createFunctionResources(scope: Construct, id: string, options: IsolatedFunctionOptions): IsolatedFunctionResources {
    const { reservedConcurrentExecutions } = options;
    if (reservedConcurrentExecutions !== undefined && (!Number.isInteger(reservedConcurrentExecutions) || reservedConcurrentExecutions < 1)) {
      throw new Error(`IsolatedFunctions ${scope.node.path}/${id}: reservedConcurrentExecutions must be a positive integer, got ${reservedConcurrentExecutions}`);
    }
    const role = new ManagedPolicyRole(scope, `${id}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role: ${options.purpose}`,
      managedPolicies: [this.vpcAccessPolicy],
    });
    const logGroup = new logs.LogGroup(scope, `${id}Logs`, {
      encryptionKey: this.props.encryptionKey,
      retention: this.props.logRetention,
      removalPolicy: this.props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    logGroup.grantWrite(role);
    // Lambda writes failed asynchronous events to the KMS-encrypted dead-letter queue with the function's own
    // role, which needs the data key as well as sqs:SendMessage: through SQS only (kms:ViaService).
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
      resources: [this.props.encryptionKey.keyArn],
      conditions: { StringEquals: { 'kms:ViaService': `sqs.${Stack.of(scope).region}.amazonaws.com` } },
    }));
    const securityGroup = new ec2.SecurityGroup(scope, `${id}SecurityGroup`, {
      vpc: this.props.vpc,
      description: `${options.purpose}: HTTPS to VPC endpoints`,
      allowAllOutbound: false,
    });
    // The isolated subnets route nowhere but to the VPC: HTTPS reaches the
    // interface endpoints and, through the S3 gateway endpoint, S3 (where
    // custom resources post their response). S3's addresses come from a
    // regional prefix list that cannot be resolved without an AWS lookup.
    securityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS to VPC endpoints and the S3 gateway');
    return {
      role,
      logGroup,
      securityGroup,
      settings: {
        role,
        logGroup,
        vpc: this.props.vpc,
        vpcSubnets: this.props.subnets,
        securityGroups: [securityGroup],
        deadLetterQueue: this.deadLetterQueue,
        ...(reservedConcurrentExecutions === undefined ? {} : { reservedConcurrentExecutions }),
        architecture: lambda.Architecture.ARM_64,
        loggingFormat: lambda.LoggingFormat.JSON,
      },
    };
  }

  /**
   * The CDK Provider framework for a custom resource (design decision 8: the handler throws on failure and the
   * framework answers CloudFormation). Its framework function gets what every function here has: a role with
   * customer-managed permissions, an encrypted log group, HTTPS-only egress, the dead-letter queue and reserved
   * concurrency. It invokes the handler through the Lambda endpoint and posts the answer through the S3 gateway.
   */
  createProvider(scope: Construct, id: string, options: IsolatedProviderOptions): cr.Provider {
    const resources = this.createFunctionResources(scope, id, {
      purpose: `CloudFormation custom resource framework: ${options.purpose}`,
      reservedConcurrentExecutions: this.customResourceConcurrency,
    });
    const provider = new cr.Provider(scope, id, {
      onEventHandler: options.onEventHandler,
      vpc: this.props.vpc,
      vpcSubnets: this.props.subnets,
      securityGroups: [resources.securityGroup],
      frameworkOnEventRole: resources.role,
      logGroup: resources.logGroup,
    });
    const frameworkFunction = provider.node.findChild('framework-onEvent').node.defaultChild as lambda.CfnFunction;
    frameworkFunction.reservedConcurrentExecutions = resources.settings.reservedConcurrentExecutions;
    this.acknowledgeUnreservedConcurrency(frameworkFunction);
    frameworkFunction.deadLetterConfig = { targetArn: this.deadLetterQueue.queueArn };
    resources.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [this.deadLetterQueue.queueArn] }));
    acknowledge(resources.role.permissionsPolicy!, wildcardFinding(scope, `${options.onEventHandler.functionArn}:*`),
      'The CDK Provider framework invokes the handler function by its ARN and by its qualified ARNs ' +
        '(versions and aliases of that one function), which IAM can only express with the ":*" suffix.');
    return provider;
  }

  /** Records why `fn` reserves no concurrency, when it reserves none (the HIPAA and NIST packs ask for it). */
  acknowledgeUnreservedConcurrency(fn: IConstruct): void {
    const resource = (CfnResource.isCfnResource(fn) ? fn : fn.node.defaultChild) as lambda.CfnFunction | undefined;
    if (!resource || resource.reservedConcurrentExecutions !== undefined) return;
    for (const rule of CONCURRENCY_RULES) {
      acknowledge(fn, rule,
        'This stage reserves no Lambda concurrency by configuration (functions.reservedConcurrency is none): Lambda ' +
          'refuses any reservation that leaves an account fewer than 10 unreserved executions, and new accounts ' +
          'often have a limit of 10, so a reservation would fail the first deploy.');
    }
  }
}
