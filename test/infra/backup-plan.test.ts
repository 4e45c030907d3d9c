/**
 * Prod's backups survive a lost key, region or account (issue 21, deliverable 4): an AWS Backup plan for the
 * cluster whose daily recovery point is copied to the configured vaults, read from the real synthesized
 * templates; the configuration that requires it in prod; the construct's checks. (The alarm on the data key's
 * scheduled deletion is in alarms.test.ts.)
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- templates are untyped JSON read back from cdk.out */
import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as rds from 'aws-cdk-lib/aws-rds';
import { ConfigError, loadEnvironmentConfig } from '../../lib/config';
import { DatabaseBackupPlan } from '../../lib/constructs/database-backup-plan';
import { resourcesOfType, synthesizedApp, type Synthesized } from './synth';

let synth: Synthesized;
beforeAll(async () => {
  synth = await synthesizedApp();
}, 600_000);

const one = (template: any, type: string): [string, any] => {
  const found = Object.entries(resourcesOfType(template, type));
  expect(found).toHaveLength(1);
  return found[0];
};

describe('the backups of Prod', () => {
  const config = loadEnvironmentConfig('prod');

  it('copy a daily recovery point of the cluster to each configured vault, outside the stage’s region or account', () => {
    const t = synth.templates.Prod;
    const [vaultId, vault] = one(t, 'AWS::Backup::BackupVault');
    const [, plan] = one(t, 'AWS::Backup::BackupPlan');
    const [, selection] = one(t, 'AWS::Backup::BackupSelection');
    const [clusterId] = one(t, 'AWS::RDS::DBCluster');
    expect(vault.DeletionPolicy).toBe('RetainExceptOnCreate');
    expect(vault.Properties.EncryptionKeyArn['Fn::GetAtt'][0]).toMatch(/^DataKey/);
    const [rule] = plan.Properties.BackupPlan.BackupPlanRule;
    expect(rule.TargetBackupVault).toEqual({ 'Fn::GetAtt': [vaultId, 'BackupVaultName'] });
    expect(rule.Lifecycle.DeleteAfterDays).toBe(config.database.backupRetentionDays);
    expect(rule.CopyActions).toEqual(config.database.backupCopies!.map((c) => ({ DestinationBackupVaultArn: c.vaultArn, Lifecycle: { DeleteAfterDays: c.retentionDays } })));
    expect(rule.CopyActions.length).toBeGreaterThan(0);
    expect(JSON.stringify(selection.Properties.BackupSelection.Resources)).toContain(`{"Ref":"${clusterId}"}`);
  });

  it('shares the data key with the accounts it copies to, through AWS Backup and RDS only', () => {
    const [, key] = Object.entries(resourcesOfType(synth.templates.Prod, 'AWS::KMS::Key')).find(([id]) => id.startsWith('DataKey'))! as [string, any];
    const statement = key.Properties.KeyPolicy.Statement.find((s: any) => s.Sid === 'AllowBackupCopyAccounts');
    const accounts = [...new Set(config.database.backupCopies!.map((c) => c.vaultArn.split(':')[4]))];
    expect([statement.Principal.AWS].flat()).toEqual(accounts.map((a) => `arn:aws:iam::${a}:root`));
    expect(statement.Condition).toEqual({ StringLike: { 'kms:ViaService': ['backup.*.amazonaws.com', 'rds.*.amazonaws.com'] } });
  });

  it.each(['Dev', 'Staging'])('%s has no backup plan (none configured): Aurora’s continuous backups only', (stage) => {
    expect(Object.keys(resourcesOfType(synth.templates[stage], 'AWS::Backup::BackupPlan'))).toEqual([]);
  });
});

describe('the backup configuration', () => {
  const issues = (overrides: Record<string, unknown>) => {
    try {
      loadEnvironmentConfig('prod', overrides);
    } catch (error) {
      if (error instanceof ConfigError) return error.issues;
      throw error;
    }
    return [];
  };

  it('requires prod to copy to another region or account, naming the field', () => {
    expect(issues({ database: { backupCopies: [] } })).toEqual([{ path: 'database.backupCopies', message: expect.stringMatching(/prod needs a copy to another region or account/) }]);
    expect(issues({ account: '123456789012', database: { backupCopies: [{ vaultArn: 'arn:aws:backup:eu-west-1:123456789012:backup-vault:same', retentionDays: 30 }] } }))
      .toEqual([{ path: 'database.backupCopies', message: 'every copy stays in eu-west-1 of account 123456789012: copy to another region or account' }]);
    expect(issues({ database: { backupCopies: [{ vaultArn: 'arn:aws:backup:eu-central-1:123456789012:backup-vault:other-region', retentionDays: 30 }] } })).toEqual([]);
    expect(issues({ database: { backupCopies: [{ vaultArn: 'saas-prod-copies', retentionDays: 30 }] } }).map((i) => i.path)).toEqual(['database.backupCopies.0.vaultArn']);
  });

  it('DatabaseBackupPlan refuses no copy or a malformed vault, naming the property', () => {
    const stack = new Stack(new App(), 'S', { env: { region: 'eu-west-1' } });
    const props = {
      namePrefix: 'saas-test',
      cluster: rds.DatabaseCluster.fromDatabaseClusterAttributes(stack, 'C', { clusterIdentifier: 'c' }),
      encryptionKey: new kms.Key(stack, 'K'),
      retentionDays: 35,
      removalPolicy: RemovalPolicy.RETAIN,
    };
    expect(() => new DatabaseBackupPlan(stack, 'A', { ...props, copies: [] })).toThrow(/copies must name at least one vault/);
    expect(() => new DatabaseBackupPlan(stack, 'B', { ...props, copies: [{ vaultArn: 'arn:aws:s3:::bucket', retentionDays: 7 }] })).toThrow(/copies\[0\]\.vaultArn must be a backup vault ARN/);
  });
});
