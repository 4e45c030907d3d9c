/**
 * Configuration validation: each bad value fails with a message naming the
 * environment and the field, before any construct exists.
 */
import { ENVIRONMENT_NAMES, loadEnvironmentConfig, parseEnvironmentConfig } from '../../lib/config';
import { ENVIRONMENTS } from '../../lib/config/environments';
import { buildApp } from '../../lib/app';
import { configFailure } from './config-errors';

describe('environment configuration', () => {
  it.each(ENVIRONMENT_NAMES)('%s is valid as shipped', (name) => {
    const config = loadEnvironmentConfig(name);
    expect(config.name).toBe(name);
    expect(config.database.minCapacity).toBeLessThanOrEqual(config.database.maxCapacity);
  });

  it('refuses an unknown environment, naming it and the known ones', () => {
    const error = configFailure(() => loadEnvironmentConfig('qa'));
    expect(error.environment).toBe('qa');
    expect(error.message).toBe(
      'Invalid configuration for environment "qa":\n  - environment: unknown environment; expected one of dev, staging, prod',
    );
  });

  it('an unknown environment requested on the command line fails the app build', () => {
    expect(() => buildApp({ environments: ['dev', 'qa'] })).toThrow(/environment "qa"/);
  });

  const cases: [string, string, Record<string, unknown>, RegExp][] = [
    ['staging', 'min ACU above max', { database: { minCapacity: 8, maxCapacity: 4 } },
      /environment "staging":\n {2}- database\.minCapacity: minCapacity \(8 ACU\) is above maxCapacity \(4 ACU\)/],
    ['prod', 'seeds enabled in prod', { database: { seedsEnabled: true } },
      /environment "prod":\n {2}- database\.seedsEnabled: seeds must never run in prod/],
    ['dev', 'log retention below a year', { database: { logRetentionDays: 30 } },
      /environment "dev":\n {2}- database\.logRetentionDays: logRetentionDays must be one of 365, 400/],
    ['dev', 'flow log retention not a CloudWatch value', { network: { flowLogRetentionDays: 500 } },
      /- network\.flowLogRetentionDays: flowLogRetentionDays must be one of/],
    ['dev', 'backup retention above 35 days', { database: { backupRetentionDays: 36 } },
      /- database\.backupRetentionDays: Too big: expected number to be <=35/],
    ['prod', 'backup retention short of 35 days in prod', { database: { backupRetentionDays: 14 } },
      /- database\.backupRetentionDays: must be 35 days in prod/],
    ['dev', 'the PostgreSQL default port', { database: { port: 5432 } },
      /- database\.port: must not be the PostgreSQL default port 5432/],
    ['dev', 'capacity not in half ACUs', { database: { maxCapacity: 4.3 } },
      /- database\.maxCapacity: must be a multiple of 0\.5/],
    ['staging', 'destroying data outside dev', { database: { removalPolicy: 'destroy' } },
      /environment "staging":\n {2}- database\.removalPolicy: "destroy" is allowed in dev only/],
    ['prod', 'optional MFA in prod', { auth: { mfa: 'optional' } }, /- auth\.mfa: MFA must be required in prod/],
    ['prod', 'standard Database Insights in prod', { database: { databaseInsights: 'standard' } },
      /environment "prod":\n {2}- database\.databaseInsights: Database Insights must be advanced in prod/],
    ['staging', 'advanced Database Insights without its 15 months', { database: { databaseInsights: 'advanced', performanceInsightsRetentionDays: 7 } },
      /- database\.performanceInsightsRetentionDays: advanced Database Insights keeps 15 months: set 465, not 7/],
    ['prod', 'an unprotected user pool in prod', { auth: { deletionProtection: false } },
      /- auth\.deletionProtection: the user pool must be deletion-protected in prod/],
    ['staging', 'a plain-http callback', { auth: { callbackUrls: ['http://app.example.com/cb'] } },
      /- auth\.callbackUrls: http:\/\/app\.example\.com\/cb must use https/],
    ['dev', 'a zone outside the region', { network: { availabilityZones: ['eu-west-1a', 'us-east-1b'] } },
      /- network\.availabilityZones\.1: "us-east-1b" is not a zone of region eu-west-1/],
    ['dev', 'a malformed CIDR', { network: { cidr: '10.0.0.0/8' } },
      /- network\.cidr: must be an IPv4 CIDR block between \/16 and \/22/],
    ['dev', 'an unknown field', { database: { maxConections: 10 } }, /- database: Unrecognized key: "maxConections"/],
    ['dev', 'a short password policy', { auth: { passwordMinLength: 8 } }, /- auth\.passwordMinLength: Too small/],
    ['dev', 'a malformed account', { account: '1234' }, /- account: must be a 12-digit AWS account id/],
    ['dev', 'a writer that may pause (the Cognito triggers cannot wait for it)', { database: { minCapacity: 0 } },
      /- database\.minCapacity: minCapacity 0 ACU lets the writer pause, and the Cognito triggers cannot wait for it to resume: use 0\.5 or more/],
    ['prod', 'a reservation the account limit cannot hold', { functions: { reservedConcurrency: { cognitoTriggers: 0, customResources: 1 } } },
      /- functions\.reservedConcurrency\.cognitoTriggers: Too small/],
    ['dev', 'a reservation spelled wrong', { functions: { reservedConcurrency: 'off' } }, /- functions\.reservedConcurrency: /],
    ['dev', 'a Cognito domain prefix AWS refuses', { auth: { domainPrefix: 'saas-cognito-dev' } },
      /- auth\.domainPrefix: must not contain aws, amazon or cognito/],
  ];
  it.each(cases)('%s: refuses %s', (env, _what, override, message) => {
    const error = configFailure(() => loadEnvironmentConfig(env, override));
    expect(error.environment).toBe(env);
    expect(error.message).toMatch(message);
  });

  it('reports every problem at once', () => {
    const error = configFailure(() =>
      loadEnvironmentConfig('dev', { database: { minCapacity: 10, maxCapacity: 2, readers: -1 } }),
    );
    expect(error.issues.map((i) => i.path).sort()).toEqual(['database.minCapacity', 'database.readers']);
    expect(error.message).toContain('database.readers: Too small: expected number to be >=0');
  });

  it('lists several production violations together', () => {
    const error = configFailure(() =>
      loadEnvironmentConfig('prod', { database: { seedsEnabled: true, removalPolicy: 'snapshot' }, auth: { mfa: 'optional' } }),
    );
    expect(error.issues.map((i) => i.path)).toEqual(['database.seedsEnabled', 'database.removalPolicy', 'auth.mfa']);
  });

  it('leaves the shipped configuration untouched when overriding', () => {
    loadEnvironmentConfig('dev', { database: { readers: 3 } });
    expect((ENVIRONMENTS.dev as { database: { readers: number } }).database.readers).toBe(0);
    expect(() => parseEnvironmentConfig('dev', ENVIRONMENTS.dev)).not.toThrow();
  });
});
