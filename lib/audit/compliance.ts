/**
 * The compliance results of a stage as the assembly records them: which
 * checks ran on each stack (the record written by lib/compliance), the
 * findings and acknowledged findings of the validation report, every
 * acknowledgement the app wrote into a resource's template metadata, and
 * those aws-cdk-lib made itself for its built-in template checks.
 */
import { COMPLIANCE_RECORD_METADATA, type ComplianceRecord } from '../compliance/record';
import type { MetadataEntry, StageArtifact, ValidationReport, ViolatingConstruct } from './assembly';
import { acknowledgementsOf, asObject, sortBy, type CfnTemplate } from './cfn';

/** An acknowledged finding on a resource of a template. */
export interface Acknowledgement {
  /** The check it belongs to: `AwsSolutions`, `HIPAA.Security`, `NIST.800.53.R5`, `Control Tower`, or the rule's prefix. */
  readonly pack: string;
  readonly rule: string;
  readonly resource: string;
  readonly type: string;
  readonly reason: string;
}

/** An acknowledgement aws-cdk-lib made for its own template checks (from the assembly metadata). */
export interface LibraryAcknowledgement {
  readonly rule: string;
  /** Construct path. */
  readonly path: string;
  readonly reason: string;
}

/** A finding of the validation report in this stage. */
export interface ValidationFinding {
  readonly plugin: string;
  readonly rule: string;
  /** The Control Tower control a guard rule implements (`CT.SQS.PR.2`), from its description. */
  readonly control?: string;
  readonly description: string;
  readonly severity: string;
  /** Logical id when the report names one, else the construct path. */
  readonly resource: string;
}

/**
 * The validation report's findings for one stage. Its acknowledged
 * (suppressed) findings are not repeated: the acknowledgements themselves are
 * read from the metadata, which records them however the synth was run (the
 * CLI and an in-process synth do not run the same built-in checks).
 */
export interface StageValidation {
  /** Whether the assembly holds a validation report at all. */
  readonly reportPresent: boolean;
  readonly findings: ValidationFinding[];
  /** Plugins that failed to run, with their error. */
  readonly pluginErrors: string[];
}

const PACKS: [string, string][] = [
  ['AwsSolutions-', 'AwsSolutions'],
  ['HIPAA.Security-', 'HIPAA.Security'],
  ['NIST.800.53.R5-', 'NIST.800.53.R5'],
  ['CT.', 'Control Tower'],
  ['ct-', 'Control Tower'],
];

/** The check a rule id belongs to. */
export function packOf(rule: string): string {
  return PACKS.find(([prefix]) => rule.startsWith(prefix))?.[1] ?? rule.replace(/[-:].*$/, '');
}

/** Every acknowledgement in the resources' `Metadata.acknowledgements`, sorted by pack, rule and resource. */
export function findAcknowledgements(template: CfnTemplate): Acknowledgement[] {
  const found = Object.entries(template.Resources ?? {}).flatMap(([logicalId, resource]) =>
    acknowledgementsOf(resource).map((a) => ({ pack: packOf(a.rule), rule: a.rule, resource: logicalId, type: resource.Type, reason: a.reason })),
  );
  return sortBy(found, (a) => [a.pack, a.rule, a.resource]);
}

