-- 008_tenant_context_current_transaction_only.sql
--
-- Only a tenant context set by set_app_user() in the current transaction counts (design decision 1, amended;
-- issue 16, finding F04).
--
-- Until now current_app_user_id() read app.current_user_id whoever had set it and whenever. On a pooled
-- connection a session-level `SET app.current_user_id = …` or `set_config(…, false)` outlived its request and
-- resurfaced under every later transaction that did not call set_app_user() (a request that means to run with
-- no user, say), and `set_app_user(NULL)` cleared it only until that transaction ended.
--
-- Now set_app_user() also records, transaction-locally, app.current_context = '<start of this transaction, in
-- epoch seconds with microseconds>/<user id>', and current_app_user_id() returns the user only when that record
-- names the current transaction and the current app.current_user_id. A context from another transaction (a
-- session-level setting, or a value set by anything but set_app_user) never matches, so it is NULL: no row.
-- transaction_timestamp() is fixed for a transaction and costs nothing (no transaction id is assigned, so a
-- read-only request stays read-only); a session-level value would have to name, to the microsecond, the start
-- of a transaction that has not begun yet. The check stays an expression the planner inlines.
--
-- set_app_user() also makes sure that nothing of an earlier request on the connection reaches this one:
--   * WITH HOLD cursors declared by an earlier transaction are closed (they hold rows read under another
--     request's context, and FETCH does not apply RLS again);
--   * if the session has temporary objects named like a table, view or type of pg_catalog, public or tenancy
--     (which unqualified names in this request would resolve to first), it refuses to set a context at all.
--     009 revokes TEMPORARY from PUBLIC, so an application login cannot create them; this is the second line,
--     for a database where TEMPORARY was granted again or never revoked (CREATE DATABASE … TEMPLATE does not
--     copy database privileges).
-- The signature is unchanged: set_app_user(uuid) returns the user it set; NULL clears the context.

-- Same contract as in 005 (NULL unless set_app_user() set a canonical UUID), and only in the transaction that
-- set it. Pre-parsed and inlined: no function call per statement.
CREATE OR REPLACE FUNCTION current_app_user_id() RETURNS uuid
    LANGUAGE sql
    STABLE
    PARALLEL SAFE
RETURN CASE
           WHEN pg_catalog.current_setting('app.current_context', true) OPERATOR(pg_catalog.=)
                    (EXTRACT(epoch FROM pg_catalog.transaction_timestamp())::pg_catalog.text
                     OPERATOR(pg_catalog.||) '/'::pg_catalog.text
                     OPERATOR(pg_catalog.||) pg_catalog.current_setting('app.current_user_id', true))
            AND pg_catalog.current_setting('app.current_user_id', true) OPERATOR(pg_catalog.~*)
                '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
           THEN pg_catalog.current_setting('app.current_user_id', true)::pg_catalog.uuid
       END;

COMMENT ON FUNCTION current_app_user_id() IS
    'The user set by set_app_user() in the current transaction, or NULL (unset, cleared, malformed, or set any '
    'other way or in another transaction).';

CREATE OR REPLACE FUNCTION set_app_user(p_user_id uuid) RETURNS uuid
    LANGUAGE plpgsql
    VOLATILE
    SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    leftover pg_catalog.refcursor;
BEGIN
    -- Temporary objects that shadow the schema's names would capture this request's unqualified names.
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

    -- WITH HOLD cursors of earlier transactions hold rows read under another request's context.
    FOR leftover IN
        SELECT c.name FROM pg_catalog.pg_cursors AS c
         WHERE c.is_holdable AND c.creation_time OPERATOR(pg_catalog.<) pg_catalog.transaction_timestamp()
    LOOP
        CLOSE leftover;
    END LOOP;

    PERFORM pg_catalog.set_config('app.current_user_id', COALESCE(p_user_id::pg_catalog.text, ''), true);
    PERFORM pg_catalog.set_config('app.current_context',
        CASE WHEN p_user_id IS NOT NULL
             THEN EXTRACT(epoch FROM pg_catalog.transaction_timestamp())::pg_catalog.text
                  OPERATOR(pg_catalog.||) '/' OPERATOR(pg_catalog.||) p_user_id::pg_catalog.text
             ELSE ''
        END, true);
    -- Iterative HNSW scans for the transaction (005).
    PERFORM pg_catalog.set_config('hnsw.iterative_scan', 'relaxed_order', true);
    RETURN p_user_id;
END
$$;

COMMENT ON FUNCTION set_app_user(uuid) IS
    'Sets the acting user (and iterative HNSW scans) for the current transaction only; call it first, after BEGIN. '
    'NULL clears the user. Closes WITH HOLD cursors of earlier transactions; refuses a connection whose temporary '
    'objects shadow the schema.';
