-- 003_rls_policies.sql
--
-- Tenant isolation: roles, the tenant-context API, Row Level Security on every table, the audit triggers and
-- least-privilege grants. Row Level Security is the only wall between tenants, so this file is the heart of the
-- product. See ../shared/design.md, decisions 1-5.
--
-- How a request reaches its rows:
--   BEGIN; SELECT set_app_user('<user uuid>'); ...queries as a member of app_user...; COMMIT;
-- The context is transaction-local, so a pooled connection never carries one user's identity into the next
-- request. current_app_user_id() returns NULL when the context is unset, empty or not a UUID, and NULL matches
-- no row: every policy fails closed.
--
-- Policies never call a per-row function that queries tables. They compare against set-returning helpers in a
-- sub-select, `organization_id IN (SELECT tenancy.member_organization_ids())`, which PostgreSQL evaluates once
-- per statement. The helpers are SECURITY DEFINER, owned by the NOLOGIN role rls_resolver, which can read the
-- membership tables and nothing else.
--
-- Roles (all NOLOGIN, none SUPERUSER or BYPASSRLS; login roles are made members of them at deploy time):
--   app_user      everything the application does, subject to RLS
--   service_role  system operations (provisioning, workers, seeds), through explicit policies
--   cognito_sync  upserts the users mirror from Cognito triggers
--   rls_resolver  owns the policy helpers; reads memberships, roles and grants (internal)
--   audit_writer  owns the audit trigger; appends to audit_logs (internal)
-- Runs as the Aurora master user: CREATEROLE, no superuser.

---------------------------------------------------------------------------------------------------------------
-- Roles
---------------------------------------------------------------------------------------------------------------

-- Roles are cluster-wide, so another database of the same cluster may have created them already. An existing
-- role that can log in, is a superuser or bypasses RLS would silently void the policies below: refuse it.
DO $$
DECLARE
    role_name text;
    existing  pg_roles%ROWTYPE;
BEGIN
    FOREACH role_name IN ARRAY ARRAY['app_user', 'service_role', 'cognito_sync', 'rls_resolver', 'audit_writer']
    LOOP
        SELECT * INTO existing FROM pg_roles WHERE rolname = role_name;
        IF NOT FOUND THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN', role_name);
        ELSIF existing.rolcanlogin OR existing.rolsuper OR existing.rolbypassrls THEN
            RAISE EXCEPTION 'role % exists with LOGIN, SUPERUSER or BYPASSRLS; it must be a NOLOGIN group role',
                    role_name
                USING ERRCODE = 'invalid_role_specification',
                      HINT = 'Log in with a separate login role that is a member of the group role instead.';
        END IF;
    END LOOP;
END
$$;

COMMENT ON ROLE app_user IS 'Application requests; every row access is subject to RLS and set_app_user().';
COMMENT ON ROLE service_role IS 'System operations (provisioning, workers, seeds) through explicit policies.';
COMMENT ON ROLE cognito_sync IS 'Cognito triggers: inserts and updates the users mirror, nothing else.';
COMMENT ON ROLE rls_resolver IS 'Owns the RLS helper functions; reads memberships and grants. Never granted to logins.';
COMMENT ON ROLE audit_writer IS 'Owns the audit trigger function; appends to audit_logs. Never granted to logins.';

-- The migrating user hands function ownership to the internal roles (which needs membership), runs seeds as
-- service_role and the RLS self-test as app_user (SET ROLE needs membership).
GRANT rls_resolver, audit_writer, service_role, app_user TO CURRENT_USER;

---------------------------------------------------------------------------------------------------------------
-- Tenant context API (public: the application calls these)
---------------------------------------------------------------------------------------------------------------

-- Sets the acting user for the current transaction only (set_config(..., true)): on a pooled connection a
-- session-level setting would outlive the request. NULL clears the context.
CREATE FUNCTION set_app_user(p_user_id uuid) RETURNS uuid
    LANGUAGE sql
    VOLATILE
AS $$
    SELECT pg_catalog.set_config('app.current_user_id', COALESCE(p_user_id::text, ''), true);
    SELECT p_user_id;
$$;

COMMENT ON FUNCTION set_app_user(uuid) IS
    'Sets app.current_user_id for the current transaction (call it after BEGIN). NULL clears it.';

