-- migrate:no-transaction
--
-- 013_indexes_lead_with_tenant_key.sql
--
-- Indexes of tenant tables lead with organization_id, so that EXPLAIN (ANALYZE) run as the application counts
-- no row of another tenant (issue 16, finding F08).
--
-- An index whose first column is not the tenant key lets the planner fetch every tenant's rows that match a
-- condition on that column and drop the other tenants' rows afterwards, in a Filter; EXPLAIN ANALYZE reports how
-- many it dropped ("Rows Removed by Filter"): how many tasks a co-member created in other organizations, how many
-- grants of a system role exist platform-wide, how busy another tenant's auditor is. When organization_id leads,
-- the policy's `organization_id = ANY (…)` is an index condition and other tenants' rows are never read. (With
-- the key second, as in (created_by, organization_id), a bitmap scan still leaves the policy to a Filter.)
--
--   agent_tasks (created_by)                       -> (organization_id, created_by)
--   audit_logs (actor_user_id, created_at DESC)    -> (organization_id, actor_user_id, created_at DESC)
--   organization_members (invited_by)              -> (organization_id, invited_by)
--   user_roles (role_id), (granted_by)             -> (organization_id, role_id), (organization_id, granted_by)
--   role_permissions (permission_id)               -> (organization_id, permission_id)
--   user_roles (user_id, organization_id)          -> dropped, with the foreign key user_roles_user_fkey it served
--
-- user_roles_user_fkey was redundant: user_roles_membership_fkey already requires (organization_id, user_id) to
-- be a membership, whose user_id references users ON DELETE CASCADE, so a deleted user's grants still go with
-- their memberships (through the organization-led unique key). The policy helpers look grants up from the
-- membership, by (organization_id, user_id), the unique key's prefix.
--
-- The other foreign keys keep an index on their columns, now after organization_id. Deleting a user (users are
-- normally disabled, not deleted), a role or a permission therefore reads the whole (organization_id, …) index
-- of the referencing table to set NULL or cascade, instead of a few entries. That rare cost is the price of not
-- counting other tenants' rows on every query. What indexes cannot hide (the primary keys, the users and
-- sessions unique keys, organization_members (user_id, …) that the policy helpers need, the HNSW index, and
-- plain EXPLAIN estimates) is listed in docs/database.md.
--
-- Outside a transaction, so the indexes are built without blocking writes; every statement can run again after
-- a failure (a failed CREATE INDEX CONCURRENTLY leaves an invalid index, dropped first). squawk checks every file
-- as if it ran in a transaction (.squawk.toml), which this one does not:
-- squawk-ignore-file ban-concurrent-index-creation-in-transaction

DROP INDEX CONCURRENTLY IF EXISTS agent_tasks_organization_created_by_idx;
CREATE INDEX CONCURRENTLY IF NOT EXISTS agent_tasks_organization_created_by_idx
    ON agent_tasks (organization_id, created_by);
DROP INDEX CONCURRENTLY IF EXISTS agent_tasks_created_by_idx;

DROP INDEX CONCURRENTLY IF EXISTS audit_logs_organization_actor_idx;
CREATE INDEX CONCURRENTLY IF NOT EXISTS audit_logs_organization_actor_idx
    ON audit_logs (organization_id, actor_user_id, created_at DESC);
DROP INDEX CONCURRENTLY IF EXISTS audit_logs_actor_idx;

DROP INDEX CONCURRENTLY IF EXISTS organization_members_organization_invited_by_idx;
CREATE INDEX CONCURRENTLY IF NOT EXISTS organization_members_organization_invited_by_idx
    ON organization_members (organization_id, invited_by);
DROP INDEX CONCURRENTLY IF EXISTS organization_members_invited_by_idx;

DROP INDEX CONCURRENTLY IF EXISTS user_roles_organization_role_idx;
CREATE INDEX CONCURRENTLY IF NOT EXISTS user_roles_organization_role_idx
    ON user_roles (organization_id, role_id);
DROP INDEX CONCURRENTLY IF EXISTS user_roles_role_idx;

DROP INDEX CONCURRENTLY IF EXISTS user_roles_organization_granted_by_idx;
CREATE INDEX CONCURRENTLY IF NOT EXISTS user_roles_organization_granted_by_idx
    ON user_roles (organization_id, granted_by);
DROP INDEX CONCURRENTLY IF EXISTS user_roles_granted_by_idx;

ALTER TABLE user_roles DROP CONSTRAINT IF EXISTS user_roles_user_fkey;
DROP INDEX CONCURRENTLY IF EXISTS user_roles_user_idx;

DROP INDEX CONCURRENTLY IF EXISTS role_permissions_organization_permission_idx;
CREATE INDEX CONCURRENTLY IF NOT EXISTS role_permissions_organization_permission_idx
    ON role_permissions (organization_id, permission_id);
DROP INDEX CONCURRENTLY IF EXISTS role_permissions_permission_idx;
