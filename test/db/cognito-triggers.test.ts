/**
 * The Cognito triggers against a real database: the Data API is served from PGlite by an adapter at the API
 * boundary, and statements run as the cognito_sync group role, as the deployed login would.
 */
import type { PostConfirmationTriggerEvent, PreTokenGenerationV2TriggerEvent } from 'aws-lambda';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createPostConfirmationHandler, USER_FACING_FAILURE } from '../../lambda/cognito-post-confirmation';
import { buildClaims, createPreTokenHandler } from '../../lambda/cognito-pre-token';
import { createLogger } from '../../lambda/shared/logger';
import { TriggerClock } from '../../lambda/shared/trigger-budget';
import type { EmbeddedDatabase } from '../../lib/local/pglite';
import { createDataApiAdapter, toPositional, type DataApiAdapter } from '../support/data-api-adapter';
import { openSeededDatabase, SEED } from '../support/embedded';

const CLUSTER_ARN = 'arn:aws:rds:eu-west-1:111122223333:cluster:saas-dev';
const SYNC_SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:saas-dev-cognito-sync-AbCdEf';
const TARGET = { resourceArn: CLUSTER_ARN, secretArn: SYNC_SECRET_ARN, database: 'saas' };

const fixture = <T>(name: string): T =>
  JSON.parse(readFileSync(join(__dirname, '..', 'fixtures', 'cognito', name), 'utf8')) as T;

let db: EmbeddedDatabase;
let adapter: DataApiAdapter;
let logLines: string[];

const logger = () => createLogger({ service: 'test', write: (line) => logLines.push(line) });

beforeAll(async () => {
  db = await openSeededDatabase();
});
afterAll(async () => {
  await db.close();
});
beforeEach(() => {
  logLines = [];
  adapter = createDataApiAdapter(db, { resourceArn: CLUSTER_ARN, loginRoles: { [SYNC_SECRET_ARN]: 'cognito_sync' } });
});
afterEach(() => {
  adapter.restore();
});

const usersWithSub = async (sub: string) => {
  await db.exec('BEGIN; SET LOCAL ROLE service_role');
  try {
    return (await db.query<Record<string, unknown>>(
      'SELECT cognito_sub, email, email_verified, full_name, status FROM users WHERE cognito_sub = $1', [sub])).rows;
  } finally {
    await db.exec('ROLLBACK');
  }
};

describe('post-confirmation', () => {
  const handler = () => createPostConfirmationHandler({ client: adapter.client, target: TARGET, logger: logger() });

  test('mirrors a confirmed sign-up into users, and a retry changes nothing', async () => {
    const event = fixture<PostConfirmationTriggerEvent>('post-confirmation.json');
    await expect(handler()(event)).resolves.toBe(event);
    await expect(handler()(structuredClone(event))).resolves.toBeDefined();
    expect(await usersWithSub(event.request.userAttributes.sub)).toEqual([
      { cognito_sub: event.request.userAttributes.sub, email: 'erin@example.com', email_verified: true, full_name: 'Erin Evans', status: 'active' },
    ]);
    expect(adapter.calls).toHaveLength(2);
    expect(adapter.calls[0].secretArn).toBe(SYNC_SECRET_ARN);
  });

  test('an attribute change arriving on a retry updates the row', async () => {
    const event = fixture<PostConfirmationTriggerEvent>('post-confirmation.json');
    event.request.userAttributes = { ...event.request.userAttributes, sub: 'sub-frank', email: 'frank@example.com', name: 'Frank' };
    await handler()(event);
    event.request.userAttributes.name = 'Frank Fischer';
    await handler()(event);
    expect((await usersWithSub('sub-frank'))[0]).toMatchObject({ full_name: 'Frank Fischer' });
  });

  test('a forgotten-password confirmation touches nothing', async () => {
    const event = fixture<PostConfirmationTriggerEvent>('post-confirmation.json');
    event.triggerSource = 'PostConfirmation_ConfirmForgotPassword';
    await handler()(event);
    expect(adapter.calls).toHaveLength(0);
  });

  test('a database error fails the trigger with a message that reveals nothing, logged by SQLSTATE', async () => {
    const event = fixture<PostConfirmationTriggerEvent>('post-confirmation.json');
    // Alice's e-mail under another Cognito sub: a unique violation in the database.
    event.request.userAttributes = { ...event.request.userAttributes, sub: 'sub-imposter', email: 'alice@acme.com' };
    await expect(handler()(event)).rejects.toThrow(USER_FACING_FAILURE);
    expect(USER_FACING_FAILURE).not.toMatch(/users|email|duplicate|constraint|SQL/i);
    const failure = logLines.map((line) => JSON.parse(line)).find((entry) => entry.level === 'error');
    expect(failure).toMatchObject({ message: 'users upsert failed', error: '23505', userSub: 'sub-imposter' });
    expect(logLines.join('\n')).not.toContain('alice@acme.com');
  });

  test('the database being down fails the trigger with the same message', async () => {
    adapter.setAvailable(false);
    await expect(handler()(fixture('post-confirmation.json'))).rejects.toThrow(USER_FACING_FAILURE);
    expect(logLines.join('\n')).toContain('DatabaseUnavailableException');
  });

  test('an event without sub or email is refused', async () => {
    const event = fixture<PostConfirmationTriggerEvent>('post-confirmation.json');
    delete (event.request.userAttributes as Record<string, string | undefined>).email;
    await expect(handler()(event)).rejects.toThrow(USER_FACING_FAILURE);
    expect(adapter.calls).toHaveLength(0);
  });
});

