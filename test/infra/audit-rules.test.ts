/**
 * The audit's reading of templates, fed small hand-written templates (no
 * synth): each rule that fails an audit, and the cases around it that must
 * not fail, including how references are followed.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  auditAssembly,
  auditTemplate,
  findDataStores,
  findDatabaseNetwork,
  findSecrets,
  findWildcardStatements,
  readCloudAssembly,
  stageValidation,
  templateFailures,
  type CfnTemplate,
  type StageArtifact,
} from '../../lib/audit';
import { COMPLIANCE_RECORD_METADATA } from '../../lib/compliance/record';

const getAtt = (id: string, attr: string) => ({ 'Fn::GetAtt': [id, attr] });
const ref = (id: string) => ({ Ref: id });

/** A cluster behind a security group, its key, and whatever `extra` adds. */
function template(extra: Record<string, unknown> = {}, clusterProps: Record<string, unknown> = {}): CfnTemplate {
  return {
    Resources: {
      Key: { Type: 'AWS::KMS::Key', Properties: { EnableKeyRotation: true } },
      KeyAlias: { Type: 'AWS::KMS::Alias', Properties: { AliasName: 'alias/app/data', TargetKeyId: getAtt('Key', 'Arn') } },
      DbGroup: { Type: 'AWS::EC2::SecurityGroup', Properties: { GroupDescription: 'database' } },
      ClientGroup: { Type: 'AWS::EC2::SecurityGroup', Properties: { GroupDescription: 'clients' } },
      Cluster: {
        Type: 'AWS::RDS::DBCluster',
        DeletionPolicy: 'Retain',
        Properties: {
          StorageEncrypted: true,
          KmsKeyId: getAtt('Key', 'Arn'),
          VpcSecurityGroupIds: [getAtt('DbGroup', 'GroupId')],
          BackupRetentionPeriod: 14,
          DeletionProtection: true,
          ...clusterProps,
        },
      },
      FromClients: {
        Type: 'AWS::EC2::SecurityGroupIngress',
        Properties: { GroupId: getAtt('DbGroup', 'GroupId'), IpProtocol: 'tcp', FromPort: 5433, ToPort: 5433, SourceSecurityGroupId: getAtt('ClientGroup', 'GroupId') },
      },
      Function: { Type: 'AWS::Lambda::Function', Properties: { VpcConfig: { SecurityGroupIds: [getAtt('ClientGroup', 'GroupId')] } } },
      ...extra,
    },
  } as CfnTemplate;
}

const kinds = (t: CfnTemplate) => templateFailures(auditTemplate(t)).map((f) => `${f.kind} ${f.resource}`);

describe('data stores', () => {
  it('names the key of each store through Refs, GetAtts and aliases; an unset key is the AWS managed one', () => {
    const stores = findDataStores(
      template({
        Secret: { Type: 'AWS::SecretsManager::Secret', Properties: { KmsKeyId: ref('KeyAlias'), GenerateSecretString: {} } },
        PlainSecret: { Type: 'AWS::SecretsManager::Secret', Properties: { GenerateSecretString: {} } },
        AwsAliasQueue: { Type: 'AWS::SQS::Queue', Properties: { KmsMasterKeyId: 'alias/aws/sqs' } },
        DefaultQueue: { Type: 'AWS::SQS::Queue', Properties: {} },
        Bucket: { Type: 'AWS::S3::Bucket', Properties: {} },
        Logs: { Type: 'AWS::Logs::LogGroup', Properties: { RetentionInDays: 365 } },
      }),
    );
    const byId = Object.fromEntries(stores.map((s) => [s.resource, `${s.encryption} ${s.key}`]));
    expect(byId).toEqual({
      AwsAliasQueue: 'aws-managed aws/sqs',
      Bucket: 'aws-owned SSE-S3',
      Cluster: 'customer-managed Key',
      DefaultQueue: 'aws-owned SSE-SQS',
      Logs: 'aws-owned CloudWatch Logs service key',
      PlainSecret: 'aws-managed aws/secretsmanager',
      Secret: 'customer-managed Key',
    });
  });

  it('fails an unencrypted cluster, queue, topic, file system or standalone instance, not a cluster instance nor a keyed topic', () => {
    const t = template(
      {
        Queue: { Type: 'AWS::SQS::Queue', Properties: { SqsManagedSseEnabled: false } },
        Topic: { Type: 'AWS::SNS::Topic', Properties: { TopicName: 'alarms' } },
        KeyedTopic: { Type: 'AWS::SNS::Topic', Properties: { KmsMasterKeyId: getAtt('Key', 'Arn') } },
        Files: { Type: 'AWS::EFS::FileSystem', Properties: {} },
        Standalone: { Type: 'AWS::RDS::DBInstance', Properties: { StorageEncrypted: 'false' } },
        Member: { Type: 'AWS::RDS::DBInstance', Properties: { DBClusterIdentifier: ref('Cluster') } },
      },
      { StorageEncrypted: undefined, KmsKeyId: undefined },
    );
    expect(kinds(t).filter((k) => k.startsWith('unencrypted-store')).sort()).toEqual([
      'unencrypted-store Cluster',
      'unencrypted-store Files',
      'unencrypted-store Queue',
      'unencrypted-store Standalone',
      'unencrypted-store Topic',
    ]);
  });
});

