/**
 * The audit report of the real app, from one synth of every stage: checked
 * against facts read straight from the templates, against the committed
 * audit/report.{json,md}, and, from one synth of a deliberately weakened Dev
 * stage, failing with the right reasons.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- templates are untyped JSON read back from cdk.out */
import { type CfnElement, Stack } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { auditAssembly, auditDatabase, readCloudAssembly, renderJson, renderMarkdown, type AuditReport, type DatabaseAudit, type StackAudit } from '../../lib/audit';
import { resourcesOfType, SHIPPED_STAGES, synthesize, type Synthesized, synthesizedApp } from './synth';
import { WeakenedDataTier, type Weaknesses } from './weakened-data-tier';

const ROOT = path.resolve(__dirname, '..', '..');

let synth: Synthesized;
let database: DatabaseAudit;
let report: AuditReport;
beforeAll(async () => {
  synth = await synthesizedApp();
  // As bin/audit.ts reads them: the project's migrations, named relative to it.
  database = await auditDatabase(path.join(ROOT, 'migrations'), 'migrations');
  report = auditAssembly(readCloudAssembly(synth.outdir), database);
}, 600_000);

const STAGES = SHIPPED_STAGES;

/** The audit of one stack of `stage`: the stateful one unless named. */
const stackOf = (stage: string, name: 'DataStore' | 'DataTier' = 'DataStore'): StackAudit => {
  const found = report.stages.find((s) => s.stage === stage);
  expect(found?.stacks.map((s) => s.stack)).toEqual([`${stage}/DataStore`, `${stage}/DataTier`]);
  return found!.stacks.find((s) => s.stack === `${stage}/${name}`)!;
};
/** The template of one stack of `stage`. */
const templateOf = (stage: string, name: 'DataStore' | 'DataTier' = 'DataStore'): any =>
  synth.stageStacks[stage].find((s) => s.displayName === `${stage}/${name}`)!.template;
const logicalIds = (template: any, type: string) => Object.keys(resourcesOfType(template, type)).sort();
const refOf = (value: any): string => value?.Ref ?? value?.['Fn::GetAtt']?.[0];