-- The acting user, or NULL when the setting is missing, empty or not a canonical UUID (fails closed: NULL
-- matches no row, and a malformed value raises no error that could be probed).
CREATE FUNCTION current_app_user_id() RETURNS uuid
    LANGUAGE sql
    STABLE
    PARALLEL SAFE
AS $$
    SELECT CASE
               WHEN setting OPERATOR(pg_catalog.~*)
                    '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
               THEN setting::uuid
           END
      FROM (SELECT pg_catalog.current_setting('app.current_user_id', true) AS setting) AS context;
$$;

COMMENT ON FUNCTION current_app_user_id() IS
    'The user set by set_app_user(), or NULL when unset, empty or malformed.';

-- Default the actor columns to the acting user, so the application cannot forget them.
ALTER TABLE organization_members ALTER COLUMN invited_by SET DEFAULT current_app_user_id();
ALTER TABLE user_roles ALTER COLUMN granted_by SET DEFAULT current_app_user_id();
ALTER TABLE agent_tasks ALTER COLUMN created_by SET DEFAULT current_app_user_id();

---------------------------------------------------------------------------------------------------------------
-- Policy helpers (schema tenancy: SECURITY DEFINER, owned by rls_resolver, search_path pinned)
---------------------------------------------------------------------------------------------------------------

CREATE SCHEMA tenancy;
COMMENT ON SCHEMA tenancy IS 'RLS helper functions. Each answers only for the current app user.';

-- Is the acting user a known, active user? (A disabled user loses access at once, whatever their memberships.)
CREATE FUNCTION tenancy.is_active_user() RETURNS boolean
    LANGUAGE sql
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, public
AS $$
    SELECT EXISTS (SELECT 1 FROM public.users AS u WHERE u.id = public.current_app_user_id() AND u.status = 'active');
$$;

-- Organizations the acting user is an active member of.
CREATE FUNCTION tenancy.member_organization_ids() RETURNS SETOF uuid
    LANGUAGE sql
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, public
AS $$
    SELECT m.organization_id
      FROM public.organization_members AS m
     WHERE m.user_id = public.current_app_user_id()
       AND m.status = 'active'
       AND tenancy.is_active_user();
$$;

-- Organizations where the acting user holds resource:action through an unexpired role grant.
CREATE FUNCTION tenancy.permitted_organization_ids(p_resource text, p_action text) RETURNS SETOF uuid
    LANGUAGE sql
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, public
AS $$
    SELECT DISTINCT ur.organization_id
      FROM public.user_roles AS ur
      JOIN public.organization_members AS m
        ON m.organization_id = ur.organization_id AND m.user_id = ur.user_id AND m.status = 'active'
      JOIN public.role_permissions AS rp ON rp.role_id = ur.role_id
      JOIN public.permissions AS p ON p.id = rp.permission_id
     WHERE ur.user_id = public.current_app_user_id()
       AND (ur.expires_at IS NULL OR ur.expires_at > now())
       AND p.resource = p_resource
       AND p.action = p_action
       AND tenancy.is_active_user();
$$;

-- Users who share an active organization with the acting user, the user included.
CREATE FUNCTION tenancy.visible_user_ids() RETURNS SETOF uuid
    LANGUAGE sql
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, public
AS $$
    SELECT public.current_app_user_id()
     WHERE tenancy.is_active_user()
    UNION
    SELECT peer.user_id
      FROM public.organization_members AS peer
     WHERE peer.organization_id IN (SELECT tenancy.member_organization_ids())
       AND peer.status = 'active';
$$;

-- Ownership goes to rls_resolver, which needs CREATE on the schema only for the hand-over.
GRANT CREATE ON SCHEMA tenancy TO rls_resolver;
ALTER FUNCTION tenancy.is_active_user() OWNER TO rls_resolver;
ALTER FUNCTION tenancy.member_organization_ids() OWNER TO rls_resolver;
ALTER FUNCTION tenancy.permitted_organization_ids(text, text) OWNER TO rls_resolver;
ALTER FUNCTION tenancy.visible_user_ids() OWNER TO rls_resolver;
REVOKE CREATE ON SCHEMA tenancy FROM rls_resolver;

---------------------------------------------------------------------------------------------------------------
-- Public permission check
---------------------------------------------------------------------------------------------------------------

