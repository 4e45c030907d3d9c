/**
 * The shape of one environment's configuration, validated with zod before any
 * construct is created. Rules that involve several fields, or that hold only in
 * production, live in `superRefine` so that every problem is reported at once,
 * each with the path of the field it concerns.
 */
import { z } from 'zod';

/** The environments this app knows, in promotion order. */
export const ENVIRONMENT_NAMES = ['dev', 'staging', 'prod'] as const;
export type EnvironmentName = (typeof ENVIRONMENT_NAMES)[number];

/**
 * CloudWatch Logs accepts only these retention periods. The Control Tower rule
 * CT.CLOUDWATCH.PR.2 requires at least a year, so shorter ones are refused here
 * rather than by the guard at the end of synth.
 */
export const LOG_RETENTION_DAYS = [365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653] as const;

/** Enhanced monitoring intervals RDS accepts (0 would switch it off). */
export const MONITORING_INTERVALS_SECONDS = [1, 5, 10, 15, 30, 60] as const;

/** Performance Insights retention: 7 days (free tier) or whole months up to 731 days. */
const PERFORMANCE_INSIGHTS_RETENTION_DAYS = [7, ...Array.from({ length: 23 }, (_, i) => (i + 1) * 31), 731] as const;

const POSTGRES_DEFAULT_PORT = 5432;

const oneOf = <T extends readonly number[]>(values: T, what: string) =>
  z
    .number()
    .int()
    .refine((v) => values.includes(v), { message: `${what} must be one of ${values.join(', ')}` });

/** `arn:aws:ses:<region>:<account>:identity/<domain or address>`. */
const SES_IDENTITY_ARN = /^arn:aws[a-z-]*:ses:[a-z0-9-]+:\d{12}:identity\/\S+$/;

const awsRegion = z.string().regex(/^[a-z]{2}(-gov)?-[a-z]+-\d$/, 'must be an AWS region such as eu-west-1');

const networkSchema = z.strictObject({
  /** IPv4 range of the VPC. */
  cidr: z
    .string()
    .regex(/^(\d{1,3}\.){3}\d{1,3}\/(1[6-9]|2[0-2])$/, 'must be an IPv4 CIDR block between /16 and /22'),
  /** Availability zones, named explicitly so synth never looks them up. */
  availabilityZones: z.array(z.string().min(1)).min(2, 'needs at least 2 zones').max(3, 'takes at most 3 zones'),
  /** Retention of the VPC flow logs. */
  flowLogRetentionDays: oneOf(LOG_RETENTION_DAYS, 'flowLogRetentionDays'),
});

