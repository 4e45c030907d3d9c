/**
 * The Aurora database of the stateful stack, as the stack deployed after it sees it: attributes read from SSM
 * parameters at deploy time (never CloudFormation exports: an export blocks every later update that would change
 * it), and the same grants {@link AuroraDatabase} gives. Nothing here creates a resource.
 */
import { ArnFormat, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { AURORA_ENGINE_VERSION, type IamLoginRole, type IAuroraDatabase, type SecretLogin } from './aurora-database';

/** What the stack after the stateful one needs to know of its database. */
export interface ImportedAuroraDatabaseProps {
  /** The cluster identifier (a name the configuration fixes, `<app>-<env>`). */
  readonly clusterIdentifier: string;
  /** The cluster's resource id (`cluster-…`), which `rds-db:connect` names. */
  readonly clusterResourceIdentifier: string;
  /** The cluster's port. */
  readonly port: number;
  /** The database name. */
  readonly databaseName: string;
  /** The complete ARN of the master user's secret. */
  readonly masterSecretArn: string;
  /** The key the secrets are encrypted with. */
  readonly encryptionKey: kms.IKey;
}

/** The database of the stateful stack, imported. */
export class ImportedAuroraDatabase extends Construct implements IAuroraDatabase {
  readonly cluster: rds.IDatabaseCluster;
  readonly masterSecret: secretsmanager.ISecret;
  readonly databaseName: string;
  readonly port: number;
  /** No rule is added here: the rules into the cluster live beside it, in the stateful stack. */
  readonly connections: ec2.Connections;

  private readonly encryptionKey: kms.IKey;

  constructor(scope: Construct, id: string, props: ImportedAuroraDatabaseProps) {
    super(scope, id);
    this.databaseName = props.databaseName;
    this.port = props.port;
    this.encryptionKey = props.encryptionKey;
    this.cluster = rds.DatabaseCluster.fromDatabaseClusterAttributes(this, 'Cluster', {
      clusterIdentifier: props.clusterIdentifier,
      clusterResourceIdentifier: props.clusterResourceIdentifier,
      engine: rds.DatabaseClusterEngine.auroraPostgres({ version: AURORA_ENGINE_VERSION }),
      port: props.port,
    });
    this.connections = new ec2.Connections({ defaultPort: ec2.Port.tcp(props.port) });
    this.masterSecret = this.importSecret('MasterSecret', props.masterSecretArn);
  }

  /**
   * A secret of the stateful stack by its complete ARN, whose `grantRead` also grants decryption with its key,
   * through Secrets Manager only (`kms:ViaService`). The library grants nothing on a key imported by a deploy-time
   * ARN (its account is unknown at synth), so the statement is written here.
   */
  importSecret(id: string, secretArn: string): secretsmanager.ISecret {
    const secret = secretsmanager.Secret.fromSecretAttributes(this, id, { secretCompleteArn: secretArn });
    const key = this.encryptionKey;
    const viaService = `secretsmanager.${Stack.of(this).region}.amazonaws.com`;
    return Object.assign(Object.create(secret) as secretsmanager.ISecret, {
      grantRead(grantee: iam.IGrantable, versionStages?: string[]): iam.Grant {
        grantee.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement({
          actions: ['kms:Decrypt'],
          resources: [key.keyArn],
          conditions: { StringEquals: { 'kms:ViaService': viaService } },
        }));
        return secret.grantRead(grantee, versionStages);
      },
    });
  }

  grantDataApiAccess(
    grantee: iam.IGrantable,
    login: SecretLogin,
    actions: readonly string[] = ['rds-data:ExecuteStatement', 'rds-data:BatchExecuteStatement', 'rds-data:BeginTransaction', 'rds-data:CommitTransaction', 'rds-data:RollbackTransaction'],
  ): iam.Grant {
    login.secret.grantRead(grantee);
    const clusterArn = Stack.of(this).formatArn({ service: 'rds', resource: 'cluster', resourceName: this.cluster.clusterIdentifier, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    return iam.Grant.addToPrincipal({ grantee, actions: [...actions], resourceArns: [clusterArn] });
  }

  grantConnect(grantee: iam.IGrantable, login: IamLoginRole): iam.Grant {
    return this.cluster.grantConnect(grantee, login.username);
  }
}
