/**
 * The synthesized templates of Dev, Staging and Prod, read back from the cloud
 * assembly of the run's one synth with every compliance check on: each security
 * property the data tier promises, and the differences prod makes. (What the
 * templates contain beyond that is pinned by the committed audit report.)
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- templates are untyped JSON read back from cdk.out */
import * as fs from 'node:fs';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { DISABLED_GUARD_RULES } from '../../lib/compliance';
import { AURORA_ENGINE_VERSION } from '../../lib/constructs/aurora-database';
import { resourcesOfType, SHIPPED_STAGES, type Synthesized, synthesizedApp } from './synth';

let synth: Synthesized;
beforeAll(async () => {
  synth = await synthesizedApp();
}, 600_000);

const STAGES = SHIPPED_STAGES;

const template = (stage: string) => Template.fromJSON(synth.templates[stage]);
const onlyResource = (t: Record<string, any>, type: string) => {
  const found = Object.entries(resourcesOfType(t, type));
  expect(found).toHaveLength(1);
  return found[0] as [string, any];
};

describe.each(STAGES)('%s stage', (stage, config) => {
  describe('network', () => {
    it('is a VPC of isolated subnets only: no internet gateway, no NAT, no public addresses', () => {
      const t = template(stage);
      t.hasResourceProperties('AWS::EC2::VPC', { CidrBlock: config.network.cidr });
      t.resourceCountIs('AWS::EC2::InternetGateway', 0);
      t.resourceCountIs('AWS::EC2::NatGateway', 0);
      t.resourceCountIs('AWS::EC2::EIP', 0);
      t.resourceCountIs('AWS::EC2::Subnet', 2 * config.network.availabilityZones.length);
      t.allResourcesProperties('AWS::EC2::Subnet', { MapPublicIpOnLaunch: false });
      for (const zone of config.network.availabilityZones) {
        t.hasResourceProperties('AWS::EC2::Subnet', { AvailabilityZone: zone });
      }
      // Only local routes: no route resource at all.
      t.resourceCountIs('AWS::EC2::Route', 0);
    });

    it('has endpoints for the AWS APIs functions in the VPC call', () => {
      const t = template(stage);
      t.hasResourceProperties('AWS::EC2::VPCEndpoint', {
        VpcEndpointType: 'Gateway',
        ServiceName: { 'Fn::Join': ['', ['com.amazonaws.', { Ref: 'AWS::Region' }, '.s3']] },
      });
      for (const service of ['secretsmanager', 'ec2']) {
        t.hasResourceProperties('AWS::EC2::VPCEndpoint', {
          VpcEndpointType: 'Interface',
          PrivateDnsEnabled: true,
          ServiceName: `com.amazonaws.${config.region}.${service}`,
        });
      }
    });

    it('logs all VPC traffic to an encrypted log group kept as configured', () => {
      const t = template(stage);
      t.hasResourceProperties('AWS::EC2::FlowLog', {
        ResourceType: 'VPC',
        TrafficType: 'ALL',
        LogDestinationType: 'cloud-watch-logs',
      });
      const [, flowLog] = onlyResource(synth.templates[stage], 'AWS::EC2::FlowLog');
      const group = synth.templates[stage].Resources[flowLog.Properties.LogGroupName.Ref];
      expect(group.Properties.RetentionInDays).toBe(config.network.flowLogRetentionDays);
      expect(group.Properties.KmsKeyId).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^DataKey/), 'Arn'] });
    });

    it('closes the default security group from a function inside the VPC', () => {
      const t = template(stage);
      t.hasResourceProperties('Custom::VpcRestrictDefaultSG', {
        DefaultSecurityGroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^NetworkVpc'), 'DefaultSecurityGroup'] },
      });
      const [, fn] = Object.entries(resourcesOfType(synth.templates[stage], 'AWS::Lambda::Function'))
        .find(([id]) => id.startsWith('NetworkCloseDefaultSecurityGroupFunction'))!;
      expect(fn.Properties.VpcConfig.SubnetIds.length).toBe(config.network.availabilityZones.length);
      const reserved = config.functions.reservedConcurrency;
      expect(fn.Properties.ReservedConcurrentExecutions).toBe(reserved === 'none' ? undefined : reserved.customResources);
      expect(fn.Properties.DeadLetterConfig.TargetArn).toBeDefined();
      expect(fn.Properties.Runtime).toBe('nodejs24.x');
      expect(fn.Properties.Environment).toBeUndefined();
    });

    it('opens no security group to the internet and Postgres only to named client groups', () => {
      const resources = synth.templates[stage].Resources as Record<string, any>;
      const ingress = Object.values(resources).flatMap((r: any) =>
        r.Type === 'AWS::EC2::SecurityGroupIngress' ? [r.Properties] : r.Type === 'AWS::EC2::SecurityGroup' ? r.Properties.SecurityGroupIngress ?? [] : [],
      );
      for (const rule of ingress) {
        expect(rule.CidrIp).not.toBe('0.0.0.0/0');
        expect(rule.CidrIpv6).toBeUndefined();
      }
      const clusterSg = synth.templates[stage].Resources[
        Object.keys(resources).find((k) => k.startsWith('DatabaseSecurityGroup') && resources[k].Type === 'AWS::EC2::SecurityGroup')!
      ];
      expect(clusterSg.Properties.SecurityGroupIngress).toBeUndefined();
      const intoCluster = Object.values(resources).filter(
        (r: any) => r.Type === 'AWS::EC2::SecurityGroupIngress' && r.Properties.GroupId['Fn::GetAtt']?.[0].startsWith('DatabaseSecurityGroup'),
      ) as any[];
      expect(intoCluster.map((r) => r.Properties.SourceSecurityGroupId['Fn::GetAtt'][0]).sort()).toEqual([
        expect.stringMatching(/^DatabaseAdminClientSecurityGroup/),
        expect.stringMatching(/^ProxySecurityGroup/),
      ]);
      for (const rule of intoCluster) {
        expect(rule.Properties).toMatchObject({ IpProtocol: 'tcp', FromPort: config.database.port, ToPort: config.database.port });
      }
      // Every security group denies all egress unless a rule says otherwise.
      for (const sg of Object.values(resourcesOfType(synth.templates[stage], 'AWS::EC2::SecurityGroup'))) {
        for (const rule of (sg as any).Properties.SecurityGroupEgress ?? []) {
          expect(rule.IpProtocol).not.toBe('-1');
        }
      }
    });
  });

  describe('encryption key', () => {
    it('rotates and lets only AWS services create grants', () => {
      template(stage).hasResourceProperties('AWS::KMS::Key', {
        EnableKeyRotation: true,
        KeyPolicy: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Action: 'kms:CreateGrant',
              Principal: { AWS: '*' },
              Condition: { BoolIfExists: { 'kms:GrantIsForAWSResource': 'false', 'aws:PrincipalIsAWSService': 'false' } },
            }),
          ]),
        },
      });
    });
  });

  describe('Aurora PostgreSQL', () => {
    it('runs the pinned engine with pgvector 0.8, encrypted, IAM auth and the Data API on', () => {
      expect(AURORA_ENGINE_VERSION.auroraPostgresFullVersion).toBe('17.9');
      template(stage).hasResourceProperties('AWS::RDS::DBCluster', {
        Engine: 'aurora-postgresql',
        EngineVersion: '17.9',
        StorageEncrypted: true,
        KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DataKey'), 'Arn'] },
        EnableIAMDatabaseAuthentication: true,
        EnableHttpEndpoint: true,
        EnableCloudwatchLogsExports: ['postgresql', 'iam-db-auth-error'],
        Port: config.database.port,
        DBClusterIdentifier: `saas-${config.name}`,
        DatabaseName: 'saas',
        ServerlessV2ScalingConfiguration: { MinCapacity: config.database.minCapacity, MaxCapacity: config.database.maxCapacity },
        BackupRetentionPeriod: config.database.backupRetentionDays,
        CopyTagsToSnapshot: true,
        DeletionProtection: true,
      });
    });

    it('takes its master credentials from a generated secret, never from the template', () => {
      const [, cluster] = onlyResource(synth.templates[stage], 'AWS::RDS::DBCluster');
      const text = JSON.stringify(cluster.Properties);
      expect(JSON.stringify(cluster.Properties.MasterUserPassword)).toMatch(/resolve:secretsmanager:.*SecretString:password::}}/);
      // The user name is not secret (and not the default postgres: CT.RDS.PR.21); the password never appears.
      expect(cluster.Properties.MasterUsername).toBe('platform_admin');
      expect(text).not.toMatch(/"MasterUserPassword":"[^{]/);
    });

    it('has a writer and the configured serverless readers, monitored and private', () => {
      const t = template(stage);
      t.resourceCountIs('AWS::RDS::DBInstance', 1 + config.database.readers);
      t.allResourcesProperties('AWS::RDS::DBInstance', {
        DBInstanceClass: 'db.serverless',
        PubliclyAccessible: false,
        AutoMinorVersionUpgrade: true,
        MonitoringInterval: config.database.monitoringIntervalSeconds,
        MonitoringRoleArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DatabaseMonitoringRole'), 'Arn'] },
        EnablePerformanceInsights: true,
        PerformanceInsightsKMSKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DataKey'), 'Arn'] },
        PerformanceInsightsRetentionPeriod: config.database.performanceInsightsRetentionDays,
      });
    });

    it('requires TLS and keeps pg_stat_statements and sensible logging in its parameter group', () => {
      template(stage).hasResourceProperties('AWS::RDS::DBClusterParameterGroup', {
        Family: 'aurora-postgresql17',
        Parameters: Match.objectLike({
          'rds.force_ssl': '1',
          ssl_min_protocol_version: 'TLSv1.2',
          shared_preload_libraries: 'pg_stat_statements',
          log_statement: 'none',
          log_min_duration_statement: String(config.database.slowStatementMillis),
          log_connections: '1',
          log_lock_waits: '1',
        }),
      });
    });

    it('keeps ALTER ROLE … PASSWORD text out of pg_stat_statements and out of the log of a failed statement (issue 21)', () => {
      template(stage).hasResourceProperties('AWS::RDS::DBClusterParameterGroup', {
        Parameters: Match.objectLike({
          'pg_stat_statements.track_utility': '0',
          log_min_error_statement: 'panic',
          log_statement: 'none',
        }),
      });
    });

    it('exports the PostgreSQL log and the IAM authentication errors, each into an encrypted group with a retention, created before it', () => {
      const t = synth.templates[stage];
      const [, cluster] = onlyResource(t, 'AWS::RDS::DBCluster');
      expect(cluster.Properties.EnableCloudwatchLogsExports).toEqual(['postgresql', 'iam-db-auth-error']);
      for (const logType of cluster.Properties.EnableCloudwatchLogsExports) {
        const [groupId, group] = Object.entries(resourcesOfType(t, 'AWS::Logs::LogGroup')).find(
          ([, g]: [string, any]) => g.Properties.LogGroupName === `/aws/rds/cluster/saas-${config.name}/${logType}`,
        )!;
        expect(group.Properties.RetentionInDays).toBe(config.database.logRetentionDays);
        expect(group.Properties.KmsKeyId).toBeDefined();
        expect(cluster.DependsOn).toContain(groupId);
      }
    });

    it('runs Database Insights in the configured mode: advanced, with 15 months of Performance Insights, in prod (issue 21)', () => {
      const [, cluster] = onlyResource(synth.templates[stage], 'AWS::RDS::DBCluster');
      const mode = config.database.databaseInsights;
      expect(cluster.Properties.DatabaseInsightsMode).toBe(mode);
      expect(mode).toBe(config.name === 'prod' ? 'advanced' : 'standard');
      if (mode === 'advanced') expect(cluster.Properties.PerformanceInsightsRetentionPeriod).toBe(465);
    });

    it('never deletes data silently outside dev', () => {
      const [, cluster] = onlyResource(synth.templates[stage], 'AWS::RDS::DBCluster');
      const expected = { destroy: ['Delete', 'Delete'], snapshot: ['Snapshot', 'Snapshot'], retain: ['RetainExceptOnCreate', 'Retain'] }[config.database.removalPolicy];
      expect([cluster.DeletionPolicy, cluster.UpdateReplacePolicy]).toEqual(expected);
      if (config.name !== 'dev') {
        expect(cluster.DeletionPolicy).not.toBe('Delete');
        // Kept on update and delete; a failed first create's rollback deletes them, so the retry finds their names free.
        for (const type of ['AWS::KMS::Key', 'AWS::SecretsManager::Secret', 'AWS::Logs::LogGroup']) {
          for (const resource of Object.values(resourcesOfType(synth.templates[stage], type))) {
            expect([(resource as any).DeletionPolicy, (resource as any).UpdateReplacePolicy]).toEqual(['RetainExceptOnCreate', 'Retain']);
          }
        }
        // Deletion-protected and unnamed: kept even by a create's rollback, which could not delete it.
        const [, pool] = onlyResource(synth.templates[stage], 'AWS::Cognito::UserPool');
        expect([pool.DeletionPolicy, pool.UpdateReplacePolicy]).toEqual(['Retain', 'Retain']);
      }
    });
  });

  describe('secrets', () => {
    it('generates every credential in Secrets Manager, encrypted with the key', () => {
      const secrets = Object.values(resourcesOfType(synth.templates[stage], 'AWS::SecretsManager::Secret')) as any[];
      expect(secrets).toHaveLength(3);
      for (const secret of secrets) {
        expect(secret.Properties.SecretString).toBeUndefined();
        expect(secret.Properties.GenerateSecretString.GenerateStringKey).toBe('password');
        expect(secret.Properties.KmsKeyId).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^DataKey/), 'Arn'] });
      }
      // The application login authenticates with IAM: it has no password, so no secret.
      expect(secrets.map((s) => s.Properties.Name).sort()).toEqual([
        `saas/${config.name}/database/ci-login`,
        `saas/${config.name}/database/cognito-sync-login`,
        `saas/${config.name}/database/master`,
      ]);
      const templates = JSON.stringify(secrets.map((s) => s.Properties.GenerateSecretString.SecretStringTemplate));
      expect(templates).not.toContain('app_login');
      expect(templates).toContain('\\"username\\":\\"cognito_sync_login\\"');
      expect(templates).toContain('\\"username\\":\\"ci_login\\"');
      expect(templates).toContain('\\"username\\":\\"platform_admin\\"');
      expect(templates).toContain('\\"masterarn\\"');
    });

    it('rotates the master with a single user and each login with two, in the VPC', () => {
      const t = template(stage);
      const schedules = Object.values(resourcesOfType(synth.templates[stage], 'AWS::SecretsManager::RotationSchedule')) as any[];
      expect(schedules.map((s) => s.Properties.HostedRotationLambda.RotationType).sort()).toEqual([
        'PostgreSQLMultiUser',
        'PostgreSQLMultiUser',
        'PostgreSQLSingleUser',
      ]);
      t.allResourcesProperties('AWS::SecretsManager::RotationSchedule', {
        RotationRules: { ScheduleExpression: `rate(${config.database.secretRotationDays} days)` },
        RotateImmediatelyOnUpdate: false,
        HostedRotationLambda: Match.objectLike({
          KmsKeyArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DataKey'), 'Arn'] },
          VpcSecurityGroupIds: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DatabaseAdminClientSecurityGroup'), 'GroupId'] },
        }),
      });
      expect(synth.templates[stage].Transform).toContain('AWS::SecretsManager-2024-09-16');
    });

    it('puts no secret value in the template', () => {
      const text = synth.templateText[stage];
      expect(text).not.toMatch(/"(SecretString|MasterUserPassword|Password)"\s*:\s*"[^{]/);
      // Function environments (where secrets too often end up) hold only these settings, no credentials.
      const allowed = ['NODE_EXTRA_CA_CERTS', 'NODE_OPTIONS', 'USER_ON_EVENT_FUNCTION_ARN', 'CLUSTER_ARN', 'SECRET_ARN', 'DATABASE_NAME'];
      for (const fn of Object.values(resourcesOfType(synth.templates[stage], 'AWS::Lambda::Function')) as any[]) {
        for (const name of Object.keys(fn.Properties.Environment?.Variables ?? {})) expect(allowed).toContain(name);
      }
    });
  });

  describe('RDS Proxy', () => {
    it('authenticates with IAM end to end (no secret to rotate from under it), requires TLS, sits in the database subnets', () => {
      template(stage).hasResourceProperties('AWS::RDS::DBProxy', {
        DBProxyName: `saas-${config.name}`,
        EngineFamily: 'POSTGRESQL',
        RequireTLS: true,
        DefaultAuthScheme: 'IAM_AUTH',
        Auth: Match.absent(),
        VpcSubnetIds: Match.arrayWith([{ Ref: Match.stringLikeRegexp('^NetworkVpcdatabaseSubnet1') }]),
      });
    });

    it('is reachable from the application client security group only, which is published', () => {
      const resources = synth.templates[stage].Resources as Record<string, any>;
      const intoProxy = Object.values(resources).filter(
        (r) => r.Type === 'AWS::EC2::SecurityGroupIngress' && r.Properties.GroupId['Fn::GetAtt'][0].startsWith('ProxySecurityGroup'),
      );
      expect(intoProxy).toHaveLength(1);
      expect(intoProxy[0].Properties).toMatchObject({
        FromPort: 5432,
        ToPort: 5432,
        SourceSecurityGroupId: { 'Fn::GetAtt': [expect.stringMatching(/^ProxyApplicationClientSecurityGroup/), 'GroupId'] },
      });
      template(stage).hasResourceProperties('AWS::SSM::Parameter', {
        Name: `/saas/${config.name}/network/application-client-security-group-id`,
        Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ProxyApplicationClientSecurityGroup'), 'GroupId'] },
      });
    });
  });

  describe('Cognito', () => {
    it('signs in by case-insensitive email with verification, strong passwords, TOTP and email-only recovery', () => {
      template(stage).hasResourceProperties('AWS::Cognito::UserPool', {
        UsernameAttributes: ['email'],
        UsernameConfiguration: { CaseSensitive: false },
        AutoVerifiedAttributes: ['email'],
        UserAttributeUpdateSettings: { AttributesRequireVerificationBeforeUpdate: ['email'] },
        Policies: {
          PasswordPolicy: Match.objectLike({
            MinimumLength: config.auth.passwordMinLength,
            RequireLowercase: true,
            RequireUppercase: true,
            RequireNumbers: true,
            RequireSymbols: true,
          }),
        },
        MfaConfiguration: config.auth.mfa === 'required' ? 'ON' : 'OPTIONAL',
        EnabledMfas: ['SOFTWARE_TOKEN_MFA'],
        AccountRecoverySetting: { RecoveryMechanisms: [{ Name: 'verified_email', Priority: 1 }] },
        UserPoolTier: 'PLUS',
        UserPoolAddOns: { AdvancedSecurityMode: config.auth.threatProtection === 'full-function' ? 'ENFORCED' : 'AUDIT' },
        DeletionProtection: config.auth.deletionProtection ? 'ACTIVE' : 'INACTIVE',
      });
    });

    it('has a public client for the authorization code flow only, with configured token lifetimes', () => {
      template(stage).hasResourceProperties('AWS::Cognito::UserPoolClient', {
        GenerateSecret: false,
        AllowedOAuthFlows: ['code'],
        AllowedOAuthFlowsUserPoolClient: true,
        ExplicitAuthFlows: ['ALLOW_USER_SRP_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH'],
        CallbackURLs: config.auth.callbackUrls,
        LogoutURLs: config.auth.logoutUrls,
        PreventUserExistenceErrors: 'ENABLED',
        EnableTokenRevocation: true,
        AccessTokenValidity: config.auth.accessTokenMinutes,
        IdTokenValidity: config.auth.idTokenMinutes,
        RefreshTokenValidity: config.auth.refreshTokenDays * 1440,
        TokenValidityUnits: { AccessToken: 'minutes', IdToken: 'minutes', RefreshToken: 'minutes' },
      });
    });
  });

  describe('outputs for applications', () => {
    const names = [
      'database/cluster-endpoint', 'database/reader-endpoint', 'database/port', 'database/name', 'database/cluster-arn',
      'database/proxy-endpoint', 'database/proxy-port', 'database/proxy-username', 'database/proxy-arn', 'database/master-secret-arn',
      'database/cognito-sync-secret-arn', 'database/ci-secret-arn', 'network/vpc-id',
      'network/application-client-security-group-id', 'auth/user-pool-id', 'auth/user-pool-arn', 'auth/web-client-id',
      'auth/domain', 'auth/issuer',
      // What the data tier stack reads of the stateful one.
      'database/cluster-resource-id', 'key/data-key-arn', 'network/admin-client-security-group-id', 'alarms/topic-arn',
      ...config.network.availabilityZones.flatMap((_, i) => [`network/database-subnet-${i + 1}`, `network/functions-subnet-${i + 1}`]),
    ];

    it('publishes each value as an SSM parameter under /<app>/<env>/ and as an output', () => {
      const parameters = Object.values(resourcesOfType(synth.templates[stage], 'AWS::SSM::Parameter')) as any[];
      expect(parameters.map((p) => p.Properties.Name).sort()).toEqual(names.map((n) => `/saas/${config.name}/${n}`).sort());
      const outputs = Object.values(synth.templates[stage].Outputs) as any[];
      for (const name of names) {
        expect(outputs.some((o) => o.Description.endsWith(`(/saas/${config.name}/${name})`))).toBe(true);
      }
      template(stage).hasResourceProperties('AWS::SSM::Parameter', {
        Name: `/saas/${config.name}/database/cluster-arn`,
        Value: Match.objectLike({ 'Fn::Join': Match.anyValue() }),
      });
    });

    it('exports nothing and imports nothing, so no other stack can block an update', () => {
      for (const output of Object.values(synth.templates[stage].Outputs) as any[]) {
        expect(output.Export).toBeUndefined();
      }
      expect(synth.templateText[stage]).not.toContain('Fn::ImportValue');
    });
  });

  describe('compliance', () => {
    it('passes every check: no unacknowledged finding in the validation report', () => {
      const report = JSON.parse(fs.readFileSync(`${synth.outdir}/validation-report.json`, 'utf8'));
      const failures = report.pluginReports.filter((p: any) => p.conclusion === 'failure' || p.violations.some((v: any) => v.severity === 'error'));
      expect(failures).toEqual([]);
      expect(DISABLED_GUARD_RULES).toEqual({});
    });

    it('acknowledges few findings, each on its resource with a reason of at least one sentence', () => {
      const acknowledged = Object.entries(synth.templates[stage].Resources as Record<string, any>).flatMap(([id, r]) =>
        (r.Metadata?.acknowledgements ?? []).map((a: { rule: string; reason: string }) => ({ id, ...a })),
      );
      for (const { reason } of acknowledged) {
        expect(reason).toMatch(/^[A-Z].{24,}[.!]$/s);
      }
      const rules = acknowledged.map((a) => `${a.rule.replace(/\[.*\]$/, '[…]')} @ ${a.id.replace(/[0-9A-F]{8}$/, '')}`).sort();
      const instances = ['Writer', ...Array.from({ length: config.database.readers }, (_, i) => `Reader${i + 1}`)];
      expect(rules).toEqual(
        [
          'AwsSolutions-IAM5[…] @ DatabaseMonitoringRolePermissions',
          'AwsSolutions-IAM5[…] @ MigrationsProviderRolePermissions',
          'AwsSolutions-IAM5[…] @ NetworkCloseDefaultSecurityGroupProviderRolePermissions',
          'AwsSolutions-IAM5[…] @ NetworkFunctionsVpcAccessPolicy',
          // The data tier stack's functions have network-interface permissions of their own.
          'AwsSolutions-IAM5[…] @ FunctionsVpcAccessPolicy',
          ...(config.auth.mfa === 'optional' ? ['AwsSolutions-COG2 @ AuthUserPool'] : []),
          // AWS Backup's service role policy, where a stage copies its backups (prod).
          ...(config.database.backupCopies?.length ? ['AwsSolutions-IAM4[…] @ BackupPlanRole'] : []),
          // A stage that reserves no concurrency says why, on each function.
          ...(config.functions.reservedConcurrency === 'none'
            ? ['NetworkCloseDefaultSecurityGroupFunction', 'NetworkCloseDefaultSecurityGroupProviderframeworkonEvent', 'MigrationsFunction',
              'MigrationsProviderframeworkonEvent', 'CognitoTriggersPostConfirmationFunction', 'CognitoTriggersPreTokenGenerationFunction']
              .flatMap((id) => [`HIPAA.Security-LambdaConcurrency @ ${id}`, `NIST.800.53.R5-LambdaConcurrency @ ${id}`])
            : []),
          // One per instance and pack: Aurora instances hold no data, the cluster is backed up.
          ...instances.map((i) => `DatabaseCluster${i}`).flatMap((id) => [
            `HIPAA.Security-RDSInBackupPlan @ ${id}`,
            `NIST.800.53.R5-RDSInBackupPlan @ ${id}`,
          ]),
        ].sort(),
      );
    });
  });
});

