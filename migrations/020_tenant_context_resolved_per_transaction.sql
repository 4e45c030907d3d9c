-- 020_tenant_context_resolved_per_transaction.sql
--
-- Row Level Security at about the cost of a WHERE clause (issue 18; design decision 3b, amended).
--
-- Until now every policy ran a SECURITY DEFINER SQL helper once per statement that joined the membership and
-- grant tables (five tables for a permission). Before PostgreSQL 18 such a helper is planned again on every
-- call, and on a real server that lookup cost more than the statement it guarded.
--
-- Now set_app_user() resolves, once per transaction, what the policies compare against and keeps it in
-- transaction-local settings; the policies read them through small PL/pgSQL readers (tenancy.context_*) in
-- sub-selects, evaluated once per statement, and read no table:
--   app.active_user       the user, when active; empty otherwise;
--   app.member_orgs       the organizations the user is an active member of (active user, active organization);
--   app.organization      the organization the request acts in: the one named to set_app_user() if the user is
--                         an active member of it, or else the user's only organization; empty when the user has
--                         several and named none, or named one they are not an active member of;
--   app.permissions       the permissions ('<resource>.<action>') the user holds there through an unexpired grant;
--   app.context_resolved  a copy of app.current_context (008): the transaction and user the above belong to.
-- Every call writes every key, so nothing of another transaction, user or call is ever read.
--
-- The organization a request acts in (design decision 3, "active organization"):
--   * set_app_user(user, organization) names it; one the user is not an active member of gives no tenant data
--     and allows no change at all.
--   * Tenant data (agent_tasks, agent_results, audit_logs) and every change to an organization's
--     administration (its row, members, invitations, roles, grants) happen in that organization only. Their
--     policies compare organization_id with one value, so a page that leaves the tenant filter to RLS reads one
--     organization's index range in order, as the hand-written filter does.
--   * Reading who is where (organizations, members, roles, grants, fellow users) spans every organization the
--     user is an active member of, whichever one the request acts in: a user in several organizations can list
--     them and choose, and invite a colleague from one into another.
--   A user in several organizations therefore names the one a request acts in; without it, that request reads
--   the membership lists and nothing else (fail closed).
--
-- What this trades (docs/database.md, threat model): a revocation, suspension or disabled user counts from the
-- next set_app_user() (the next transaction), not the next statement; SQL running as the application could
-- widen its scope with set_config(), as it could already claim any user with set_app_user(). RLS contains
-- application bugs (a forgotten or wrong tenant filter), not SQL of an attacker's choosing.
--
-- A transaction whose set_app_user() ran before this migration committed (a request in flight during the
-- deploy) has a user but no resolved context: its next statement on a tenant table fails with SQLSTATE 40001,
-- which the application retries (docs/database.md), instead of silently reading nothing.

---------------------------------------------------------------------------------------------------------------
-- What the policies read: the transaction's resolved context
---------------------------------------------------------------------------------------------------------------

-- The readers are PL/pgSQL, each in a sub-select of the policy (an InitPlan: once per statement). Measured on
-- PostgreSQL 15, that costs a statement less than an inlined SQL expression: the planner has nothing to inline
-- and fold, and PL/pgSQL keeps its own plans for the session (docs/performance.md).