/** Acknowledgements aws-cdk-lib recorded in the assembly metadata for its own checks (not the app's). */
export function findLibraryAcknowledgements(metadata: Record<string, readonly MetadataEntry[]>): LibraryAcknowledgement[] {
  const found: LibraryAcknowledgement[] = [];
  for (const [constructPath, entries] of Object.entries(metadata)) {
    for (const entry of entries) {
      if (entry.type !== 'aws:cdk:acknowledged-rules') continue;
      for (const [id, reason] of Object.entries(asObject(entry.data) ?? {})) {
        // The app's own (Annotation::) are in the template metadata, beside their resource.
        if (id.startsWith('Annotation::')) continue;
        found.push({ rule: id, path: constructPath.replace(/^\//, ''), reason: String(reason) });
      }
    }
  }
  return sortBy(found, (a) => [a.rule, a.path]);
}

/** The record of which checks ran on a stack, from its metadata. */
export function complianceRecordOf(metadata: Record<string, readonly MetadataEntry[]>, stackPath: string): ComplianceRecord | undefined {
  const entry = (metadata[`/${stackPath}`] ?? []).find((e) => e.type === COMPLIANCE_RECORD_METADATA);
  const data = asObject(entry?.data);
  if (!data || !Array.isArray(data.plugins)) return undefined;
  return {
    plugins: sortBy(
      data.plugins.flatMap((p) => {
        const o = asObject(p);
        return o && typeof o.name === 'string' ? [{ name: o.name, version: String(o.version ?? '') }] : [];
      }),
      (p) => [p.name],
    ),
    disabledGuardRules: Object.fromEntries(
      Object.entries(asObject(data.disabledGuardRules) ?? {})
        .map(([rule, reason]) => [rule, String(reason)] as const)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    ),
  };
}

/** The findings of `report` that concern `stage` (by construct path or template path). */
export function stageValidation(report: ValidationReport | undefined, stage: StageArtifact): StageValidation {
  if (!report) return { reportPresent: false, findings: [], pluginErrors: [] };
  const inStage = (c: ViolatingConstruct) => {
    const templatePath = c.cloudFormationResource?.templatePath;
    if (templatePath) return stage.stacks.some((s) => s.templateFile === templatePath.split('\\').join('/'));
    return stage.name === '(app)' ? !c.constructPath?.includes('/') : c.constructPath?.startsWith(`${stage.name}/`) === true;
  };
  const logicalIdOf = (c: ViolatingConstruct) => c.cloudFormationResource?.logicalId ?? logicalIdByPath(stage, c.constructPath) ?? c.constructPath ?? '';
  const findings: ValidationFinding[] = [];
  for (const plugin of report.pluginReports ?? []) {
    for (const v of plugin.violations ?? []) {
      for (const c of (v.violatingConstructs ?? []).filter(inStage)) {
        const control = /^\[(CT\.[A-Z0-9]+\.PR\.\d+)\]/.exec(v.description ?? '')?.[1];
        findings.push({
          plugin: plugin.pluginName,
          rule: v.ruleName,
          ...(control ? { control } : {}),
          description: v.description ?? '',
          severity: v.severity ?? 'error',
          resource: logicalIdOf(c),
        });
      }
    }
  }
  const pluginErrors = (report.pluginReports ?? [])
    .filter((p) => p.conclusion !== 'success' && (p.violations ?? []).length === 0 && typeof p.metadata?.error === 'string')
    .map((p) => `${p.pluginName}: ${String(p.metadata!.error)}`)
    .sort();
  const order = (f: ValidationFinding) => [f.plugin, f.rule, f.resource];
  return { reportPresent: true, findings: sortBy(dedupe(findings), order), pluginErrors };
}

/** The logical id of the resource at construct path `constructPath`, from the templates' path metadata. */
function logicalIdByPath(stage: StageArtifact, constructPath: string | undefined): string | undefined {
  if (!constructPath) return undefined;
  for (const stack of stage.stacks) {
    for (const [path, entries] of Object.entries(stack.metadata)) {
      if (path.replace(/^\//, '') !== constructPath) continue;
      const logicalId = entries.find((e) => e.type === 'aws:cdk:logicalId');
      if (typeof logicalId?.data === 'string') return logicalId.data;
    }
    for (const [logicalId, resource] of Object.entries(stack.template.Resources ?? {})) {
      if (resource.Metadata?.['aws:cdk:path'] === constructPath) return logicalId;
    }
  }
  return undefined;
}

function dedupe(findings: ValidationFinding[]): ValidationFinding[] {
  const seen = new Set<string>();
  return findings.filter((f) => {
    const key = JSON.stringify(f);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
