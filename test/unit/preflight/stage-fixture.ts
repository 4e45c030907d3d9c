/**
 * A stage for the preflight's tests, as two stacks (stateful resources apart from the application's, the
 * shape the stage may take), and AWS answers for a healthy first deploy of it, mocked at the SDK boundary.
 * Each test changes one answer or one template and looks at the lines the preflight prints.
 */
import { CloudFormationClient, DescribeStacksCommand, ListStackResourcesCommand } from '@aws-sdk/client-cloudformation';
import { CognitoIdentityProviderClient, DescribeUserPoolDomainCommand } from '@aws-sdk/client-cognito-identity-provider';
import { GetRoleCommand, IAMClient, SimulatePrincipalPolicyCommand } from '@aws-sdk/client-iam';
import { GetAccountSettingsCommand, GetFunctionConcurrencyCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { DescribeDBEngineVersionsCommand, DescribeOrderableDBInstanceOptionsCommand, RDSClient } from '@aws-sdk/client-rds';
import { GetEmailIdentityCommand, SESv2Client } from '@aws-sdk/client-sesv2';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { createClients, preflight, type CheckResult, type StageStack } from '../../../lib/preflight';
import type { Template } from '../../../lib/preflight/assembly';

export const ACCOUNT = '111111111111';
export const REGION = 'eu-west-1';
export const STATEFUL_STACK = 'saas-dev-data';
export const APP_STACK = 'saas-dev-app';

export const mocks = {
  sts: mockClient(STSClient),
  lambda: mockClient(LambdaClient),
  cognito: mockClient(CognitoIdentityProviderClient),
  rds: mockClient(RDSClient),
  cloudFormation: mockClient(CloudFormationClient),
  ssm: mockClient(SSMClient),
  ses: mockClient(SESv2Client),
  iam: mockClient(IAMClient),
};

/** The fixture stage's CI deploy role, as the secrets' Deny pattern `saas-dev-ci-*` and the docs name it. */
export const CI_ROLE = 'saas-dev-ci-deploy';

/** What the CI deploy role's policies allow, as IAM's simulator answers: `<action> <resource ARN prefix>`. */
export const ciRoleAllows = new Set<string>();

/** An error as the SDK throws it for an AWS error code. */
export function awsError(name: string, message = name): Error {
  return Object.assign(new Error(message), { name, $metadata: {} });
}

const missingStack = (name: string) => awsError('ValidationError', `Stack with id ${name} does not exist`);

/** The templates of the stage: reservations 20 + 20 + 1 + 1 + 1 = 43 across both stacks (the figure issue 20 quotes). */
export function stageTemplates(): { stateful: Template; app: Template } {
  return {
    stateful: {
      Resources: {
        Cluster: {
          Type: 'AWS::RDS::DBCluster',
          Properties: {
            DBClusterIdentifier: 'saas-dev',
            Engine: 'aurora-postgresql',
            EngineVersion: '17.5',
            ServerlessV2ScalingConfiguration: { MinCapacity: 0, MaxCapacity: 4 },
          },
        },
        // The master secret denies its value to CI's roles (through its attachment); CI's own secret is published.
        MasterSecret: { Type: 'AWS::SecretsManager::Secret', Properties: { Name: 'saas/dev/database/master' } },
        MasterAttachment: { Type: 'AWS::SecretsManager::SecretTargetAttachment', Properties: { SecretId: { Ref: 'MasterSecret' }, TargetId: { Ref: 'Cluster' } } },
        MasterPolicy: {
          Type: 'AWS::SecretsManager::ResourcePolicy',
          Properties: {
            SecretId: { Ref: 'MasterAttachment' },
            ResourcePolicy: {
              Statement: [
                { Effect: 'Deny', Principal: { AWS: '*' }, Action: 'secretsmanager:DeleteSecret', Resource: '*' },
                {
                  Effect: 'Deny',
                  Principal: { AWS: '*' },
                  Action: 'secretsmanager:GetSecretValue',
                  Resource: '*',
                  Condition: {
                    ArnLike: {
                      'aws:PrincipalArn': [
                        { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'AWS::AccountId' }, ':role/saas-dev-ci-*']] },
                        { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'AWS::AccountId' }, ':role/cdk-*-deploy-role-*']] },
                      ],
                    },
                  },
                },
              ],
            },
          },
        },
        CiSecret: { Type: 'AWS::SecretsManager::Secret', Properties: { Name: 'saas/dev/database/ci-login' } },
        CiSecretParameter: { Type: 'AWS::SSM::Parameter', Properties: { Name: '/saas/dev/database/ci-secret-arn', Type: 'String', Value: { Ref: 'CiSecret' } } },
        Writer: { Type: 'AWS::RDS::DBInstance', Properties: { DBInstanceClass: 'db.serverless', DBClusterIdentifier: { Ref: 'Cluster' } } },
        Reader: { Type: 'AWS::RDS::DBInstance', Properties: { DBInstanceClass: 'db.serverless', DBClusterIdentifier: { Ref: 'Cluster' } } },
        CloseDefaultSg: { Type: 'AWS::Lambda::Function', Properties: { ReservedConcurrentExecutions: 1 } },
      },
    },
    app: {
      Resources: {
        Migrations: { Type: 'AWS::Lambda::Function', Properties: { ReservedConcurrentExecutions: 1 } },
        MigrationsProvider: { Type: 'AWS::Lambda::Function', Properties: { ReservedConcurrentExecutions: 1 } },
        PostConfirmation: { Type: 'AWS::Lambda::Function', Properties: { ReservedConcurrentExecutions: 20 } },
        PreTokenGeneration: { Type: 'AWS::Lambda::Function', Properties: { ReservedConcurrentExecutions: 20 } },
        Unreserved: { Type: 'AWS::Lambda::Function', Properties: {} },
        UserPool: { Type: 'AWS::Cognito::UserPool', Properties: {} },
        UserPoolDomain: { Type: 'AWS::Cognito::UserPoolDomain', Properties: { Domain: 'saas-dev-login', UserPoolId: { Ref: 'UserPool' } } },
      },
    },
  };
}

