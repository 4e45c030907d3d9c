/**
 * Catalog rules every function and index of the schema must follow, as queries that return the offenders (an
 * empty result is a pass). Shared by the PGlite tier (test/db/schema.test.ts) and the real-server tier
 * (test/server/catalog.test.ts), so that a function or index a later migration adds cannot slip through.
 *
 * Only the schema's own objects count: functions of extensions (pgvector, citext, pgcrypto, …) are members of
 * their extension (a pg_depend row of type 'e') and keep the privileges they ship with.
 */

/** Functions of public and tenancy that no extension owns. */
const OWN_FUNCTIONS = `
  pg_proc AS p
  WHERE p.pronamespace IN ('public'::regnamespace, 'tenancy'::regnamespace)
    AND NOT EXISTS (SELECT 1 FROM pg_depend AS d
                     WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')`;

/** The search_path a function pins, as an array, or NULL. */
const PINNED_PATH = `
  (SELECT string_to_array(substr(c, length('search_path=') + 1), ', ')
     FROM unnest(p.proconfig) AS c WHERE c LIKE 'search_path=%')`;

/**
 * Every SECURITY DEFINER function and every trigger function pins search_path with pg_temp last (design decision
 * 3), and so does every other function, unless its body is SQL-standard (`RETURN …` / `BEGIN ATOMIC`), whose names
 * were bound when it was created (current_app_user_id(), which must stay inlinable, is one).
 */
export const FUNCTIONS_WITHOUT_PG_TEMP_LAST = `
  SELECT p.oid::regprocedure::text AS function, p.prosecdef AS security_definer,
         p.prorettype = 'trigger'::regtype AS trigger, ${PINNED_PATH} AS search_path
    FROM ${OWN_FUNCTIONS}
     AND NOT coalesce((${PINNED_PATH})[cardinality(${PINNED_PATH})] = 'pg_temp'
                      AND array_position(${PINNED_PATH}, 'pg_temp') = cardinality(${PINNED_PATH}), false)
     AND (p.prosecdef OR p.prorettype = 'trigger'::regtype OR p.prosqlbody IS NULL)
   ORDER BY 1`;

/** No function of the schema is executable by PUBLIC (migrations/010; grants go to roles by name). */
export const FUNCTIONS_EXECUTABLE_BY_PUBLIC = `
  SELECT p.oid::regprocedure::text AS function
    FROM ${OWN_FUNCTIONS}
     AND EXISTS (SELECT 1 FROM aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) AS a
                  WHERE a.grantee = 0 AND a.privilege_type = 'EXECUTE')
   ORDER BY 1`;

/** SECURITY DEFINER functions and their owners: each owner must be a NOLOGIN role with no special power. */
export const DEFINER_FUNCTIONS = `
  SELECT p.proname AS name, r.rolname AS owner, r.rolcanlogin AS can_login, r.rolsuper AS superuser,
         r.rolbypassrls AS bypass_rls
    FROM pg_proc AS p JOIN pg_roles AS r ON r.oid = p.proowner
   WHERE p.prosecdef AND p.pronamespace IN ('public'::regnamespace, 'tenancy'::regnamespace)
   ORDER BY 1`;

/**
 * Indexes of tenant tables whose first column is not organization_id (migrations/013): through them, EXPLAIN
 * ANALYZE as the application counts rows of other tenants. The exceptions are the ones docs/database.md lists:
 * primary keys (random UUIDs, or the audit log's sequence), the membership lookup by user that the policy helpers
 * and the users foreign key need, role_permissions' key (read by role in the helpers), the system roles' names
 * (visible to every user) and the HNSW index (which cannot lead with a b-tree column).
 */
export const TENANT_INDEXES_NOT_LED_BY_ORGANIZATION = `
  SELECT i.indexrelid::regclass::text AS index
    FROM pg_index AS i
    JOIN pg_class AS t ON t.oid = i.indrelid
    LEFT JOIN pg_attribute AS a ON a.attrelid = t.oid AND a.attnum = i.indkey[0]
   WHERE t.relnamespace = 'public'::regnamespace
     AND t.relname IN ('organization_members', 'roles', 'role_permissions', 'user_roles', 'agent_tasks',
                       'agent_results', 'audit_logs')
     AND a.attname IS DISTINCT FROM 'organization_id'
     AND NOT i.indisprimary
     AND i.indexrelid::regclass::text NOT IN ('organization_members_user_idx', 'roles_system_name_key',
                                              'agent_results_embedding_hnsw_idx')
   ORDER BY 1`;
