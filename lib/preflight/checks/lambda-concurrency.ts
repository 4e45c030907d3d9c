/**
 * Lambda concurrency: can the account grant the stage's reservations?
 *
 * Lambda refuses a reservation (PutFunctionConcurrency, which CloudFormation calls for
 * `ReservedConcurrentExecutions`) that would leave the account's unreserved concurrency below a minimum:
 * 100 when the account limit is at least 100 (the Lambda guide: "You can reserve up to the Unreserved account
 * concurrency value minus 100"), and the whole limit below that (accounts at 10 or 50 get "decreases account's
 * UnreservedConcurrentExecution below its minimum value of [10]" / "[50]"), so such accounts cannot reserve
 * anything. Hence minimum = min(100, limit).
 *
 * `AccountLimit.UnreservedConcurrentExecutions` is already the limit minus every reservation in the account
 * and region, the stage's own included when it is deployed. So what the deploy takes is not the stage's total
 * but what it adds: for each function, its new reservation minus what the deployed function of the same
 * logical id holds now. Increases count, decreases do not: CloudFormation may update the functions in any
 * order, and a function being removed gives its reservation back only in the clean-up after every update,
 * so the deploy must fit while every increase is applied and no decrease yet. Hence it fails when
 *   unreserved - sum(max(0, new_i - held_i)) < minimum.
 */
import { GetAccountSettingsCommand, GetFunctionConcurrencyCommand } from '@aws-sdk/client-lambda';
import { call } from '../aws';
import { type Check, type CheckContext, type CheckResult, fail, pass } from '../check';

const NAME = 'lambda concurrency';

/** The unreserved concurrency Lambda keeps for functions without a reservation, for an account limit. */
export function minimumUnreserved(accountLimit: number): number {
  return Math.min(100, accountLimit);
}

export const lambdaConcurrency: Check = {
  name: NAME,
  async run(context: CheckContext): Promise<CheckResult> {
    const { reservations } = context.facts;
    const total = reservations.reduce((sum, r) => sum + r.reserved, 0);
    if (total === 0) return pass(NAME, 'stage reserves 0');
    const settings = await call('lambda:GetAccountSettings', () => context.clients.lambda.send(new GetAccountSettingsCommand({})));
    const limit = settings.AccountLimit?.ConcurrentExecutions;
    const unreserved = settings.AccountLimit?.UnreservedConcurrentExecutions;
    if (limit === undefined || unreserved === undefined) throw new Error('GetAccountSettings answered without AccountLimit');
    const minimum = minimumUnreserved(limit);

    let held = 0;
    let added = 0;
    for (const r of reservations) {
      const functionName = (await context.deployed.physicalIds(r.stack.stackName)).get(r.logicalId);
      const now = functionName ? await reservedConcurrency(context, functionName) : 0;
      held += now;
      added += Math.max(0, r.reserved - now);
    }
    const after = unreserved - added;
    const facts =
      `account limit ${limit}, unreserved now ${unreserved}, unreserved minimum ${minimum}, stage reserves ${total}` +
      (held > 0 ? ` (its deployed functions hold ${held}, so the deploy adds ${added})` : '');
    if (after >= minimum) return pass(NAME, `${facts}, ${after} left unreserved`);
    const room = Math.max(0, unreserved - minimum);
    // A raised limit is at least 100, so the minimum becomes 100: the quota must cover what the account
    // already reserves elsewhere, what the deploy adds, and those 100.
    const quotaNeeded = limit - unreserved + added + 100;
    return fail(
      NAME,
      facts,
      `the deploy would leave ${after} unreserved, below the minimum ${minimum}; the account can grant ${room} more. ` +
        `Lower the stage's reservations, or raise the quota "Concurrent executions" (Service Quotas, lambda L-B99A9384) to at least ${quotaNeeded}`,
    );
  },
};

async function reservedConcurrency(context: CheckContext, functionName: string): Promise<number> {
  const out = await call('lambda:GetFunctionConcurrency', () =>
    context.clients.lambda.send(new GetFunctionConcurrencyCommand({ FunctionName: functionName })),
  );
  return out.ReservedConcurrentExecutions ?? 0;
}
