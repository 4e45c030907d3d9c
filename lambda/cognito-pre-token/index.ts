/**
 * Cognito pre-token-generation trigger (V2 event): adds the user's organizations and per-organization roles to
 * the ID and access tokens, read through the RDS Data API in one round trip (tenancy.sign_in_claims), so the
 * application can set the tenant context without another query. The same call mirrors the user into `users`
 * when their row is missing, so a failed post-confirmation is repaired at the next sign-in.
 *
 * Cognito allows the trigger 5 seconds. The Data API call is aborted well before that, and a failure never
 * blocks sign-in: the tokens then carry no organizations (fail closed) and say the claims are unavailable.
 *
 * The login (cognito_sync) may call tenancy.token_claims for a sub and nothing else on users (migrations/011):
 * it learns subs only from events. A user with no row yet (confirmed before the mirror existed) gets empty
 * claims; upserting that user here is left to issue 17 (item 6).
 */
import { RDSDataClient } from '@aws-sdk/client-rds-data';
import type { PreTokenGenerationV2TriggerEvent } from 'aws-lambda';
import { displayName } from '../cognito-post-confirmation';
import { dataApiTargetFromEnv, executeWithin, type DataApiTarget } from '../shared/data-api';
import { createLogger, type Logger } from '../shared/logger';
import { sqlState } from '../shared/sql-state';
import { TriggerClock } from '../shared/trigger-budget';

/** Made when this instance's code is loaded: a cold start's budget counts from then. */
const CLOCK = new TriggerClock(Date.now());

export interface OrganizationClaim {
  readonly id: string;
  readonly roles: string[];
}

export interface TokenClaims {
  readonly organizations: OrganizationClaim[];
  readonly truncated: boolean;
}

/** Claim names, added to both tokens. */
export const CLAIMS = {
  orgIds: 'org_ids',
  orgRoles: 'org_roles',
  truncated: 'org_claims_truncated',
  unavailable: 'org_claims_unavailable',
} as const;

export interface PreTokenDependencies {
  readonly client: RDSDataClient;
  readonly target: DataApiTarget;
  readonly logger: Logger;
  /**
   * Time for the Data API call, counted from Cognito's call (not the handler's start); a resuming cluster is asked
   * again within it, and the token goes out without organization claims after it. @default 3000
   */
  readonly timeoutMs?: number;
  /** When Cognito called the current invocation. @default - a {@link TriggerClock} started when the handler was made */
  readonly callStartedAt?: () => number;
  /** @default Date.now */
  readonly now?: () => number;
  /** Most organizations put in a token. @default 50 */
  readonly maxOrganizations?: number;
  /** Budget for the serialized org claims, so tokens stay small enough for headers. @default 4096 */
  readonly maxClaimBytes?: number;
}

/** The claims to add: org_ids, org_roles, and org_claims_truncated when organizations were left out. */
export function buildClaims(claims: TokenClaims, maxClaimBytes: number): Record<string, unknown> {
  let organizations = claims.organizations;
  let truncated = claims.truncated;
  const render = () => ({
    [CLAIMS.orgIds]: organizations.map((org) => org.id),
    [CLAIMS.orgRoles]: Object.fromEntries(organizations.map((org) => [org.id, org.roles])),
    ...(truncated ? { [CLAIMS.truncated]: true } : {}),
  });
  // Drop organizations from the end until the claims fit the budget.
  while (organizations.length > 0 && Buffer.byteLength(JSON.stringify(render())) > maxClaimBytes) {
    organizations = organizations.slice(0, -1);
    truncated = true;
  }
  return render();
}

/** Parses what tenancy.sign_in_claims returned (the Data API hands JSON columns back as strings). */
export function parseTokenClaims(value: unknown): TokenClaims {
  const parsed = (typeof value === 'string' ? JSON.parse(value) : value) as Partial<TokenClaims> | null;
  if (!parsed || !Array.isArray(parsed.organizations)) throw new Error('token_claims returned an unexpected shape');
  return {
    organizations: parsed.organizations.map((org) => ({ id: String(org.id), roles: (org.roles ?? []).map(String) })),
    truncated: parsed.truncated === true,
  };
}

function withClaims(event: PreTokenGenerationV2TriggerEvent, claims: Record<string, unknown>) {
  // Claim values may be arrays and objects in the V2 event; the type definitions only know strings.
  const claimsToAddOrOverride = claims as Record<string, string>;
  event.response = {
    claimsAndScopeOverrideDetails: {
      ...event.response?.claimsAndScopeOverrideDetails,
      idTokenGeneration: { claimsToAddOrOverride },
      accessTokenGeneration: { claimsToAddOrOverride },
    },
  };
  return event;
}

export function createPreTokenHandler(deps: PreTokenDependencies) {
  const maxOrganizations = deps.maxOrganizations ?? 50;
  const maxClaimBytes = deps.maxClaimBytes ?? 4096;
  const now = deps.now ?? Date.now;
  const clock = new TriggerClock(now(), now);
  const callStartedAt = deps.callStartedAt ?? (() => clock.callStartedAt());
  return async (event: PreTokenGenerationV2TriggerEvent): Promise<PreTokenGenerationV2TriggerEvent> => {
    const deadline = callStartedAt() + (deps.timeoutMs ?? 3000);
    const logger = deps.logger.child({ triggerSource: event.triggerSource, userPoolId: event.userPoolId });
    const attributes = event.request?.userAttributes ?? {};
    const sub = attributes.sub;
    if (!sub) {
      logger.warn('pre-token event without sub; no organization claims');
      return withClaims(event, buildClaims({ organizations: [], truncated: false }, maxClaimBytes));
    }
    try {
      const [row] = await executeWithin<{ claims: unknown }>(
        deps.client,
        deps.target,
        {
          sql: 'SELECT tenancy.sign_in_claims(:sub, :email, :emailVerified, :fullName, CAST(:limit AS integer)) AS claims',
          parameters: {
            sub,
            email: attributes.email ?? null,
            emailVerified: attributes.email_verified === 'true',
            fullName: displayName(attributes),
            limit: maxOrganizations,
          },
        },
        { deadline, now },
      );
      const claims = buildClaims(parseTokenClaims(row?.claims ?? { organizations: [] }), maxClaimBytes);
      logger.info('organization claims added', { userSub: sub, organizations: (claims[CLAIMS.orgIds] as string[]).length });
      return withClaims(event, claims);
    } catch (error) {
      logger.error('organization claims unavailable', { userSub: sub, error: sqlState(error) });
      return withClaims(event, { ...buildClaims({ organizations: [], truncated: false }, maxClaimBytes), [CLAIMS.unavailable]: true });
    }
  };
}

let cached: ReturnType<typeof createPreTokenHandler> | undefined;

export const handler = async (event: PreTokenGenerationV2TriggerEvent) => {
  cached ??= createPreTokenHandler({
    client: new RDSDataClient({ maxAttempts: 1 }),
    target: dataApiTargetFromEnv(),
    logger: createLogger({ service: 'cognito-pre-token' }),
    callStartedAt: () => CLOCK.callStartedAt(),
  });
  return cached(event);
};
