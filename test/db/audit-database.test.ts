/**
 * The database section of the audit (lib/audit/database.ts): the isolation posture the migrations build, read from
 * an embedded database. The project's migrations pass; a migration that weakens one rule makes the audit fail
 * with the reason, for each of the four rules.
 */
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { auditAssembly, auditDatabase, renderMarkdown, type DatabaseAudit } from '../../lib/audit';
import { MIGRATIONS_DIR } from '../support/embedded';

/** The project's migrations plus one more, `099_weaken.sql`. */
async function auditWith(weakening: string): Promise<DatabaseAudit> {
  const dir = mkdtempSync(join(tmpdir(), 'weakened-migrations-'));
  cpSync(MIGRATIONS_DIR, dir, { recursive: true });
  writeFileSync(join(dir, '099_weaken.sql'), `${weakening}\n`);
  return auditDatabase(dir, 'weakened');
}

let project: DatabaseAudit;
beforeAll(async () => {
  project = await auditDatabase(MIGRATIONS_DIR, 'migrations');
}, 120_000);

describe('the project’s migrations', () => {
  it('pass: every tenant table forced, every definer pinned, no role past RLS, nothing for PUBLIC', () => {
    expect(project.failures).toEqual([]);
    expect(project.passed).toBe(true);
    expect(project.source).toMatch(/^migrations: 001_extensions\.sql … \d{3}_\w+\.sql \(\d+ files\), applied to an empty embedded PostgreSQL \(PGlite\)$/);
  });

  it('shows each table’s RLS and its policies per command and role', () => {
    const members = project.tables.find((t) => t.table === 'public.organization_members')!;
    expect(members).toMatchObject({ rlsEnabled: true, rlsForced: true, tenantColumns: ['organization_id', 'user_id'] });
    expect(members.policies.find((p) => p.name === 'organization_members_select')).toMatchObject({ command: 'SELECT', roles: ['app_user'], permissive: true });
    expect(project.tables.filter((t) => t.tenantColumns.length > 0).length).toBeGreaterThanOrEqual(8);
  });

  it('shows each function’s owner, SECURITY DEFINER, search_path and executors; each role’s attributes and privileges', () => {
    expect(project.functions.find((f) => f.function === 'tenancy.member_organization_ids()')).toEqual({
      function: 'tenancy.member_organization_ids()',
      owner: 'rls_resolver',
      securityDefiner: true,
      searchPath: 'pg_catalog, public, pg_temp',
      executableBy: ['app_user', 'service_role'],
    });
    expect(project.functions.find((f) => f.function === 'public.set_app_user(p_user_id uuid, p_organization_id uuid)'))
      .toMatchObject({ owner: 'rls_resolver', securityDefiner: true, searchPath: 'pg_catalog, public, pg_temp', executableBy: ['app_user', 'service_role'] });
    expect(project.functions.find((f) => f.function === 'public.current_app_user_id()')).toMatchObject({ owner: 'migrating user', securityDefiner: false });
    const app = project.roles.find((r) => r.role === 'app_user')!;
    expect(app.attributes).toBe('NOLOGIN');
    expect(app.tables.find((t) => t.table === 'public.organizations')).toEqual({
      table: 'public.organizations',
      privileges: ['DELETE', 'SELECT'],
      columnPrivileges: ['UPDATE (name, settings)'],
    });
    expect(project.roles.map((r) => r.role)).not.toContain('PUBLIC');
  });
});

describe('a weakened migration fails the audit with the reason', () => {
  it.each([
    [
      'RLS no longer forced on a table with user_id',
      'ALTER TABLE public.sessions NO FORCE ROW LEVEL SECURITY;',
      'table-without-forced-rls',
      'public.sessions',
      'public.sessions holds user_id but its row level security is not forced',
    ],
    [
      'a new table with organization_id and no RLS',
      'CREATE TABLE public.notes (id uuid PRIMARY KEY, organization_id uuid NOT NULL, body text);',
      'table-without-forced-rls',
      'public.notes',
      'public.notes holds organization_id but its row level security is not enabled nor forced',
    ],
    [
      'a definer whose search_path is reset',
      'ALTER FUNCTION tenancy.is_active_user() RESET search_path;',
      'definer-without-pinned-search-path',
      'tenancy.is_active_user()',
      "SECURITY DEFINER function tenancy.is_active_user() pins no search_path: it resolves names through its caller's",
    ],
    [
      'a definer whose search_path does not end in pg_temp',
      'ALTER FUNCTION tenancy.is_active_user() SET search_path = pg_temp, pg_catalog, public;',
      'definer-without-pinned-search-path',
      'tenancy.is_active_user()',
      'SECURITY DEFINER function tenancy.is_active_user() pins search_path pg_temp, pg_catalog, public, which does not end in pg_temp',
    ],
    ['an application role with BYPASSRLS', 'ALTER ROLE app_user BYPASSRLS;', 'role-bypasses-rls', 'app_user', 'application role app_user can bypass row level security: app_user (BYPASSRLS)'],
    [
      'an application role member of a role with BYPASSRLS',
      'CREATE ROLE maintenance NOLOGIN BYPASSRLS; GRANT maintenance TO service_role;',
      'role-bypasses-rls',
      'service_role',
      'application role service_role can bypass row level security: maintenance (BYPASSRLS)',
    ],
    [
      'a function PUBLIC may execute',
      'GRANT EXECUTE ON FUNCTION public.set_app_user(uuid, uuid) TO PUBLIC;',
      'public-executes-function',
      'public.set_app_user(p_user_id uuid, p_organization_id uuid)',
      'PUBLIC may execute public.set_app_user(p_user_id uuid, p_organization_id uuid)',
    ],
  ])('%s', async (_what, weakening, kind, resource, message) => {
    const audit = await auditWith(weakening);
    expect(audit.passed).toBe(false);
    expect(audit.failures).toContainEqual({ kind, resource, message });
    // The whole report fails, and says why, whatever the stages say.
    const report = auditAssembly({ stages: [] }, audit);
    expect(report.passed).toBe(false);
    const markdown = renderMarkdown(report);
    expect(markdown).toContain('## Database: isolation between tenants\n\n**FAILED.**');
    expect(markdown).toContain(`| ${kind} | \`${resource}\` | ${message.replace(/\|/g, '\\|')} |`);
  }, 60_000);
});
