/**
 * Cognito e-mail through SES (issue 21, deliverable 1): Cognito's default sender stops at about 50 e-mails a
 * day, so Staging and Prod must name a verified SES identity. Read from the real synthesized user pools, from
 * the configuration's validation, and from the construct's own checks.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- templates are untyped JSON read back from cdk.out */
import { App, Duration, Stack } from 'aws-cdk-lib';
import { loadEnvironmentConfig, parseEnvironmentConfig } from '../../lib/config';
import { ENVIRONMENTS } from '../../lib/config/environments';
import { PlatformUserPool, type UserPoolSesEmail } from '../../lib/constructs/user-pool';
import { configError, configFailure } from './config-errors';
import { resourcesOfType, synthesizedApp, type Synthesized } from './synth';

let synth: Synthesized;
beforeAll(async () => {
  synth = await synthesizedApp();
}, 600_000);

describe.each(['Dev', 'Staging', 'Prod'])('the user pool of %s', (stage) => {
  it('sends through the configured SES identity outside dev, as the configured address; dev keeps Cognito’s sender', () => {
    const config = loadEnvironmentConfig(stage.toLowerCase());
    const pools = Object.values(resourcesOfType(synth.templates[stage], 'AWS::Cognito::UserPool')) as any[];
    expect(pools).toHaveLength(1);
    const email = config.auth.email;
    if (stage === 'Dev') {
      expect(email).toBeUndefined();
      expect(pools[0].Properties.EmailConfiguration).toBeUndefined();
      return;
    }
    expect(email).toBeDefined();
    expect(pools[0].Properties.EmailConfiguration).toEqual({
      EmailSendingAccount: 'DEVELOPER',
      SourceArn: email!.identityArn,
      From: `${email!.fromName} <${email!.fromAddress}>`,
    });
    expect(email!.identityArn.split(':')[3]).toBe(email!.region);
  });
});

describe('the SES configuration', () => {
  const email = { fromAddress: 'no-reply@app.example.com', identityArn: 'arn:aws:ses:eu-west-1:123456789012:identity/app.example.com', region: 'eu-west-1' };

  it('is required in staging and prod, naming the field; dev may go without', () => {
    for (const name of ['staging', 'prod'] as const) {
      const raw = structuredClone(ENVIRONMENTS[name]) as { auth: Record<string, unknown> };
      delete raw.auth.email;
      expect(configFailure(() => parseEnvironmentConfig(name, raw)).issues).toEqual([{ path: 'auth.email', message: expect.stringMatching(/required outside dev \(fromAddress, identityArn, region\)/) }]);
    }
    expect(loadEnvironmentConfig('dev', { auth: { email } }).auth.email).toEqual(email);
  });

  it('refuses an identity in another region, a From it does not cover, a malformed ARN or address, naming each field', () => {
    const issues = (auth: Record<string, unknown>) => configError('prod', { auth: { email: { ...email, ...auth } } }).issues.map((i) => i.path);
    expect(issues({ region: 'us-east-1' })).toEqual(['auth.email.identityArn']);
    expect(issues({ fromAddress: 'no-reply@other.example.org' })).toEqual(['auth.email.fromAddress']);
    expect(issues({ identityArn: 'arn:aws:ses:eu-west-1:123456789012:identity/alerts@app.example.com' })).toEqual(['auth.email.fromAddress']);
    expect(issues({ identityArn: 'app.example.com' })).toEqual(['auth.email.identityArn']);
    expect(issues({ fromAddress: 'not an address' })).toContain('auth.email.fromAddress');
    // A subdomain of a domain identity, and the very address of an address identity, are covered.
    expect(loadEnvironmentConfig('prod', { auth: { email: { ...email, fromAddress: 'no-reply@mail.app.example.com' } } }).auth.email?.fromAddress).toBe('no-reply@mail.app.example.com');
    expect(loadEnvironmentConfig('prod', { auth: { email: { ...email, identityArn: 'arn:aws:ses:eu-west-1:123456789012:identity/no-reply@app.example.com' } } }).auth.email).toBeDefined();
  });

  it('PlatformUserPool refuses an identity ARN it cannot read and a From its identity does not cover, naming the property', () => {
    const pool = (ses: UserPoolSesEmail) => new PlatformUserPool(new Stack(new App(), 'S'), 'Pool', {
      userPoolName: 'p', selfSignUp: true, mfa: 'required', threatProtection: 'full-function', passwordMinLength: 14,
      accessTokenValidity: Duration.minutes(15), idTokenValidity: Duration.minutes(15), refreshTokenValidity: Duration.days(30),
      callbackUrls: ['https://app.example.com/cb'], logoutUrls: ['https://app.example.com/'], domainPrefix: 'saas-test', deletionProtection: true,
      email: ses,
    });
    expect(() => pool({ ...email, identityArn: 'arn:aws:sns:eu-west-1:123456789012:topic' })).toThrow(/email\.identityArn must be an SES identity ARN/);
    expect(() => pool({ ...email, fromAddress: 'x@elsewhere.example.net' })).toThrow(/email\.fromAddress x@elsewhere\.example\.net is not covered by the identity app\.example\.com/);
  });
});