-- Does p_user_id hold resource:action in p_org_id now (active membership, unexpired grant)? SECURITY INVOKER on
-- purpose: it reads through the caller's own policies, so an application user learns nothing about an
-- organization it does not belong to (the answer is false), while service_role sees every organization.
CREATE FUNCTION user_has_permission(p_user_id uuid, p_org_id uuid, p_resource text, p_action text)
    RETURNS boolean
    LANGUAGE sql
    STABLE
    SET search_path = pg_catalog, public
AS $$
    SELECT EXISTS (
        SELECT 1
          FROM public.user_roles AS ur
          JOIN public.organization_members AS m
            ON m.organization_id = ur.organization_id AND m.user_id = ur.user_id AND m.status = 'active'
          JOIN public.role_permissions AS rp ON rp.role_id = ur.role_id
          JOIN public.permissions AS p ON p.id = rp.permission_id
         WHERE ur.user_id = p_user_id
           AND ur.organization_id = p_org_id
           AND (ur.expires_at IS NULL OR ur.expires_at > now())
           AND p.resource = p_resource
           AND p.action = p_action
    );
$$;

COMMENT ON FUNCTION user_has_permission(uuid, uuid, text, text) IS
    'True when the user holds resource:action in the organization now. Answers through the caller''s RLS.';

---------------------------------------------------------------------------------------------------------------
-- Audit trail
---------------------------------------------------------------------------------------------------------------

-- Appends one audit row per changed row of a sensitive table, with the acting user and role. SECURITY DEFINER
-- (owned by audit_writer, which may only insert into audit_logs) because no application role may write the
-- trail directly. An UPDATE that changes nothing but updated_at is not recorded.
CREATE FUNCTION tenancy.audit_row_change() RETURNS trigger
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = pg_catalog, public
AS $$
DECLARE
    old_row jsonb := CASE WHEN TG_OP IN ('UPDATE', 'DELETE') THEN to_jsonb(OLD) END;
    new_row jsonb := CASE WHEN TG_OP IN ('INSERT', 'UPDATE') THEN to_jsonb(NEW) END;
    subject jsonb := COALESCE(new_row, old_row);
    acting_role text := current_setting('role');
BEGIN
    IF TG_OP = 'UPDATE' AND (old_row - 'updated_at') = (new_row - 'updated_at') THEN
        RETURN NULL;
    END IF;
    INSERT INTO public.audit_logs
        (organization_id, actor_user_id, actor_role, action, table_name, record_id, old_data, new_data)
    VALUES (
        CASE WHEN TG_TABLE_NAME = 'organizations' THEN (subject ->> 'id')::uuid
             ELSE (subject ->> 'organization_id')::uuid END,
        public.current_app_user_id(),
        CASE WHEN acting_role IS NULL OR acting_role = 'none' THEN session_user::text ELSE acting_role END,
        lower(TG_OP),
        TG_TABLE_NAME,
        COALESCE(subject ->> 'id', (subject ->> 'role_id') || '/' || (subject ->> 'permission_id')),
        old_row,
        new_row
    );
    RETURN NULL;
END
$$;

GRANT CREATE ON SCHEMA tenancy TO audit_writer;
ALTER FUNCTION tenancy.audit_row_change() OWNER TO audit_writer;
REVOKE CREATE ON SCHEMA tenancy FROM audit_writer;

CREATE TRIGGER organizations_audit AFTER INSERT OR UPDATE OR DELETE ON organizations
    FOR EACH ROW EXECUTE FUNCTION tenancy.audit_row_change();
CREATE TRIGGER organization_members_audit AFTER INSERT OR UPDATE OR DELETE ON organization_members
    FOR EACH ROW EXECUTE FUNCTION tenancy.audit_row_change();
CREATE TRIGGER roles_audit AFTER INSERT OR UPDATE OR DELETE ON roles
    FOR EACH ROW EXECUTE FUNCTION tenancy.audit_row_change();
CREATE TRIGGER role_permissions_audit AFTER INSERT OR UPDATE OR DELETE ON role_permissions
    FOR EACH ROW EXECUTE FUNCTION tenancy.audit_row_change();
CREATE TRIGGER user_roles_audit AFTER INSERT OR UPDATE OR DELETE ON user_roles
    FOR EACH ROW EXECUTE FUNCTION tenancy.audit_row_change();

