-- 014_reference_data.sql
--
-- Reference data is schema (design decision 5): the permission catalogue, the four system roles and what each
-- system role grants. Until now they lived only in seeds/001_sample_data.sql, so a production database, which
-- never gets seeds, had no roles and no permissions: nobody could ever be granted anything.
--
-- Three procedures keep this idempotent and versioned, so that a later migration adds or changes reference
-- data with one call each and reads like a declaration:
--   tenancy.define_permission(resource, action, description)        upsert one catalogue entry
--   tenancy.define_system_role(id, name, description)               upsert one system role
--   tenancy.set_system_role_permissions(role, ARRAY['res:act', …])   the role grants exactly these, no more
-- A later migration that adds `billing:read` for org_admin calls define_permission, then
-- set_system_role_permissions for every system role that should carry it, with the role's whole list: each
-- version states in full what a system role grants. The procedures belong to the migrating user; besides it,
-- only service_role may execute them (which may write these tables anyway), never the application. A migration
-- calls them after SET LOCAL ROLE service_role, since Row Level Security is forced on every table, the owner
-- included.
--
-- Ids are the ones the seeds used (system roles 30000000-…-00000000000N, permissions uuid_generate_v5 of
-- 'permission:<resource>:<action>'), so a database seeded before this migration converges: existing rows are
-- updated in place, grants that are missing are added and grants that are no longer declared are removed.

---------------------------------------------------------------------------------------------------------------
-- The procedures (owner only)
---------------------------------------------------------------------------------------------------------------

CREATE PROCEDURE tenancy.define_permission(p_resource text, p_action text, p_description text)
    LANGUAGE sql
    SET search_path = pg_catalog, public, pg_temp
BEGIN ATOMIC
    INSERT INTO public.permissions (id, resource, action, description)
    VALUES (public.uuid_generate_v5('6ba7b811-9dad-11d1-80b4-00c04fd430c8'::uuid,
                                    'permission:' || p_resource || ':' || p_action),
            p_resource, p_action, p_description)
    ON CONFLICT (resource, action) DO UPDATE SET description = excluded.description
        WHERE public.permissions.description IS DISTINCT FROM excluded.description;
END;

COMMENT ON PROCEDURE tenancy.define_permission(text, text, text) IS
    'Migrations only: adds resource:action to the permission catalogue, or updates its description.';

CREATE PROCEDURE tenancy.define_system_role(p_id uuid, p_name text, p_description text)
    LANGUAGE plpgsql
    SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    taken bigint;
BEGIN
    -- Custom role names may not equal system role names (tokens carry names only): a new system role must not
    -- take a name an organization already uses.
    SELECT count(*) INTO taken FROM public.roles AS r WHERE r.name = p_name AND r.organization_id IS NOT NULL;
    IF taken > 0 THEN
        RAISE EXCEPTION 'cannot define system role %: % organization(s) have a custom role of that name', p_name, taken
            USING ERRCODE = 'unique_violation',
                  HINT = 'Rename those custom roles in an earlier migration, or choose another name.';
    END IF;
    INSERT INTO public.roles (id, organization_id, name, description, is_system)
    VALUES (p_id, NULL, p_name, p_description, true)
    ON CONFLICT (id) DO UPDATE SET name = excluded.name, description = excluded.description
        WHERE (public.roles.name, public.roles.description) IS DISTINCT FROM (excluded.name, excluded.description);
END
$$;

COMMENT ON PROCEDURE tenancy.define_system_role(uuid, text, text) IS
    'Migrations only: adds a system role with a fixed id, or updates its name and description.';

CREATE PROCEDURE tenancy.set_system_role_permissions(p_role text, p_permissions text[])
    LANGUAGE plpgsql
    SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    v_role_id uuid;
    unknown   text[];
BEGIN
    SELECT r.id INTO v_role_id FROM public.roles AS r WHERE r.name = p_role AND r.organization_id IS NULL;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'system role % is not defined', p_role USING ERRCODE = 'undefined_object';
    END IF;
    SELECT array_agg(wanted ORDER BY wanted) INTO unknown
      FROM unnest(p_permissions) AS wanted
     WHERE NOT EXISTS (SELECT 1 FROM public.permissions AS p WHERE p.resource || ':' || p.action = wanted);
    IF unknown IS NOT NULL THEN
        RAISE EXCEPTION 'system role %: unknown permission(s) %', p_role, unknown
            USING ERRCODE = 'undefined_object', HINT = 'Define them first with tenancy.define_permission.';
    END IF;

    DELETE FROM public.role_permissions AS rp
     USING public.permissions AS p
     WHERE rp.role_id = v_role_id
       AND p.id = rp.permission_id
       AND NOT (p.resource || ':' || p.action = ANY (p_permissions));
    INSERT INTO public.role_permissions (role_id, permission_id)
    SELECT v_role_id, p.id
      FROM public.permissions AS p
     WHERE p.resource || ':' || p.action = ANY (p_permissions)
    ON CONFLICT (role_id, permission_id) DO NOTHING;
