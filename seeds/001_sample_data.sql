-- 001_sample_data.sql
--
-- Sample data for development and tests (never applied where the environment forbids seeds): the spec's three
-- organizations, four users, their memberships and role grants, a session per user, and a few agent tasks and
-- results with embeddings per organization. Sample tenants only: the system roles, the permission catalogue and
-- what each system role grants are reference data, created by migrations/014_reference_data.sql (design
-- decision 5), so a production database, which never gets seeds, has them too.
--
-- Fixed UUIDs, and every insert is an upsert: running the file twice changes nothing. Runs inside one
-- transaction (the migration runner opens it; with psql use `psql -1 -f`), as service_role, because every table
-- forces Row Level Security and service_role is the role that system operations act through.
--
-- Ids: organizations 10000000-…-00000000000N, users 20000000-…, tasks 40000000-…, results 50000000-… (system
-- roles 30000000-… come from the migration); memberships and grants use name-based UUIDs (uuid_generate_v5)
-- derived from what they join, so they are fixed too.

SET LOCAL ROLE service_role;

INSERT INTO organizations (id, name, slug, plan, status) VALUES
    ('10000000-0000-4000-8000-000000000001', 'Acme Corporation',  'acme-corp',    'enterprise', 'active'),
    ('10000000-0000-4000-8000-000000000002', 'Tech Startup Inc',  'tech-startup', 'pro',        'active'),
    ('10000000-0000-4000-8000-000000000003', 'Healthcare Co',     'healthcare-co', 'free',      'active')
ON CONFLICT (id) DO UPDATE
    SET name = EXCLUDED.name, slug = EXCLUDED.slug, plan = EXCLUDED.plan, status = EXCLUDED.status;

INSERT INTO users (id, cognito_sub, email, email_verified, full_name, status) VALUES
    ('20000000-0000-4000-8000-000000000001', '90000000-0000-4000-8000-000000000001', 'alice@acme.com',
     true, 'Alice Anderson', 'active'),
    ('20000000-0000-4000-8000-000000000002', '90000000-0000-4000-8000-000000000002', 'bob@acme.com',
     true, 'Bob Brown', 'active'),
    ('20000000-0000-4000-8000-000000000003', '90000000-0000-4000-8000-000000000003', 'charlie@techstartup.io',
     true, 'Charlie Chen', 'active'),
    ('20000000-0000-4000-8000-000000000004', '90000000-0000-4000-8000-000000000004', 'diana@healthcare.com',
     true, 'Diana Diaz', 'active')
ON CONFLICT (id) DO UPDATE
    SET cognito_sub = EXCLUDED.cognito_sub, email = EXCLUDED.email, email_verified = EXCLUDED.email_verified,
        full_name = EXCLUDED.full_name, status = EXCLUDED.status;

INSERT INTO organization_members (id, organization_id, user_id, status, joined_at)
SELECT uuid_generate_v5('6ba7b811-9dad-11d1-80b4-00c04fd430c8', 'member:' || org || ':' || usr), org, usr,
       'active', '2026-01-01T00:00:00Z'
  FROM (VALUES
    ('10000000-0000-4000-8000-000000000001'::uuid, '20000000-0000-4000-8000-000000000001'::uuid),  -- Alice, Acme
    ('10000000-0000-4000-8000-000000000001',       '20000000-0000-4000-8000-000000000002'),        -- Bob, Acme
    ('10000000-0000-4000-8000-000000000002',       '20000000-0000-4000-8000-000000000003'),        -- Charlie, Tech
    ('10000000-0000-4000-8000-000000000003',       '20000000-0000-4000-8000-000000000004')         -- Diana, Health
  ) AS m (org, usr)
ON CONFLICT (organization_id, user_id) DO NOTHING;

INSERT INTO user_roles (id, organization_id, user_id, role_id, granted_at)
SELECT uuid_generate_v5('6ba7b811-9dad-11d1-80b4-00c04fd430c8', 'grant:' || org || ':' || usr || ':' || role_name),
       org, usr, r.id, '2026-01-01T00:00:00Z'
  FROM (VALUES
    ('10000000-0000-4000-8000-000000000001'::uuid, '20000000-0000-4000-8000-000000000001'::uuid, 'org_admin'),
    ('10000000-0000-4000-8000-000000000001',       '20000000-0000-4000-8000-000000000001',       'agent_user'),
    ('10000000-0000-4000-8000-000000000001',       '20000000-0000-4000-8000-000000000002',       'org_member'),
    ('10000000-0000-4000-8000-000000000002',       '20000000-0000-4000-8000-000000000003',       'org_admin'),
    ('10000000-0000-4000-8000-000000000002',       '20000000-0000-4000-8000-000000000003',       'agent_user'),
    ('10000000-0000-4000-8000-000000000003',       '20000000-0000-4000-8000-000000000004',       'org_admin')
  ) AS g (org, usr, role_name)
  JOIN roles AS r ON r.name = g.role_name AND r.organization_id IS NULL
