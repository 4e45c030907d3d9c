/**
 * The ConfigError a configuration fails with, for tests that read its message and the fields it names. Anything
 * else thrown is rethrown, and no error at all fails the test.
 */
import { ConfigError, loadEnvironmentConfig } from '../../lib/config';

/** The ConfigError `fn` throws. */
export function configFailure(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

/** The ConfigError of environment `name` with `overrides` applied. */
export function configError(name: string, overrides: Record<string, unknown>): ConfigError {
  return configFailure(() => loadEnvironmentConfig(name, overrides));
}
