/**
 * The Cognito user pool of the platform and its public web client.
 * Trigger functions (the users-table mirror) are attached later with
 * `userPool.addTrigger(...)`.
 */
import { Duration, RemovalPolicy, Token } from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import { Construct } from 'constructs';
import { acknowledge } from '../compliance/acknowledge';

/** Properties of a {@link PlatformUserPool}. */
export interface PlatformUserPoolProps {
  /** Name of the pool, `<app>-<env>`. */
  readonly userPoolName: string;
  /** Whether people may sign up themselves. */
  readonly selfSignUp: boolean;
  /** TOTP MFA optional or required. */
  readonly mfa: 'optional' | 'required';
  /** Threat protection mode on the Plus plan. */
  readonly threatProtection: 'audit-only' | 'full-function';
  /** Minimum password length, 6 to 99 (Cognito's range). */
  readonly passwordMinLength: number;
  /** Access token lifetime. */
  readonly accessTokenValidity: Duration;
  /** ID token lifetime. */
  readonly idTokenValidity: Duration;
  /** Refresh token lifetime. */
  readonly refreshTokenValidity: Duration;
  /** Allowed redirect URLs after sign-in. */
  readonly callbackUrls: string[];
  /** Allowed redirect URLs after sign-out. */
  readonly logoutUrls: string[];
  /**
   * Prefix of the Cognito domain that serves the authorization endpoints: lower-case letters, digits, hyphens.
   * Prefixes are global per region: whoever takes one first has it, so make it unique (the stack adds the account).
   */
  readonly domainPrefix: string;
  /** Whether the pool refuses deletion. */
  readonly deletionProtection: boolean;
  /**
   * Send e-mail (codes, invitations, password resets) through SES as `fromAddress`, from the verified identity
   * `identityArn` (a domain or address identity, in this or another account, whose sending authorization policy
   * lets Cognito send).
   * @default - Cognito's default sender, limited to about 50 e-mails a day: fit for dev only
   */
  readonly email?: UserPoolSesEmail;
  /**
   * What happens to the pool when it leaves the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/** How a user pool sends e-mail through SES. */
export interface UserPoolSesEmail {
  /** The address e-mail comes from; the identity must cover it (the same address, or its domain). */
  readonly fromAddress: string;
  /**
   * Display name shown with the address.
   * @default - the address alone
   */
  readonly fromName?: string;
  /** ARN of the verified SES identity: `arn:aws:ses:<region>:<account>:identity/<domain or address>`. */
  readonly identityArn: string;
}

/**
 * A user pool signing people in by email (case-insensitive), verified by
 * code, with a strong password policy, TOTP MFA, threat protection (Plus
 * plan), recovery by email only; and a public client for the authorization
 * code flow (with PKCE: a public client has no secret, so the code verifier
 * is what binds the code to the browser that asked for it).
 */
export class PlatformUserPool extends Construct {
  /** The user pool. */
  readonly userPool: cognito.UserPool;
  /** The public web client. */
  readonly webClient: cognito.UserPoolClient;
  /** The Cognito domain of the authorization endpoints. */
  readonly domain: cognito.UserPoolDomain;

