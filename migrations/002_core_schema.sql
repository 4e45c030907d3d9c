-- 002_core_schema.sql
--
-- The eleven tables of the platform, their keys, constraints and indexes. Row Level Security, roles and grants
-- come in 003; this file only shapes the data.
--
-- Conventions (see ../shared/design.md, decision 4):
--   * every org-scoped table carries organization_id and an index that leads with it;
--   * every foreign key has an index whose leading columns are the key's columns, and an explicit ON DELETE;
--   * enumerated columns are text with a named CHECK (adding a value is a one-line migration, no enum rewrite);
--   * a child row can only point at a parent of the same organization (composite keys on organization_id), so a
--     foreign-key error never tells one tenant that a row of another tenant exists;
--   * audit_logs has no foreign keys at all: the trail outlives the users and organizations it mentions.
-- Nothing here needs a superuser: it runs as the Aurora master user (NOSUPERUSER, CREATEROLE, CREATEDB).

-- Keeps updated_at honest whatever the client sends.
CREATE FUNCTION set_updated_at() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, public
AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END
$$;

COMMENT ON FUNCTION set_updated_at() IS 'BEFORE UPDATE trigger: stamps updated_at with the transaction time.';

---------------------------------------------------------------------------------------------------------------
-- Tenancy
---------------------------------------------------------------------------------------------------------------

CREATE TABLE organizations (
    id          uuid        NOT NULL DEFAULT gen_random_uuid(),
    name        text        NOT NULL,
    slug        citext      NOT NULL,
    plan        text        NOT NULL DEFAULT 'free',
    status      text        NOT NULL DEFAULT 'active',
    settings    jsonb       NOT NULL DEFAULT '{}'::jsonb,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT organizations_pkey PRIMARY KEY (id),
    CONSTRAINT organizations_slug_key UNIQUE (slug),
    CONSTRAINT organizations_name_not_blank CHECK (btrim(name) <> ''),
    CONSTRAINT organizations_slug_format CHECK (slug::text ~ '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$'),
    CONSTRAINT organizations_plan_check CHECK (plan IN ('free', 'pro', 'enterprise')),
    CONSTRAINT organizations_status_check CHECK (status IN ('active', 'suspended', 'deleted')),
    CONSTRAINT organizations_settings_is_object CHECK (jsonb_typeof(settings) = 'object')
);

COMMENT ON TABLE organizations IS 'Tenants. Every org-scoped row belongs to exactly one organization.';
COMMENT ON COLUMN organizations.slug IS 'Global, URL-safe, lower-case name; set at provisioning by service_role.';

CREATE TABLE users (
    id             uuid        NOT NULL DEFAULT gen_random_uuid(),
    cognito_sub    text        NOT NULL,
    email          citext      NOT NULL,
    email_verified boolean     NOT NULL DEFAULT false,
    full_name      text,
    avatar_url     text,
    status         text        NOT NULL DEFAULT 'active',
    last_login_at  timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_pkey PRIMARY KEY (id),
    CONSTRAINT users_cognito_sub_key UNIQUE (cognito_sub),
    CONSTRAINT users_email_key UNIQUE (email),
    CONSTRAINT users_cognito_sub_not_blank CHECK (btrim(cognito_sub) <> ''),
    CONSTRAINT users_email_format CHECK (email::text ~ '^[^@[:space:]]+@[^@[:space:]]+$'),
    CONSTRAINT users_status_check CHECK (status IN ('active', 'disabled', 'deleted'))
);

COMMENT ON TABLE users IS 'Mirror of the Cognito user pool: one row per Cognito user, keyed by its sub.';

CREATE TABLE organization_members (
    id              uuid        NOT NULL DEFAULT gen_random_uuid(),
    organization_id uuid        NOT NULL,
    user_id         uuid        NOT NULL,
    status          text        NOT NULL DEFAULT 'active',
    invited_by      uuid,
    joined_at       timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT organization_members_pkey PRIMARY KEY (id),
    CONSTRAINT organization_members_organization_user_key UNIQUE (organization_id, user_id),
    CONSTRAINT organization_members_organization_fkey FOREIGN KEY (organization_id)
        REFERENCES organizations (id) ON DELETE CASCADE,
    CONSTRAINT organization_members_user_fkey FOREIGN KEY (user_id)
        REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT organization_members_invited_by_fkey FOREIGN KEY (invited_by)
        REFERENCES users (id) ON DELETE SET NULL,
    CONSTRAINT organization_members_status_check CHECK (status IN ('invited', 'active', 'suspended'))
);

COMMENT ON TABLE organization_members IS 'Who belongs to which organization; only active members see its data.';

