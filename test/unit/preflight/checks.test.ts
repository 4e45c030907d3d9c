/**
 * Every check of the preflight on its pass, fail and skip paths, through `preflight()` with the SDK mocked:
 * the lines an operator reads, and that a denied or failing call fails its own check only.
 */
import { DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DescribeUserPoolDomainCommand } from '@aws-sdk/client-cognito-identity-provider';
import { GetRoleCommand, SimulatePrincipalPolicyCommand } from '@aws-sdk/client-iam';
import { GetAccountSettingsCommand, GetFunctionConcurrencyCommand } from '@aws-sdk/client-lambda';
import { DescribeDBEngineVersionsCommand, DescribeOrderableDBInstanceOptionsCommand } from '@aws-sdk/client-rds';
import { GetEmailIdentityCommand } from '@aws-sdk/client-sesv2';
import { GetParameterCommand } from '@aws-sdk/client-ssm';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { createClients, CredentialsError, formatResult, preflight } from '../../../lib/preflight';
import { minimumUnreserved } from '../../../lib/preflight/checks/lambda-concurrency';
import {
  ACCOUNT,
  APP_STACK,
  awsError,
  CI_ROLE,
  ciRoleAllows,
  deployed,
  healthyFirstDeploy,
  lineOf,
  linesOf,
  mocks,
  REGION,
  runPreflight,
  stageStacks,
  stageTemplates,
} from './stage-fixture';

beforeEach(healthyFirstDeploy);

test('a healthy first deploy passes every check, SES skipped, one line each', async () => {
  const report = await runPreflight();
  expect(report.passed).toBe(true);
  expect(report.target).toEqual({ account: ACCOUNT, region: REGION });
  expect(report.results.map(formatResult)).toEqual([
    `aws account: stage deploys to ${ACCOUNT}, region ${REGION}, the credentials' account -> PASS`,
    'stack state: saas-dev-data: not deployed yet (a first deploy) -> PASS',
    'stack state: saas-dev-app: not deployed yet (a first deploy) -> PASS',
    'cdk bootstrap: stack CDKToolkit UPDATE_COMPLETE, /cdk-bootstrap/hnb659fds/version = 30, required >= 6 -> PASS',
    'lambda concurrency: account limit 1000, unreserved now 1000, unreserved minimum 100, stage reserves 43, 957 left unreserved -> PASS',
    'cognito domain: prefix "saas-dev-login" in eu-west-1, free -> PASS',
    'aurora engine: aurora-postgresql 17.5 in eu-west-1: available, capacity 0-4 ACU within 0-256, db.serverless orderable -> PASS',
    "ses identity: no user pool names an SES identity -> SKIP: the stage's user pools send with Cognito's default sender",
    'ci access: role saas-dev-ci-deploy; reads saas/dev/database/ci-login; denied by resource policy saas/dev/database/master; Data API on saas-dev -> PASS',
  ]);
});

describe('aws account', () => {
  test('fails when the stage is pinned to another account than the credentials', async () => {
    const report = await runPreflight(stageStacks(undefined, { account: '222222222222' }));
    expect(formatResult(lineOf(report.results, 'aws account'))).toMatch(
      /stage pinned to 222222222222, credentials of 111111111111 -> FAIL: use credentials of account 222222222222: every other check read the wrong account/,
    );
    expect(report.target.account).toBe('222222222222');
  });

  test('passes when they match', async () => {
    const report = await runPreflight(stageStacks(undefined, { account: ACCOUNT }));
    expect(lineOf(report.results, 'aws account')).toMatchObject({ status: 'PASS', facts: expect.stringContaining("the credentials' account") });
  });
});