const databaseSchema = z.strictObject({
  /** Name of the database created in the cluster. */
  databaseName: z.string().regex(/^[a-z][a-z0-9_]{0,62}$/, 'must be a lower-case PostgreSQL identifier'),
  /**
   * Port of the cluster. Not 5432: cdk-nag (AwsSolutions-RDS11) refuses the engine's default port.
   * RDS Proxy always listens on 5432 whatever the cluster port is.
   */
  port: z
    .number()
    .int()
    .min(1150)
    .max(65535)
    .refine((p) => p !== POSTGRES_DEFAULT_PORT, { message: 'must not be the PostgreSQL default port 5432' }),
  /** Minimum Aurora capacity units; 0 lets the writer pause when idle. */
  minCapacity: z
    .number()
    .min(0)
    .max(256)
    .refine((v) => Number.isInteger(v * 2), { message: 'must be a multiple of 0.5' }),
  /** Maximum Aurora capacity units. */
  maxCapacity: z
    .number()
    .min(1)
    .max(256)
    .refine((v) => Number.isInteger(v * 2), { message: 'must be a multiple of 0.5' }),
  /** Serverless v2 readers beside the writer. */
  readers: z.number().int().min(0).max(15),
  /** Days of automated backups (Aurora keeps 1 to 35). */
  backupRetentionDays: z.number().int().min(1).max(35),
  /** Preferred daily backup window, UTC, `hh:mm-hh:mm`. */
  backupWindow: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$/, 'must look like 03:00-04:00'),
  /** Preferred weekly maintenance window, UTC, `ddd:hh:mm-ddd:hh:mm`. */
  maintenanceWindow: z
    .string()
    .regex(
      /^(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):[0-5]\d-(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):[0-5]\d$/,
      'must look like sun:04:30-sun:05:30',
    ),
  /** What happens to the cluster when the stack or resource is deleted. */
  removalPolicy: z.enum(['destroy', 'snapshot', 'retain']),
  /** Retention of the exported PostgreSQL logs. */
  logRetentionDays: oneOf(LOG_RETENTION_DAYS, 'logRetentionDays'),
  /** Statements slower than this are logged, in milliseconds; -1 turns it off. */
  slowStatementMillis: z.number().int().min(-1).max(3_600_000),
  /** Enhanced monitoring interval. */
  monitoringIntervalSeconds: oneOf(MONITORING_INTERVALS_SECONDS, 'monitoringIntervalSeconds'),
  /** Performance Insights retention. */
  performanceInsightsRetentionDays: oneOf(PERFORMANCE_INSIGHTS_RETENTION_DAYS, 'performanceInsightsRetentionDays'),
  /**
   * Database Insights: `standard`, or `advanced` (execution plans, per-query and lock analysis, kept 15 months),
   * which needs performanceInsightsRetentionDays 465. Prod requires advanced.
   */
  databaseInsights: z.enum(['standard', 'advanced']),
  /** Days between password rotations of every database secret. */
  secretRotationDays: z.number().int().min(1).max(365),
  /**
   * Copies of a daily AWS Backup recovery point of the cluster to another region's and/or another account's
   * vault, so backups survive a lost region, account or key. Required in prod; none elsewhere by default.
   */
  backupCopies: z
    .array(
      z.strictObject({
        /** `arn:aws:backup:<region>:<account>:backup-vault:<name>`. */
        vaultArn: z.string().regex(/^arn:aws[a-z-]*:backup:[a-z0-9-]+:\d{12}:backup-vault:[A-Za-z0-9_-]{2,50}$/, 'must be a backup vault ARN: arn:aws:backup:<region>:<account>:backup-vault:<name>'),
        /** Days the copy is kept there. */
        retentionDays: z.number().int().min(1).max(36500),
      }),
    )
    .optional(),
  /** Whether the migration custom resource applies `seeds/*.sql`. */
  seedsEnabled: z.boolean(),
});