describe('the triggers’ time: Cognito’s 5 s count from its call, and a resuming cluster is asked again within them', () => {
  const postConfirmation = (deps: { callStartedAt?: () => number; timeoutMs?: number } = {}) =>
    createPostConfirmationHandler({ client: adapter.client, target: TARGET, logger: logger(), ...deps });

  test('a sign-up that meets a resuming cluster succeeds once it answers', async () => {
    const event = fixture<PostConfirmationTriggerEvent>('post-confirmation.json');
    event.request.userAttributes = { ...event.request.userAttributes, sub: 'sub-resumed', email: 'resumed@example.com' };
    adapter.resumeFor(2);
    await expect(postConfirmation()(event)).resolves.toBe(event);
    expect(adapter.calls).toHaveLength(3);
    expect(await usersWithSub('sub-resumed')).toHaveLength(1);
  });

  test('a cold start that used up the budget before the handler ran fails at once, without a call Cognito no longer waits for', async () => {
    const event = fixture<PostConfirmationTriggerEvent>('post-confirmation.json');
    // Cognito called 4 s ago; the init phase took all of it.
    await expect(postConfirmation({ callStartedAt: () => Date.now() - 4000, timeoutMs: 4000 })(event)).rejects.toThrow(USER_FACING_FAILURE);
    expect(adapter.calls).toHaveLength(0);
  });

  test('a cluster still resuming at the end of the budget gives a token without organization claims, in time', async () => {
    adapter.resumeFor(Infinity);
    const started = Date.now();
    const event = await createPreTokenHandler({ client: adapter.client, target: TARGET, logger: logger(), timeoutMs: 1200 })(fixture('pre-token-v2.json'));
    expect(Date.now() - started).toBeLessThan(1200 + 500);
    expect(adapter.calls.length).toBeGreaterThan(1);
    expect(event.response.claimsAndScopeOverrideDetails.idTokenGeneration?.claimsToAddOrOverride).toMatchObject({ org_claims_unavailable: true });
  });

  test('the first invocation of an instance counts from when its code was loaded, the next ones from their start', () => {
    let time = 1_000;
    const clock = new TriggerClock(400, () => time);
    expect(clock.callStartedAt()).toBe(400);
    time = 9_000;
    expect(clock.callStartedAt()).toBe(9_000);
  });
});

