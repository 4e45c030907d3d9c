/**
 * Issue 20: what the synthesized templates must say so that a deploy succeeds on day 1 (a new account, a global
 * name someone else holds, an engine version AWS still offers), on day 2 (a failed first create can be retried)
 * and on day 30 (after the first rotation of the secrets). Every stack of every stage is read, as the preflight
 * reads them.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- templates are untyped JSON read back from cdk.out */
import { App } from 'aws-cdk-lib';
import * as fs from 'node:fs';
import * as path from 'node:path';
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
    for (const stage of Object.keys(CONFIGS)) {
      const domains = stacks.filter((s) => s.stage === stage).flatMap(({ stack }) => resources(stack).filter(([, r]) => r.Type === 'AWS::Cognito::UserPoolDomain'));
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
  it('puts the deletion-protected cluster in a stack of its own, deployed first, which the data tier reads through SSM only', () => {
    for (const stage of Object.keys(CONFIGS)) {
      const [store, tier] = ['DataStore', 'DataTier'].map((name) => stacks.find((s) => s.stack.displayName === `${stage}/${name}`)!.stack);
      const types = (stack: StackArtifact) => new Set(resources(stack).map(([, r]) => r.Type));
      // What can fail a first create for reasons of its own (a migration, the Cognito domain, the triggers'
      // concurrency) is in the data tier stack, whose rollback has no deletion-protected cluster to delete.
      expect([...types(store)].filter((t) => /DBCluster$|Cognito|Custom::DatabaseMigrations/.test(t))).toEqual(['AWS::RDS::DBCluster']);
      expect([...types(tier)].filter((t) => /RDS::DB|SecretsManager::Secret$|KMS::Key|EC2::VPC$/.test(t))).toEqual([]);
      expect([...types(tier)]).toEqual(expect.arrayContaining(['Custom::DatabaseMigrations', 'AWS::Cognito::UserPoolDomain']));
      // No exports, no imports: the data tier reads SSM parameters the stateful stack publishes.
      const tierText = JSON.stringify(tier.template);
      expect(tierText).not.toContain('Fn::ImportValue');
      expect(JSON.stringify(store.template.Outputs ?? {})).not.toContain('Export');
      const read = [...tierText.matchAll(/\{\{resolve:ssm:([^}]+)\}\}/g)].map((m) => m[1]);
      const published = resources(store).filter(([, r]) => r.Type === 'AWS::SSM::Parameter').map(([, r]) => r.Properties.Name);
      expect(read.length).toBeGreaterThan(0);
      for (const name of read) expect(published).toContain(name);
    }
    // The data tier deploys after the stateful stack.
    const manifest = JSON.parse(fs.readFileSync(path.join(synth.outdir, 'assembly-Dev', 'manifest.json'), 'utf8'));
    const tierArtifact = Object.entries(manifest.artifacts as Record<string, any>).find(([, a]) => a.displayName === 'Dev/DataTier')![1];
    expect(tierArtifact.dependencies).toEqual(expect.arrayContaining([expect.stringMatching(/^DevDataStore/)]));
  });

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
    const all = stacks.flatMap(({ stack }) => resources(stack));
    const proxies = all.filter(([, r]) => r.Type === 'AWS::RDS::DBProxy');
    expect(proxies).toHaveLength(3);
    for (const [, proxy] of proxies) {
      expect(proxy.Properties.DefaultAuthScheme).toBe('IAM_AUTH');
      expect(proxy.Properties.Auth).toBeUndefined();
    }
    const migrations = all.filter(([, r]) => r.Type === 'Custom::DatabaseMigrations');
    expect(migrations).toHaveLength(3);
    for (const [, resource] of migrations) expect(resource.Properties.IamLogins).toEqual([{ Username: 'app_login', MemberOf: 'app_user' }]);
  });

  it('publishes what an application needs to connect with IAM: the proxy ARN and endpoint, and the user name', () => {
    for (const stage of Object.keys(CONFIGS)) {
      const parameters = stacks.filter((s) => s.stage === stage).flatMap(({ stack }) => resources(stack)).filter(([, r]) => r.Type === 'AWS::SSM::Parameter');
      const names = parameters.map(([, r]) => r.Properties.Name);
      for (const name of ['proxy-arn', 'proxy-endpoint', 'proxy-username']) {
        expect(names).toContain(`/saas/${CONFIGS[stage].name}/database/${name}`);
      }
      const username = parameters.find(([, r]) => r.Properties.Name.endsWith('/proxy-username'))![1];
      expect(username.Properties.Value).toBe('app_login');
    }
  });
});