describe('lambda concurrency', () => {
  test('the minimum unreserved is 100, or the whole limit below 100', () => {
    expect([10, 50, 100, 1000].map(minimumUnreserved)).toEqual([10, 50, 100, 100]);
  });

  test('fails in a new account limited to 10, naming the numbers and the quota to ask for', async () => {
    mocks.lambda.on(GetAccountSettingsCommand).resolves({ AccountLimit: { ConcurrentExecutions: 10, UnreservedConcurrentExecutions: 10 } });
    const line = lineOf((await runPreflight()).results, 'lambda concurrency');
    expect(formatResult(line)).toBe(
      'lambda concurrency: account limit 10, unreserved now 10, unreserved minimum 10, stage reserves 43 -> FAIL: ' +
        'the deploy would leave -33 unreserved, below the minimum 10; the account can grant 0 more. Lower the stage\'s reservations, ' +
        'or raise the quota "Concurrent executions" (Service Quotas, lambda L-B99A9384) to at least 143',
    );
  });

  test('counts what other functions of the account already reserve', async () => {
    // 1000 - 900 reserved elsewhere = 100 unreserved: not even one more can be reserved.
    mocks.lambda.on(GetAccountSettingsCommand).resolves({ AccountLimit: { ConcurrentExecutions: 1000, UnreservedConcurrentExecutions: 100 } });
    const line = lineOf((await runPreflight()).results, 'lambda concurrency');
    expect(line.status).toBe('FAIL');
    expect(line.reason).toContain('to at least 1043');
  });

  test('passes exactly at the minimum', async () => {
    mocks.lambda.on(GetAccountSettingsCommand).resolves({ AccountLimit: { ConcurrentExecutions: 1000, UnreservedConcurrentExecutions: 143 } });
    expect(lineOf((await runPreflight()).results, 'lambda concurrency')).toMatchObject({ status: 'PASS', facts: expect.stringContaining('100 left unreserved') });
  });

  test("a re-deploy counts only what it adds over its own functions' reservations", async () => {
    // Deployed: the stage's functions hold their 43, so the account shows 100 unreserved (1000 - 857 - 43).
    deployed();
    mocks.lambda.on(GetAccountSettingsCommand).resolves({ AccountLimit: { ConcurrentExecutions: 1000, UnreservedConcurrentExecutions: 100 } });
    mocks.lambda.on(GetFunctionConcurrencyCommand, { FunctionName: 'postconfirmation' }).resolves({ ReservedConcurrentExecutions: 20 });
    mocks.lambda.on(GetFunctionConcurrencyCommand, { FunctionName: 'pretokengeneration' }).resolves({ ReservedConcurrentExecutions: 20 });
    mocks.lambda.on(GetFunctionConcurrencyCommand, { FunctionName: 'migrations' }).resolves({ ReservedConcurrentExecutions: 1 });
    mocks.lambda.on(GetFunctionConcurrencyCommand, { FunctionName: 'migrationsprovider' }).resolves({ ReservedConcurrentExecutions: 1 });
    mocks.lambda.on(GetFunctionConcurrencyCommand, { FunctionName: 'closedefaultsg' }).resolves({ ReservedConcurrentExecutions: 1 });
    const unchanged = lineOf((await runPreflight()).results, 'lambda concurrency');
    expect(formatResult(unchanged)).toBe(
      'lambda concurrency: account limit 1000, unreserved now 100, unreserved minimum 100, stage reserves 43 ' +
        '(its deployed functions hold 43, so the deploy adds 0), 100 left unreserved -> PASS',
    );

    // One trigger going from 20 to 25 adds 5, which the account no longer has; a decrease elsewhere does not
    // help, since CloudFormation may apply it last.
    const templates = stageTemplates();
    templates.app.Resources!.PreTokenGeneration.Properties = { ReservedConcurrentExecutions: 25 };
    templates.app.Resources!.PostConfirmation.Properties = { ReservedConcurrentExecutions: 10 };
    const grown = lineOf((await runPreflight(stageStacks(templates))).results, 'lambda concurrency');
    expect(grown.status).toBe('FAIL');
    expect(grown.facts).toBe('account limit 1000, unreserved now 100, unreserved minimum 100, stage reserves 38 (its deployed functions hold 43, so the deploy adds 5)');
  });

  test('a stage without reservations passes without asking', async () => {
    const templates = stageTemplates();
    for (const t of [templates.stateful, templates.app]) {
      for (const r of Object.values(t.Resources!)) if (r.Type === 'AWS::Lambda::Function') r.Properties = {};
    }
    mocks.lambda.on(GetAccountSettingsCommand).rejects(awsError('AccessDeniedException', 'not allowed'));
    expect(formatResult(lineOf((await runPreflight(stageStacks(templates))).results, 'lambda concurrency'))).toBe('lambda concurrency: stage reserves 0 -> PASS');
    expect(mocks.lambda.commandCalls(GetAccountSettingsCommand)).toHaveLength(0);
  });
});

