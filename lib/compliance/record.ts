/**
 * The record of which compliance checks ran, written into each stack's entry
 * of the cloud assembly (the stack's metadata in `cdk.out`), so that the
 * audit, which reads `cdk.out` alone, can tell that cdk-nag and the guard
 * rules ran on a stack, which versions ran, and which rules were off.
 * Nothing else records it when every check passes: the validation report then
 * lists no plugin.
 */

/** Metadata type of the record on each stack. */
export const COMPLIANCE_RECORD_METADATA = 'saas:compliance-checks';

/** One validation plugin that ran. */
export interface CompliancePlugin {
  /** Plugin name as the validation report names it (`AwsSolutions`, `cdk-validator-cfnguard`). */
  readonly name: string;
  /** Version of the package that provides it. */
  readonly version: string;
}

/** Which checks ran on a stack. */
export interface ComplianceRecord {
  readonly plugins: CompliancePlugin[];
  /** Guard rules switched off for the whole app, with the reason for each. */
  readonly disabledGuardRules: Record<string, string>;
}
