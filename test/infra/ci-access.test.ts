/**
 * CI's access to the database (issue 21, deliverable 3), read from the real synthesized templates, the
 * promotion's workflow and the deploy role's policy in docs/operations.md: CI logs in as `ci_login`, whose secret
 * has its own rotation and is the only secret of the database CI may read; the master and Cognito secrets deny
 * their value to CI's roles in their resource policies, which no identity policy can override.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- templates and policies are untyped JSON */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { resolve } from '../../lib/preflight/facts';
import { resourcesOfType, SHIPPED_STAGES, synthesizedApp, type Synthesized } from './synth';

const ROOT = path.resolve(__dirname, '..', '..');
const ACCOUNT = '111122223333';

let synth: Synthesized;
beforeAll(async () => {
  synth = await synthesizedApp();
}, 600_000);

/** A template value as deployed to the test account (the preflight's resolver); an unresolvable one fails. */
function render(value: any): string {
  const resolved = resolve(value, { account: ACCOUNT, region: 'eu-west-1' });
  if (resolved === undefined) throw new Error(`cannot resolve ${JSON.stringify(value)}`);
  return resolved;
}

/** IAM's ArnLike: `*` any run of characters, `?` one. */
function arnLike(pattern: string, arn: string): boolean {
  const source = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${source}$`).test(arn);
}

const role = (name: string) => `arn:aws:iam::${ACCOUNT}:role/${name}`;

describe.each(SHIPPED_STAGES)('CI’s access to the database of %s', (stage, config) => {
  const env = config.name;
  const template = () => synth.templates[stage];
  const secretNamed = (name: string) => {
    const entry = Object.entries(resourcesOfType(template(), 'AWS::SecretsManager::Secret')).find(([, s]: [string, any]) => s.Properties.Name === name);
    if (!entry) throw new Error(`no secret ${name}`);
    return entry[0];
  };
  /** The statements of the resource policy of the secret `logicalId`, directly or through its attachment. */
  const policyOf = (logicalId: string): any[] => {
    const targets = new Set([logicalId]);
    for (const [id, attachment] of Object.entries(resourcesOfType(template(), 'AWS::SecretsManager::SecretTargetAttachment')) as [string, any][]) {
      if (attachment.Properties.SecretId.Ref === logicalId) targets.add(id);
    }
    const policies = (Object.values(resourcesOfType(template(), 'AWS::SecretsManager::ResourcePolicy')) as any[]).filter((p) => targets.has(p.Properties.SecretId.Ref));
    return policies.flatMap((p) => p.Properties.ResourcePolicy.Statement);
  };
  /** The principal ARN patterns denied the value of the secret `logicalId`. */
  const deniedTo = (logicalId: string): string[] =>
    policyOf(logicalId)
      .filter((s) => s.Effect === 'Deny' && [].concat(s.Action).includes('secretsmanager:GetSecretValue' as never))
      .flatMap((s) => {
        expect(s.Principal).toEqual({ AWS: '*' });
        expect(s.Resource).toBe('*');
        return [].concat(s.Condition.ArnLike['aws:PrincipalArn']).map(render);
      });
  const denies = (patterns: string[], arn: string) => patterns.some((p) => arnLike(p, arn));

  it('has a login of its own: a generated secret, rotated with alternating users by the master, published for CI', () => {
    const ci = secretNamed(`saas/${env}/database/ci-login`);
    const secret = template().Resources[ci];
    // Its template names the user and the master secret that rotates it: {"username":"ci_login",…,"masterarn":<ref>}.
    expect(secret.Properties.GenerateSecretString.SecretStringTemplate['Fn::Join'][1][0]).toMatch(/^\{"username":"ci_login",.*"masterarn":"$/);
    expect(secret.Properties.KmsKeyId).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^DataKey/), 'Arn'] });
    const schedules = (Object.values(resourcesOfType(template(), 'AWS::SecretsManager::RotationSchedule')) as any[]).filter(
      (s) => s.Properties.SecretId.Ref?.startsWith('DatabaseCiLoginSecretAttachment'),
    );
    expect(schedules).toHaveLength(1);
    expect(schedules[0].Properties).toMatchObject({
      HostedRotationLambda: { RotationType: 'PostgreSQLMultiUser', MasterSecretArn: { Ref: expect.stringMatching(/SecretAttachment/) } },
      RotationRules: { ScheduleExpression: `rate(${config.database.secretRotationDays} days)` },
    });
    const parameter = (Object.values(resourcesOfType(template(), 'AWS::SSM::Parameter')) as any[]).find(
      (p) => p.Properties.Name === `/saas/${env}/database/ci-secret-arn`,
    );
    expect(parameter.Properties.Value).toEqual({ Ref: ci });
  });

  it('the master and Cognito secrets deny their value to CI’s roles and the CDK roles CI assumes, and to no one else', () => {
    for (const name of ['master', 'cognito-sync-login']) {
      const patterns = deniedTo(secretNamed(`saas/${env}/database/${name}`));
      for (const arn of [
        role(`saas-${env}-ci-deploy`),
        role(`saas-${env}-ci-diff`),
        role(`cdk-hnb659fds-deploy-role-${ACCOUNT}-eu-west-1`),
        role(`cdk-hnb659fds-lookup-role-${ACCOUNT}-eu-west-1`),
        role(`cdk-hnb659fds-file-publishing-role-${ACCOUNT}-eu-west-1`),
        role(`cdk-hnb659fds-image-publishing-role-${ACCOUNT}-eu-west-1`),
      ]) {
        expect([name, arn, denies(patterns, arn)]).toEqual([name, arn, true]);
      }
      // CloudFormation resolves the master password into the cluster as the execution role; the functions and
      // the rotations read the secrets as roles of the stacks.
      for (const arn of [
        role(`cdk-hnb659fds-cfn-exec-role-${ACCOUNT}-eu-west-1`),
        role(`saas-${env}-data-tier-MigrationsFunctionServiceRole1A2B-ABCDEF123456`),
        role(`saas-${env}-data-store-DatabaseMasterRotationRole-ABCDEF123456`),
        role(`saas-${env}-data-tier-CognitoTriggersPostConfirmationRole-ABCDEF123456`),
      ]) {
        expect([name, arn, denies(patterns, arn)]).toEqual([name, arn, false]);
      }
    }
  });

  it('the CI login’s secret denies nothing to CI', () => {
    expect(deniedTo(secretNamed(`saas/${env}/database/ci-login`))).toEqual([]);
  });
});

describe('the promotion', () => {
  const workflows = fs.readdirSync(path.join(ROOT, '.github', 'workflows')).map((f) => fs.readFileSync(path.join(ROOT, '.github', 'workflows', f), 'utf8'));

  it('reads no master secret anywhere, and passes the CI login’s secret to every Data API call', () => {
    for (const text of workflows) expect(text).not.toMatch(/master-secret|database\/master\b/);
    const deploy = fs.readFileSync(path.join(ROOT, '.github', 'workflows', 'deploy-stage.yml'), 'utf8');
    const calls = deploy.split('\n').filter((line) => line.includes('--secret-arn'));
    expect(calls).toHaveLength(2); // drift before the deploy, status after it
    for (const call of calls) expect(call).toContain('--secret-arn "${secret_arn}"');
    const assignments = deploy.split('\n').filter((line) => /secret_arn="\$\(/.test(line));
    expect(assignments).toHaveLength(2);
    for (const line of assignments) expect(line).toContain('parameter database/ci-secret-arn');
  });

  it('runs with a deploy role whose documented policy reads the CI login’s secret only and allows the Data API calls of the CLI', () => {
    const docs = fs.readFileSync(path.join(ROOT, 'docs', 'operations.md'), 'utf8');
    const section = docs.slice(docs.indexOf('The CI deploy policy'));
    const json = /```json\n([\s\S]*?)```/.exec(section)![1].replace(/^ {3}/gm, '');
    const statements: any[] = JSON.parse(json).Statement;
    const allowed = (action: string) => statements.filter((s) => s.Effect === 'Allow' && [].concat(s.Action).includes(action as never));
    expect(statements.every((s) => s.Effect === 'Allow' && [].concat(s.Action).every((a: string) => !a.includes('*')))).toBe(true);
    expect(allowed('secretsmanager:GetSecretValue').map((s) => s.Resource)).toEqual([
      'arn:aws:secretsmanager:<region>:<account>:secret:saas/<env>/database/ci-login-*',
    ]);
    // What lib/db-cli/data-api.ts sends, and nothing that changes data.
    const cli = fs.readFileSync(path.join(ROOT, 'lib', 'db-cli', 'data-api.ts'), 'utf8');
    const commands = [...new Set([...cli.matchAll(/new (?:send\.)?(\w+)Command\(/g)].map((m) => `rds-data:${m[1]}`))].sort();
    const granted = statements.flatMap((s) => [].concat(s.Action)).filter((a: string) => a.startsWith('rds-data:')).sort();
    expect(granted).toEqual(commands);
    expect(granted).not.toContain('rds-data:CommitTransaction');
    expect(allowed('kms:Decrypt')[0].Condition.StringEquals['kms:ViaService']).toBe('secretsmanager.<region>.amazonaws.com');
  });
});
