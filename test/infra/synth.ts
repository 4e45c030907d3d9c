/**
 * Synthesizes the real app the way `cdk synth` does (the feature flags of
 * cdk.json, compliance checks on, no AWS account), once per caller, and reads
 * the templates back from the cloud assembly.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- templates are untyped JSON read back from cdk.out */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { CloudAssembly } from 'aws-cdk-lib/cx-api';
import { buildApp, type BuiltApp } from '../../lib/app';

const ROOT = path.resolve(__dirname, '..', '..');

/** The `context` of cdk.json: the feature flags every synth uses. */
export function cdkJsonContext(): Record<string, unknown> {
  return JSON.parse(fs.readFileSync(path.join(ROOT, 'cdk.json'), 'utf8')).context;
}

/** A synthesized app: its assembly directory and each stage's template by stage id. */
export interface Synthesized {
  readonly built: BuiltApp;
  readonly assembly: CloudAssembly;
  readonly outdir: string;
  /** Template JSON by stage id (Dev, Staging, Prod). */
  readonly templates: Record<string, Record<string, any>>;
  /** Raw template text by stage id, as written to cdk.out. */
  readonly templateText: Record<string, string>;
}

/**
 * Builds and synthesizes the app for `environments` into a fresh directory.
 * `mutate` may change the app before synthesis (tests of the checks).
 */
export function synthesize(
  environments: string[] = ['dev', 'staging', 'prod'],
  mutate?: (built: BuiltApp) => void,
  extraContext: Record<string, unknown> = {},
): Synthesized {
  // No account from the environment: templates stay account-agnostic and comparable.
  delete process.env.CDK_DEFAULT_ACCOUNT;
  delete process.env.CDK_DEFAULT_REGION;
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-out-'));
  const built = buildApp({ environments, appProps: { outdir, context: { ...cdkJsonContext(), ...extraContext } } });
  mutate?.(built);
  const assembly = built.app.synth();
  const templates: Record<string, Record<string, any>> = {};
  const templateText: Record<string, string> = {};
  for (const stage of Object.values(built.stages)) {
    const stack = assembly.getNestedAssembly(stage.artifactId).getStackArtifact(stage.dataTier.artifactId);
    templateText[stage.stageName] = fs.readFileSync(stack.templateFullPath, 'utf8');
    templates[stage.stageName] = JSON.parse(templateText[stage.stageName]);
  }
  return { built, assembly, outdir, templates, templateText };
}

/** Every file below `dir`, relative path to content, for byte comparison. */
export function readTree(dir: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  const walk = (sub: string) => {
    for (const entry of fs.readdirSync(path.join(dir, sub), { withFileTypes: true })) {
      const rel = path.join(sub, entry.name);
      if (entry.isDirectory()) walk(rel);
      else files.set(rel, fs.readFileSync(path.join(dir, rel)));
    }
  };
  walk('');
  return files;
}

/** Resources of `template` of CloudFormation type `type`, by logical id. */
export function resourcesOfType(template: Record<string, any>, type: string): Record<string, any> {
  return Object.fromEntries(Object.entries(template.Resources).filter(([, r]: [string, any]) => r.Type === type));
}
