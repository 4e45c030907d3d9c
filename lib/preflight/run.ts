/**
 * Runs the preflight of one stage: who the credentials are, the stage synthesized for that account, the
 * facts of its templates, then every check, each on its own (a denied or failing call fails that check
 * only). Missing credentials stop the run: nothing could be checked.
 */
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import type { StageStack } from './assembly';
import { AccessDeniedError, call, CredentialsError, firstLine, type PreflightClients } from './aws';
import { type Check, type CheckContext, type CheckResult, fail } from './check';
import { auroraEngine } from './checks/aurora-engine';
import { cdkBootstrap } from './checks/cdk-bootstrap';
import { ciAccess } from './checks/ci-access';
import { cognitoDomain } from './checks/cognito-domain';
import { deployTarget } from './checks/deploy-target';
import { lambdaConcurrency } from './checks/lambda-concurrency';
import { sesIdentity } from './checks/ses-identity';
import { stackState } from './checks/stack-state';
import { DeployedStacks } from './deployed-stacks';
import { type DeployTarget, stageFacts } from './facts';

/** Every check, in the order the report lists them. */
export const CHECKS: readonly Check[] = [deployTarget, stackState, cdkBootstrap, lambdaConcurrency, cognitoDomain, auroraEngine, sesIdentity, ciAccess];

/** How to run a preflight; everything that touches AWS or the disk is passed in. */
export interface PreflightOptions {
  /** The stage (environment) name: dev, staging, prod. */
  readonly stage: string;
  /** The stage's region from its configuration: where the credentials are asked who they are. */
  readonly region: string;
  /** The clients of a region. */
  readonly clientsFor: (region: string) => PreflightClients;
  /** The stage's stacks, synthesized for the credentials' account (as `cdk deploy` sets CDK_DEFAULT_ACCOUNT). */
  readonly synthesize: (stage: string, env: DeployTarget) => StageStack[];
  /** @default 'CDKToolkit' */
  readonly toolkitStackName?: string;
  /** @default CHECKS */
  readonly checks?: readonly Check[];
}

/** The preflight's outcome. */
export interface PreflightReport {
  readonly stage: string;
  readonly target: DeployTarget;
  readonly stacks: readonly StageStack[];
  readonly results: readonly CheckResult[];
  /** True when no check failed. */
  readonly passed: boolean;
}

/**
 * Runs the preflight of `options.stage`.
 * @throws CredentialsError when there are no usable credentials; the synth's error when the stage cannot be synthesized
 */
export async function preflight(options: PreflightOptions): Promise<PreflightReport> {
  let clients = options.clientsFor(options.region);
  const identity = await call('sts:GetCallerIdentity', () => clients.sts.send(new GetCallerIdentityCommand({})));
  const callerAccount = identity.Account;
  if (!callerAccount) throw new CredentialsError('sts:GetCallerIdentity answered without an account');

  const stacks = options.synthesize(options.stage, { account: callerAccount, region: options.region });
  const regions = [...new Set(stacks.map((s) => s.region ?? options.region))];
  if (regions.length > 1) throw new Error(`stage ${options.stage} spans regions ${regions.join(', ')}; the preflight checks one region`);
  const target: DeployTarget = { account: stacks.find((s) => s.account)?.account ?? callerAccount, region: regions[0] };
  if (target.region !== clients.region) clients = options.clientsFor(target.region);

  const context: CheckContext = {
    stage: options.stage,
    stacks,
    facts: stageFacts(stacks, target),
    target,
    callerAccount,
    clients,
    deployed: new DeployedStacks(clients.cloudFormation),
    toolkitStackName: options.toolkitStackName ?? 'CDKToolkit',
  };
  const outcomes = await Promise.all((options.checks ?? CHECKS).map((check) => runCheck(check, context)));
  const results = outcomes.flat();
  return { stage: options.stage, target, stacks, results, passed: results.every((r) => r.status !== 'FAIL') };
}

/** One check, its errors turned into its own failure; only missing credentials escape. */
async function runCheck(check: Check, context: CheckContext): Promise<CheckResult[]> {
  try {
    return [await check.run(context)].flat();
  } catch (error) {
    if (error instanceof CredentialsError) throw error;
    if (error instanceof AccessDeniedError) {
      return [fail(check.name, 'not checked', `${error.message}; grant it (the preflight policy in docs/operations.md)`)];
    }
    return [fail(check.name, 'not checked', firstLine(error))];
  }
}
