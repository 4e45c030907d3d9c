/** Command-line parsing for `db`: no dependencies, errors that name the option. */
import { parseArgs } from 'node:util';
import { parseDuration } from '../../lambda/migrator';
import { SECRET_ARN, SQL_NAME } from '../../lambda/shared/input-formats';

export const COMMANDS = ['migrate', 'plan', 'status', 'verify', 'drift', 'repair', 'serve'] as const;
export type Command = (typeof COMMANDS)[number];

export const USAGE = `Usage: npm run db -- <command> [options]

Commands:
  migrate            apply pending migrations, then new or changed seeds
  plan               show what migrate would run; changes nothing
  status             applied / pending / drifted / unknown files (exit code says which)
  verify             check the files and the checksums of everything applied
  drift              compare the live schema with what its applied migrations define (read-only)
  repair FILE...     re-record the checksums of edited, already-applied files (logged in the history)
  serve              the embedded database, migrated and seeded, on 127.0.0.1 (Ctrl-C stops it)

Options:
  --database-url URL        PostgreSQL server (default: $DATABASE_URL, else the embedded database)
  --data-dir DIR            embedded database directory (default: .pglite)
  --memory                  serve: keep the embedded database in memory only
  --port N                  serve: port (default 5432; another free port if 5432 is taken)
  --migrations DIR          migrations directory (default: migrations)
  --seeds DIR               seeds directory (default: seeds)
  --no-seeds                never apply seeds
  --allow-out-of-order      apply pending migrations older than the newest applied one
  --strict                  fail when the database has versions the files do not
  --timeout DURATION        the whole run must finish within this (default: 15min)
  --lock-timeout DURATION   lock_timeout per file unless the file sets it (default: 5s)
  --statement-timeout DUR   statement_timeout per file unless the file sets it (default: none but --timeout)
  --data-api                status, plan, verify, drift: read through the RDS Data API (no network path needed)
  --cluster-arn ARN         --data-api: the Aurora cluster
  --secret-arn ARN          --data-api: a secret of a login that may read the migration history
                            (meant to be CI's read-only login; drift reads the catalog too, which any login may)
  --database NAME           --data-api: the database (default: saas)
  --json                    machine-readable result on stdout
  -h, --help                this text

Seeds are applied by default to the embedded database and to servers on this machine; for any other
server only when --seeds is given explicitly.

Exit codes: 0 success (status: up to date); 1 error; status only: 2 pending, 3 drifted or refused
out-of-order files, 4 applied versions unknown to the files; drift only: 3 the schema differs from its
migrations (each difference is printed: extra, missing or changed).
`;

export interface CliOptions {
  readonly command: Command;
  readonly files: readonly string[];
  readonly databaseUrl?: string;
  readonly dataDir: string;
  readonly memory: boolean;
  readonly port?: number;
  readonly migrationsDir: string;
  readonly seedsDir: string;
  /** --seeds was given explicitly. */
  readonly seedsExplicit: boolean;
  readonly noSeeds: boolean;
  readonly allowOutOfOrder: boolean;
  readonly strict: boolean;
  readonly timeoutMs: number;
  readonly lockTimeoutMs: number;
  readonly statementTimeoutMs: number;
  readonly json: boolean;
  /** Read through the RDS Data API instead of a connection. */
  readonly dataApi?: { readonly clusterArn: string; readonly secretArn: string; readonly database: string };
}

export class UsageError extends Error {}

function duration(option: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const ms = parseDuration(value);
  if (ms === undefined) throw new UsageError(`--${option}: expected a duration such as 30s, 500ms or 10min (got "${value}")`);
  return ms;
}

