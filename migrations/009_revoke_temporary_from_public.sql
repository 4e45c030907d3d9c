-- 009_revoke_temporary_from_public.sql
--
-- No role but the database owner may create temporary objects in this database (design decision 1; issue 16,
-- findings F03 and F04).
--
-- PostgreSQL grants TEMPORARY on every database to PUBLIC. An application login could then, in one statement,
-- plant a temporary view named like a table on a pooled connection: every later request on that connection that
-- names the table unqualified reads through the view, under its own tenant context, into the planter's hands
-- (F03). A temporary table filled by one request stayed readable by the next request on the connection (F04).
-- And a temporary type or table is what the search_path attacks of 007 needed.
--
-- The owner (the migrating user, which owns the database on Aurora and in the test tier) keeps TEMPORARY through
-- ownership; app_user, service_role, cognito_sync, the internal roles and every login lose it. Nothing in the
-- schema, the seeds or the Lambdas uses temporary objects.
--
-- Database privileges belong to the database, not to its contents: CREATE DATABASE … TEMPLATE does not copy
-- them, and neither does a restore of a dump taken without --create. A database made that way must run this
-- statement again (set_app_user() from 008 refuses a connection whose temporary objects shadow the schema, so a
-- planted view or type is still never read through, but the privilege itself must go).

DO $$
BEGIN
    EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', current_database());
END
$$;
