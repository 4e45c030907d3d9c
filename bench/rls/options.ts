/**
 * Benchmark options from command-line flags (`--tasks 20000` or `--tasks=20000`) and environment variables
 * (`BENCH_TASKS=20000`); flags win. Bad values fail with the option named.
 */
import type { ServerTarget } from './database';
import type { DatasetSize } from './tenants';

export interface BenchOptions {
  /** Data set sizes. */
  readonly size: DatasetSize;
  /** setseed() value for the generator, in [-1, 1]. */
  readonly seed: number;
  /** Measured runs per tenant-scoped query and variant. */
  readonly iterations: number;
  /** Discarded warm-up runs per tenant-scoped query and variant. */
  readonly warmup: number;
  /** k-NN query vectors per probe tenant. */
  readonly knnQueries: number;
  /** Neighbours per k-NN query (recall@k). */
  readonly k: number;
  /** Rows inserted (and updated) per write-path variant. */
  readonly writeRows: number;
  /**
   * Where the JSON result goes (relative to the repository root), or null for nowhere. When not given:
   * bench/results/rls.json on PGlite, bench/results/rls-postgresql.json on a server.
   */
  readonly out: string | null;
  /** The PostgreSQL server to run on (`--database-url`, `--admin-url`), or null for PGlite. */
  readonly server: ServerTarget | null;
}

/** The JSON file of a run on a server, when `--out` is not given (PGlite's is DEFAULT_OPTIONS.out). */
export const SERVER_OUT = 'bench/results/rls-postgresql.json';

/** The defaults: the sizes of issue 7, finishing in a few minutes on two cores. */
export const DEFAULT_OPTIONS: BenchOptions = {
  size: {
    organizations: 1000,
    users: 20_000,
    tasks: 200_000,
    results: 20_000,
    auditLogs: 100_000,
    sessionsPerUser: 2,
    probeShares: [0.1, 0.01, 0.001],
  },
  seed: 0.42,
  iterations: 300,
  warmup: 30,
  knnQueries: 50,
  k: 10,
  writeRows: 2000,
  out: 'bench/results/rls.json',
  server: null,
};

/** The options being parsed, with the server's parts gathered apart until they are checked together. */
type Draft = Mutable<Omit<BenchOptions, 'server'>> & { databaseUrl?: string; adminUrl?: string; keepDatabase?: boolean; outGiven?: boolean };

interface Spec {
  readonly flag: string;
  readonly env: string;
  readonly help: string;
  /** A flag without a value (`--keep-database`); its variable takes 1/true/yes or 0/false/no. */
  readonly switch?: boolean;
  readonly apply: (options: Draft, value: string) => void;
}
type Mutable<T> = { -readonly [K in keyof T]: T[K] extends object ? Mutable<T[K]> : T[K] };

const postgresUrl = (flag: string) => (value: string): string => {
  let protocol: string | undefined;
  try {
    protocol = new URL(value).protocol;
  } catch {
    protocol = undefined;
  }
  if (protocol !== 'postgres:' && protocol !== 'postgresql:') throw new RangeError(`--${flag} must be a postgres:// URL`);
  return value;
};

const integer = (name: string, min: number) => (value: string): number => {
  const parsed = Number(value);
  if (!/^\d+$/.test(value.replaceAll('_', '')) || !Number.isSafeInteger(parsed) || parsed < min) {
    throw new RangeError(`--${name} must be an integer of at least ${min}, got "${value}"`);
  }
  return parsed;
};

const sizeSpec = (flag: string, field: keyof Omit<DatasetSize, 'probeShares'>, min: number, help: string): Spec => ({
  flag,
  env: `BENCH_${flag.toUpperCase().replaceAll('-', '_')}`,
  help,
  apply: (options, value) => {
    options.size[field] = integer(flag, min)(value.replaceAll('_', ''));
  },
});

