-- 017_invitations.sql
--
-- Invitations with consent (issue 17, finding F07). Before this file members:invite inserted any user of any
-- tenant straight into an organization as an *active* member, without asking them, after which the inviter
-- could read their profile (e-mail, Cognito sub, last login); invited_by and granted_by accepted any user id;
-- and the insert told whether a user id existed (a foreign-key error, or success).
--
-- Now an invitation is a request the invitee answers:
--
--   * Inviting by e-mail, the normal way: invite_member(organization, email) (or an INSERT into
--     organization_invitations) stores the address, whoever it belongs to, if anyone. It never reads users, so
--     its outcome is the same whether the address belongs to a user of another tenant, to nobody yet, or to a
--     user who will sign up next week: nothing tells the inviter whether a user exists.
--   * Inviting by user id, for a user the inviter can already see (a co-member of another organization they
--     share): INSERT INTO organization_members with status 'invited' (the default for a row inserted in a
--     user's name). Any other user id, existing or not, is refused by the policy before any foreign key is
--     checked, with the same error.
--   * Only the invitee accepts, in their own context: accept_invitation(organization) turns their invited
--     membership, or an unexpired invitation to their verified e-mail address, into an active membership. The
--     inviter can never make a membership active: invited rows are out of reach of UPDATE, and an application
--     INSERT must say 'invited'.
--   * Before accepting, the invitee sees nothing of the organization (the policies count active memberships
--     only); my_invitations() shows them the id and name of each organization that invited them, nothing more.
--     decline_invitation(organization) refuses. my_organizations() lists their memberships with each
--     organization's status, so a member of a suspended organization learns why they see nothing (015).
--   * invited_by and granted_by are always the acting user: the application may no longer write them, so their
--     defaults (current_app_user_id()) fill them. invited_by of a membership accepted from an e-mail invitation
--     is the user who sent the invitation.
--   * Co-members, whose profiles a user may read, are *active* members of a shared organization (003, unchanged):
--     an invited user's profile stays hidden.
--
-- accept_invitation, decline_invitation, my_invitations and my_organizations are SECURITY DEFINER functions
-- owned by membership_keeper, a NOLOGIN role that can touch the acting user's own memberships and invitations
-- and nothing else (its policies say so, whatever the functions do).

---------------------------------------------------------------------------------------------------------------
-- Pending invitations by e-mail
---------------------------------------------------------------------------------------------------------------

CREATE TABLE organization_invitations (
    id              uuid        NOT NULL DEFAULT gen_random_uuid(),
    organization_id uuid        NOT NULL,
    email           citext      NOT NULL,
    invited_by      uuid                 DEFAULT current_app_user_id(),
    expires_at      timestamptz NOT NULL DEFAULT now() + interval '14 days',
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT organization_invitations_pkey PRIMARY KEY (id),
    -- One pending invitation per address and organization (scoped to the organization: says nothing of others).
    CONSTRAINT organization_invitations_organization_email_key UNIQUE (organization_id, email),
    CONSTRAINT organization_invitations_organization_fkey FOREIGN KEY (organization_id)
        REFERENCES organizations (id) ON DELETE CASCADE,
    CONSTRAINT organization_invitations_invited_by_fkey FOREIGN KEY (invited_by)
        REFERENCES users (id) ON DELETE SET NULL,
    CONSTRAINT organization_invitations_email_format CHECK (email::text ~ '^[^@[:space:]]+@[^@[:space:]]+$'),
    CONSTRAINT organization_invitations_expires_after_creation CHECK (expires_at > created_at)
);

COMMENT ON TABLE organization_invitations IS
    'Invitations by e-mail address; the invitee accepts with accept_invitation(). Never linked to users.';

-- The invitee's lookups (my_invitations, accept_invitation) and the users foreign key.
CREATE INDEX organization_invitations_email_idx ON organization_invitations (email);
CREATE INDEX organization_invitations_invited_by_idx ON organization_invitations (invited_by);

CREATE TRIGGER organization_invitations_set_updated_at BEFORE UPDATE ON organization_invitations
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER organization_invitations_audit AFTER INSERT OR UPDATE OR DELETE ON organization_invitations
    FOR EACH ROW EXECUTE FUNCTION tenancy.audit_row_change();

ALTER TABLE organization_invitations ENABLE ROW LEVEL SECURITY;
ALTER TABLE organization_invitations FORCE ROW LEVEL SECURITY;

-- Those who may invite see, extend and withdraw their organization's invitations.
CREATE POLICY organization_invitations_select ON organization_invitations FOR SELECT TO app_user
    USING (organization_id = ANY (ARRAY(SELECT tenancy.permitted_organization_ids('members', 'invite'))));
CREATE POLICY organization_invitations_insert ON organization_invitations FOR INSERT TO app_user
    WITH CHECK (organization_id = ANY (ARRAY(SELECT tenancy.permitted_organization_ids('members', 'invite'))));
-- WITH CHECK (true): app_user may update expires_at only, never the tenant key (see 006).
CREATE POLICY organization_invitations_update ON organization_invitations FOR UPDATE TO app_user
    USING (organization_id = ANY (ARRAY(SELECT tenancy.permitted_organization_ids('members', 'invite'))))
    WITH CHECK (true);
CREATE POLICY organization_invitations_delete ON organization_invitations FOR DELETE TO app_user
    USING (organization_id = ANY (ARRAY(SELECT tenancy.permitted_organization_ids('members', 'invite'))));
CREATE POLICY organization_invitations_service ON organization_invitations FOR ALL TO service_role
    USING (true) WITH CHECK (true);

GRANT SELECT, DELETE ON organization_invitations TO app_user;
GRANT INSERT (organization_id, email) ON organization_invitations TO app_user;
GRANT UPDATE (expires_at) ON organization_invitations TO app_user;
GRANT SELECT, INSERT, UPDATE, DELETE ON organization_invitations TO service_role;

-- Invites an e-mail address (again: a second invitation to the same address renews the first). Runs as the
-- caller, under their policies (members:invite). Never reads users: the same result whoever the address is.
CREATE FUNCTION invite_member(organization uuid, email text) RETURNS uuid
    LANGUAGE sql
    VOLATILE
    SET search_path = pg_catalog, public, pg_temp
AS $$
    INSERT INTO public.organization_invitations AS i (organization_id, email)
    VALUES (invite_member.organization, pg_catalog.btrim(invite_member.email))
    ON CONFLICT (organization_id, email) DO UPDATE SET expires_at = excluded.expires_at
    RETURNING i.id;
$$;

COMMENT ON FUNCTION invite_member(uuid, text) IS
    'Invites an e-mail address into the organization (members:invite); returns the invitation id. Says nothing '
    'about whether the address belongs to a user.';

REVOKE ALL ON FUNCTION invite_member(uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION invite_member(uuid, text) TO app_user, service_role;

---------------------------------------------------------------------------------------------------------------
-- Memberships: what the application may write
---------------------------------------------------------------------------------------------------------------

-- A membership inserted in a user's name (an application request) starts as an invitation; one inserted by
-- the system (service_role, no acting user: provisioning, seeds) is active unless it says otherwise.
ALTER TABLE organization_members
    ALTER COLUMN status SET DEFAULT (CASE WHEN current_app_user_id() IS NULL THEN 'active' ELSE 'invited' END);

-- invited_by is the acting user (its default), joined_at is set when the invitee accepts.
REVOKE INSERT (invited_by, joined_at) ON organization_members FROM app_user;
REVOKE UPDATE (joined_at) ON organization_members FROM app_user;
-- user_roles.granted_by likewise: always the acting user, from the column default.
REVOKE INSERT (granted_by) ON user_roles FROM app_user;

-- Inviting by user id: status 'invited', and only a user the inviter can already see. The user check comes
-- before any foreign key, so a user id of another tenant and one that does not exist are refused alike.
ALTER POLICY organization_members_insert ON organization_members
    WITH CHECK (organization_id = ANY (ARRAY(SELECT tenancy.permitted_organization_ids('members', 'invite')))
                AND status = 'invited'
                AND user_id = ANY (ARRAY(SELECT tenancy.visible_user_ids())));

-- members:update changes active and suspended memberships; an invitation is the invitee's to accept.
ALTER POLICY organization_members_update ON organization_members
    USING (organization_id = ANY (ARRAY(SELECT tenancy.permitted_organization_ids('members', 'update')))
           AND status <> 'invited')
    WITH CHECK (status <> 'invited');

---------------------------------------------------------------------------------------------------------------
-- The invitee's side: membership_keeper and its functions
---------------------------------------------------------------------------------------------------------------

DO $$
DECLARE
    existing pg_roles%ROWTYPE;
BEGIN
    SELECT * INTO existing FROM pg_roles WHERE rolname = 'membership_keeper';
    IF NOT FOUND THEN
        CREATE ROLE membership_keeper NOLOGIN;
    ELSIF existing.rolcanlogin OR existing.rolsuper OR existing.rolbypassrls THEN
        RAISE EXCEPTION 'role membership_keeper exists with LOGIN, SUPERUSER or BYPASSRLS; it must be a NOLOGIN group role'
            USING ERRCODE = 'invalid_role_specification';
    END IF;
END
$$;

COMMENT ON ROLE membership_keeper IS
    'Owns accept_invitation() and its siblings; reaches the acting user''s own memberships and invitations only.';

-- The migrating user hands function ownership to it (which needs membership).
GRANT membership_keeper TO CURRENT_USER;

GRANT USAGE ON SCHEMA public TO membership_keeper;
GRANT EXECUTE ON FUNCTION current_app_user_id() TO membership_keeper;
GRANT SELECT (id, email, email_verified, status) ON users TO membership_keeper;
GRANT SELECT (id, name, status) ON organizations TO membership_keeper;
GRANT SELECT, DELETE ON organization_members TO membership_keeper;
GRANT INSERT (organization_id, user_id, status, invited_by, joined_at) ON organization_members TO membership_keeper;
GRANT UPDATE (status, joined_at) ON organization_members TO membership_keeper;
GRANT SELECT, DELETE ON organization_invitations TO membership_keeper;

-- Its reach, row by row: the acting user, their memberships, the invitations to their verified address.
CREATE POLICY users_membership_keeper ON users FOR SELECT TO membership_keeper
    USING (id = (SELECT current_app_user_id()));
CREATE POLICY organizations_membership_keeper ON organizations FOR SELECT TO membership_keeper
    USING (true);
CREATE POLICY organization_members_membership_keeper ON organization_members FOR ALL TO membership_keeper
    USING (user_id = (SELECT current_app_user_id()))
    WITH CHECK (user_id = (SELECT current_app_user_id()));
CREATE POLICY organization_invitations_membership_keeper ON organization_invitations FOR ALL TO membership_keeper
    USING (email = (SELECT u.email FROM public.users AS u
                     WHERE u.id = (SELECT current_app_user_id()) AND u.email_verified));

-- The organizations that invited the acting user and that they have not joined: by user id (an invited
-- membership) or by their verified e-mail address (unexpired). Id and name only; nothing for a user who is
-- not active, nor for an organization that is not.
CREATE FUNCTION my_invitations()
    RETURNS TABLE (organization_id uuid, organization_name text, invited_at timestamptz, expires_at timestamptz)
    LANGUAGE sql
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, public, pg_temp
AS $$
    WITH me AS (
        SELECT u.id, CASE WHEN u.email_verified THEN u.email END AS email
          FROM public.users AS u
         WHERE u.id = (SELECT public.current_app_user_id()) AND u.status = 'active'
    ),
    pending AS (
        SELECT m.organization_id, m.created_at AS invited_at, NULL::timestamptz AS expires_at
          FROM public.organization_members AS m JOIN me ON m.user_id = me.id
         WHERE m.status = 'invited'
        UNION ALL
        SELECT i.organization_id, i.created_at, i.expires_at
          FROM public.organization_invitations AS i JOIN me ON i.email = me.email
         WHERE i.expires_at > pg_catalog.now()
           AND NOT EXISTS (SELECT 1 FROM public.organization_members AS m
                            WHERE m.organization_id = i.organization_id AND m.user_id = me.id
                              AND m.status <> 'invited')
    )
    SELECT DISTINCT ON (p.organization_id) p.organization_id, o.name, p.invited_at, p.expires_at
      FROM pending AS p
      JOIN public.organizations AS o ON o.id = p.organization_id AND o.status = 'active'
     ORDER BY p.organization_id, p.invited_at;
$$;

COMMENT ON FUNCTION my_invitations() IS
    'The acting user''s pending invitations: organization id and name, when, until when.';

-- The acting user's memberships (active or suspended) with their organization's status; deleted
-- organizations are left out. How a member learns that their organization is suspended.
CREATE FUNCTION my_organizations()
    RETURNS TABLE (organization_id uuid, organization_name text, organization_status text, membership_status text)
    LANGUAGE sql
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, public, pg_temp
AS $$
    SELECT m.organization_id, o.name, o.status, m.status
      FROM public.organization_members AS m
      JOIN public.users AS u ON u.id = m.user_id AND u.status = 'active'
      JOIN public.organizations AS o ON o.id = m.organization_id AND o.status <> 'deleted'
     WHERE m.user_id = (SELECT public.current_app_user_id())
       AND m.status <> 'invited'
     ORDER BY o.name, m.organization_id;
$$;

COMMENT ON FUNCTION my_organizations() IS
    'The acting user''s memberships and each organization''s status (active or suspended).';

-- Accepts the acting user's invitation to the organization: an invited membership becomes active, or an
-- unexpired invitation to their verified e-mail address becomes an active membership. Returns the membership
-- id. Without a pending invitation, the same error whatever the reason (unknown, suspended or deleted
-- organization, no invitation, inactive user). An invitation to an organization the user already belongs to
-- is used up and changes nothing (a suspended member stays suspended: members:update decides that).
CREATE FUNCTION accept_invitation(organization uuid) RETURNS uuid
    LANGUAGE plpgsql
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    p_organization uuid := accept_invitation.organization;
    me         uuid := public.current_app_user_id();
    my_email   public.citext;
    membership public.organization_members%ROWTYPE;
    invitation public.organization_invitations%ROWTYPE;
    joined     uuid;
BEGIN
    SELECT CASE WHEN u.email_verified THEN u.email END INTO my_email
      FROM public.users AS u WHERE u.id = me AND u.status = 'active';
    IF NOT FOUND OR NOT EXISTS (SELECT 1 FROM public.organizations AS o
                                 WHERE o.id = p_organization AND o.status = 'active') THEN
        RAISE EXCEPTION 'no pending invitation to this organization' USING ERRCODE = 'no_data_found';
    END IF;

    SELECT * INTO membership FROM public.organization_members AS m
     WHERE m.organization_id = p_organization AND m.user_id = me
       FOR UPDATE;
    IF FOUND AND membership.status = 'invited' THEN
        UPDATE public.organization_members AS m SET status = 'active', joined_at = pg_catalog.now()
         WHERE m.id = membership.id;
        DELETE FROM public.organization_invitations AS i
         WHERE i.organization_id = p_organization AND i.email = my_email;
        RETURN membership.id;
    END IF;

    DELETE FROM public.organization_invitations AS i
     WHERE i.organization_id = p_organization AND i.email = my_email AND i.expires_at > pg_catalog.now()
    RETURNING * INTO invitation;
    IF invitation.id IS NULL THEN
        RAISE EXCEPTION 'no pending invitation to this organization' USING ERRCODE = 'no_data_found';
    END IF;
    IF membership.id IS NOT NULL THEN
        RETURN membership.id;
    END IF;

    INSERT INTO public.organization_members AS m (organization_id, user_id, status, invited_by, joined_at)
    VALUES (p_organization, me, 'active', invitation.invited_by, pg_catalog.now())
    ON CONFLICT (organization_id, user_id) DO NOTHING
    RETURNING m.id INTO joined;
    IF joined IS NULL THEN
        -- Another transaction of the same user accepted at the same moment.
        SELECT m.id INTO joined FROM public.organization_members AS m
         WHERE m.organization_id = p_organization AND m.user_id = me;
    END IF;
    RETURN joined;
END
$$;

COMMENT ON FUNCTION accept_invitation(uuid) IS
    'The acting user accepts their invitation to the organization; returns the (now active) membership id.';

-- Declines the acting user's invitation to the organization (an invited membership and any invitation to their
-- verified address). True when there was one.
CREATE FUNCTION decline_invitation(organization uuid) RETURNS boolean
    LANGUAGE plpgsql
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    p_organization uuid := decline_invitation.organization;
    me       uuid := public.current_app_user_id();
    my_email public.citext;
    removed  bigint := 0;
    more     bigint;
BEGIN
    SELECT CASE WHEN u.email_verified THEN u.email END INTO my_email
      FROM public.users AS u WHERE u.id = me AND u.status = 'active';
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    DELETE FROM public.organization_members AS m
     WHERE m.organization_id = p_organization AND m.user_id = me AND m.status = 'invited';
    GET DIAGNOSTICS removed = ROW_COUNT;
    DELETE FROM public.organization_invitations AS i
     WHERE i.organization_id = p_organization AND i.email = my_email;
    GET DIAGNOSTICS more = ROW_COUNT;
    RETURN removed + more > 0;
END
$$;

COMMENT ON FUNCTION decline_invitation(uuid) IS
    'The acting user declines their invitation to the organization; true when there was one.';

GRANT CREATE ON SCHEMA public TO membership_keeper;
ALTER FUNCTION my_invitations() OWNER TO membership_keeper;
ALTER FUNCTION my_organizations() OWNER TO membership_keeper;
ALTER FUNCTION accept_invitation(uuid) OWNER TO membership_keeper;
ALTER FUNCTION decline_invitation(uuid) OWNER TO membership_keeper;
REVOKE CREATE ON SCHEMA public FROM membership_keeper;

REVOKE ALL ON FUNCTION my_invitations(), my_organizations(), accept_invitation(uuid), decline_invitation(uuid)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION my_invitations(), my_organizations(), accept_invitation(uuid), decline_invitation(uuid)
    TO app_user;
