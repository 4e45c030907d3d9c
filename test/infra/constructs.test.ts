/**
 * The constructs on their own, each in a bare stack (no stage, no compliance checks): their defaults, the
 * members siblings use, and validation that names the property at fault. The real app's stages are tested
 * from their synthesized templates (stages, migrations, cognito-triggers, audit).
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- templates are untyped JSON */
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ApplicationProxy, ProxySecurityGroups } from '../../lib/constructs/application-proxy';
import { AuroraDatabase, type AuroraDatabaseProps } from '../../lib/constructs/aurora-database';
import { DatabaseMigrations } from '../../lib/constructs/database-migrations';
import { IsolatedFunctions } from '../../lib/constructs/isolated-functions';
import { Network } from '../../lib/constructs/network';

const ROOT = path.resolve(__dirname, '..', '..');

/** A stack with an isolated VPC, a key, the shared function settings and a database with the given props. */
function fixture(databaseProps: Partial<AuroraDatabaseProps> = {}) {
  const stack = new Stack(new App(), 'Test', { env: { region: 'eu-west-1' } });
  const vpc = new ec2.Vpc(stack, 'Vpc', {
    availabilityZones: ['eu-west-1a', 'eu-west-1b'],
    natGateways: 0,
    subnetConfiguration: [{ name: 'isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }],
  });
  const key = new kms.Key(stack, 'Key');
  const subnets = { subnetType: ec2.SubnetType.PRIVATE_ISOLATED };
  const functions = new IsolatedFunctions(stack, 'Functions', { vpc, subnets, encryptionKey: key, logRetention: logs.RetentionDays.ONE_YEAR });
  const database = () =>
    new AuroraDatabase(stack, 'Database', {
      namePrefix: 'app-test',
      secretNamePrefix: 'app/test',
      vpc,
      subnets,
      rotationSubnets: subnets,
      encryptionKey: key,
      ...databaseProps,
    });
  return { stack, vpc, functions, database };
}

describe('AuroraDatabase', () => {
  it('has defaults for what every stage shares, and keeps data on removal unless told otherwise', () => {
    const { stack, database } = fixture();
    const db = database();
    expect([db.databaseName, db.port]).toEqual(['saas', 5433]);
    const template = Template.fromStack(stack);
    template.hasResource('AWS::RDS::DBCluster', {
      DeletionPolicy: 'Snapshot',
      Properties: Match.objectLike({ DatabaseName: 'saas', Port: 5433, BackupRetentionPeriod: 7, DeletionProtection: true, StorageEncrypted: true }),
    });
    template.resourceCountIs('AWS::RDS::DBInstance', 1);
    // Kept on update and delete, but not by a failed create's rollback: the retry must find the names free.
    template.allResources('AWS::SecretsManager::Secret', { DeletionPolicy: 'RetainExceptOnCreate', UpdateReplacePolicy: 'Retain' });
    template.hasResourceProperties('AWS::SecretsManager::RotationSchedule', { RotationRules: { ScheduleExpression: 'rate(30 days)' } });
  });

  it('adds login roles, each with its own secret and multi-user rotation', () => {
    const { stack, database } = fixture();
    const db = database();
    const app = db.addLogin('AppLogin', { username: 'app_login', memberOf: 'app_user' });
    expect(db.logins).toEqual([app]);
    expect(app).toMatchObject({ username: 'app_login', memberOf: 'app_user' });
    const template = Template.fromStack(stack);
    const [secret] = Object.values(template.findResources('AWS::SecretsManager::Secret', { Properties: { Name: 'app/test/database/app-login' } })) as any[];
    expect(JSON.stringify(secret.Properties.GenerateSecretString.SecretStringTemplate)).toContain('\\"username\\":\\"app_login\\"');
    template.resourceCountIs('AWS::SecretsManager::RotationSchedule', 2);
    expect(() => db.addLogin('Again', { username: 'app_login', memberOf: 'app_user' })).toThrow(/addLogin: username "app_login" is already a login/);
    expect(() => db.addLogin('Bad', { username: 'App-Login', memberOf: 'app_user' })).toThrow(/addLogin: username must be a lower-case SQL identifier/);
  });

  it('adds IAM logins with no secret and no rotation, and grants rds-db:connect as exactly that user', () => {
    const { stack, database } = fixture();
    const db = database();
    const login = db.addIamLogin({ username: 'app_login', memberOf: 'app_user' });
    expect(db.iamLogins).toEqual([login]);
    expect(db.logins).toEqual([]);
    const role = new iam.Role(stack, 'Client', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    db.grantConnect(role, login);
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::SecretsManager::Secret', 1);
    const [policy] = Object.values(template.findResources('AWS::IAM::Policy')) as any[];
    const [statement] = policy.Properties.PolicyDocument.Statement;
    expect(statement.Action).toBe('rds-db:connect');
    // arn:…:rds-db:<region>:<account>:dbuser:<the cluster's resource id>/app_login: that one user of that one cluster.
    expect(JSON.stringify(statement.Resource)).toMatch(/":dbuser:",\{"Fn::GetAtt":\["DatabaseCluster[0-9A-F]{8}","DBClusterResourceId"\]\},"\/app_login"/);
    expect(() => db.addLogin('Again', { username: 'app_login', memberOf: 'app_user' })).toThrow(/addLogin: username "app_login" is already a login/);
    expect(() => db.grantConnect(role, { username: 'other', memberOf: 'app_user', authentication: 'iam' })).toThrow(/grantConnect: "other" is not an IAM login/);
  });

  it('opens PostgreSQL, on its literal port, to peers allowed through `connections`', () => {
    const { stack, vpc, database } = fixture({ port: 6543 });
    const db = database();
    const client = new ec2.SecurityGroup(stack, 'Client', { vpc, allowAllOutbound: false });
    db.connections.allowDefaultPortFrom(client, 'PostgreSQL from the test client');
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      IpProtocol: 'tcp',
      FromPort: 6543,
      ToPort: 6543,
      SourceSecurityGroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Client'), 'GroupId'] },
    });
    template.hasResourceProperties('AWS::EC2::SecurityGroupEgress', { FromPort: 6543, DestinationSecurityGroupId: Match.anyValue() });
  });

  it.each<[string, Partial<AuroraDatabaseProps>, RegExp]>([
    ['the PostgreSQL default port', { port: 5432 }, /: port must be an integer from 1150 to 65535 other than 5432, got 5432/],
    ['min above max capacity', { minCapacity: 8, maxCapacity: 4 }, /: minCapacity \(8 ACU\) must not be above maxCapacity \(4 ACU\)/],
    ['too many readers', { readers: 16 }, /: readers must be an integer from 0 to 15, got 16/],
    ['a backup retention over 35 days', { backupRetention: Duration.days(36) }, /: backupRetention must be 1 to 35 days, got 36/],
    ['a bad database name', { databaseName: 'My-DB' }, /: databaseName must be a lower-case PostgreSQL identifier/],
  ])('refuses %s, naming the property', (_what, props, message) => {
    expect(() => fixture(props).database()).toThrow(message);
  });
});

describe('ApplicationProxy', () => {
  it('connects as the IAM login it is given, end to end, reachable from its client group only', () => {
    const { stack, vpc, database } = fixture();
    const db = database();
    const login = db.addIamLogin({ username: 'app_login', memberOf: 'app_user' });
    const groups = new ProxySecurityGroups(stack, 'ProxyGroups', { vpc, database: db });
    const proxy = new ApplicationProxy(stack, 'Proxy', {
      proxyName: 'app-test', database: db, login, vpc, subnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED }, securityGroup: groups.securityGroup,
    });
    expect(proxy.username).toBe('app_login');
    const template = Template.fromStack(stack);
    // No secret: after a rotation with alternating users the secret would name app_login_clone (aws/aws-cdk#25568).
    template.hasResourceProperties('AWS::RDS::DBProxy', { RequireTLS: true, DefaultAuthScheme: 'IAM_AUTH', Auth: Match.absent() });
    // The proxy's role may log in to the cluster as that one user, and read no secret.
    const policies = Object.values(template.findResources('AWS::IAM::ManagedPolicy', { Properties: { Roles: [{ Ref: Match.stringLikeRegexp('^ProxyRole') }] } })) as any[];
    const statements = policies.flatMap((policy) => policy.Properties.PolicyDocument.Statement) as any[];
    expect(statements.map((st) => st.Action)).toEqual(['rds-db:connect']);
    expect(JSON.stringify(statements[0].Resource)).toContain('/app_login');
    // One rule into the cluster from the proxy's group, on the cluster's literal port; one into the proxy, from the clients.
    const ingress = Object.values(template.findResources('AWS::EC2::SecurityGroupIngress')) as any[];
    expect(ingress.filter((r) => r.Properties.SourceSecurityGroupId['Fn::GetAtt'][0].startsWith('ProxyGroupsSecurityGroup')).map((r) => r.Properties.FromPort)).toEqual([5433]);
    expect(ingress.filter((r) => r.Properties.SourceSecurityGroupId['Fn::GetAtt'][0].startsWith('ProxyGroupsApplicationClient')).map((r) => r.Properties.FromPort)).toEqual([5432]);
  });

  it('refuses a share of connections outside 1 to 100, naming the property', () => {
    const { stack, vpc, database } = fixture();
    const db = database();
    const login = db.addIamLogin({ username: 'app_login', memberOf: 'app_user' });
    const securityGroup = new ProxySecurityGroups(stack, 'ProxyGroups', { vpc, database: db }).securityGroup;
    expect(() => new ApplicationProxy(stack, 'Proxy', { proxyName: 'app-test', database: db, login, vpc, subnets: {}, securityGroup, maxConnectionsPercent: 0 }))
      .toThrow(/ApplicationProxy Test\/Proxy: maxConnectionsPercent must be an integer from 1 to 100, got 0/);
  });
});

