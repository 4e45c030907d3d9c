/**
 * Cognito post-confirmation trigger: mirrors a newly confirmed user into `users` through the RDS Data API, as
 * a login in `cognito_sync`, which may call tenancy.upsert_cognito_user() for the user the event names and has
 * no privilege on the table itself (migrations/011).
 *
 * Idempotent: Cognito retries triggers, and the upsert keyed by the Cognito sub makes a retry a no-op. A
 * database failure fails the sign-up with a message fit for the user; the cause is logged by SQLSTATE only.
 */
import { RDSDataClient } from '@aws-sdk/client-rds-data';
import type { PostConfirmationTriggerEvent } from 'aws-lambda';
import { dataApiTargetFromEnv, executeWithin, type DataApiTarget } from '../shared/data-api';
import { createLogger, type Logger } from '../shared/logger';
import { sqlState } from '../shared/sql-state';
import { TriggerClock } from '../shared/trigger-budget';

/** Made when this instance's code is loaded: a cold start's budget counts from then. */
const CLOCK = new TriggerClock(Date.now());

/** What the user sees when the mirror cannot be written; nothing about the database. */
export const USER_FACING_FAILURE = 'We could not finish setting up your account. Please try again in a moment.';

/** Inserts the user, or refreshes e-mail, verification and name of the user with that sub; never its status. */
const UPSERT_USER =
  'SELECT tenancy.upsert_cognito_user(CAST(:sub AS text), CAST(:email AS text), CAST(:emailVerified AS boolean), CAST(:fullName AS text))';

export interface PostConfirmationDependencies {
  readonly client: RDSDataClient;
  readonly target: DataApiTarget;
  readonly logger: Logger;
  /**
   * Time for the Data API call, counted from Cognito's call (not the handler's start), below Cognito's 5 s; a
   * resuming cluster is asked again within it. @default 4000
   */
  readonly timeoutMs?: number;
  /** When Cognito called the current invocation. @default - a {@link TriggerClock} started when the handler was made */
  readonly callStartedAt?: () => number;
  /** @default Date.now */
  readonly now?: () => number;
}

/** The user's display name from the standard attributes, or null. */
export function displayName(attributes: Record<string, string | undefined>): string | null {
  const name = attributes.name?.trim();
  if (name) return name;
  const joined = [attributes.given_name, attributes.family_name].map((part) => part?.trim()).filter(Boolean).join(' ');
  return joined || null;
}

export function createPostConfirmationHandler(deps: PostConfirmationDependencies) {
  const now = deps.now ?? Date.now;
  const clock = new TriggerClock(now(), now);
  const callStartedAt = deps.callStartedAt ?? (() => clock.callStartedAt());
  return async (event: PostConfirmationTriggerEvent): Promise<PostConfirmationTriggerEvent> => {
    const deadline = callStartedAt() + (deps.timeoutMs ?? 4000);
    const logger = deps.logger.child({ triggerSource: event.triggerSource, userPoolId: event.userPoolId });
    // A confirmed password reset changes nothing we mirror.
    if (event.triggerSource !== 'PostConfirmation_ConfirmSignUp') return event;

    const attributes = event.request?.userAttributes ?? {};
    const sub = attributes.sub;
    const email = attributes.email;
    if (!sub || !email) {
      logger.error('post-confirmation event lacks sub or email', { hasSub: Boolean(sub), hasEmail: Boolean(email) });
      throw new Error(USER_FACING_FAILURE);
    }

    try {
      await executeWithin(
        deps.client,
        deps.target,
        {
          sql: UPSERT_USER,
          parameters: {
            sub,
            email,
            emailVerified: attributes.email_verified === 'true',
            fullName: displayName(attributes),
          },
        },
        { deadline, now },
      );
    } catch (error) {
      logger.error('users upsert failed', { userSub: sub, error: sqlState(error) });
      // No `cause`: the database error must not travel with what Cognito shows the user.
      // eslint-disable-next-line preserve-caught-error
      throw new Error(USER_FACING_FAILURE);
    }
    logger.info('user mirrored', { userSub: sub });
    return event;
  };
}

let cached: ReturnType<typeof createPostConfirmationHandler> | undefined;

export const handler = async (event: PostConfirmationTriggerEvent) => {
  cached ??= createPostConfirmationHandler({
    client: new RDSDataClient({ maxAttempts: 2 }),
    target: dataApiTargetFromEnv(),
    logger: createLogger({ service: 'cognito-post-confirmation' }),
    callStartedAt: () => CLOCK.callStartedAt(),
  });
  return cached(event);
};
