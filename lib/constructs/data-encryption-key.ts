/**
 * The customer-managed KMS key of an environment's data tier: cluster storage,
 * Performance Insights, secrets, log groups and dead-letter queues.
 */
import { Aws, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';

/** Properties of a {@link DataEncryptionKey}. */
export interface DataEncryptionKeyProps {
  /**
   * Alias of the key, without the `alias/` prefix.
   */
  readonly aliasName: string;
  /**
   * What happens to the key when it leaves the stack. A destroyed key makes
   * every snapshot encrypted with it unreadable, so only dev should destroy.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * A symmetric KMS key with yearly rotation whose policy
 * - lets the account administer it through IAM (the CDK default policy),
 * - lets CloudWatch Logs use it for the account's log groups in this region,
 * - denies `kms:CreateGrant` unless the grant is for an AWS resource or made
 *   by an AWS service (Control Tower CT.KMS.PR.3): RDS, Secrets Manager and
 *   Lambda create grants on the caller's behalf; nobody else may.
 */
export class DataEncryptionKey extends Construct {
  /** The key. */
  readonly key: kms.Key;

  constructor(scope: Construct, id: string, props: DataEncryptionKeyProps) {
    super(scope, id);
    if (!/^[a-zA-Z0-9/_-]{1,250}$/.test(props.aliasName) || props.aliasName.startsWith('alias/') || props.aliasName.startsWith('aws/')) {
      throw new Error(`DataEncryptionKey ${this.node.path}: aliasName must be letters, digits, / _ -, without "alias/" and not under "aws/", got "${props.aliasName}"`);
    }
    this.key = new kms.Key(this, 'Key', {
      alias: `alias/${props.aliasName}`,
      description: `Encrypts the data tier of ${props.aliasName}: database storage, secrets, logs and queues`,
      enableKeyRotation: true,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });

    denyGrantsExceptForAwsServices(this.key);

    const region = Stack.of(this).region;
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchLogsOfThisAccount',
        principals: [new iam.ServicePrincipal(`logs.${region}.amazonaws.com`)],
        actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
        resources: ['*'],
        conditions: {
          ArnLike: {
            'kms:EncryptionContext:aws:logs:arn': `arn:${Aws.PARTITION}:logs:${region}:${Aws.ACCOUNT_ID}:log-group:*`,
          },
        },
      }),
    );
  }
}

/**
 * Denies `kms:CreateGrant` on `key` unless the grant is for an AWS resource or made by an AWS service (Control
 * Tower CT.KMS.PR.3): RDS, Secrets Manager, Lambda and SNS create grants on the caller's behalf; nobody else may.
 */
export function denyGrantsExceptForAwsServices(key: kms.Key): void {
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'DenyGrantsExceptForAwsServices',
      effect: iam.Effect.DENY,
      principals: [new iam.AnyPrincipal()],
      actions: ['kms:CreateGrant'],
      resources: ['*'],
      conditions: {
        BoolIfExists: { 'kms:GrantIsForAWSResource': 'false', 'aws:PrincipalIsAWSService': 'false' },
      },
    }),
  );
}