/** Parses argv (without node and script); returns undefined for --help. */
export function parseCli(argv: readonly string[], env: NodeJS.ProcessEnv): CliOptions | undefined {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        'database-url': { type: 'string' },
        'data-dir': { type: 'string' },
        memory: { type: 'boolean' },
        port: { type: 'string' },
        migrations: { type: 'string' },
        seeds: { type: 'string' },
        'no-seeds': { type: 'boolean' },
        'allow-out-of-order': { type: 'boolean' },
        strict: { type: 'boolean' },
        timeout: { type: 'string' },
        'lock-timeout': { type: 'string' },
        'statement-timeout': { type: 'string' },
        json: { type: 'boolean' },
        'data-api': { type: 'boolean' },
        'cluster-arn': { type: 'string' },
        'secret-arn': { type: 'string' },
        database: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) return undefined;
  const [command, ...files] = positionals;
  if (!command) throw new UsageError('name a command');
  if (!(COMMANDS as readonly string[]).includes(command)) throw new UsageError(`unknown command "${command}" (commands: ${COMMANDS.join(', ')})`);
  if (command !== 'repair' && files.length > 0) throw new UsageError(`${command} takes no arguments (got ${files.join(' ')})`);
  if (command === 'repair' && files.length === 0) throw new UsageError('repair needs the files to re-record, e.g. repair migrations/003_rls_policies.sql');
  let port: number | undefined;
  if (values.port !== undefined) {
    port = Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port: expected a port number (got "${values.port}")`);
  }
  const databaseUrl = values['database-url'] ?? (env.DATABASE_URL || undefined);
  if (command === 'serve' && values['database-url']) throw new UsageError('serve runs the embedded database: --database-url does not apply');
  if (values.seeds !== undefined && values['no-seeds']) throw new UsageError('--seeds and --no-seeds contradict each other');
  const dataApi = values['data-api'] ? dataApiTarget(command, values) : undefined;
  if (!values['data-api'] && (values['cluster-arn'] || values['secret-arn'] || values.database)) {
    throw new UsageError('--cluster-arn, --secret-arn and --database go with --data-api');
  }
  return {
    command: command as Command,
    files,
    databaseUrl: command === 'serve' ? undefined : databaseUrl,
    dataDir: values['data-dir'] ?? '.pglite',
    memory: values.memory ?? false,
    port,
    migrationsDir: values.migrations ?? 'migrations',
    seedsDir: values.seeds ?? 'seeds',
    seedsExplicit: values.seeds !== undefined,
    noSeeds: values['no-seeds'] ?? false,
    allowOutOfOrder: values['allow-out-of-order'] ?? false,
    strict: values.strict ?? false,
    timeoutMs: duration('timeout', values.timeout, 15 * 60_000),
    lockTimeoutMs: duration('lock-timeout', values['lock-timeout'], 5000),
    statementTimeoutMs: duration('statement-timeout', values['statement-timeout'], 0),
    json: values.json ?? false,
    ...(dataApi ? { dataApi } : {}),
  };
}

const CLUSTER_ARN = /^arn:aws[a-z-]*:rds:[a-z0-9-]+:\d{12}:cluster:[a-z][a-z0-9-]*$/;

function dataApiTarget(command: string, values: Record<string, string | boolean | undefined>): NonNullable<CliOptions['dataApi']> {
  if (!['status', 'plan', 'verify', 'drift'].includes(command)) {
    throw new UsageError(`--data-api is read-only: it serves status, plan, verify and drift, not ${command} (the Data API has no session for the lock)`);
  }
  if (values['database-url']) throw new UsageError('--data-api and --database-url contradict each other');
  const clusterArn = values['cluster-arn'];
  const secretArn = values['secret-arn'];
  if (typeof clusterArn !== 'string' || !CLUSTER_ARN.test(clusterArn)) throw new UsageError('--cluster-arn: expected arn:aws:rds:<region>:<account>:cluster:<name>');
  if (typeof secretArn !== 'string' || !SECRET_ARN.test(secretArn)) throw new UsageError('--secret-arn: expected arn:aws:secretsmanager:<region>:<account>:secret:<name>');
  const database = typeof values.database === 'string' ? values.database : 'saas';
  if (!SQL_NAME.test(database)) throw new UsageError(`--database: "${database}" is not a database name`);
  return { clusterArn, secretArn, database };
}
