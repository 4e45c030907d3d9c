/**
 * The audit of the synthesized data tier: read a cloud assembly, audit every
 * stage, render the report. See `bin/audit.ts` and docs/operations.md.
 */
export * from './alarms';
export * from './assembly';
export * from './audit';
export * from './cfn';
export * from './compliance';
export * from './data-stores';
export * from './iam';
export * from './network';
export * from './data-protection';
export * from './database';
export * from './deploys';
export * from './secrets';
export { renderMarkdown } from './markdown';

import type { AuditReport } from './audit';

/** The report as JSON: two-space indented, a final newline, keys in the order the audit builds them. */
export function renderJson(report: AuditReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}