---------------------------------------------------------------------------------------------------------------
-- Row Level Security: enabled and forced (the owner is no exception) on every table
---------------------------------------------------------------------------------------------------------------

ALTER TABLE organizations ENABLE ROW LEVEL SECURITY;
ALTER TABLE organizations FORCE ROW LEVEL SECURITY;
ALTER TABLE organization_members ENABLE ROW LEVEL SECURITY;
ALTER TABLE organization_members FORCE ROW LEVEL SECURITY;
ALTER TABLE users ENABLE ROW LEVEL SECURITY;
ALTER TABLE users FORCE ROW LEVEL SECURITY;
ALTER TABLE sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE sessions FORCE ROW LEVEL SECURITY;
ALTER TABLE roles ENABLE ROW LEVEL SECURITY;
ALTER TABLE roles FORCE ROW LEVEL SECURITY;
ALTER TABLE permissions ENABLE ROW LEVEL SECURITY;
ALTER TABLE permissions FORCE ROW LEVEL SECURITY;
ALTER TABLE role_permissions ENABLE ROW LEVEL SECURITY;
ALTER TABLE role_permissions FORCE ROW LEVEL SECURITY;
ALTER TABLE user_roles ENABLE ROW LEVEL SECURITY;
ALTER TABLE user_roles FORCE ROW LEVEL SECURITY;
ALTER TABLE agent_tasks ENABLE ROW LEVEL SECURITY;
ALTER TABLE agent_tasks FORCE ROW LEVEL SECURITY;
ALTER TABLE agent_results ENABLE ROW LEVEL SECURITY;
ALTER TABLE agent_results FORCE ROW LEVEL SECURITY;
ALTER TABLE audit_logs ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_logs FORCE ROW LEVEL SECURITY;

-- organizations: members read; updating and deleting need the matching permission; creation is provisioning
-- (service_role).
CREATE POLICY organizations_select ON organizations FOR SELECT TO app_user
    USING (id IN (SELECT tenancy.member_organization_ids()));
CREATE POLICY organizations_update ON organizations FOR UPDATE TO app_user
    USING (id IN (SELECT tenancy.permitted_organization_ids('organizations', 'update')))
    WITH CHECK (id IN (SELECT tenancy.permitted_organization_ids('organizations', 'update')));
CREATE POLICY organizations_delete ON organizations FOR DELETE TO app_user
    USING (id IN (SELECT tenancy.permitted_organization_ids('organizations', 'delete')));

-- organization_members: members read the member list; invite / update / remove need members:<action>.
CREATE POLICY organization_members_select ON organization_members FOR SELECT TO app_user
    USING (organization_id IN (SELECT tenancy.member_organization_ids()));
CREATE POLICY organization_members_insert ON organization_members FOR INSERT TO app_user
    WITH CHECK (organization_id IN (SELECT tenancy.permitted_organization_ids('members', 'invite')));
CREATE POLICY organization_members_update ON organization_members FOR UPDATE TO app_user
    USING (organization_id IN (SELECT tenancy.permitted_organization_ids('members', 'update')))
    WITH CHECK (organization_id IN (SELECT tenancy.permitted_organization_ids('members', 'update')));
CREATE POLICY organization_members_delete ON organization_members FOR DELETE TO app_user
    USING (organization_id IN (SELECT tenancy.permitted_organization_ids('members', 'remove')));

-- users: a user sees themselves and the members of their organizations, and edits only their own profile.
-- Rows are created and disabled by cognito_sync (the Cognito mirror), never by the application.
CREATE POLICY users_select ON users FOR SELECT TO app_user
    USING (id IN (SELECT tenancy.visible_user_ids()));
CREATE POLICY users_update ON users FOR UPDATE TO app_user
    USING (id = (SELECT current_app_user_id()))
    WITH CHECK (id = (SELECT current_app_user_id()));

-- sessions: strictly the acting user's own.
CREATE POLICY sessions_select ON sessions FOR SELECT TO app_user
    USING (user_id = (SELECT current_app_user_id()));
CREATE POLICY sessions_insert ON sessions FOR INSERT TO app_user
    WITH CHECK (user_id = (SELECT current_app_user_id()));
CREATE POLICY sessions_update ON sessions FOR UPDATE TO app_user
    USING (user_id = (SELECT current_app_user_id()))
    WITH CHECK (user_id = (SELECT current_app_user_id()));
