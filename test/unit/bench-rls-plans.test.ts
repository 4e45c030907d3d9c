/**
 * The benchmark's EXPLAIN checks, on plans of the shapes PostgreSQL 18 prints: index scans on the big tables,
 * and the membership lookup once per statement (InitPlan or hashed SubPlan), never per row.
 */
import { checkPlan, planRoot, type PlanNode } from '../../bench/rls/plans';
import { describeSearchPlan } from '../../bench/rls/vector-search';

const TABLES = ['agent_tasks', 'agent_results', 'audit_logs'];

const helper = (relationship: 'InitPlan' | 'SubPlan', name: string, call = 'tenancy.member_organization_ids()'): PlanNode => ({
  'Node Type': 'ProjectSet',
  'Parent Relationship': relationship,
  'Subplan Name': name,
  Output: [call],
  Plans: [{ 'Node Type': 'Result', 'Parent Relationship': 'Outer' }],
});

/** Migration 005's shape: the membership array is an InitPlan used as an index condition. */
const initPlanIndexScan = [{
  Plan: {
    'Node Type': 'Aggregate',
    Plans: [
      helper('InitPlan', 'InitPlan 1'),
      {
        'Node Type': 'Index Only Scan',
        'Parent Relationship': 'Outer',
        'Relation Name': 'agent_tasks',
        'Index Name': 'agent_tasks_organization_status_idx',
        'Index Cond': '(agent_tasks.organization_id = ANY ((InitPlan 1).col1))',
      },
    ],
  },
}];

/** 003's shape: a hashed SubPlan in a filter, here over a sequential scan. */
const hashedSubplanSeqScan = [{
  Plan: {
    'Node Type': 'Seq Scan',
    'Relation Name': 'agent_tasks',
    Filter: '(ANY (agent_tasks.organization_id = (hashed SubPlan 1).col1))',
    Plans: [helper('SubPlan', 'SubPlan 1')],
  },
}];

/** A correlated sub-plan: re-run for every row. */
const perRowSubplan = [{
  Plan: {
    'Node Type': 'Index Scan',
    'Relation Name': 'audit_logs',
    'Index Name': 'audit_logs_organization_created_idx',
    Filter: '(SubPlan 1)',
    Plans: [helper('SubPlan', 'SubPlan 1', "tenancy.permitted_organization_ids('audit'::text, 'read'::text)")],
  },
}];

/** A helper called straight from a filter, no sub-select: evaluated per row. */
const helperInFilter = [{
  Plan: {
    'Node Type': 'Index Scan',
    'Relation Name': 'agent_tasks',
    'Index Name': 'agent_tasks_pkey',
    Filter: '(agent_tasks.organization_id = ANY (tenancy.member_organization_ids_array()))',
  },
}];

test('InitPlan used as an index condition: index scans, lookup once per statement', () => {
  const check = checkPlan(initPlanIndexScan, TABLES);
  expect(check).toMatchObject({ indexScans: true, sequentialScans: [], membershipOncePerStatement: true, noPerRowLookups: true, helperCallsPerRow: [] });
  expect(check.scans).toEqual(['Index Only Scan on agent_tasks using agent_tasks_organization_status_idx']);
  expect(check.subplans).toEqual([{ name: 'InitPlan 1', computes: 'tenancy.member_organization_ids()', evaluated: 'InitPlan' }]);
});

test('hashed SubPlan: once per statement, but the sequential scan fails the index check', () => {
  const check = checkPlan(hashedSubplanSeqScan, TABLES);
  expect(check).toMatchObject({ indexScans: false, sequentialScans: ['agent_tasks'], membershipOncePerStatement: true, noPerRowLookups: true });
  expect(check.subplans[0].evaluated).toBe('hashed SubPlan');
});

test('a plain SubPlan in a filter runs per row', () => {
  const check = checkPlan(perRowSubplan, TABLES);
  expect(check.subplans[0].evaluated).toBe('per-row SubPlan');
  expect(check).toMatchObject({ indexScans: true, membershipOncePerStatement: false, noPerRowLookups: false });
});

test('a helper called directly in a filter runs per row', () => {
  const check = checkPlan(helperInFilter, TABLES);
  expect(check.helperCallsPerRow).toEqual(['tenancy.member_organization_ids_array(…) in Index Scan']);
  expect(check).toMatchObject({ membershipOncePerStatement: false, noPerRowLookups: false });
});

test('tables outside the checked list may be scanned sequentially', () => {
  const plan = { Plan: { 'Node Type': 'Seq Scan', 'Relation Name': 'permissions' } };
  expect(checkPlan(plan, TABLES)).toMatchObject({ indexScans: true, scans: [] });
});

test('planRoot accepts the three shapes EXPLAIN output arrives in, and rejects anything else', () => {
  const node = { 'Node Type': 'Result' };
  expect(planRoot([{ Plan: node }])).toBe(node);
  expect(planRoot({ Plan: node })).toBe(node);
  expect(planRoot(node)).toBe(node);
  expect(() => planRoot([{ rows: 1 }])).toThrow(/not an EXPLAIN/);
});

test('describeSearchPlan names how the neighbours are found', () => {
  const hnsw = { Plan: { 'Node Type': 'Limit', Plans: [{ 'Node Type': 'Index Scan', 'Relation Name': 'agent_results', 'Index Name': 'agent_results_embedding_hnsw_idx' }] } };
  const exact = { Plan: { 'Node Type': 'Sort', Plans: [{ 'Node Type': 'Bitmap Heap Scan', 'Relation Name': 'agent_results' }] } };
  expect(describeSearchPlan(hnsw)).toBe('HNSW index scan');
  expect(describeSearchPlan(exact)).toBe('exact (bitmap heap scan + sort)');
});
