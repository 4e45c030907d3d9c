/**
 * The tenant lifecycle on a database with migrations only — what production has, since it never gets seeds:
 * the reference data, onboarding (provision_organization), what an onboarded org_admin can do and nothing more,
 * invitations with consent, roles that cannot escalate, statuses enforced, offboarding, and the Cognito
 * pre-token trigger healing the users mirror (issue 17).
 *
 * One set of cases, two engines, like the isolation matrix: test/db runs them on PGlite (roles by SET ROLE),
 * test/server through real logins over TCP (app_user, cognito_sync) and the owner acting as service_role.
 */
import type { Acting, TenantContext } from './acting';
import { SEED } from './embedded';

/** A database with migrations only, and the logins that act on it. */
export interface LifecycleHarness {
  /** One statement as service_role (system operations), committed. Throws the database error (with `code`). */
  service<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** One statement as the Cognito triggers' login (cognito_sync), committed. */
  cognito<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** One statement as the application's login in this user's context, committed. */
  app<T = Record<string, unknown>>(userId: string, sql: string, params?: unknown[]): Promise<T[]>;
  /** Runs `fn` as the application's login with this tenant context, then rolls back. */
  acting<T>(context: TenantContext, fn: (acting: Acting) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** What the migrations say each system role grants (014_reference_data.sql). */
export const SYSTEM_ROLE_GRANTS: Record<string, string[]> = {
  super_admin: [
    'organizations:read', 'organizations:update', 'organizations:delete',
    'members:read', 'members:invite', 'members:update', 'members:remove',
    'roles:read', 'roles:create', 'roles:update', 'roles:delete', 'roles:assign',
    'permissions:manage', 'agents:read', 'agents:run', 'agents:delete', 'audit:read',
  ],
  org_admin: [
    'organizations:read', 'organizations:update',
    'members:read', 'members:invite', 'members:update', 'members:remove',
    'roles:read', 'roles:create', 'roles:update', 'roles:delete', 'roles:assign',
    'permissions:manage', 'agents:read', 'agents:run', 'agents:delete', 'audit:read',
  ],
  org_member: ['organizations:read', 'members:read', 'roles:read', 'agents:read'],
  agent_user: ['agents:read', 'agents:run'],
};

const { role } = SEED;

/** SQLSTATE of a failed promise, or 'no error'. */
async function stateOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'no error';
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  }
}

/** Ids of one onboarded organization: its admin (the owner), a member who accepted an invitation, and more. */
interface Tenant {
  org: string;
  admin: string;
  member: string;
  customRole: string;
  task: string;
}

