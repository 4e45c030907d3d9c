/**
 * `npm run bench`: RLS and tenant-filtered vector search, measured with the project's migrations and a generated
 * data set on an embedded PostgreSQL (PGlite, the default) or, with `--database-url OWNER_URL --admin-url
 * ADMIN_URL`, on a PostgreSQL server. Prints tables and writes bench/results/rls.json (PGlite) or
 * bench/results/rls-postgresql.json (a server); see docs/performance.md. Options: `npm run bench -- --help`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { BenchSetupError, repositoryRoot } from './rls/database';
import { parseOptions, usage } from './rls/options';
import { contextSetupLine, overheadTable, tenantQueryTable, vectorSearchTable, writePathTable } from './rls/report';
import { runRlsBench } from './rls/run';

async function main(): Promise<number> {
  let options;
  try {
    options = parseOptions(process.argv.slice(2), process.env);
  } catch (error) {
    console.error((error as Error).message);
    return 2;
  }
  if (options === 'help') {
    console.log(usage());
    return 0;
  }
  const started = performance.now();
  const log = (line: string) => console.error(`[${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}`);
  let report;
  try {
    report = await runRlsBench(options, log);
  } catch (error) {
    if (!(error instanceof BenchSetupError)) throw error;
    console.error(error.message);
    return 2;
  }

  const env = report.environment;
  console.log(`\nRLS benchmark on ${env.engine}: ${env.database}, PostgreSQL ${env.serverVersion}, pgvector ${env.pgvector}, ${env.cpus} CPUs, ` +
    `load average ${env.loadAverage.start[0].toFixed(2)} at the start and ${env.loadAverage.end[0].toFixed(2)} at the end`);
  console.log(`data: ${Object.entries(report.dataset.rows).map(([t, n]) => `${t} ${n}`).join(', ')}\n`);
  console.log('Tenant-scoped queries (p50 of the statement; app_user + RLS vs owner + hand-written filter)');
  console.log(tenantQueryTable(report.tenantQueries));
  console.log(contextSetupLine(report.contextSetup));
  console.log('\nWhere the cost of RLS goes (plain: parsed and planned each time; prepared: plan cached)');
  console.log(overheadTable(report.rlsOverhead));
  console.log('\nTenant-filtered k-NN under RLS');
  console.log(vectorSearchTable(report.vectorSearch));
  console.log('\nWrite path on agent_tasks (with: app_user and RLS; without: owner, no RLS; the table’s triggers fire on both sides)');
  console.log(writePathTable(report.writePath));
  console.log(`\ntargets: ${Object.entries(report.targets).map(([name, ok]) => `${name} ${ok ? 'pass' : 'FAIL'}`).join(', ')}`);
  console.log(`finished in ${report.durationSeconds} s`);

  if (options.out) {
    const path = resolve(repositoryRoot(), options.out);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, `${JSON.stringify(report, null, 2)}\n`);
    console.log(`wrote ${path}`);
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
