/**
 * Cognito waits 5 seconds for a trigger, counted from its call. A cold start spends part of that in the function's
 * init phase, before the handler runs: the budget of an instance's first invocation counts from when its code was
 * loaded, which is as close to Cognito's call as the function can see; later invocations count from their start.
 */

/** Cognito's limit for a trigger, in milliseconds. */
export const COGNITO_TRIGGER_LIMIT_MS = 5000;

/** Tells each invocation when Cognito called it, as well as the function can know. */
export class TriggerClock {
  private invoked = false;

  /**
   * @param loadedAt when the function's code was loaded (the init phase of a cold start)
   * @param now the clock
   */
  constructor(
    private readonly loadedAt: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** When the current invocation's budget started: at load for an instance's first invocation, else now. */
  callStartedAt(): number {
    const started = this.invoked ? this.now() : this.loadedAt;
    this.invoked = true;
    return started;
  }
}