describe('cognito domain', () => {
  test('fails when another account holds the prefix', async () => {
    mocks.cognito
      .on(DescribeUserPoolDomainCommand, { Domain: 'saas-dev-login' })
      .resolves({ DomainDescription: { Domain: 'saas-dev-login', UserPoolId: 'eu-west-1_Someone', AWSAccountId: '999999999999', Status: 'ACTIVE' } });
    const line = lineOf((await runPreflight()).results, 'cognito domain');
    expect(formatResult(line)).toBe(
      'cognito domain: prefix "saas-dev-login" in eu-west-1, taken by another AWS account (999999999999) -> FAIL: ' +
        'choose another prefix for this stage (prefixes are unique per region across all accounts)',
    );
  });

  test('fails when a pool of this account holds it but the stack is not deployed', async () => {
    mocks.cognito.on(DescribeUserPoolDomainCommand).resolves({ DomainDescription: { UserPoolId: 'eu-west-1_Manual', AWSAccountId: ACCOUNT } });
    const line = lineOf((await runPreflight()).results, 'cognito domain');
    expect(line.status).toBe('FAIL');
    expect(line.facts).toContain(`taken by user pool eu-west-1_Manual while stack ${APP_STACK} has no user pool deployed`);
  });

  test("passes on a re-deploy: the prefix is held by the stack's own pool", async () => {
    deployed();
    mocks.cognito.on(DescribeUserPoolDomainCommand).resolves({ DomainDescription: { UserPoolId: `${REGION}_OwnPool`, AWSAccountId: ACCOUNT } });
    expect(lineOf((await runPreflight()).results, 'cognito domain')).toMatchObject({
      status: 'PASS',
      facts: `prefix "saas-dev-login" in eu-west-1, held by this stage's user pool ${REGION}_OwnPool (a re-deploy)`,
    });
  });

  test('finds the pool in another stack of the stage when the domain gets its id from a parameter', async () => {
    const templates = stageTemplates();
    templates.stateful.Resources!.UserPool = templates.app.Resources!.UserPool;
    delete templates.app.Resources!.UserPool;
    templates.app.Resources!.UserPoolDomain.Properties!.UserPoolId = { Ref: 'UserPoolIdParameter' };
    deployed(templates);
    mocks.cognito.on(DescribeUserPoolDomainCommand).resolves({ DomainDescription: { UserPoolId: `${REGION}_OwnPool`, AWSAccountId: ACCOUNT } });
    expect(lineOf((await runPreflight(stageStacks(templates))).results, 'cognito domain')).toMatchObject({ status: 'PASS', facts: expect.stringContaining('(a re-deploy)') });
  });

  test("fails when the stack is deployed but another pool of the account holds the prefix", async () => {
    deployed();
    mocks.cognito.on(DescribeUserPoolDomainCommand).resolves({ DomainDescription: { UserPoolId: `${REGION}_Other`, AWSAccountId: ACCOUNT } });
    const line = lineOf((await runPreflight()).results, 'cognito domain');
    expect(line.status).toBe('FAIL');
    expect(line.facts).toContain(`taken by user pool ${REGION}_Other, not this stage's pool ${REGION}_OwnPool`);
  });

  test('a prefix Cognito does not know is free', async () => {
    mocks.cognito.on(DescribeUserPoolDomainCommand).rejects(awsError('ResourceNotFoundException', 'domain not found'));
    expect(lineOf((await runPreflight()).results, 'cognito domain')).toMatchObject({ status: 'PASS', facts: 'prefix "saas-dev-login" in eu-west-1, free' });
  });

  test('a description without the pool still means taken', async () => {
    mocks.cognito.on(DescribeUserPoolDomainCommand).resolves({ DomainDescription: { Domain: 'saas-dev-login', Status: 'ACTIVE' } });
    const line = lineOf((await runPreflight()).results, 'cognito domain');
    expect(line).toMatchObject({ status: 'FAIL', facts: 'prefix "saas-dev-login" in eu-west-1, taken by a user pool these credentials cannot see' });
  });

  test('resolves a prefix derived from the account', async () => {
    const templates = stageTemplates();
    templates.app.Resources!.UserPoolDomain.Properties!.Domain = { 'Fn::Join': ['', ['saas-dev-', { Ref: 'AWS::AccountId' }]] };
    const line = lineOf((await runPreflight(stageStacks(templates))).results, 'cognito domain');
    expect(line).toMatchObject({ status: 'PASS', facts: `prefix "saas-dev-${ACCOUNT}" in eu-west-1, free` });
    expect(mocks.cognito.commandCalls(DescribeUserPoolDomainCommand)[0].args[0].input).toEqual({ Domain: `saas-dev-${ACCOUNT}` });
  });

  test('skips a custom domain and a domain it cannot resolve', async () => {
    const templates = stageTemplates();
    templates.app.Resources!.UserPoolDomain.Properties = {
      Domain: 'login.example.com',
      CustomDomainConfig: { CertificateArn: 'arn:aws:acm:us-east-1:111111111111:certificate/x' },
      UserPoolId: { Ref: 'UserPool' },
    };
    templates.app.Resources!.Second = { Type: 'AWS::Cognito::UserPoolDomain', Properties: { Domain: { 'Fn::GetAtt': ['Something', 'Name'] } } };
    const lines = linesOf((await runPreflight(stageStacks(templates))).results, 'cognito domain');
    expect(lines.map((l) => l.status)).toEqual(['SKIP', 'SKIP']);
    expect(lines[0].reason).toMatch(/custom domain/);
    expect(lines[1].reason).toMatch(/cannot be known before the deploy/);
    expect(mocks.cognito.commandCalls(DescribeUserPoolDomainCommand)).toHaveLength(0);
  });
});

