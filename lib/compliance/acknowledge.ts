/**
 * Acknowledging a compliance finding: the one way this project accepts a rule
 * it does not meet. Each acknowledgement sits on the construct it concerns
 * (never on a stack or stage), carries a reason of at least one full sentence,
 * and, where a rule reports several findings on one resource, names the
 * finding (`AwsSolutions-IAM5[Resource::*]`) so a new finding is not hidden.
 */
import { CfnResource, Stack, Validations } from 'aws-cdk-lib';
import { flattenCfnReference } from 'cdk-nag/lib/utils/flatten-cfn-reference';
import type { IConstruct } from 'constructs';

/** A reason must be at least one sentence: a capital, some words, a full stop. */
const SENTENCE = /^[A-Z][^]{24,}[.!]$/;

/**
 * Acknowledges rule `ruleId` on `construct` with `reason`: on its CloudFormation
 * resource when it has one, else on the construct and everything below it.
 * @throws Error when the reason is not at least one sentence or the rule id is malformed
 */
export function acknowledge(construct: IConstruct, ruleId: string, reason: string): void {
  // A cdk-nag rule (AwsSolutions-IAM5, with its finding) or a Control Tower guard rule, as the validation report names it.
  if (!/^[A-Za-z0-9.]+-[A-Za-z0-9]+(\[.+\])?$/.test(ruleId) && !/^cdk-validator-cfnguard::[a-z0-9_]+$/.test(ruleId)) {
    throw new Error(`Acknowledgement on ${construct.node.path}: "${ruleId}" is not a rule id such as AwsSolutions-IAM5 or cdk-validator-cfnguard::<guard rule>`);
  }
  if (!SENTENCE.test(reason.trim())) {
    throw new Error(
      `Acknowledgement of ${ruleId} on ${construct.node.path} needs a reason of at least one sentence, got "${reason}"`,
    );
  }
  // On the CloudFormation resource itself where the construct has one, so the
  // acknowledgement covers that resource and not its neighbours.
  const target = CfnResource.isCfnResource(construct.node.defaultChild) ? construct.node.defaultChild : construct;
  Validations.of(target).acknowledge({ id: ruleId, reason: reason.trim() });
}

/**
 * The id of the AwsSolutions-IAM5 finding for a wildcard `resource` as cdk-nag
 * names it (tokens flattened, e.g. `<AWS::AccountId>`), so an acknowledgement
 * covers that one resource string and nothing else.
 */
export function wildcardFinding(scope: IConstruct, resource: string): string {
  return `AwsSolutions-IAM5[Resource::${flattenCfnReference(Stack.of(scope).resolve(resource))}]`;
}
