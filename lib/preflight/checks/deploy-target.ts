/**
 * Deploy target: do the credentials belong to the account the stage deploys to? The stage is synthesized as
 * `cdk deploy` would, with the credentials' account as CDK_DEFAULT_ACCOUNT, so a stack of another account is
 * one pinned to it in the configuration: the deploy, and every other check, would go to the wrong account.
 */
import { type Check, type CheckContext, type CheckResult, fail, pass } from '../check';

const NAME = 'aws account';

export const deployTarget: Check = {
  name: NAME,
  run(context: CheckContext): Promise<CheckResult> {
    const { callerAccount } = context;
    const region = context.target.region;
    const elsewhere = [...new Set(context.stacks.map((s) => s.account).filter((a): a is string => a !== undefined && a !== callerAccount))];
    if (elsewhere.length > 0) {
      return Promise.resolve(
        fail(NAME, `stage pinned to ${elsewhere.join(', ')}, credentials of ${callerAccount}`, `use credentials of account ${elsewhere[0]}: every other check read the wrong account`),
      );
    }
    return Promise.resolve(pass(NAME, `stage deploys to ${callerAccount}, region ${region}, the credentials' account`));
  },
};
