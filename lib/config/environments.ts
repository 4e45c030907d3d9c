/**
 * The configuration of each environment, as written by people. It is
 * validated by `loadEnvironmentConfig` before use, so a mistake here fails
 * synth with the environment and field named.
 *
 * Cognito domain prefixes are global per region: `auth.domainPrefix` is left
 * out, so each stage's prefix is `<app>-<env>-<account id>`, unique to the
 * account. Set it only for a prefix known to be free (npm run preflight).
 *
 * Accounts are left out on purpose: the CLI's account (CDK_DEFAULT_ACCOUNT)
 * applies, or the template stays account-agnostic. Pin one by adding
 * `account: '123456789012'` to an environment.
 */
import type { EnvironmentName } from './schema';

/** The raw (unvalidated) configuration of each environment. */
export const ENVIRONMENTS: Record<EnvironmentName, unknown> = {
  dev: {
    appName: 'saas',
    region: 'eu-west-1',
    network: {
      cidr: '10.10.0.0/16',
      availabilityZones: ['eu-west-1a', 'eu-west-1b'],
      flowLogRetentionDays: 365,
    },
    database: {
      databaseName: 'saas',
      port: 5433,
      // 0.5, not 0: the Cognito triggers cannot wait for a paused writer to resume (schema.ts).
      minCapacity: 0.5,
      maxCapacity: 4,
      readers: 0,
      backupRetentionDays: 7,
      backupWindow: '02:00-03:00',
      maintenanceWindow: 'sun:03:30-sun:04:30',
      removalPolicy: 'destroy',
      logRetentionDays: 365,
      slowStatementMillis: 500,
      monitoringIntervalSeconds: 60,
      performanceInsightsRetentionDays: 7,
      databaseInsights: 'standard',
      secretRotationDays: 30,
      seedsEnabled: true,
    },
    auth: {
      selfSignUp: true,
      mfa: 'optional',
      threatProtection: 'audit-only',
      passwordMinLength: 12,
      accessTokenMinutes: 60,
      idTokenMinutes: 60,
      refreshTokenDays: 30,
      callbackUrls: ['http://localhost:3000/auth/callback'],
      logoutUrls: ['http://localhost:3000/'],
      deletionProtection: false,
    },
    // No reservation: a new account's concurrency limit (often 10) admits none.
    functions: { reservedConcurrency: 'none' },
    alarms: {
      // Dev's alarms reach the topic and no one: subscribe yourself here to receive them.
      subscriptions: [],
      thresholds: {
        deadLetterMessages: 1,
        functionErrors: 1,
        acuUtilizationPercent: 90,
        proxyBorrowLatencyMillis: 100,
        proxyAuthFailures: 5,
        replicaLagMillis: 1000,
      },
    },
    tags: { Application: 'saas', Environment: 'dev' },
  },
  staging: {
    appName: 'saas',
    region: 'eu-west-1',
    network: {
      cidr: '10.20.0.0/16',
      availabilityZones: ['eu-west-1a', 'eu-west-1b', 'eu-west-1c'],
      flowLogRetentionDays: 365,
    },
    database: {
      databaseName: 'saas',
      port: 5433,
      minCapacity: 0.5,
      maxCapacity: 8,
      readers: 1,
      backupRetentionDays: 14,
      backupWindow: '02:00-03:00',
      maintenanceWindow: 'sun:03:30-sun:04:30',
      removalPolicy: 'snapshot',
      logRetentionDays: 365,
      slowStatementMillis: 500,
      monitoringIntervalSeconds: 30,
      performanceInsightsRetentionDays: 7,
      databaseInsights: 'standard',
      secretRotationDays: 30,
      seedsEnabled: true,
    },
    auth: {
      selfSignUp: true,
      mfa: 'required',
      threatProtection: 'full-function',
      passwordMinLength: 12,
      accessTokenMinutes: 60,
      idTokenMinutes: 60,
      refreshTokenDays: 30,
      callbackUrls: ['https://staging.app.example.com/auth/callback'],
      logoutUrls: ['https://staging.app.example.com/'],
      deletionProtection: true,
      // A verified SES identity of the stage's account whose sending authorization lets Cognito send (docs/operations.md).
      email: {
        fromAddress: 'no-reply@staging.app.example.com',
        fromName: 'SaaS (staging)',
        identityArn: 'arn:aws:ses:eu-west-1:111122223333:identity/staging.app.example.com',
        region: 'eu-west-1',
      },
    },
    functions: { reservedConcurrency: { cognitoTriggers: 10, customResources: 1 } },
    alarms: {
      subscriptions: [{ protocol: 'email', endpoint: 'platform-alerts-staging@example.com' }],
      thresholds: {
        deadLetterMessages: 1,
        functionErrors: 1,
        acuUtilizationPercent: 90,
        proxyBorrowLatencyMillis: 100,
        proxyAuthFailures: 5,
        replicaLagMillis: 1000,
      },
    },
    tags: { Application: 'saas', Environment: 'staging' },
  },
  prod: {
    appName: 'saas',
    region: 'eu-west-1',
    network: {
      cidr: '10.30.0.0/16',
      availabilityZones: ['eu-west-1a', 'eu-west-1b', 'eu-west-1c'],
      flowLogRetentionDays: 731,
    },
    database: {
      databaseName: 'saas',
      port: 5433,
      minCapacity: 2,
      maxCapacity: 64,
      readers: 2,
      backupRetentionDays: 35,
      backupWindow: '02:00-03:00',
      maintenanceWindow: 'sun:03:30-sun:04:30',
      removalPolicy: 'retain',
      logRetentionDays: 731,
      slowStatementMillis: 1000,
      monitoringIntervalSeconds: 15,
      // Advanced Database Insights keeps 15 months.
      performanceInsightsRetentionDays: 465,
      databaseInsights: 'advanced',
      // Another account's vault in another region: placeholders to replace with the real vault (docs/operations.md).
      backupCopies: [{ vaultArn: 'arn:aws:backup:eu-central-1:777788889999:backup-vault:saas-prod-copies', retentionDays: 90 }],
      secretRotationDays: 30,
      seedsEnabled: false,
    },
    auth: {
      selfSignUp: true,
      mfa: 'required',
      threatProtection: 'full-function',
      passwordMinLength: 14,
      accessTokenMinutes: 15,
      idTokenMinutes: 15,
      refreshTokenDays: 30,
      callbackUrls: ['https://app.example.com/auth/callback'],
      logoutUrls: ['https://app.example.com/'],
      deletionProtection: true,
      email: {
        fromAddress: 'no-reply@app.example.com',
        fromName: 'SaaS',
        identityArn: 'arn:aws:ses:eu-west-1:444455556666:identity/app.example.com',
        region: 'eu-west-1',
      },
    },
    functions: { reservedConcurrency: { cognitoTriggers: 20, customResources: 1 } },
    alarms: {
      subscriptions: [{ protocol: 'email', endpoint: 'platform-oncall@example.com' }],
      thresholds: {
        deadLetterMessages: 1,
        functionErrors: 1,
        acuUtilizationPercent: 80,
        proxyBorrowLatencyMillis: 100,
        proxyAuthFailures: 5,
        replicaLagMillis: 500,
      },
    },
    tags: { Application: 'saas', Environment: 'prod' },
  },
};