describe('network paths into the database', () => {
  it('follows standalone and inline rules to the groups of clusters and proxies, and lists who is in the source group', () => {
    const network = findDatabaseNetwork(
      template({
        ProxyGroup: {
          Type: 'AWS::EC2::SecurityGroup',
          Properties: { GroupDescription: 'proxy', SecurityGroupIngress: [{ IpProtocol: 'tcp', FromPort: 5432, ToPort: 5432, CidrIp: '10.0.0.0/16' }] },
        },
        Proxy: { Type: 'AWS::RDS::DBProxy', Properties: { VpcSecurityGroupIds: [getAtt('ProxyGroup', 'GroupId')] } },
      }),
    );
    expect(network.securityGroups.map((g) => [g.securityGroup, g.protects, g.ingress.map((r) => `${r.source.kind} ${r.source.value} ${r.ports}`)])).toEqual([
      ['DbGroup', ['Cluster'], ['security-group ClientGroup 5433']],
      ['ProxyGroup', ['Proxy'], ['ipv4 10.0.0.0/16 5432']],
    ]);
    expect(network.sourceGroups).toEqual([
      { securityGroup: 'ClientGroup', description: 'clients', members: ['Function (AWS::Lambda::Function)'], publishedAs: [] },
    ]);
  });

  it('fails 0.0.0.0/0 and ::/0 into a database group and a publicly accessible instance; not a private range', () => {
    const t = template({
      OpenV4: { Type: 'AWS::EC2::SecurityGroupIngress', Properties: { GroupId: ref('DbGroup'), IpProtocol: '-1', CidrIp: '0.0.0.0/0' } },
      OpenV6: { Type: 'AWS::EC2::SecurityGroupIngress', Properties: { GroupId: ref('DbGroup'), IpProtocol: 'tcp', FromPort: 0, ToPort: 65535, CidrIpv6: '::/0' } },
      Private: { Type: 'AWS::EC2::SecurityGroupIngress', Properties: { GroupId: ref('DbGroup'), IpProtocol: 'tcp', FromPort: 5433, ToPort: 5433, CidrIp: '10.0.0.0/8' } },
      // Open, but in front of no database: not a path into it.
      WebGroup: { Type: 'AWS::EC2::SecurityGroup', Properties: { GroupDescription: 'web', SecurityGroupIngress: [{ IpProtocol: 'tcp', FromPort: 443, ToPort: 443, CidrIp: '0.0.0.0/0' }] } },
      Public: { Type: 'AWS::RDS::DBInstance', Properties: { StorageEncrypted: true, PubliclyAccessible: 'true' } },
    });
    const failures = templateFailures(auditTemplate(t)).filter((f) => f.kind === 'public-database-path');
    expect(failures.map((f) => f.message).sort()).toEqual([
      'AWS::RDS::DBInstance Public is publicly accessible',
      'security group DbGroup in front of Cluster lets 0.0.0.0/0 in on all all',
      'security group DbGroup in front of Cluster lets ::/0 in on tcp all',
    ]);
  });

  it('marks a group from outside the template as unreadable rather than guessing', () => {
    const network = findDatabaseNetwork(template({}, { VpcSecurityGroupIds: ['sg-0123456789abcdef0'] }));
    expect(network.securityGroups).toEqual([{ securityGroup: 'sg-0123456789abcdef0', protects: ['Cluster'], inTemplate: false, ingress: [] }]);
  });
});

