/**
 * An AWS Backup plan for the cluster whose daily recovery points are copied out of reach of what could take
 * Aurora's own backups with it: another region's vault (a regional outage, a region-wide mistake) and/or another
 * account's vault (a lost or compromised account, a deleted key: the copy is re-encrypted with the destination
 * vault's key). Aurora's continuous backups stay as they are; this adds copies, never replaces them.
 */
import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import * as backup from 'aws-cdk-lib/aws-backup';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as rds from 'aws-cdk-lib/aws-rds';
import { Construct } from 'constructs';
import { acknowledge } from '../compliance/acknowledge';
import { ManagedPolicyRole } from './managed-policy-role';

/** A vault the daily recovery point is copied to. */
export interface BackupCopy {
  /** ARN of the destination vault: `arn:aws:backup:<region>:<account>:backup-vault:<name>`. */
  readonly vaultArn: string;
  /** Days the copy is kept there. */
  readonly retentionDays: number;
}

/** Properties of a {@link DatabaseBackupPlan}. */
export interface DatabaseBackupPlanProps {
  /** `<app>-<env>`: names the vault and the plan. */
  readonly namePrefix: string;
  /** The cluster backed up. */
  readonly cluster: rds.IDatabaseCluster;
  /** The cluster's key: the local vault's too, and shared with the accounts of cross-account copies. */
  readonly encryptionKey: kms.Key;
  /** Days the local recovery points are kept. */
  readonly retentionDays: number;
  /** Where each recovery point is copied (at least one). */
  readonly copies: readonly BackupCopy[];
  /** What happens to the local vault when it leaves the stack. */
  readonly removalPolicy: RemovalPolicy;
}

const VAULT_ARN = /^arn:aws[a-z-]*:backup:([a-z0-9-]+):(\d{12}):backup-vault:[A-Za-z0-9_-]{2,50}$/;

/** The cluster's AWS Backup plan with its copies to other regions or accounts. */
export class DatabaseBackupPlan extends Construct {
  /** The local vault. */
  readonly vault: backup.BackupVault;
  /** The plan. */
  readonly plan: backup.BackupPlan;

  constructor(scope: Construct, id: string, props: DatabaseBackupPlanProps) {
    super(scope, id);
    if (props.copies.length === 0) throw new Error(`DatabaseBackupPlan ${this.node.path}: copies must name at least one vault`);
    const accounts = props.copies.map((copy, i) => {
      const match = VAULT_ARN.exec(copy.vaultArn);
      if (!match) throw new Error(`DatabaseBackupPlan ${this.node.path}: copies[${i}].vaultArn must be a backup vault ARN, got "${copy.vaultArn}"`);
      if (!Number.isInteger(copy.retentionDays) || copy.retentionDays < 1) {
        throw new Error(`DatabaseBackupPlan ${this.node.path}: copies[${i}].retentionDays must be a positive integer, got ${copy.retentionDays}`);
      }
      return match[2];
    });

    this.vault = new backup.BackupVault(this, 'Vault', {
      backupVaultName: `${props.namePrefix}-backups`,
      encryptionKey: props.encryptionKey,
      removalPolicy: props.removalPolicy,
    });
    this.plan = new backup.BackupPlan(this, 'Plan', { backupPlanName: props.namePrefix, backupVault: this.vault });
    this.plan.addRule(new backup.BackupPlanRule({
      ruleName: 'DailyWithCopies',
      // After Aurora's own backup window (02:00-03:00 UTC in every stage).
      scheduleExpression: events.Schedule.cron({ hour: '4', minute: '0' }),
      startWindow: Duration.hours(1),
      completionWindow: Duration.hours(4),
      deleteAfter: Duration.days(props.retentionDays),
      copyActions: props.copies.map((copy, i) => ({
        destinationBackupVault: backup.BackupVault.fromBackupVaultArn(this, `CopyVault${i + 1}`, copy.vaultArn),
        deleteAfter: Duration.days(copy.retentionDays),
      })),
    }));

    const role = new ManagedPolicyRole(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('backup.amazonaws.com'),
      description: `AWS Backup: snapshots of ${props.namePrefix} and their copies`,
      managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AWSBackupServiceRolePolicyForBackup')],
    });
    acknowledge(role, 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup]',
      'AWS Backup needs the permissions AWS keeps in its service role policy for every resource type it snapshots and copies ' +
        '(RDS snapshot, copy, tag and describe calls among them); AWS maintains that list as the service changes.');
    this.plan.addSelection('Cluster', { resources: [backup.BackupResource.fromArn(props.cluster.clusterArn)], role });
    // The key of the snapshots, through RDS and AWS Backup only.
    const region = props.encryptionKey.stack.region;
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['kms:Decrypt', 'kms:DescribeKey', 'kms:CreateGrant', 'kms:GenerateDataKey', 'kms:ReEncryptFrom', 'kms:ReEncryptTo'],
      resources: [props.encryptionKey.keyArn],
      conditions: { StringEquals: { 'kms:ViaService': [`rds.${region}.amazonaws.com`, `backup.${region}.amazonaws.com`] } },
    }));

    // Another account copies a snapshot encrypted with this key only if it may use the key.
    const otherAccounts = [...new Set(accounts)].filter((a) => a !== props.encryptionKey.stack.account);
    if (otherAccounts.length > 0) {
      props.encryptionKey.addToResourcePolicy(new iam.PolicyStatement({
        sid: 'AllowBackupCopyAccounts',
        principals: otherAccounts.map((a) => new iam.AccountPrincipal(a)),
        actions: ['kms:Decrypt', 'kms:DescribeKey', 'kms:CreateGrant', 'kms:GenerateDataKey', 'kms:ReEncryptFrom', 'kms:ReEncryptTo'],
        resources: ['*'],
        // Through AWS Backup and RDS only; in any region, since the copy runs between the two vaults' regions.
        conditions: { StringLike: { 'kms:ViaService': ['backup.*.amazonaws.com', 'rds.*.amazonaws.com'] } },
      }));
    }
  }
}
