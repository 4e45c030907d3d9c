-- 015_status_enforcement.sql
--
-- Statuses mean what they say (issue 17, finding F10): a disabled (or deleted) user and a suspended or deleted
-- organization get nothing from the policies, from user_has_permission() or from the token claims.
--
--   * users.status <> 'active': nothing, as before, and now also no sessions: a disabled user can no longer
--     open, extend, read or close a session, nor edit their profile (sessions and users_update now ask
--     tenancy.is_active_user(), like every other policy already did through the helpers).
--   * organizations.status <> 'active': the policy helpers leave the organization out, so its members read and
--     write nothing of it, the organization row included. A suspended organization's data stays where it is;
--     its members learn its state from my_organizations() (018), and an operator exports through
--     service_role. Reactivating it (016) gives everything back at the next transaction.
--   * user_has_permission() answered through the caller's policies only, and service_role sees everything, so
--     it said true for a disabled user or a suspended organization when service_role asked. It now checks both
--     statuses itself, whoever asks.
--   * tenancy.token_claims() leaves suspended and deleted organizations out of the tokens.
--
-- The helpers keep their shape (005): one query each, run once per statement; one more join on organizations'
-- primary key.

-- rls_resolver now also reads organizations' status.
GRANT SELECT (id, status) ON organizations TO rls_resolver;
CREATE POLICY organizations_rls_resolver ON organizations FOR SELECT TO rls_resolver USING (true);

---------------------------------------------------------------------------------------------------------------
-- Policy helpers: active user, active membership, active organization
---------------------------------------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION tenancy.member_organization_ids() RETURNS SETOF uuid
    LANGUAGE sql
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, public, pg_temp
AS $$
    SELECT m.organization_id
      FROM public.organization_members AS m
      JOIN public.users AS u ON u.id = m.user_id
      JOIN public.organizations AS o ON o.id = m.organization_id
     WHERE m.user_id = (SELECT public.current_app_user_id())
       AND m.status = 'active'
       AND u.status = 'active'
       AND o.status = 'active';
$$;

CREATE OR REPLACE FUNCTION tenancy.permitted_organization_ids(p_resource text, p_action text) RETURNS SETOF uuid
    LANGUAGE sql
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, public, pg_temp
AS $$
    SELECT DISTINCT ur.organization_id
      FROM public.user_roles AS ur
      JOIN public.users AS u ON u.id = ur.user_id AND u.status = 'active'
      JOIN public.organization_members AS m
        ON m.organization_id = ur.organization_id AND m.user_id = ur.user_id AND m.status = 'active'
      JOIN public.organizations AS o ON o.id = ur.organization_id AND o.status = 'active'
      JOIN public.role_permissions AS rp ON rp.role_id = ur.role_id
      JOIN public.permissions AS p ON p.id = rp.permission_id
     WHERE ur.user_id = (SELECT public.current_app_user_id())
       AND (ur.expires_at IS NULL OR ur.expires_at > pg_catalog.now())
       AND p.resource = p_resource
       AND p.action = p_action;
$$;

---------------------------------------------------------------------------------------------------------------
-- user_has_permission: false for a user or an organization that is not active, whoever asks
---------------------------------------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION user_has_permission(p_user_id uuid, p_org_id uuid, p_resource text, p_action text)
    RETURNS boolean
    LANGUAGE sql
    STABLE
    SET search_path = pg_catalog, public, pg_temp
AS $$
    SELECT EXISTS (
        SELECT 1
          FROM public.user_roles AS ur
          JOIN public.users AS u ON u.id = ur.user_id AND u.status = 'active'
          JOIN public.organization_members AS m
            ON m.organization_id = ur.organization_id AND m.user_id = ur.user_id AND m.status = 'active'
          JOIN public.organizations AS o ON o.id = ur.organization_id AND o.status = 'active'
          JOIN public.role_permissions AS rp ON rp.role_id = ur.role_id
          JOIN public.permissions AS p ON p.id = rp.permission_id
         WHERE ur.user_id = p_user_id
           AND ur.organization_id = p_org_id
           AND (ur.expires_at IS NULL OR ur.expires_at > pg_catalog.now())
           AND p.resource = p_resource
           AND p.action = p_action
    );
$$;

COMMENT ON FUNCTION user_has_permission(uuid, uuid, text, text) IS
    'True when the user (active) holds resource:action in the organization (active) now, through an active '
    'membership and an unexpired grant. Answers through the caller''s RLS.';

---------------------------------------------------------------------------------------------------------------
-- Sessions and the own profile: active users only
---------------------------------------------------------------------------------------------------------------

ALTER POLICY sessions_select ON sessions
    USING (user_id = (SELECT current_app_user_id()) AND (SELECT tenancy.is_active_user()));
ALTER POLICY sessions_insert ON sessions
    WITH CHECK (user_id = (SELECT current_app_user_id()) AND (SELECT tenancy.is_active_user()));
ALTER POLICY sessions_update ON sessions
    USING (user_id = (SELECT current_app_user_id()) AND (SELECT tenancy.is_active_user()));
ALTER POLICY sessions_delete ON sessions
    USING (user_id = (SELECT current_app_user_id()) AND (SELECT tenancy.is_active_user()));
ALTER POLICY users_update ON users
    USING (id = (SELECT current_app_user_id()) AND (SELECT tenancy.is_active_user()));

---------------------------------------------------------------------------------------------------------------
-- Token claims: active organizations only
---------------------------------------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION tenancy.token_claims(p_cognito_sub text, p_limit integer DEFAULT 50) RETURNS jsonb
    LANGUAGE sql
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, public, pg_temp
AS $$
    WITH member_of AS (
        SELECT m.organization_id,
               COALESCE(
                   pg_catalog.jsonb_agg(DISTINCT r.name) FILTER (WHERE r.name IS NOT NULL),
                   '[]'::jsonb
               ) AS roles
          FROM public.users AS u
          JOIN public.organization_members AS m ON m.user_id = u.id AND m.status = 'active'
          JOIN public.organizations AS o ON o.id = m.organization_id AND o.status = 'active'
          LEFT JOIN public.user_roles AS ur
            ON ur.organization_id = m.organization_id AND ur.user_id = u.id
           AND (ur.expires_at IS NULL OR ur.expires_at > pg_catalog.now())
          LEFT JOIN public.roles AS r ON r.id = ur.role_id
         WHERE u.cognito_sub = p_cognito_sub
           AND u.status = 'active'
         GROUP BY m.organization_id
    ),
    limited AS (
        SELECT organization_id, roles FROM member_of ORDER BY organization_id LIMIT GREATEST(p_limit, 0)
    )
    SELECT pg_catalog.jsonb_build_object(
        'organizations',
        COALESCE((SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('id', organization_id, 'roles', roles)
                                              ORDER BY organization_id)
                    FROM limited), '[]'::jsonb),
        'truncated',
        (SELECT pg_catalog.count(*) FROM member_of) > GREATEST(p_limit, 0)
    );
$$;
