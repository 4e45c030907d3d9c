/**
 * How the generated data set is spread over tenants (pure: no database).
 *
 * The first organizations are the probe tenants, holding fixed shares of the tasks and results (10 %, 1 % and
 * 0.1 % by default); every other organization gets an even share of what is left. Users are spread evenly, so
 * every organization has at least one (its admin).
 */

/** Sizes of the generated data set. */
export interface DatasetSize {
  /** Organizations (tenants). */
  readonly organizations: number;
  /** Users; each is a member of one organization, every tenth also of a second. */
  readonly users: number;
  /** agent_tasks rows. */
  readonly tasks: number;
  /** agent_results rows, each with a 1536-dimension embedding (at most one result per task). */
  readonly results: number;
  /** Synthetic audit_logs rows, on top of those the audit triggers write for memberships and grants. */
  readonly auditLogs: number;
  /** Sessions per user. */
  readonly sessionsPerUser: number;
  /** Shares of tasks and results held by the probe tenants, one per probe tenant. */
  readonly probeShares: readonly number[];
}

/** One organization of the plan. `ordinal` starts at 1; probe tenants come first. */
export interface TenantPlan {
  readonly ordinal: number;
  readonly tasks: number;
  readonly results: number;
  readonly auditLogs: number;
  /** Users whose primary organization this is: ordinals ordinal, ordinal + organizations, … */
  readonly users: number;
  /** The share of all results this tenant holds (probe tenants: as asked; others: what they got). */
  readonly share: number;
}

/** Splits `total` into `parts` near-equal integers, the larger ones first. */
export function splitEvenly(total: number, parts: number): number[] {
  if (parts <= 0) return [];
  const base = Math.floor(total / parts);
  const remainder = total - base * parts;
  return Array.from({ length: parts }, (_, i) => base + (i < remainder ? 1 : 0));
}

/** Checks the sizes and returns the per-organization plan; throws with the offending field named. */
export function planTenants(size: DatasetSize): TenantPlan[] {
  const integers: (keyof DatasetSize)[] = ['organizations', 'users', 'tasks', 'results', 'auditLogs', 'sessionsPerUser'];
  for (const field of integers) {
    const value = size[field] as number;
    if (!Number.isInteger(value) || value < 0) throw new RangeError(`${field} must be a non-negative integer, got ${value}`);
  }
  const probes = size.probeShares.length;
  if (size.organizations < probes + 1) {
    throw new RangeError(`organizations must be at least ${probes + 1} (the probe tenants and one more), got ${size.organizations}`);
  }
  if (size.users < size.organizations) {
    throw new RangeError(`users must be at least organizations (${size.organizations}): every organization needs an admin, got ${size.users}`);
  }
  if (size.results > size.tasks) throw new RangeError(`results (${size.results}) must not exceed tasks (${size.tasks}): one result per task at most`);
  const shareSum = size.probeShares.reduce((sum, share) => sum + share, 0);
  if (size.probeShares.some((share) => !(share > 0)) || shareSum >= 1) {
    throw new RangeError(`probeShares must be positive and add up to less than 1, got ${size.probeShares.join(', ')}`);
  }

  // Probe tenants: their share, at least one row, so even a tiny run has something to find.
  const probeCount = (total: number, share: number) => Math.max(1, Math.round(total * share));
  const probeTasks = size.probeShares.map((share) => probeCount(size.tasks, share));
  const probeResults = size.probeShares.map((share, i) => Math.min(probeTasks[i], probeCount(size.results, share)));
  const probeAudit = size.probeShares.map((share) => Math.round(size.auditLogs * share));
  const rest = size.organizations - probes;
  const restTasks = splitEvenly(size.tasks - sum(probeTasks), rest);
  const restResults = splitEvenly(size.results - sum(probeResults), rest);
  const restAudit = splitEvenly(size.auditLogs - sum(probeAudit), rest);
  if (restTasks.some((tasks, i) => restResults[i] > tasks)) {
    throw new RangeError('results are too many for the tasks left to the non-probe organizations');
  }
  const users = splitEvenly(size.users, size.organizations);

  return Array.from({ length: size.organizations }, (_, i) => {
    const probe = i < probes;
    const results = probe ? probeResults[i] : restResults[i - probes];
    return {
      ordinal: i + 1,
      tasks: probe ? probeTasks[i] : restTasks[i - probes],
      results,
      auditLogs: probe ? probeAudit[i] : restAudit[i - probes],
      users: users[i],
      share: size.results === 0 ? 0 : results / size.results,
    };
  });
}

function sum(values: number[]): number {
  return values.reduce((total, value) => total + value, 0);
}

/** Deterministic ids, so the benchmark can name a tenant or user without querying for it. */
export const organizationId = (ordinal: number) => `b0000000-0000-4000-8000-${ordinal.toString(16).padStart(12, '0')}`;
export const userId = (ordinal: number) => `b1000000-0000-4000-8000-${ordinal.toString(16).padStart(12, '0')}`;
