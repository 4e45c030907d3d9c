/**
 * The Cognito triggers in the synthesized templates: wired to the user pool (V2 pre-token event), in the
 * isolated subnets beside a Data API endpoint, answering within Cognito's 5 seconds, and allowed exactly
 * ExecuteStatement on the one cluster as the one Cognito sync login.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- templates are untyped JSON */
import { resourcesOfType, synthesizedApp, type Synthesized } from './synth';

let synth: Synthesized;
beforeAll(async () => {
  synth = await synthesizedApp();
}, 600_000);

const functionsOf = (template: Record<string, any>) => resourcesOfType(template, 'AWS::Lambda::Function');
const trigger = (template: Record<string, any>, prefix: string) =>
  Object.entries(functionsOf(template)).find(([id]) => id.startsWith(`CognitoTriggers${prefix}Function`)) as [string, any];

describe.each(['Dev', 'Prod'])('%s', (stage) => {
  const template = () => synth.templates[stage];

  test('the user pool calls both triggers, pre-token generation with the V2 event', () => {
    const [, pool] = Object.entries(resourcesOfType(template(), 'AWS::Cognito::UserPool'))[0] as [string, any];
    const [postId] = trigger(template(), 'PostConfirmation');
    const [preId] = trigger(template(), 'PreTokenGeneration');
    expect(pool.Properties.LambdaConfig.PostConfirmation).toEqual({ 'Fn::GetAtt': [postId, 'Arn'] });
    expect(pool.Properties.LambdaConfig.PreTokenGenerationConfig).toEqual({ LambdaArn: { 'Fn::GetAtt': [preId, 'Arn'] }, LambdaVersion: 'V2_0' });
    const permissions = Object.values(resourcesOfType(template(), 'AWS::Lambda::Permission')) as any[];
    for (const id of [postId, preId]) {
      expect(permissions.some((p) => p.Properties.Principal === 'cognito-idp.amazonaws.com' && p.Properties.FunctionName['Fn::GetAtt']?.[0] === id)).toBe(true);
    }
  });

  test.each(['PostConfirmation', 'PreTokenGeneration'])('%s answers within 5 s, in the VPC, with ARNs (no credentials) in its environment', (name) => {
    const [, fn] = trigger(template(), name);
    expect(fn.Properties).toMatchObject({ Runtime: 'nodejs24.x', Timeout: 5, Architectures: ['arm64'] });
    expect(fn.Properties.ReservedConcurrentExecutions).toBe(stage === 'Prod' ? 20 : undefined);
    expect(fn.Properties.VpcConfig.SubnetIds.length).toBeGreaterThan(0);
    expect(Object.keys(fn.Properties.Environment.Variables).sort()).toEqual(['CLUSTER_ARN', 'DATABASE_NAME', 'SECRET_ARN']);
    // The ARN the stateful stack publishes, resolved when the data tier stack deploys.
    expect(fn.Properties.Environment.Variables.SECRET_ARN).toBe(`{{resolve:ssm:/saas/${stage.toLowerCase()}/database/cognito-sync-secret-arn}}`);
  });

  test.each(['PostConfirmation', 'PreTokenGeneration'])('%s may run statements on the one cluster as the one login, nothing more', (name) => {
    const policies = Object.entries(resourcesOfType(template(), 'AWS::IAM::ManagedPolicy'))
      .filter(([id]) => id.startsWith(`CognitoTriggers${name}RolePermissions`));
    expect(policies).toHaveLength(1);
    const statements: any[] = policies[0][1].Properties.PolicyDocument.Statement;
    const rds = statements.filter((s) => [].concat(s.Action).some((a: string) => a.startsWith('rds-data:')));
    expect(rds).toHaveLength(1);
    expect(rds[0].Action).toBe('rds-data:ExecuteStatement');
    // arn:aws:rds:<region>:<account>:cluster:<the cluster>, no wildcard.
    const clusterArn = JSON.stringify(rds[0].Resource);
    expect(clusterArn).toMatch(new RegExp(`:cluster:saas-${stage.toLowerCase()}"`));
    expect(clusterArn).not.toContain('*');
    const secrets = statements.filter((s) => [].concat(s.Action).some((a: string) => a.startsWith('secretsmanager:')));
    expect(secrets).toHaveLength(1);
    expect(secrets[0].Resource).toBe(`{{resolve:ssm:/saas/${stage.toLowerCase()}/database/cognito-sync-secret-arn}}`);
    // Nothing else but logs, the dead-letter queue, and the key through SQS (the queue) and Secrets Manager (the secret).
    const other = statements.filter((s) => !rds.includes(s) && !secrets.includes(s));
    expect(other.flatMap((s) => [].concat(s.Action)).sort()).toEqual(['kms:Decrypt', 'kms:Decrypt', 'kms:GenerateDataKey', 'logs:CreateLogStream', 'logs:PutLogEvents', 'sqs:SendMessage']);
    const region = 'eu-west-1';
    expect(other.filter((s) => [].concat(s.Action).some((a: string) => a.startsWith('kms:'))).map((s) => s.Condition.StringEquals['kms:ViaService']).sort())
      .toEqual([`secretsmanager.${region}.amazonaws.com`, `sqs.${region}.amazonaws.com`]);
  });

  test('the Data API endpoint sits in the function subnets', () => {
    const endpoints = Object.values(resourcesOfType(template(), 'AWS::EC2::VPCEndpoint')) as any[];
    const rdsData = endpoints.filter((e) => JSON.stringify(e.Properties.ServiceName).includes('rds-data'));
    expect(rdsData).toHaveLength(1);
    expect(rdsData[0].Properties.PrivateDnsEnabled).toBe(true);
  });
});