export function describeTenantLifecycle(open: () => Promise<LifecycleHarness>): void {
  let harness: LifecycleHarness | undefined;
  const h = () => harness!;

  /** A user signs in through Cognito: the pre-token trigger's call mirrors them (migrations/019). */
  async function signUp(name: string, options: { verified?: boolean } = {}): Promise<string> {
    const sub = `sub-${name}`;
    await h().cognito('SELECT tenancy.sign_in_claims($1, $2, $3, $4) AS claims', [sub, `${name}@example.com`, options.verified ?? true, name]);
    const [user] = await h().service<{ id: string }>('SELECT id FROM users WHERE cognito_sub = $1', [sub]);
    return user.id;
  }

  const provision = (name: string, slug: string, owner: string, plan = 'pro') =>
    h().service<{ id: string }>('SELECT provision_organization($1, $2, $3, $4) AS id', [name, slug, owner, plan]).then(([row]) => row.id);

  /** Organization, admin and an active member who joined by accepting an e-mail invitation, all committed. */
  async function onboard(slug: string): Promise<Tenant> {
    const admin = await signUp(`${slug}-admin`);
    const member = await signUp(`${slug}-member`);
    const org = await provision(`${slug} Inc`, slug, admin);
    await h().app(admin, 'SELECT invite_member($1, $2)', [org, `${slug}-member@example.com`]);
    await h().app(member, 'SELECT accept_invitation($1)', [org]);
    const [custom] = await h().app<{ id: string }>(admin, `INSERT INTO roles (organization_id, name) VALUES ($1, 'analyst') RETURNING id`, [org]);
    const [task] = await h().app<{ id: string }>(admin, `INSERT INTO agent_tasks (organization_id, agent_type) VALUES ($1, 'research') RETURNING id`, [org]);
    return { org, admin, member, customRole: custom.id, task: task.id };
  }

  beforeAll(async () => {
    harness = await open();
  });
  afterAll(async () => {
    await harness?.close();
  });

  describe('reference data is schema', () => {
    test('the four system roles exist with their fixed ids, without any seed', async () => {
      const roles = await h().service<{ id: string; name: string }>('SELECT id, name FROM roles WHERE organization_id IS NULL ORDER BY id');
      expect(roles).toEqual([
        { id: role.superAdmin, name: 'super_admin' },
        { id: role.orgAdmin, name: 'org_admin' },
        { id: role.orgMember, name: 'org_member' },
        { id: role.agentUser, name: 'agent_user' },
      ]);
    });

    test('each system role grants exactly what the migration declares, and super_admin the whole catalogue', async () => {
      const grants = await h().service<{ name: string; permissions: string[] }>(`
        SELECT r.name, array_agg(p.resource || ':' || p.action ORDER BY p.resource, p.action) AS permissions
          FROM roles r JOIN role_permissions rp ON rp.role_id = r.id JOIN permissions p ON p.id = rp.permission_id
         WHERE r.organization_id IS NULL GROUP BY r.name`);
      const sorted = (list: string[]) => [...list].sort((a, b) => a.split(':')[0].localeCompare(b.split(':')[0]) || a.split(':')[1].localeCompare(b.split(':')[1]));
      expect(Object.fromEntries(grants.map((g) => [g.name, g.permissions]))).toEqual(
        Object.fromEntries(Object.entries(SYSTEM_ROLE_GRANTS).map(([name, list]) => [name, sorted(list)])),
      );
      const [catalogue] = await h().service<{ n: number }>('SELECT count(*)::int AS n FROM permissions');
      expect(catalogue.n).toBe(SYSTEM_ROLE_GRANTS.super_admin.length);
    });

    test('the procedures that write reference data are for migrations: the owner and service_role, never the application', async () => {
      const rows = await h().service<{ role: string; may: boolean }>(`
        SELECT r AS role, bool_or(has_function_privilege(r, p.oid, 'EXECUTE')) AS may
          FROM unnest(ARRAY['app_user', 'service_role', 'cognito_sync', 'rls_resolver', 'membership_keeper', 'user_mirror']) AS r,
               pg_proc p
         WHERE p.pronamespace = 'tenancy'::regnamespace
           AND p.proname IN ('define_permission', 'define_system_role', 'set_system_role_permissions')
         GROUP BY r ORDER BY r`);
      expect(rows).toEqual([
        { role: 'app_user', may: false },
        { role: 'cognito_sync', may: false },
        { role: 'membership_keeper', may: false },
        { role: 'rls_resolver', may: false },
        { role: 'service_role', may: true },
        { role: 'user_mirror', may: false },
      ]);
    });
  });

  describe('onboarding: provision_organization', () => {
    let owner: string;
    let org: string;

    beforeAll(async () => {
      owner = await signUp('olivia');
      org = await provision('Olivia Labs', 'olivia-labs', owner, 'enterprise');
    });

    test('creates the organization, the owner’s active membership and their org_admin grant in one call', async () => {
      expect(await h().service('SELECT name, slug::text, plan, status FROM organizations WHERE id = $1', [org])).toEqual([
        { name: 'Olivia Labs', slug: 'olivia-labs', plan: 'enterprise', status: 'active' },
      ]);
      expect(await h().service('SELECT user_id, status, invited_by, joined_at IS NOT NULL AS joined FROM organization_members WHERE organization_id = $1', [org])).toEqual([
        { user_id: owner, status: 'active', invited_by: null, joined: true },
      ]);
      expect(await h().service('SELECT user_id, role_id, granted_by, expires_at FROM user_roles WHERE organization_id = $1', [org])).toEqual([
        { user_id: owner, role_id: role.orgAdmin, granted_by: null, expires_at: null },
      ]);
      // The owner's token now carries the organization.
      const [{ claims }] = await h().cognito<{ claims: unknown }>('SELECT tenancy.token_claims($1) AS claims', ['sub-olivia']);
      expect(claims).toEqual({ organizations: [{ id: org, roles: ['org_admin'] }], truncated: false });
    });

    test('the same call again returns the same id and changes nothing', async () => {
      const snapshot = () => h().service(`
        SELECT (SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) FROM (
                  SELECT o::text AS t FROM organizations o UNION ALL SELECT m::text FROM organization_members m
                  UNION ALL SELECT g::text FROM user_roles g) x) AS rows,
               (SELECT count(*)::int FROM audit_logs) AS audit`);
      const before = await snapshot();
      expect(await provision('Olivia Labs', 'olivia-labs', owner, 'enterprise')).toBe(org);
      expect(await provision('Olivia Labs', 'olivia-labs', owner, 'enterprise')).toBe(org);
      expect(await snapshot()).toEqual(before);
    });

    test('a conflicting call is an error that names the problem', async () => {
      const other = await signUp('oscar');
      await expect(provision('Olivia Labs', 'olivia-labs', other, 'enterprise')).rejects.toMatchObject({ code: '23505', message: expect.stringMatching(/olivia-labs.*not its administrator/) });
      await expect(provision('Olivia Labs', 'olivia-labs', owner, 'free')).rejects.toMatchObject({ code: '23505', message: expect.stringMatching(/another name or plan/) });
      await expect(provision('Ghost Co', 'ghost-co', '29999999-0000-4000-8000-000000000042')).rejects.toMatchObject({ code: '23503', message: expect.stringMatching(/is not a user/) });
      await expect(provision('Bad Slug', 'Bad Slug!', other)).rejects.toMatchObject({ code: '23514' });
      expect(await h().service(`SELECT slug::text FROM organizations WHERE slug IN ('ghost-co')`)).toEqual([]);
    });

    test('only service_role provisions, suspends and deletes: not the application, not the Cognito login', async () => {
      await h().acting({ userId: owner }, async (as) => {
        expect(await as.run(`SELECT provision_organization('Mine', 'mine', $1, 'free')`, [owner])).toEqual({ error: '42501' });
        expect(await as.run('SELECT suspend_organization($1)', [org])).toEqual({ error: '42501' });
        expect(await as.run('SELECT delete_organization($1)', [org])).toEqual({ error: '42501' });
        expect(await as.run('SELECT reactivate_organization($1)', [org])).toEqual({ error: '42501' });
      });
      expect(await stateOf(h().cognito(`SELECT provision_organization('Mine', 'mine', $1, 'free')`, [owner]))).toBe('42501');
    });
  });

  describe('the onboarded admin can do everything org_admin can, and nothing more', () => {
    let t: Tenant;
    beforeAll(async () => {
      t = await onboard('acme-prod');
    });

    /** One operation per permission of org_admin, each expected to succeed (rows it touched or returned). */
    const CAN: Record<string, (t: Tenant) => [string, unknown[]]> = {
      'organizations:read': (t) => ['SELECT id FROM organizations WHERE id = $1', [t.org]],
      'organizations:update': (t) => [`UPDATE organizations SET name = 'Renamed', settings = '{"theme": "dark"}' WHERE id = $1`, [t.org]],
      'members:read': (t) => ['SELECT id FROM organization_members WHERE organization_id = $1 AND user_id = $2', [t.org, t.member]],
      'members:invite': (t) => [`SELECT invite_member($1, 'newcomer@example.com')`, [t.org]],
      'members:update': (t) => [`UPDATE organization_members SET status = 'suspended' WHERE organization_id = $1 AND user_id = $2`, [t.org, t.member]],
      'members:remove': (t) => ['DELETE FROM organization_members WHERE organization_id = $1 AND user_id = $2', [t.org, t.member]],
      'roles:read': (t) => ['SELECT id FROM roles WHERE id = $1', [t.customRole]],
      'roles:create': (t) => [`INSERT INTO roles (organization_id, name, description) VALUES ($1, 'reviewer', 'Reviews')`, [t.org]],
      'roles:update': (t) => [`UPDATE roles SET name = 'analyst_2', description = 'changed' WHERE id = $1`, [t.customRole]],
      'roles:delete': (t) => ['DELETE FROM roles WHERE id = $1', [t.customRole]],
      'roles:assign': (t) => ['INSERT INTO user_roles (organization_id, user_id, role_id) VALUES ($1, $2, $3)', [t.org, t.member, role.agentUser]],
      'permissions:manage': (t) => [`INSERT INTO role_permissions (role_id, permission_id) SELECT $1, id FROM permissions WHERE resource = 'agents' AND action = 'run'`, [t.customRole]],
      'agents:read': (t) => ['SELECT id FROM agent_tasks WHERE id = $1', [t.task]],
      'agents:run': (t) => [`INSERT INTO agent_tasks (organization_id, agent_type, input) VALUES ($1, 'summarize', '{"doc": 1}')`, [t.org]],
      'agents:delete': (t) => ['DELETE FROM agent_tasks WHERE id = $1', [t.task]],
      'audit:read': (t) => [`SELECT id FROM audit_logs WHERE organization_id = $1 AND table_name = 'organizations' AND action = 'insert'`, [t.org]],
    };

    test('the operations below cover org_admin’s permissions, as the database has them', async () => {
      const held = await h().service<{ permission: string }>(`
        SELECT p.resource || ':' || p.action AS permission FROM role_permissions rp JOIN permissions p ON p.id = rp.permission_id
         WHERE rp.role_id = $1`, [role.orgAdmin]);
      expect(Object.keys(CAN).sort()).toEqual(held.map((row) => row.permission).sort());
    });

    test.each(Object.keys(CAN))('%s: one operation succeeds through the app login', async (permission) => {
      const [sql, params] = CAN[permission](t);
      await h().acting({ userId: t.admin }, async (as) => {
        expect(await as.run(sql, params)).toEqual({ rows: 1 });
        const [row] = await as.rows<{ ok: boolean }>('SELECT user_has_permission($1, $2, $3, $4) AS ok', [t.admin, t.org, ...permission.split(':')]);
        expect(row.ok).toBe(true);
      });
    });

    test('every permission org_admin lacks is refused, by user_has_permission and by the policies', async () => {
      const lacking = await h().service<{ resource: string; action: string }>(`
        SELECT resource, action FROM permissions p
         WHERE NOT EXISTS (SELECT 1 FROM role_permissions rp WHERE rp.role_id = $1 AND rp.permission_id = p.id)`, [role.orgAdmin]);
      expect(lacking).toEqual([{ resource: 'organizations', action: 'delete' }]);
      await h().acting({ userId: t.admin }, async (as) => {
        for (const { resource, action } of lacking) {
          expect(await as.rows('SELECT user_has_permission($1, $2, $3, $4) AS ok', [t.admin, t.org, resource, action])).toEqual([{ ok: false }]);
        }
        expect(await as.run('DELETE FROM organizations WHERE id = $1', [t.org])).toEqual({ rows: 0 });
      });
      expect(await h().service('SELECT status FROM organizations WHERE id = $1', [t.org])).toEqual([{ status: 'active' }]);
    });

    test('the admin cannot escalate: no super_admin, no role beyond their own permissions, no system role names', async () => {
      await h().acting({ userId: t.admin }, async (as) => {
        // super_admin, to themselves or to their member.
        expect(await as.run('INSERT INTO user_roles (organization_id, user_id, role_id) VALUES ($1, $2, $3)', [t.org, t.admin, role.superAdmin])).toEqual({ error: '42501' });
        expect(await as.run('INSERT INTO user_roles (organization_id, user_id, role_id) VALUES ($1, $2, $3)', [t.org, t.member, role.superAdmin])).toEqual({ error: '42501' });
        // A custom role with organizations:delete, which they lack.
        expect(await as.run(`INSERT INTO role_permissions (role_id, permission_id) SELECT $1, id FROM permissions WHERE resource = 'organizations' AND action = 'delete'`, [t.customRole])).toEqual({ error: '42501' });
        // Custom roles named like system roles, created or renamed.
        for (const name of ['super_admin', 'org_admin', 'org_member', 'agent_user']) {
          expect(await as.run('INSERT INTO roles (organization_id, name) VALUES ($1, $2)', [t.org, name])).toEqual({ error: '23505' });
          expect(await as.run('UPDATE roles SET name = $2 WHERE id = $1', [t.customRole, name])).toEqual({ error: '23505' });
        }
        // System roles and the catalogue stay out of reach.
        expect(await as.run(`UPDATE roles SET name = 'hacked' WHERE id = $1`, [role.orgAdmin])).toEqual({ rows: 0 });
        expect(await as.run('INSERT INTO role_permissions (role_id, permission_id) SELECT $1, id FROM permissions', [role.orgMember])).toEqual({ error: '42501' });
        expect(await as.run(`INSERT INTO permissions (resource, action) VALUES ('billing', 'read')`)).toEqual({ error: '42501' });
        // What they hold they may grant, in their own name (granted_by is never theirs to choose).
        expect(await as.run('INSERT INTO user_roles (organization_id, user_id, role_id) VALUES ($1, $2, $3)', [t.org, t.member, role.orgAdmin])).toEqual({ rows: 1 });
        expect(await as.rows('SELECT granted_by FROM user_roles WHERE organization_id = $1 AND user_id = $2 AND role_id = $3', [t.org, t.member, role.orgAdmin])).toEqual([{ granted_by: t.admin }]);
        expect(await as.run('INSERT INTO user_roles (organization_id, user_id, role_id, granted_by) VALUES ($1, $2, $3, $4)', [t.org, t.member, role.agentUser, t.member])).toEqual({ error: '42501' });
      });
    });

    test('a member may grant only roles whose permissions they hold', async () => {
      // The member gets a custom role with roles:assign and agents:read from service_role.
      const [limited] = await h().service<{ id: string }>(`INSERT INTO roles (organization_id, name) VALUES ($1, 'assigner') RETURNING id`, [t.org]);
      await h().service(`INSERT INTO role_permissions (role_id, permission_id) SELECT $1, id FROM permissions WHERE (resource, action) IN (('roles', 'assign'), ('agents', 'read'))`, [limited.id]);
      await h().service('INSERT INTO user_roles (organization_id, user_id, role_id) VALUES ($1, $2, $3)', [t.org, t.member, limited.id]);
      try {
        await h().acting({ userId: t.member }, async (as) => {
          expect(await as.run('INSERT INTO user_roles (organization_id, user_id, role_id) VALUES ($1, $2, $3)', [t.org, t.admin, role.agentUser])).toEqual({ error: '42501' });
          expect(await as.run('INSERT INTO user_roles (organization_id, user_id, role_id) VALUES ($1, $2, $3)', [t.org, t.member, role.orgAdmin])).toEqual({ error: '42501' });
          // The custom role itself (roles:assign, agents:read) is within what they hold.
          expect(await as.run('INSERT INTO user_roles (organization_id, user_id, role_id) VALUES ($1, $2, $3)', [t.org, t.admin, limited.id])).toEqual({ rows: 1 });
        });
      } finally {
        await h().service('DELETE FROM roles WHERE id = $1', [limited.id]);
      }
    });

    test('service_role alone assigns super_admin', async () => {
      const [{ id }] = await h().service<{ id: string }>('INSERT INTO user_roles (organization_id, user_id, role_id) VALUES ($1, $2, $3) RETURNING id', [t.org, t.admin, role.superAdmin]);
      try {
        await h().acting({ userId: t.admin }, async (as) => {
          expect(await as.rows('SELECT user_has_permission($1, $2, $3, $4) AS ok', [t.admin, t.org, 'organizations', 'delete'])).toEqual([{ ok: true }]);
          // A super_admin grant is not the admin's to extend either.
          expect(await as.run(`UPDATE user_roles SET expires_at = now() + interval '1 year' WHERE id = $1`, [id])).toEqual({ error: '42501' });
        });
      } finally {
        await h().service('DELETE FROM user_roles WHERE id = $1', [id]);
      }
    });
  });

  describe('invitations with consent', () => {
    let t: Tenant;
    let outsider: string; // an admin of another organization
    let stranger: string; // a user of another tenant, no membership here
    beforeAll(async () => {
      t = await onboard('invites-inc');
      outsider = await signUp('outsider');
      await provision('Outsider Co', 'outsider-co', outsider);
      stranger = await signUp('stranger');
      await provision('Stranger Co', 'stranger-co', stranger);
    });

    test('an admin cannot make a user of another tenant a member, active or invited, and learns nothing from trying', async () => {
      await h().acting({ userId: t.admin }, async (as) => {
        const existing = await as.run(`INSERT INTO organization_members (organization_id, user_id, status) VALUES ($1, $2, 'active')`, [t.org, stranger]);
        const invited = await as.run(`INSERT INTO organization_members (organization_id, user_id, status) VALUES ($1, $2, 'invited')`, [t.org, stranger]);
        const unknown = await as.run(`INSERT INTO organization_members (organization_id, user_id, status) VALUES ($1, $2, 'invited')`, [t.org, '29999999-0000-4000-8000-000000000077']);
        const defaulted = await as.run('INSERT INTO organization_members (organization_id, user_id) VALUES ($1, $2)', [t.org, stranger]);
        expect([existing, invited, unknown, defaulted]).toEqual([{ error: '42501' }, { error: '42501' }, { error: '42501' }, { error: '42501' }]);
        expect(await as.rows('SELECT id FROM users WHERE id = $1', [stranger])).toEqual([]);
      });
    });

    test('inviting by e-mail answers the same whether the address belongs to a user or to nobody', async () => {
      await h().acting({ userId: t.admin }, async (as) => {
        const outcomes = [];
        for (const email of ['stranger@example.com', 'no-such-person@example.com']) {
          const started = process.hrtime.bigint();
          const rows = await as.rows<{ id: string }>('SELECT invite_member($1, $2) AS id', [t.org, email]);
          const micros = Number(process.hrtime.bigint() - started) / 1000;
          const [seen] = await as.rows<Record<string, unknown>>(
            `SELECT organization_id, invited_by, expires_at > now() AS pending, (SELECT count(*)::int FROM organization_members WHERE organization_id = $1) AS members
               FROM organization_invitations WHERE id = $2`, [t.org, rows[0].id]);
          outcomes.push({ shape: rows.map((row) => Object.keys(row)), seen, micros });
        }
        const [user, nobody] = outcomes;
        expect(user.shape).toEqual(nobody.shape);
        expect(user.seen).toEqual(nobody.seen);
        expect(user.seen).toEqual({ organization_id: t.org, invited_by: t.admin, pending: true, members: 2 });
        // No gross timing difference either (the function never reads users): within 50 ms of each other.
        expect(Math.abs(user.micros - nobody.micros)).toBeLessThan(50_000);
      });
    });

    test('invited_by is always the acting user', async () => {
      await h().acting({ userId: t.admin }, async (as) => {
        expect(await as.run(`INSERT INTO organization_invitations (organization_id, email, invited_by) VALUES ($1, 'x@example.com', $2)`, [t.org, t.member])).toEqual({ error: '42501' });
        expect(await as.run(`UPDATE organization_invitations SET invited_by = $2 WHERE organization_id = $1`, [t.org, t.member])).toEqual({ error: '42501' });
        expect(await as.run(`INSERT INTO organization_members (organization_id, user_id, status, invited_by) VALUES ($1, $2, 'invited', $3)`, [t.org, t.member, t.member])).toEqual({ error: '42501' });
      });
    });

    test('the invitee sees nothing of the organization before accepting, only the invitation; then all of it', async () => {
      await h().app(t.admin, 'SELECT invite_member($1, $2)', [t.org, 'stranger@example.com']);
      await h().acting({ userId: stranger }, async (as) => {
        expect(await as.rows('SELECT organization_id, organization_name FROM my_invitations()')).toEqual([{ organization_id: t.org, organization_name: 'invites-inc Inc' }]);
        for (const table of ['organization_members', 'user_roles', 'agent_tasks', 'roles']) {
          expect(await as.rows(`SELECT 1 FROM ${table} WHERE organization_id = $1`, [t.org])).toEqual([]);
        }
        expect(await as.rows('SELECT id FROM organizations WHERE id = $1', [t.org])).toEqual([]);
        expect(await as.rows('SELECT id FROM users WHERE id = $1', [t.admin])).toEqual([]);
        expect(await as.rows('SELECT user_has_permission($1, $2, $3, $4) AS ok', [stranger, t.org, 'agents', 'read'])).toEqual([{ ok: false }]);
      });
      // Accepting, in their own context: a member, invited by the admin.
      await h().app(stranger, 'SELECT accept_invitation($1)', [t.org]);
      await h().acting({ userId: stranger }, async (as) => {
        expect(await as.rows('SELECT status, invited_by FROM organization_members WHERE organization_id = $1 AND user_id = $2', [t.org, stranger])).toEqual([{ status: 'active', invited_by: t.admin }]);
        expect(await as.rows('SELECT id FROM organizations WHERE id = $1', [t.org])).toEqual([{ id: t.org }]);
        expect(await as.rows('SELECT organization_id FROM my_invitations()')).toEqual([]);
      });
    });

    test('only the invitee accepts: not the admin, not another user, not for an organization that is not active', async () => {
      await h().app(t.admin, 'SELECT invite_member($1, $2)', [t.org, 'outsider@example.com']);
      await h().acting({ userId: t.admin }, async (as) => {
        expect(await as.run('SELECT accept_invitation($1)', [t.org])).toEqual({ error: 'P0002' });
        // Nobody but the invitee can turn an invitation into a membership.
        expect(await as.run(`UPDATE organization_members SET status = 'active' WHERE organization_id = $1 AND status = 'invited'`, [t.org])).toEqual({ rows: 0 });
      });
      await h().acting({ userId: stranger }, async (as) => {
        // Another user's invitation, an unknown organization: the same error.
        expect(await as.run('SELECT accept_invitation($1)', [t.org])).toEqual({ error: 'P0002' });
        expect(await as.run('SELECT accept_invitation($1)', ['10000000-0000-4000-8000-0000000000ff'])).toEqual({ error: 'P0002' });
      });
      await h().service('SELECT suspend_organization($1)', [t.org]);
      try {
        await h().acting({ userId: outsider }, async (as) => {
          expect(await as.rows('SELECT organization_id FROM my_invitations()')).toEqual([]);
          expect(await as.run('SELECT accept_invitation($1)', [t.org])).toEqual({ error: 'P0002' });
        });
      } finally {
        await h().service('SELECT reactivate_organization($1)', [t.org]);
      }
      await h().acting({ userId: outsider }, async (as) => {
        expect(await as.rows('SELECT decline_invitation($1) AS declined', [t.org])).toEqual([{ declined: true }]);
        expect(await as.rows('SELECT organization_id FROM my_invitations()')).toEqual([]);
      });
    });

    test('an invitation to an unverified address is not offered', async () => {
      const unverified = await signUp('unverified', { verified: false });
      await h().app(t.admin, 'SELECT invite_member($1, $2)', [t.org, 'unverified@example.com']);
      await h().acting({ userId: unverified }, async (as) => {
        expect(await as.rows('SELECT organization_id FROM my_invitations()')).toEqual([]);
        expect(await as.run('SELECT accept_invitation($1)', [t.org])).toEqual({ error: 'P0002' });
      });
    });

    test('a user the admin already sees may be invited by id; the invitation still waits for them', async () => {
      // The stranger is now a co-member (they accepted above); invite them by id into the outsider's organization
      // after making the outsider's admin a member here too.
      const [outsiderOrg] = await h().service<{ id: string }>(`SELECT id FROM organizations WHERE slug = 'outsider-co'`);
      await h().service(`INSERT INTO organization_members (organization_id, user_id, status) VALUES ($1, $2, 'active')`, [t.org, outsider]);
      // The outsider is in two organizations now: the request names the one it acts in (020).
      await h().acting({ userId: outsider, organizationId: outsiderOrg.id }, async (as) => {
        expect(await as.run('INSERT INTO organization_members (organization_id, user_id) VALUES ($1, $2)', [outsiderOrg.id, stranger])).toEqual({ rows: 1 });
        expect(await as.rows('SELECT status, invited_by, joined_at FROM organization_members WHERE organization_id = $1 AND user_id = $2', [outsiderOrg.id, stranger]))
          .toEqual([{ status: 'invited', invited_by: outsider, joined_at: null }]);
        expect(await as.run(`INSERT INTO organization_members (organization_id, user_id, status) VALUES ($1, $2, 'active')`, [outsiderOrg.id, t.member])).toEqual({ error: '42501' });
        expect(await as.run(`UPDATE organization_members SET status = 'active' WHERE organization_id = $1 AND user_id = $2`, [outsiderOrg.id, stranger])).toEqual({ rows: 0 });
        await as.rows('SELECT set_app_user($1)', [stranger]);
        expect(await as.rows('SELECT organization_id FROM my_invitations()')).toEqual([{ organization_id: outsiderOrg.id }]);
        expect(await as.rows('SELECT id FROM agent_tasks WHERE organization_id = $1', [outsiderOrg.id])).toEqual([]);
        await as.rows('SELECT accept_invitation($1)', [outsiderOrg.id]);
        // The context is resolved once per transaction (020): the next request, here a new set_app_user, sees it.
        await as.rows('SELECT set_app_user($1)', [stranger]);
        expect(await as.rows('SELECT status FROM organization_members WHERE organization_id = $1 AND user_id = $2', [outsiderOrg.id, stranger])).toEqual([{ status: 'active' }]);
      });
    });
  });

  describe('statuses are enforced', () => {
    let t: Tenant;
    beforeAll(async () => {
      t = await onboard('status-co');
    });

    test('a disabled user gets nothing: no rows, no permission, no session, whoever asks', async () => {
      await h().service(`UPDATE users SET status = 'disabled' WHERE id = $1`, [t.member]);
      try {
        expect(await h().service('SELECT user_has_permission($1, $2, $3, $4) AS ok', [t.member, t.org, 'agents', 'read'])).toEqual([{ ok: false }]);
        await h().acting({ userId: t.member }, async (as) => {
          for (const table of ['organizations', 'organization_members', 'users', 'sessions', 'roles', 'permissions', 'agent_tasks']) {
            expect({ table, rows: await as.rows(`SELECT 1 FROM ${table}`) }).toEqual({ table, rows: [] });
          }
          expect(await as.rows('SELECT user_has_permission($1, $2, $3, $4) AS ok', [t.member, t.org, 'agents', 'read'])).toEqual([{ ok: false }]);
          expect(await as.run(`INSERT INTO sessions (user_id, token_hash, expires_at) VALUES ($1, decode(repeat('aa', 32), 'hex'), now() + interval '1 hour')`, [t.member])).toEqual({ error: '42501' });
          expect(await as.run(`UPDATE users SET full_name = 'Still here' WHERE id = $1`, [t.member])).toEqual({ rows: 0 });
          expect(await as.rows('SELECT * FROM my_organizations()')).toEqual([]);
        });
      } finally {
        await h().service(`UPDATE users SET status = 'active' WHERE id = $1`, [t.member]);
      }
    });

    test('a disabled user cannot extend a session opened before', async () => {
      const [session] = await h().app<{ id: string }>(t.member,
        `INSERT INTO sessions (user_id, token_hash, expires_at) VALUES ($1, decode(repeat('bb', 32), 'hex'), now() + interval '1 hour') RETURNING id`, [t.member]);
      await h().service(`UPDATE users SET status = 'disabled' WHERE id = $1`, [t.member]);
      try {
        await h().acting({ userId: t.member }, async (as) => {
          expect(await as.run(`UPDATE sessions SET expires_at = now() + interval '30 days', last_seen_at = now() WHERE id = $1`, [session.id])).toEqual({ rows: 0 });
        });
      } finally {
        await h().service(`UPDATE users SET status = 'active' WHERE id = $1`, [t.member]);
      }
    });

    test('a suspended organization gives its members nothing but its status, until it is reactivated', async () => {
      await h().service('SELECT suspend_organization($1)', [t.org]);
      await h().service('SELECT suspend_organization($1)', [t.org]); // idempotent
      try {
        expect(await h().service('SELECT user_has_permission($1, $2, $3, $4) AS ok', [t.admin, t.org, 'agents', 'run'])).toEqual([{ ok: false }]);
        await h().acting({ userId: t.admin }, async (as) => {
          for (const table of ['organizations', 'organization_members', 'organization_invitations', 'roles', 'role_permissions', 'user_roles', 'agent_tasks', 'agent_results', 'audit_logs']) {
            expect({ table, rows: await as.rows(`SELECT 1 FROM ${table} WHERE ${table === 'organizations' ? 'id' : 'organization_id'} = $1`, [t.org]) }).toEqual({ table, rows: [] });
          }
          expect(await as.run(`INSERT INTO agent_tasks (organization_id, agent_type) VALUES ($1, 'research')`, [t.org])).toEqual({ error: '42501' });
          expect(await as.run(`UPDATE organizations SET name = 'Still mine' WHERE id = $1`, [t.org])).toEqual({ rows: 0 });
          expect(await as.run('SELECT invite_member($1, $2)', [t.org, 'late@example.com'])).toEqual({ error: '42501' });
          expect(await as.rows('SELECT organization_id, organization_status, membership_status FROM my_organizations()')).toEqual([
            { organization_id: t.org, organization_status: 'suspended', membership_status: 'active' },
          ]);
        });
        const [{ claims }] = await h().cognito<{ claims: { organizations: unknown[] } }>('SELECT tenancy.token_claims($1) AS claims', ['sub-status-co-admin']);
        expect(claims.organizations).toEqual([]);
      } finally {
        await h().service('SELECT reactivate_organization($1)', [t.org]);
      }
      await h().acting({ userId: t.admin }, async (as) => {
        expect(await as.run('SELECT id FROM agent_tasks WHERE id = $1', [t.task])).toEqual({ rows: 1 });
      });
    });

    test('a deleted organization is gone for everyone but service_role; its slug stays taken', async () => {
      const victim = await onboard('doomed-co');
      await h().app(victim.admin, 'SELECT invite_member($1, $2)', [victim.org, 'stranger-late@example.com']);
      await h().service('SELECT delete_organization($1)', [victim.org]);
      await h().service('SELECT delete_organization($1)', [victim.org]); // idempotent
      expect(await stateOf(h().service('SELECT reactivate_organization($1)', [victim.org]))).toBe('55000');
      expect(await stateOf(h().service('SELECT suspend_organization($1)', [victim.org]))).toBe('55000');
      expect(await stateOf(h().service('SELECT delete_organization($1)', ['10000000-0000-4000-8000-0000000000ee']))).toBe('P0002');
      await h().acting({ userId: victim.admin }, async (as) => {
        expect(await as.rows('SELECT 1 FROM agent_tasks WHERE organization_id = $1', [victim.org])).toEqual([]);
        expect(await as.rows('SELECT * FROM my_organizations()')).toEqual([]);
      });
      // The data stays until a retention job removes it.
      expect(await h().service('SELECT count(*)::int AS n FROM agent_tasks WHERE organization_id = $1', [victim.org])).toEqual([{ n: 1 }]);
      await expect(provision('doomed-co Inc', 'doomed-co', victim.admin)).rejects.toMatchObject({ code: '23505', message: expect.stringMatching(/deleted organization/) });
    });
  });

  describe('the pre-token trigger heals the users mirror', () => {
    test('a user whose post-confirmation failed is mirrored at the next sign-in, once', async () => {
      const call = () => h().cognito<{ claims: unknown }>('SELECT tenancy.sign_in_claims($1, $2, $3, $4) AS claims', ['sub-late', 'late@example.com', true, 'Late Larry']);
      expect(await h().service('SELECT id FROM users WHERE cognito_sub = $1', ['sub-late'])).toEqual([]);
      expect(await call()).toEqual([{ claims: { organizations: [], truncated: false } }]);
      const first = await h().service('SELECT id, email::text, email_verified, full_name, status FROM users WHERE cognito_sub = $1', ['sub-late']);
      expect(first).toEqual([{ id: expect.any(String), email: 'late@example.com', email_verified: true, full_name: 'Late Larry', status: 'active' }]);
      await call();
      expect(await h().service('SELECT id, email::text, email_verified, full_name, status FROM users WHERE cognito_sub = $1', ['sub-late'])).toEqual(first);
    });

    test('it never revives a disabled user nor takes over another user’s address', async () => {
      await h().cognito('SELECT tenancy.sign_in_claims($1, $2, $3, $4)', ['sub-dora', 'dora@example.com', true, 'Dora']);
      await h().service(`UPDATE users SET status = 'disabled' WHERE cognito_sub = 'sub-dora'`);
      await h().cognito('SELECT tenancy.sign_in_claims($1, $2, $3, $4)', ['sub-dora', 'dora@example.com', true, 'Dora']);
      expect(await h().service(`SELECT status FROM users WHERE cognito_sub = 'sub-dora'`)).toEqual([{ status: 'disabled' }]);
      // Dora's address under another sub: no row, no error, empty claims.
      expect(await h().cognito('SELECT tenancy.sign_in_claims($1, $2, $3, $4) AS claims', ['sub-imposter', 'dora@example.com', true, 'Imposter'])).toEqual([{ claims: { organizations: [], truncated: false } }]);
      expect(await h().service(`SELECT 1 FROM users WHERE cognito_sub = 'sub-imposter'`)).toEqual([]);
      // An address the mirror cannot hold does not block the sign-in either.
      expect(await h().cognito('SELECT tenancy.sign_in_claims($1, $2, $3, $4) AS claims', ['sub-odd', 'not an address', true, null])).toEqual([{ claims: { organizations: [], truncated: false } }]);
    });

    test('the application cannot call it', async () => {
      await h().acting({ unset: true }, async (as) => {
        expect(await as.run(`SELECT tenancy.sign_in_claims('sub-x', 'x@example.com', true, 'X')`)).toEqual({ error: '42501' });
      });
    });
  });
}
