-- 005_rls_and_vector_search_performance.sql
--
-- Makes Row Level Security cheap enough to leave on, and tenant-filtered vector search complete and fast.
-- Measured by `npm run bench` (bench/rls.ts); the figures and the reasoning are in docs/performance.md.
-- Isolation is unchanged: every policy admits exactly the rows it admitted before (the isolation suite and
-- seeds/002_test_rls.sql check it).
--
-- 1. Membership tests become `organization_id = ANY (ARRAY(SELECT tenancy.<helper>()))` instead of
--    `organization_id IN (SELECT tenancy.<helper>())`. Both run the helper once per statement (an InitPlan
--    instead of a hashed SubPlan), but only the array form is an index condition: a query that leaves the
--    tenant filter to RLS (`SELECT status, count(*) FROM agent_tasks GROUP BY status`) reads the tenant's rows
--    through the organization_id index instead of filtering every row of the table.
-- 2. current_app_user_id() gets a pre-parsed SQL-standard body that the planner inlines; the helpers read it
--    once, in a sub-select (an inlined expression in a filter would be evaluated, regular expression and all,
--    for every row the filter sees), and join users directly instead of calling tenancy.is_active_user() (one
--    function call less per statement). Same answers: a missing, empty or malformed setting, a disabled user
--    and a suspended membership still give nothing.
-- 3. set_app_user() also turns on pgvector's iterative index scans for the transaction
--    (hnsw.iterative_scan = relaxed_order). Without them an HNSW scan returns hnsw.ef_search candidates and the
--    tenant filter runs afterwards, so a small tenant gets fewer than k results, or none. The setting lives in
--    set_app_user because app_user is a NOLOGIN group role: `ALTER ROLE app_user SET …` would only apply to
--    sessions that log in as app_user itself, never to a login role that reaches it with SET ROLE.
-- 4. search_agent_results(organization, query, k): tenant-filtered k-NN that picks its plan by the tenant's
--    size. The planner cannot: it never sees how many rows the RLS filter keeps, and it does not price the
--    TOAST reads and 1536-dimension distances of an exact scan. Small tenants are searched exactly through the
--    organization_id b-tree (recall 1, a few hundred distances at most); large ones through the HNSW index
--    with iterative scans.
--
-- Needs pgvector 0.8.0 or newer (iterative scans). Nothing here needs a superuser.

-- pgvector 0.8.0+ (hnsw.iterative_scan). Calling a vector function also loads the library, so the hnsw.*
-- settings below are known (a non-superuser may not attach an unknown setting to a function).
DO $$
DECLARE
    installed text;
BEGIN
    SELECT extversion INTO installed FROM pg_extension WHERE extname = 'vector';
    IF string_to_array(split_part(installed, '-', 1), '.')::int[] < ARRAY[0, 8, 0] THEN
        RAISE EXCEPTION 'pgvector % is installed, but this migration needs pgvector 0.8.0 or newer (iterative index scans)',
                installed
            USING ERRCODE = 'feature_not_supported',
                  HINT = 'Run ALTER EXTENSION vector UPDATE, or upgrade the engine to a version that ships '
                      || 'pgvector 0.8.0 or newer, then deploy again.';
    END IF;
    PERFORM '[1]'::public.vector;
END
$$;

---------------------------------------------------------------------------------------------------------------
-- Tenant context
---------------------------------------------------------------------------------------------------------------

-- Same contract as in 003 (NULL unless the setting is a canonical UUID), as an expression the planner inlines
-- and pre-parses: no function call and no parsing of the body per statement.
CREATE OR REPLACE FUNCTION current_app_user_id() RETURNS uuid
    LANGUAGE sql
    STABLE
    PARALLEL SAFE
RETURN CASE
           WHEN pg_catalog.current_setting('app.current_user_id', true) OPERATOR(pg_catalog.~*)
                '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
           THEN pg_catalog.current_setting('app.current_user_id', true)::uuid
       END;

-- As in 003, plus iterative HNSW scans for the transaction, so a tenant-filtered vector search that uses the
-- HNSW index keeps scanning until it has k rows of the tenant (or hnsw.max_scan_tuples, 20,000 by default).
CREATE OR REPLACE FUNCTION set_app_user(p_user_id uuid) RETURNS uuid
    LANGUAGE sql
    VOLATILE