CREATE POLICY sessions_delete ON sessions FOR DELETE TO app_user
    USING (user_id = (SELECT current_app_user_id()));

-- roles: system roles are visible to every active user, custom roles to their organization's members;
-- custom roles are managed with roles:create / roles:update / roles:delete. System roles are read-only here.
CREATE POLICY roles_select ON roles FOR SELECT TO app_user
    USING ((organization_id IS NULL AND (SELECT tenancy.is_active_user()))
           OR organization_id IN (SELECT tenancy.member_organization_ids()));
CREATE POLICY roles_insert ON roles FOR INSERT TO app_user
    WITH CHECK (organization_id IN (SELECT tenancy.permitted_organization_ids('roles', 'create')));
CREATE POLICY roles_update ON roles FOR UPDATE TO app_user
    USING (organization_id IN (SELECT tenancy.permitted_organization_ids('roles', 'update')))
    WITH CHECK (organization_id IN (SELECT tenancy.permitted_organization_ids('roles', 'update')));
CREATE POLICY roles_delete ON roles FOR DELETE TO app_user
    USING (organization_id IN (SELECT tenancy.permitted_organization_ids('roles', 'delete')));

-- permissions: the global catalogue, readable by any active user, written only by service_role.
CREATE POLICY permissions_select ON permissions FOR SELECT TO app_user
    USING ((SELECT tenancy.is_active_user()));

-- role_permissions: visible like their role; changing a custom role's permissions needs permissions:manage.
CREATE POLICY role_permissions_select ON role_permissions FOR SELECT TO app_user
    USING ((organization_id IS NULL AND (SELECT tenancy.is_active_user()))
           OR organization_id IN (SELECT tenancy.member_organization_ids()));
CREATE POLICY role_permissions_insert ON role_permissions FOR INSERT TO app_user
    WITH CHECK (organization_id IN (SELECT tenancy.permitted_organization_ids('permissions', 'manage')));
CREATE POLICY role_permissions_delete ON role_permissions FOR DELETE TO app_user
    USING (organization_id IN (SELECT tenancy.permitted_organization_ids('permissions', 'manage')));

-- user_roles: members see the organization's grants; granting, changing and revoking need roles:assign.
CREATE POLICY user_roles_select ON user_roles FOR SELECT TO app_user
    USING (organization_id IN (SELECT tenancy.member_organization_ids()));
CREATE POLICY user_roles_insert ON user_roles FOR INSERT TO app_user
    WITH CHECK (organization_id IN (SELECT tenancy.permitted_organization_ids('roles', 'assign')));
CREATE POLICY user_roles_update ON user_roles FOR UPDATE TO app_user
    USING (organization_id IN (SELECT tenancy.permitted_organization_ids('roles', 'assign')))
    WITH CHECK (organization_id IN (SELECT tenancy.permitted_organization_ids('roles', 'assign')));
CREATE POLICY user_roles_delete ON user_roles FOR DELETE TO app_user
    USING (organization_id IN (SELECT tenancy.permitted_organization_ids('roles', 'assign')));

-- agent_tasks: members read; running an agent (creating or updating a task) needs agents:run, and a task is
-- created in the acting user's name; deleting needs agents:delete.
CREATE POLICY agent_tasks_select ON agent_tasks FOR SELECT TO app_user
    USING (organization_id IN (SELECT tenancy.member_organization_ids()));
CREATE POLICY agent_tasks_insert ON agent_tasks FOR INSERT TO app_user
    WITH CHECK (organization_id IN (SELECT tenancy.permitted_organization_ids('agents', 'run'))
                AND created_by = (SELECT current_app_user_id()));
CREATE POLICY agent_tasks_update ON agent_tasks FOR UPDATE TO app_user
    USING (organization_id IN (SELECT tenancy.permitted_organization_ids('agents', 'run')))
    WITH CHECK (organization_id IN (SELECT tenancy.permitted_organization_ids('agents', 'run')));
CREATE POLICY agent_tasks_delete ON agent_tasks FOR DELETE TO app_user
    USING (organization_id IN (SELECT tenancy.permitted_organization_ids('agents', 'delete')));

-- agent_results: like their tasks.
CREATE POLICY agent_results_select ON agent_results FOR SELECT TO app_user
    USING (organization_id IN (SELECT tenancy.member_organization_ids()));