describe('secrets', () => {
  it('finds the rotation through the target attachment or directly, and fails a secret without one', () => {
    const secrets = findSecrets(
      template({
        Attached: { Type: 'AWS::SecretsManager::Secret', Properties: { GenerateSecretString: {} } },
        Attachment: { Type: 'AWS::SecretsManager::SecretTargetAttachment', Properties: { SecretId: ref('Attached'), TargetId: ref('Cluster') } },
        ViaAttachment: {
          Type: 'AWS::SecretsManager::RotationSchedule',
          Properties: { SecretId: ref('Attachment'), RotationRules: { ScheduleExpression: 'rate(30 days)' }, HostedRotationLambda: { RotationType: 'PostgreSQLSingleUser' } },
        },
        Direct: { Type: 'AWS::SecretsManager::Secret', Properties: { SecretString: '{{resolve:ssm:/x}}' } },
        DirectRotation: {
          Type: 'AWS::SecretsManager::RotationSchedule',
          Properties: { SecretId: ref('Direct'), RotationLambdaARN: getAtt('Function', 'Arn'), RotationRules: { AutomaticallyAfterDays: 7 } },
        },
        Forgotten: { Type: 'AWS::SecretsManager::Secret', Properties: { SecretString: 'hunter2' } },
      }),
    );
    expect(secrets.map((s) => [s.resource, s.value, s.attachedTo ?? '', s.rotation?.every ?? 'none', s.rotation?.rotatedBy ?? ''])).toEqual([
      ['Attached', 'generated', 'Cluster', 'rate(30 days)', 'hosted PostgreSQLSingleUser'],
      ['Direct', 'reference', '', 'every 7 days', 'Function'],
      ['Forgotten', 'literal', '', 'none', ''],
    ]);
    expect(kinds(template({ Forgotten: { Type: 'AWS::SecretsManager::Secret', Properties: { SecretString: 'hunter2' } } }))).toEqual([
      'secret-without-rotation Forgotten',
      'secret-value-in-template Forgotten',
    ]);
  });
});