-- Membership lookups by user (the RLS helpers) and the users foreign keys.
CREATE INDEX organization_members_user_idx ON organization_members (user_id, organization_id) INCLUDE (status);
CREATE INDEX organization_members_invited_by_idx ON organization_members (invited_by);

---------------------------------------------------------------------------------------------------------------
-- Sessions
---------------------------------------------------------------------------------------------------------------

CREATE TABLE sessions (
    id           uuid        NOT NULL DEFAULT gen_random_uuid(),
    user_id      uuid        NOT NULL,
    token_hash   bytea       NOT NULL,
    ip_address   inet,
    user_agent   text,
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz,
    last_seen_at timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT sessions_pkey PRIMARY KEY (id),
    CONSTRAINT sessions_token_hash_key UNIQUE (token_hash),
    CONSTRAINT sessions_user_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT sessions_token_hash_is_sha256 CHECK (octet_length(token_hash) = 32),
    CONSTRAINT sessions_expires_after_creation CHECK (expires_at > created_at)
);

COMMENT ON TABLE sessions IS 'Active user sessions. Only the SHA-256 of a session token is stored, never the token.';

CREATE INDEX sessions_user_idx ON sessions (user_id, expires_at DESC);

---------------------------------------------------------------------------------------------------------------
-- RBAC
---------------------------------------------------------------------------------------------------------------

CREATE TABLE roles (
    id              uuid        NOT NULL DEFAULT gen_random_uuid(),
    organization_id uuid,
    name            text        NOT NULL,
    description     text,
    is_system       boolean     NOT NULL DEFAULT false,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT roles_pkey PRIMARY KEY (id),
    -- Target of the composite keys that keep role grants inside one organization.
    CONSTRAINT roles_organization_id_key UNIQUE (organization_id, id),
    CONSTRAINT roles_organization_fkey FOREIGN KEY (organization_id)
        REFERENCES organizations (id) ON DELETE CASCADE,
    CONSTRAINT roles_name_format CHECK (name ~ '^[a-z][a-z0-9_]{0,62}$'),
    -- System roles are global; custom roles belong to one organization.
    CONSTRAINT roles_system_scope CHECK ((is_system AND organization_id IS NULL)
                                      OR (NOT is_system AND organization_id IS NOT NULL))
);

COMMENT ON TABLE roles IS 'System roles (global, organization_id NULL) and custom roles of one organization.';

CREATE UNIQUE INDEX roles_system_name_key ON roles (name) WHERE organization_id IS NULL;
CREATE UNIQUE INDEX roles_organization_name_key ON roles (organization_id, name) WHERE organization_id IS NOT NULL;

CREATE TABLE permissions (
    id          uuid        NOT NULL DEFAULT gen_random_uuid(),
    resource    text        NOT NULL,
    action      text        NOT NULL,
    description text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT permissions_pkey PRIMARY KEY (id),
    CONSTRAINT permissions_resource_action_key UNIQUE (resource, action),
    CONSTRAINT permissions_resource_format CHECK (resource ~ '^[a-z][a-z0-9_]*$'),
    CONSTRAINT permissions_action_format CHECK (action ~ '^[a-z][a-z0-9_]*$')
);

COMMENT ON TABLE permissions IS 'The global catalogue of grantable permissions, resource + action.';

CREATE TABLE role_permissions (
    role_id         uuid        NOT NULL,
    permission_id   uuid        NOT NULL,
    organization_id uuid,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT role_permissions_pkey PRIMARY KEY (role_id, permission_id),
    CONSTRAINT role_permissions_role_fkey FOREIGN KEY (role_id)
        REFERENCES roles (id) ON DELETE CASCADE,
    -- For custom roles, the organization must be the role's own (NULL for system roles).
    CONSTRAINT role_permissions_role_organization_fkey FOREIGN KEY (organization_id, role_id)
        REFERENCES roles (organization_id, id) ON DELETE CASCADE,
    CONSTRAINT role_permissions_permission_fkey FOREIGN KEY (permission_id)
        REFERENCES permissions (id) ON DELETE CASCADE
);

COMMENT ON TABLE role_permissions IS 'Which permissions a role carries. organization_id is copied from the role.';

CREATE INDEX role_permissions_organization_idx ON role_permissions (organization_id, role_id);
CREATE INDEX role_permissions_permission_idx ON role_permissions (permission_id);

-- organization_id always follows the role, so a system role's grants can never be claimed by an organization
-- and a custom role's grants never become global. Runs as the caller: a role hidden by RLS reads as missing.
CREATE FUNCTION role_permissions_inherit_organization() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, public
AS $$
BEGIN
    SELECT r.organization_id INTO NEW.organization_id FROM roles AS r WHERE r.id = NEW.role_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'role % does not exist', NEW.role_id USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER role_permissions_inherit_organization
    BEFORE INSERT OR UPDATE OF role_id, organization_id ON role_permissions
    FOR EACH ROW EXECUTE FUNCTION role_permissions_inherit_organization();