CREATE POLICY agent_results_insert ON agent_results FOR INSERT TO app_user
    WITH CHECK (organization_id IN (SELECT tenancy.permitted_organization_ids('agents', 'run')));
CREATE POLICY agent_results_update ON agent_results FOR UPDATE TO app_user
    USING (organization_id IN (SELECT tenancy.permitted_organization_ids('agents', 'run')))
    WITH CHECK (organization_id IN (SELECT tenancy.permitted_organization_ids('agents', 'run')));
CREATE POLICY agent_results_delete ON agent_results FOR DELETE TO app_user
    USING (organization_id IN (SELECT tenancy.permitted_organization_ids('agents', 'delete')));

-- audit_logs: readable with audit:read in the organization; written only by the audit trigger.
CREATE POLICY audit_logs_select ON audit_logs FOR SELECT TO app_user
    USING (organization_id IN (SELECT tenancy.permitted_organization_ids('audit', 'read')));
CREATE POLICY audit_logs_insert_by_trigger ON audit_logs FOR INSERT TO audit_writer
    WITH CHECK (true);

-- cognito_sync: the users mirror only.
CREATE POLICY users_cognito_sync_select ON users FOR SELECT TO cognito_sync USING (true);
CREATE POLICY users_cognito_sync_insert ON users FOR INSERT TO cognito_sync WITH CHECK (true);
CREATE POLICY users_cognito_sync_update ON users FOR UPDATE TO cognito_sync USING (true) WITH CHECK (true);

-- rls_resolver: reads what the policy helpers join, nothing else.
CREATE POLICY users_rls_resolver ON users FOR SELECT TO rls_resolver USING (true);
CREATE POLICY organization_members_rls_resolver ON organization_members FOR SELECT TO rls_resolver USING (true);
CREATE POLICY user_roles_rls_resolver ON user_roles FOR SELECT TO rls_resolver USING (true);
CREATE POLICY role_permissions_rls_resolver ON role_permissions FOR SELECT TO rls_resolver USING (true);
CREATE POLICY permissions_rls_resolver ON permissions FOR SELECT TO rls_resolver USING (true);

-- service_role: system operations see and change every row (audit_logs: read and append only, by grants).
CREATE POLICY organizations_service ON organizations FOR ALL TO service_role USING (true) WITH CHECK (true);
CREATE POLICY organization_members_service ON organization_members FOR ALL TO service_role
    USING (true) WITH CHECK (true);
CREATE POLICY users_service ON users FOR ALL TO service_role USING (true) WITH CHECK (true);
CREATE POLICY sessions_service ON sessions FOR ALL TO service_role USING (true) WITH CHECK (true);
CREATE POLICY roles_service ON roles FOR ALL TO service_role USING (true) WITH CHECK (true);
CREATE POLICY permissions_service ON permissions FOR ALL TO service_role USING (true) WITH CHECK (true);
CREATE POLICY role_permissions_service ON role_permissions FOR ALL TO service_role USING (true) WITH CHECK (true);
CREATE POLICY user_roles_service ON user_roles FOR ALL TO service_role USING (true) WITH CHECK (true);
CREATE POLICY agent_tasks_service ON agent_tasks FOR ALL TO service_role USING (true) WITH CHECK (true);
CREATE POLICY agent_results_service ON agent_results FOR ALL TO service_role USING (true) WITH CHECK (true);
CREATE POLICY audit_logs_service_select ON audit_logs FOR SELECT TO service_role USING (true);
CREATE POLICY audit_logs_service_insert ON audit_logs FOR INSERT TO service_role WITH CHECK (true);

---------------------------------------------------------------------------------------------------------------
-- Grants: least privilege. Nothing is granted to PUBLIC; app_user owns nothing.
---------------------------------------------------------------------------------------------------------------

-- Functions are executable by PUBLIC by default: take that back for ours, here and for future ones.
REVOKE ALL ON FUNCTION set_updated_at(), role_permissions_inherit_organization(), user_roles_check_role_scope(),
    audit_logs_reject_change(), set_app_user(uuid), current_app_user_id(),
    user_has_permission(uuid, uuid, text, text), tenancy.is_active_user(), tenancy.member_organization_ids(),
    tenancy.permitted_organization_ids(text, text), tenancy.visible_user_ids(), tenancy.audit_row_change()
    FROM PUBLIC;
ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
ALTER DEFAULT PRIVILEGES IN SCHEMA tenancy REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
REVOKE ALL ON SCHEMA tenancy FROM PUBLIC;

