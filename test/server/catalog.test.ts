/**
 * Catalog rules over every function and index of the migrated schema, on a real server as the owner (issue 16):
 * a function or index that a later migration adds is checked too, so none can slip (test/support/schema-rules.ts;
 * the PGlite tier runs the same rules in test/db/schema.test.ts).
 */
import type { Client } from 'pg';
import { DEFINER_FUNCTIONS, FUNCTIONS_EXECUTABLE_BY_PUBLIC, FUNCTIONS_WITHOUT_PG_TEMP_LAST, TENANT_INDEXES_NOT_LED_BY_ORGANIZATION } from '../support/schema-rules';
import { connectTo, createServerDatabase, describeServer, type ServerDatabase } from './support/server';

describeServer('the schema’s catalog on a real server', () => {
  let db: ServerDatabase;
  let owner: Client;

  beforeAll(async () => {
    db = await createServerDatabase('migrated');
    owner = await connectTo(db.ownerUrl, 'catalog');
  });
  afterAll(async () => {
    await owner?.end();
    await db?.drop();
  });
  const rows = async (sql: string) => (await owner.query(sql)).rows;

  test('F01: every SECURITY DEFINER and trigger function (and every function with a body parsed at run time) pins search_path with pg_temp last', async () => {
    expect(await rows(FUNCTIONS_WITHOUT_PG_TEMP_LAST)).toEqual([]);
  });

  test('F09: PUBLIC executes no function of public or tenancy (extension members aside)', async () => {
    expect(await rows(FUNCTIONS_EXECUTABLE_BY_PUBLIC)).toEqual([]);
  });

  test('F09: the migrating user’s global default privileges no longer give PUBLIC new functions', async () => {
    const defaults = await rows(`
      SELECT pg_get_userbyid(d.defaclrole) AS role, d.defaclnamespace = 0 AS global,
             EXISTS (SELECT 1 FROM aclexplode(d.defaclacl) AS a WHERE a.grantee = 0) AS public_executes
        FROM pg_default_acl AS d
       WHERE d.defaclobjtype = 'f' AND d.defaclnamespace = 0
       ORDER BY 1`);
    const roles = defaults.map((d) => d.role);
    expect(roles).toEqual(expect.arrayContaining([String((await rows('SELECT current_user AS u'))[0].u), 'audit_writer', 'cognito_mirror', 'rls_resolver']));
    expect(defaults.filter((d) => d.public_executes)).toEqual([]);
  });

  test('every SECURITY DEFINER function belongs to a NOLOGIN role without superuser or BYPASSRLS', async () => {
    const definers = await rows(DEFINER_FUNCTIONS);
    expect(definers.map((d) => d.name)).toEqual([
      'accept_invitation', 'audit_row_change', 'decline_invitation', 'held_permission_ids', 'holds_permission',
      'is_active_user', 'is_system_role_name', 'member_organization_ids', 'my_invitations', 'my_organizations',
      'permitted_organization_ids', 'role_grant_refusal', 'set_app_user', 'sign_in_claims', 'token_claims', 'upsert_cognito_user', 'visible_user_ids',
    ]);
    for (const d of definers) {
      expect(d).toEqual({ name: d.name, owner: expect.stringMatching(/^(rls_resolver|audit_writer|cognito_mirror|membership_keeper|user_mirror)$/), can_login: false, superuser: false, bypass_rls: false });
    }
  });

  test('F03: PUBLIC holds no TEMPORARY on the database', async () => {
    const grants = await rows(`
      SELECT a.privilege_type FROM pg_database AS d, aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) AS a
       WHERE d.datname = current_database() AND a.grantee = 0`);
    expect(grants).toEqual([{ privilege_type: 'CONNECT' }]);
  });

  test('F08: every index of a tenant table leads with organization_id, but for the documented exceptions', async () => {
    expect(await rows(TENANT_INDEXES_NOT_LED_BY_ORGANIZATION)).toEqual([]);
  });
});
