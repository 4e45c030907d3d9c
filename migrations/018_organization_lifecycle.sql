-- 018_organization_lifecycle.sql
--
-- Onboarding and offboarding for service_role (issue 17). Nothing created the first organization and its
-- administrator: on a production database (migrations only) nobody could ever be granted anything.
--
--   provision_organization(name, slug, owner, plan) → id
--       creates the organization (active), the owner's active membership and their org_admin grant, in one
--       call. Idempotent: the same call again returns the same id and changes nothing. A call that conflicts
--       with what exists (the slug is taken by an organization with another name or plan, one the owner does not
--       administer, or one that is suspended or deleted) is an error that names the problem. The owner must be
--       an active user (mirrored from Cognito first). The grant's granted_by and the membership's invited_by
--       are NULL: the platform granted them, not a user.
--   suspend_organization(id)      active → suspended. Members keep their memberships and grants but get
--                                 nothing (015); my_organizations() tells them the organization is suspended.
--   reactivate_organization(id)   suspended → active: everything comes back at the next transaction.
--   delete_organization(id)       → deleted (soft delete): every row stays where it is, no member sees any of
--                                 it, invitations can no longer be accepted, the slug stays taken. Removing
--                                 the data for good is a later retention job (DELETE FROM organizations, which
--                                 cascades; audit_logs outlive it). Not reversible through these functions.
-- Each is idempotent (suspending a suspended organization changes nothing) and raises for an unknown id.
--
-- They run as the caller (SECURITY INVOKER): only service_role may execute them, and it already reaches every
-- row through its policies; the rules above live here so that every caller applies them alike.

CREATE FUNCTION provision_organization(name text, slug text, owner uuid, plan text) RETURNS uuid
    LANGUAGE plpgsql
    VOLATILE
    SET search_path = pg_catalog, public, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    p_name       text := provision_organization.name;
    p_slug       public.citext := provision_organization.slug;
    p_owner      uuid := provision_organization.owner;
    p_plan       text := provision_organization.plan;
    owner_status text;
    admin_role   uuid;
    org          public.organizations%ROWTYPE;
BEGIN
    IF p_name IS NULL OR p_slug IS NULL OR p_owner IS NULL OR p_plan IS NULL THEN
        RAISE EXCEPTION 'provision_organization needs a name, a slug, an owner and a plan'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT u.status INTO owner_status FROM public.users AS u WHERE u.id = p_owner;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'cannot provision organization %: owner % is not a user', p_slug, p_owner
            USING ERRCODE = 'foreign_key_violation', HINT = 'The owner signs up through Cognito first.';
    ELSIF owner_status <> 'active' THEN
        RAISE EXCEPTION 'cannot provision organization %: owner % is %', p_slug, p_owner, owner_status
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    SELECT r.id INTO admin_role FROM public.roles AS r WHERE r.name = 'org_admin' AND r.organization_id IS NULL;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'the system role org_admin is missing' USING ERRCODE = 'undefined_object';
    END IF;

    INSERT INTO public.organizations AS o (name, slug, plan, status)
    VALUES (p_name, p_slug, p_plan, 'active')
    ON CONFLICT (slug) DO NOTHING
    RETURNING o.* INTO org;
    IF FOUND THEN
        INSERT INTO public.organization_members (organization_id, user_id, status, invited_by, joined_at)
        VALUES (org.id, p_owner, 'active', NULL, pg_catalog.now());
        INSERT INTO public.user_roles (organization_id, user_id, role_id, granted_by)
        VALUES (org.id, p_owner, admin_role, NULL);
        RETURN org.id;
    END IF;

    -- The slug exists: the same call again changes nothing; any other call is a conflict.
    SELECT * INTO org FROM public.organizations AS o WHERE o.slug = p_slug FOR UPDATE;
    IF org.status <> 'active' THEN
        RAISE EXCEPTION 'cannot provision organization %: the slug belongs to a % organization', p_slug, org.status
            USING ERRCODE = 'unique_violation';
    END IF;
    IF org.name <> p_name OR org.plan <> p_plan THEN
        RAISE EXCEPTION 'cannot provision organization %: it exists with another name or plan', p_slug
            USING ERRCODE = 'unique_violation',
                  DETAIL = pg_catalog.format('existing: name %L, plan %L; requested: name %L, plan %L',
                                             org.name, org.plan, p_name, p_plan);
    END IF;
    IF NOT EXISTS (SELECT 1
                     FROM public.organization_members AS m
                     JOIN public.user_roles AS ur
                       ON ur.organization_id = m.organization_id AND ur.user_id = m.user_id AND ur.role_id = admin_role
                    WHERE m.organization_id = org.id AND m.user_id = p_owner AND m.status = 'active'
                      AND (ur.expires_at IS NULL OR ur.expires_at > pg_catalog.now())) THEN
        RAISE EXCEPTION 'cannot provision organization %: it exists, and % is not its administrator', p_slug, p_owner
            USING ERRCODE = 'unique_violation';
    END IF;
    RETURN org.id;
