-- 012_audit_trail_unforgeable_and_complete.sql
--
-- Only the audit trigger writes the audit trail, and every table that holds tenant or user data is audited
-- (issue 16, finding F12).
--
-- 1. service_role could INSERT into audit_logs rows indistinguishable from the trigger's: any organization,
--    actor, role and time. It loses INSERT and its insert policy; it still reads the trail. The trigger's owner,
--    audit_writer, may now insert only the columns the trigger writes: id, created_at and transaction_id always
--    come from their defaults, so even code running as audit_writer cannot backdate a row or choose its id.
-- 2. users, sessions, permissions, agent_tasks and agent_results changed without a trace. They get the audit
--    trigger too: one row per inserted, updated or deleted row, like the other five tables. agent_tasks are
--    updated often (status, output); that is one audit row per change, as asked.
-- 3. Some columns never enter the trail: the trigger's arguments name them, and they are left out of both row
--    images. sessions.token_hash is a credential (a SHA-256 of a session token); agent_results.embedding is
--    1,536 floats that say nothing to an auditor. They are dropped before the row is turned into JSON, so an
--    embedding is never formatted as text. An update that changes only such a column is still recorded (the
--    comparison is made on the stored rows, updated_at aside), with the column missing from both images.

---------------------------------------------------------------------------------------------------------------
-- The trigger function (as in 003, plus hidden columns; every name qualified)
---------------------------------------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION tenancy.audit_row_change() RETURNS trigger
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    hidden_names pg_catalog.text[] := COALESCE(TG_ARGV, '{}'::pg_catalog.text[]);
    hidden       pg_catalog.jsonb;
    old_row      pg_catalog.jsonb;
    new_row      pg_catalog.jsonb;
    subject      pg_catalog.jsonb;
    acting_role  pg_catalog.text := pg_catalog.current_setting('role');
BEGIN
    -- An UPDATE that changes nothing but updated_at is not recorded (stored images compared, hidden columns too).
    IF TG_OP = 'UPDATE'
       AND pg_catalog.jsonb_populate_record(OLD, '{"updated_at": null}'::pg_catalog.jsonb)
           OPERATOR(pg_catalog.*=)
           pg_catalog.jsonb_populate_record(NEW, '{"updated_at": null}'::pg_catalog.jsonb) THEN
        RETURN NULL;
    END IF;

    IF TG_NARGS = 0 THEN
        old_row := CASE WHEN TG_OP IN ('UPDATE', 'DELETE') THEN pg_catalog.to_jsonb(OLD) END;
        new_row := CASE WHEN TG_OP IN ('INSERT', 'UPDATE') THEN pg_catalog.to_jsonb(NEW) END;
    ELSE
        -- Hidden columns are set to NULL in a copy of the row, then their keys are removed.
        hidden := (SELECT pg_catalog.jsonb_object_agg(h.name, NULL::pg_catalog.text)
                     FROM pg_catalog.unnest(hidden_names) AS h (name));
        old_row := CASE WHEN TG_OP IN ('UPDATE', 'DELETE')
                        THEN pg_catalog.to_jsonb(pg_catalog.jsonb_populate_record(OLD, hidden))
                             OPERATOR(pg_catalog.-) hidden_names END;
        new_row := CASE WHEN TG_OP IN ('INSERT', 'UPDATE')
                        THEN pg_catalog.to_jsonb(pg_catalog.jsonb_populate_record(NEW, hidden))
                             OPERATOR(pg_catalog.-) hidden_names END;
    END IF;
    subject := COALESCE(new_row, old_row);

    INSERT INTO public.audit_logs
        (organization_id, actor_user_id, actor_role, action, table_name, record_id, old_data, new_data)
    VALUES (
        CASE WHEN TG_TABLE_NAME = 'organizations' THEN (subject OPERATOR(pg_catalog.->>) 'id')::pg_catalog.uuid
             ELSE (subject OPERATOR(pg_catalog.->>) 'organization_id')::pg_catalog.uuid END,
        public.current_app_user_id(),
        CASE WHEN acting_role IS NULL OR acting_role = 'none' THEN session_user::pg_catalog.text
             ELSE acting_role END,
        pg_catalog.lower(TG_OP),
        TG_TABLE_NAME,
        COALESCE(subject OPERATOR(pg_catalog.->>) 'id',
                 (subject OPERATOR(pg_catalog.->>) 'role_id') OPERATOR(pg_catalog.||) '/'
                 OPERATOR(pg_catalog.||) (subject OPERATOR(pg_catalog.->>) 'permission_id')),
        old_row,
        new_row
    );
    RETURN NULL;
END
$$;

COMMENT ON FUNCTION tenancy.audit_row_change() IS
    'AFTER ROW trigger: appends the change to audit_logs with the acting user and role. Trigger arguments name '
    'columns left out of the row images (secrets, embeddings).';

---------------------------------------------------------------------------------------------------------------
-- Who may write the trail
---------------------------------------------------------------------------------------------------------------

DROP POLICY audit_logs_service_insert ON audit_logs;
REVOKE INSERT ON audit_logs FROM service_role;

REVOKE INSERT ON audit_logs FROM audit_writer;
GRANT INSERT (organization_id, actor_user_id, actor_role, action, table_name, record_id, old_data, new_data)
    ON audit_logs TO audit_writer;

---------------------------------------------------------------------------------------------------------------
-- The tables that were not audited
---------------------------------------------------------------------------------------------------------------

CREATE TRIGGER users_audit AFTER INSERT OR UPDATE OR DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION tenancy.audit_row_change();
CREATE TRIGGER sessions_audit AFTER INSERT OR UPDATE OR DELETE ON sessions
    FOR EACH ROW EXECUTE FUNCTION tenancy.audit_row_change('token_hash');
CREATE TRIGGER permissions_audit AFTER INSERT OR UPDATE OR DELETE ON permissions
    FOR EACH ROW EXECUTE FUNCTION tenancy.audit_row_change();
CREATE TRIGGER agent_tasks_audit AFTER INSERT OR UPDATE OR DELETE ON agent_tasks
    FOR EACH ROW EXECUTE FUNCTION tenancy.audit_row_change();
CREATE TRIGGER agent_results_audit AFTER INSERT OR UPDATE OR DELETE ON agent_results
    FOR EACH ROW EXECUTE FUNCTION tenancy.audit_row_change('embedding');