ON CONFLICT (organization_id, user_id, role_id) DO NOTHING;

-- One session per user. Only the SHA-256 of a (made-up) token is stored.
INSERT INTO sessions (id, user_id, token_hash, user_agent, created_at, expires_at)
SELECT uuid_generate_v5('6ba7b811-9dad-11d1-80b4-00c04fd430c8', 'session:' || u.id), u.id,
       digest('sample-session-token:' || u.email, 'sha256'), 'seed', '2026-01-01T00:00:00Z',
       '2099-01-01T00:00:00Z'
  FROM users AS u
 WHERE u.id IN ('20000000-0000-4000-8000-000000000001', '20000000-0000-4000-8000-000000000002',
                '20000000-0000-4000-8000-000000000003', '20000000-0000-4000-8000-000000000004')
ON CONFLICT (id) DO NOTHING;

INSERT INTO agent_tasks (id, organization_id, created_by, agent_type, status, priority, input, output,
                         started_at, completed_at, created_at)
VALUES
    ('40000000-0000-4000-8000-000000000001', '10000000-0000-4000-8000-000000000001',
     '20000000-0000-4000-8000-000000000001', 'research', 'completed', 5,
     '{"query": "Summarize Q3 supplier contracts"}', '{"summary": "12 contracts, 2 expiring"}',
     '2026-01-02T09:00:00Z', '2026-01-02T09:04:00Z', '2026-01-02T09:00:00Z'),
    ('40000000-0000-4000-8000-000000000002', '10000000-0000-4000-8000-000000000001',
     '20000000-0000-4000-8000-000000000001', 'support', 'pending', 1,
     '{"ticket": "ACME-1042"}', NULL, NULL, NULL, '2026-01-03T10:00:00Z'),
    ('40000000-0000-4000-8000-000000000003', '10000000-0000-4000-8000-000000000002',
     '20000000-0000-4000-8000-000000000003', 'code-review', 'completed', 3,
     '{"repository": "api", "pull_request": 88}', '{"comments": 4}',
     '2026-01-02T11:00:00Z', '2026-01-02T11:02:00Z', '2026-01-02T11:00:00Z'),
    ('40000000-0000-4000-8000-000000000004', '10000000-0000-4000-8000-000000000002',
     '20000000-0000-4000-8000-000000000003', 'research', 'running', 2,
     '{"query": "Competitor pricing"}', NULL, '2026-01-04T08:00:00Z', NULL, '2026-01-04T08:00:00Z'),
    ('40000000-0000-4000-8000-000000000005', '10000000-0000-4000-8000-000000000003',
     '20000000-0000-4000-8000-000000000004', 'summarize', 'completed', 0,
     '{"document": "intake-form-v2"}', '{"pages": 3}',
     '2026-01-05T14:00:00Z', '2026-01-05T14:01:00Z', '2026-01-05T14:00:00Z')
ON CONFLICT (id) DO UPDATE
    SET status = EXCLUDED.status, priority = EXCLUDED.priority, input = EXCLUDED.input, output = EXCLUDED.output,
        started_at = EXCLUDED.started_at, completed_at = EXCLUDED.completed_at;

-- Results with deterministic 1536-dimension embeddings (a different phase per result, so searches rank them).
INSERT INTO agent_results (id, organization_id, task_id, result_type, content, metadata, embedding, created_at)
SELECT r.id, r.org, r.task, 'text', r.content, jsonb_build_object('seed', true),
       (SELECT array_agg(sin(i * r.phase)::real ORDER BY i) FROM generate_series(1, 1536) AS i)::vector,
       '2026-01-06T00:00:00Z'
  FROM (VALUES
    ('50000000-0000-4000-8000-000000000001'::uuid, '10000000-0000-4000-8000-000000000001'::uuid,
     '40000000-0000-4000-8000-000000000001'::uuid, 'Two supplier contracts expire in Q4.', 0.011::float8),
    ('50000000-0000-4000-8000-000000000002', '10000000-0000-4000-8000-000000000001',
     '40000000-0000-4000-8000-000000000001', 'Renegotiation is recommended for the logistics contract.', 0.013),
    ('50000000-0000-4000-8000-000000000003', '10000000-0000-4000-8000-000000000002',
     '40000000-0000-4000-8000-000000000003', 'Four review comments; one possible SQL injection.', 0.017),
    ('50000000-0000-4000-8000-000000000004', '10000000-0000-4000-8000-000000000002',
     '40000000-0000-4000-8000-000000000003', 'Tests cover 81% of the changed lines.', 0.019),
    ('50000000-0000-4000-8000-000000000005', '10000000-0000-4000-8000-000000000003',
     '40000000-0000-4000-8000-000000000005', 'Intake form summary: three sections, no PHI in free text.', 0.023)
  ) AS r (id, org, task, content, phase)
ON CONFLICT (id) DO UPDATE SET content = EXCLUDED.content, embedding = EXCLUDED.embedding;
