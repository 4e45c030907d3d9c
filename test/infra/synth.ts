/**
 * Synthesizes the real app the way `cdk synth` does (the feature flags of cdk.json, compliance checks on, no AWS
 * account) and reads the templates back from the cloud assembly.
 *
 * `synthesizedApp()` is the app of every stage as shipped, synthesized once per test run and shared by every test
 * file: the first file to ask synthesizes it into the run's directory (test/setup/global-setup.mjs makes one),
 * the others wait for it. `synthesize()` is a fresh synth, for tests that change the app first.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- templates are untyped JSON read back from cdk.out */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildApp, type BuiltApp } from '../../lib/app';
import { readCloudAssembly, type StackArtifact } from '../../lib/audit';
import { loadEnvironmentConfig, type EnvironmentConfig } from '../../lib/config';

const ROOT = path.resolve(__dirname, '..', '..');

/** The `context` of cdk.json: the feature flags every synth uses. */
export function cdkJsonContext(): Record<string, unknown> {
  return JSON.parse(fs.readFileSync(path.join(ROOT, 'cdk.json'), 'utf8')).context;
}

/** Each stage as shipped: its id in the assembly and its validated configuration. */
export const SHIPPED_STAGES: readonly [string, EnvironmentConfig][] = [
  ['Dev', loadEnvironmentConfig('dev')],
  ['Staging', loadEnvironmentConfig('staging')],
  ['Prod', loadEnvironmentConfig('prod')],
];

/** A synthesized app: its assembly directory and each stage's stacks. */
export interface Synthesized {
  readonly outdir: string;
  /** The data tier stack of each stage (deployed after the stateful one), by stage id (Dev, Staging, Prod). */
  readonly stacks: Record<string, StackArtifact>;
  /** Every stack of each stage, by stage id, in the assembly's order (DataStore, DataTier). */
  readonly stageStacks: Record<string, StackArtifact[]>;
  /**
   * The templates of a stage's stacks as one (their resources, parameters and outputs side by side; logical ids
   * never collide, which `readSynthesized` checks), by stage id: what a stage deploys, for assertions that do not
   * care which stack holds a resource.
   */
  readonly templates: Record<string, Record<string, any>>;
  /** Raw template text of every stack of the stage, by stage id, as written to cdk.out. */
  readonly templateText: Record<string, string>;
}

/** The templates of `stacks` as one; a logical id in two of them is an error. */
function mergeTemplates(stacks: readonly StackArtifact[]): Record<string, any> {
  const merged: Record<string, any> = {};
  for (const stack of stacks) {
    for (const [section, value] of Object.entries(stack.template as Record<string, any>)) {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        merged[section] = value;
        continue;
      }
      merged[section] ??= {};
      for (const [id, entry] of Object.entries(value)) {
        if (section === 'Resources' && id in merged[section]) throw new Error(`logical id ${id} is in two stacks of the stage`);
        merged[section][id] = entry;
      }
    }
  }
  return merged;
}

/** The stacks and templates of the assembly in `outdir`. */
function readSynthesized(outdir: string): Synthesized {
  const stacks: Record<string, StackArtifact> = {};
  const stageStacks: Record<string, StackArtifact[]> = {};
  const templateText: Record<string, string> = {};
  const templates: Record<string, Record<string, any>> = {};
  for (const stage of readCloudAssembly(outdir).stages) {
    stageStacks[stage.name] = stage.stacks;
    stacks[stage.name] = stage.stacks.find((s) => s.displayName.endsWith('/DataTier')) ?? stage.stacks[0];
    templateText[stage.name] = stage.stacks.map((s) => fs.readFileSync(path.join(outdir, s.templateFile), 'utf8')).join('\n');
    templates[stage.name] = mergeTemplates(stage.stacks);
  }
  return { outdir, stacks, stageStacks, templates, templateText };
}

function synthesizeInto(
  outdir: string,
  environments: readonly string[],
  mutate?: (built: BuiltApp) => void,
  extraContext: Record<string, unknown> = {},
): BuiltApp {
  // No account from the environment: templates stay account-agnostic and comparable.
  delete process.env.CDK_DEFAULT_ACCOUNT;
  delete process.env.CDK_DEFAULT_REGION;
  const built = buildApp({ environments, appProps: { outdir, context: { ...cdkJsonContext(), ...extraContext } } });
  mutate?.(built);
  built.app.synth();
  return built;
}

/**
 * Builds and synthesizes the app for `environments` into a fresh directory.
 * `mutate` may change the app before synthesis (tests of the checks).
 */
export function synthesize(
  environments: string[] = ['dev', 'staging', 'prod'],
  mutate?: (built: BuiltApp) => void,
  extraContext: Record<string, unknown> = {},
): Synthesized & { readonly built: BuiltApp } {
  // As deep below the temporary directory as the shared synth's: bundles' source maps name the project relative
  // to the assembly, so only assemblies at the same depth can be compared byte for byte.
  const outdir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-out-')), 'cdk.out');
  const built = synthesizeInto(outdir, environments, mutate, extraContext);
  return { ...readSynthesized(outdir), built };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The app as shipped, every stage, synthesized once per test run (see the header). */
export async function synthesizedApp(): Promise<Synthesized> {
  const runDir = process.env.SAAS_TEST_RUN_DIR ?? fs.mkdtempSync(path.join(os.tmpdir(), 'saas-test-run-'));
  const outdir = path.join(runDir, 'cdk.out');
  const done = path.join(runDir, 'synth.done');
  const failed = path.join(runDir, 'synth.failed');
  let mine = true;
  try {
    fs.mkdirSync(path.join(runDir, 'synth.lock'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    mine = false;
  }
  if (mine) {
    try {
      synthesizeInto(outdir, ['dev', 'staging', 'prod']);
      fs.writeFileSync(done, '');
    } catch (error) {
      fs.writeFileSync(failed, String((error as Error).stack ?? error));
      throw error;
    }
  } else {
    // Another test file is synthesizing it.
    for (const giveUp = Date.now() + 10 * 60_000; !fs.existsSync(done); await sleep(200)) {
      if (fs.existsSync(failed)) throw new Error(`the shared synth failed in another test file:\n${fs.readFileSync(failed, 'utf8')}`);
      if (Date.now() > giveUp) throw new Error(`the shared synth in ${runDir} did not finish within 10 minutes`);
    }
  }
  return readSynthesized(outdir);
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
