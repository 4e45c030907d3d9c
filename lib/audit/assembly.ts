/**
 * Reads a cloud assembly directory (`cdk.out`) into plain data: each stage
 * (nested assembly) with its stacks, their templates and metadata, and the
 * validation report the synth left. Nothing is synthesized and nothing but
 * the directory is read.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CfnTemplate } from './cfn';

/** A metadata entry of the assembly (type and data; traces are dropped). */
export interface MetadataEntry {
  readonly type: string;
  readonly data?: unknown;
}

/** A stack of the assembly. */
export interface StackArtifact {
  /** Display name, `Dev/DataTier`. */
  readonly displayName: string;
  /** CloudFormation stack name. */
  readonly stackName: string;
  /** `aws://<account>/<region>`; the account is `unknown-account` for an account-agnostic template. */
  readonly environment: string;
  readonly terminationProtection: boolean;
  /** Template path relative to the assembly root. */
  readonly templateFile: string;
  readonly template: CfnTemplate;
  /** Metadata by construct path. */
  readonly metadata: Record<string, MetadataEntry[]>;
}

/** A stage of the app: one nested assembly. */
export interface StageArtifact {
  /** Stage name as the CLI shows it (`Dev`); `(app)` for stacks at the root. */
  readonly name: string;
  /** Directory relative to the assembly root (`assembly-Dev`); empty for the root. */
  readonly directory: string;
  readonly stacks: StackArtifact[];
}

/** A resource named by a finding of the validation report. */
export interface ViolatingConstruct {
  readonly constructPath?: string;
  readonly cloudFormationResource?: { readonly templatePath?: string; readonly logicalId?: string };
}

/** A finding of a validation plugin. */
export interface ValidationViolation {
  readonly ruleName: string;
  readonly description?: string;
  readonly severity?: string;
  readonly violatingConstructs: ViolatingConstruct[];
}

/** One plugin's part of the validation report. */
export interface PluginReport {
  readonly pluginName: string;
  readonly pluginVersion?: string;
  readonly conclusion: string;
  readonly metadata?: Record<string, unknown>;
  readonly violations: ValidationViolation[];
}

/** `validation-report.json`: written by the synth whenever validation plugins ran. */
export interface ValidationReport {
  readonly pluginReports: PluginReport[];
}

/** What the audit reads from a cloud assembly. */
export interface CloudAssemblyContents {
  readonly stages: StageArtifact[];
  /** Absent when no validation ran (or the directory holds no report). */
  readonly validationReport?: ValidationReport;
}

interface ManifestArtifact {
  type: string;
  environment?: string;
  displayName?: string;
  properties?: Record<string, unknown>;
  metadata?: Record<string, MetadataEntry[]>;
  additionalMetadataFile?: string;
}

const VALIDATION_REPORT_FILE = 'validation-report.json';

/**
 * Reads the assembly in `directory`.
 * @throws Error naming the directory when it holds no cloud assembly
 */
export function readCloudAssembly(directory: string): CloudAssemblyContents {
  if (!fs.existsSync(path.join(directory, 'manifest.json'))) {
    throw new Error(`${directory} is not a cloud assembly: it has no manifest.json (synthesize first, e.g. npx cdk synth -o ${directory})`);
  }
  const stages: StageArtifact[] = [];
  const visit = (relative: string, name: string) => {
    const manifest = readJson(path.join(directory, relative, 'manifest.json')) as { artifacts?: Record<string, ManifestArtifact> };
    const stacks: StackArtifact[] = [];
    for (const [id, artifact] of Object.entries(manifest.artifacts ?? {})) {
      if (artifact.type === 'cdk:cloud-assembly') {
        const props = artifact.properties ?? {};
        const childName = String(props.displayName ?? id);
        visit(path.join(relative, String(props.directoryName ?? id)), name === '(app)' ? childName : `${name}/${childName}`);
      } else if (artifact.type === 'aws:cloudformation:stack') {
        stacks.push(readStack(directory, relative, id, artifact));
      }
    }
    if (stacks.length > 0) {
      stages.push({ name, directory: relative.split(path.sep).join('/'), stacks });
    }
  };
  visit('', '(app)');
  const reportPath = path.join(directory, VALIDATION_REPORT_FILE);
  const validationReport = fs.existsSync(reportPath) ? (readJson(reportPath) as ValidationReport) : undefined;
  // Stages in the order the app declares them, stacks by display name.
  const order = new Map(stages.map((s, i) => [s.name, i]));
  stages.sort((a, b) => (a.name === '(app)' ? -1 : b.name === '(app)' ? 1 : order.get(a.name)! - order.get(b.name)!));
  return { stages, ...(validationReport ? { validationReport } : {}) };
}

function readStack(root: string, relative: string, id: string, artifact: ManifestArtifact): StackArtifact {
  const props = artifact.properties ?? {};
  const templateFile = path.join(relative, String(props.templateFile)).split(path.sep).join('/');
  const metadata: Record<string, MetadataEntry[]> = { ...(artifact.metadata ?? {}) };
  if (artifact.additionalMetadataFile) {
    Object.assign(metadata, readJson(path.join(root, relative, artifact.additionalMetadataFile)));
  }
  return {
    displayName: artifact.displayName ?? id,
    stackName: String(props.stackName ?? id),
    environment: artifact.environment ?? 'aws://unknown-account/unknown-region',
    terminationProtection: props.terminationProtection === true,
    templateFile,
    template: readJson(path.join(root, templateFile)) as CfnTemplate,
    metadata: Object.fromEntries(
      Object.entries(metadata).map(([p, entries]) => [p, entries.map((e) => ({ type: e.type, data: e.data }))]),
    ),
  };
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`cannot read ${file}: ${(error as Error).message}`, { cause: error });
  }
}
