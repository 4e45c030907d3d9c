/**
 * The compliance checks that run on every synth of every stage: cdk-nag's
 * AWS Solutions, HIPAA Security and NIST 800-53 R5 packs and the AWS Control
 * Tower proactive controls (cfn-guard, run offline by
 * `@cdklabs/cdk-validator-cfnguard` with the binary it ships). Registered on
 * the App, they check every stack of every stage: any finding that is not
 * acknowledged (see `acknowledge`) fails synth.
 */
import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import { type App, Aspects, CfnResource, type IAspect, Stage, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { AwsSolutionsChecks, HIPAASecurityChecks, NIST80053R5Checks } from 'cdk-nag';

export { acknowledge, wildcardFinding } from './acknowledge';

/**
 * Control Tower rules switched off for the whole app, with the reason. Empty:
 * every resource passes every bundled rule. A rule may only be listed here
 * when no resource of this app can pass it; one resource's exception is an
 * acknowledgement on that resource instead.
 */
export const DISABLED_GUARD_RULES: Readonly<Record<string, string>> = {};

/** Adds the nag packs and the Control Tower guard rules to `app`; call it once its stages exist. */
export function addComplianceChecks(app: App): void {
  Validations.of(app).addPlugins(
    new AwsSolutionsChecks(app),
    new HIPAASecurityChecks(app),
    new NIST80053R5Checks(app),
    new CfnGuardValidator({
      controlTowerRulesEnabled: true,
      disabledRules: Object.keys(DISABLED_GUARD_RULES),
      maxBuffer: 64 * 1024 * 1024,
    }),
  );
  // Aspects do not cross into nested stages: each stage gets its own.
  for (const scope of [app, ...app.node.findAll().filter((c) => Stage.isStage(c))]) {
    Aspects.of(scope).add(new AcknowledgementsInTemplates());
  }
}

/**
 * Copies the acknowledgements that apply to each resource (made on it or on
 * a construct above it) into the resource's template metadata, under
 * `Metadata.acknowledgements`, so an auditor reading only the templates sees
 * every accepted finding beside the resource, with its reason.
 */
class AcknowledgementsInTemplates implements IAspect {
  visit(node: IConstruct): void {
    if (!CfnResource.isCfnResource(node)) return;
    const found = new Map<string, string>();
    for (let scope: IConstruct | undefined = node; scope; scope = scope.node.scope) {
      for (const entry of scope.node.metadata) {
        if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY || !entry.data) continue;
        for (const [qualifiedId, reason] of Object.entries(entry.data as Record<string, string>)) {
          // Our acknowledgements only; CDK records its own for its built-in template checks.
          if (!qualifiedId.startsWith('Annotation::')) continue;
          const id = qualifiedId.slice('Annotation::'.length);
          if (!found.has(id)) found.set(id, reason);
        }
      }
    }
    if (found.size > 0) {
      node.addMetadata('acknowledgements', [...found].map(([rule, reason]) => ({ rule, reason })));
    }
  }
}
