/**
 * Least privilege of issue 21 (deliverable 6), read from the real synthesized templates: every VPC endpoint
 * lets only the account's principals through, to the account's resources, and the S3 gateway also lets custom
 * resources answer CloudFormation in its response bucket, with PutObject on that bucket alone; every use of a
 * KMS key that a function role is granted goes through a named service (`kms:ViaService`).
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- templates are untyped JSON read back from cdk.out */
import { cloudFormationResponseBucket } from '../../lib/constructs/network';
import { loadEnvironmentConfig } from '../../lib/config';
import { resourcesOfType, synthesizedApp, type Synthesized } from './synth';

let synth: Synthesized;
beforeAll(async () => {
  synth = await synthesizedApp();
}, 600_000);

const ACCOUNT_ONLY = {
  Sid: 'ThisAccountsPrincipalsToThisAccountsResources',
  Effect: 'Allow',
  Principal: { AWS: '*' },
  Action: '*',
  Resource: '*',
  Condition: {
    StringEquals: { 'aws:PrincipalAccount': { Ref: 'AWS::AccountId' } },
    StringEqualsIfExists: { 'aws:ResourceAccount': { Ref: 'AWS::AccountId' } },
  },
};

describe.each(['Dev', 'Staging', 'Prod'])('the VPC endpoints of %s', (stage) => {
  const endpoints = () => Object.values(resourcesOfType(synth.templates[stage], 'AWS::EC2::VPCEndpoint')) as any[];

  it('let only this account’s principals reach this account’s resources through every interface endpoint', () => {
    const interfaces = endpoints().filter((e) => e.Properties.VpcEndpointType === 'Interface');
    expect(interfaces.length).toBeGreaterThanOrEqual(4);
    for (const endpoint of interfaces) expect(endpoint.Properties.PolicyDocument.Statement).toEqual([ACCOUNT_ONLY]);
  });

  it('let the S3 gateway carry this account’s traffic and custom resource responses to CloudFormation’s bucket, nothing else', () => {
    const [gateway] = endpoints().filter((e) => e.Properties.VpcEndpointType === 'Gateway');
    const region = loadEnvironmentConfig(stage.toLowerCase()).region;
    expect(gateway.Properties.PolicyDocument.Statement).toEqual([
      ACCOUNT_ONLY,
      {
        Sid: 'CloudFormationCustomResourceResponses',
        Effect: 'Allow',
        Principal: { AWS: '*' },
        Action: 's3:PutObject',
        Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:s3:::cloudformation-custom-resource-response-${region.replace(/-/g, '')}/*`]] },
      },
    ]);
  });
});

describe.each(['Dev', 'Staging', 'Prod'])('the key grants of %s', (stage) => {
  const kmsStatements = () =>
    (Object.entries(resourcesOfType(synth.templates[stage], 'AWS::IAM::ManagedPolicy')) as [string, any][])
      .concat(Object.entries(resourcesOfType(synth.templates[stage], 'AWS::IAM::Policy')) as [string, any][])
      .flatMap(([id, p]) => (p.Properties.PolicyDocument.Statement as any[]).map((st) => ({ id, ...st })))
      .filter((st) => st.Effect === 'Allow' && [st.Action].flat().some((a: string) => a.startsWith('kms:')));

  it('lets every role use a key only through the service that needs it: SQS for the dead-letter queue, Secrets Manager for secrets, RDS and AWS Backup for snapshots', () => {
    const statements = kmsStatements();
    expect(statements.length).toBeGreaterThan(0);
    const region = loadEnvironmentConfig(stage.toLowerCase()).region;
    for (const st of statements) {
      const via: unknown[] = [st.Condition?.StringEquals?.['kms:ViaService']].flat();
      const allowed = st.id.startsWith('BackupPlanRole') ? '(rds|backup)' : '(sqs|secretsmanager)';
      expect({ id: st.id, via }).toEqual({ id: st.id, via: via.map(() => expect.stringMatching(new RegExp(`^${allowed}\\.${region}\\.amazonaws\\.com$`))) });
      expect(via.length).toBeGreaterThan(0);
    }
    // The functions that read a secret can still decrypt it: the migrations and both Cognito triggers.
    const readers = statements.filter((st) => [st.Condition.StringEquals['kms:ViaService']].flat()[0].startsWith('secretsmanager.')).map((st) => st.id).sort();
    expect(readers).toEqual([
      expect.stringMatching(/^CognitoTriggersPostConfirmationRole/),
      expect.stringMatching(/^CognitoTriggersPreTokenGenerationRole/),
      expect.stringMatching(/^MigrationsHandlerRole/),
    ]);
  });
});

describe('cloudFormationResponseBucket', () => {
  it('names the region’s bucket without hyphens, and refuses an unknown region', () => {
    expect(cloudFormationResponseBucket('eu-west-1')).toBe('cloudformation-custom-resource-response-euwest1');
    expect(() => cloudFormationResponseBucket('${Token[AWS.Region.9]}')).toThrow(/region must be known at synth/);
  });
});