describe('DatabaseMigrations', () => {
  const migrations = (deployId?: string, migrationsDirectory?: string) => {
    const { stack, vpc, functions, database } = fixture();
    const db = database();
    const login = db.addLogin('SyncLogin', { username: 'cognito_sync_login', memberOf: 'cognito_sync' });
    const iamLogin = db.addIamLogin({ username: 'app_login', memberOf: 'app_user' });
    const construct = new DatabaseMigrations(stack, 'Migrations', {
      database: db,
      functions,
      writerClientSecurityGroup: db.adminClientSecurityGroup,
      networkDependencies: [],
      logins: [login],
      iamLogins: [iamLogin],
      deployId,
      migrationsDirectory,
    });
    return { stack, vpc, construct };
  };

  it('beside its database, waits for the writer instance and what it calls, not the readers or the master rotation', () => {
    const { stack, vpc, functions, database } = fixture({ readers: 2 });
    const db = database();
    const endpoint = new ec2.SecurityGroup(stack, 'StandsForAnEndpoint', { vpc, allowAllOutbound: false });
    new DatabaseMigrations(stack, 'Migrations', {
      database: db, functions, writerClientSecurityGroup: db.adminClientSecurityGroup, networkDependencies: [endpoint],
    });
    const template = Template.fromStack(stack);
    const [resource] = Object.values(template.findResources('Custom::DatabaseMigrations')) as any[];
    expect(resource.DependsOn.map((id: string) => id.replace(/[0-9A-F]{8}$/, '')).sort()).toEqual(['DatabaseClusterWriter', 'StandsForAnEndpoint']);
  });

  it('passes the contract’s properties to its handler through the Provider framework', () => {
    const { stack, construct } = migrations('run-42');
    const template = Template.fromStack(stack);
    template.hasResourceProperties('Custom::DatabaseMigrations', {
      ServiceToken: { 'Fn::GetAtt': [Match.stringLikeRegexp('^MigrationsProviderframeworkonEvent'), 'Arn'] },
      Hash: construct.hash,
      DeployId: 'run-42',
      DatabaseName: 'saas',
      MasterSecretArn: { Ref: Match.stringLikeRegexp('^DatabaseClusterSecretAttachment') },
      AllowSeeds: 'false',
      Logins: [{ SecretArn: { Ref: Match.stringLikeRegexp('^DatabaseSyncLoginSecret') }, MemberOf: 'cognito_sync' }],
      IamLogins: [{ Username: 'app_login', MemberOf: 'app_user' }],
    });
    // The framework's function is set up like every function in the isolated subnets.
    const framework = Object.values(template.findResources('AWS::Lambda::Function')).find((f: any) =>
      /Provider/.test(JSON.stringify(f.Properties.Role)),
    ) as any;
    // No reservation unless the functions are given one (a new account's limit of 10 admits none).
    expect(framework.Properties.ReservedConcurrentExecutions).toBeUndefined();
    expect(framework.Properties).toMatchObject({ DeadLetterConfig: { TargetArn: { 'Fn::GetAtt': [expect.stringMatching(/^FunctionsDeadLetterQueue/), 'Arn'] } } });
    expect(framework.Properties.VpcConfig.SubnetIds).toHaveLength(2);
  });

  it('hashes the migrations it ships: a changed file changes the hash', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'migrations-'));
    fs.copyFileSync(path.join(ROOT, 'migrations', '001_extensions.sql'), path.join(dir, '001_extensions.sql'));
    const before = migrations(undefined, dir).construct.hash;
    expect(migrations(undefined, dir).construct.hash).toBe(before);
    fs.appendFileSync(path.join(dir, '001_extensions.sql'), '-- edited\n');
    expect(migrations(undefined, dir).construct.hash).not.toBe(before);
  });

  it('refuses bad props, naming the property', () => {
    const stack = new Stack(new App(), 'S');
    expect(() => new DatabaseMigrations(stack, 'M', { timeout: { toSeconds: () => 30, toHumanString: () => '30 seconds' } } as never))
      .toThrow(/timeout must be between 1 and 15 minutes, got 30 seconds/);
    expect(() => new DatabaseMigrations(stack, 'N', { deployId: 'has spaces' } as never)).toThrow(/deployId must be/);
  });
});

