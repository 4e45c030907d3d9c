/**
 * Stack state: can each stack of the stage be deployed now? A stack in a failed state (a create whose
 * rollback failed, an update rollback that failed) or with an operation in progress refuses every deploy
 * until someone acts; the line says what to do. No stack yet is a first deploy.
 */
import { type Check, type CheckContext, type CheckResult, fail, pass } from '../check';

const NAME = 'stack state';

/** What to do about a stack in `status`, or undefined when a deploy can proceed. */
export function blockedStackAdvice(stackName: string, status: string): string | undefined {
  if (status.endsWith('_IN_PROGRESS') && status !== 'REVIEW_IN_PROGRESS') return 'another operation is running on it: wait for it to end';
  if (status === 'UPDATE_ROLLBACK_FAILED') {
    return `fix the cause, then: aws cloudformation continue-update-rollback --stack-name ${stackName}`;
  }
  if (status === 'ROLLBACK_FAILED' || status === 'DELETE_FAILED' || status === 'IMPORT_ROLLBACK_FAILED') {
    return `a failed create cannot be updated: delete it (aws cloudformation delete-stack --stack-name ${stackName}, --retain-resources for what cannot be deleted) and deploy again (docs/operations.md)`;
  }
  if (status.endsWith('_FAILED')) return 'the last operation failed: look at the stack events before deploying again';
  return undefined;
}

export const stackState: Check = {
  name: NAME,
  async run(context: CheckContext): Promise<CheckResult[]> {
    const results: CheckResult[] = [];
    for (const stack of context.stacks) {
      const deployed = await context.deployed.describe(stack.stackName);
      if (!deployed) {
        results.push(pass(NAME, `${stack.stackName}: not deployed yet (a first deploy)`));
        continue;
      }
      const status = deployed.StackStatus ?? 'UNKNOWN';
      const advice = blockedStackAdvice(stack.stackName, status);
      if (advice) results.push(fail(NAME, `${stack.stackName}: ${status}`, advice));
      else if (status === 'ROLLBACK_COMPLETE') results.push(pass(NAME, `${stack.stackName}: ROLLBACK_COMPLETE (a failed first create; cdk deploy deletes it and creates it again)`));
      else results.push(pass(NAME, `${stack.stackName}: ${status} (a re-deploy)`));
    }
    return results;
  },
};