describe('the audit of the real app', () => {
  it('passes, with every stage in promotion order and the checks that ran on each', () => {
    expect(report.stages.map((s) => s.stage)).toEqual(['Dev', 'Staging', 'Prod']);
    expect(report.stages.flatMap((s) => s.failures)).toEqual([]);
    expect(report.passed).toBe(true);
    for (const stage of report.stages) {
      expect(stage.validation).toEqual({ reportPresent: true, findings: [], pluginErrors: [] });
      for (const stack of stage.stacks) {
        expect(stack.complianceChecks?.plugins.map((p) => p.name)).toEqual([
          'AwsSolutions',
          'HIPAA.Security',
          'NIST.800.53.R5',
          'cdk-validator-cfnguard',
        ]);
      }
    }
  });

  it('is the committed audit/report.json and audit/report.md (run `npm run audit` after changing infrastructure)', () => {
    const committed = (file: string) => fs.readFileSync(path.join(ROOT, 'audit', file), 'utf8');
    expect(renderJson(report)).toBe(committed('report.json'));
    expect(renderMarkdown(report)).toBe(committed('report.md'));
  });

  it('renders the same bytes twice and names no directory of this machine', () => {
    const json = renderJson(report);
    expect(renderJson(auditAssembly(readCloudAssembly(synth.outdir), database))).toBe(json);
    expect(json).not.toContain(synth.outdir);
    expect(json).not.toContain(ROOT);
    expect(renderMarkdown(report)).not.toContain(ROOT);
  });

  describe.each(STAGES)('%s: the figures match the template', (stage, config) => {
    it('lists every secret with its key and the configured rotation', () => {
      const template = templateOf(stage);
      const audit = stackOf(stage);
      expect(stackOf(stage, 'DataTier').secrets).toEqual([]);
      expect(audit.secrets.map((s) => s.resource)).toEqual(logicalIds(template, 'AWS::SecretsManager::Secret'));
      const schedules = Object.values(resourcesOfType(template, 'AWS::SecretsManager::RotationSchedule')) as any[];
      expect(audit.secrets.map((s) => s.rotation?.schedule).sort()).toEqual(logicalIds(template, 'AWS::SecretsManager::RotationSchedule'));
      expect(schedules).toHaveLength(audit.secrets.length);
      for (const secret of audit.secrets) {
        expect(secret.rotation?.every).toBe(`rate(${config.database.secretRotationDays} days)`);
        expect(secret.key).toBe(refOf(template.Resources[secret.resource].Properties.KmsKeyId));
        expect(secret.value).toBe('generated');
      }
      // Two logins with a password (the Cognito triggers' and CI's); the application's authenticates with IAM and has none.
      expect(audit.secrets.filter((s) => s.rotation?.rotatedBy === 'hosted PostgreSQLMultiUser').map((s) => s.name)).toEqual([
        `saas/${config.name}/database/ci-login`,
        `saas/${config.name}/database/cognito-sync-login`,
      ]);
      // The master secret is the cluster's, and CI's roles may not read it; CI's own secret is the one they may.
      const ci = `arn:<AWS::Partition>:iam::<AWS::AccountId>:role/saas-${config.name}-ci-*`;
      const byName = (name: string) => audit.secrets.find((s) => s.name === `saas/${config.name}/database/${name}`)!;
      expect(byName('master').masterOf).toEqual([logicalIds(template, 'AWS::RDS::DBCluster')[0]]);
      expect(byName('master').valueDeniedTo).toContain(ci);
      expect(byName('cognito-sync-login').valueDeniedTo).toContain(ci);
      expect(byName('ci-login').valueDeniedTo).toEqual([]);
      // RDS Proxy reads no secret at all.
      expect(audit.deploys.proxies).toEqual([expect.objectContaining({ defaultAuthScheme: 'IAM_AUTH', secrets: [] })]);
    });

    it('names the key of every store of the data tier stack: the data key, by the ARN the stateful stack publishes', () => {
      const tier = stackOf(stage, 'DataTier');
      expect(tier.encryptionKeys).toEqual([]);
      for (const store of tier.dataStores) {
        const expected =
          store.type === 'AWS::Cognito::UserPool' ? 'aws-owned Cognito service key'
          : store.type === 'AWS::Lambda::Function' ? 'aws-managed aws/lambda'
          : `customer-managed {{resolve:ssm:/saas/${config.name}/key/data-key-arn}}`;
        expect(`${store.encryption} ${store.key}`).toBe(expected);
      }
      expect(tier.dataStores.filter((s) => s.encryption === 'customer-managed').map((s) => s.type).sort()).toEqual(
        [...Object.keys(resourcesOfType(templateOf(stage, 'DataTier'), 'AWS::Logs::LogGroup')).map(() => 'AWS::Logs::LogGroup'), 'AWS::SQS::Queue'].sort(),
      );
    });

    it('names the key of every store of the stateful stack: the data key with its alias, and the alarm topic’s own key', () => {
      const template = templateOf(stage);
      const audit = stackOf(stage);
      const [alarmKeyId, keyId] = logicalIds(template, 'AWS::KMS::Key');
      const topics = logicalIds(template, 'AWS::SNS::Topic');
      const cluster = Object.values(resourcesOfType(template, 'AWS::RDS::DBCluster'))[0] as any;
      expect(audit.dataStores.find((s) => s.type === 'AWS::RDS::DBCluster')?.key).toBe(refOf(cluster.Properties.KmsKeyId));
      expect(audit.encryptionKeys).toEqual([
        expect.objectContaining({ resource: alarmKeyId, aliases: [`alias/saas/${config.name}/alarms`], rotation: true, encrypts: topics }),
        expect.objectContaining({ resource: keyId, aliases: [`alias/saas/${config.name}/data`], rotation: true }),
      ]);
      // Function environments sit under Lambda's AWS managed key, the user pool under Cognito's own;
      // everything else under the data key.
      const withEnvironment = (Object.entries(resourcesOfType(template, 'AWS::Lambda::Function')) as [string, any][])
        .filter(([, fn]) => fn.Properties.Environment?.Variables)
        .map(([id]) => id);
      for (const store of audit.dataStores) {
        const expected =
          store.type === 'AWS::Cognito::UserPool' ? 'aws-owned Cognito service key'
          : store.type === 'AWS::Lambda::Function' ? 'aws-managed aws/lambda'
          : store.type === 'AWS::SNS::Topic' ? `customer-managed ${alarmKeyId}`
          : `customer-managed ${keyId}`;
        expect(`${store.encryption} ${store.key}`).toBe(expected);
      }
      const underDataKey =
        logicalIds(template, 'AWS::SecretsManager::Secret').length +
        logicalIds(template, 'AWS::Logs::LogGroup').length +
        logicalIds(template, 'AWS::SQS::Queue').length +
        logicalIds(template, 'AWS::RDS::DBCluster').length +
        logicalIds(template, 'AWS::RDS::DBInstance').length; // Performance Insights, one per instance
      expect(audit.dataStores).toHaveLength(underDataKey + withEnvironment.length + logicalIds(template, 'AWS::Cognito::UserPool').length + topics.length);
      expect(audit.dataStores.filter((s) => s.type === 'AWS::Lambda::Function').map((s) => s.resource)).toEqual(withEnvironment.sort());
      expect(audit.encryptionKeys[1].encrypts).toHaveLength(underDataKey);
    });

    it('shows each ingress rule into the cluster and the proxy with its source group', () => {
      const template = templateOf(stage);
      const audit = stackOf(stage);
      // Every path into the database is in the stateful stack; the data tier stack has none.
      expect(stackOf(stage, 'DataTier').network.securityGroups).toEqual([]);
      const cluster = Object.values(resourcesOfType(template, 'AWS::RDS::DBCluster'))[0] as any;
      const proxy = Object.values(resourcesOfType(template, 'AWS::RDS::DBProxy'))[0] as any;
      const sourcesInto = (groupId: string) =>
        (Object.values(resourcesOfType(template, 'AWS::EC2::SecurityGroupIngress')) as any[])
          .filter((r) => refOf(r.Properties.GroupId) === groupId)
          .map((r) => refOf(r.Properties.SourceSecurityGroupId))
          .sort();
      const clusterGroup = refOf(cluster.Properties.VpcSecurityGroupIds[0]);
      const proxyGroup = refOf(proxy.Properties.VpcSecurityGroupIds[0]);
      const byGroup = Object.fromEntries(audit.network.securityGroups.map((g) => [g.securityGroup, g]));
      expect(Object.keys(byGroup).sort()).toEqual([clusterGroup, proxyGroup].sort());
      expect(byGroup[clusterGroup].ingress.map((r) => r.source.value)).toEqual(sourcesInto(clusterGroup));
      expect(byGroup[proxyGroup].ingress.map((r) => r.source.value)).toEqual(sourcesInto(proxyGroup));
      expect(byGroup[clusterGroup].ingress.map((r) => r.ports)).toEqual([String(config.database.port), String(config.database.port)]);
      expect(byGroup[proxyGroup].ingress.map((r) => r.ports)).toEqual(['5432']);
      expect(audit.network.securityGroups.flatMap((g) => g.ingress).filter((r) => r.public)).toEqual([]);
      // The admin client group holds the rotation functions, and is published for the migrations of the data tier
      // stack to join; applications join the published application client group.
      const admin = audit.network.sourceGroups.find((g) => g.securityGroup.startsWith('DatabaseAdminClientSecurityGroup'))!;
      const inAdminGroup = (Object.entries(resourcesOfType(template, 'AWS::Lambda::Function')) as [string, any][])
        .filter(([, fn]) => (fn.Properties.VpcConfig?.SecurityGroupIds ?? []).some((g: any) => refOf(g) === admin.securityGroup))
        .map(([id]) => `${id} (AWS::Lambda::Function)`);
      expect(admin.members).toEqual(
        [...logicalIds(template, 'AWS::SecretsManager::RotationSchedule').map((id) => `${id} (AWS::SecretsManager::RotationSchedule)`), ...inAdminGroup].sort(),
      );
      expect(admin.publishedAs).toEqual([`/saas/${config.name}/network/admin-client-security-group-id`]);
      const application = audit.network.sourceGroups.find((g) => g.securityGroup.startsWith('ProxyApplicationClientSecurityGroup'))!;
      expect(application.publishedAs).toEqual([`/saas/${config.name}/network/application-client-security-group-id`]);
      const serviceNames = (Object.values(resourcesOfType(template, 'AWS::EC2::VPCEndpoint')) as any[]).map((e) => {
        const name = e.Properties.ServiceName;
        return typeof name === 'string' ? name : name['Fn::Join'][1].map((part: any) => (part.Ref ? `\${${part.Ref}}` : part)).join('');
      });
      expect(audit.network.endpoints.map((e) => e.service).sort()).toEqual(serviceNames.sort());
      expect(serviceNames).toEqual(expect.arrayContaining(['com.amazonaws.${AWS::Region}.s3', `com.amazonaws.${config.region}.secretsmanager`]));
      expect(audit.network.internet).toEqual({ internetGateways: 0, natGateways: 0, elasticIps: 0, subnetsAssigningPublicIps: 0, defaultRoutes: 0 });
    });

    it('reports backups, deletion protection and log retention as configured', () => {
      const template = synth.templates[stage];
      const audit = stackOf(stage);
      const tier = stackOf(stage, 'DataTier');
      expect(audit.databases).toEqual([
        expect.objectContaining({
          backupRetentionDays: config.database.backupRetentionDays,
          deletionProtection: true,
          onDelete: { destroy: 'Delete', snapshot: 'Snapshot', retain: 'RetainExceptOnCreate' }[config.database.removalPolicy],
        }),
      ]);
      expect(audit.databases[0].instances).toHaveLength(1 + config.database.readers);
      expect(tier.userPools[0].deletionProtection).toBe(config.auth.deletionProtection);
      const logGroups = [...audit.logGroups, ...tier.logGroups];
      expect(logGroups.map((g) => g.resource).sort()).toEqual(logicalIds(template, 'AWS::Logs::LogGroup'));
      const expectedRetention = (g: { writers: string[] }) =>
        g.writers.some((w) => w.startsWith('NetworkVpcFlowLog')) ? config.network.flowLogRetentionDays : config.database.logRetentionDays;
      for (const group of logGroups) {
        expect(group.retentionDays).toBe(expectedRetention(group));
      }
      expect(audit.terminationProtection).toBe(config.name === 'prod');
      expect(tier.terminationProtection).toBe(config.name === 'prod');
    });

    it('gives every wildcard of an identity policy its acknowledged reason, and counts every acknowledgement', () => {
      const template = synth.templates[stage];
      const audits = [stackOf(stage), stackOf(stage, 'DataTier')];
      const audit = { wildcardStatements: audits.flatMap((a) => a.wildcardStatements), acknowledgements: audits.flatMap((a) => a.acknowledgements) };
      const identity = audit.wildcardStatements.filter((s) => s.kind === 'identity');
      // An independent read: identity policies with a "*" anywhere in an Allow statement's actions or resources.
      const withWildcards = (Object.entries(resourcesOfType(template, 'AWS::IAM::ManagedPolicy')) as [string, any][])
        .concat(Object.entries(resourcesOfType(template, 'AWS::IAM::Policy')))
        .filter(([, p]) =>
          p.Properties.PolicyDocument.Statement.some(
            (st: any) => st.Effect === 'Allow' && JSON.stringify([st.Action, st.Resource]).includes('*'),
          ),
        )
        .map(([id]) => id)
        .sort();
      expect([...new Set(identity.map((s) => s.policy))].sort()).toEqual(withWildcards);
      expect(withWildcards.map((id) => id.replace(/[0-9A-F]{8}$/, ''))).toEqual(
        expect.arrayContaining(['DatabaseMonitoringRolePermissions', 'NetworkFunctionsVpcAccessPolicy']),
      );
      for (const statement of identity) {
        expect(statement.explained).toBe(true);
        for (const wildcard of statement.wildcards) {
          expect(wildcard.acknowledgedBy?.rule).toBe(`AwsSolutions-IAM5[Resource::${wildcard.value}]`);
          expect(wildcard.acknowledgedBy?.reason).toMatch(/^[A-Z].{24,}\.$/);
        }
      }
      const inTemplate = Object.values(template.Resources as Record<string, any>).flatMap((r) => r.Metadata?.acknowledgements ?? []);
      expect(audit.acknowledgements).toHaveLength(inTemplate.length);
      expect(report.stages.find((s) => s.stage === stage)!.summary.acknowledgements).toBe(inTemplate.length);
    });
  });
});

