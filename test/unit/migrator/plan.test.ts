import { toMigrationError } from '../../../lambda/migrator/apply';
import { MigrationError } from '../../../lambda/migrator/errors';
import { parseSqlFiles, type SqlFile } from '../../../lambda/migrator/files';
import type { AppliedFile, History } from '../../../lambda/migrator/history';
import { planRun, progressChecksum } from '../../../lambda/migrator/plan';
import { statusExitCode } from '../../../lib/db-cli/commands';

const migrations = (...specs: Array<[string, string]>) => parseSqlFiles(specs.map(([fileName, text]) => ({ fileName, text })), 'migration');
const seeds = (...specs: Array<[string, string]>) => parseSqlFiles(specs.map(([fileName, text]) => ({ fileName, text })), 'seed');

function row(file: SqlFile, overrides: Partial<AppliedFile> = {}): AppliedFile {
  return {
    kind: file.kind,
    version: file.version,
    name: file.name,
    path: file.fileName,
    checksum: file.checksum,
    appliedAt: '2026-01-01T00:00:00Z',
    appliedBy: 'postgres',
    durationMs: 1,
    runnerVersion: '1.0.0',
    ...overrides,
  };
}
const history = (...applied: AppliedFile[]): History => ({ format: 1, applied });

describe('planRun', () => {
  const files = migrations(['001_a.sql', 'SELECT 1;'], ['002_b.sql', 'SELECT 2;'], ['003_c.sql', 'SELECT 3;']);

  it('runs everything on a new database, nothing on an up-to-date one', () => {
    expect(planRun(files, undefined, undefined).steps.map((s) => s.file.version)).toEqual([1, 2, 3]);
    const upToDate = planRun(files, undefined, history(...files.map((f) => row(f))));
    expect(upToDate.steps).toEqual([]);
    expect(upToDate.currentVersion).toBe(3);
    expect(upToDate.error).toBeUndefined();
  });

  it('stops on drift, naming every edited file', () => {
    const plan = planRun(files, undefined, history(row(files[0], { checksum: 'x' }), row(files[1], { checksum: 'y' })));
    expect(plan.error?.code).toBe('drift');
    expect(plan.error?.files).toEqual(['001_a.sql', '002_b.sql']);
    expect(plan.migrations.map((m) => m.state)).toEqual(['drifted', 'drifted', 'pending']);
  });

  it('treats a renamed applied file as drift', () => {
    const plan = planRun(files, undefined, history(row(files[0], { name: 'old', path: '001_old.sql' })));
    expect(plan.error?.code).toBe('drift');
    expect(plan.migrations[0].note).toContain('001_old.sql');
  });

  it('refuses out-of-order files unless allowed', () => {
    const h = history(row(files[0]), row(files[2]));
    const refused = planRun(files, undefined, h);
    expect(refused.error?.code).toBe('out_of_order');
    expect(refused.migrations[1].state).toBe('out_of_order');
    const allowed = planRun(files, undefined, h, { allowOutOfOrder: true });
    expect(allowed.error).toBeUndefined();
    expect(allowed.steps.map((s) => s.file.version)).toEqual([2]);
    expect(allowed.warnings.join()).toContain('out of order');
  });

  it('tolerates unknown applied versions with a warning, and refuses them in strict mode', () => {
    const h = history(...files.map((f) => row(f)), { ...row(files[2]), version: 4, name: 'd', path: '004_d.sql' });
    const lenient = planRun(files, undefined, h);
    expect(lenient.error).toBeUndefined();
    expect(lenient.warnings[0]).toContain('4 (004_d.sql)');
    expect(lenient.currentVersion).toBe(4);
    expect(planRun(files, undefined, h, { strict: true }).error?.code).toBe('unknown_versions');
  });

  it('resumes a part-done no-transaction file when the statements already run are unchanged', () => {
    const [noTx] = migrations(['004_idx.sql', '-- migrate:no-transaction\nCREATE INDEX CONCURRENTLY a ON t (a);\nCREATE INDEX CONCURRENTLY b ON t (b);']);
    const partial = row(noTx, { statementsDone: 1, progressChecksum: progressChecksum(noTx.statements.slice(0, 1)) });
    const plan = planRun([noTx], undefined, history(partial));
    expect(plan.steps).toEqual([expect.objectContaining({ action: 'resume', skipStatements: 1 })]);
    expect(plan.currentVersion).toBeUndefined();

    const [edited] = migrations(['004_idx.sql', '-- migrate:no-transaction\nCREATE INDEX CONCURRENTLY a2 ON t (a);\nCREATE INDEX CONCURRENTLY b ON t (b);']);
    expect(planRun([edited], undefined, history(partial)).error?.code).toBe('drift');
    // Editing the statements not yet run is fine: they have not run.
    const [later] = migrations(['004_idx.sql', '-- migrate:no-transaction\nCREATE INDEX CONCURRENTLY a ON t (a);\nCREATE INDEX CONCURRENTLY b2 ON t (b);']);
    expect(planRun([later], undefined, history(partial)).steps[0].action).toBe('resume');
  });

  it('applies new seeds after migrations and re-applies changed ones', () => {
    const s = seeds(['001_data.sql', 'SELECT 1;'], ['002_more.sql', 'SELECT 2;']);
    const plan = planRun(files, s, history(...files.map((f) => row(f)), row(s[0], { checksum: 'old' }), row(s[1])));
    expect(plan.error).toBeUndefined();
    expect(plan.steps.map((x) => [x.file.kind, x.file.version, x.action])).toEqual([['seed', 1, 'reapply']]);
    const fresh = planRun(files, s, undefined);
    expect(fresh.steps.map((x) => `${x.file.kind}${x.file.version}`)).toEqual(['migration1', 'migration2', 'migration3', 'seed1', 'seed2']);
  });

  it('leaves seeds out entirely when they are not in play', () => {
    const plan = planRun(files, undefined, history(...files.map((f) => row(f))));
    expect(plan.seeds).toEqual([]);
  });
});

