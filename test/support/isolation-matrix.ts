/**
 * The tenant isolation matrix: every table holding tenant or user data × SELECT / INSERT / UPDATE / DELETE ×
 * {member of the row's organization (an admin and a plain member), member of another organization, no user
 * set, an empty, malformed or unknown user id}. Each cell asserts the exact outcome, and that no row outside
 * the target changed (fingerprints of every other row before and after, read past RLS in the actor's own
 * transaction). Then full scans per actor, and attacks from inside a tenant.
 *
 * One matrix, two engines: test/db runs it on PGlite (app_user by SET ROLE), test/server through a real login
 * role in app_user over TCP, as production connects.
 */
import { type Acting, type Outcome, type TenantContext } from './acting';
import { SEED } from './embedded';

/** A seeded database to run the matrix on. */
export interface MatrixHarness {
  /** Runs statements as service_role and commits them (set-up). */
  asServiceCommitted(sql: string): Promise<Record<string, unknown>[]>;
  /** Runs `fn` as the application's actor with this tenant context, then rolls back. */
  acting<T>(context: TenantContext, fn: (acting: Acting) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

const { org, user, role, task, result } = SEED;

export const ACTORS: Record<string, TenantContext> = {
  alice: { userId: user.alice }, // Acme admin (org_admin + agent_user)
  bob: { userId: user.bob }, // Acme member (org_member: read only)
  charlie: { userId: user.charlie }, // Tech Startup admin: another organization
  unset: { unset: true },
  empty: { raw: '' },
  malformed: { raw: "not-a-uuid' OR '1'='1" },
  unknown: { userId: '29999999-0000-4000-8000-000000000099' },
};
type ActorName = keyof typeof ACTORS;

/** Expected result: rows returned or changed, or 'denied' (the statement fails). */
type Expected = number | 'denied';
type Expectations = { alice: Expected; bob: Expected; charlie: Expected; outsiders: Expected };
type Operation = 'select' | 'insert' | 'update' | 'delete';

interface Cell {
  sql: string;
  params: (ids: Ids) => unknown[];
  expect: Expectations;
}
interface TableCase {
  table: string;
  /** Identifies the target row (an Acme row, or one of Bob's) for fingerprints. */
  targetWhere: (ids: Ids) => string;
  ops: Record<Operation, Cell>;
}

interface Ids {
  bobMembership: string;
  bobGrant: string;
  bobSession: string;
  customRole: string;
  techCustomRole: string;
  agentsRun: string;
  acmeAudit: string;
}

const ALL_DENIED: Expectations = { alice: 'denied', bob: 'denied', charlie: 'denied', outsiders: 'denied' };
const MEMBERS_SEE: Expectations = { alice: 1, bob: 1, charlie: 0, outsiders: 0 };
const ADMIN_ONLY: Expectations = { alice: 1, bob: 0, charlie: 0, outsiders: 0 };
const ADMIN_INSERTS: Expectations = { alice: 1, bob: 'denied', charlie: 'denied', outsiders: 'denied' };

const TABLES: TableCase[] = [
  {
    table: 'organizations',
    targetWhere: () => `id = '${org.acme}'`,
    ops: {
      select: { sql: 'SELECT id FROM organizations WHERE id = $1', params: () => [org.acme], expect: MEMBERS_SEE },
      insert: { sql: `INSERT INTO organizations (name, slug) VALUES ('Evil', 'evil-co')`, params: () => [], expect: ALL_DENIED },
      update: { sql: `UPDATE organizations SET name = 'Renamed' WHERE id = $1`, params: () => [org.acme], expect: ADMIN_ONLY },
      // org_admin lacks organizations:delete (only super_admin has it): nobody here may delete the tenant.
      delete: { sql: 'DELETE FROM organizations WHERE id = $1', params: () => [org.acme], expect: { alice: 0, bob: 0, charlie: 0, outsiders: 0 } },
    },
  },
  {
    table: 'organization_members',
    targetWhere: (ids) => `id = '${ids.bobMembership}'`,
    ops: {
      select: { sql: 'SELECT id FROM organization_members WHERE id = $1', params: (ids) => [ids.bobMembership], expect: MEMBERS_SEE },
      insert: { sql: 'INSERT INTO organization_members (organization_id, user_id) VALUES ($1, $2)', params: () => [org.acme, user.diana], expect: ADMIN_INSERTS },
      update: { sql: `UPDATE organization_members SET status = 'suspended' WHERE id = $1`, params: (ids) => [ids.bobMembership], expect: ADMIN_ONLY },
      delete: { sql: 'DELETE FROM organization_members WHERE id = $1', params: (ids) => [ids.bobMembership], expect: ADMIN_ONLY },
    },
  },
  {
    table: 'users',
    targetWhere: () => `id = '${user.bob}'`,
    ops: {
      select: { sql: 'SELECT id FROM users WHERE id = $1', params: () => [user.bob], expect: MEMBERS_SEE },
      insert: { sql: `INSERT INTO users (cognito_sub, email) VALUES ('forged', 'forged@example.com')`, params: () => [], expect: ALL_DENIED },
      // Only Bob edits Bob's profile.
      update: { sql: `UPDATE users SET full_name = 'Renamed' WHERE id = $1`, params: () => [user.bob], expect: { alice: 0, bob: 1, charlie: 0, outsiders: 0 } },
      delete: { sql: 'DELETE FROM users WHERE id = $1', params: () => [user.bob], expect: ALL_DENIED },
    },
  },
  {
    table: 'sessions',
    targetWhere: (ids) => `id = '${ids.bobSession}'`,
    ops: {
      select: { sql: 'SELECT id FROM sessions WHERE id = $1', params: (ids) => [ids.bobSession], expect: { alice: 0, bob: 1, charlie: 0, outsiders: 0 } },
      insert: {
        sql: `INSERT INTO sessions (user_id, token_hash, expires_at) VALUES ($1, decode(repeat('ab', 32), 'hex'), now() + interval '1 day')`,
        params: () => [user.bob],
        expect: { alice: 'denied', bob: 1, charlie: 'denied', outsiders: 'denied' },
      },
      update: { sql: 'UPDATE sessions SET revoked_at = now() WHERE id = $1', params: (ids) => [ids.bobSession], expect: { alice: 0, bob: 1, charlie: 0, outsiders: 0 } },
      delete: { sql: 'DELETE FROM sessions WHERE id = $1', params: (ids) => [ids.bobSession], expect: { alice: 0, bob: 1, charlie: 0, outsiders: 0 } },
    },
  },
  {
    table: 'roles',
    targetWhere: (ids) => `id = '${ids.customRole}'`,
    ops: {
      select: { sql: 'SELECT id FROM roles WHERE id = $1', params: (ids) => [ids.customRole], expect: MEMBERS_SEE },
      insert: { sql: `INSERT INTO roles (organization_id, name) VALUES ($1, 'auditor')`, params: () => [org.acme], expect: ADMIN_INSERTS },
      update: { sql: `UPDATE roles SET description = 'changed' WHERE id = $1`, params: (ids) => [ids.customRole], expect: ADMIN_ONLY },
      delete: { sql: 'DELETE FROM roles WHERE id = $1', params: (ids) => [ids.customRole], expect: ADMIN_ONLY },
    },
  },
  {
    table: 'role_permissions',
    targetWhere: (ids) => `role_id = '${ids.customRole}'`,
    ops: {
      select: { sql: 'SELECT role_id FROM role_permissions WHERE role_id = $1', params: (ids) => [ids.customRole], expect: MEMBERS_SEE },
      insert: { sql: 'INSERT INTO role_permissions (role_id, permission_id) VALUES ($1, $2)', params: (ids) => [ids.customRole, ids.agentsRun], expect: ADMIN_INSERTS },
      update: { sql: 'UPDATE role_permissions SET permission_id = $2 WHERE role_id = $1', params: (ids) => [ids.customRole, ids.agentsRun], expect: ALL_DENIED },
      delete: { sql: 'DELETE FROM role_permissions WHERE role_id = $1', params: (ids) => [ids.customRole], expect: ADMIN_ONLY },
    },
  },
  {
    table: 'user_roles',
    targetWhere: (ids) => `id = '${ids.bobGrant}'`,
    ops: {
      select: { sql: 'SELECT id FROM user_roles WHERE id = $1', params: (ids) => [ids.bobGrant], expect: MEMBERS_SEE },
      insert: { sql: 'INSERT INTO user_roles (organization_id, user_id, role_id) VALUES ($1, $2, $3)', params: () => [org.acme, user.bob, role.agentUser], expect: ADMIN_INSERTS },
      update: { sql: `UPDATE user_roles SET expires_at = now() + interval '1 day' WHERE id = $1`, params: (ids) => [ids.bobGrant], expect: ADMIN_ONLY },
      delete: { sql: 'DELETE FROM user_roles WHERE id = $1', params: (ids) => [ids.bobGrant], expect: ADMIN_ONLY },
    },
  },
  {
    table: 'agent_tasks',
    targetWhere: () => `id = '${task.acme1}'`,
    ops: {
      select: { sql: 'SELECT id FROM agent_tasks WHERE id = $1', params: () => [task.acme1], expect: MEMBERS_SEE },
      insert: { sql: `INSERT INTO agent_tasks (organization_id, agent_type) VALUES ($1, 'research')`, params: () => [org.acme], expect: ADMIN_INSERTS },
      update: { sql: 'UPDATE agent_tasks SET priority = 9 WHERE id = $1', params: () => [task.acme1], expect: ADMIN_ONLY },
      delete: { sql: 'DELETE FROM agent_tasks WHERE id = $1', params: () => [task.acme1], expect: ADMIN_ONLY },
    },
  },
  {
    table: 'agent_results',
    targetWhere: () => `id = '${result.acme1}'`,
    ops: {
      select: { sql: 'SELECT id FROM agent_results WHERE id = $1', params: () => [result.acme1], expect: MEMBERS_SEE },
      insert: { sql: `INSERT INTO agent_results (organization_id, task_id, content) VALUES ($1, $2, 'more')`, params: () => [org.acme, task.acme1], expect: ADMIN_INSERTS },
      update: { sql: `UPDATE agent_results SET content = 'changed' WHERE id = $1`, params: () => [result.acme1], expect: ADMIN_ONLY },
      delete: { sql: 'DELETE FROM agent_results WHERE id = $1', params: () => [result.acme1], expect: ADMIN_ONLY },
    },
  },
  {
    table: 'audit_logs',
    targetWhere: (ids) => `id = ${ids.acmeAudit}`,
    ops: {
      // audit:read is an admin permission.
      select: { sql: 'SELECT id FROM audit_logs WHERE id = $1', params: (ids) => [ids.acmeAudit], expect: ADMIN_ONLY },
      insert: { sql: `INSERT INTO audit_logs (organization_id, action, table_name) VALUES ($1, 'forged', 'organizations')`, params: () => [org.acme], expect: ALL_DENIED },
      update: { sql: `UPDATE audit_logs SET action = 'forged' WHERE id = $1`, params: (ids) => [ids.acmeAudit], expect: ALL_DENIED },
      delete: { sql: 'DELETE FROM audit_logs WHERE id = $1', params: (ids) => [ids.acmeAudit], expect: ALL_DENIED },
    },
  },
  {
    table: 'permissions',
    targetWhere: (ids) => `id = '${ids.agentsRun}'`,
    ops: {
      // The global catalogue: any signed-in user reads it, nobody but service_role writes it.
      select: { sql: 'SELECT id FROM permissions WHERE id = $1', params: (ids) => [ids.agentsRun], expect: { alice: 1, bob: 1, charlie: 1, outsiders: 0 } },
      insert: { sql: `INSERT INTO permissions (resource, action) VALUES ('billing', 'read')`, params: () => [], expect: ALL_DENIED },
      update: { sql: `UPDATE permissions SET description = 'x' WHERE id = $1`, params: (ids) => [ids.agentsRun], expect: ALL_DENIED },
      delete: { sql: 'DELETE FROM permissions WHERE id = $1', params: (ids) => [ids.agentsRun], expect: ALL_DENIED },
    },
  },
];

function expected(expectations: Expectations, actor: ActorName): Expected {
  if (actor === 'alice' || actor === 'bob' || actor === 'charlie') return expectations[actor];
  return expectations.outsiders;
}

function describeOutcome(outcome: Outcome): Expected | string {
  if ('rows' in outcome) return outcome.rows;
  // Denials are privilege errors (RLS, grants) or a foreign key that cannot see the other tenant's row.
  return ['42501', '23503'].includes(outcome.error) ? 'denied' : `unexpected error ${outcome.error}`;
}

/** md5 over rows that existed before this transaction, read as service_role. */
const fingerprintSql = (table: string, where: string) =>
  `SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) AS fp FROM ${table} AS t
    WHERE (${where}) AND t.created_at <> now()`;

/** Defines the matrix's tests on the harness `open` returns (opened once for the file). */
export function describeIsolationMatrix(open: () => Promise<MatrixHarness>): void {
  let harness: MatrixHarness | undefined;
  let ids: Ids;
  const h = () => harness!;

  beforeAll(async () => {
    harness = await open();
    // Custom roles in Acme and Tech Startup, each with one permission (seeds hold only system roles).
    await harness.asServiceCommitted(`
      INSERT INTO roles (id, organization_id, name, description)
      VALUES ('31000000-0000-4000-8000-000000000001', '${org.acme}', 'reviewer', 'Acme custom role'),
             ('31000000-0000-4000-8000-000000000002', '${org.tech}', 'reviewer', 'Tech custom role');
      INSERT INTO role_permissions (role_id, permission_id)
      SELECT r.id, p.id FROM roles r, permissions p
       WHERE r.id IN ('31000000-0000-4000-8000-000000000001', '31000000-0000-4000-8000-000000000002')
         AND p.resource = 'agents' AND p.action = 'read';`);
    const one = async (sql: string) => String(Object.values((await harness!.asServiceCommitted(sql))[0])[0]);
    ids = {
      bobMembership: await one(`SELECT id FROM organization_members WHERE organization_id = '${org.acme}' AND user_id = '${user.bob}'`),
      bobGrant: await one(`SELECT id FROM user_roles WHERE organization_id = '${org.acme}' AND user_id = '${user.bob}'`),
      bobSession: await one(`SELECT id FROM sessions WHERE user_id = '${user.bob}'`),
      customRole: '31000000-0000-4000-8000-000000000001',
      techCustomRole: '31000000-0000-4000-8000-000000000002',
      agentsRun: await one(`SELECT id FROM permissions WHERE resource = 'agents' AND action = 'run'`),
      acmeAudit: await one(`SELECT min(id) FROM audit_logs WHERE organization_id = '${org.acme}'`),
    };
  });

  afterAll(async () => {
    await harness?.close();
  });

  describe.each(TABLES)('$table', (tableCase) => {
    const cells = (Object.keys(tableCase.ops) as Operation[]).flatMap((op) =>
      (Object.keys(ACTORS) as ActorName[]).map((actor) => ({ op, actor })),
    );

    test.each(cells)('$op as $actor', async ({ op, actor }) => {
      const cell = tableCase.ops[op];
      const want = expected(cell.expect, actor);
      const target = tableCase.targetWhere(ids);

      await h().acting(ACTORS[actor], async (as) => {
        const [othersBefore] = await as.asService<{ fp: string }>(fingerprintSql(tableCase.table, `NOT (${target})`));
        const [targetBefore] = await as.asService<{ fp: string }>(fingerprintSql(tableCase.table, target));

        const outcome = await as.run(cell.sql, cell.params(ids));
        expect(describeOutcome(outcome)).toEqual(want);

        // Whatever happened, no row but the target changed or disappeared.
        const [othersAfter] = await as.asService<{ fp: string }>(fingerprintSql(tableCase.table, `NOT (${target})`));
        expect(othersAfter.fp).toBe(othersBefore.fp);
        // And the target itself is untouched unless this actor was allowed to write it.
        if (op !== 'select' && want !== 1) {
          const [targetAfter] = await as.asService<{ fp: string }>(fingerprintSql(tableCase.table, target));
          expect(targetAfter.fp).toBe(targetBefore.fp);
        }
      });
    });
  });

  describe('full scans never return another tenant', () => {
    /** What each actor may see, table by table (SQL predicates over the table alias t). */
    const visible: Record<'alice' | 'bob' | 'charlie', Record<string, string>> = {
      alice: {},
      bob: {},
      charlie: {},
    };
    const scope = (orgId: string, userIds: string[], self: string, auditReader: boolean) => ({
      organizations: `t.id = '${orgId}'`,
      organization_members: `t.organization_id = '${orgId}'`,
      users: `t.id IN (${userIds.map((id) => `'${id}'`).join(', ')})`,
      sessions: `t.user_id = '${self}'`,
      roles: `t.organization_id IS NULL OR t.organization_id = '${orgId}'`,
      permissions: 'true',
      role_permissions: `t.organization_id IS NULL OR t.organization_id = '${orgId}'`,
      user_roles: `t.organization_id = '${orgId}'`,
      agent_tasks: `t.organization_id = '${orgId}'`,
      agent_results: `t.organization_id = '${orgId}'`,
      audit_logs: auditReader ? `t.organization_id = '${orgId}'` : 'false',
    });
    visible.alice = scope(org.acme, [user.alice, user.bob], user.alice, true);
    visible.bob = scope(org.acme, [user.alice, user.bob], user.bob, false);
    visible.charlie = scope(org.tech, [user.charlie], user.charlie, true);

    const tables = Object.keys(visible.alice);

    test.each(Object.keys(ACTORS) as ActorName[])('as %s', async (actor) => {
      await h().acting(ACTORS[actor], async (as) => {
        for (const table of tables) {
          const rule = actor in visible ? visible[actor as 'alice'][table] : 'false';
          const [{ seen, leaked }] = await as.rows<{ seen: number; leaked: number }>(
            `SELECT count(*)::int AS seen, count(*) FILTER (WHERE NOT (${rule}))::int AS leaked FROM ${table} AS t`,
          );
          const [{ expected: shouldSee }] = await as.asService<{ expected: number }>(
            `SELECT count(*)::int AS expected FROM ${table} AS t WHERE ${rule}`,
          );
          expect({ table, leaked }).toEqual({ table, leaked: 0 });
          expect({ table, seen }).toEqual({ table, seen: shouldSee });
        }
      });
    });
  });

  describe('attacks from inside a tenant', () => {
    const alice = ACTORS.alice;

    test('a row cannot be moved to another organization', async () => {
      await h().acting(alice, async (as) => {
        expect(await as.run('UPDATE agent_tasks SET organization_id = $1 WHERE id = $2', [org.tech, task.acme1])).toEqual({ error: '42501' });
      });
    });

    test('ids are generated, never chosen, so an insert cannot probe for another tenant’s ids', async () => {
      await h().acting(alice, async (as) => {
        expect(
          await as.run(`INSERT INTO agent_tasks (id, organization_id, agent_type) VALUES ($1, $2, 'x')`, [task.tech1, org.acme]),
        ).toEqual({ error: '42501' });
      });
    });

    test('a result cannot attach to another organization’s task', async () => {
      await h().acting(alice, async (as) => {
        expect(
          await as.run(`INSERT INTO agent_results (organization_id, task_id, content) VALUES ($1, $2, 'x')`, [org.acme, task.tech1]),
        ).toEqual({ error: '23503' });
      });
    });

    test('roles cannot be granted to non-members or from another organization', async () => {
      await h().acting(alice, async (as) => {
        // Charlie is not an Acme member.
        expect(
          await as.run('INSERT INTO user_roles (organization_id, user_id, role_id) VALUES ($1, $2, $3)', [org.acme, user.charlie, role.orgMember]),
        ).toEqual({ error: '23503' });
        // Tech Startup's custom role, reported exactly like a role that does not exist.
        const foreign = await as.run('INSERT INTO user_roles (organization_id, user_id, role_id) VALUES ($1, $2, $3)', [org.acme, user.bob, ids.techCustomRole]);
        const missing = await as.run('INSERT INTO user_roles (organization_id, user_id, role_id) VALUES ($1, $2, $3)', [org.acme, user.bob, '31000000-0000-4000-8000-0000000000ff']);
        expect(foreign).toEqual({ error: '23503' });
        expect(missing).toEqual(foreign);
      });
    });

    test('system roles and other organizations’ roles cannot gain permissions', async () => {
      await h().acting(alice, async (as) => {
        expect(await as.run('INSERT INTO role_permissions (role_id, permission_id) VALUES ($1, $2)', [role.orgMember, ids.agentsRun])).toEqual({ error: '42501' });
        expect(await as.run('INSERT INTO role_permissions (role_id, permission_id) VALUES ($1, $2)', [ids.techCustomRole, ids.agentsRun])).toEqual({ error: '23503' });
        expect(await as.run(`UPDATE roles SET name = 'hacked' WHERE id = $1`, [role.orgAdmin])).toEqual({ rows: 0 });
      });
    });

    test('the policy helpers answer only for the acting user', async () => {
      await h().acting({ userId: user.bob }, async (as) => {
        const orgs = await as.rows<{ id: string }>('SELECT tenancy.member_organization_ids() AS id');
        expect(orgs.map((row) => row.id)).toEqual([org.acme]);
        expect(await as.rows(`SELECT tenancy.permitted_organization_ids('agents', 'run')`)).toEqual([]);
      });
    });
  });
}
