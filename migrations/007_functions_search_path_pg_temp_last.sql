-- 007_functions_search_path_pg_temp_last.sql
--
-- Every function of the schema that names a table or a type now resolves it in pg_catalog and public only,
-- never in the caller's temporary schema (issue 16, findings F01 and F05).
--
-- A function with `SET search_path = pg_catalog, public` still searches the session's temporary schema first
-- for tables and types, because pg_temp is searched first whenever the path does not name it. So:
--   F01  a temporary domain named `jsonb` whose CHECK calls a temporary function turned the audit trigger
--        (SECURITY DEFINER, audit_writer) and tenancy.token_claims() (SECURITY DEFINER, rls_resolver) into
--        code of the caller's choosing running with their owners' privileges: forged, backdated audit rows in
--        any tenant, or every tenant's memberships read by the Cognito login;
--   F05  user_roles_check_role_scope() read the unqualified `roles`: a temporary table named `roles` decided
--        which role a grant may use, and an admin attached another tenant's custom role in their organization.
--        role_permissions_inherit_organization() read `roles` the same way.
-- Listing pg_temp last (design decision 3) makes the temporary schema the last place searched, and it is never
-- searched for functions or operators. The two triggers that read `roles` now name public.roles.
--
-- Only the search_path entry of each function's configuration changes (ALTER FUNCTION ... SET replaces that one
-- setting): the vector-search functions keep their planner and HNSW settings. current_app_user_id() has no
-- search_path on purpose: its SQL-standard body was bound to pg_catalog objects when it was created, and a SET
-- clause would stop the planner from inlining it. set_app_user() is rewritten in 008.

-- Trigger functions.
ALTER FUNCTION set_updated_at() SET search_path = pg_catalog, public, pg_temp;
ALTER FUNCTION audit_logs_reject_change() SET search_path = pg_catalog, public, pg_temp;
ALTER FUNCTION tenancy.audit_row_change() SET search_path = pg_catalog, public, pg_temp;

-- organization_id always follows the role (as in 002), read from public.roles whatever the caller has
-- created. Runs as the caller: a role hidden by RLS reads as missing.
CREATE OR REPLACE FUNCTION role_permissions_inherit_organization() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    SELECT r.organization_id INTO NEW.organization_id FROM public.roles AS r WHERE r.id = NEW.role_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'role % does not exist', NEW.role_id USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NEW;
END
$$;

-- A grant may use a system role or a custom role of the same organization (as in 002), read from public.roles.
-- Runs as the caller: a role of another organization is invisible under RLS and is reported exactly like a role
-- that does not exist.
CREATE OR REPLACE FUNCTION user_roles_check_role_scope() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    role_organization pg_catalog.uuid;
BEGIN
    SELECT r.organization_id INTO role_organization FROM public.roles AS r WHERE r.id = NEW.role_id;
    IF NOT FOUND OR (role_organization IS NOT NULL AND role_organization <> NEW.organization_id) THEN
        RAISE EXCEPTION 'role % does not exist in this organization', NEW.role_id
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NEW;
END
$$;

-- SECURITY DEFINER helpers (rls_resolver).
ALTER FUNCTION tenancy.is_active_user() SET search_path = pg_catalog, public, pg_temp;
ALTER FUNCTION tenancy.member_organization_ids() SET search_path = pg_catalog, public, pg_temp;
ALTER FUNCTION tenancy.permitted_organization_ids(text, text) SET search_path = pg_catalog, public, pg_temp;
ALTER FUNCTION tenancy.visible_user_ids() SET search_path = pg_catalog, public, pg_temp;
ALTER FUNCTION tenancy.token_claims(text, integer) SET search_path = pg_catalog, public, pg_temp;

-- SECURITY INVOKER functions that pinned a path: they run as the caller, but on a pooled connection the
-- temporary objects may be an earlier request's.
ALTER FUNCTION user_has_permission(uuid, uuid, text, text) SET search_path = pg_catalog, public, pg_temp;
ALTER FUNCTION search_agent_results(uuid, public.vector, integer) SET search_path = pg_catalog, public, pg_temp;
ALTER FUNCTION tenancy.agent_results_nearest_exact(uuid, public.vector, integer)
    SET search_path = pg_catalog, public, pg_temp;
ALTER FUNCTION tenancy.agent_results_nearest_indexed(uuid, public.vector, integer)
    SET search_path = pg_catalog, public, pg_temp;
ALTER FUNCTION tenancy.agent_results_exact_search_cutoff(integer) SET search_path = pg_catalog, public, pg_temp;
