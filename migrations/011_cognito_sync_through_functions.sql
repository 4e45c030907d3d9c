-- 011_cognito_sync_through_functions.sql
--
-- The Cognito login can do exactly what the two Cognito triggers do, for the one user an event names, and
-- nothing else (issue 16, finding F11).
--
-- cognito_sync could SELECT every user of every tenant (policy USING (true)), map each tenant's members and
-- role names by feeding those subs to tenancy.token_claims(), and UPDATE any user's status (disable anyone,
-- revive a disabled user). The triggers need two things:
--   post-confirmation  insert a confirmed user, or update the mirror columns of the user with that sub;
--   pre-token          the claims of the user with that sub (tenancy.token_claims, 004, unchanged).
-- The first becomes a SECURITY DEFINER function, tenancy.upsert_cognito_user(sub, email, email_verified,
-- full_name), owned by a new NOLOGIN role, cognito_mirror, which holds just the users privileges the upsert
-- needs. cognito_sync loses every privilege and policy on users and keeps EXECUTE on the two functions. It can no
-- longer list users, so it learns a sub only from a Cognito event; like the trigger, the upsert never changes a
-- user's status (a disabled user stays disabled) and returns nothing.
--
-- The post-confirmation Lambda now runs `SELECT tenancy.upsert_cognito_user(...)`.

---------------------------------------------------------------------------------------------------------------
-- cognito_mirror: owns the upsert (as in 003, an existing role with LOGIN, SUPERUSER or BYPASSRLS is refused)
---------------------------------------------------------------------------------------------------------------

DO $$
DECLARE
    existing pg_roles%ROWTYPE;
BEGIN
    SELECT * INTO existing FROM pg_roles WHERE rolname = 'cognito_mirror';
    IF NOT FOUND THEN
        CREATE ROLE cognito_mirror NOLOGIN;
    ELSIF existing.rolcanlogin OR existing.rolsuper OR existing.rolbypassrls THEN
        RAISE EXCEPTION 'role cognito_mirror exists with LOGIN, SUPERUSER or BYPASSRLS; '
                        'it must be a NOLOGIN group role'
            USING ERRCODE = 'invalid_role_specification';
    END IF;
END
$$;

COMMENT ON ROLE cognito_mirror IS
    'Owns tenancy.upsert_cognito_user(); inserts and updates the users mirror. Never granted to logins.';

-- The migrating user hands the function over (membership), and sets the role's default privileges (010).
GRANT cognito_mirror TO CURRENT_USER;
ALTER DEFAULT PRIVILEGES FOR ROLE cognito_mirror REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;

GRANT USAGE ON SCHEMA public TO cognito_mirror;
-- INSERT … ON CONFLICT DO UPDATE reads the conflicting row's columns it sets (and its key).
GRANT SELECT (id, cognito_sub, email, email_verified, full_name) ON users TO cognito_mirror;
GRANT INSERT (cognito_sub, email, email_verified, full_name, status) ON users TO cognito_mirror;
GRANT UPDATE (email, email_verified, full_name) ON users TO cognito_mirror;
CREATE POLICY users_cognito_mirror_select ON users FOR SELECT TO cognito_mirror USING (true);
CREATE POLICY users_cognito_mirror_insert ON users FOR INSERT TO cognito_mirror WITH CHECK (status = 'active');
CREATE POLICY users_cognito_mirror_update ON users FOR UPDATE TO cognito_mirror USING (true) WITH CHECK (true);

---------------------------------------------------------------------------------------------------------------
-- The post-confirmation upsert
---------------------------------------------------------------------------------------------------------------

-- Mirrors one confirmed Cognito user: a new sub becomes an active user; a known sub gets its e-mail, verification
-- and name refreshed (Cognito retries triggers, so a retry changes nothing). Status is never changed here.
CREATE FUNCTION tenancy.upsert_cognito_user(p_cognito_sub text, p_email text, p_email_verified boolean,
                                            p_full_name text)
    RETURNS void
    LANGUAGE sql
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, public, pg_temp
AS $$
    INSERT INTO public.users (cognito_sub, email, email_verified, full_name, status)
    VALUES (p_cognito_sub, p_email, COALESCE(p_email_verified, false), p_full_name, 'active')
    ON CONFLICT (cognito_sub) DO UPDATE
       SET email = EXCLUDED.email,
           email_verified = EXCLUDED.email_verified,
           full_name = EXCLUDED.full_name;
$$;

COMMENT ON FUNCTION tenancy.upsert_cognito_user(text, text, boolean, text) IS
    'Post-confirmation trigger: inserts the Cognito user, or refreshes e-mail, verification and name of the user '
    'with that sub. Never changes a status; returns nothing.';

GRANT CREATE ON SCHEMA tenancy TO cognito_mirror;
ALTER FUNCTION tenancy.upsert_cognito_user(text, text, boolean, text) OWNER TO cognito_mirror;
REVOKE CREATE ON SCHEMA tenancy FROM cognito_mirror;

REVOKE ALL ON FUNCTION tenancy.upsert_cognito_user(text, text, boolean, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenancy.upsert_cognito_user(text, text, boolean, text) TO cognito_sync, service_role;

---------------------------------------------------------------------------------------------------------------
-- cognito_sync: the two functions, nothing on the table
---------------------------------------------------------------------------------------------------------------

DROP POLICY users_cognito_sync_select ON users;
DROP POLICY users_cognito_sync_insert ON users;
DROP POLICY users_cognito_sync_update ON users;
-- A table-level REVOKE also takes back the column grants of 003 and 004.
REVOKE ALL ON users FROM cognito_sync;
REVOKE EXECUTE ON FUNCTION current_app_user_id() FROM cognito_sync;