AS $$
    SELECT pg_catalog.set_config('app.current_user_id', COALESCE(p_user_id::text, ''), true);
    SELECT pg_catalog.set_config('hnsw.iterative_scan', 'relaxed_order', true);
    SELECT p_user_id;
$$;

COMMENT ON FUNCTION set_app_user(uuid) IS
    'Sets app.current_user_id (and iterative HNSW scans) for the current transaction (call it after BEGIN). '
    'NULL clears the user.';

---------------------------------------------------------------------------------------------------------------
-- Policy helpers: one query each, no nested helper call
---------------------------------------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION tenancy.member_organization_ids() RETURNS SETOF uuid
    LANGUAGE sql
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, public
AS $$
    SELECT m.organization_id
      FROM public.organization_members AS m
      JOIN public.users AS u ON u.id = m.user_id
     WHERE m.user_id = (SELECT public.current_app_user_id())
       AND m.status = 'active'
       AND u.status = 'active';
$$;

CREATE OR REPLACE FUNCTION tenancy.permitted_organization_ids(p_resource text, p_action text) RETURNS SETOF uuid
    LANGUAGE sql
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, public
AS $$
    SELECT DISTINCT ur.organization_id
      FROM public.user_roles AS ur
      JOIN public.users AS u ON u.id = ur.user_id AND u.status = 'active'
      JOIN public.organization_members AS m
        ON m.organization_id = ur.organization_id AND m.user_id = ur.user_id AND m.status = 'active'
      JOIN public.role_permissions AS rp ON rp.role_id = ur.role_id
      JOIN public.permissions AS p ON p.id = rp.permission_id
     WHERE ur.user_id = (SELECT public.current_app_user_id())
       AND (ur.expires_at IS NULL OR ur.expires_at > now())
       AND p.resource = p_resource
       AND p.action = p_action;
$$;

---------------------------------------------------------------------------------------------------------------
-- Policies: membership tests as index conditions (same rows admitted as in 003)
---------------------------------------------------------------------------------------------------------------

ALTER POLICY organizations_select ON organizations
    USING (id = ANY (ARRAY(SELECT tenancy.member_organization_ids())));
ALTER POLICY organizations_update ON organizations
    USING (id = ANY (ARRAY(SELECT tenancy.permitted_organization_ids('organizations', 'update'))))
    WITH CHECK (id = ANY (ARRAY(SELECT tenancy.permitted_organization_ids('organizations', 'update'))));
ALTER POLICY organizations_delete ON organizations
    USING (id = ANY (ARRAY(SELECT tenancy.permitted_organization_ids('organizations', 'delete'))));

ALTER POLICY organization_members_select ON organization_members
    USING (organization_id = ANY (ARRAY(SELECT tenancy.member_organization_ids())));
ALTER POLICY organization_members_insert ON organization_members
    WITH CHECK (organization_id = ANY (ARRAY(SELECT tenancy.permitted_organization_ids('members', 'invite'))));
ALTER POLICY organization_members_update ON organization_members
    USING (organization_id = ANY (ARRAY(SELECT tenancy.permitted_organization_ids('members', 'update'))))
    WITH CHECK (organization_id = ANY (ARRAY(SELECT tenancy.permitted_organization_ids('members', 'update'))));
ALTER POLICY organization_members_delete ON organization_members
    USING (organization_id = ANY (ARRAY(SELECT tenancy.permitted_organization_ids('members', 'remove'))));

ALTER POLICY users_select ON users
    USING (id = ANY (ARRAY(SELECT tenancy.visible_user_ids())));

ALTER POLICY roles_select ON roles
    USING ((organization_id IS NULL AND (SELECT tenancy.is_active_user()))
           OR organization_id = ANY (ARRAY(SELECT tenancy.member_organization_ids())));
ALTER POLICY roles_insert ON roles
    WITH CHECK (organization_id = ANY (ARRAY(SELECT tenancy.permitted_organization_ids('roles', 'create'))));
ALTER POLICY roles_update ON roles
    USING (organization_id = ANY (ARRAY(SELECT tenancy.permitted_organization_ids('roles', 'update'))))
    WITH CHECK (organization_id = ANY (ARRAY(SELECT tenancy.permitted_organization_ids('roles', 'update'))));
ALTER POLICY roles_delete ON roles
    USING (organization_id = ANY (ARRAY(SELECT tenancy.permitted_organization_ids('roles', 'delete'))));

ALTER POLICY role_permissions_select ON role_permissions
    USING ((organization_id IS NULL AND (SELECT tenancy.is_active_user()))
           OR organization_id = ANY (ARRAY(SELECT tenancy.member_organization_ids())));