/** The stage's stacks around `templates`, with the bootstrap requirements the CDK writes. */
export function stageStacks(templates = stageTemplates(), extra: Partial<StageStack> = {}): StageStack[] {
  const stack = (displayName: string, stackName: string, template: Template): StageStack => ({
    displayName,
    stackName,
    region: REGION,
    template,
    requiresBootstrapVersion: 6,
    bootstrapVersionParameter: '/cdk-bootstrap/hnb659fds/version',
    ...extra,
  });
  return [stack('Dev/Data', STATEFUL_STACK, templates.stateful), stack('Dev/App', APP_STACK, templates.app)];
}

/**
 * Every mock answers as for a healthy first deploy of stage `env` (the fixture's is dev): bootstrapped, nothing of
 * the stage deployed yet, the CI deploy role in place.
 */
export function healthyFirstDeploy(env = 'dev'): void {
  for (const mock of Object.values(mocks)) mock.reset();
  mocks.sts.on(GetCallerIdentityCommand).resolves({ Account: ACCOUNT, Arn: `arn:aws:sts::${ACCOUNT}:assumed-role/preflight/ci` });
  mocks.cloudFormation.on(DescribeStacksCommand).callsFake((input: { StackName: string }) => {
    if (input.StackName === 'CDKToolkit') return { Stacks: [{ StackName: 'CDKToolkit', StackStatus: 'UPDATE_COMPLETE', CreationTime: new Date() }] };
    throw missingStack(input.StackName);
  });
  mocks.cloudFormation.on(ListStackResourcesCommand).callsFake((input: { StackName: string }) => {
    throw missingStack(input.StackName);
  });
  mocks.ssm.on(GetParameterCommand, { Name: '/cdk-bootstrap/hnb659fds/version' }).resolves({ Parameter: { Value: '30' } });
  mocks.lambda.on(GetAccountSettingsCommand).resolves({ AccountLimit: { ConcurrentExecutions: 1000, UnreservedConcurrentExecutions: 1000 } });
  mocks.lambda.on(GetFunctionConcurrencyCommand).resolves({});
  mocks.cognito.on(DescribeUserPoolDomainCommand).resolves({ DomainDescription: {} });
  // The version asked for is available (the stage's templates pin whatever minor the library's newest is).
  mocks.rds.on(DescribeDBEngineVersionsCommand).callsFake((input: { EngineVersion?: string }) => ({
    DBEngineVersions: [{ Engine: 'aurora-postgresql', EngineVersion: input.EngineVersion ?? '17.5', Status: 'available', ServerlessV2FeaturesSupport: { MinCapacity: 0, MaxCapacity: 256 } }],
  }));
  mocks.rds.on(DescribeOrderableDBInstanceOptionsCommand).resolves({ OrderableDBInstanceOptions: [{ DBInstanceClass: 'db.serverless' }] });
  mocks.ses.on(GetEmailIdentityCommand).rejects(awsError('NotFoundException'));
  // The deploy role exists, and its policy is the documented one: the CI secret, the Data API on the cluster.
  const role = `saas-${env}-ci-deploy`;
  mocks.iam.on(GetRoleCommand).rejects(awsError('NoSuchEntityException', 'The role with name x cannot be found.'));
  mocks.iam.on(GetRoleCommand, { RoleName: role }).resolves({ Role: { RoleName: role, Arn: `arn:aws:iam::${ACCOUNT}:role/${role}`, Path: '/', RoleId: 'AROA1', CreateDate: new Date() } });
  ciRoleAllows.clear();
  ciRoleAllows.add(`secretsmanager:GetSecretValue arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:saas/${env}/database/ci-login-`);
  for (const action of ['ExecuteStatement', 'BeginTransaction', 'RollbackTransaction']) ciRoleAllows.add(`rds-data:${action} arn:aws:rds:${REGION}:${ACCOUNT}:cluster:saas-${env}`);
  mocks.iam.on(SimulatePrincipalPolicyCommand).callsFake((input: { PolicySourceArn: string; ActionNames: string[]; ResourceArns: string[] }) => {
    if (input.PolicySourceArn !== `arn:aws:iam::${ACCOUNT}:role/${role}`) throw awsError('NoSuchEntityException');
    return {
      EvaluationResults: input.ActionNames.map((action) => ({
        EvalActionName: action,
        EvalResourceName: input.ResourceArns[0],
        EvalDecision: [...ciRoleAllows].some((rule) => {
          const [ruleAction, prefix] = rule.split(' ');
          return ruleAction === action && input.ResourceArns[0].startsWith(prefix);
        }) ? 'allowed' : 'implicitDeny',
      })),
    };
  });
}

