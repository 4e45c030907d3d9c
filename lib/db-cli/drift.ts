/**
 * `db drift`: does the live schema still match the migrations it has applied? The history says which files ran;
 * those files, applied to an empty embedded database, say what the schema must be; both catalogs are read the same
 * way (lib/schema/describe.ts) and compared (lib/schema/drift.ts). Only the files the database has applied are
 * expected, so a database one release behind (before a deploy) shows no drift for the migrations still pending.
 *
 * Read-only: the history is read with one SELECT and the catalog in one READ ONLY transaction (over the Data API,
 * a Data API transaction that is READ ONLY and rolled back). Any login that may read the history will do: on
 * AWS, CI's read-only login.
 */
import { inspect, readSqlDirectory, parseFileName, type FileStatus, type SqlClient } from '../../lambda/migrator';
import { readSchema } from '../schema/describe';
import { compareSchemas, renderDrift, summarizeDrift, type Difference } from '../schema/drift';
import { migratedSchema } from '../schema/generate';

/** What `db drift` found. */
export interface DriftReport {
  /** No difference. */
  readonly ok: boolean;
  /** The migrations the expected schema was built from: those the database has applied. */
  readonly comparedWith: string[];
  /** Files not in the expected schema, and why (pending, or applied with other contents). */
  readonly notes: string[];
  readonly summary: ReturnType<typeof summarizeDrift>;
  readonly differences: Difference[];
}

/** A note for each file whose state makes the comparison partial. */
function noteOf(file: FileStatus): string | undefined {
  switch (file.state) {
    case 'applied':
      return undefined;
    case 'drifted':
      return `${file.path} was applied with other contents (checksum differs): its objects are compared with the file as it is now`;
    case 'partial':
      return `${file.path} was applied in part (${file.statementsDone ?? 0} statements): its objects are not expected yet`;
    case 'unknown':
      return `version ${file.version} (${file.path}) is applied but not among the files: what it made shows as extra`;
    default:
      return `${file.path} is ${file.state.replace(/_/g, '-')}: not expected yet`;
  }
}

/** Compares the database behind `client` with the migrations in `migrationsDir` it has applied. */
export async function driftOf(client: SqlClient, migrationsDir: string): Promise<DriftReport> {
  const inspection = await inspect(client, { migrations: migrationsDir, allowSeeds: false });
  if (!inspection.initialized) throw new Error('the database has no migration history: it was never migrated, so nothing is expected of it');
  const applied = new Set(inspection.migrations.filter((m) => m.state === 'applied' || m.state === 'drifted').map((m) => m.version));
  const sources = readSqlDirectory(migrationsDir).filter((s) =>
    applied.has(parseFileName(s.fileName)?.version ?? -1),
  );
  const expected = await migratedSchema(sources);
  const actual = await readSchema(client);
  const differences = compareSchemas(expected, actual);
  return {
    ok: differences.length === 0,
    comparedWith: sources.map((s) => s.displayPath ?? s.fileName),
    notes: inspection.migrations.map(noteOf).filter((n): n is string => n !== undefined),
    summary: summarizeDrift(differences),
    differences,
  };
}

/** The report for people. */
export function renderDriftReport(report: DriftReport, target: string): string[] {
  const files = report.comparedWith;
  const range = files.length === 0 ? 'no migration' : files.length === 1 ? files[0] : `${files[0]} … ${files.at(-1)} (${files.length} files)`;
  const out = [`Compared ${target} with ${range}, the migrations it has applied.`];
  for (const note of report.notes) out.push(`note: ${note}`);
  if (report.ok) {
    out.push('No drift: the schema is what its migrations define.');
    return out;
  }
  const { missing, extra, changed } = report.summary;
  out.push(`Drift: ${report.differences.length} difference${report.differences.length === 1 ? '' : 's'} (${missing} missing, ${extra} extra, ${changed} changed).`);
  out.push('  missing: the migrations define it, the database lacks it; extra: only the database has it; changed: both, not the same.');
  out.push('  Lines: - as the migrations define it, + as the database has it.');
  return [...out, ...renderDrift(report.differences)];
}
