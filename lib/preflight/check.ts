/**
 * What a check is and what it reports: one line per check, PASS, FAIL or SKIP, with the numbers it judged by
 * and, unless it passed, the reason.
 */
import type { StageStack } from './assembly';
import type { PreflightClients } from './aws';
import type { DeployedStacks } from './deployed-stacks';
import type { DeployTarget, StageFacts } from './facts';

export type CheckStatus = 'PASS' | 'FAIL' | 'SKIP';

/** The outcome of one check. */
export interface CheckResult {
  /** What was checked, `lambda concurrency`. */
  readonly name: string;
  readonly status: CheckStatus;
  /** The figures judged, `account limit 10, unreserved minimum 10, stage reserves 43`. */
  readonly facts: string;
  /** Why it failed or was skipped, and what to do. */
  readonly reason?: string;
}

/** What every check gets: the stage, where it goes, and the clients to ask. */
export interface CheckContext {
  readonly stage: string;
  readonly stacks: readonly StageStack[];
  readonly facts: StageFacts;
  readonly target: DeployTarget;
  /** The account of the credentials (`sts:GetCallerIdentity`). */
  readonly callerAccount: string;
  readonly clients: PreflightClients;
  readonly deployed: DeployedStacks;
  /** Name of the CDK bootstrap stack (`CDKToolkit` unless bootstrapped with `--toolkit-stack-name`). */
  readonly toolkitStackName: string;
}

/** A check: its name (for a failure before it could report) and how to run it. One check may report several lines. */
export interface Check {
  readonly name: string;
  run(context: CheckContext): Promise<CheckResult | CheckResult[]>;
}

export const pass = (name: string, facts: string): CheckResult => ({ name, status: 'PASS', facts });
export const fail = (name: string, facts: string, reason: string): CheckResult => ({ name, status: 'FAIL', facts, reason });
export const skip = (name: string, facts: string, reason: string): CheckResult => ({ name, status: 'SKIP', facts, reason });

/** `name: facts -> STATUS[: reason]` */
export function formatResult(result: CheckResult): string {
  return `${result.name}: ${result.facts} -> ${result.status}${result.reason ? `: ${result.reason}` : ''}`;
}