-- Is the context resolved by set_app_user() in this transaction, for the user it names? The stamp is 008's
-- app.current_context (this transaction's start and the user). False without a user; a user set by the
-- set_app_user() of before this migration (a request in flight during the deploy) must retry.
CREATE FUNCTION tenancy.context_is_resolved() RETURNS boolean
    LANGUAGE plpgsql
    STABLE
    PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF pg_catalog.current_setting('app.context_resolved', true)
       = EXTRACT(epoch FROM pg_catalog.transaction_timestamp())::text || '/' || pg_catalog.current_setting('app.current_user_id', true) THEN
        RETURN true;
    END IF;
    IF public.current_app_user_id() IS NOT NULL THEN
        RAISE EXCEPTION 'the tenant context of this transaction was set by an older set_app_user()'
            USING ERRCODE = 'serialization_failure',
                  HINT = 'Retry the transaction: the schema was migrated while it ran.';
    END IF;
    RETURN false;
END
$$;

-- The organization the request acts in; with a permission ('<resource>.<action>'), only if the user holds it
-- there. NULL otherwise (no row matches NULL).
CREATE FUNCTION tenancy.context_organization(p_permission text DEFAULT NULL) RETURNS uuid
    LANGUAGE plpgsql
    STABLE
    PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT tenancy.context_is_resolved()
       OR (p_permission IS NOT NULL
           AND strpos(pg_catalog.current_setting('app.permissions', true), ' ' || p_permission || ' ') = 0) THEN
        RETURN NULL;
    END IF;
    RETURN NULLIF(pg_catalog.current_setting('app.organization', true), '')::uuid;
END
$$;

-- The organizations the context's user is an active member of; NULL without a user.
CREATE FUNCTION tenancy.context_organizations() RETURNS uuid[]
    LANGUAGE plpgsql
    STABLE
    PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT tenancy.context_is_resolved() THEN
        RETURN NULL;
    END IF;
    RETURN NULLIF(pg_catalog.current_setting('app.member_orgs', true), '')::uuid[];
END
$$;

-- The context's user, when active; NULL otherwise.
CREATE FUNCTION tenancy.context_active_user() RETURNS uuid
    LANGUAGE plpgsql
    STABLE
    PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT tenancy.context_is_resolved() THEN
        RETURN NULL;
    END IF;
    RETURN NULLIF(pg_catalog.current_setting('app.active_user', true), '')::uuid;
END
$$;

REVOKE ALL ON FUNCTION tenancy.context_is_resolved(), tenancy.context_organization(text),
    tenancy.context_organizations(), tenancy.context_active_user() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenancy.context_is_resolved(), tenancy.context_organization(text),
    tenancy.context_organizations(), tenancy.context_active_user() TO app_user, service_role, rls_resolver;

---------------------------------------------------------------------------------------------------------------
-- set_app_user(user, organization): the context, resolved once
---------------------------------------------------------------------------------------------------------------

DROP FUNCTION set_app_user(uuid);

-- PL/pgSQL, so its queries are planned once per connection; three statements after 008's checks of the
-- connection, which are unchanged. SECURITY DEFINER as rls_resolver, which reads the membership and grant tables.
CREATE FUNCTION set_app_user(p_user_id uuid, p_organization_id uuid DEFAULT NULL) RETURNS uuid
    LANGUAGE plpgsql
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    leftover pg_catalog.refcursor;
    stamp pg_catalog.text := '';
    active boolean;
    member_orgs pg_catalog.uuid[];
    organization pg_catalog.uuid;
    held pg_catalog.text;
BEGIN
    -- Temporary objects that shadow the schema's names would capture this request's unqualified names (008).
    IF pg_catalog.pg_my_temp_schema() OPERATOR(pg_catalog.<>) 0 AND (
           EXISTS (SELECT 1
                     FROM pg_catalog.pg_class AS t
                     JOIN pg_catalog.pg_class AS shadowed ON shadowed.relname OPERATOR(pg_catalog.=) t.relname
                    WHERE t.relnamespace OPERATOR(pg_catalog.=) pg_catalog.pg_my_temp_schema()
                      AND shadowed.relnamespace OPERATOR(pg_catalog.=) ANY (ARRAY[
                          'pg_catalog'::pg_catalog.regnamespace, 'public'::pg_catalog.regnamespace,
                          'tenancy'::pg_catalog.regnamespace]::pg_catalog.oid[]))
        OR EXISTS (SELECT 1
                     FROM pg_catalog.pg_type AS t
                     JOIN pg_catalog.pg_type AS shadowed ON shadowed.typname OPERATOR(pg_catalog.=) t.typname
                    WHERE t.typnamespace OPERATOR(pg_catalog.=) pg_catalog.pg_my_temp_schema()
                      AND shadowed.typnamespace OPERATOR(pg_catalog.=) ANY (ARRAY[
                          'pg_catalog'::pg_catalog.regnamespace, 'public'::pg_catalog.regnamespace,
                          'tenancy'::pg_catalog.regnamespace]::pg_catalog.oid[]))) THEN
        RAISE EXCEPTION 'this connection holds temporary objects named like objects of the schema; '
                        'it cannot serve a request'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Discard the connection (or run DISCARD ALL) and use another one.';
    END IF;

    -- WITH HOLD cursors of earlier transactions hold rows read under another request's context (008).
    FOR leftover IN
        SELECT c.name FROM pg_catalog.pg_cursors AS c
         WHERE c.is_holdable AND c.creation_time OPERATOR(pg_catalog.<) pg_catalog.transaction_timestamp()
    LOOP
        CLOSE leftover;
    END LOOP;

    IF p_user_id IS NOT NULL THEN
        stamp := EXTRACT(epoch FROM pg_catalog.transaction_timestamp())::pg_catalog.text
                 OPERATOR(pg_catalog.||) '/' OPERATOR(pg_catalog.||) p_user_id::pg_catalog.text;
        -- The user's status and the memberships that count (015's conditions).
        SELECT u.status OPERATOR(pg_catalog.=) 'active',
               pg_catalog.array_agg(m.organization_id) FILTER (WHERE m.organization_id IS NOT NULL)
          INTO active, member_orgs
          FROM public.users AS u
          LEFT JOIN (public.organization_members AS m
                     JOIN public.organizations AS o
                       ON o.id OPERATOR(pg_catalog.=) m.organization_id AND o.status OPERATOR(pg_catalog.=) 'active')
            ON m.user_id OPERATOR(pg_catalog.=) u.id
           AND m.status OPERATOR(pg_catalog.=) 'active'
         WHERE u.id OPERATOR(pg_catalog.=) p_user_id
         GROUP BY u.status;
        organization := CASE
                            WHEN active IS NOT TRUE THEN NULL
                            WHEN p_organization_id IS NOT NULL
                            THEN CASE WHEN p_organization_id OPERATOR(pg_catalog.=) ANY (member_orgs) THEN p_organization_id END
                            WHEN pg_catalog.cardinality(member_orgs) OPERATOR(pg_catalog.=) 1 THEN member_orgs[1]
                        END;
        IF organization IS NOT NULL THEN
            -- The permissions held there, as ' <resource>.<action> … ' (a repeat, through two roles, is harmless).
            SELECT ' ' OPERATOR(pg_catalog.||) pg_catalog.string_agg(
                       p.resource OPERATOR(pg_catalog.||) '.' OPERATOR(pg_catalog.||) p.action, ' ')
                   OPERATOR(pg_catalog.||) ' '
              INTO held
              FROM public.user_roles AS ur
              JOIN public.role_permissions AS rp ON rp.role_id OPERATOR(pg_catalog.=) ur.role_id
              JOIN public.permissions AS p ON p.id OPERATOR(pg_catalog.=) rp.permission_id
             WHERE ur.user_id OPERATOR(pg_catalog.=) p_user_id
               AND ur.organization_id OPERATOR(pg_catalog.=) organization
               AND (ur.expires_at IS NULL OR ur.expires_at OPERATOR(pg_catalog.>) pg_catalog.now());
        END IF;
    END IF;

    PERFORM pg_catalog.set_config('app.current_user_id', COALESCE(p_user_id::pg_catalog.text, ''), true),
            pg_catalog.set_config('app.current_context', stamp, true),
            pg_catalog.set_config('app.context_resolved', stamp, true),
            pg_catalog.set_config('app.active_user', CASE WHEN active THEN p_user_id::pg_catalog.text ELSE '' END, true),
            pg_catalog.set_config('app.member_orgs', CASE WHEN active THEN COALESCE(member_orgs, '{}')::pg_catalog.text ELSE '{}' END, true),
            pg_catalog.set_config('app.organization', COALESCE(organization::pg_catalog.text, ''), true),
            pg_catalog.set_config('app.permissions', COALESCE(held, ''), true),
            -- Iterative HNSW scans for the transaction (005).
            pg_catalog.set_config('hnsw.iterative_scan', 'relaxed_order', true);
    RETURN p_user_id;
