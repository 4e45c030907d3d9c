/**
 * The AWS side of the preflight: the SDK clients it uses (injected, so tests mock them with
 * `aws-sdk-client-mock`), and what an SDK error means for a check. Every call goes through `call`, which
 * names the IAM action it needs: an AccessDenied becomes that check's failure with the missing permission
 * named, while missing or invalid credentials stop the whole run with one line.
 */
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CognitoIdentityProviderClient } from '@aws-sdk/client-cognito-identity-provider';
import { IAMClient } from '@aws-sdk/client-iam';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { RDSClient } from '@aws-sdk/client-rds';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { SSMClient } from '@aws-sdk/client-ssm';
import { STSClient } from '@aws-sdk/client-sts';

/** The clients of one stage's region. SES may live in another region than the stage (the pool names it). */
export interface PreflightClients {
  readonly region: string;
  readonly sts: STSClient;
  readonly lambda: LambdaClient;
  readonly cognito: CognitoIdentityProviderClient;
  readonly rds: RDSClient;
  readonly cloudFormation: CloudFormationClient;
  readonly ssm: SSMClient;
  /** IAM is global; its client answers for the account whatever the region. */
  readonly iam: IAMClient;
  /** The SES client of `region`. */
  sesv2(region: string): SESv2Client;
}

/** Real clients for `region`, with the SDK's default credential chain (environment, profile, SSO, role). */
export function createClients(region: string): PreflightClients {
  // Few retries and bounded waits: a preflight should answer in seconds; a throttled read or an unreachable
  // endpoint is reported as its check's failure, not waited out.
  const config = { region, maxAttempts: 3, requestHandler: { connectionTimeout: 5_000, requestTimeout: 20_000 } };
  const ses = new Map<string, SESv2Client>();
  return {
    region,
    sts: new STSClient(config),
    lambda: new LambdaClient(config),
    cognito: new CognitoIdentityProviderClient(config),
    rds: new RDSClient(config),
    cloudFormation: new CloudFormationClient(config),
    ssm: new SSMClient(config),
    iam: new IAMClient(config),
    sesv2(sesRegion: string) {
      let client = ses.get(sesRegion);
      if (!client) ses.set(sesRegion, (client = new SESv2Client({ ...config, region: sesRegion })));
      return client;
    },
  };
}

/** The caller lacks the IAM permission `action`: the check that needed it fails, the others run. */
export class AccessDeniedError extends Error {
  constructor(
    readonly action: string,
    cause: unknown,
  ) {
    super(`access denied: the credentials lack ${action} (${firstLine(cause)})`, { cause });
    this.name = 'AccessDeniedError';
  }
}

/** No usable credentials or region: nothing can be checked, the run stops with this one line. */
export class CredentialsError extends Error {
  constructor(message: string, cause?: unknown) {
    super(message, { cause });
    this.name = 'CredentialsError';
  }
}

// Error codes AWS services answer when IAM denies a call (query, JSON and REST protocols differ).
const ACCESS_DENIED = new Set(['AccessDenied', 'AccessDeniedException', 'UnauthorizedOperation', 'AuthorizationError', 'AuthorizationErrorException']);
// Codes that mean the credentials themselves are bad, whatever the call.
const BAD_CREDENTIALS = new Set([
  'ExpiredToken',
  'ExpiredTokenException',
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'SignatureDoesNotMatch',
  'InvalidSignatureException',
  'InvalidAccessKeyId',
]);

/**
 * Sends one request that needs the IAM action `action` (`service:Operation`), translating errors: a denial
 * into {@link AccessDeniedError}, missing or bad credentials and a missing region into {@link CredentialsError}.
 * Other errors pass through unchanged, for the check to interpret (not found, validation).
 */
export async function call<T>(action: string, send: () => Promise<T>): Promise<T> {
  try {
    return await send();
  } catch (error) {
    const name = (error as { name?: string }).name ?? '';
    if (ACCESS_DENIED.has(name)) throw new AccessDeniedError(action, error);
    if (name === 'CredentialsProviderError' || BAD_CREDENTIALS.has(name)) {
      throw new CredentialsError(`no usable AWS credentials (${firstLine(error)}): set AWS_PROFILE, or sign in (aws sso login), and run again`, error);
    }
    if (/region is missing/i.test(String((error as Error).message))) {
      throw new CredentialsError('no AWS region: set AWS_REGION, or a region in the profile', error);
    }
    throw error;
  }
}

/** The error's name (when it is an AWS error code) and the first line of its message. */
export function firstLine(error: unknown): string {
  const message = (error instanceof Error ? error.message : String(error)).split('\n')[0];
  const name = (error as { name?: string }).name;
  return name && name !== 'Error' && !message.startsWith(name) ? `${name}: ${message}` : message;
}