describe('pre-token generation (V2)', () => {
  const handler = (overrides: { maxOrganizations?: number; maxClaimBytes?: number } = {}) =>
    createPreTokenHandler({ client: adapter.client, target: TARGET, logger: logger(), ...overrides });
  const claimsOf = (event: PreTokenGenerationV2TriggerEvent) => {
    const details = event.response.claimsAndScopeOverrideDetails;
    expect(details.accessTokenGeneration?.claimsToAddOrOverride).toEqual(details.idTokenGeneration?.claimsToAddOrOverride);
    return details.idTokenGeneration?.claimsToAddOrOverride as Record<string, unknown>;
  };

  test('adds the user’s organizations and roles in one round trip', async () => {
    const event = await handler()(fixture('pre-token-v2.json'));
    expect(claimsOf(event)).toEqual({
      org_ids: [SEED.org.acme],
      org_roles: { [SEED.org.acme]: ['agent_user', 'org_admin'] },
    });
    expect(adapter.calls).toHaveLength(1);
  });

  test('a user with no row yet gets empty claims, not an error, and is mirrored: a failed post-confirmation heals', async () => {
    const event = fixture<PreTokenGenerationV2TriggerEvent>('pre-token-v2.json');
    event.request.userAttributes = { ...event.request.userAttributes, sub: 'never-mirrored', email: 'never@example.com', name: 'Nev Er' };
    expect(await usersWithSub('never-mirrored')).toEqual([]);
    expect(claimsOf(await handler()(event))).toEqual({ org_ids: [], org_roles: {} });
    const mirrored = { cognito_sub: 'never-mirrored', email: 'never@example.com', email_verified: true, full_name: 'Nev Er', status: 'active' };
    expect(await usersWithSub('never-mirrored')).toEqual([mirrored]);
    // The next sign-in changes nothing; a known user is never written.
    await handler()(structuredClone(event));
    expect(await usersWithSub('never-mirrored')).toEqual([mirrored]);
    expect(adapter.calls).toHaveLength(2);
  });

  test('an address that belongs to another user is not taken over, and the sign-in goes on', async () => {
    const event = fixture<PreTokenGenerationV2TriggerEvent>('pre-token-v2.json');
    event.request.userAttributes = { ...event.request.userAttributes, sub: 'sub-imposter-2', email: 'alice@acme.com' };
    expect(claimsOf(await handler()(event))).toEqual({ org_ids: [], org_roles: {} });
    expect(await usersWithSub('sub-imposter-2')).toEqual([]);
  });

  test('expired grants and suspended memberships are left out', async () => {
    await db.exec(`BEGIN; SET LOCAL ROLE service_role;
      UPDATE user_roles SET granted_at = now() - interval '2 days', expires_at = now() - interval '1 day'
       WHERE user_id = '${SEED.user.alice}' AND role_id = '${SEED.role.agentUser}';`);
    try {
      // The adapter runs its own transaction; use a savepoint-free check through the function directly.
      const [{ claims }] = (await db.query<{ claims: { organizations: unknown[] } }>(
        `SELECT tenancy.token_claims('90000000-0000-4000-8000-000000000001') AS claims`)).rows;
      expect(claims.organizations).toEqual([{ id: SEED.org.acme, roles: ['org_admin'] }]);
      await db.exec(`UPDATE organization_members SET status = 'suspended' WHERE user_id = '${SEED.user.alice}'`);
      const [{ claims: none }] = (await db.query<{ claims: { organizations: unknown[] } }>(
        `SELECT tenancy.token_claims('90000000-0000-4000-8000-000000000001') AS claims`)).rows;
      expect(none.organizations).toEqual([]);
    } finally {
      await db.exec('ROLLBACK');
    }
  });

  test('the database being down still lets the user sign in, with no organizations', async () => {
    adapter.setAvailable(false);
    const event = await handler()(fixture('pre-token-v2.json'));
    expect(claimsOf(event)).toEqual({ org_ids: [], org_roles: {}, org_claims_unavailable: true });
  });

  test('oversized claims are cut to the organization limit and the byte budget, and say so', async () => {
    // Give Alice 60 more organizations.
    await db.exec(`BEGIN; SET LOCAL ROLE service_role;
      INSERT INTO organizations (id, name, slug)
      SELECT uuid_generate_v5('6ba7b811-9dad-11d1-80b4-00c04fd430c8', 'bulk' || i), 'Bulk ' || i, 'bulk-' || i
        FROM generate_series(1, 60) AS i;
      INSERT INTO organization_members (organization_id, user_id)
      SELECT uuid_generate_v5('6ba7b811-9dad-11d1-80b4-00c04fd430c8', 'bulk' || i), '${SEED.user.alice}'
        FROM generate_series(1, 60) AS i;
      COMMIT;`);
    const limited = claimsOf(await handler({ maxClaimBytes: 100_000 })(fixture('pre-token-v2.json')));
    expect(limited.org_ids).toHaveLength(50);
    expect(limited.org_claims_truncated).toBe(true);

    const byDefault = claimsOf(await handler()(fixture('pre-token-v2.json')));
    expect(Buffer.byteLength(JSON.stringify(byDefault))).toBeLessThanOrEqual(4096);
    expect(byDefault.org_claims_truncated).toBe(true);

    const small = claimsOf(await handler({ maxClaimBytes: 600 })(fixture('pre-token-v2.json')));
    expect(Buffer.byteLength(JSON.stringify(small))).toBeLessThanOrEqual(600);
    expect((small.org_ids as string[]).length).toBeGreaterThan(0);
    expect(small.org_claims_truncated).toBe(true);
  });

  test('buildClaims keeps ids and roles in step', () => {
    const claims = buildClaims({ organizations: [{ id: 'a', roles: ['x'] }, { id: 'b', roles: [] }], truncated: false }, 4096);
    expect(claims).toEqual({ org_ids: ['a', 'b'], org_roles: { a: ['x'], b: [] } });
  });
});

describe('the Data API adapter', () => {
  test('translates named parameters, leaving casts alone', () => {
    expect(toPositional('SELECT :a::text, CAST(:b AS int), :a', [
      { name: 'a', value: { stringValue: 'x' } },
      { name: 'b', value: { longValue: 2 } },
    ])).toEqual({ text: 'SELECT $1::text::text, CAST($2::bigint AS int), $1::text', values: ['x', 2] });
  });
});
