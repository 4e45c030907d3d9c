#!/usr/bin/env node
/**
 * The audit report of the synthesized data tier, for auditors and pipelines.
 *
 *   npm run audit                                 # synthesize every stage, write audit/report.{md,json}
 *   npm run audit -- --assembly cdk.out           # audit an assembly synthesized elsewhere (CI's artifact)
 *   npm run audit -- --assembly cdk.out --out dir # write the report somewhere else
 *   npm run audit -- --migrations dir             # the database section from other migrations
 *
 * The report is built from the cloud assembly, and its database section from
 * the migrations applied to an empty embedded database (lib/audit/database.ts).
 * Exit status: 0 when every stage and the database pass, 1 when one fails (the
 * report says why), 2 when the audit could not run.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildApp } from '../lib/app';
import { auditAssembly, auditDatabase, readCloudAssembly, renderJson, renderMarkdown } from '../lib/audit';

const ROOT = path.resolve(__dirname, '..', ...(path.basename(path.resolve(__dirname, '..')) === 'dist' ? ['..'] : []));
const USAGE = 'usage: npm run audit -- [--assembly <cdk.out>] [--out <directory>] [--migrations <directory>]';

interface Options {
  assembly?: string;
  out: string;
  migrations: string;
}

function parseArgs(argv: string[]): Options {
  const options: Options = { out: path.join(ROOT, 'audit'), migrations: path.join(ROOT, 'migrations') };
  for (let i = 0; i < argv.length; i++) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (flag === '--help' || flag === '-h') {
      console.log(USAGE);
      process.exit(0);
    }
    if ((flag === '--assembly' || flag === '--out' || flag === '--migrations') && value && !value.startsWith('--')) {
      if (flag === '--assembly') options.assembly = path.resolve(value);
      else if (flag === '--migrations') options.migrations = path.resolve(value);
      else options.out = path.resolve(value);
      i++;
      continue;
    }
    throw new Error(`unexpected argument "${flag}"${flag.startsWith('--') ? ' (or its value is missing)' : ''}\n${USAGE}`);
  }
  return options;
}

/**
 * Synthesizes every stage into `outdir` as `cdk synth` does (the app of
 * bin/app.ts, the context of cdk.json), but in-process and without an AWS
 * account, so the report does not depend on whose credentials are around.
 * A failing compliance check still leaves the assembly, which is audited.
 */
function synthesize(outdir: string): void {
  delete process.env.CDK_DEFAULT_ACCOUNT;
  delete process.env.CDK_DEFAULT_REGION;
  const context = (JSON.parse(fs.readFileSync(path.join(ROOT, 'cdk.json'), 'utf8')) as { context?: Record<string, unknown> }).context ?? {};
  try {
    buildApp({ appProps: { outdir, context } }).app.synth();
  } catch (error) {
    if (!fs.existsSync(path.join(outdir, 'manifest.json'))) throw error;
    console.error(`synth failed (${(error as Error).message.split('\n')[0]}); auditing what it wrote`);
  }
}

async function main(): Promise<number> {
  const options = parseArgs(process.argv.slice(2));
  let assembly = options.assembly;
  let temporary: string | undefined;
  if (!assembly) {
    temporary = fs.mkdtempSync(path.join(os.tmpdir(), 'audit-cdk-out-'));
    assembly = temporary;
    synthesize(assembly);
  }
  try {
    // Named relative to the project in the report, so it reads the same on every machine.
    const database = await auditDatabase(options.migrations, path.relative(ROOT, options.migrations) || '.');
    const report = auditAssembly(readCloudAssembly(assembly), database);
    fs.mkdirSync(options.out, { recursive: true });
    fs.writeFileSync(path.join(options.out, 'report.json'), renderJson(report));
    fs.writeFileSync(path.join(options.out, 'report.md'), renderMarkdown(report));
    for (const stage of report.stages) {
      const m = stage.summary;
      console.log(
        `${stage.stage}: ${stage.passed ? 'passed' : `FAILED (${m.failures})`} — ${m.dataStores} data stores, ` +
          `${m.databaseIngressRules} database ingress rules, ${m.wildcardStatements} wildcard statements, ` +
          `${m.secretsRotated}/${m.secrets} secrets rotated, ${m.acknowledgements} acknowledgements`,
      );
      for (const failure of stage.failures) console.log(`  - ${failure.kind}: ${failure.message}`);
    }
    console.log(
      `database: ${database.passed ? 'passed' : `FAILED (${database.failures.length})`} — ${database.tables.length} tables, ` +
        `${database.tables.reduce((n, t) => n + t.policies.length, 0)} policies, ${database.functions.length} functions ` +
        `(${database.functions.filter((f) => f.securityDefiner).length} SECURITY DEFINER), ${database.roles.length} roles`,
    );
    for (const failure of database.failures) console.log(`  - ${failure.kind}: ${failure.message}`);
    console.log(`report written to ${path.relative(process.cwd(), options.out) || '.'}/report.{md,json}`);
    return report.passed ? 0 : 1;
  } finally {
    if (temporary) fs.rmSync(temporary, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`audit: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(2);
  },
);
