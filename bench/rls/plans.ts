/**
 * Checks on EXPLAIN (FORMAT JSON, VERBOSE) plans (pure: no database): do the big tables get index scans, and
 * is every sub-plan (the tenancy membership lookup in particular) evaluated once per statement, as an InitPlan
 * or a hashed SubPlan, rather than once per row?
 */

/** A node of PostgreSQL's JSON plan format (only the fields the checks read are typed). */
export interface PlanNode {
  readonly 'Node Type': string;
  readonly 'Relation Name'?: string;
  readonly 'Index Name'?: string;
  readonly 'Parent Relationship'?: string;
  readonly 'Subplan Name'?: string;
  readonly Output?: readonly string[];
  readonly Plans?: readonly PlanNode[];
  readonly [field: string]: unknown;
}

/** How a sub-plan runs: once per statement (InitPlan, hashed SubPlan) or once per outer row. */
export type SubplanEvaluation = 'InitPlan' | 'hashed SubPlan' | 'per-row SubPlan';

export interface PlanCheck {
  /** Every scan of a checked table, e.g. "Index Scan on agent_tasks using agent_tasks_organization_created_idx". */
  readonly scans: string[];
  /** Checked tables read by a sequential scan. */
  readonly sequentialScans: string[];
  /** True when no checked table is read sequentially. */
  readonly indexScans: boolean;
  /** Each sub-plan, what it computes (its Output) and how often it runs. */
  readonly subplans: { name: string; computes: string; evaluated: SubplanEvaluation }[];
  /** Calls of tenancy.* helpers found outside any sub-plan, i.e. evaluated per row. */
  readonly helperCallsPerRow: string[];
  /** True when a membership helper (tenancy.*) is called, and only inside once-per-statement sub-plans. */
  readonly membershipOncePerStatement: boolean;
  /** True when nothing at all runs per row: no per-row sub-plan, no per-row helper call. */
  readonly noPerRowLookups: boolean;
}

/** The root node of an EXPLAIN (FORMAT JSON) result: `[{ "Plan": … }]`, `{ "Plan": … }` or the node itself. */
export function planRoot(explain: unknown): PlanNode {
  const first = Array.isArray(explain) ? explain[0] : explain;
  const root = (first as { Plan?: PlanNode })?.Plan ?? (first as PlanNode);
  if (!root || typeof root['Node Type'] !== 'string') throw new Error('not an EXPLAIN (FORMAT JSON) plan');
  return root;
}

function* walk(node: PlanNode, ancestors: PlanNode[] = []): Generator<{ node: PlanNode; ancestors: PlanNode[] }> {
  yield { node, ancestors };
  for (const child of node.Plans ?? []) yield* walk(child, [...ancestors, node]);
}

/** Every string in a node's own fields (conditions, filters, outputs), not its children's. */
function expressions(node: PlanNode): string[] {
  const found: string[] = [];
  for (const [key, value] of Object.entries(node)) {
    if (key === 'Plans') continue;
    if (typeof value === 'string') found.push(value);
    else if (Array.isArray(value)) found.push(...value.filter((item): item is string => typeof item === 'string'));
  }
  return found;
}

/** Checks a plan; `tables` are the big tables that must not be scanned sequentially. */
export function checkPlan(explain: unknown, tables: readonly string[]): PlanCheck {
  const root = planRoot(explain);
  const nodes = [...walk(root)];
  const checked = new Set(tables);

  const scans: string[] = [];
  const sequentialScans: string[] = [];
  for (const { node } of nodes) {
    const relation = node['Relation Name'];
    if (!relation || !checked.has(relation)) continue;
    const index = node['Index Name'] ? ` using ${node['Index Name']}` : '';
    scans.push(`${node['Node Type']} on ${relation}${index}`);
    if (node['Node Type'] === 'Seq Scan') sequentialScans.push(relation);
  }

  // References to sub-plans in expressions: "(hashed SubPlan 2)" runs once and probes a hash table;
  // "(SubPlan 2)" re-runs the sub-plan for every row it is evaluated on.
  const hashed = new Set<string>();
  for (const { node } of nodes) {
    for (const text of expressions(node)) {
      for (const match of text.matchAll(/\(hashed (SubPlan \d+)\)/g)) hashed.add(match[1]);
    }
  }
  const subplans: PlanCheck['subplans'] = [];
  for (const { node } of nodes) {
    const relationship = node['Parent Relationship'];
    if (relationship !== 'InitPlan' && relationship !== 'SubPlan') continue;
    const name = node['Subplan Name'] ?? relationship;
    const evaluated: SubplanEvaluation =
      relationship === 'InitPlan' ? 'InitPlan' : hashed.has(name) ? 'hashed SubPlan' : 'per-row SubPlan';
    subplans.push({ name, computes: (node.Output ?? []).join(', '), evaluated });
  }

  // A tenancy helper named in a node that is not inside a sub-plan is evaluated for every row of that node.
  const helperCallsPerRow: string[] = [];
  for (const { node, ancestors } of nodes) {
    const insideSubplan = [...ancestors, node].some((n) => n['Parent Relationship'] === 'InitPlan' || n['Parent Relationship'] === 'SubPlan');
    if (insideSubplan) continue;
    for (const text of expressions(node)) {
      for (const match of text.matchAll(/tenancy\.[a-z_]+\(/g)) helperCallsPerRow.push(`${match[0]}…) in ${node['Node Type']}`);
    }
  }

  const helperSubplans = subplans.filter((s) => s.computes.includes('tenancy.'));
  const perRowSubplans = subplans.filter((s) => s.evaluated === 'per-row SubPlan');
  return {
    scans,
    sequentialScans,
    indexScans: sequentialScans.length === 0,
    subplans,
    helperCallsPerRow,
    membershipOncePerStatement:
      helperSubplans.length > 0 && helperSubplans.every((s) => s.evaluated !== 'per-row SubPlan') && helperCallsPerRow.length === 0,
    noPerRowLookups: perRowSubplans.length === 0 && helperCallsPerRow.length === 0,
  };
}
