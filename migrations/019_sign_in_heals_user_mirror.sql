-- 019_sign_in_heals_user_mirror.sql
--
-- Cognito heals the users mirror (issue 17). The post-confirmation trigger writes a user's row once; if that
-- call failed (the database was down, the Data API timed out) the user exists in Cognito but not here, and
-- stayed that way: no invitation could ever be accepted, no organization provisioned for them. Now the
-- pre-token trigger, which runs at every sign-in, calls tenancy.sign_in_claims(): it inserts the user's row when
-- it is missing, then returns the token claims exactly as tenancy.token_claims() does.
--
-- It only ever inserts: an existing row (whatever its status — a disabled user stays disabled) is left alone,
-- and an e-mail address that already belongs to another Cognito user is not taken over (ON CONFLICT DO
-- NOTHING covers both keys). A row it cannot write never blocks the sign-in: the claims are returned anyway.
--
-- SECURITY DEFINER, owned by user_mirror, a NOLOGIN role that may insert active users and read their Cognito
-- subs, nothing else; cognito_sync may execute it.

DO $$
DECLARE
    existing pg_roles%ROWTYPE;
BEGIN
    SELECT * INTO existing FROM pg_roles WHERE rolname = 'user_mirror';
    IF NOT FOUND THEN
        CREATE ROLE user_mirror NOLOGIN;
    ELSIF existing.rolcanlogin OR existing.rolsuper OR existing.rolbypassrls THEN
        RAISE EXCEPTION 'role user_mirror exists with LOGIN, SUPERUSER or BYPASSRLS; it must be a NOLOGIN group role'
            USING ERRCODE = 'invalid_role_specification';
    END IF;
END
$$;

COMMENT ON ROLE user_mirror IS 'Owns tenancy.sign_in_claims(); inserts missing users rows. Never granted to logins.';

GRANT user_mirror TO CURRENT_USER;

GRANT USAGE ON SCHEMA public, tenancy TO user_mirror;
GRANT SELECT (cognito_sub) ON users TO user_mirror;
GRANT INSERT (cognito_sub, email, email_verified, full_name, status) ON users TO user_mirror;
GRANT EXECUTE ON FUNCTION tenancy.token_claims(text, integer) TO user_mirror;

CREATE POLICY users_user_mirror_select ON users FOR SELECT TO user_mirror USING (true);
CREATE POLICY users_user_mirror_insert ON users FOR INSERT TO user_mirror WITH CHECK (status = 'active');

-- The claims of tenancy.token_claims(), after inserting the user's row if it is missing.
CREATE FUNCTION tenancy.sign_in_claims(p_cognito_sub text, p_email text, p_email_verified boolean,
                                       p_full_name text, p_limit integer DEFAULT 50)
    RETURNS jsonb
    LANGUAGE plpgsql
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    IF pg_catalog.btrim(COALESCE(p_cognito_sub, '')) <> '' AND pg_catalog.btrim(COALESCE(p_email, '')) <> ''
       AND NOT EXISTS (SELECT 1 FROM public.users AS u WHERE u.cognito_sub = p_cognito_sub) THEN
        BEGIN
            INSERT INTO public.users (cognito_sub, email, email_verified, full_name, status)
            VALUES (p_cognito_sub, p_email, COALESCE(p_email_verified, false), p_full_name, 'active')
            ON CONFLICT DO NOTHING;
        EXCEPTION WHEN check_violation OR not_null_violation OR string_data_right_truncation THEN
            NULL;  -- an address the mirror cannot hold: sign in without a row, as before
        END;
    END IF;
    RETURN tenancy.token_claims(p_cognito_sub, p_limit);
END
$$;

COMMENT ON FUNCTION tenancy.sign_in_claims(text, text, boolean, text, integer) IS
    'Pre-token trigger: inserts the Cognito user''s row when missing, then returns tenancy.token_claims().';

GRANT CREATE ON SCHEMA tenancy TO user_mirror;
ALTER FUNCTION tenancy.sign_in_claims(text, text, boolean, text, integer) OWNER TO user_mirror;
REVOKE CREATE ON SCHEMA tenancy FROM user_mirror;

REVOKE ALL ON FUNCTION tenancy.sign_in_claims(text, text, boolean, text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenancy.sign_in_claims(text, text, boolean, text, integer) TO cognito_sync;
