/**
 * Loads and validates an environment's configuration. Every problem is
 * reported in one error that names the environment and each field, e.g.
 *
 *   Invalid configuration for environment "prod":
 *     - database.minCapacity: minCapacity (8 ACU) is above maxCapacity (4 ACU)
 *     - database.seedsEnabled: seeds must never run in prod
 */
import { ENVIRONMENTS } from './environments';
import {
  ENVIRONMENT_NAMES,
  environmentConfigSchema,
  nonDevIssues,
  productionIssues,
  type EnvironmentConfig,
  type EnvironmentName,
} from './schema';

export * from './schema';

/** A configuration that cannot be used; the message names the environment and every bad field. */
export class ConfigError extends Error {
  constructor(
    readonly environment: string,
    readonly issues: readonly { path: string; message: string }[],
  ) {
    super(
      `Invalid configuration for environment "${environment}":\n` +
        issues.map((i) => `  - ${i.path || '(root)'}: ${i.message}`).join('\n'),
    );
    this.name = 'ConfigError';
  }
}

/** Whether `name` is one of the environments this app knows. */
export function isEnvironmentName(name: string): name is EnvironmentName {
  return (ENVIRONMENT_NAMES as readonly string[]).includes(name);
}

/**
 * Validates `raw` as the configuration of environment `name`.
 * @throws ConfigError naming the environment and every invalid field
 */
export function parseEnvironmentConfig(name: string, raw: unknown): EnvironmentConfig {
  if (!isEnvironmentName(name)) {
    throw new ConfigError(name, [
      { path: 'environment', message: `unknown environment; expected one of ${ENVIRONMENT_NAMES.join(', ')}` },
    ]);
  }
  const parsed = environmentConfigSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(
      name,
      parsed.error.issues.map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message })),
    );
  }
  const issues = [
    ...(name === 'prod' ? productionIssues(parsed.data) : []),
    ...(name !== 'dev' ? nonDevIssues(parsed.data) : []),
  ];
  if (issues.length > 0) {
    throw new ConfigError(name, issues);
  }
  return { ...parsed.data, name };
}

/**
 * The validated configuration of a known environment, optionally with
 * overrides merged over it (deeply, objects only), which tests use to probe
 * the validation.
 */
export function loadEnvironmentConfig(name: string, overrides?: DeepPartial): EnvironmentConfig {
  const raw = isEnvironmentName(name) ? ENVIRONMENTS[name] : undefined;
  return parseEnvironmentConfig(name, overrides ? deepMerge(raw, overrides) : raw);
}

/** A partial, nested override of a raw configuration. */
export type DeepPartial = { [key: string]: unknown };

function deepMerge(base: unknown, override: unknown): unknown {
  if (isPlainObject(base) && isPlainObject(override)) {
    const merged: Record<string, unknown> = { ...base };
    for (const [key, value] of Object.entries(override)) {
      merged[key] = deepMerge(base[key], value);
    }
    return merged;
  }
  return override === undefined ? base : override;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