const SPECS: Spec[] = [
  sizeSpec('orgs', 'organizations', 4, 'organizations (the first three are the 10 %, 1 % and 0.1 % probe tenants)'),
  sizeSpec('users', 'users', 4, 'users (at least one per organization)'),
  sizeSpec('tasks', 'tasks', 4, 'agent_tasks rows'),
  sizeSpec('results', 'results', 3, 'agent_results rows with 1536-dimension embeddings'),
  sizeSpec('audit-logs', 'auditLogs', 0, 'synthetic audit_logs rows'),
  sizeSpec('sessions-per-user', 'sessionsPerUser', 0, 'sessions per user'),
  { flag: 'iterations', env: 'BENCH_ITERATIONS', help: 'measured runs per tenant-scoped query variant', apply: (o, v) => { o.iterations = integer('iterations', 1)(v); } },
  { flag: 'warmup', env: 'BENCH_WARMUP', help: 'discarded warm-up runs per query variant', apply: (o, v) => { o.warmup = integer('warmup', 0)(v); } },
  { flag: 'knn-queries', env: 'BENCH_KNN_QUERIES', help: 'k-NN query vectors per probe tenant', apply: (o, v) => { o.knnQueries = integer('knn-queries', 1)(v); } },
  { flag: 'k', env: 'BENCH_K', help: 'neighbours per k-NN query', apply: (o, v) => { o.k = integer('k', 1)(v); } },
  { flag: 'write-rows', env: 'BENCH_WRITE_ROWS', help: 'rows per write-path variant', apply: (o, v) => { o.writeRows = integer('write-rows', 1)(v); } },
  {
    flag: 'seed',
    env: 'BENCH_SEED',
    help: 'generator seed in [-1, 1]',
    apply: (o, v) => {
      const seed = Number(v);
      if (v.trim() === '' || !Number.isFinite(seed) || seed < -1 || seed > 1) throw new RangeError(`--seed must be a number in [-1, 1], got "${v}"`);
      o.seed = seed;
    },
  },
  {
    flag: 'out',
    env: 'BENCH_OUT',
    help: 'JSON output path ("-" for none)',
    apply: (o, v) => {
      if (v.trim() === '') throw new RangeError('--out must be a path, or "-" for no JSON file');
      o.out = v === '-' ? null : v;
      o.outGiven = true;
    },
  },
  {
    flag: 'database-url',
    env: 'BENCH_DATABASE_URL',
    help: `run on this PostgreSQL server as the schema's owner (NOSUPERUSER, CREATEDB: the Aurora master), in a scratch database it creates and drops; needs --admin-url; default JSON ${SERVER_OUT}`,
    apply: (o, v) => { o.databaseUrl = postgresUrl('database-url')(v); },
  },
  {
    flag: 'admin-url',
    env: 'BENCH_ADMIN_URL',
    help: 'a superuser login on the same server: generates the data set and runs the owner\'s side without RLS',
    apply: (o, v) => { o.adminUrl = postgresUrl('admin-url')(v); },
  },
  {
    flag: 'keep-database',
    env: 'BENCH_KEEP_DATABASE',
    switch: true,
    help: 'keep the scratch database at the end, to look at it (with --database-url)',
    apply: (o, v) => {
      if (!/^(1|true|yes|0|false|no)$/i.test(v)) throw new RangeError(`--keep-database takes no value (BENCH_KEEP_DATABASE: 1 or 0), got "${v}"`);
      o.keepDatabase = /^(1|true|yes)$/i.test(v);
    },
  },
];

/** The usage text. */
export function usage(): string {
  const width = Math.max(...SPECS.map((s) => s.flag.length)) + 2;
  const lines = SPECS.map((s) => `  --${s.flag.padEnd(width)} ${s.help} (env ${s.env})`);
  return ['Usage: npm run bench -- [options]', '', ...lines, '  --help'.padEnd(width + 5) + ' this text'].join('\n');
}

/** Parses flags over environment variables over the defaults. Throws RangeError naming the bad option. */
export function parseOptions(argv: readonly string[], env: NodeJS.ProcessEnv = {}): BenchOptions | 'help' {
  const draft = structuredClone(DEFAULT_OPTIONS) as unknown as Draft;
  for (const spec of SPECS) {
    const value = env[spec.env];
    if (value !== undefined) spec.apply(draft, value);
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') return 'help';
    const match = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    const spec = match && SPECS.find((s) => s.flag === match[1]);
    if (!match || !spec) throw new RangeError(`unknown option "${arg}"\n\n${usage()}`);
    if (spec.switch) {
      if (match[2] !== undefined) throw new RangeError(`--${spec.flag} takes no value`);
      spec.apply(draft, 'true');
      continue;
    }
    const value = match[2] ?? argv[++i];
    if (value === undefined) throw new RangeError(`--${spec.flag} needs a value`);
    spec.apply(draft, value);
  }
  return finish(draft);
}

/** Checks the server's options together and settles the default output file. */
function finish(draft: Draft): BenchOptions {
  const { databaseUrl, adminUrl, keepDatabase, outGiven, ...options } = draft;
  if (databaseUrl && !adminUrl) throw new RangeError('--database-url needs --admin-url: a superuser login on the same server, to generate the data and read without RLS');
  if (adminUrl && !databaseUrl) throw new RangeError('--admin-url needs --database-url: the owner the benchmark runs as');
  if (keepDatabase && !databaseUrl) throw new RangeError('--keep-database applies to a server run (--database-url)');
  const server = databaseUrl && adminUrl ? { databaseUrl, adminUrl, keepDatabase: keepDatabase ?? false } : null;
  return { ...options, out: server && !outGiven ? SERVER_OUT : options.out, server };
}
