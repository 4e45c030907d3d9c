/**
 * Deploy target: do the credentials belong to the account the stage is pinned to? A stage without a pinned
 * account deploys wherever the credentials point, which the line says, so nobody checks the wrong account
 * by accident.
 */
import { type Check, type CheckContext, type CheckResult, fail, pass } from '../check';

const NAME = 'aws account';

export const deployTarget: Check = {
  name: NAME,
  run(context: CheckContext): Promise<CheckResult> {
    const pinned = [...new Set(context.stacks.map((s) => s.account).filter((a): a is string => a !== undefined))];
    const { callerAccount } = context;
    const region = context.target.region;
    if (pinned.length === 0) {
      return Promise.resolve(pass(NAME, `stage not pinned to an account: it deploys to the credentials' account ${callerAccount}, region ${region}`));
    }
    const other = pinned.filter((a) => a !== callerAccount);
    if (other.length > 0) {
      return Promise.resolve(
        fail(NAME, `stage pinned to ${pinned.join(', ')}, credentials of ${callerAccount}`, `use credentials of account ${other[0]} (the deploy, and every other check, would go to the wrong account)`),
      );
    }
    return Promise.resolve(pass(NAME, `stage pinned to ${callerAccount}, region ${region}, credentials match`));
  },
};