describe('Network', () => {
  it('closes the default security group through a custom resource behind the Provider framework', () => {
    const stack = new Stack(new App(), 'Test', { env: { region: 'eu-west-1' } });
    new Network(stack, 'Network', {
      cidr: '10.40.0.0/16',
      availabilityZones: ['eu-west-1a', 'eu-west-1b'],
      encryptionKey: new kms.Key(stack, 'Key'),
      flowLogRetention: logs.RetentionDays.ONE_YEAR,
      functionLogRetention: logs.RetentionDays.ONE_YEAR,
    });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('Custom::VpcRestrictDefaultSG', {
      ServiceToken: { 'Fn::GetAtt': [Match.stringLikeRegexp('^NetworkCloseDefaultSecurityGroupProviderframeworkonEvent'), 'Arn'] },
    });
    for (const service of ['ec2', 'lambda']) {
      template.hasResourceProperties('AWS::EC2::VPCEndpoint', { ServiceName: `com.amazonaws.eu-west-1.${service}`, PrivateDnsEnabled: true });
    }
  });

  it.each([
    ['a CIDR outside /16 to /22', { cidr: '10.0.0.0/8' }, /: cidr must be an IPv4 block between \/16 and \/22/],
    ['a single zone', { availabilityZones: ['eu-west-1a'] }, /: availabilityZones must name at least 2 distinct zones/],
  ])('refuses %s, naming the property', (_what, props, message) => {
    const stack = new Stack(new App(), 'Test', { env: { region: 'eu-west-1' } });
    const base = {
      cidr: '10.40.0.0/16',
      availabilityZones: ['eu-west-1a', 'eu-west-1b'],
      encryptionKey: new kms.Key(stack, 'Key'),
      flowLogRetention: logs.RetentionDays.ONE_YEAR,
      functionLogRetention: logs.RetentionDays.ONE_YEAR,
    };
    expect(() => new Network(stack, 'Network', { ...base, ...props })).toThrow(message);
  });
});
