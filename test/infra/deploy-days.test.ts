/**
 * Issue 20: what the synthesized templates must say so that a deploy succeeds on day 1 (a new account, a global
 * name someone else holds, an engine version AWS still offers), on day 2 (a failed first create can be retried)
 * and on day 30 (after the first rotation of the secrets). Every stack of every stage is read, as the preflight
 * reads them.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- templates are untyped JSON read back from cdk.out */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as rds from 'aws-cdk-lib/aws-rds';
import { readCloudAssembly, type StackArtifact } from '../../lib/audit/assembly';
import { loadEnvironmentConfig, type EnvironmentConfig } from '../../lib/config';
import { EnvironmentStage } from '../../lib/environment-stage';
import { synthesizedApp, type Synthesized } from './synth';

let synth: Synthesized;
let stacks: { stage: string; stack: StackArtifact }[];
beforeAll(async () => {
  synth = await synthesizedApp();
  stacks = readCloudAssembly(synth.outdir).stages.flatMap((stage) => stage.stacks.map((stack) => ({ stage: stage.name, stack })));
}, 600_000);

const CONFIGS: Record<string, EnvironmentConfig> = {
  Dev: loadEnvironmentConfig('dev'),
  Staging: loadEnvironmentConfig('staging'),
  Prod: loadEnvironmentConfig('prod'),
};
const resources = (stack: StackArtifact) => Object.entries(stack.template.Resources as Record<string, any>);

describe('day 1: a first deploy into a new account', () => {
  it('reserves Lambda concurrency only as the stage configures it: none in Dev', () => {
    for (const { stage, stack } of stacks) {
      const reserved = CONFIGS[stage].functions.reservedConcurrency;
      const functions = resources(stack).filter(([, r]) => r.Type === 'AWS::Lambda::Function');
      expect(functions.length).toBeGreaterThan(0);
      for (const [id, fn] of functions) {
        const expected = reserved === 'none' ? undefined : id.startsWith('CognitoTriggers') ? reserved.cognitoTriggers : reserved.customResources;
        expect([id, fn.Properties.ReservedConcurrentExecutions]).toEqual([id, expected]);
      }
    }
    expect(CONFIGS.Dev.functions.reservedConcurrency).toBe('none');
  });

  it('names the Cognito domain with the account id, so no other account can hold the prefix first', () => {
    for (const { stage, stack } of stacks) {
      const domains = resources(stack).filter(([, r]) => r.Type === 'AWS::Cognito::UserPoolDomain');
      expect(domains).toHaveLength(1);
      expect(domains[0][1].Properties.Domain).toEqual({ 'Fn::Join': ['', [`saas-${CONFIGS[stage].name}-`, { Ref: 'AWS::AccountId' }]] });
    }
  });

  it.each([
    ['a pinned account: its id, as a literal', { account: '123456789012' }, 'saas-dev-123456789012'],
    ['a configured prefix, as it is', { auth: { domainPrefix: 'acme-dev-login' } }, 'acme-dev-login'],
  ])('takes %s', (_what, overrides, expected) => {
    const stage = new EnvironmentStage(new App(), 'Dev', { config: loadEnvironmentConfig('dev', overrides) });
    const domains = Object.values(Template.fromStack(stage.dataTier).findResources('AWS::Cognito::UserPoolDomain')) as any[];
    expect(domains.map((d) => d.Properties.Domain)).toEqual([expected]);
  });

  it('runs the newest Aurora PostgreSQL 17 minor aws-cdk-lib knows', () => {
    const minors = Object.keys(rds.AuroraPostgresEngineVersion)
      .map((key) => /^VER_17_(\d+)$/.exec(key)?.[1])
      .filter((minor): minor is string => minor !== undefined)
      .map(Number);
    const newest = `17.${Math.max(...minors)}`;
    for (const { stack } of stacks) {
      for (const [, cluster] of resources(stack).filter(([, r]) => r.Type === 'AWS::RDS::DBCluster')) {
        expect(cluster.Properties.EngineVersion).toBe(newest);
      }
    }
  });

  it('keeps the Cognito triggers working: no stage lets the writer pause', () => {
    for (const { stack } of stacks) {
      for (const [, cluster] of resources(stack).filter(([, r]) => r.Type === 'AWS::RDS::DBCluster')) {
        expect(cluster.Properties.ServerlessV2ScalingConfiguration.MinCapacity).toBeGreaterThanOrEqual(0.5);
      }
    }
  });
});

describe('day 2: a failed deploy fails fast and can be retried', () => {
  it('gives every custom resource of every stack a service timeout, so a lost answer fails in minutes, not an hour', () => {
    const custom = stacks.flatMap(({ stack }) => resources(stack).filter(([, r]) => String(r.Type).startsWith('Custom::')));
    expect(custom.map(([, r]) => r.Type)).toEqual(expect.arrayContaining(['Custom::DatabaseMigrations', 'Custom::VpcRestrictDefaultSG']));
    for (const [id, resource] of custom) {
      const timeout = Number(resource.Properties.ServiceTimeout);
      expect([id, timeout > 0 && timeout <= 900]).toEqual([id, true]);
    }
  });

  it('keeps nothing named by a plain Retain: a failed first create deletes what it made, and the retry finds the names free', () => {
    for (const { stack } of stacks) {
      for (const [id, resource] of resources(stack)) {
        if (resource.DeletionPolicy !== 'Retain') continue;
        // Only resources whose names need not be unique may be kept by a create's rollback (the user pool).
        expect([id, resource.Type]).toEqual([id, 'AWS::Cognito::UserPool']);
      }
    }
  });
});

describe('day 30: after the first rotation', () => {
  it('RDS Proxy reads no secret: it logs in with IAM as a login no rotation renames', () => {
    for (const { stack } of stacks) {
      for (const [, proxy] of resources(stack).filter(([, r]) => r.Type === 'AWS::RDS::DBProxy')) {
        expect(proxy.Properties.DefaultAuthScheme).toBe('IAM_AUTH');
        expect(proxy.Properties.Auth).toBeUndefined();
      }
      const migrations = resources(stack).find(([, r]) => r.Type === 'Custom::DatabaseMigrations')![1];
      expect(migrations.Properties.IamLogins).toEqual([{ Username: 'app_login', MemberOf: 'app_user' }]);
    }
  });

  it('publishes what an application needs to connect with IAM: the proxy ARN and endpoint, and the user name', () => {
    for (const { stage, stack } of stacks) {
      const names = resources(stack).filter(([, r]) => r.Type === 'AWS::SSM::Parameter').map(([, r]) => r.Properties.Name);
      for (const name of ['proxy-arn', 'proxy-endpoint', 'proxy-username']) {
        expect(names).toContain(`/saas/${CONFIGS[stage].name}/database/${name}`);
      }
      const username = resources(stack).find(([, r]) => r.Type === 'AWS::SSM::Parameter' && r.Properties.Name.endsWith('/proxy-username'))![1];
      expect(username.Properties.Value).toBe('app_login');
    }
  });
});
