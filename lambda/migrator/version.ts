/**
 * Recorded with every applied file (`runner_version` in the history), so a history row says which runner
 * behaviour applied it. Bump it in the commit that changes what the runner does to a database (what it runs,
 * locks, records or refuses); refactoring that changes none of that keeps it.
 *
 * 1.1.0: a run with nothing to do takes no lock (one history read decides it), and a run with work reads the
 *        history again under the lock; a transactional file that lost a deadlock runs again.
 */
export const RUNNER_VERSION = '1.1.0';