const authSchema = z.strictObject({
  /** Whether people may sign up themselves. */
  selfSignUp: z.boolean(),
  /** TOTP multi-factor authentication: optional or required at sign-in. */
  mfa: z.enum(['optional', 'required']),
  /** Threat protection on the Plus feature plan: report only, or act on risky sign-ins. */
  threatProtection: z.enum(['audit-only', 'full-function']),
  /** Minimum password length (Cognito accepts 6 to 99; below 12 is refused here). */
  passwordMinLength: z.number().int().min(12).max(99),
  /** Lifetime of access tokens, minutes (Cognito: 5 minutes to 1 day). */
  accessTokenMinutes: z.number().int().min(5).max(1440),
  /** Lifetime of ID tokens, minutes (Cognito: 5 minutes to 1 day). */
  idTokenMinutes: z.number().int().min(5).max(1440),
  /** Lifetime of refresh tokens, days (Cognito: up to 10 years). */
  refreshTokenDays: z.number().int().min(1).max(3650),
  /** Where the authorization server may send the code: https, or http on localhost for development. */
  callbackUrls: z.array(z.url()).min(1),
  /** Where the authorization server may send the browser after sign-out. */
  logoutUrls: z.array(z.url()).min(1),
  /** Prefix of the Cognito-hosted domain for the authorization endpoints (unique per region). */
  domainPrefix: z
    .string()
    .regex(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/, 'must be lower-case letters, digits and hyphens')
    .refine((p) => !/aws|amazon|cognito/.test(p), { message: 'must not contain aws, amazon or cognito' })
    .optional(),
  /** Whether the user pool refuses deletion. */
  deletionProtection: z.boolean(),
  /**
   * E-mail through SES instead of Cognito's default sender, which stops at about 50 e-mails a day (sign-ups and
   * password resets with it). Required outside dev.
   */
  email: z
    .strictObject({
      /** The address e-mail comes from, covered by the identity. */
      fromAddress: z.email('must be an e-mail address'),
      /** Display name beside the address. */
      fromName: z.string().regex(/^[^<>"\r\n]{1,64}$/, 'must be 1-64 characters without <, >, " or line breaks').optional(),
      /** ARN of the verified SES identity (a domain or address) Cognito may send from. */
      identityArn: z
        .string()
        .regex(SES_IDENTITY_ARN, 'must be an SES identity ARN: arn:aws:ses:<region>:<account>:identity/<domain or address>'),
      /** Region of the SES identity (Cognito sends from an SES region it supports for the pool's region). */
      region: awsRegion,
    })
    .optional(),
});

/**
 * Reserved concurrency of the stage's functions, or `none` for no reservation. Lambda refuses any reservation
 * that leaves the account fewer than 10 unreserved executions, and new accounts often have a limit of 10: a
 * stage deployed to such an account reserves nothing.
 */
const functionsSchema = z.strictObject({
  reservedConcurrency: z.union([
    z.literal('none'),
    z.strictObject({
      /** Each Cognito trigger: sign-ins that arrive together each need an instance. */
      cognitoTriggers: z.number().int().min(1).max(1000),
      /** Each custom resource function (migrations, the default security group): one deploy at a time. */
      customResources: z.number().int().min(1).max(10),
    }),
  ]),
});

/** Where the stage's alarms are sent: each becomes a subscription of the stage's alarm topic. */
const alarmSubscriptionSchema = z.discriminatedUnion('protocol', [
  /** An e-mail address (the owner confirms the subscription once, from the first message). */
  z.strictObject({ protocol: z.literal('email'), endpoint: z.email('must be an e-mail address') }),
  /** An HTTPS endpoint, e.g. a paging service's integration URL. */
  z.strictObject({ protocol: z.literal('https'), endpoint: z.url().refine((u) => u.startsWith('https://'), { message: 'must be an https:// URL' }) }),
]);

/**
 * The stage's alarms: who is told, and when. Every alarm and its runbook entry are in docs/operations.md.
 */
const alarmsSchema = z.strictObject({
  /** Who is told: subscriptions of the stage's encrypted alarm topic. Required outside dev. */
  subscriptions: z.array(alarmSubscriptionSchema),
  thresholds: z.strictObject({
    /** Messages visible in a dead-letter queue: a failed asynchronous invocation (any is one too many). */
    deadLetterMessages: z.number().int().min(1),
    /** Errors of one function (a Cognito trigger, the migrations) in 5 minutes. */
    functionErrors: z.number().int().min(1),
    /** Serverless v2 capacity in use, percent of maxCapacity, sustained 15 minutes. */
    acuUtilizationPercent: z.number().min(1).max(100),
    /** Average time to borrow a connection from RDS Proxy's pool, milliseconds, over 5 minutes. */
    proxyBorrowLatencyMillis: z.number().int().min(1),
    /** Client connections to RDS Proxy refused for bad authentication, in 5 minutes. */
    proxyAuthFailures: z.number().int().min(1),
    /** Largest lag of a reader behind the writer, milliseconds, over 5 minutes. */
    replicaLagMillis: z.number().int().min(1),
  }),
});

export const environmentConfigSchema = z
  .strictObject({
    /** Short name of the application, used in resource names and parameter paths. */
    appName: z.string().regex(/^[a-z][a-z0-9-]{1,19}$/, 'must be 2-20 lower-case letters, digits or hyphens'),
    /** AWS account to deploy to; when absent, the CLI's account (CDK_DEFAULT_ACCOUNT) or an unresolved token. */
    account: z
      .string()
      .regex(/^\d{12}$/, 'must be a 12-digit AWS account id')
      .optional(),
    /** AWS region to deploy to. */
    region: awsRegion,
    network: networkSchema,
    database: databaseSchema,
    auth: authSchema,
    /** Reserved concurrency of the stage's functions. */
    functions: functionsSchema,
    /** Alarms: who is told, and their thresholds. */
    alarms: alarmsSchema,
    /** Tags applied to every taggable resource of the environment. */
    tags: z.record(z.string().min(1).max(128), z.string().max(256)),
  })
  .superRefine((config, ctx) => {
    const { database, network, auth } = config;
    if (database.minCapacity > database.maxCapacity) {
      ctx.addIssue({
        code: 'custom',
        path: ['database', 'minCapacity'],
        message: `minCapacity (${database.minCapacity} ACU) is above maxCapacity (${database.maxCapacity} ACU)`,
      });
    }
    if (database.minCapacity < 0.5) {
      // A paused writer takes about 15 s to resume and the Data API answers DatabaseResumingException meanwhile;
      // Cognito gives its triggers 5 s, so sign-ups and sign-ins would fail after every pause.
      ctx.addIssue({
        code: 'custom',
        path: ['database', 'minCapacity'],
        message: `minCapacity ${database.minCapacity} ACU lets the writer pause, and the Cognito triggers cannot wait for it to resume: use 0.5 or more`,
      });
    }
    if (database.databaseInsights === 'advanced' && database.performanceInsightsRetentionDays !== 465) {
      ctx.addIssue({
        code: 'custom',
        path: ['database', 'performanceInsightsRetentionDays'],
        message: `advanced Database Insights keeps 15 months: set 465, not ${database.performanceInsightsRetentionDays}`,
      });
    }
    network.availabilityZones.forEach((zone, i) => {
      if (!zone.startsWith(config.region) || !/^[a-z]$/.test(zone.slice(config.region.length))) {
        ctx.addIssue({
          code: 'custom',
          path: ['network', 'availabilityZones', i],
          message: `"${zone}" is not a zone of region ${config.region}`,
        });
      }
    });
    if (new Set(network.availabilityZones).size !== network.availabilityZones.length) {
      ctx.addIssue({ code: 'custom', path: ['network', 'availabilityZones'], message: 'zones must be distinct' });
    }
    if (auth.accessTokenMinutes > auth.refreshTokenDays * 1440 || auth.idTokenMinutes > auth.refreshTokenDays * 1440) {
      ctx.addIssue({
        code: 'custom',
        path: ['auth', 'refreshTokenDays'],
        message: 'refresh tokens must outlive access and ID tokens',
      });
    }
    // Only a well-formed ARN is compared (zod reports a malformed one, and still runs this).
    if (auth.email && SES_IDENTITY_ARN.test(auth.email.identityArn)) {
      const [, , , region, , resource] = auth.email.identityArn.split(':');
      if (region !== auth.email.region) {
        ctx.addIssue({ code: 'custom', path: ['auth', 'email', 'identityArn'], message: `the identity is in ${region}, not in auth.email.region ${auth.email.region}` });
      }
      const identity = (resource ?? '').replace(/^identity\//, '').toLowerCase();
      const address = auth.email.fromAddress.toLowerCase();
      const domain = address.split('@')[1] ?? '';
      if (identity.includes('@') ? identity !== address : domain !== identity && !domain.endsWith(`.${identity}`)) {
        ctx.addIssue({ code: 'custom', path: ['auth', 'email', 'fromAddress'], message: `${auth.email.fromAddress} is not covered by the identity ${identity}` });
      }
    }
    auth.callbackUrls.concat(auth.logoutUrls).forEach((url) => {
      const { protocol, hostname } = new URL(url);
      if (protocol !== 'https:' && !(protocol === 'http:' && hostname === 'localhost')) {
        ctx.addIssue({
          code: 'custom',
          path: ['auth', auth.callbackUrls.includes(url) ? 'callbackUrls' : 'logoutUrls'],
          message: `${url} must use https (http is allowed for localhost only)`,
        });
      }
    });
  });

/** One environment's configuration after validation. */
export type EnvironmentConfig = z.infer<typeof environmentConfigSchema> & {
  /** The environment's name (dev, staging, prod). */
  readonly name: EnvironmentName;
};

/** Rules that hold for production only: what may be relaxed elsewhere never is there. */
export function productionIssues(config: z.infer<typeof environmentConfigSchema>): { path: string; message: string }[] {
  const issues: { path: string; message: string }[] = [];
  if (config.database.seedsEnabled) {
    issues.push({ path: 'database.seedsEnabled', message: 'seeds must never run in prod' });
  }
  if (config.database.removalPolicy !== 'retain') {
    issues.push({ path: 'database.removalPolicy', message: 'must be "retain" in prod' });
  }
  if (config.database.backupRetentionDays !== 35) {
    issues.push({ path: 'database.backupRetentionDays', message: 'must be 35 days in prod' });
  }
  if (config.database.readers < 1) {
    issues.push({ path: 'database.readers', message: 'prod needs at least one reader for failover' });
  }
  const copies = config.database.backupCopies ?? [];
  if (copies.length === 0) {
    issues.push({ path: 'database.backupCopies', message: 'prod needs a copy to another region or account (a vault ARN and a retention)' });
  } else if (copies.every((c) => c.vaultArn.split(':')[3] === config.region && (config.account === undefined || c.vaultArn.split(':')[4] === config.account))) {
    issues.push({ path: 'database.backupCopies', message: `every copy stays in ${config.region}${config.account ? ` of account ${config.account}` : ''}: copy to another region or account` });
  }
  if (config.database.databaseInsights !== 'advanced') {
    issues.push({ path: 'database.databaseInsights', message: 'Database Insights must be advanced in prod' });
  }
  if (config.auth.mfa !== 'required') {
    issues.push({ path: 'auth.mfa', message: 'MFA must be required in prod' });
  }
  if (config.auth.threatProtection !== 'full-function') {
    issues.push({ path: 'auth.threatProtection', message: 'threat protection must act (full-function) in prod' });
  }
  if (!config.auth.deletionProtection) {
    issues.push({ path: 'auth.deletionProtection', message: 'the user pool must be deletion-protected in prod' });
  }
  for (const url of [...config.auth.callbackUrls, ...config.auth.logoutUrls]) {
    if (new URL(url).hostname === 'localhost') {
      issues.push({ path: 'auth.callbackUrls', message: `${url}: localhost is not allowed in prod` });
    }
  }
  return issues;
}

/** Rules for every environment but dev: data is never destroyed silently outside dev. */
export function nonDevIssues(config: z.infer<typeof environmentConfigSchema>): { path: string; message: string }[] {
  const issues: { path: string; message: string }[] = [];
  if (config.database.removalPolicy === 'destroy') {
    issues.push({ path: 'database.removalPolicy', message: '"destroy" is allowed in dev only' });
  }
  if (!config.auth.email) {
    issues.push({ path: 'auth.email', message: "required outside dev (fromAddress, identityArn, region): Cognito's default sender stops at about 50 e-mails a day" });
  }
  if (config.alarms.subscriptions.length === 0) {
    issues.push({ path: 'alarms.subscriptions', message: 'alarms must reach someone outside dev: add an e-mail or https subscription' });
  }
  return issues;
}
