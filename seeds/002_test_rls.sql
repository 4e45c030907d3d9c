-- 002_test_rls.sql
--
-- RLS self-test, run after the sample data wherever seeds are allowed. It checks every behaviour the database
-- spec lists under "Testing RLS Policies", acting as app_user for the seed users exactly as the application
-- does (BEGIN; set_app_user(...); ...), and raises an exception naming the first failure.
--
-- It leaves no trace: all of it runs in a sub-transaction that is rolled back at the end, whether the checks
-- pass (a sentinel exception, caught below) or fail (the failure propagates and aborts the deploy or psql run).
--
--   * Alice sees only Acme Corp data
--   * Charlie sees only Tech Startup data
--   * Bob cannot see Charlie's data (cross-org isolation), nor change or delete it
--   * users see only their own sessions
--   * permission-based updates work: allowed with the permission, silently filtered or refused without it
--   * no user set, or a malformed one, sees nothing
--   * the audit log records the acting user
--   * roles cannot escalate: no super_admin, no custom role named like a system role, no custom role carrying a
--     permission its maker lacks; granting what one holds works
--   * invitations need consent: an admin cannot make anyone a member, nor tell whether a user id exists; an
--     invitee sees nothing until they accept, and only they can accept
--   * statuses are enforced: a disabled user and a suspended organization get nothing, user_has_permission
--     included, whoever asks

DO $$
DECLARE
    acme    constant uuid := '10000000-0000-4000-8000-000000000001';
    tech    constant uuid := '10000000-0000-4000-8000-000000000002';
    alice   constant uuid := '20000000-0000-4000-8000-000000000001';
    bob     constant uuid := '20000000-0000-4000-8000-000000000002';
    charlie constant uuid := '20000000-0000-4000-8000-000000000003';
    diana   constant uuid := '20000000-0000-4000-8000-000000000004';
    super_admin constant uuid := '30000000-0000-4000-8000-000000000001';
    agent_user  constant uuid := '30000000-0000-4000-8000-000000000004';
    acme_tasks   bigint;
    tech_tasks   bigint;
    seen         bigint;
    changed      bigint;
    refused      boolean;
    custom_role  uuid;
    state_a      text;
    state_b      text;
