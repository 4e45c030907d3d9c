-- 004_cognito_token_claims.sql
--
-- What the Cognito triggers need. The post-confirmation trigger upserts users; the pre-token-generation
-- trigger needs one function that returns, for a Cognito user, the organizations they are an active member of
-- and their unexpired roles in each, as JSON, in one round trip.
--
-- The trigger logs in as a member of cognito_sync, which may insert and update users and nothing else. Rather
-- than granting it the membership tables, it may execute this one SECURITY DEFINER function, owned by
-- rls_resolver (which already reads memberships and grants). The function answers for the user it is asked
-- about only, returns no rows of any other user, and an unknown or disabled user gets empty claims.

-- The post-confirmation upsert (INSERT ... ON CONFLICT DO UPDATE) must be able to read the mirror columns it
-- sets, since RLS checks the existing row. Still the users mirror only.
GRANT SELECT (email_verified, full_name, last_login_at) ON users TO cognito_sync;

-- rls_resolver now also reads role names and looks users up by their Cognito sub.
GRANT SELECT (id, name) ON roles TO rls_resolver;
GRANT SELECT (cognito_sub) ON users TO rls_resolver;
CREATE POLICY roles_rls_resolver ON roles FOR SELECT TO rls_resolver USING (true);

-- {"organizations": [{"id": "<uuid>", "roles": ["org_admin", ...]}, ...]}, organizations and roles sorted, at
-- most p_limit organizations; "truncated": true when the user belongs to more (the application then reads its
-- memberships from the database instead of the token).
CREATE FUNCTION tenancy.token_claims(p_cognito_sub text, p_limit integer DEFAULT 50) RETURNS jsonb
    LANGUAGE sql
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, public
AS $$
    WITH member_of AS (
        SELECT m.organization_id,
               COALESCE(
                   jsonb_agg(DISTINCT r.name) FILTER (WHERE r.name IS NOT NULL),
                   '[]'::jsonb
               ) AS roles
          FROM public.users AS u
          JOIN public.organization_members AS m ON m.user_id = u.id AND m.status = 'active'
          LEFT JOIN public.user_roles AS ur
            ON ur.organization_id = m.organization_id AND ur.user_id = u.id
           AND (ur.expires_at IS NULL OR ur.expires_at > now())
          LEFT JOIN public.roles AS r ON r.id = ur.role_id
         WHERE u.cognito_sub = p_cognito_sub
           AND u.status = 'active'
         GROUP BY m.organization_id
    ),
    limited AS (
        SELECT organization_id, roles FROM member_of ORDER BY organization_id LIMIT GREATEST(p_limit, 0)
    )
    SELECT jsonb_build_object(
        'organizations',
        COALESCE((SELECT jsonb_agg(jsonb_build_object('id', organization_id, 'roles', roles) ORDER BY organization_id)
                    FROM limited), '[]'::jsonb),
        'truncated',
        (SELECT count(*) FROM member_of) > GREATEST(p_limit, 0)
    );
$$;

COMMENT ON FUNCTION tenancy.token_claims(text, integer) IS
    'Organizations and roles of one Cognito user, for token claims. Empty for unknown or disabled users.';

GRANT CREATE ON SCHEMA tenancy TO rls_resolver;
ALTER FUNCTION tenancy.token_claims(text, integer) OWNER TO rls_resolver;
REVOKE CREATE ON SCHEMA tenancy FROM rls_resolver;

REVOKE ALL ON FUNCTION tenancy.token_claims(text, integer) FROM PUBLIC;
GRANT USAGE ON SCHEMA tenancy TO cognito_sync;
GRANT EXECUTE ON FUNCTION tenancy.token_claims(text, integer) TO cognito_sync, service_role;