END
$$;

COMMENT ON FUNCTION set_app_user(uuid, uuid) IS
    'Sets the acting user, and optionally the organization the request acts in, for the current transaction only, '
    'and resolves once what the policies compare against; call it first, after BEGIN. NULL clears the user. '
    'Closes WITH HOLD cursors of earlier transactions; refuses a connection whose temporary objects shadow the schema.';

GRANT CREATE ON SCHEMA public TO rls_resolver;
ALTER FUNCTION set_app_user(uuid, uuid) OWNER TO rls_resolver;
REVOKE CREATE ON SCHEMA public FROM rls_resolver;
REVOKE ALL ON FUNCTION set_app_user(uuid, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION set_app_user(uuid, uuid) TO app_user, service_role;

-- The users a user may see: themselves, and the active members of the context's organizations.
CREATE OR REPLACE FUNCTION tenancy.visible_user_ids() RETURNS SETOF uuid
    LANGUAGE sql
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, public, pg_temp
AS $$
    SELECT tenancy.context_active_user()
     WHERE tenancy.context_active_user() IS NOT NULL
    UNION
    SELECT peer.user_id
      FROM public.organization_members AS peer
     WHERE peer.organization_id OPERATOR(pg_catalog.=) ANY (tenancy.context_organizations())
       AND peer.status OPERATOR(pg_catalog.=) 'active';
$$;

---------------------------------------------------------------------------------------------------------------
-- Policies: tenant data and changes in the request's organization; who-is-where across the context's
---------------------------------------------------------------------------------------------------------------

ALTER POLICY agent_tasks_select ON agent_tasks
    USING (organization_id = (SELECT tenancy.context_organization()));
ALTER POLICY agent_tasks_insert ON agent_tasks
    WITH CHECK (organization_id = (SELECT tenancy.context_organization('agents.run')));
ALTER POLICY agent_tasks_update ON agent_tasks
    USING (organization_id = (SELECT tenancy.context_organization('agents.run')));
ALTER POLICY agent_tasks_delete ON agent_tasks
    USING (organization_id = (SELECT tenancy.context_organization('agents.delete')));

ALTER POLICY agent_results_select ON agent_results
    USING (organization_id = (SELECT tenancy.context_organization()));
ALTER POLICY agent_results_insert ON agent_results
    WITH CHECK (organization_id = (SELECT tenancy.context_organization('agents.run')));
ALTER POLICY agent_results_update ON agent_results
    USING (organization_id = (SELECT tenancy.context_organization('agents.run')));
ALTER POLICY agent_results_delete ON agent_results
    USING (organization_id = (SELECT tenancy.context_organization('agents.delete')));

ALTER POLICY audit_logs_select ON audit_logs
    USING (organization_id = (SELECT tenancy.context_organization('audit.read')));

ALTER POLICY organizations_select ON organizations
    USING (id = ANY ((SELECT tenancy.context_organizations())::uuid[]));
ALTER POLICY organizations_update ON organizations
    USING (id = (SELECT tenancy.context_organization('organizations.update')));
ALTER POLICY organizations_delete ON organizations
    USING (id = (SELECT tenancy.context_organization('organizations.delete')));

ALTER POLICY organization_members_select ON organization_members
    USING (organization_id = ANY ((SELECT tenancy.context_organizations())::uuid[]));
ALTER POLICY organization_members_insert ON organization_members
    WITH CHECK (organization_id = (SELECT tenancy.context_organization('members.invite'))
                AND status = 'invited'
                AND user_id = ANY (ARRAY(SELECT tenancy.visible_user_ids())));
ALTER POLICY organization_members_update ON organization_members
    USING (organization_id = (SELECT tenancy.context_organization('members.update'))
           AND status <> 'invited');
ALTER POLICY organization_members_delete ON organization_members
    USING (organization_id = (SELECT tenancy.context_organization('members.remove')));

ALTER POLICY organization_invitations_select ON organization_invitations
    USING (organization_id = (SELECT tenancy.context_organization('members.invite')));
ALTER POLICY organization_invitations_insert ON organization_invitations
    WITH CHECK (organization_id = (SELECT tenancy.context_organization('members.invite')));
ALTER POLICY organization_invitations_update ON organization_invitations
    USING (organization_id = (SELECT tenancy.context_organization('members.invite')));
ALTER POLICY organization_invitations_delete ON organization_invitations
    USING (organization_id = (SELECT tenancy.context_organization('members.invite')));

ALTER POLICY roles_select ON roles
    USING ((organization_id IS NULL AND (SELECT tenancy.context_active_user()) IS NOT NULL)
           OR organization_id = ANY ((SELECT tenancy.context_organizations())::uuid[]));
ALTER POLICY roles_insert ON roles
    WITH CHECK (organization_id = (SELECT tenancy.context_organization('roles.create')));
ALTER POLICY roles_update ON roles
    USING (organization_id = (SELECT tenancy.context_organization('roles.update')));
ALTER POLICY roles_delete ON roles
    USING (organization_id = (SELECT tenancy.context_organization('roles.delete')));

ALTER POLICY permissions_select ON permissions
    USING ((SELECT tenancy.context_active_user()) IS NOT NULL);

ALTER POLICY role_permissions_select ON role_permissions
    USING ((organization_id IS NULL AND (SELECT tenancy.context_active_user()) IS NOT NULL)
           OR organization_id = ANY ((SELECT tenancy.context_organizations())::uuid[]));
ALTER POLICY role_permissions_insert ON role_permissions
    WITH CHECK (organization_id = (SELECT tenancy.context_organization('permissions.manage')));
ALTER POLICY role_permissions_delete ON role_permissions
    USING (organization_id = (SELECT tenancy.context_organization('permissions.manage')));

ALTER POLICY user_roles_select ON user_roles
    USING (organization_id = ANY ((SELECT tenancy.context_organizations())::uuid[]));
ALTER POLICY user_roles_insert ON user_roles
    WITH CHECK (organization_id = (SELECT tenancy.context_organization('roles.assign')));
ALTER POLICY user_roles_update ON user_roles
    USING (organization_id = (SELECT tenancy.context_organization('roles.assign')));
ALTER POLICY user_roles_delete ON user_roles
    USING (organization_id = (SELECT tenancy.context_organization('roles.assign')));

ALTER POLICY sessions_select ON sessions USING (user_id = (SELECT tenancy.context_active_user()));
ALTER POLICY sessions_insert ON sessions WITH CHECK (user_id = (SELECT tenancy.context_active_user()));
ALTER POLICY sessions_update ON sessions USING (user_id = (SELECT tenancy.context_active_user()));
ALTER POLICY sessions_delete ON sessions USING (user_id = (SELECT tenancy.context_active_user()));

ALTER POLICY users_update ON users USING (id = (SELECT tenancy.context_active_user()));
