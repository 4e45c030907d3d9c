-- 010_no_function_executable_by_public.sql
--
-- Functions that later migrations create are not executable by PUBLIC (issue 16, finding F09).
--
-- PostgreSQL lets PUBLIC execute every new function. 003 tried to take that back with
-- `ALTER DEFAULT PRIVILEGES IN SCHEMA public|tenancy REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC`, which does
-- nothing: a per-schema default privilege can only add to the global one, never remove from it, so every
-- function a later migration forgot to REVOKE would have been open to every role, the application included.
-- The global default of each role that creates or owns our functions is what must change: the migrating user
-- (CURRENT_USER), and the NOLOGIN owners of the SECURITY DEFINER functions (in case a function is ever created
-- while acting as one of them; ALTER DEFAULT PRIVILEGES FOR ROLE needs membership, which 003 granted).
--
-- Default privileges live in the database (pg_default_acl), so templates and copies keep them. Functions that
-- exist already were revoked one by one in 003 to 005; the server tier checks that PUBLIC executes none of the
-- schema's own functions (extension functions belong to their extensions and stay as they ship).

ALTER DEFAULT PRIVILEGES FOR ROLE CURRENT_USER REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
ALTER DEFAULT PRIVILEGES FOR ROLE rls_resolver REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
ALTER DEFAULT PRIVILEGES FOR ROLE audit_writer REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
