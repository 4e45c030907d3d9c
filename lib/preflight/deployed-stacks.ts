/**
 * The stage's stacks as they are deployed now, if they are: status and the physical id of each resource.
 * A re-deploy differs from a first deploy exactly there (a Cognito domain already held by the stage's own
 * pool, reservations already held by the stage's own functions). Read once per stack and shared by the checks.
 */
import { DescribeStacksCommand, ListStackResourcesCommand, type Stack } from '@aws-sdk/client-cloudformation';
import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { call } from './aws';

export class DeployedStacks {
  private readonly stacks = new Map<string, Promise<Stack | undefined>>();
  private readonly resources = new Map<string, Promise<ReadonlyMap<string, string>>>();

  constructor(private readonly cloudFormation: CloudFormationClient) {}

  /** The deployed stack named `stackName`, or undefined when there is none. */
  describe(stackName: string): Promise<Stack | undefined> {
    let stack = this.stacks.get(stackName);
    if (!stack) this.stacks.set(stackName, (stack = this.fetchStack(stackName)));
    return stack;
  }

  /**
   * Physical ids by logical id of the stack's live resources; empty when the stack does not exist.
   * Resources already deleted (a rolled-back create leaves them listed) are left out.
   */
  physicalIds(stackName: string): Promise<ReadonlyMap<string, string>> {
    let ids = this.resources.get(stackName);
    if (!ids) this.resources.set(stackName, (ids = this.fetchPhysicalIds(stackName)));
    return ids;
  }

  private async fetchStack(stackName: string): Promise<Stack | undefined> {
    try {
      const out = await call('cloudformation:DescribeStacks', () => this.cloudFormation.send(new DescribeStacksCommand({ StackName: stackName })));
      return out.Stacks?.[0];
    } catch (error) {
      if (isMissingStack(error)) return undefined;
      throw error;
    }
  }

  private async fetchPhysicalIds(stackName: string): Promise<ReadonlyMap<string, string>> {
    if (!(await this.describe(stackName))) return new Map();
    const ids = new Map<string, string>();
    let NextToken: string | undefined;
    do {
      const page = await call('cloudformation:ListStackResources', () =>
        this.cloudFormation.send(new ListStackResourcesCommand({ StackName: stackName, NextToken })),
      );
      for (const r of page.StackResourceSummaries ?? []) {
        if (r.LogicalResourceId && r.PhysicalResourceId && r.ResourceStatus !== 'DELETE_COMPLETE') {
          ids.set(r.LogicalResourceId, r.PhysicalResourceId);
        }
      }
      NextToken = page.NextToken;
    } while (NextToken);
    return ids;
  }
}

/** CloudFormation answers a ValidationError "Stack with id X does not exist" for a stack that is not there. */
export function isMissingStack(error: unknown): boolean {
  return (error as { name?: string }).name === 'ValidationError' && /does not exist/.test(String((error as Error).message));
}