describe('the master secret', () => {
  const master = (statements: unknown[]) =>
    template(
      {
        Master: { Type: 'AWS::SecretsManager::Secret', Properties: { GenerateSecretString: {} } },
        Attachment: { Type: 'AWS::SecretsManager::SecretTargetAttachment', Properties: { SecretId: ref('Master'), TargetId: ref('Cluster') } },
        Rotation: {
          Type: 'AWS::SecretsManager::RotationSchedule',
          Properties: { SecretId: ref('Attachment'), RotationRules: { ScheduleExpression: 'rate(30 days)' }, HostedRotationLambda: { RotationType: 'PostgreSQLSingleUser' } },
        },
        ...(statements.length > 0
          ? { Policy: { Type: 'AWS::SecretsManager::ResourcePolicy', Properties: { SecretId: ref('Attachment'), ResourcePolicy: { Version: '2012-10-17', Statement: statements } } } }
          : {}),
      },
      { MasterUserPassword: { 'Fn::Join': ['', ['{{resolve:secretsmanager:', ref('Master'), ':SecretString:password::}}']] } },
    );
  const ci = 'arn:aws:iam::111122223333:role/app-dev-ci-*';
  const denyToCi = { Effect: 'Deny', Principal: { AWS: '*' }, Action: 'secretsmanager:GetSecretValue', Resource: '*', Condition: { ArnLike: { 'aws:PrincipalArn': [ci] } } };

  it('fails a cluster’s master secret whose resource policy denies its value to no one, naming the cluster', () => {
    expect(kinds(master([]))).toEqual(['master-secret-denied-to-no-one Master']);
    // Denying deletion, or denying the value to some principals only under other conditions, denies it to no one named.
    const deleteOnly = { Effect: 'Deny', Principal: { AWS: '*' }, Action: 'secretsmanager:DeleteSecret', Resource: '*' };
    const otherCondition = { ...denyToCi, Condition: { ArnLike: { 'aws:PrincipalArn': [ci] }, Bool: { 'aws:SecureTransport': 'false' } } };
    const allow = { ...denyToCi, Effect: 'Allow' };
    expect(kinds(master([deleteOnly, otherCondition, allow]))).toEqual(['master-secret-denied-to-no-one Master']);
    expect(templateFailures(auditTemplate(master([])))[0].message).toMatch(/^secret Master, the master user's of Cluster, denies its value to no one/);
  });

  it('passes one that denies its value to CI’s roles, and reports to whom', () => {
    const audit = auditTemplate(master([denyToCi]));
    expect(kinds(master([denyToCi]))).toEqual([]);
    expect(audit.secrets).toEqual([expect.objectContaining({ resource: 'Master', masterOf: ['Cluster'], valueDeniedTo: [ci] })]);
  });

  it('asks nothing of a secret that is no cluster’s master', () => {
    const login = template({
      Login: { Type: 'AWS::SecretsManager::Secret', Properties: { GenerateSecretString: {} } },
      Rotation: { Type: 'AWS::SecretsManager::RotationSchedule', Properties: { SecretId: ref('Login'), RotationRules: { ScheduleExpression: 'rate(30 days)' }, HostedRotationLambda: { RotationType: 'PostgreSQLMultiUser' } } },
    });
    expect(kinds(login)).toEqual([]);
    expect(auditTemplate(login).secrets).toEqual([expect.objectContaining({ resource: 'Login', masterOf: [], valueDeniedTo: [] })]);
  });
});

describe('deploys on day 1, day 2 and day 30', () => {
  const secret = (rotationType: string) => ({
    Secret: { Type: 'AWS::SecretsManager::Secret', Properties: { GenerateSecretString: {} } },
    Attachment: { Type: 'AWS::SecretsManager::SecretTargetAttachment', Properties: { SecretId: ref('Secret'), TargetId: ref('Cluster') } },
    Rotation: {
      Type: 'AWS::SecretsManager::RotationSchedule',
      Properties: { SecretId: ref('Attachment'), RotationRules: { ScheduleExpression: 'rate(30 days)' }, HostedRotationLambda: { RotationType: rotationType } },
    },
  });
  const proxy = (properties: Record<string, unknown>) => ({ Proxy: { Type: 'AWS::RDS::DBProxy', Properties: { EngineFamily: 'POSTGRESQL', ...properties } } });

  it('fails a proxy that logs in with a secret rotated with alternating users, not one with IAM end to end or a single-user rotation', () => {
    const auth = [{ AuthScheme: 'SECRETS', IAMAuth: 'REQUIRED', SecretArn: ref('Attachment') }];
    const multiUser = template({ ...secret('PostgreSQLMultiUser'), ...proxy({ Auth: auth }) });
    expect(kinds(multiUser)).toEqual(['proxy-secret-alternating-users Proxy']);
    expect(templateFailures(auditTemplate(multiUser))[0].message).toBe(
      'RDS Proxy Proxy logs in with secret Secret, rotated by hosted PostgreSQLMultiUser: after the first rotation the secret names the clone user, ' +
        'and the proxy has no credentials for the user it was given (use IAM authentication end to end, or a single-user rotation)',
    );
    expect(kinds(template({ ...secret('PostgreSQLSingleUser'), ...proxy({ Auth: auth }) }))).toEqual([]);
    const iam = template({ ...secret('PostgreSQLMultiUser'), ...proxy({ DefaultAuthScheme: 'IAM_AUTH' }) });
    expect(kinds(iam)).toEqual([]);
    expect(auditTemplate(iam).deploys.proxies).toEqual([{ proxy: 'Proxy', defaultAuthScheme: 'IAM_AUTH', secrets: [] }]);
  });

  it('fails a custom resource without a ServiceTimeout, of either spelling', () => {
    const t = template({
      Timed: { Type: 'Custom::DatabaseMigrations', Properties: { ServiceToken: 'arn', ServiceTimeout: '720' } },
      Untimed: { Type: 'Custom::VpcRestrictDefaultSG', Properties: { ServiceToken: 'arn' } },
      Generic: { Type: 'AWS::CloudFormation::CustomResource', Properties: { ServiceToken: 'arn' } },
    });
    expect(kinds(t).sort()).toEqual(['custom-resource-without-timeout Generic', 'custom-resource-without-timeout Untimed']);
    expect(auditTemplate(t).deploys.customResources.find((c) => c.resource === 'Timed')?.serviceTimeoutSeconds).toBe(720);
  });

  it('fails a named resource kept by a plain Retain, not one kept except on create, nor an unnamed one', () => {
    const t = template({
      NamedRetained: { Type: 'AWS::Logs::LogGroup', DeletionPolicy: 'Retain', Properties: { LogGroupName: '/app/logs' } },
      NamedRetainedExceptOnCreate: { Type: 'AWS::SecretsManager::Secret', DeletionPolicy: 'RetainExceptOnCreate', Properties: { Name: 'app/secret', GenerateSecretString: {} } },
      UnnamedRetained: { Type: 'AWS::Cognito::UserPool', DeletionPolicy: 'Retain', Properties: { UserPoolName: 'not unique' } },
      Rotation: { Type: 'AWS::SecretsManager::RotationSchedule', Properties: { SecretId: ref('NamedRetainedExceptOnCreate'), RotationRules: { ScheduleExpression: 'rate(30 days)' } } },
    });
    // The template's own cluster is kept by a plain Retain too, but has no identifier: its name is CloudFormation's.
    expect(kinds(t)).toEqual(['named-resource-retained-on-create NamedRetained']);
    const named = template({}, { DBClusterIdentifier: 'app-dev' });
    expect(kinds(named)).toEqual(['named-resource-retained-on-create Cluster']);
    expect(templateFailures(auditTemplate(named))[0].message).toBe(
      'AWS::RDS::DBCluster Cluster named app-dev is kept by a plain Retain: a failed first create leaves it behind, and the retry fails on ' +
        '"already exists" (use RETAIN_ON_UPDATE_OR_DELETE: DeletionPolicy RetainExceptOnCreate)',
    );
  });
});

describe('wildcard statements', () => {
  const policy = (statement: Record<string, unknown>, acknowledgements: { rule: string; reason: string }[] = []) =>
    template({
      Policy: {
        Type: 'AWS::IAM::ManagedPolicy',
        Metadata: { acknowledgements },
        Properties: { PolicyDocument: { Statement: [statement] }, Roles: [ref('Role')] },
      },
      Role: { Type: 'AWS::IAM::Role', Properties: {} },
    });
  const reason = 'A reason of one full sentence for this wildcard.';

  it('explains a wildcard by the acknowledgement that names it, or by a bare IAM5 acknowledgement', () => {
    const exact = findWildcardStatements(
      policy({ Effect: 'Allow', Action: 'logs:PutLogEvents', Resource: { 'Fn::Join': ['', ['arn:aws:logs:eu-west-1:', { Ref: 'AWS::AccountId' }, ':log-group:x:*']] } }, [
        { rule: 'AwsSolutions-IAM5[Resource::arn:aws:logs:eu-west-1:<AWS::AccountId>:log-group:x:*]', reason },
      ]),
    );
    expect(exact).toEqual([expect.objectContaining({ policy: 'Policy', attachedTo: ['<Role>'], explained: true })]);
    expect(exact[0].wildcards[0].acknowledgedBy?.reason).toBe(reason);
    const bare = findWildcardStatements(policy({ Effect: 'Allow', Action: 'ec2:Describe*', Resource: '*' }, [{ rule: 'AwsSolutions-IAM5', reason }]));
    expect(bare[0].explained).toBe(true);
  });

  it('fails a wildcard whose acknowledgement names another finding, but not a Deny or a resource policy', () => {
    const other = policy({ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }, [{ rule: 'AwsSolutions-IAM5[Resource::arn:aws:s3:::b/*]', reason }]);
    expect(kinds(other)).toEqual(['unexplained-wildcard Policy']);
    expect(kinds(policy({ Effect: 'Deny', Action: '*', Resource: '*' }))).toEqual([]);
    expect(kinds(policy({ Effect: 'Allow', NotAction: 'iam:*', Resource: 'arn:aws:s3:::b' }))).toEqual(['unexplained-wildcard Policy']);
    const keyPolicy = template({
      Key2: { Type: 'AWS::KMS::Key', Properties: { KeyPolicy: { Statement: [{ Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::1:root' }, Action: 'kms:*', Resource: '*' }] } } },
    });
    expect(findWildcardStatements(keyPolicy)).toEqual([
      expect.objectContaining({ policy: 'Key2', kind: 'resource', explained: true, principals: 'AWS: arn:aws:iam::1:root' }),
    ]);
    expect(kinds(keyPolicy)).toEqual([]);
  });
});

describe('compliance results', () => {
  const stage: StageArtifact = {
    name: 'Dev',
    directory: 'assembly-Dev',
    stacks: [{ displayName: 'Dev/Data', stackName: 'data', environment: 'aws://unknown-account/eu-west-1', terminationProtection: false, templateFile: 'assembly-Dev/Data.template.json', template: template(), metadata: {} }],
  };

  it('assigns findings to their stage by construct path or template path and reports plugins that could not run', () => {
    const validation = stageValidation(
      {
        pluginReports: [
          {
            pluginName: 'AwsSolutions',
            conclusion: 'failure',
            violations: [
              { ruleName: 'AwsSolutions-EC23', description: 'open', violatingConstructs: [{ constructPath: 'Dev/Data/DbGroup/Resource' }, { constructPath: 'Prod/Data/DbGroup/Resource' }] },
            ],
          },
          {
            pluginName: 'cdk-validator-cfnguard',
            conclusion: 'failure',
            violations: [
              {
                ruleName: 'sqs_queue_encrypted_check',
                description: '[CT.SQS.PR.2]: Require encryption',
                violatingConstructs: [{ cloudFormationResource: { templatePath: 'assembly-Dev/Data.template.json', logicalId: 'Queue' } }],
              },
            ],
          },
          { pluginName: 'Broken', conclusion: 'failure', violations: [], metadata: { error: 'it crashed' } },
        ],
      },
      stage,
    );
    expect(validation.findings.map((f) => `${f.plugin} ${f.rule} ${f.control ?? '-'} ${f.resource}`)).toEqual([
      'AwsSolutions AwsSolutions-EC23 - Dev/Data/DbGroup/Resource',
      'cdk-validator-cfnguard sqs_queue_encrypted_check CT.SQS.PR.2 Queue',
    ]);
    expect(validation.pluginErrors).toEqual(['Broken: it crashed']);
  });

  it('fails a stack with no record that the checks ran, and an assembly without a validation report', () => {
    const result = auditAssembly({ stages: [stage] });
    expect(result.passed).toBe(false);
    expect(result.stages[0].failures.map((f) => f.kind)).toEqual(['compliance-checks-missing']);
    const recorded = { ...stage, stacks: [{ ...stage.stacks[0], metadata: { '/Dev/Data': [{ type: COMPLIANCE_RECORD_METADATA, data: { plugins: [{ name: 'AwsSolutions', version: '3' }], disabledGuardRules: {} } }] } }] };
    expect(auditAssembly({ stages: [recorded] }).stages[0].failures.map((f) => f.message)).toEqual([
      'the assembly has no validation report: the checks recorded on the stacks did not report',
    ]);
    expect(auditAssembly({ stages: [recorded], validationReport: { pluginReports: [] } }).passed).toBe(true);
  });

  it('fails an acknowledgement without a reason', () => {
    const t = template({ Logs: { Type: 'AWS::Logs::LogGroup', Metadata: { acknowledgements: [{ rule: 'AwsSolutions-X1', reason: ' ' }] }, Properties: {} } });
    expect(kinds(t)).toEqual(['acknowledgement-without-reason Logs']);
  });
});

describe('reading an assembly', () => {
  it('names the directory that is not a cloud assembly', () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'not-an-assembly-'));
    expect(() => readCloudAssembly(empty)).toThrow(`${empty} is not a cloud assembly: it has no manifest.json`);
  });
});
