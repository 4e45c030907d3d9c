/**
 * The review findings of issue 17, reproduced as the review did: on a real server, through the ordinary admin
 * API of a real app login, no injection. Each test states the attack with statements that ran on the schema
 * before the fix (so each failed there) and asserts the outcome the fix guarantees.
 *
 *   F06  an org_admin escalates: super_admin for itself, a custom role holding organizations:delete, a custom
 *        role named like a system role
 *   F07  members:invite adds any user of any tenant as an active member without consent, then reads their
 *        profile; invited_by / granted_by accept any user; the insert tells whether a user id exists
 *   F10  a disabled user keeps permissions and sessions; suspended and deleted organizations are enforced nowhere
 *
 * Seeded database: Alice is org_admin (and agent_user) of Acme, Bob org_member of Acme, Charlie admin of Tech
 * Startup, Diana admin of Healthcare Co.
 */
import type { Client } from 'pg';
import { actingOn, pgSession, type Acting, type TenantContext } from '../support/acting';
import { SEED } from '../support/embedded';
import { connectTo, createLogin, createServerDatabase, describeServer, type ServerDatabase } from './support/server';

const { org, user, role } = SEED;
const UNKNOWN_USER = '29999999-0000-4000-8000-000000000123';

describeServer('review findings F06, F07, F10 through a real app login', () => {
  let db: ServerDatabase;
  let owner: Client;
  let app: Client;

  beforeAll(async () => {
    db = await createServerDatabase('seeded');
    const login = await createLogin(db, 'app_user');
    owner = await connectTo(db.ownerUrl, 'owner');
    app = await connectTo(db.loginUrl(login), 'app-login');
  });
  afterAll(async () => {
    await Promise.all([owner?.end(), app?.end()]);
    await db?.drop();
  });

  const as = <T>(context: TenantContext, fn: (acting: Acting) => Promise<T>) =>
    actingOn(pgSession(app), context, fn, { readAsService: () => Promise.reject(new Error('not used')) });
  const alice = { userId: user.alice };

  /** Runs statements as service_role and commits them. */
  async function service<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> {
    await owner.query('BEGIN');
    try {
      await owner.query('SET LOCAL ROLE service_role');
      const { rows } = await owner.query(sql, params);
      await owner.query('COMMIT');
      return rows as T[];
    } catch (error) {
      await owner.query('ROLLBACK');
      throw error;
    }
  }

  describe('F06: roles cannot escalate', () => {
    test('an org_admin cannot assign itself super_admin', async () => {
      await as(alice, async (a) => {
        expect(await a.run('INSERT INTO user_roles (organization_id, user_id, role_id) VALUES ($1, $2, $3)', [org.acme, user.alice, role.superAdmin])).toEqual({ error: '42501' });
        expect(await a.rows('SELECT user_has_permission($1, $2, $3, $4) AS ok', [user.alice, org.acme, 'organizations', 'delete'])).toEqual([{ ok: false }]);
      });
    });

    test('an org_admin cannot build a custom role holding organizations:delete and delete the organization', async () => {
      await as(alice, async (a) => {
        const [custom] = await a.rows<{ id: string }>(`INSERT INTO roles (organization_id, name) VALUES ($1, 'deleter') RETURNING id`, [org.acme]);
        const gained = await a.run(`INSERT INTO role_permissions (role_id, permission_id) SELECT $1, id FROM permissions WHERE resource = 'organizations' AND action = 'delete'`, [custom.id]);
        await a.run('INSERT INTO user_roles (organization_id, user_id, role_id) VALUES ($1, $2, $3)', [org.acme, user.alice, custom.id]);
        const deleted = await a.run('DELETE FROM organizations WHERE id = $1', [org.acme]);
        expect({ gained, deleted }).toEqual({ gained: { error: '42501' }, deleted: { rows: 0 } });
      });
    });

    test('a custom role cannot be named like a system role (a token could not tell them apart)', async () => {
      await as(alice, async (a) => {
        for (const name of ['super_admin', 'org_admin']) {
          expect(await a.run('INSERT INTO roles (organization_id, name) VALUES ($1, $2)', [org.acme, name])).toEqual({ error: '23505' });
        }
      });
    });
  });

  describe('F07: invitations need consent', () => {
    test('members:invite cannot add a user of another tenant as an active member, nor then read their profile', async () => {
      await as(alice, async (a) => {
        const added = await a.run(`INSERT INTO organization_members (organization_id, user_id, status, joined_at) VALUES ($1, $2, 'active', now())`, [org.acme, user.diana]);
        const profile = await a.rows('SELECT email, cognito_sub, last_login_at FROM users WHERE id = $1', [user.diana]);
        expect({ added, profile }).toEqual({ added: { error: '42501' }, profile: [] });
      });
      expect(await service('SELECT status FROM organization_members WHERE organization_id = $1 AND user_id = $2', [org.acme, user.diana])).toEqual([]);
    });

    test('invited_by and granted_by are always the acting user', async () => {
      await as(alice, async (a) => {
        expect(await a.run(`INSERT INTO organization_members (organization_id, user_id, status, invited_by) VALUES ($1, $2, 'invited', $3)`, [org.acme, user.diana, user.charlie])).toEqual({ error: '42501' });
        expect(await a.run('INSERT INTO user_roles (organization_id, user_id, role_id, granted_by) VALUES ($1, $2, $3, $4)', [org.acme, user.bob, role.agentUser, user.charlie])).toEqual({ error: '42501' });
        expect(await a.run('INSERT INTO user_roles (organization_id, user_id, role_id) VALUES ($1, $2, $3)', [org.acme, user.bob, role.agentUser])).toEqual({ rows: 1 });
        expect(await a.rows('SELECT granted_by FROM user_roles WHERE organization_id = $1 AND user_id = $2 AND role_id = $3', [org.acme, user.bob, role.agentUser])).toEqual([{ granted_by: user.alice }]);
      });
    });

    test('an insert does not tell whether a user id exists', async () => {
      await as(alice, async (a) => {
        for (const status of ['active', 'invited']) {
          const existing = await a.run('INSERT INTO organization_members (organization_id, user_id, status) VALUES ($1, $2, $3)', [org.acme, user.diana, status]);
          const missing = await a.run('INSERT INTO organization_members (organization_id, user_id, status) VALUES ($1, $2, $3)', [org.acme, UNKNOWN_USER, status]);
          expect(existing).toEqual(missing);
        }
      });
    });
  });

  describe('F10: statuses are enforced', () => {
    const setUser = (id: string, status: string) => service('UPDATE users SET status = $2 WHERE id = $1', [id, status]);
    const setOrganization = (id: string, status: string) => service('UPDATE organizations SET status = $2 WHERE id = $1', [id, status]);

    test('user_has_permission is false for a disabled user, whoever asks', async () => {
      await setUser(user.bob, 'disabled');
      try {
        expect(await service('SELECT user_has_permission($1, $2, $3, $4) AS ok', [user.bob, org.acme, 'agents', 'read'])).toEqual([{ ok: false }]);
        await as(alice, async (a) => {
          expect(await a.rows('SELECT user_has_permission($1, $2, $3, $4) AS ok', [user.bob, org.acme, 'agents', 'read'])).toEqual([{ ok: false }]);
        });
      } finally {
        await setUser(user.bob, 'active');
      }
    });

    test('a disabled user can neither create nor extend a session', async () => {
      const [session] = await service<{ id: string }>('SELECT id FROM sessions WHERE user_id = $1', [user.bob]);
      await setUser(user.bob, 'disabled');
      try {
        await as({ userId: user.bob }, async (a) => {
          const created = await a.run(`INSERT INTO sessions (user_id, token_hash, expires_at) VALUES ($1, decode(repeat('fe', 32), 'hex'), now() + interval '1 day')`, [user.bob]);
          const extended = await a.run(`UPDATE sessions SET expires_at = now() + interval '30 days', last_seen_at = now() WHERE id = $1`, [session.id]);
          expect({ created, extended }).toEqual({ created: { error: '42501' }, extended: { rows: 0 } });
        });
      } finally {
        await setUser(user.bob, 'active');
      }
    });

    test.each(['suspended', 'deleted'])('a %s organization gives its members nothing, user_has_permission included', async (status) => {
      await setOrganization(org.acme, status);
      try {
        expect(await service('SELECT user_has_permission($1, $2, $3, $4) AS ok', [user.alice, org.acme, 'agents', 'run'])).toEqual([{ ok: false }]);
        await as(alice, async (a) => {
          expect(await a.rows('SELECT id FROM agent_tasks WHERE organization_id = $1', [org.acme])).toEqual([]);
          expect(await a.run(`INSERT INTO agent_tasks (organization_id, agent_type) VALUES ($1, 'research')`, [org.acme])).toEqual({ error: '42501' });
          expect(await a.run(`UPDATE organizations SET name = 'Still here' WHERE id = $1`, [org.acme])).toEqual({ rows: 0 });
          expect(await a.rows('SELECT user_has_permission($1, $2, $3, $4) AS ok', [user.alice, org.acme, 'agents', 'run'])).toEqual([{ ok: false }]);
        });
      } finally {
        await setOrganization(org.acme, 'active');
      }
    });
  });
});
