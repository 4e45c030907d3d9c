/**
 * Budget of the migration function, measured on the bundle CDK writes to cdk.out:
 *   - size of the unzipped bundle, SQL included (target: under 1 MB)
 *   - cold init: the time Node takes to load the bundle's module (target: under 300 ms), the AWS SDK resolved
 *     from node_modules as the Lambda runtime provides it
 * Run: npm run bench:lambda   (writes bench/results/migration-lambda.json)
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { buildApp } from '../lib/app';
import { median } from './stats';

const ROOT = join(__dirname, '..');
const RUNS = Number(process.env.BENCH_RUNS ?? 15);

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)]);
}

function synthesizeBundle(environment: string): string {
  const outdir = mkdtempSync(join(tmpdir(), 'bench-lambda-'));
  const context = JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')).context;
  const { app, stages } = buildApp({ environments: [environment], appProps: { outdir, context } });
  const assembly = app.synth();
  const stage = Object.values(stages)[0]!;
  const stack = assembly.getNestedAssembly(stage.artifactId).getStackArtifact(stage.dataTier.artifactId);
  const template = JSON.parse(readFileSync(stack.templateFullPath, 'utf8'));
  const [, fn] = Object.entries(template.Resources as Record<string, { Type: string; Properties: { Code: { S3Key: string } } }>)
    .find(([id, r]) => r.Type === 'AWS::Lambda::Function' && id.startsWith('MigrationsFunction'))!;
  const name = `asset.${fn.Properties.Code.S3Key.replace(/\.zip$/, '')}`;
  const dirs = [outdir, ...readdirSync(outdir).filter((d) => d.startsWith('assembly-')).map((d) => join(outdir, d))];
  const dir = dirs.map((d) => join(d, name)).find((d) => { try { return statSync(d).isDirectory(); } catch { return false; } });
  if (!dir) throw new Error(`bundle ${name} not found in ${outdir}`);
  return dir;
}

/** One cold start: a fresh Node process loads the handler module; the time is measured inside it. */
function coldInitMs(bundle: string): number {
  const script = `const t=process.hrtime.bigint();require(${JSON.stringify(join(bundle, 'index.js'))});` +
    'process.stdout.write(String(Number(process.hrtime.bigint()-t)/1e6))';
  const out = execFileSync(process.execPath, ['-e', script], {
    // The runtime provides the AWS SDK v3; here it comes from the project's node_modules.
    env: { ...process.env, NODE_PATH: join(ROOT, 'node_modules'), NODE_EXTRA_CA_CERTS: '', NODE_OPTIONS: '' },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return Number(out);
}

function main(): void {
  const results: Record<string, unknown> = { measuredAt: new Date().toISOString(), node: process.version, runs: RUNS, stages: {} };
  for (const environment of ['dev', 'prod']) {
    const bundle = synthesizeBundle(environment);
    const files = filesUnder(bundle).map((file) => ({ file: relative(bundle, file), bytes: statSync(file).size }));
    const total = files.reduce((sum, f) => sum + f.bytes, 0);
    const withoutMaps = files.filter((f) => !f.file.endsWith('.map')).reduce((sum, f) => sum + f.bytes, 0);
    const sql = files.filter((f) => f.file.endsWith('.sql')).reduce((sum, f) => sum + f.bytes, 0);
    coldInitMs(bundle); // warm the file cache once; every measured run is still a new process
    const inits = Array.from({ length: RUNS }, () => coldInitMs(bundle));
    const figures = {
      bundleBytes: total,
      bundleBytesWithoutSourceMaps: withoutMaps,
      sqlBytes: sql,
      files: files.length,
      coldInitMsMedian: Number(median(inits).toFixed(1)),
      coldInitMsMax: Number(Math.max(...inits).toFixed(1)),
      targets: { bundleBytes: 1_000_000, coldInitMs: 300 },
      meetsTargets: total < 1_000_000 && median(inits) < 300,
    };
    (results.stages as Record<string, unknown>)[environment] = figures;
    console.log(`${environment.padEnd(5)} bundle ${(total / 1024).toFixed(0)} KiB (${(withoutMaps / 1024).toFixed(0)} KiB without source maps, ` +
      `${(sql / 1024).toFixed(0)} KiB SQL, ${files.length} files)  cold init median ${figures.coldInitMsMedian} ms, ` +
      `max ${figures.coldInitMsMax} ms over ${RUNS} runs  targets: < 1 MB, < 300 ms -> ${figures.meetsTargets ? 'met' : 'MISSED'}`);
  }
  mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
  writeFileSync(join(ROOT, 'bench', 'results', 'migration-lambda.json'), `${JSON.stringify(results, null, 2)}\n`);
}

main();