ALTER POLICY role_permissions_insert ON role_permissions
    WITH CHECK (organization_id = ANY (ARRAY(SELECT tenancy.permitted_organization_ids('permissions', 'manage'))));
ALTER POLICY role_permissions_delete ON role_permissions
    USING (organization_id = ANY (ARRAY(SELECT tenancy.permitted_organization_ids('permissions', 'manage'))));

ALTER POLICY user_roles_select ON user_roles
    USING (organization_id = ANY (ARRAY(SELECT tenancy.member_organization_ids())));
ALTER POLICY user_roles_insert ON user_roles
    WITH CHECK (organization_id = ANY (ARRAY(SELECT tenancy.permitted_organization_ids('roles', 'assign'))));
ALTER POLICY user_roles_update ON user_roles
    USING (organization_id = ANY (ARRAY(SELECT tenancy.permitted_organization_ids('roles', 'assign'))))
    WITH CHECK (organization_id = ANY (ARRAY(SELECT tenancy.permitted_organization_ids('roles', 'assign'))));
ALTER POLICY user_roles_delete ON user_roles
    USING (organization_id = ANY (ARRAY(SELECT tenancy.permitted_organization_ids('roles', 'assign'))));

ALTER POLICY agent_tasks_select ON agent_tasks
    USING (organization_id = ANY (ARRAY(SELECT tenancy.member_organization_ids())));
ALTER POLICY agent_tasks_insert ON agent_tasks
    WITH CHECK (organization_id = ANY (ARRAY(SELECT tenancy.permitted_organization_ids('agents', 'run')))
                AND created_by = (SELECT current_app_user_id()));
ALTER POLICY agent_tasks_update ON agent_tasks
    USING (organization_id = ANY (ARRAY(SELECT tenancy.permitted_organization_ids('agents', 'run'))))
    WITH CHECK (organization_id = ANY (ARRAY(SELECT tenancy.permitted_organization_ids('agents', 'run'))));
ALTER POLICY agent_tasks_delete ON agent_tasks
    USING (organization_id = ANY (ARRAY(SELECT tenancy.permitted_organization_ids('agents', 'delete'))));

ALTER POLICY agent_results_select ON agent_results
    USING (organization_id = ANY (ARRAY(SELECT tenancy.member_organization_ids())));
ALTER POLICY agent_results_insert ON agent_results
    WITH CHECK (organization_id = ANY (ARRAY(SELECT tenancy.permitted_organization_ids('agents', 'run'))));
ALTER POLICY agent_results_update ON agent_results
    USING (organization_id = ANY (ARRAY(SELECT tenancy.permitted_organization_ids('agents', 'run'))))
    WITH CHECK (organization_id = ANY (ARRAY(SELECT tenancy.permitted_organization_ids('agents', 'run'))));
ALTER POLICY agent_results_delete ON agent_results
    USING (organization_id = ANY (ARRAY(SELECT tenancy.permitted_organization_ids('agents', 'delete'))));

ALTER POLICY audit_logs_select ON audit_logs
    USING (organization_id = ANY (ARRAY(SELECT tenancy.permitted_organization_ids('audit', 'read'))));

---------------------------------------------------------------------------------------------------------------
-- Tenant-filtered k-NN over agent_results
---------------------------------------------------------------------------------------------------------------

-- Exact search of one organization: its rows through the organization_id b-tree, every distance computed.
-- Index scans are off for this statement because an HNSW scan is an index scan; the b-tree is still used, as
-- a bitmap scan (which HNSW cannot do).
CREATE FUNCTION tenancy.agent_results_nearest_exact(p_organization_id uuid, p_query public.vector, p_limit integer)
    RETURNS TABLE (id uuid, task_id uuid, distance double precision)
    LANGUAGE sql
    STABLE
    SET search_path = pg_catalog, public
    SET enable_indexscan = off
AS $$
    SELECT r.id, r.task_id, r.embedding OPERATOR(public.<=>) p_query
      FROM public.agent_results AS r
     WHERE r.organization_id = p_organization_id
       AND r.embedding IS NOT NULL
     ORDER BY 3
     LIMIT p_limit;
$$;

