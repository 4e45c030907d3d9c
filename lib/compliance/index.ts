/**
 * The compliance checks that run on every synth of every stage: cdk-nag's
 * AWS Solutions, HIPAA Security and NIST 800-53 R5 packs and the AWS Control
 * Tower proactive controls (cfn-guard, run offline by
 * `@cdklabs/cdk-validator-cfnguard` with the binary it ships). Registered on
 * the App, they check every stack of every stage: any finding that is not
 * acknowledged (see `acknowledge`) fails synth.
 */
import * as fs from 'node:fs';
import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import { type App, Aspects, CfnResource, type IAspect, type IPolicyValidationPlugin, Stack, Stage, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { AwsSolutionsChecks, HIPAASecurityChecks, NIST80053R5Checks } from 'cdk-nag';
import { COMPLIANCE_RECORD_METADATA, type ComplianceRecord } from './record';

export { acknowledge, wildcardFinding } from './acknowledge';
export { COMPLIANCE_RECORD_METADATA, type ComplianceRecord, type CompliancePlugin } from './record';

/**
 * Control Tower rules switched off for the whole app, with the reason. Empty:
 * every resource passes every bundled rule. A rule may only be listed here
 * when no resource of this app can pass it; one resource's exception is an
 * acknowledgement on that resource instead.
 */
export const DISABLED_GUARD_RULES: Readonly<Record<string, string>> = {};

/** Adds the nag packs and the Control Tower guard rules to `app`; call it once its stages exist. */
export function addComplianceChecks(app: App): void {
  const plugins: IPolicyValidationPlugin[] = [
    new AwsSolutionsChecks(app),
    new HIPAASecurityChecks(app),
    new NIST80053R5Checks(app),
    new CfnGuardValidator({
      controlTowerRulesEnabled: true,
      disabledRules: Object.keys(DISABLED_GUARD_RULES),
      maxBuffer: 64 * 1024 * 1024,
    }),
  ];
  Validations.of(app).addPlugins(...plugins);
  const record: ComplianceRecord = {
    // The nag packs carry no version of their own: theirs is cdk-nag's.
    plugins: plugins.map((p) => ({ name: p.name, version: p.version ?? packageVersion('cdk-nag') })),
    disabledGuardRules: { ...DISABLED_GUARD_RULES },
  };
  // Aspects do not cross into nested stages: each stage gets its own.
  for (const scope of [app, ...app.node.findAll().filter((c) => Stage.isStage(c))]) {
    Aspects.of(scope).add(new AcknowledgementsInTemplates());
    Aspects.of(scope).add(new ComplianceRecordOnStacks(record));
  }
}

function packageVersion(name: string): string {
  return (JSON.parse(fs.readFileSync(require.resolve(`${name}/package.json`), 'utf8')) as { version: string }).version;
}

/**
 * Writes which checks ran into every stack's metadata in the cloud assembly
 * (see `record.ts`): the audit reads it from `cdk.out`.
 */
class ComplianceRecordOnStacks implements IAspect {
  constructor(private readonly record: ComplianceRecord) {}

  visit(node: IConstruct): void {
    if (Stack.isStack(node) && !node.node.metadata.some((m) => m.type === COMPLIANCE_RECORD_METADATA)) {
      node.node.addMetadata(COMPLIANCE_RECORD_METADATA, this.record);
    }
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