  constructor(scope: Construct, id: string, props: PlatformUserPoolProps) {
    super(scope, id);
    if (!Number.isInteger(props.passwordMinLength) || props.passwordMinLength < 6 || props.passwordMinLength > 99) {
      throw new Error(`PlatformUserPool ${this.node.path}: passwordMinLength must be an integer from 6 to 99, got ${props.passwordMinLength}`);
    }
    // A prefix holding the account id of an account-agnostic stack is a token, checked at deploy time.
    if (!Token.isUnresolved(props.domainPrefix) && !/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/.test(props.domainPrefix)) {
      throw new Error(`PlatformUserPool ${this.node.path}: domainPrefix must be lower-case letters, digits and hyphens, got "${props.domainPrefix}"`);
    }
    this.userPool = new cognito.UserPool(this, 'UserPool', {
      userPoolName: props.userPoolName,
      featurePlan: cognito.FeaturePlan.PLUS,
      standardThreatProtectionMode:
        props.threatProtection === 'full-function'
          ? cognito.StandardThreatProtectionMode.FULL_FUNCTION
          : cognito.StandardThreatProtectionMode.AUDIT_ONLY,
      selfSignUpEnabled: props.selfSignUp,
      signInAliases: { email: true },
      signInCaseSensitive: false,
      autoVerify: { email: true },
      keepOriginal: { email: true },
      userVerification: { emailStyle: cognito.VerificationEmailStyle.CODE },
      standardAttributes: {
        email: { required: true, mutable: true },
        fullname: { required: false, mutable: true },
      },
      passwordPolicy: {
        minLength: props.passwordMinLength,
        requireLowercase: true,
        requireUppercase: true,
        requireDigits: true,
        requireSymbols: true,
        tempPasswordValidity: Duration.days(3),
        passwordHistorySize: 12,
      },
      mfa: props.mfa === 'required' ? cognito.Mfa.REQUIRED : cognito.Mfa.OPTIONAL,
      mfaSecondFactor: { otp: true, sms: false, email: false },
      accountRecovery: cognito.AccountRecovery.EMAIL_ONLY,
      deletionProtection: props.deletionProtection,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    if (props.mfa === 'optional') {
      acknowledge(this.userPool, 'AwsSolutions-COG2',
        'MFA is optional in this environment by configuration (dev): people testing sign-up flows enrol TOTP ' +
          'when they choose to, and the configuration schema refuses optional MFA in prod.');
    }

    if (props.email) {
      const { fromAddress, fromName, identityArn } = props.email;
      const identity = /^arn:aws[a-z-]*:ses:[a-z0-9-]+:\d{12}:identity\/(.+)$/.exec(identityArn)?.[1];
      if (!identity) {
        throw new Error(`PlatformUserPool ${this.node.path}: email.identityArn must be an SES identity ARN (arn:aws:ses:<region>:<account>:identity/<domain or address>), got "${identityArn}"`);
      }
      const domain = fromAddress.split('@')[1]?.toLowerCase() ?? '';
      const covered = identity.includes('@') ? identity.toLowerCase() === fromAddress.toLowerCase() : domain === identity.toLowerCase() || domain.endsWith(`.${identity.toLowerCase()}`);
      if (!covered) throw new Error(`PlatformUserPool ${this.node.path}: email.fromAddress ${fromAddress} is not covered by the identity ${identity}`);
      // The ARN as configured (the identity may be another account's), not one the library would build from this stack.
      (this.userPool.node.defaultChild as cognito.CfnUserPool).emailConfiguration = {
        emailSendingAccount: 'DEVELOPER',
        sourceArn: identityArn,
        from: fromName ? `${fromName} <${fromAddress}>` : fromAddress,
      };
    }

    this.domain = this.userPool.addDomain('Domain', {
      cognitoDomain: { domainPrefix: props.domainPrefix },
    });

    this.webClient = this.userPool.addClient('WebClient', {
      userPoolClientName: `${props.userPoolName}-web`,
      generateSecret: false,
      authFlows: { userSrp: true },
      oAuth: {
        flows: { authorizationCodeGrant: true, implicitCodeGrant: false, clientCredentials: false },
        scopes: [cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL, cognito.OAuthScope.PROFILE],
        callbackUrls: props.callbackUrls,
        logoutUrls: props.logoutUrls,
      },
      supportedIdentityProviders: [cognito.UserPoolClientIdentityProvider.COGNITO],
      preventUserExistenceErrors: true,
      enableTokenRevocation: true,
      accessTokenValidity: props.accessTokenValidity,
      idTokenValidity: props.idTokenValidity,
      refreshTokenValidity: props.refreshTokenValidity,
      authSessionValidity: Duration.minutes(3),
    });
  }
}
