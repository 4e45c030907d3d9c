/**
 * The migration custom resource in the synthesized templates: function, provider, resource with its content
 * hash, timeouts, ordering and network wiring; and what changes the hash (any file the function runs) and what
 * does not.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- templates are untyped JSON */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { bundledFiles, contentHash } from '../../lib/constructs/content-hash';
import { resourcesOfType, synthesizedApp, type Synthesized } from './synth';

const ROOT = path.resolve(__dirname, '..', '..');
let synth: Synthesized;

beforeAll(async () => {
  synth = await synthesizedApp();
}, 600_000);

const only = (template: Record<string, any>, type: string) => {
  const found = Object.entries(resourcesOfType(template, type));
  expect(found).toHaveLength(1);
  return found[0] as [string, any];
};
const migrationFunction = (template: Record<string, any>) =>
  Object.entries(resourcesOfType(template, 'AWS::Lambda::Function')).find(([id]) => id.startsWith('MigrationsFunction')) as [string, any];

describe.each(['Dev', 'Prod'])('%s', (stage) => {
  const template = () => synth.templates[stage];

  test('a bundled Node.js function on arm64, in the isolated subnets, with no secret in its environment', () => {
    const [, fn] = migrationFunction(template());
    expect(fn.Properties).toMatchObject({ Runtime: 'nodejs24.x', Architectures: ['arm64'], Timeout: 600 });
    // Dev reserves nothing (a new account's limit of 10 admits no reservation); Prod one.
    expect(fn.Properties.ReservedConcurrentExecutions).toBe(stage === 'Prod' ? 1 : undefined);
    expect(fn.Properties.VpcConfig.SubnetIds.length).toBeGreaterThan(0);
    expect(fn.Properties.Environment.Variables).toEqual({ NODE_EXTRA_CA_CERTS: '/var/runtime/ca-cert.pem', NODE_OPTIONS: '--enable-source-maps' });
  });

  test('the custom resource carries the content hash, no deploy id unless CI passes one, and a service timeout just above the function’s', () => {
    const [, resource] = only(template(), 'Custom::DatabaseMigrations');
    expect(resource.Properties.Hash).toMatch(/^[0-9a-f]{64}$/);
    expect(resource.Properties.DeployId).toBeUndefined();
    expect(Number(resource.Properties.ServiceTimeout)).toBe(600 + 120);
    expect(resource.Properties.AllowSeeds).toBe(stage === 'Prod' ? 'false' : 'true');
    expect(resource.Properties.Logins.map((l: any) => l.MemberOf)).toEqual(['cognito_sync', 'migration_reader']);
    // The application login authenticates with IAM through the proxy: created without a password, given rds_iam.
    expect(resource.Properties.IamLogins).toEqual([{ Username: 'app_login', MemberOf: 'app_user' }]);
    expect(resource.Properties.ServiceToken['Fn::GetAtt'][0]).toMatch(/^MigrationsProviderframeworkonEvent/);
  });

  test('it runs after the whole stateful stack (writer, endpoints, secrets) and waits for nothing else', () => {
    const [, resource] = only(template(), 'Custom::DatabaseMigrations');
    // Its stack deploys after the stateful one, which holds the cluster, the endpoints and the secrets; within its
    // own stack nothing holds it up. (In one stack, it waits for the writer only: test/infra/constructs.test.ts.)
    expect(resource.DependsOn ?? []).toEqual([]);
    const tier = synth.stageStacks[stage].find((s) => s.displayName === `${stage}/DataTier`)!;
    expect(Object.keys(tier.template.Resources ?? {})).toContain(Object.keys(resourcesOfType(template(), 'Custom::DatabaseMigrations'))[0]);
    // The login rotations of the stateful stack wait a whole interval before their first rotation.
    for (const rotation of Object.values(resourcesOfType(template(), 'AWS::SecretsManager::RotationSchedule')) as any[]) {
      expect(rotation.Properties.RotateImmediatelyOnUpdate).toBe(false);
    }
  });

  test('it runs in the function subnets, where the endpoints it needs sit', () => {
    const [, fn] = migrationFunction(template());
    const name = stage.toLowerCase();
    // The data tier stack names the subnets by the parameters the stateful stack publishes them under.
    const parameters = Object.values(resourcesOfType(template(), 'AWS::SSM::Parameter')) as any[];
    const published = (reference: string) => parameters.find((p) => `{{resolve:ssm:${p.Properties.Name}}}` === reference)?.Properties.Value;
    expect(fn.Properties.VpcConfig.SubnetIds.every((id: string) => id.startsWith(`{{resolve:ssm:/saas/${name}/network/functions-subnet-`))).toBe(true);
    const subnets = fn.Properties.VpcConfig.SubnetIds.map(published);
    const endpoints = resourcesOfType(template(), 'AWS::EC2::VPCEndpoint');
    const services = Object.values(endpoints).map((e: any) => JSON.stringify(e.Properties.ServiceName));
    expect(services.some((s) => s.includes('secretsmanager'))).toBe(true);
    expect(services.some((s) => s.includes('.lambda'))).toBe(true);
    expect(services.some((s) => s.includes('.s3'))).toBe(true);
    const sorted = (list: any[]) => JSON.stringify([...list].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))));
    for (const e of Object.values(endpoints) as any[]) {
      if (e.Properties.VpcEndpointType === 'Interface') expect(sorted(e.Properties.SubnetIds)).toBe(sorted(subnets));
    }
  });

  test('it reads exactly the master and login secrets', () => {
    const [fnId] = migrationFunction(template());
    const role = fnId.replace(/Function[0-9A-F]{8}$/, 'HandlerRole');
    const policies = Object.entries(resourcesOfType(template(), 'AWS::IAM::ManagedPolicy')).filter(([pid]) => pid.startsWith(role));
    const statements = policies.flatMap(([, p]) => p.Properties.PolicyDocument.Statement);
    const secretRead = statements.find((s: any) => ([] as string[]).concat(s.Action).includes('secretsmanager:GetSecretValue'));
    const name = stage.toLowerCase();
    expect([...secretRead.Resource].sort()).toEqual([
      `{{resolve:ssm:/saas/${name}/database/ci-secret-arn}}`,
      `{{resolve:ssm:/saas/${name}/database/cognito-sync-secret-arn}}`,
      `{{resolve:ssm:/saas/${name}/database/master-secret-arn}}`,
    ]);
    // Those parameters hold the stateful stack's master and login secrets.
    const parameters = Object.values(resourcesOfType(template(), 'AWS::SSM::Parameter')) as any[];
    const value = (suffix: string) => JSON.stringify(parameters.find((p) => p.Properties.Name === `/saas/${name}/database/${suffix}`)!.Properties.Value);
    expect(value('master-secret-arn')).toMatch(/"Ref":"DatabaseClusterSecretAttachment/);
    expect(value('cognito-sync-secret-arn')).toMatch(/"Ref":"DatabaseCognitoSyncLoginSecret/);
    expect(value('ci-secret-arn')).toMatch(/"Ref":"DatabaseCiLoginSecret/);
  });
});

test('the prod bundle ships no seeds; the dev bundle ships them', () => {
  /** The directory of the function's asset (CDK stages write assets beside their own assembly). */
  const assetDir = (stage: string) => {
    const [, fn] = migrationFunction(synth.templates[stage]);
    const name = `asset.${String(fn.Properties.Code.S3Key).replace(/\.zip$/, '')}`;
    const candidates = [synth.outdir, ...fs.readdirSync(synth.outdir).filter((d) => d.startsWith('assembly-')).map((d) => path.join(synth.outdir, d))];
    const found = candidates.map((dir) => path.join(dir, name)).find((dir) => fs.existsSync(dir));
    if (!found) throw new Error(`no asset ${name} under ${synth.outdir}`);
    return found;
  };
  const dev = assetDir('Dev');
  const prod = assetDir('Prod');
  expect(fs.readdirSync(path.join(dev, 'migrations')).sort()).toEqual(fs.readdirSync(path.join(ROOT, 'migrations')).sort());
  expect(fs.readdirSync(path.join(dev, 'seeds')).sort()).toEqual(fs.readdirSync(path.join(ROOT, 'seeds')).sort());
  expect(fs.existsSync(path.join(prod, 'seeds'))).toBe(false);
});

describe('the content hash', () => {
  const project = () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hash-'));
    for (const sub of ['migrations', 'seeds', 'runner', 'elsewhere']) fs.mkdirSync(path.join(dir, sub));
    fs.writeFileSync(path.join(dir, 'migrations', '001_a.sql'), 'CREATE TABLE a (id int);\n');
    fs.writeFileSync(path.join(dir, 'seeds', '001_s.sql'), 'INSERT INTO a VALUES (1);\n');
    fs.writeFileSync(path.join(dir, 'runner', 'index.ts'), 'export const x = 1;\n');
    fs.writeFileSync(path.join(dir, 'elsewhere', 'README.md'), 'docs\n');
    return dir;
  };
  const hashOf = (dir: string) => contentHash(dir, ['migrations', 'seeds', 'runner'].map((d) => path.join(dir, d)));

  test('changes when a migration, a seed or the runner changes', () => {
    const dir = project();
    const before = hashOf(dir);
    fs.appendFileSync(path.join(dir, 'migrations', '001_a.sql'), '-- comment\n');
    const afterMigration = hashOf(dir);
    expect(afterMigration).not.toBe(before);
    fs.writeFileSync(path.join(dir, 'migrations', '002_b.sql'), 'SELECT 1;\n');
    expect(hashOf(dir)).not.toBe(afterMigration);
    const beforeSeed = hashOf(dir);
    fs.appendFileSync(path.join(dir, 'seeds', '001_s.sql'), '\n');
    expect(hashOf(dir)).not.toBe(beforeSeed);
    const beforeRunner = hashOf(dir);
    fs.appendFileSync(path.join(dir, 'runner', 'index.ts'), '\n');
    expect(hashOf(dir)).not.toBe(beforeRunner);
  });

  test('does not change for anything else, nor for CRLF line endings or a BOM', () => {
    const dir = project();
    const before = hashOf(dir);
    fs.appendFileSync(path.join(dir, 'elsewhere', 'README.md'), 'more docs\n');
    fs.writeFileSync(path.join(dir, 'migrations', '001_a.sql'), '\uFEFFCREATE TABLE a (id int);\r\n');
    expect(hashOf(dir)).toBe(before);
  });

  test('the synthesized hash covers every file the function’s bundle is made of, lambda/shared included, and the SQL it ships (seeds only where they run)', () => {
    const files = bundledFiles(ROOT, path.join(ROOT, 'lambda', 'migrate-handler', 'index.ts'), ['@aws-sdk/*', 'pg-native']);
    const names = files.map((f) => path.relative(ROOT, f).split(path.sep).join('/'));
    expect(names).toEqual(expect.arrayContaining(['lambda/migrate-handler/handler.ts', 'lambda/migrator/migrate.ts', 'node_modules/pg/lib/client.js']));
    expect(names.filter((n) => n.startsWith('lambda/shared/')).length).toBeGreaterThan(0);
    expect(names.filter((n) => n.startsWith('lib/'))).toEqual([]);
    const [, resource] = only(synth.templates.Dev, 'Custom::DatabaseMigrations');
    expect(resource.Properties.Hash).toBe(contentHash(ROOT, [...files, path.join(ROOT, 'migrations'), path.join(ROOT, 'seeds')]));
    const [, prodResource] = only(synth.templates.Prod, 'Custom::DatabaseMigrations');
    expect(prodResource.Properties.Hash).toBe(contentHash(ROOT, [...files, path.join(ROOT, 'migrations')]));
  });
});