describe('status exit codes', () => {
  const files = migrations(['001_a.sql', 'SELECT 1;'], ['002_b.sql', 'SELECT 2;']);
  const inspect = (h: History | undefined) => ({ ...planRun(files, undefined, h), initialized: h !== undefined });
  it('say up to date, pending, drift or unknown', () => {
    expect(statusExitCode(inspect(history(row(files[0]), row(files[1]))))).toBe(0);
    expect(statusExitCode(inspect(history(row(files[0]))))).toBe(2);
    expect(statusExitCode(inspect(history(row(files[0], { checksum: 'x' }))))).toBe(3);
    expect(statusExitCode(inspect(history(row(files[0]), row(files[1]), { ...row(files[1]), version: 9 })))).toBe(4);
  });
});

describe('toMigrationError', () => {
  const [file] = migrations(['003_x.sql', '-- header\nCREATE TABLE a (id int);\n\nSELECT *\n  FROM missing_table;\nDO $$\nBEGIN\n  RAISE EXCEPTION \'boom\';\nEND\n$$;']);
  const pgError = (fields: Record<string, string>) => Object.assign(new Error(fields.message), fields);

  it('maps a Postgres position in a statement to the file line and column', () => {
    const statement = file.statements[1];
    const err = toMigrationError(pgError({ message: 'relation "missing_table" does not exist', code: '42P01', position: '17' }), file, statement);
    expect(err).toBeInstanceOf(MigrationError);
    expect([err.file, err.line, err.column, err.sqlState, err.statementLine]).toEqual(['003_x.sql', 5, 8, '42P01', 4]);
    expect(err.reason).toBe('003_x.sql:5:8: ERROR 42P01: relation "missing_table" does not exist');
  });

  it('maps a PL/pgSQL line in a DO block through the where field', () => {
    const statement = file.statements[2];
    const err = toMigrationError(pgError({ message: 'boom', code: 'P0001', where: 'PL/pgSQL function inline_code_block line 3 at RAISE' }), file, statement);
    expect(err.line).toBe(8);
    expect(err.statementLine).toBe(6);
  });

  it('falls back to the statement line, and keeps the reason under 4 KB', () => {
    const err = toMigrationError(pgError({ message: 'x'.repeat(10000), code: '23505', detail: 'Key (id)=(1) already exists.' }), file, file.statements[0]);
    expect(err.line).toBe(2);
    expect(err.reason.length).toBeLessThan(4096);
  });
});