describe('aurora engine', () => {
  test('fails when the version is not offered in the region', async () => {
    mocks.rds.on(DescribeDBEngineVersionsCommand).resolves({ DBEngineVersions: [] });
    const line = lineOf((await runPreflight()).results, 'aurora engine');
    expect(formatResult(line)).toBe(
      'aurora engine: aurora-postgresql 17.5 in eu-west-1: not offered -> FAIL: pick a version the region offers ' +
        '(aws rds describe-db-engine-versions --engine aurora-postgresql --region eu-west-1)',
    );
    expect(mocks.rds.commandCalls(DescribeDBEngineVersionsCommand)[0].args[0].input).toEqual({
      Engine: 'aurora-postgresql',
      EngineVersion: '17.5',
      IncludeAll: true,
    });
  });

  test('fails when the version is deprecated for new clusters', async () => {
    mocks.rds.on(DescribeDBEngineVersionsCommand).resolves({ DBEngineVersions: [{ EngineVersion: '17.5', Status: 'deprecated' }] });
    expect(formatResult(lineOf((await runPreflight()).results, 'aurora engine'))).toBe(
      'aurora engine: aurora-postgresql 17.5 in eu-west-1: status deprecated -> FAIL: new clusters are refused on this version; pin a newer minor',
    );
  });

  test('fails when db.serverless is not orderable', async () => {
    mocks.rds.on(DescribeOrderableDBInstanceOptionsCommand).resolves({ OrderableDBInstanceOptions: [] });
    const line = lineOf((await runPreflight()).results, 'aurora engine');
    expect(line).toMatchObject({ status: 'FAIL', reason: 'db.serverless not orderable' });
    // One class, asked once, though two instances use it.
    expect(mocks.rds.commandCalls(DescribeOrderableDBInstanceOptionsCommand).map((c) => c.args[0].input)).toEqual([
      { Engine: 'aurora-postgresql', EngineVersion: '17.5', DBInstanceClass: 'db.serverless', MaxRecords: 20 },
    ]);
  });

  test('fails when the capacity range is outside what the version supports (0 ACU needs a version that pauses)', async () => {
    mocks.rds
      .on(DescribeDBEngineVersionsCommand)
      .resolves({ DBEngineVersions: [{ EngineVersion: '17.5', Status: 'available', ServerlessV2FeaturesSupport: { MinCapacity: 0.5, MaxCapacity: 256 } }] });
    const line = lineOf((await runPreflight()).results, 'aurora engine');
    expect(line).toMatchObject({ status: 'FAIL', reason: "capacity 0-4 ACU: this version's minimum is 0.5 ACU" });
  });

  test('skips a cluster without a pinned version', async () => {
    const templates = stageTemplates();
    delete templates.stateful.Resources!.Cluster.Properties!.EngineVersion;
    const line = lineOf((await runPreflight(stageStacks(templates))).results, 'aurora engine');
    expect(line).toMatchObject({ status: 'SKIP', reason: 'the template pins no engine version (RDS picks its default)' });
  });
});

