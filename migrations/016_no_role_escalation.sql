-- 016_no_role_escalation.sql
--
-- Roles cannot escalate (issue 17, finding F06). Before this file an org_admin could assign itself the system
-- role super_admin, or build a custom role holding organizations:delete, grant it to itself and delete the
-- organization; and a custom role could be called `super_admin`, which a token (role names only) cannot tell
-- from the real one. Now:
--
--   * a grant (user_roles INSERT or UPDATE) made by anyone but service_role must carry only permissions the
--     acting user holds, right now, in that organization; super_admin is granted by service_role only;
--   * a permission added to a custom role (role_permissions INSERT) must be one the acting user holds in the
--     role's organization;
--   * a custom role may not be named like a system role (a unique index cannot span the two scopes, so a
--     trigger checks it, for INSERT and for a rename);
--   * deleting an organization needs organizations:delete (the policy of 003, unchanged: org_admin does not
--     hold it, super_admin does, and super_admin comes only from service_role).
--
-- The checks are BEFORE triggers. They fire after the triggers of 002 (names sort after *_check_role_scope and
-- *_inherit_organization), so a role of another organization is still reported exactly like a missing one.
-- What the actor holds is read by SECURITY DEFINER helpers owned by rls_resolver (the roles and grants the
-- actor's RLS would hide must still count); whether the statement runs as service_role is read by the trigger
-- function itself, which runs as the caller. Refusals are 42501 and name no other tenant's data.

-- rls_resolver also reads which organization a role belongs to.
GRANT SELECT (organization_id) ON roles TO rls_resolver;

---------------------------------------------------------------------------------------------------------------
-- Helpers (SECURITY DEFINER, rls_resolver): what the acting user holds
---------------------------------------------------------------------------------------------------------------

-- Permissions the acting user holds in p_organization_id now: active user, active membership, active
-- organization, unexpired grant (the same rules as tenancy.permitted_organization_ids).
CREATE FUNCTION tenancy.held_permission_ids(p_organization_id uuid) RETURNS SETOF uuid
    LANGUAGE sql
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, public, pg_temp
AS $$
    SELECT DISTINCT rp.permission_id
      FROM public.user_roles AS ur
      JOIN public.users AS u ON u.id = ur.user_id AND u.status = 'active'
      JOIN public.organization_members AS m
        ON m.organization_id = ur.organization_id AND m.user_id = ur.user_id AND m.status = 'active'
      JOIN public.organizations AS o ON o.id = ur.organization_id AND o.status = 'active'
      JOIN public.role_permissions AS rp ON rp.role_id = ur.role_id
     WHERE ur.user_id = (SELECT public.current_app_user_id())
       AND ur.organization_id = p_organization_id
       AND (ur.expires_at IS NULL OR ur.expires_at > pg_catalog.now());
$$;

-- Why the acting user may not grant p_role_id in p_organization_id, or NULL when they may.
CREATE FUNCTION tenancy.role_grant_refusal(p_role_id uuid, p_organization_id uuid) RETURNS text
    LANGUAGE sql
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, public, pg_temp
AS $$
    SELECT CASE
        WHEN EXISTS (SELECT 1 FROM public.roles AS r
                      WHERE r.id = p_role_id AND r.organization_id IS NULL AND r.name = 'super_admin')
            THEN 'super_admin is granted by service_role only'
        WHEN EXISTS (SELECT 1 FROM public.role_permissions AS rp
                      WHERE rp.role_id = p_role_id
                        AND NOT (rp.permission_id = ANY (ARRAY(SELECT tenancy.held_permission_ids(p_organization_id)))))
            THEN 'a role may be granted only by someone who holds every permission it carries, in that organization'
    END;
$$;

-- Does the acting user hold p_permission_id in p_organization_id?
CREATE FUNCTION tenancy.holds_permission(p_permission_id uuid, p_organization_id uuid) RETURNS boolean
    LANGUAGE sql
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, public, pg_temp
AS $$
    SELECT p_permission_id = ANY (ARRAY(SELECT tenancy.held_permission_ids(p_organization_id)));
$$;

-- Is p_name the name of a system role?
CREATE FUNCTION tenancy.is_system_role_name(p_name text) RETURNS boolean
    LANGUAGE sql
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, public, pg_temp
AS $$
    SELECT EXISTS (SELECT 1 FROM public.roles AS r WHERE r.name = p_name AND r.organization_id IS NULL);
$$;

GRANT CREATE ON SCHEMA tenancy TO rls_resolver;
ALTER FUNCTION tenancy.held_permission_ids(uuid) OWNER TO rls_resolver;
ALTER FUNCTION tenancy.role_grant_refusal(uuid, uuid) OWNER TO rls_resolver;
ALTER FUNCTION tenancy.holds_permission(uuid, uuid) OWNER TO rls_resolver;
ALTER FUNCTION tenancy.is_system_role_name(text) OWNER TO rls_resolver;
REVOKE CREATE ON SCHEMA tenancy FROM rls_resolver;

REVOKE ALL ON FUNCTION tenancy.held_permission_ids(uuid), tenancy.role_grant_refusal(uuid, uuid),
    tenancy.holds_permission(uuid, uuid), tenancy.is_system_role_name(text)
    FROM PUBLIC;
-- The trigger functions below run as the caller and call these: app_user (the application) and service_role
-- (the triggers fire for it too, before they let it through).
GRANT EXECUTE ON FUNCTION tenancy.held_permission_ids(uuid), tenancy.role_grant_refusal(uuid, uuid),
    tenancy.holds_permission(uuid, uuid), tenancy.is_system_role_name(text)
    TO app_user, service_role;
-- role_grant_refusal and holds_permission call held_permission_ids as their owner.
GRANT EXECUTE ON FUNCTION tenancy.held_permission_ids(uuid) TO rls_resolver;

---------------------------------------------------------------------------------------------------------------
-- Triggers
---------------------------------------------------------------------------------------------------------------

-- user_roles: a grant carries only what the granting user holds; super_admin only from service_role. Runs as the
-- caller, so that service_role (system operations, provisioning, seeds) is recognised as such.
CREATE FUNCTION tenancy.user_roles_refuse_escalation() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    refusal text;
BEGIN
    IF pg_catalog.pg_has_role('service_role', 'USAGE') THEN
        RETURN NEW;
    END IF;
    refusal := tenancy.role_grant_refusal(NEW.role_id, NEW.organization_id);
    IF refusal IS NOT NULL THEN
        RAISE EXCEPTION 'permission denied to grant this role: %', refusal USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER user_roles_refuse_escalation
    BEFORE INSERT OR UPDATE ON user_roles
    FOR EACH ROW EXECUTE FUNCTION tenancy.user_roles_refuse_escalation();

-- role_permissions: a custom role gains only permissions the acting user holds in its organization.
CREATE FUNCTION tenancy.role_permissions_refuse_escalation() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    IF pg_catalog.pg_has_role('service_role', 'USAGE') THEN
        RETURN NEW;
    END IF;
    IF NEW.organization_id IS NULL OR NOT tenancy.holds_permission(NEW.permission_id, NEW.organization_id) THEN
        RAISE EXCEPTION 'permission denied to add this permission: a role may gain only permissions you hold in its organization'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER role_permissions_refuse_escalation
    BEFORE INSERT OR UPDATE ON role_permissions
    FOR EACH ROW EXECUTE FUNCTION tenancy.role_permissions_refuse_escalation();

-- roles: custom role names never equal a system role's name (whoever writes them).
CREATE FUNCTION tenancy.roles_refuse_system_names() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    IF NEW.organization_id IS NOT NULL AND tenancy.is_system_role_name(NEW.name) THEN
        RAISE EXCEPTION 'role name % is reserved for a system role', NEW.name
            USING ERRCODE = 'unique_violation', HINT = 'Choose another name for the custom role.';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER roles_refuse_system_names
    BEFORE INSERT OR UPDATE OF name, organization_id ON roles
    FOR EACH ROW EXECUTE FUNCTION tenancy.roles_refuse_system_names();

REVOKE ALL ON FUNCTION tenancy.user_roles_refuse_escalation(), tenancy.role_permissions_refuse_escalation(),
    tenancy.roles_refuse_system_names()
    FROM PUBLIC;

-- A custom role named like a system role before this file stops the deploy with a clear message: renaming a
-- tenant's role is a decision for an operator, not for a migration.
DO $$
DECLARE
    acting_role text := pg_catalog.current_setting('role');
    clashes     bigint;
BEGIN
    -- Read as service_role (RLS is forced for the owner too), then act as before.
    PERFORM pg_catalog.set_config('role', 'service_role', true);
    SELECT count(*) INTO clashes
      FROM public.roles AS custom
      JOIN public.roles AS system_role ON system_role.name = custom.name AND system_role.organization_id IS NULL
     WHERE custom.organization_id IS NOT NULL;
    PERFORM pg_catalog.set_config('role', acting_role, true);
    IF clashes > 0 THEN
        RAISE EXCEPTION '% custom role(s) are named like a system role', clashes
            USING ERRCODE = 'unique_violation',
                  HINT = 'Rename them (as service_role: UPDATE roles SET name = … WHERE organization_id IS NOT NULL '
                      || 'AND name IN (SELECT name FROM roles WHERE organization_id IS NULL)), then deploy again.';
    END IF;
END
$$;