GRANT USAGE ON SCHEMA public TO app_user, service_role, cognito_sync, rls_resolver, audit_writer;
GRANT USAGE ON SCHEMA tenancy TO app_user, service_role, rls_resolver, audit_writer;

-- The tenant-context API and the policy helpers (policies run them with the caller's privileges).
GRANT EXECUTE ON FUNCTION set_app_user(uuid), current_app_user_id(), user_has_permission(uuid, uuid, text, text),
    tenancy.is_active_user(), tenancy.member_organization_ids(), tenancy.permitted_organization_ids(text, text),
    tenancy.visible_user_ids()
    TO app_user, service_role;
GRANT EXECUTE ON FUNCTION tenancy.is_active_user(), tenancy.member_organization_ids() TO rls_resolver;
GRANT EXECUTE ON FUNCTION current_app_user_id() TO cognito_sync, rls_resolver, audit_writer;
-- Trigger functions need no EXECUTE grant: PostgreSQL checks it when the trigger is created, not when it fires.

-- app_user: column lists keep keys, tenancy and bookkeeping out of the application's reach. Ids are always
-- generated, so an insert can never probe whether an id exists in another tenant.
GRANT SELECT, DELETE ON organizations TO app_user;
GRANT UPDATE (name, settings) ON organizations TO app_user;

GRANT SELECT, DELETE ON organization_members TO app_user;
GRANT INSERT (organization_id, user_id, status, invited_by, joined_at) ON organization_members TO app_user;
GRANT UPDATE (status, joined_at) ON organization_members TO app_user;

GRANT SELECT ON users TO app_user;
GRANT UPDATE (full_name, avatar_url) ON users TO app_user;

GRANT SELECT, DELETE ON sessions TO app_user;
GRANT INSERT (user_id, token_hash, ip_address, user_agent, expires_at) ON sessions TO app_user;
GRANT UPDATE (expires_at, revoked_at, last_seen_at) ON sessions TO app_user;

GRANT SELECT, DELETE ON roles TO app_user;
GRANT INSERT (organization_id, name, description) ON roles TO app_user;
GRANT UPDATE (name, description) ON roles TO app_user;

GRANT SELECT ON permissions TO app_user;

GRANT SELECT, DELETE ON role_permissions TO app_user;
GRANT INSERT (role_id, permission_id) ON role_permissions TO app_user;

GRANT SELECT, DELETE ON user_roles TO app_user;
GRANT INSERT (organization_id, user_id, role_id, granted_by, expires_at) ON user_roles TO app_user;
GRANT UPDATE (expires_at) ON user_roles TO app_user;

GRANT SELECT, DELETE ON agent_tasks TO app_user;
GRANT INSERT (organization_id, created_by, agent_type, priority, input) ON agent_tasks TO app_user;
GRANT UPDATE (status, priority, output, error_message, started_at, completed_at) ON agent_tasks TO app_user;

GRANT SELECT, DELETE ON agent_results TO app_user;
GRANT INSERT (organization_id, task_id, result_type, content, metadata, embedding) ON agent_results TO app_user;
GRANT UPDATE (result_type, content, metadata, embedding) ON agent_results TO app_user;

GRANT SELECT ON audit_logs TO app_user;

-- service_role: full data access, but the audit trail stays append-only.
GRANT SELECT, INSERT, UPDATE, DELETE ON organizations, organization_members, users, sessions, roles, permissions,
    role_permissions, user_roles, agent_tasks, agent_results TO service_role;
GRANT SELECT, INSERT ON audit_logs TO service_role;

-- cognito_sync: the users mirror, nothing else.
GRANT SELECT (id, cognito_sub, email, status) ON users TO cognito_sync;
GRANT INSERT (cognito_sub, email, email_verified, full_name, status, last_login_at) ON users TO cognito_sync;
GRANT UPDATE (email, email_verified, full_name, status, last_login_at) ON users TO cognito_sync;

-- Internal roles: exactly what their functions read or write.
GRANT SELECT ON organization_members, user_roles, role_permissions, permissions TO rls_resolver;
GRANT SELECT (id, status) ON users TO rls_resolver;
GRANT INSERT ON audit_logs TO audit_writer;