describe('cdk bootstrap', () => {
  test('fails when the account is not bootstrapped', async () => {
    mocks.cloudFormation.on(DescribeStacksCommand).rejects(awsError('ValidationError', 'Stack with id CDKToolkit does not exist'));
    expect(formatResult(lineOf((await runPreflight()).results, 'cdk bootstrap'))).toBe(
      `cdk bootstrap: no stack CDKToolkit in ${ACCOUNT}/eu-west-1 -> FAIL: not bootstrapped: run npx cdk bootstrap aws://${ACCOUNT}/eu-west-1`,
    );
  });

  test('fails when the bootstrap is older than the assembly requires', async () => {
    mocks.ssm.on(GetParameterCommand).resolves({ Parameter: { Value: '5' } });
    const line = lineOf((await runPreflight()).results, 'cdk bootstrap');
    expect(line).toMatchObject({ status: 'FAIL', facts: 'stack CDKToolkit UPDATE_COMPLETE, /cdk-bootstrap/hnb659fds/version = 5, required >= 6' });
  });

  test('fails when bootstrapped with another qualifier, naming the one the templates use', async () => {
    mocks.ssm.on(GetParameterCommand).rejects(awsError('ParameterNotFound'));
    const line = lineOf((await runPreflight(stageStacks(undefined, { bootstrapVersionParameter: '/cdk-bootstrap/saas2026/version' }))).results, 'cdk bootstrap');
    expect(line.status).toBe('FAIL');
    expect(line.reason).toBe(`not bootstrapped with qualifier saas2026: run npx cdk bootstrap aws://${ACCOUNT}/eu-west-1 --qualifier saas2026`);
  });

  test('fails when the bootstrap stack is in a failed state, and reads the toolkit stack named', async () => {
    mocks.cloudFormation.on(DescribeStacksCommand, { StackName: 'OurToolkit' }).resolves({
      Stacks: [{ StackName: 'OurToolkit', StackStatus: 'UPDATE_ROLLBACK_FAILED', CreationTime: new Date() }],
    });
    const report = await preflight({ stage: 'dev', region: REGION, clientsFor: createClients, synthesize: () => stageStacks(), toolkitStackName: 'OurToolkit' });
    expect(lineOf(report.results, 'cdk bootstrap')).toMatchObject({ status: 'FAIL', facts: 'stack OurToolkit is UPDATE_ROLLBACK_FAILED' });
  });

  test('the requirement is the highest of the stacks', async () => {
    const [a, b] = stageStacks();
    const report = await runPreflight([a, { ...b, requiresBootstrapVersion: 31 }]);
    expect(lineOf(report.results, 'cdk bootstrap')).toMatchObject({ status: 'FAIL', facts: expect.stringContaining('= 30, required >= 31') });
  });
});

describe('stack state', () => {
  test('fails for a stack whose create could not be rolled back, and for one busy', async () => {
    mocks.cloudFormation.on(DescribeStacksCommand, { StackName: 'saas-dev-data' }).resolves({
      Stacks: [{ StackName: 'saas-dev-data', StackStatus: 'ROLLBACK_FAILED', CreationTime: new Date() }],
    });
    mocks.cloudFormation.on(DescribeStacksCommand, { StackName: 'saas-dev-app' }).resolves({
      Stacks: [{ StackName: 'saas-dev-app', StackStatus: 'UPDATE_IN_PROGRESS', CreationTime: new Date() }],
    });
    const lines = linesOf((await runPreflight()).results, 'stack state');
    expect(lines.map(formatResult)).toEqual([
      'stack state: saas-dev-data: ROLLBACK_FAILED -> FAIL: a failed create cannot be updated: delete it (aws cloudformation delete-stack ' +
        '--stack-name saas-dev-data, --retain-resources for what cannot be deleted) and deploy again (docs/operations.md)',
      'stack state: saas-dev-app: UPDATE_IN_PROGRESS -> FAIL: another operation is running on it: wait for it to end',
    ]);
  });

  test('passes a deployed stack as a re-deploy', async () => {
    deployed();
    expect(linesOf((await runPreflight()).results, 'stack state').map((l) => l.facts)).toEqual([
      'saas-dev-data: CREATE_COMPLETE (a re-deploy)',
      'saas-dev-app: CREATE_COMPLETE (a re-deploy)',
    ]);
  });
});

