import { inspect, migrate, MigrationError, type SqlClient } from '../../../lambda/migrator';
import { loadRunFiles } from '../../../lambda/migrator/migrate';

const sources = (...specs: Array<[string, string]>) => specs.map(([fileName, text]) => ({ fileName, text }));

describe('migrate deadline', () => {
  it('stops waiting for a database that no longer answers, shortly after the deadline', async () => {
    const calls: string[] = [];
    // A database never migrated (the first history read, without the lock, finds no history), which stops
    // answering once the runner holds the lock.
    const hanging: SqlClient = {
      async query<R>(text: string) {
        calls.push(text);
        if (calls.length === 1) throw Object.assign(new Error('schema "migration_history" does not exist'), { code: '3F000' });
        if (text.includes('pg_try_advisory_lock')) return { rows: [{ locked: true } as R] };
        if (text.includes('pg_advisory_unlock')) return { rows: [{} as R] };
        return new Promise<never>(() => {});
      },
      execute: () => new Promise<never>(() => {}),
    };
    const started = Date.now();
    const err = await migrate(hanging, { migrations: sources(['001_a.sql', 'SELECT 1;']), deadline: Date.now() + 200 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MigrationError);
    expect((err as MigrationError).code).toBe('deadline');
    expect(Date.now() - started).toBeLessThan(5000);
    expect(calls.some((c) => c.includes('pg_try_advisory_lock'))).toBe(true);
    // The lock is still released.
    expect(calls.at(-1)).toContain('pg_advisory_unlock');
  });
});

describe('loadRunFiles', () => {
  it('does not parse seeds that will not run, so a broken seed cannot stop a deploy that forbids seeds', async () => {
    const options = { migrations: sources(['001_a.sql', 'SELECT 1;']), seeds: sources(['001_broken.sql', "SELECT 'unterminated"]) };
    const files = loadRunFiles({ ...options, allowSeeds: false });
    expect(files.seeds).toBeUndefined();
    expect(files.seedFilesIgnored).toEqual([{ kind: 'seed', version: 1, path: '001_broken.sql' }]);
    expect(() => loadRunFiles({ ...options, allowSeeds: true })).toThrow(/unterminated quoted string/);
  });
});

describe('inspect', () => {
  it('checks every statement, as plan, status and verify must', async () => {
    const neverMigrated: SqlClient = {
      async query() {
        throw Object.assign(new Error('schema "migration_history" does not exist'), { code: '3F000' });
      },
      async execute() {},
    };
    const options = { migrations: sources(['001_a.sql', 'SELECT 1;'], ['002_b.sql', "SELECT 'oops"]) };
    const err = await inspect(neverMigrated, options).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MigrationError);
    expect(err).toMatchObject({ code: 'invalid_file', file: '002_b.sql', line: 1, column: 8 });
  });
});
