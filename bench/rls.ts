/**
 * `npm run bench`: RLS and tenant-filtered vector search, measured on an embedded PostgreSQL with the project's
 * migrations and a generated data set. Prints tables and writes bench/results/rls.json (see docs/performance.md).
 * Options: `npm run bench -- --help`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { repositoryRoot } from './rls/database';
import { parseOptions, usage } from './rls/options';
import { overheadTable, summaryLine, tenantQueryTable, vectorSearchTable, writePathTable } from './rls/report';
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
  const report = await runRlsBench(options, log);

  console.log(`\nRLS benchmark: ${report.environment.database}, PostgreSQL ${report.environment.postgres}, pgvector ${report.environment.pgvector}, ${report.environment.cpus} CPUs`);
  console.log(`data: ${Object.entries(report.dataset.rows).map(([t, n]) => `${t} ${n}`).join(', ')}\n`);
  console.log('Tenant-scoped queries (p50 of the statement; app_user + RLS vs owner + hand-written filter)');
  console.log(tenantQueryTable(report.tenantQueries));
  console.log(summaryLine('transaction set-up (SET LOCAL ROLE app_user + set_app_user), not in the ratios', report.contextSetup));
  console.log('\nWhere the cost of RLS goes (plain: parsed and planned each time; prepared: plan cached)');
  console.log(overheadTable(report.rlsOverhead));
  console.log('\nTenant-filtered k-NN under RLS');
  console.log(vectorSearchTable(report.vectorSearch));
  console.log('\nWrite path on agent_tasks (with: app_user, RLS, triggers; without: owner, no RLS, user triggers off)');
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
