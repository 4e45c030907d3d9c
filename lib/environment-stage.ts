/**
 * One deployable environment: a Stage holding its two stacks, the stateful
 * one (network, key, database, secrets) and the data tier deployed after it
 * (migrations, RDS Proxy, Cognito), with the account and region of its
 * configuration. `cdk deploy 'Dev/*'` deploys them in that order.
 */
import { Stage, type StageProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { EnvironmentConfig } from './config';
import { DataStoreStack } from './stacks/data-store-stack';
import { DataTierStack } from './stacks/data-tier-stack';

/** Properties of an {@link EnvironmentStage}. */
export interface EnvironmentStageProps extends StageProps {
  /** The environment's validated configuration. */
  readonly config: EnvironmentConfig;
}

/** Stage ids by environment, as the CLI shows them (`Dev/DataTier`). */
export const STAGE_IDS = { dev: 'Dev', staging: 'Staging', prod: 'Prod' } as const;

/** A Stage with the data tier of one environment. */
export class EnvironmentStage extends Stage {
  /** The stateful stack, deployed first. */
  readonly dataStore: DataStoreStack;
  /** The data tier stack, deployed after the stateful one and reading it through SSM parameters. */
  readonly dataTier: DataTierStack;

  constructor(scope: Construct, id: string, props: EnvironmentStageProps) {
    const { config } = props;
    super(scope, id, {
      ...props,
      env: {
        // Config first; then the CLI's account; otherwise the template stays account-agnostic.
        account: config.account ?? process.env.CDK_DEFAULT_ACCOUNT,
        region: config.region,
      },
    });
    this.dataStore = new DataStoreStack(this, 'DataStore', {
      config,
      stackName: `${config.appName}-${config.name}-data-store`,
      description: `Stateful data tier of ${config.appName} (${config.name}): network, key, Aurora PostgreSQL, secrets`,
      terminationProtection: config.name === 'prod',
    });
    this.dataTier = new DataTierStack(this, 'DataTier', {
      config,
      stackName: `${config.appName}-${config.name}-data-tier`,
      description: `Data tier of ${config.appName} (${config.name}): migrations, RDS Proxy, Cognito`,
      terminationProtection: config.name === 'prod',
    });
    // An ordering, not a reference: the data tier reads the stateful stack through SSM parameters only.
    this.dataTier.addStackDependency(this.dataStore, 'reads its SSM parameters, and migrates its database');
  }
}