/**
 * The stacks of the stage as deployed: CREATE_COMPLETE, each resource's physical id its logical id in lower
 * case (the user pool's is `eu-west-1_OwnPool`).
 */
export function deployed(templates = stageTemplates()): void {
  const byStack: Record<string, Template> = { [STATEFUL_STACK]: templates.stateful, [APP_STACK]: templates.app };
  mocks.cloudFormation.on(DescribeStacksCommand).callsFake((input: { StackName: string }) => {
    if (input.StackName === 'CDKToolkit' || byStack[input.StackName]) {
      return { Stacks: [{ StackName: input.StackName, StackStatus: input.StackName === 'CDKToolkit' ? 'UPDATE_COMPLETE' : 'CREATE_COMPLETE', CreationTime: new Date() }] };
    }
    throw missingStack(input.StackName);
  });
  mocks.cloudFormation.on(ListStackResourcesCommand).callsFake((input: { StackName: string }) => ({
    StackResourceSummaries: Object.entries(byStack[input.StackName].Resources ?? {}).map(([logicalId, r]) => ({
      LogicalResourceId: logicalId,
      PhysicalResourceId: logicalId === 'UserPool' ? `${REGION}_OwnPool` : logicalId.toLowerCase(),
      ResourceType: r.Type,
      ResourceStatus: 'CREATE_COMPLETE',
      LastUpdatedTimestamp: new Date(),
    })),
  }));
}

/** Runs the preflight of the fixture stage (or `stacks`) against the mocks. */
export async function runPreflight(stacks: StageStack[] = stageStacks()) {
  return preflight({ stage: 'dev', region: REGION, clientsFor: createClients, synthesize: () => stacks });
}

/** The results of the check named `name`. */
export function linesOf(results: readonly CheckResult[], name: string): CheckResult[] {
  return results.filter((r) => r.name === name);
}

/** The one result of the check named `name`. */
export function lineOf(results: readonly CheckResult[], name: string): CheckResult {
  const lines = linesOf(results, name);
  if (lines.length !== 1) throw new Error(`expected one "${name}" line, got ${lines.length}: ${JSON.stringify(results, null, 1)}`);
  return lines[0];
}