describe('the audit of a weakened stack', () => {
  let weakened: AuditReport;
  let added: Weaknesses;
  let message = '';
  beforeAll(() => {
    let outdir = '';
    try {
      synthesize(['dev'], ({ app, stages }) => {
        outdir = app.outdir;
        added = new WeakenedDataTier(stages.dev!, 'Weakened').weaknesses;
      });
    } catch (error) {
      message = (error as Error).message;
    }
    weakened = auditAssembly(readCloudAssembly(outdir));
  });

  it('follows a synth that the compliance checks failed', () => {
    expect(message).toMatch(/A copy of this report can be found in/);
    expect(weakened.passed).toBe(false);
    expect(weakened.stages.map((s) => s.stage)).toEqual(['Dev']);
  });

  it('fails with each reason, naming the resource', () => {
    const stage = weakened.stages[0];
    const stack = stage.stacks[0];
    const idOf = (construct: IConstruct) => Stack.of(construct).getLogicalId(construct.node.defaultChild as CfnElement);
    const logicalIdOf = (element: CfnElement) => Stack.of(element).getLogicalId(element);
    const kinds = (kind: string) => stage.failures.filter((f) => f.kind === kind);

    const open = kinds('public-database-path');
    expect(open.map((f) => f.message)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^security group DatabaseSecurityGroup\w+ in front of DatabaseCluster\w+ lets 0\.0\.0\.0\/0 in on tcp 5433$/),
        expect.stringMatching(/lets ::\/0 in on tcp all$/),
        expect.stringMatching(/^AWS::RDS::DBInstance DatabaseClusterWriter\w+ is publicly accessible$/),
      ]),
    );
    expect(open).toHaveLength(3);
    expect(kinds('unencrypted-store')).toEqual([
      expect.objectContaining({ resource: idOf(added.unencryptedQueue), message: expect.stringContaining('queue') }),
    ]);
    expect(kinds('secret-without-rotation').map((f) => f.resource).sort()).toEqual(
      [idOf(added.plaintextSecret), idOf(added.unrotatedSecret)].sort(),
    );
    expect(kinds('secret-value-in-template').map((f) => f.resource)).toEqual([idOf(added.plaintextSecret)]);
    expect(kinds('unexplained-wildcard')).toEqual([
      expect.objectContaining({ resource: idOf(added.wildcardPolicy), message: expect.stringContaining('Action s3:*, Resource *') }),
    ]);
    // The nag and guard findings of the synth are unacknowledged findings of the audit.
    const findings = stage.validation.findings.map((f) => `${f.rule}${f.control ? ` ${f.control}` : ''} @ ${f.resource}`);
    expect(findings).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^AwsSolutions-EC23 @ DatabaseSecurityGroup/),
        expect.stringMatching(/^HIPAA\.Security-RDSInstancePublicAccess @ DatabaseClusterWriter/),
        `AwsSolutions-SMG4 @ ${idOf(added.unrotatedSecret)}`,
        `NIST.800.53.R5-SecretsManagerRotationEnabled @ ${idOf(added.plaintextSecret)}`,
        `sqs_queue_encrypted_check CT.SQS.PR.2 @ ${idOf(added.unencryptedQueue)}`,
        `AwsSolutions-IAM5[Action::s3:*] @ ${idOf(added.wildcardPolicy)}`,
      ]),
    );
    // Day 30: the proxy would have no credentials after the first rotation; day 2: an hour-long hang, a name kept.
    expect(kinds('proxy-secret-alternating-users')).toEqual([
      expect.objectContaining({
        resource: idOf(added.proxyWithRotatedSecret),
        message: expect.stringMatching(/logs in with secret DatabaseCognitoSyncLoginSecret\w+, rotated by hosted PostgreSQLMultiUser: after the first rotation/),
      }),
    ]);
    expect(kinds('custom-resource-without-timeout')).toEqual([
      expect.objectContaining({ resource: logicalIdOf(added.customResourceWithoutTimeout), message: expect.stringContaining("has no ServiceTimeout: a lost answer holds the deploy for CloudFormation's hour") }),
    ]);
    expect(kinds('named-resource-retained-on-create')).toEqual([
      expect.objectContaining({ resource: logicalIdOf(added.retainedNamedLogGroup), message: expect.stringContaining('named /aws/rds/cluster/saas-dev/postgresql is kept by a plain Retain') }),
    ]);
    expect(kinds('unacknowledged-finding')).toHaveLength(stage.validation.findings.length);
    expect(stage.summary.unacknowledgedFindings).toBe(stage.validation.findings.length);
    expect(stack.secrets.find((s) => s.resource === idOf(added.plaintextSecret))?.value).toBe('literal');
  });

  it('says so in the Markdown report', () => {
    const markdown = renderMarkdown(weakened);
    expect(markdown).toContain('**Result: FAILED**');
    expect(markdown).toMatch(/\| public-database-path \| `DatabaseSecurityGroup\w+` \|/);
    expect(markdown).toContain('**ipv4 0.0.0.0/0** (public)');
    expect(markdown).toContain('**literal in template**');
    expect(markdown).toContain('**`*`: no reason**');
    expect(markdown).toContain('**none: an hour**');
    expect(markdown).toContain('**Retain: kept by a failed create too**');
    expect(markdown).toMatch(/\*\*hosted PostgreSQLMultiUser: alternating users\*\*/);
  });
});