-- Approximate search through the HNSW index with iterative scans: sorting is off for this statement so that
-- the only ordered plan is the HNSW scan; relaxed_order lets pgvector return candidates slightly out of order
-- (the caller sorts the k rows), which keeps recall high while it scans past other tenants' rows; a candidate
-- list of 100 (pgvector's default is 40) keeps recall@10 at 0.95 or more for tenants above the cut-off.
CREATE FUNCTION tenancy.agent_results_nearest_indexed(p_organization_id uuid, p_query public.vector, p_limit integer)
    RETURNS TABLE (id uuid, task_id uuid, distance double precision)
    LANGUAGE sql
    STABLE
    SET search_path = pg_catalog, public
    SET enable_sort = off
    SET hnsw.iterative_scan = relaxed_order
    SET hnsw.ef_search = 100
AS $$
    SELECT r.id, r.task_id, r.embedding OPERATOR(public.<=>) p_query
      FROM public.agent_results AS r
     WHERE r.organization_id = p_organization_id
     ORDER BY r.embedding OPERATOR(public.<=>) p_query
     LIMIT p_limit;
$$;

-- Below how many rows of one organization an exact search beats the filtered HNSW search. An exact scan costs
-- one distance per row of the tenant; an HNSW scan filtered to one tenant visits about k / (tenant's share of
-- all rows) candidates, each a heap fetch and a distance. The two cross near sqrt(4 · k · rows) (measured on
-- PGlite, see docs/performance.md); never below 100 rows.
CREATE FUNCTION tenancy.agent_results_exact_search_cutoff(p_limit integer) RETURNS integer
    LANGUAGE sql
    STABLE
    SET search_path = pg_catalog, public
AS $$
    SELECT greatest(100, ceil(sqrt(4.0 * p_limit * greatest(c.reltuples, 0))))::integer
      FROM pg_class AS c
     WHERE c.oid = 'public.agent_results'::regclass;
$$;

-- The k results of an organization nearest to p_query by cosine distance, nearest first, as the caller sees
-- them (SECURITY INVOKER: Row Level Security applies, an organization the caller may not read gives nothing).
-- Exact below the cut-off above, HNSW with iterative scans from it on; the tenant's rows are counted only up
-- to the cut-off.
CREATE FUNCTION search_agent_results(p_organization_id uuid, p_query public.vector, p_limit integer DEFAULT 10)
    RETURNS TABLE (id uuid, task_id uuid, distance double precision)
    LANGUAGE plpgsql
    STABLE
    SET search_path = pg_catalog, public
AS $$
DECLARE
    cutoff integer;
    held   integer;
BEGIN
    IF p_organization_id IS NULL OR p_query IS NULL THEN
        RAISE EXCEPTION 'search_agent_results needs an organization and a query vector'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF p_limit IS NULL OR p_limit < 1 OR p_limit > 1000 THEN
        RAISE EXCEPTION 'search_agent_results: limit must be between 1 and 1000, got %', p_limit
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    cutoff := tenancy.agent_results_exact_search_cutoff(p_limit);
    SELECT count(*)::integer INTO held
      FROM (SELECT 1 FROM public.agent_results AS r WHERE r.organization_id = p_organization_id LIMIT cutoff) AS tenant_rows;

    IF held < cutoff THEN
        RETURN QUERY SELECT e.id, e.task_id, e.distance
                       FROM tenancy.agent_results_nearest_exact(p_organization_id, p_query, p_limit) AS e;
    ELSE
        RETURN QUERY SELECT a.id, a.task_id, a.distance
                       FROM tenancy.agent_results_nearest_indexed(p_organization_id, p_query, p_limit) AS a
                      ORDER BY a.distance;
    END IF;
END
$$;

COMMENT ON FUNCTION search_agent_results(uuid, public.vector, integer) IS
    'Tenant-filtered cosine k-NN over agent_results: exact for small tenants, HNSW with iterative scans for large '
    'ones. Runs with the caller''s privileges and Row Level Security.';

REVOKE ALL ON FUNCTION tenancy.agent_results_exact_search_cutoff(integer),
    tenancy.agent_results_nearest_exact(uuid, public.vector, integer),
    tenancy.agent_results_nearest_indexed(uuid, public.vector, integer),
    search_agent_results(uuid, public.vector, integer)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenancy.agent_results_exact_search_cutoff(integer),
    tenancy.agent_results_nearest_exact(uuid, public.vector, integer),
    tenancy.agent_results_nearest_indexed(uuid, public.vector, integer),
    search_agent_results(uuid, public.vector, integer)
    TO app_user, service_role;