describe('prod differs from dev', () => {
  const [, dev] = STAGES[0];
  const [, prod] = STAGES[2];
  it.each([
    ['cluster deletion policy', (t: any) => onlyResource(t, 'AWS::RDS::DBCluster')[1].DeletionPolicy, 'Delete', 'RetainExceptOnCreate'],
    ['backup retention', (t: any) => onlyResource(t, 'AWS::RDS::DBCluster')[1].Properties.BackupRetentionPeriod, 7, 35],
    ['MFA', (t: any) => onlyResource(t, 'AWS::Cognito::UserPool')[1].Properties.MfaConfiguration, 'OPTIONAL', 'ON'],
    ['user pool deletion protection', (t: any) => onlyResource(t, 'AWS::Cognito::UserPool')[1].Properties.DeletionProtection, 'INACTIVE', 'ACTIVE'],
    ['threat protection', (t: any) => onlyResource(t, 'AWS::Cognito::UserPool')[1].Properties.UserPoolAddOns.AdvancedSecurityMode, 'AUDIT', 'ENFORCED'],
    ['instances', (t: any) => Object.keys(resourcesOfType(t, 'AWS::RDS::DBInstance')).length, 1, 3],
    ['key deletion policy', (t: any) => [...new Set(Object.values(resourcesOfType(t, 'AWS::KMS::Key')).map((k: any) => k.DeletionPolicy))], ['Delete'], ['RetainExceptOnCreate']],
    ['reserved concurrency of a trigger', (t: any) => Object.entries(resourcesOfType(t, 'AWS::Lambda::Function'))
      .find(([id]) => id.startsWith('CognitoTriggersPostConfirmation'))![1].Properties.ReservedConcurrentExecutions, undefined, 20],
  ])('%s', (_what, read, devValue, prodValue) => {
    expect(read(synth.templates.Dev)).toEqual(devValue);
    expect(read(synth.templates.Prod)).toEqual(prodValue);
    expect(dev.name).toBe('dev');
    expect(prod.name).toBe('prod');
  });

  it('prod refuses stack deletion', () => {
    expect(synth.stacks.Prod.terminationProtection).toBe(true);
    expect(synth.stacks.Dev.terminationProtection).toBe(false);
  });
});