END
$$;

COMMENT ON FUNCTION provision_organization(text, text, uuid, text) IS
    'service_role: creates an organization with its owner as active member and org_admin; idempotent.';

-- Moves an organization between statuses: p_to from any of p_from; the same status again changes nothing.
CREATE FUNCTION tenancy.set_organization_status(p_organization uuid, p_to text, p_from text[]) RETURNS void
    LANGUAGE plpgsql
    VOLATILE
    SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    current_status text;
BEGIN
    SELECT o.status INTO current_status FROM public.organizations AS o WHERE o.id = p_organization FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'organization % does not exist', p_organization USING ERRCODE = 'no_data_found';
    ELSIF current_status = p_to THEN
        RETURN;
    ELSIF NOT (current_status = ANY (p_from)) THEN
        RAISE EXCEPTION 'organization % is %: it cannot become %', p_organization, current_status, p_to
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    UPDATE public.organizations AS o SET status = p_to WHERE o.id = p_organization;
END
$$;

CREATE FUNCTION suspend_organization(id uuid) RETURNS void
    LANGUAGE sql
    VOLATILE
    SET search_path = pg_catalog, public, pg_temp
BEGIN ATOMIC
    SELECT tenancy.set_organization_status(suspend_organization.id, 'suspended', ARRAY['active']);
END;

CREATE FUNCTION reactivate_organization(id uuid) RETURNS void
    LANGUAGE sql
    VOLATILE
    SET search_path = pg_catalog, public, pg_temp
BEGIN ATOMIC
    SELECT tenancy.set_organization_status(reactivate_organization.id, 'active', ARRAY['suspended']);
END;

CREATE FUNCTION delete_organization(id uuid) RETURNS void
    LANGUAGE sql
    VOLATILE
    SET search_path = pg_catalog, public, pg_temp
BEGIN ATOMIC
    SELECT tenancy.set_organization_status(delete_organization.id, 'deleted', ARRAY['active', 'suspended']);
END;

COMMENT ON FUNCTION suspend_organization(uuid) IS 'service_role: active → suspended; its members get nothing.';
COMMENT ON FUNCTION reactivate_organization(uuid) IS 'service_role: suspended → active.';
COMMENT ON FUNCTION delete_organization(uuid) IS
    'service_role: soft delete (status deleted); rows stay until a retention job removes them.';

REVOKE ALL ON FUNCTION provision_organization(text, text, uuid, text), tenancy.set_organization_status(uuid, text, text[]),
    suspend_organization(uuid), reactivate_organization(uuid), delete_organization(uuid)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION provision_organization(text, text, uuid, text), tenancy.set_organization_status(uuid, text, text[]),
    suspend_organization(uuid), reactivate_organization(uuid), delete_organization(uuid)
    TO service_role;
