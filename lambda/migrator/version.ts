/** Recorded with every applied file. Bump when the runner's behaviour changes. */
export const RUNNER_VERSION = '1.1.0';
