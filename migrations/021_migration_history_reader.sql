-- 021_migration_history_reader.sql
--
-- A login for CI that reads which migrations were applied, and nothing else (issue 21). The promotion's status
-- and drift steps read the history over the Data API; until now they did it as the master user (arbitrary SQL as
-- rds_superuser from CI). Now they log in as a member of migration_reader, a NOLOGIN group that may:
--
--   * use schema migration_history and SELECT its tables runner (the history's format) and applied_files (what
--     ran, when, with which checksum): what `db status` and `db drift` read;
--   * nothing of the application's schemas: no table, no sequence, no function of the schema is granted to it or
--     to PUBLIC (009, 010), so it reads no tenant row and calls no tenant function.
--
-- It can read the system catalog, as every role can: drift compares the catalog with the migrations. The
-- runner's events log (who repaired what) stays the migrating user's.
--
-- The login (ci_login) comes from its own secret, rotated with alternating users, and is made a member by the
-- deploy's login sync, as the Cognito login is.

DO $$
DECLARE
    existing pg_roles%ROWTYPE;
BEGIN
    SELECT * INTO existing FROM pg_roles WHERE rolname = 'migration_reader';
    IF NOT FOUND THEN
        CREATE ROLE migration_reader NOLOGIN;
    ELSIF existing.rolcanlogin OR existing.rolsuper OR existing.rolbypassrls THEN
        RAISE EXCEPTION 'role migration_reader exists with LOGIN, SUPERUSER or BYPASSRLS; it must be a NOLOGIN group role'
            USING ERRCODE = 'invalid_role_specification';
    END IF;
END
$$;

COMMENT ON ROLE migration_reader IS 'Reads the migration history (runner, applied_files) and nothing else; CI''s login joins it.';

-- The runner creates migration_history before it applies any migration. A database migrated without it (psql -f)
-- has no history for CI to read, and gets the group alone.
DO $$
BEGIN
    IF to_regclass('migration_history.applied_files') IS NOT NULL THEN
        GRANT USAGE ON SCHEMA migration_history TO migration_reader;
        GRANT SELECT ON migration_history.runner, migration_history.applied_files TO migration_reader;
    END IF;
END
$$;
