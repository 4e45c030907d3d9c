-- 006_write_path_checks.sql
--
-- Cheaper writes under Row Level Security, admitting exactly the same rows (issue 7, write-path cost; figures
-- in docs/performance.md).
--
-- 1. UPDATE policies stop re-checking the tenant key of the new row. Every key they checked — organization_id,
--    organizations.id, users.id, sessions.user_id — is one app_user cannot update (003 grants UPDATE on other
--    columns only, and no trigger of these tables changes a key), so the new row has the key of the old one,
--    which the policy's USING clause has just admitted. The repeated check cost a second membership-and-
--    permission lookup on every UPDATE. WITH CHECK (true) must be written out: a policy without WITH CHECK
--    would reuse USING. test/db/permissions-and-audit.test.ts fails if a key column ever becomes updatable.
-- 2. agent_tasks.created_by is no longer the application's to give: app_user loses INSERT on it, so the column
--    default, current_app_user_id(), always fills it, and the INSERT policy no longer compares it (a forged
--    created_by is now refused as a privilege error instead of a policy violation).

ALTER POLICY organizations_update ON organizations WITH CHECK (true);
ALTER POLICY organization_members_update ON organization_members WITH CHECK (true);
ALTER POLICY users_update ON users WITH CHECK (true);
ALTER POLICY sessions_update ON sessions WITH CHECK (true);
ALTER POLICY roles_update ON roles WITH CHECK (true);
ALTER POLICY user_roles_update ON user_roles WITH CHECK (true);
ALTER POLICY agent_tasks_update ON agent_tasks WITH CHECK (true);
ALTER POLICY agent_results_update ON agent_results WITH CHECK (true);

REVOKE INSERT (created_by) ON agent_tasks FROM app_user;
ALTER POLICY agent_tasks_insert ON agent_tasks
    WITH CHECK (organization_id = ANY (ARRAY(SELECT tenancy.permitted_organization_ids('agents', 'run'))));