BEGIN
    BEGIN
        -- Expected figures, read as service_role (sees every row).
        SET LOCAL ROLE service_role;
        SELECT count(*) INTO acme_tasks FROM agent_tasks WHERE organization_id = acme;
        SELECT count(*) INTO tech_tasks FROM agent_tasks WHERE organization_id = tech;
        IF acme_tasks = 0 OR tech_tasks = 0 OR NOT EXISTS (SELECT 1 FROM users WHERE id = charlie) THEN
            RAISE EXCEPTION 'RLS test needs the sample data: apply seeds/001_sample_data.sql first';
        END IF;

        SET LOCAL ROLE app_user;

        -- Alice sees only Acme Corp data.
        PERFORM set_app_user(alice);
        SELECT count(*) INTO seen FROM organizations;
        IF seen <> 1 OR NOT EXISTS (SELECT 1 FROM organizations WHERE id = acme) THEN
            RAISE EXCEPTION 'RLS test failed: Alice should see exactly Acme Corp, sees % organizations', seen;
        END IF;
        SELECT count(*) INTO seen FROM agent_tasks;
        IF seen <> acme_tasks OR EXISTS (SELECT 1 FROM agent_tasks WHERE organization_id <> acme) THEN
            RAISE EXCEPTION 'RLS test failed: Alice should see the % Acme tasks only, sees %', acme_tasks, seen;
        END IF;
        IF EXISTS (SELECT 1 FROM agent_results WHERE organization_id <> acme)
           OR EXISTS (SELECT 1 FROM organization_members WHERE organization_id <> acme)
           OR EXISTS (SELECT 1 FROM user_roles WHERE organization_id <> acme) THEN
            RAISE EXCEPTION 'RLS test failed: Alice sees results, members or role grants outside Acme Corp';
        END IF;

        -- Charlie sees only Tech Startup data.
        PERFORM set_app_user(charlie);
        SELECT count(*) INTO seen FROM agent_tasks;
        IF seen <> tech_tasks OR EXISTS (SELECT 1 FROM agent_tasks WHERE organization_id <> tech) THEN
            RAISE EXCEPTION 'RLS test failed: Charlie should see the % Tech Startup tasks only, sees %',
                tech_tasks, seen;
        END IF;
        IF (SELECT count(*) FROM organizations) <> 1 OR NOT EXISTS (SELECT 1 FROM organizations WHERE id = tech) THEN
            RAISE EXCEPTION 'RLS test failed: Charlie should see exactly Tech Startup Inc';
        END IF;

        -- Bob cannot see, change or delete Charlie's data.
        PERFORM set_app_user(bob);
        IF EXISTS (SELECT 1 FROM agent_tasks WHERE organization_id = tech)
           OR EXISTS (SELECT 1 FROM agent_results WHERE organization_id = tech)
           OR EXISTS (SELECT 1 FROM organizations WHERE id = tech)
           OR EXISTS (SELECT 1 FROM organization_members WHERE organization_id = tech)
           OR EXISTS (SELECT 1 FROM users WHERE id = charlie)
           OR EXISTS (SELECT 1 FROM sessions WHERE user_id = charlie) THEN
            RAISE EXCEPTION 'RLS test failed: Bob can see Tech Startup data';
        END IF;
        UPDATE agent_tasks SET priority = 99 WHERE organization_id = tech;
        GET DIAGNOSTICS changed = ROW_COUNT;
        IF changed <> 0 THEN
            RAISE EXCEPTION 'RLS test failed: Bob updated % Tech Startup tasks', changed;
        END IF;
        DELETE FROM agent_results WHERE organization_id = tech;
        GET DIAGNOSTICS changed = ROW_COUNT;
        IF changed <> 0 THEN
            RAISE EXCEPTION 'RLS test failed: Bob deleted % Tech Startup results', changed;
        END IF;

        -- Users see only their own sessions.
        PERFORM set_app_user(alice);
        IF NOT EXISTS (SELECT 1 FROM sessions) OR EXISTS (SELECT 1 FROM sessions WHERE user_id <> alice) THEN
            RAISE EXCEPTION 'RLS test failed: Alice should see her own sessions and no other';
        END IF;
        UPDATE sessions SET revoked_at = now() WHERE user_id = bob;
        GET DIAGNOSTICS changed = ROW_COUNT;
        IF changed <> 0 THEN
            RAISE EXCEPTION 'RLS test failed: Alice revoked % of Bob''s sessions', changed;
        END IF;

        -- Permission-based updates: Alice (org_admin) may rename Acme; Bob (org_member) and Charlie may not.
        UPDATE organizations SET name = 'Acme Corporation (RLS test)' WHERE id = acme;
        GET DIAGNOSTICS changed = ROW_COUNT;
        IF changed <> 1 THEN
            RAISE EXCEPTION 'RLS test failed: Alice (organizations:update) could not rename Acme Corp';
        END IF;
        IF NOT EXISTS (SELECT 1 FROM audit_logs
                        WHERE table_name = 'organizations' AND record_id = acme::text
                          AND action = 'update' AND actor_user_id = alice) THEN
            RAISE EXCEPTION 'RLS test failed: the rename of Acme Corp is not in the audit log with Alice as actor';
        END IF;
        PERFORM set_app_user(bob);
        UPDATE organizations SET name = 'Renamed by Bob' WHERE id = acme;
        GET DIAGNOSTICS changed = ROW_COUNT;
        IF changed <> 0 THEN
            RAISE EXCEPTION 'RLS test failed: Bob (no organizations:update) renamed Acme Corp';
        END IF;
        IF EXISTS (SELECT 1 FROM audit_logs) THEN
            RAISE EXCEPTION 'RLS test failed: Bob (no audit:read) can read the audit log';
        END IF;
        refused := false;
        BEGIN
            INSERT INTO agent_tasks (organization_id, agent_type) VALUES (acme, 'research');
        EXCEPTION WHEN insufficient_privilege THEN
            refused := true;
        END;
        IF NOT refused THEN
            RAISE EXCEPTION 'RLS test failed: Bob (no agents:run) started an agent task';
        END IF;
        PERFORM set_app_user(charlie);
        UPDATE organizations SET name = 'Renamed by Charlie' WHERE id = acme;
        GET DIAGNOSTICS changed = ROW_COUNT;
        IF changed <> 0 THEN
            RAISE EXCEPTION 'RLS test failed: Charlie (another organization) renamed Acme Corp';
        END IF;
        PERFORM set_app_user(alice);
        INSERT INTO agent_tasks (organization_id, agent_type) VALUES (acme, 'research');
        IF NOT user_has_permission(alice, acme, 'agents', 'run')
           OR user_has_permission(bob, acme, 'agents', 'run')
           OR user_has_permission(charlie, tech, 'agents', 'run') THEN
            RAISE EXCEPTION 'RLS test failed: user_has_permission answers wrongly for Alice, Bob or Charlie';
        END IF;

        -- No user, or a malformed one, sees nothing.
        PERFORM set_app_user(NULL);
        IF EXISTS (SELECT 1 FROM organizations) OR EXISTS (SELECT 1 FROM agent_tasks)
           OR EXISTS (SELECT 1 FROM users) OR EXISTS (SELECT 1 FROM sessions) THEN
            RAISE EXCEPTION 'RLS test failed: rows are visible with no user set';
        END IF;
        PERFORM set_config('app.current_user_id', 'not-a-uuid', true);
        IF EXISTS (SELECT 1 FROM organizations) OR EXISTS (SELECT 1 FROM agent_tasks) THEN
            RAISE EXCEPTION 'RLS test failed: rows are visible with a malformed user id';
        END IF;

        -- Roles cannot escalate. Alice (org_admin) may not grant super_admin, not even to herself ...
        PERFORM set_app_user(alice);
        refused := false;
        BEGIN
            INSERT INTO user_roles (organization_id, user_id, role_id) VALUES (acme, alice, super_admin);
        EXCEPTION WHEN insufficient_privilege THEN
            refused := true;
        END;
        IF NOT refused THEN
            RAISE EXCEPTION 'RLS test failed: Alice (org_admin) granted herself super_admin';
        END IF;
        -- ... nor name a custom role like a system role ...
        refused := false;
        BEGIN
            INSERT INTO roles (organization_id, name) VALUES (acme, 'super_admin');
        EXCEPTION WHEN unique_violation THEN
            refused := true;
        END;
        IF NOT refused THEN
            RAISE EXCEPTION 'RLS test failed: Alice created a custom role named super_admin';
        END IF;
        -- ... nor give a custom role a permission she lacks (organizations:delete) ...
        INSERT INTO roles (organization_id, name) VALUES (acme, 'rls_test_deleter') RETURNING id INTO custom_role;
        refused := false;
        BEGIN
            INSERT INTO role_permissions (role_id, permission_id)
            SELECT custom_role, p.id FROM permissions AS p WHERE p.resource = 'organizations' AND p.action = 'delete';
        EXCEPTION WHEN insufficient_privilege THEN
            refused := true;
        END;
        IF NOT refused THEN
            RAISE EXCEPTION 'RLS test failed: Alice gave a custom role organizations:delete, which she does not hold';
        END IF;
        DELETE FROM organizations WHERE id = acme;
        GET DIAGNOSTICS changed = ROW_COUNT;
        IF changed <> 0 THEN
            RAISE EXCEPTION 'RLS test failed: Alice (no organizations:delete) deleted Acme Corp';
        END IF;
        -- ... but grants what she holds, in her name.
        INSERT INTO user_roles (organization_id, user_id, role_id) VALUES (acme, bob, agent_user);
        IF NOT EXISTS (SELECT 1 FROM user_roles WHERE user_id = bob AND role_id = agent_user AND granted_by = alice) THEN
            RAISE EXCEPTION 'RLS test failed: Alice could not grant agent_user to Bob in her name';
        END IF;

        -- Invitations need consent. Alice cannot make Diana (Healthcare Co) a member, in any status, and an
        -- unknown user id is refused exactly alike.
        state_a := 'no error';
        BEGIN
            INSERT INTO organization_members (organization_id, user_id, status) VALUES (acme, diana, 'active');
        EXCEPTION WHEN OTHERS THEN
            state_a := SQLSTATE;
        END;
        state_b := 'no error';
        BEGIN
            INSERT INTO organization_members (organization_id, user_id, status)
            VALUES (acme, '29999999-0000-4000-8000-000000000099', 'invited');
        EXCEPTION WHEN OTHERS THEN
            state_b := SQLSTATE;
        END;
        IF state_a <> '42501' OR state_b <> '42501' THEN
            RAISE EXCEPTION 'RLS test failed: adding Diana gave %, an unknown user id gave % (both must be 42501)',
                state_a, state_b;
        END IF;
        -- Inviting by e-mail answers the same whoever the address belongs to.
        PERFORM invite_member(acme, 'diana@healthcare.com');
        PERFORM invite_member(acme, 'nobody-at-all@example.com');
        IF (SELECT count(*) FROM organization_invitations WHERE organization_id = acme AND invited_by = alice) <> 2
           OR EXISTS (SELECT 1 FROM users WHERE id = diana) THEN
            RAISE EXCEPTION 'RLS test failed: invitations by e-mail are not Alice''s, or Diana''s profile is visible';
        END IF;
        -- Bob may not accept Diana's invitation; Diana sees nothing of Acme until she does.
        PERFORM set_app_user(bob);
        refused := false;
        BEGIN
            PERFORM accept_invitation(tech);
        EXCEPTION WHEN no_data_found THEN
            refused := true;
        END;
        IF NOT refused THEN
            RAISE EXCEPTION 'RLS test failed: Bob accepted an invitation he never received';
        END IF;
        PERFORM set_app_user(diana);
        IF EXISTS (SELECT 1 FROM organizations WHERE id = acme) OR EXISTS (SELECT 1 FROM agent_tasks WHERE organization_id = acme)
           OR NOT EXISTS (SELECT 1 FROM my_invitations() WHERE organization_id = acme) THEN
            RAISE EXCEPTION 'RLS test failed: invited Diana sees Acme data, or not her invitation';
        END IF;
        PERFORM accept_invitation(acme);
        -- The context is resolved once per transaction (020): the next request, here the next set_app_user, sees it.
        -- Diana is now in two organizations: tenant data is read in the one the request names. (Seeds also run
        -- on the schema before 020, in a deploy that adds it: there set_app_user takes the user only.)
        PERFORM set_app_user(diana);
        IF to_regprocedure('set_app_user(uuid, uuid)') IS NOT NULL THEN
            IF EXISTS (SELECT 1 FROM agent_tasks) THEN
                RAISE EXCEPTION 'RLS test failed: Diana, in two organizations, reads tasks without naming one';
            END IF;
            PERFORM set_app_user(diana, acme);
        END IF;
        IF (SELECT count(*) FROM agent_tasks WHERE organization_id = acme) < acme_tasks THEN
            RAISE EXCEPTION 'RLS test failed: Diana does not see Acme after accepting';
        END IF;
        PERFORM set_app_user(alice);
        IF NOT EXISTS (SELECT 1 FROM users WHERE id = diana)
           OR NOT EXISTS (SELECT 1 FROM organization_members WHERE user_id = diana AND invited_by = alice AND status = 'active') THEN
            RAISE EXCEPTION 'RLS test failed: Diana''s accepted membership is not active, or not invited by Alice';
        END IF;

        -- Statuses are enforced. Bob disabled: nothing, no session, no permission, whoever asks.
        SET LOCAL ROLE service_role;
        UPDATE users SET status = 'disabled' WHERE id = bob;
        IF user_has_permission(bob, acme, 'agents', 'read') THEN
            RAISE EXCEPTION 'RLS test failed: user_has_permission is true for a disabled user';
        END IF;
        SET LOCAL ROLE app_user;
        PERFORM set_app_user(bob);
        IF EXISTS (SELECT 1 FROM organizations) OR EXISTS (SELECT 1 FROM sessions) OR EXISTS (SELECT 1 FROM agent_tasks) THEN
            RAISE EXCEPTION 'RLS test failed: disabled Bob still sees rows';
        END IF;
        refused := false;
        BEGIN
            INSERT INTO sessions (user_id, token_hash, expires_at)
            VALUES (bob, decode(repeat('ef', 32), 'hex'), now() + interval '1 hour');
        EXCEPTION WHEN insufficient_privilege THEN
            refused := true;
        END;
        IF NOT refused THEN
            RAISE EXCEPTION 'RLS test failed: disabled Bob opened a session';
        END IF;
        -- Tech Startup suspended: Charlie gets nothing but the reason.
        SET LOCAL ROLE service_role;
        PERFORM suspend_organization(tech);
        IF user_has_permission(charlie, tech, 'agents', 'run') THEN
            RAISE EXCEPTION 'RLS test failed: user_has_permission is true in a suspended organization';
        END IF;
        SET LOCAL ROLE app_user;
        PERFORM set_app_user(charlie);
        IF EXISTS (SELECT 1 FROM organizations) OR EXISTS (SELECT 1 FROM agent_tasks)
           OR NOT EXISTS (SELECT 1 FROM my_organizations() WHERE organization_id = tech AND organization_status = 'suspended') THEN
            RAISE EXCEPTION 'RLS test failed: Charlie sees data of suspended Tech Startup, or not that it is suspended';
        END IF;
        UPDATE agent_tasks SET priority = 1 WHERE organization_id = tech;
        GET DIAGNOSTICS changed = ROW_COUNT;
        IF changed <> 0 THEN
            RAISE EXCEPTION 'RLS test failed: Charlie changed tasks of suspended Tech Startup';
        END IF;

        -- Everything passed: roll the sub-transaction back (role, settings and rows) with a sentinel.
        RAISE EXCEPTION USING ERRCODE = 'RLSOK', MESSAGE = 'RLS tests passed';
    EXCEPTION WHEN SQLSTATE 'RLSOK' THEN
        RAISE NOTICE 'RLS tests passed';
    END;
END
$$;
