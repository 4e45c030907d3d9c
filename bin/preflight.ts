#!/usr/bin/env node
/**
 * Predicts first-deploy failures of a stage with read-only AWS calls, one line per check.
 *
 *   npm run preflight -- --stage dev
 *   npm run preflight -- --stage prod --toolkit-stack-name MyToolkit
 *
 * Uses the SDK's default credentials (AWS_PROFILE, SSO, a role). Exit status: 0 when no check failed,
 * 1 when one did, 2 when the preflight could not run (arguments, unknown stage, credentials, synth).
 */
import * as path from 'node:path';
import { isEnvironmentName, loadEnvironmentConfig } from '../lib/config';
import { createClients, CredentialsError, formatResult, preflight, synthesizeStage, UnknownStageError } from '../lib/preflight';

const ROOT = path.resolve(__dirname, '..', ...(path.basename(path.resolve(__dirname, '..')) === 'dist' ? ['..'] : []));
const USAGE = 'usage: npm run preflight -- --stage <dev|staging|prod> [--toolkit-stack-name <name>]';

interface Options {
  stage: string;
  toolkitStackName: string;
}

function parseArgs(argv: string[]): Options {
  const values: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (flag === '--help' || flag === '-h') {
      console.log(USAGE);
      process.exit(0);
    }
    if ((flag === '--stage' || flag === '--toolkit-stack-name') && value && !value.startsWith('--')) {
      values[flag] = value;
      i++;
      continue;
    }
    throw new Error(`unexpected argument "${flag}"${flag.startsWith('--') ? ' (or its value is missing)' : ''}\n${USAGE}`);
  }
  if (!values['--stage']) throw new Error(`--stage is required\n${USAGE}`);
  return { stage: values['--stage'], toolkitStackName: values['--toolkit-stack-name'] ?? 'CDKToolkit' };
}

async function main(): Promise<number> {
  const options = parseArgs(process.argv.slice(2));
  if (!isEnvironmentName(options.stage)) throw new UnknownStageError(options.stage);
  const report = await preflight({
    stage: options.stage,
    region: loadEnvironmentConfig(options.stage).region,
    clientsFor: createClients,
    synthesize: (stage, env) => synthesizeStage(stage, ROOT, env),
    toolkitStackName: options.toolkitStackName,
  });
  const { account, region } = report.target;
  console.log(`preflight of stage ${report.stage}: account ${account}, region ${region}, stacks ${report.stacks.map((s) => s.stackName).join(', ')}`);
  for (const result of report.results) console.log(formatResult(result));
  const count = (status: string) => report.results.filter((r) => r.status === status).length;
  console.log(`${report.passed ? 'passed' : 'FAILED'}: ${count('PASS')} passed, ${count('FAIL')} failed, ${count('SKIP')} skipped`);
  return report.passed ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    // Expected problems get their message alone; anything else its first line too, not a stack trace.
    const known = error instanceof CredentialsError || error instanceof UnknownStageError;
    const message = error instanceof Error ? error.message : String(error);
    console.error(`preflight: ${known ? message : message.split('\n').slice(0, 8).join('\n')}`);
    process.exit(2);
  },
);
