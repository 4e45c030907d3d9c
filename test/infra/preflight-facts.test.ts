/**
 * The preflight reads its facts from the real synthesized stage: every stack, every reservation, domain,
 * cluster and SES sender the templates hold, and the bootstrap version the assembly requires. The
 * expectations are counted from the templates themselves, so they hold whatever the stage's stacks become.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- templates are untyped JSON */
import * as path from 'node:path';
import { GetAccountSettingsCommand } from '@aws-sdk/client-lambda';
import { createClients, formatResult, preflight, readStageStacks, stageFacts, synthesizeStage, UnknownStageError } from '../../lib/preflight';
import { resolve } from '../../lib/preflight/facts';
import { healthyFirstDeploy, mocks } from '../unit/preflight/stage-fixture';
import { synthesizedApp } from './synth';

const ROOT = path.resolve(__dirname, '..', '..');
const TARGET = { account: '123456789012', region: 'eu-west-1' };

const resourcesOf = (template: any, type: string): [string, any][] =>
  Object.entries(template.Resources ?? {}).filter(([, r]: [string, any]) => r.Type === type) as [string, any][];

describe.each(['Dev', 'Staging', 'Prod'])('the facts of stage %s', (stageId) => {
  let stacks: ReturnType<typeof readStageStacks>;
  beforeAll(async () => {
    stacks = readStageStacks((await synthesizedApp()).outdir, stageId);
  });

  test('every Lambda reservation of every stack, summed', () => {
    const facts = stageFacts(stacks, TARGET);
    const expected = stacks.flatMap((s) =>
      resourcesOf(s.template, 'AWS::Lambda::Function')
        .filter(([, r]) => (r.Properties?.ReservedConcurrentExecutions ?? 0) > 0)
        .map(([id, r]) => ({ stack: s.stackName, id, reserved: r.Properties.ReservedConcurrentExecutions })),
    );
    expect(facts.reservations.map((r) => ({ stack: r.stack.stackName, id: r.logicalId, reserved: r.reserved }))).toEqual(expected);
  });

  test('the Cognito domains, Aurora clusters (engine, version, db.serverless) and SES senders', () => {
    const facts = stageFacts(stacks, TARGET);
    const all = (type: string) => stacks.flatMap((s) => resourcesOf(s.template, type));
    expect(facts.userPoolDomains.map((d) => d.domain)).toEqual(all('AWS::Cognito::UserPoolDomain').map(([, r]) => resolve(r.Properties.Domain, TARGET)));
    expect(facts.userPoolDomains.every((d) => d.domain !== undefined && d.userPool !== undefined)).toBe(true);
    expect(facts.databaseClusters).toHaveLength(all('AWS::RDS::DBCluster').length);
    for (const cluster of facts.databaseClusters) {
      expect(cluster).toMatchObject({ engine: 'aurora-postgresql', engineVersion: expect.stringMatching(/^\d+\.\d+$/), instanceClasses: ['db.serverless'] });
    }
    const senders = all('AWS::Cognito::UserPool').filter(([, r]) => r.Properties?.EmailConfiguration?.SourceArn !== undefined);
    expect(facts.emailSenders).toHaveLength(senders.length);
  });

  test('the secrets CI may not read, its own secret, and the cluster it calls: what the ci access check asks about', async () => {
    const env = stageId.toLowerCase();
    const facts = stageFacts(stacks, TARGET);
    const denied = (name: string) => facts.secrets.find((s) => s.name === `saas/${env}/database/${name}`)!.valueDeniedTo;
    expect(denied('master')).toContain(`arn:aws:iam::${TARGET.account}:role/saas-${env}-ci-*`);
    expect(denied('cognito-sync-login')).toContain(`arn:aws:iam::${TARGET.account}:role/saas-${env}-ci-*`);
    expect(denied('ci-login')).toEqual([]);
    expect(facts.secrets.filter((s) => s.publishedAs.includes(`/saas/${env}/database/ci-secret-arn`)).map((s) => s.name)).toEqual([`saas/${env}/database/ci-login`]);
    expect(facts.databaseClusters.map((c) => c.identifier)).toEqual([`saas-${env}`]);

    healthyFirstDeploy(env);
    const report = await preflight({ stage: env, region: 'eu-west-1', clientsFor: createClients, synthesize: () => stacks });
    expect(formatResult(report.results.find((r) => r.name === 'ci access')!)).toBe(
      `ci access: role saas-${env}-ci-deploy; reads saas/${env}/database/ci-login; ` +
        `denied by resource policy saas/${env}/database/master, saas/${env}/database/cognito-sync-login; Data API on saas-${env} -> PASS`,
    );
  });

  test('in a new account limited to 10 concurrent executions, any reservation fails the lambda check (issue 20)', async () => {
    healthyFirstDeploy(stageId.toLowerCase());
    mocks.lambda.on(GetAccountSettingsCommand).resolves({ AccountLimit: { ConcurrentExecutions: 10, UnreservedConcurrentExecutions: 10 } });
    const report = await preflight({ stage: stageId.toLowerCase(), region: 'eu-west-1', clientsFor: createClients, synthesize: () => stacks });
    const total = stageFacts(stacks, TARGET).reservations.reduce((sum, r) => sum + r.reserved, 0);
    const line = formatResult(report.results.find((r) => r.name === 'lambda concurrency')!);
    if (total > 0) expect(line).toMatch(new RegExp(`^lambda concurrency: account limit 10, unreserved now 10, unreserved minimum 10, stage reserves ${total} -> FAIL: `));
    else expect(line).toBe('lambda concurrency: stage reserves 0 -> PASS');
    expect(report.results.filter((r) => r.status === 'FAIL').map((r) => r.name)).toEqual(total > 0 ? ['lambda concurrency'] : []);
  });

  test('the bootstrap version the assembly requires, and its parameter', () => {
    for (const stack of stacks) {
      expect(stack.requiresBootstrapVersion).toBeGreaterThanOrEqual(6);
      expect(stack.bootstrapVersionParameter).toBe('/cdk-bootstrap/hnb659fds/version');
      expect(stack.region).toBe('eu-west-1');
    }
  });
});

test('synthesizeStage synthesizes one stage for the credentials account, as cdk deploy does, and leaves the environment as it was', () => {
  const before = process.env.CDK_DEFAULT_ACCOUNT;
  const stacks = synthesizeStage('dev', ROOT, TARGET);
  expect(stacks.length).toBeGreaterThan(0);
  for (const stack of stacks) {
    expect(stack).toMatchObject({ account: TARGET.account, region: TARGET.region, stackName: expect.stringMatching(/^saas-dev-/) });
  }
  expect(stageFacts(stacks, TARGET).databaseClusters.length).toBeGreaterThan(0);
  expect(process.env.CDK_DEFAULT_ACCOUNT).toBe(before);
});

test('an unknown stage names the known ones', () => {
  expect(() => synthesizeStage('qa', ROOT, TARGET)).toThrow(new UnknownStageError('qa'));
  expect(() => synthesizeStage('qa', ROOT, TARGET)).toThrow('unknown stage "qa": expected one of dev, staging, prod');
});