CREATE TABLE user_roles (
    id              uuid        NOT NULL DEFAULT gen_random_uuid(),
    organization_id uuid        NOT NULL,
    user_id         uuid        NOT NULL,
    role_id         uuid        NOT NULL,
    granted_by      uuid,
    granted_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT user_roles_pkey PRIMARY KEY (id),
    CONSTRAINT user_roles_organization_user_role_key UNIQUE (organization_id, user_id, role_id),
    -- A role is granted to a member of the organization, and disappears with the membership.
    CONSTRAINT user_roles_membership_fkey FOREIGN KEY (organization_id, user_id)
        REFERENCES organization_members (organization_id, user_id) ON DELETE CASCADE,
    CONSTRAINT user_roles_organization_fkey FOREIGN KEY (organization_id)
        REFERENCES organizations (id) ON DELETE CASCADE,
    CONSTRAINT user_roles_user_fkey FOREIGN KEY (user_id)
        REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT user_roles_role_fkey FOREIGN KEY (role_id)
        REFERENCES roles (id) ON DELETE CASCADE,
    CONSTRAINT user_roles_granted_by_fkey FOREIGN KEY (granted_by)
        REFERENCES users (id) ON DELETE SET NULL,
    CONSTRAINT user_roles_expiry_after_grant CHECK (expires_at IS NULL OR expires_at > granted_at)
);

COMMENT ON TABLE user_roles IS 'Role grants per organization; a grant with expires_at in the past confers nothing.';

CREATE INDEX user_roles_user_idx ON user_roles (user_id, organization_id);
CREATE INDEX user_roles_role_idx ON user_roles (role_id);
CREATE INDEX user_roles_granted_by_idx ON user_roles (granted_by);

-- A grant may use a system role or a custom role of the same organization. Runs as the caller: a role of
-- another organization is invisible under RLS and is reported exactly like a role that does not exist.
CREATE FUNCTION user_roles_check_role_scope() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, public
AS $$
DECLARE
    role_organization uuid;
BEGIN
    SELECT r.organization_id INTO role_organization FROM roles AS r WHERE r.id = NEW.role_id;
    IF NOT FOUND OR (role_organization IS NOT NULL AND role_organization <> NEW.organization_id) THEN
        RAISE EXCEPTION 'role % does not exist in this organization', NEW.role_id
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER user_roles_check_role_scope
    BEFORE INSERT OR UPDATE OF role_id, organization_id ON user_roles
    FOR EACH ROW EXECUTE FUNCTION user_roles_check_role_scope();

---------------------------------------------------------------------------------------------------------------
-- AI agents
---------------------------------------------------------------------------------------------------------------

CREATE TABLE agent_tasks (
    id              uuid        NOT NULL DEFAULT gen_random_uuid(),
    organization_id uuid        NOT NULL,
    created_by      uuid,
    agent_type      text        NOT NULL,
    status          text        NOT NULL DEFAULT 'pending',
    priority        smallint    NOT NULL DEFAULT 0,
    input           jsonb       NOT NULL DEFAULT '{}'::jsonb,
    output          jsonb,
    error_message   text,
    started_at      timestamptz,
    completed_at    timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT agent_tasks_pkey PRIMARY KEY (id),
    -- Target of agent_results' composite key; also the organization_id foreign key's index.
    CONSTRAINT agent_tasks_organization_id_key UNIQUE (organization_id, id),
    CONSTRAINT agent_tasks_organization_fkey FOREIGN KEY (organization_id)
        REFERENCES organizations (id) ON DELETE CASCADE,
    CONSTRAINT agent_tasks_created_by_fkey FOREIGN KEY (created_by)
        REFERENCES users (id) ON DELETE SET NULL,
    CONSTRAINT agent_tasks_agent_type_format CHECK (agent_type ~ '^[a-z][a-z0-9_.-]{0,62}$'),
    CONSTRAINT agent_tasks_status_check
        CHECK (status IN ('pending', 'queued', 'running', 'completed', 'failed', 'cancelled')),
    CONSTRAINT agent_tasks_priority_range CHECK (priority BETWEEN 0 AND 100),
    CONSTRAINT agent_tasks_input_is_object CHECK (jsonb_typeof(input) = 'object'),
    CONSTRAINT agent_tasks_completed_after_start
        CHECK (completed_at IS NULL OR started_at IS NULL OR completed_at >= started_at)
);

COMMENT ON TABLE agent_tasks IS 'AI agent work items of an organization, queued, running or finished.';

