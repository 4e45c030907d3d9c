/**
 * CDK bootstrap: is the account and region bootstrapped, with the qualifier the templates use, at a version
 * at least the one the synthesized stacks and assets require?
 *
 * Deploying reads `/cdk-bootstrap/<qualifier>/version` (the templates' `CheckBootstrapVersion` rule does the
 * same, but only once CloudFormation runs them) and assumes the bootstrap roles and buckets of that qualifier.
 * The bootstrap stack itself must be in a settled, successful state.
 */
import { GetParameterCommand } from '@aws-sdk/client-ssm';
import { call } from '../aws';
import { type Check, type CheckContext, type CheckResult, fail, pass, skip } from '../check';

const NAME = 'cdk bootstrap';
const SETTLED_OK = /^(CREATE|UPDATE|IMPORT)_COMPLETE$/;

export const cdkBootstrap: Check = {
  name: NAME,
  async run(context: CheckContext): Promise<CheckResult | CheckResult[]> {
    const byParameter = new Map<string, number>();
    for (const stack of context.stacks) {
      if (!stack.bootstrapVersionParameter) continue;
      const required = Math.max(byParameter.get(stack.bootstrapVersionParameter) ?? 0, stack.requiresBootstrapVersion ?? 0);
      byParameter.set(stack.bootstrapVersionParameter, required);
    }
    if (byParameter.size === 0) return skip(NAME, 'no stack names a bootstrap version parameter', 'the stacks use a synthesizer without a bootstrap');

    const { account, region } = context.target;
    const toolkit = context.toolkitStackName;
    const stack = await context.deployed.describe(toolkit);
    const bootstrap = `npx cdk bootstrap aws://${account}/${region}`;
    if (!stack) return fail(NAME, `no stack ${toolkit} in ${account}/${region}`, `not bootstrapped: run ${bootstrap}`);
    if (!SETTLED_OK.test(stack.StackStatus ?? '')) {
      return fail(NAME, `stack ${toolkit} is ${stack.StackStatus}`, `the bootstrap stack is not in a completed state: fix it, then run ${bootstrap}`);
    }

    const results: CheckResult[] = [];
    for (const [parameter, required] of byParameter) {
      const qualifier = /^\/cdk-bootstrap\/([^/]+)\/version$/.exec(parameter)?.[1];
      const qualifierFlag = qualifier && qualifier !== 'hnb659fds' ? ` --qualifier ${qualifier}` : '';
      let value: string | undefined;
      try {
        const out = await call('ssm:GetParameter', () => context.clients.ssm.send(new GetParameterCommand({ Name: parameter })));
        value = out.Parameter?.Value;
      } catch (error) {
        if ((error as { name?: string }).name !== 'ParameterNotFound') throw error;
      }
      const facts = `stack ${toolkit} ${stack.StackStatus}, ${parameter} = ${value ?? '(none)'}, required >= ${required}`;
      if (value === undefined) {
        results.push(fail(NAME, facts, `not bootstrapped with qualifier ${qualifier ?? '?'}: run ${bootstrap}${qualifierFlag}`));
      } else if (!(Number(value) >= required)) {
        results.push(fail(NAME, facts, `the bootstrap is older than the templates need: run ${bootstrap}${qualifierFlag} again`));
      } else {
        results.push(pass(NAME, facts));
      }
    }
    return results;
  },
};