END
$$;

COMMENT ON PROCEDURE tenancy.set_system_role_permissions(text, text[]) IS
    'Migrations only: makes a system role grant exactly the listed resource:action permissions.';

REVOKE ALL ON PROCEDURE tenancy.define_permission(text, text, text), tenancy.define_system_role(uuid, text, text),
    tenancy.set_system_role_permissions(text, text[])
    FROM PUBLIC;
-- Migrations call them as service_role (Row Level Security is forced on every table, the owner included), which
-- gains nothing by it: it may already write these tables through its own policies.
GRANT EXECUTE ON PROCEDURE tenancy.define_permission(text, text, text), tenancy.define_system_role(uuid, text, text),
    tenancy.set_system_role_permissions(text, text[])
    TO service_role;

---------------------------------------------------------------------------------------------------------------
-- The permission catalogue. Policies check exactly these resource:action pairs.
---------------------------------------------------------------------------------------------------------------

-- As service_role until this migration's transaction ends (Row Level Security is forced on the owner too).
SET LOCAL ROLE service_role;

CALL tenancy.define_permission('organizations', 'read',   'View the organization');
CALL tenancy.define_permission('organizations', 'update', 'Rename the organization and change its settings');
CALL tenancy.define_permission('organizations', 'delete', 'Delete the organization and all its data');
CALL tenancy.define_permission('members',       'read',   'View the member list');
CALL tenancy.define_permission('members',       'invite', 'Invite members and manage pending invitations');
CALL tenancy.define_permission('members',       'update', 'Change a membership (status)');
CALL tenancy.define_permission('members',       'remove', 'Remove members');
CALL tenancy.define_permission('roles',         'read',   'View roles and grants');
CALL tenancy.define_permission('roles',         'create', 'Create custom roles');
CALL tenancy.define_permission('roles',         'update', 'Rename and describe custom roles');
CALL tenancy.define_permission('roles',         'delete', 'Delete custom roles');
CALL tenancy.define_permission('roles',         'assign', 'Grant and revoke roles to members');
CALL tenancy.define_permission('permissions',   'manage', 'Change which permissions a custom role carries');
CALL tenancy.define_permission('agents',        'read',   'View agent tasks and results');
CALL tenancy.define_permission('agents',        'run',    'Run AI agents: create and update tasks and results');
CALL tenancy.define_permission('agents',        'delete', 'Delete agent tasks and results');
CALL tenancy.define_permission('audit',         'read',   'Read the organization''s audit log');

---------------------------------------------------------------------------------------------------------------
-- System roles
---------------------------------------------------------------------------------------------------------------

CALL tenancy.define_system_role('30000000-0000-4000-8000-000000000001', 'super_admin', 'Full system access');
CALL tenancy.define_system_role('30000000-0000-4000-8000-000000000002', 'org_admin',   'Organization administrator');
CALL tenancy.define_system_role('30000000-0000-4000-8000-000000000003', 'org_member',  'Regular member');
CALL tenancy.define_system_role('30000000-0000-4000-8000-000000000004', 'agent_user',  'Can run AI agents');

---------------------------------------------------------------------------------------------------------------
-- What each system role grants
---------------------------------------------------------------------------------------------------------------

-- super_admin: every permission. Assignable by service_role only (see 017).
CALL tenancy.set_system_role_permissions('super_admin', ARRAY[
    'organizations:read', 'organizations:update', 'organizations:delete',
    'members:read', 'members:invite', 'members:update', 'members:remove',
    'roles:read', 'roles:create', 'roles:update', 'roles:delete', 'roles:assign',
    'permissions:manage',
    'agents:read', 'agents:run', 'agents:delete',
    'audit:read']);

-- org_admin: everything but deleting the organization.
CALL tenancy.set_system_role_permissions('org_admin', ARRAY[
    'organizations:read', 'organizations:update',
    'members:read', 'members:invite', 'members:update', 'members:remove',
    'roles:read', 'roles:create', 'roles:update', 'roles:delete', 'roles:assign',
    'permissions:manage',
    'agents:read', 'agents:run', 'agents:delete',
    'audit:read']);

-- org_member: read access (the audit log excepted).
CALL tenancy.set_system_role_permissions('org_member', ARRAY[
    'organizations:read', 'members:read', 'roles:read', 'agents:read']);

-- agent_user: read and run agents.
CALL tenancy.set_system_role_permissions('agent_user', ARRAY['agents:read', 'agents:run']);