CREATE INDEX agent_tasks_organization_created_idx ON agent_tasks (organization_id, created_at DESC, id);
CREATE INDEX agent_tasks_organization_status_idx ON agent_tasks (organization_id, status);
CREATE INDEX agent_tasks_created_by_idx ON agent_tasks (created_by);

CREATE TABLE agent_results (
    id              uuid         NOT NULL DEFAULT gen_random_uuid(),
    organization_id uuid         NOT NULL,
    task_id         uuid         NOT NULL,
    result_type     text         NOT NULL DEFAULT 'text',
    content         text,
    metadata        jsonb        NOT NULL DEFAULT '{}'::jsonb,
    embedding       vector(1536),
    created_at      timestamptz  NOT NULL DEFAULT now(),
    updated_at      timestamptz  NOT NULL DEFAULT now(),
    CONSTRAINT agent_results_pkey PRIMARY KEY (id),
    CONSTRAINT agent_results_organization_fkey FOREIGN KEY (organization_id)
        REFERENCES organizations (id) ON DELETE CASCADE,
    -- A result belongs to a task of its own organization.
    CONSTRAINT agent_results_task_fkey FOREIGN KEY (organization_id, task_id)
        REFERENCES agent_tasks (organization_id, id) ON DELETE CASCADE,
    CONSTRAINT agent_results_result_type_check CHECK (result_type IN ('text', 'json', 'file', 'error')),
    CONSTRAINT agent_results_metadata_is_object CHECK (jsonb_typeof(metadata) = 'object')
);

COMMENT ON TABLE agent_results IS 'Outputs of agent tasks, with an optional 1536-dimension embedding.';

CREATE INDEX agent_results_organization_task_idx ON agent_results (organization_id, task_id);
CREATE INDEX agent_results_organization_created_idx ON agent_results (organization_id, created_at DESC);
-- Cosine k-NN over embeddings (pgvector HNSW, 0.5.0+).
CREATE INDEX agent_results_embedding_hnsw_idx ON agent_results
    USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64);

---------------------------------------------------------------------------------------------------------------
-- Audit
---------------------------------------------------------------------------------------------------------------

CREATE TABLE audit_logs (
    id              bigint      GENERATED ALWAYS AS IDENTITY,
    organization_id uuid,
    actor_user_id   uuid,
    actor_role      text        NOT NULL DEFAULT current_user,
    action          text        NOT NULL,
    table_name      text        NOT NULL,
    record_id       text,
    old_data        jsonb,
    new_data        jsonb,
    transaction_id  bigint      NOT NULL DEFAULT txid_current(),
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT audit_logs_pkey PRIMARY KEY (id),
    CONSTRAINT audit_logs_action_format CHECK (action ~ '^[a-z][a-z0-9_.:-]*$'),
    CONSTRAINT audit_logs_table_name_not_blank CHECK (btrim(table_name) <> '')
);

COMMENT ON TABLE audit_logs IS
    'Append-only trail of changes to sensitive tables, written by triggers with the acting user. No foreign keys: '
    'entries outlive the users and organizations they mention.';

CREATE INDEX audit_logs_organization_created_idx ON audit_logs (organization_id, created_at DESC, id DESC);
CREATE INDEX audit_logs_actor_idx ON audit_logs (actor_user_id, created_at DESC);

-- Append-only for everyone, the owner included: rows are never updated, deleted or truncated. (Privileges in
-- 003 already deny it to every application role; this also stops an accidental statement by an operator.)
CREATE FUNCTION audit_logs_reject_change() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, public
AS $$
BEGIN
    RAISE EXCEPTION 'audit_logs is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER audit_logs_append_only
    BEFORE UPDATE OR DELETE ON audit_logs
    FOR EACH ROW EXECUTE FUNCTION audit_logs_reject_change();

CREATE TRIGGER audit_logs_no_truncate
    BEFORE TRUNCATE ON audit_logs
    FOR EACH STATEMENT EXECUTE FUNCTION audit_logs_reject_change();

---------------------------------------------------------------------------------------------------------------
-- updated_at on every table that has one
---------------------------------------------------------------------------------------------------------------

CREATE TRIGGER organizations_set_updated_at BEFORE UPDATE ON organizations
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER users_set_updated_at BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER organization_members_set_updated_at BEFORE UPDATE ON organization_members
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER sessions_set_updated_at BEFORE UPDATE ON sessions
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER roles_set_updated_at BEFORE UPDATE ON roles
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER user_roles_set_updated_at BEFORE UPDATE ON user_roles
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER agent_tasks_set_updated_at BEFORE UPDATE ON agent_tasks
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER agent_results_set_updated_at BEFORE UPDATE ON agent_results
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
