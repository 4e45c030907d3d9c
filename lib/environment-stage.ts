/**
 * One deployable environment: a Stage holding the data tier stack, with the
 * account and region of its configuration.
 */
import { Stage, type StageProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { EnvironmentConfig } from './config';
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
  /** The data tier stack. */
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
    this.dataTier = new DataTierStack(this, 'DataTier', {
      config,
      stackName: `${config.appName}-${config.name}-data-tier`,
      description: `Data tier of ${config.appName} (${config.name}): Aurora PostgreSQL, secrets, RDS Proxy, Cognito`,
      terminationProtection: config.name === 'prod',
    });
  }
}
