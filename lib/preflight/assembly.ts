/**
 * What the preflight knows before it calls AWS: the stacks of one stage as `cdk deploy` would synthesize them,
 * read back from the cloud assembly (templates, environment, bootstrap requirements). Every stack of the stage
 * is read, whatever it is called: the facts come from the templates, not from configuration fields.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildApp } from '../app';
import { ENVIRONMENT_NAMES, isEnvironmentName } from '../config';
import { STAGE_IDS } from '../environment-stage';

/** A CloudFormation template as JSON. */
export type Template = { Resources?: Record<string, { Type: string; Properties?: Record<string, unknown> }> } & Record<string, unknown>;

/** One stack of the stage. */
export interface StageStack {
  /** Display name, `Dev/DataTier`. */
  readonly displayName: string;
  /** CloudFormation stack name, `saas-dev-data-tier`. */
  readonly stackName: string;
  /** The pinned account, or undefined when the template is account-agnostic. */
  readonly account?: string;
  /** The region, or undefined when the template is region-agnostic. */
  readonly region?: string;
  readonly template: Template;
  /** Lowest bootstrap version the stack and its assets need to deploy (the manifest's `requiresBootstrapStackVersion`). */
  readonly requiresBootstrapVersion?: number;
  /** The SSM parameter holding the bootstrap version, `/cdk-bootstrap/<qualifier>/version`. */
  readonly bootstrapVersionParameter?: string;
}

/** Thrown for a stage the app does not have: the message names the known ones. */
export class UnknownStageError extends Error {
  constructor(stage: string) {
    super(`unknown stage "${stage}": expected one of ${ENVIRONMENT_NAMES.join(', ')}`);
    this.name = 'UnknownStageError';
  }
}

interface ManifestArtifact {
  type: string;
  environment?: string;
  displayName?: string;
  properties?: Record<string, unknown>;
}

/**
 * Synthesizes `stage` in-process, as `cdk deploy` does (the context of cdk.json; CDK_DEFAULT_ACCOUNT and
 * CDK_DEFAULT_REGION set to `env`, as the CLI sets them from the credentials), into a temporary directory that is removed afterwards.
 * @throws UnknownStageError for a stage the app does not have
 */
export function synthesizeStage(stage: string, projectRoot: string, env: { account: string; region: string }): StageStack[] {
  if (!isEnvironmentName(stage)) throw new UnknownStageError(stage);
  // What the CDK CLI sets from the credentials before it runs the app: a stage without a pinned account
  // synthesizes for this one, as it will deploy.
  const saved = { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION };
  process.env.CDK_DEFAULT_ACCOUNT = env.account;
  process.env.CDK_DEFAULT_REGION = env.region;
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'preflight-cdk-out-'));
  try {
    const cdkJson = JSON.parse(fs.readFileSync(path.join(projectRoot, 'cdk.json'), 'utf8')) as { context?: Record<string, unknown> };
    // No Lambda bundling: the templates' properties do not depend on the bundles (only asset hashes do),
    // and esbuild's output would be mixed into the report.
    const context = { ...cdkJson.context, 'aws:cdk:bundling-stacks': [] };
    buildApp({ environments: [stage], appProps: { outdir, context } }).app.synth();
    return readStageStacks(outdir, STAGE_IDS[stage]);
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
    restoreEnv('CDK_DEFAULT_ACCOUNT', saved.account);
    restoreEnv('CDK_DEFAULT_REGION', saved.region);
  }
}

/** The stacks of stage `stageId` (`Dev`) in the cloud assembly at `outdir`. */
export function readStageStacks(outdir: string, stageId: string): StageStack[] {
  const root = readManifest(outdir);
  const nested = Object.entries(root).find(
    ([id, a]) => a.type === 'cdk:cloud-assembly' && (a.properties?.displayName ?? id) === stageId,
  );
  if (!nested) throw new Error(`the cloud assembly in ${outdir} has no stage ${stageId}`);
  const dir = path.join(outdir, String(nested[1].properties?.directoryName ?? nested[0]));
  const artifacts = readManifest(dir);
  const stacks: StageStack[] = [];
  for (const [id, artifact] of Object.entries(artifacts)) {
    if (artifact.type !== 'aws:cloudformation:stack') continue;
    const props = artifact.properties ?? {};
    const [, account, region] = /^aws:\/\/([^/]+)\/(.+)$/.exec(artifact.environment ?? '') ?? [];
    // The stack and each of its asset manifests may require a bootstrap version; the deploy needs the highest.
    const assetManifests = ((props.additionalDependencies as string[] | undefined) ?? [])
      .map((dep) => artifacts[dep])
      .filter((a) => a?.type === 'cdk:asset-manifest');
    const versions = [props, ...assetManifests.map((a) => a.properties ?? {})]
      .map((p) => p.requiresBootstrapStackVersion)
      .filter((v): v is number => typeof v === 'number');
    stacks.push({
      displayName: artifact.displayName ?? id,
      stackName: String(props.stackName ?? id),
      ...(account && account !== 'unknown-account' ? { account } : {}),
      ...(region && region !== 'unknown-region' ? { region } : {}),
      template: JSON.parse(fs.readFileSync(path.join(dir, String(props.templateFile)), 'utf8')) as Template,
      ...(versions.length > 0 ? { requiresBootstrapVersion: Math.max(...versions) } : {}),
      ...(typeof props.bootstrapStackVersionSsmParameter === 'string'
        ? { bootstrapVersionParameter: props.bootstrapStackVersionSsmParameter }
        : {}),
    });
  }
  if (stacks.length === 0) throw new Error(`stage ${stageId} has no stacks`);
  return stacks;
}

function restoreEnv(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}

function readManifest(dir: string): Record<string, ManifestArtifact> {
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as { artifacts?: Record<string, ManifestArtifact> };
  return manifest.artifacts ?? {};
}
