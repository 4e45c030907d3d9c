/**
 * The `db` CLI on the embedded database with the project's own migrations and
 * seeds: migrate, status, then serve it over the wire protocol and query it
 * with `pg` as psql would. Runs the compiled dist/bin/db.js (npm test builds it).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { DB_CLI as CLI, runDbCli } from '../support/db-cli';

const ROOT = join(__dirname, '..', '..');

/** The project's files of one kind, as the CLI names them, in order. */
const projectFiles = (dir: 'migrations' | 'seeds') =>
  readdirSync(join(ROOT, dir))
    .filter((f) => f.endsWith('.sql'))
    .sort()
    .map((f) => `${dir}/${f}`);
const MIGRATIONS = projectFiles('migrations');
const SEEDS = projectFiles('seeds');
const LATEST = Number(/^migrations\/(\d+)_/.exec(MIGRATIONS[MIGRATIONS.length - 1])![1]);

describe('db CLI on the embedded database', () => {
  let dataDir: string;

  beforeAll(() => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run "npm run build" first (npm test does)`);
    dataDir = mkdtempSync(join(tmpdir(), 'db-cli-'));
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('migrates and seeds the project into .pglite-style storage, then reports it up to date', async () => {
    const migrated = await runDbCli(['migrate', '--data-dir', dataDir, '--json']);
    expect(migrated.code).toBe(0);
    const result = JSON.parse(migrated.stdout) as { applied: Array<{ kind: string; path: string }>; currentVersion: number };
    expect(result.applied.map((a) => `${a.kind}:${a.path}`)).toEqual([...MIGRATIONS.map((p) => `migration:${p}`), ...SEEDS.map((p) => `seed:${p}`)]);
    expect(result.currentVersion).toBe(LATEST);
    // One progress line per file on stderr, with its duration.
    expect(migrated.stderr.split('\n').filter((l) => / \(\d+ ms\)$/.test(l))).toHaveLength(MIGRATIONS.length + SEEDS.length);

    const status = await runDbCli(['status', '--data-dir', dataDir, '--json']);
    expect(status.code).toBe(0);
    expect((JSON.parse(status.stdout) as { exitCode: number; currentVersion: number }).currentVersion).toBe(LATEST);
  });

  it('finishes a command quietly when its reader goes away (db status | head)', async () => {
    const child = spawn(process.execPath, [CLI, 'status', '--data-dir', dataDir], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DATABASE_URL: '' } });
    child.stdout.destroy(); // the reader is gone before the CLI writes a line
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    expect(stderr).not.toMatch(/EPIPE|Error/);
    expect(code).toBe(0);
  });

  it('serves the database on 127.0.0.1 for one client and stops cleanly on SIGTERM', async () => {
    const server = spawn(process.execPath, [CLI, 'serve', '--data-dir', dataDir, '--port', '0'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    server.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => server.once('exit', (code) => resolve(code)));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        server.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres/.exec(out);
          if (m) resolve(m[0]);
        });
        void exited.then((code) => reject(new Error(`serve exited (${code}) before printing its URL: ${stderr}`)));
      });
      const client = new Client({ connectionString: url });
      await client.connect();
      try {
        const { rows } = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM organizations');
        expect(rows[0].n).toBe(3);
        const history = await client.query('SELECT count(*)::int AS n FROM migration_history.applied_files');
        expect(history.rows[0].n).toBe(MIGRATIONS.length + SEEDS.length);
      } finally {
        await client.end();
      }
    } finally {
      server.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(stderr).toContain('SIGTERM: stopping');
  });
});