describe('ci access', () => {
  const ciLine = async (stacks = stageStacks()) => lineOf((await runPreflight(stacks)).results, 'ci access');

  test('fails when the deploy role does not exist under the name the secrets deny', async () => {
    mocks.iam.on(GetRoleCommand, { RoleName: CI_ROLE }).rejects(awsError('NoSuchEntityException', 'The role with name saas-dev-ci-deploy cannot be found.'));
    expect(formatResult(await ciLine())).toBe(
      'ci access: role saas-dev-ci-deploy: not found -> FAIL: create the deploy role under this name (docs/operations.md, First deploy, step 3): ' +
        "a role named otherwise is not denied the database's secrets",
    );
  });

  test('fails when the role’s own policies let it read the master secret, naming it', async () => {
    ciRoleAllows.add(`secretsmanager:GetSecretValue arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:saas/dev/database/`);
    expect(await ciLine()).toMatchObject({
      status: 'FAIL',
      reason: "its policies allow reading saas/dev/database/master (only the secrets' Deny stops it): remove that grant",
    });
  });

  test('fails when it could not log in or call the Data API as the workflow does', async () => {
    ciRoleAllows.clear();
    ciRoleAllows.add(`rds-data:ExecuteStatement arn:aws:rds:${REGION}:${ACCOUNT}:cluster:saas-dev`);
    expect((await ciLine()).reason).toBe(
      'it may not read saas/dev/database/ci-login: the drift and status steps could not log in; ' +
        'it may not call rds-data:BeginTransaction, rds-data:RollbackTransaction on cluster saas-dev',
    );
  });

  test('asks the simulator about the role, the secrets by their names, and the cluster by its identifier', async () => {
    await runPreflight();
    const asked = mocks.iam.commandCalls(SimulatePrincipalPolicyCommand).map((c) => `${c.args[0].input.ActionNames!.join(',')} ${c.args[0].input.ResourceArns![0]}`);
    expect(asked).toEqual([
      `secretsmanager:GetSecretValue arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:saas/dev/database/ci-login-AbCdEf`,
      `secretsmanager:GetSecretValue arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:saas/dev/database/master-AbCdEf`,
      `rds-data:ExecuteStatement,rds-data:BeginTransaction,rds-data:RollbackTransaction arn:aws:rds:${REGION}:${ACCOUNT}:cluster:saas-dev`,
    ]);
    for (const call of mocks.iam.commandCalls(SimulatePrincipalPolicyCommand)) {
      expect(call.args[0].input.PolicySourceArn).toBe(`arn:aws:iam::${ACCOUNT}:role/${CI_ROLE}`);
    }
  });

  test('skips a stage without a CI login', async () => {
    const templates = stageTemplates();
    delete templates.stateful.Resources!.CiSecretParameter;
    expect(await ciLine(stageStacks(templates))).toMatchObject({ status: 'SKIP' });
    expect(mocks.iam.commandCalls(GetRoleCommand)).toHaveLength(0);
  });

  test('an AccessDenied on the simulator fails this check only, naming the action', async () => {
    mocks.iam.on(SimulatePrincipalPolicyCommand).rejects(awsError('AccessDenied', 'not authorized'));
    expect((await ciLine()).reason).toMatch(/^access denied: the credentials lack iam:SimulatePrincipalPolicy/);
  });
});

describe('ses identity', () => {
  const withSes = (sourceArn: unknown, from?: string) => {
    const templates = stageTemplates();
    templates.app.Resources!.UserPool.Properties = { EmailConfiguration: { EmailSendingAccount: 'DEVELOPER', SourceArn: sourceArn, ...(from ? { From: from } : {}) } };
    return stageStacks(templates);
  };
  const arn = `arn:aws:ses:us-east-1:${ACCOUNT}:identity/example.com`;

  test('passes a verified identity, asked in the region the ARN names', async () => {
    mocks.ses.on(GetEmailIdentityCommand, { EmailIdentity: 'example.com' }).resolves({ VerifiedForSendingStatus: true, VerificationStatus: 'SUCCESS' });
    const line = lineOf((await runPreflight(withSes(arn, 'Example <No-Reply@Mail.Example.com>'))).results, 'ses identity');
    expect(formatResult(line)).toBe('ses identity: identity example.com in us-east-1: verified for sending, covers From no-reply@mail.example.com -> PASS');
    const client = mocks.ses.commandCalls(GetEmailIdentityCommand)[0].thisValue as { config: { region: () => Promise<string> } };
    expect(await client.config.region()).toBe('us-east-1');
  });

  test('fails an identity that is not verified', async () => {
    mocks.ses.on(GetEmailIdentityCommand).resolves({ VerifiedForSendingStatus: false, VerificationStatus: 'PENDING' });
    const line = lineOf((await runPreflight(withSes(arn))).results, 'ses identity');
    expect(line).toMatchObject({ status: 'FAIL', facts: 'identity example.com in us-east-1: not verified for sending (status PENDING)' });
  });

  test('fails an identity that does not exist', async () => {
    const line = lineOf((await runPreflight(withSes(arn))).results, 'ses identity');
    expect(line).toMatchObject({ status: 'FAIL', facts: 'identity example.com in us-east-1: not found' });
  });

  test('fails a From address the identity does not cover, without asking SES', async () => {
    const line = lineOf((await runPreflight(withSes(arn, 'no-reply@example.org'))).results, 'ses identity');
    expect(line).toMatchObject({ status: 'FAIL', reason: 'the From address is not covered by the identity example.com' });
    expect(mocks.ses.commandCalls(GetEmailIdentityCommand)).toHaveLength(0);
  });

  test('resolves an ARN built from the region and account', async () => {
    mocks.ses.on(GetEmailIdentityCommand).resolves({ VerifiedForSendingStatus: true });
    const built = { 'Fn::Sub': 'arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/no-reply@example.com' };
    const line = lineOf((await runPreflight(withSes(built))).results, 'ses identity');
    expect(line).toMatchObject({ status: 'PASS', facts: 'identity no-reply@example.com in eu-west-1: verified for sending' });
  });

  test("skips an identity of another account, which these credentials cannot read", async () => {
    const line = lineOf((await runPreflight(withSes('arn:aws:ses:eu-west-1:333333333333:identity/example.com'))).results, 'ses identity');
    expect(line.status).toBe('SKIP');
    expect(mocks.ses.commandCalls(GetEmailIdentityCommand)).toHaveLength(0);
  });
});

describe('errors', () => {
  test('an AccessDenied fails its own check, naming the permission, and the others still run', async () => {
    mocks.lambda.on(GetAccountSettingsCommand).rejects(awsError('AccessDeniedException', 'User: arn:aws:sts::111111111111:assumed-role/x is not authorized'));
    mocks.rds.on(DescribeDBEngineVersionsCommand).rejects(awsError('AccessDenied', 'not authorized'));
    const report = await runPreflight();
    expect(report.passed).toBe(false);
    expect(lineOf(report.results, 'lambda concurrency')).toMatchObject({
      status: 'FAIL',
      facts: 'not checked',
      reason: expect.stringMatching(/^access denied: the credentials lack lambda:GetAccountSettings \(AccessDeniedException: User: .*\); grant it/),
    });
    expect(lineOf(report.results, 'aurora engine').reason).toMatch(/^access denied: the credentials lack rds:DescribeDBEngineVersions/);
    expect(report.results.filter((r) => r.status === 'PASS').map((r) => r.name)).toEqual(['aws account', 'stack state', 'stack state', 'cdk bootstrap', 'cognito domain', 'ci access']);
  });

  test('an unexpected error fails its check with its first line', async () => {
    mocks.cognito.on(DescribeUserPoolDomainCommand).rejects(awsError('ThrottlingException', 'Rate exceeded\nat somewhere'));
    expect(lineOf((await runPreflight()).results, 'cognito domain')).toMatchObject({ status: 'FAIL', reason: 'ThrottlingException: Rate exceeded' });
  });

  test('missing credentials stop the run with one clear error, before anything is synthesized', async () => {
    mocks.sts.on(GetCallerIdentityCommand).rejects(awsError('CredentialsProviderError', 'Could not load credentials from any providers'));
    const synthesize = jest.fn(() => stageStacks());
    const run = preflight({ stage: 'dev', region: REGION, clientsFor: createClients, synthesize });
    await expect(run).rejects.toThrow(CredentialsError);
    await expect(run).rejects.toThrow('no usable AWS credentials (CredentialsProviderError: Could not load credentials from any providers)');
    expect(synthesize).not.toHaveBeenCalled();
  });

  test('expired credentials met by a check stop the run too', async () => {
    mocks.rds.on(DescribeDBEngineVersionsCommand).rejects(awsError('ExpiredToken', 'The security token included in the request is expired'));
    await expect(runPreflight()).rejects.toThrow(CredentialsError);
  });
});
