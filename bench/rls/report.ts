/** Plain-text tables of the benchmark's figures. */
import type { OverheadRow } from './overhead';
import type { ContextSetupResult, TenantQueryResult } from './tenant-queries';
import { CONTEXT_SETUP_TARGET } from './tenant-queries';
import type { VectorSearchReport } from './vector-search';
import { P95_TARGET, RECALL_TARGET, CHOSEN_CONFIG } from './vector-search';
import type { WriteResult } from './write-path';
import type { Interval, Summary } from '../stats';

/** Formats rows as an aligned table with a header rule; numbers align right. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const numeric = header.map((_, i) => rows.length > 0 && rows.every((r) => /^[-+×\d.,% ]*$/.test(r[i] ?? '')));
  const line = (cells: readonly string[]) =>
    cells.map((c, i) => (numeric[i] ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

const ms = (value: number) => (Number.isFinite(value) ? value.toFixed(value < 10 ? 3 : 1) : 'n/a');
const x = (value: number) => (Number.isFinite(value) ? `×${value.toFixed(2)}` : 'n/a');
const mark = (ok: boolean) => (ok ? 'pass' : 'FAIL');
const range = (interval: Interval) =>
  (Number.isFinite(interval.low) && Number.isFinite(interval.high) ? `${interval.low.toFixed(2)}–${interval.high.toFixed(2)}` : 'n/a');

export function tenantQueryTable(results: readonly TenantQueryResult[]): string {
  return table(
    ['tenant', 'query', 'tenant filter', 'rows', 'owner p50 ms', 'RLS p50 ms', 'ratio', '95 % interval', 'target', 'index scans', 'lookup once/stmt', 'same rows'],
    results.map((r) => [
      `${r.tenant} (${r.tenantTasks} tasks)`,
      r.query,
      r.scope === 'app' ? 'named by app' : 'RLS alone',
      String(r.rows),
      ms(r.owner.p50),
      ms(r.rls.p50),
      x(r.ratio),
      range(r.ratioInterval),
      `≤${r.target} ${mark(r.pass.ratio)}`,
      mark(r.pass.indexScans),
      mark(r.pass.membershipOncePerStatement),
      r.sameRows ? 'yes' : 'NO',
    ]),
  );
}

export function vectorSearchTable(report: VectorSearchReport): string {
  const rows = report.results.map((r) => [
    r.config,
    `${(r.share * 100).toPrecision(2)} % (${r.vectors})`,
    r.recall.toFixed(3),
    r.recallMin.toFixed(2),
    String(r.shortResults),
    ms(r.latency.p50),
    ms(r.latency.p95),
    x(r.p95Ratio),
    r.config === CHOSEN_CONFIG ? mark(r.recall >= RECALL_TARGET && r.p95Ratio <= P95_TARGET && r.foreignRows === 0) : '',
    r.plan,
  ]);
  const baselines = report.unfiltered.map((u) =>
    `unfiltered search, hnsw.ef_search=${u.efSearch}: p50 ${ms(u.latency.p50)} ms, p95 ${ms(u.latency.p95)} ms, recall@${report.k} ${u.recall.toFixed(3)}`);
  return [
    table(['configuration', 'tenant share', `recall@${report.k}`, 'min', 'short', 'p50 ms', 'p95 ms', 'p95 / unfiltered', 'target', 'plan'], rows),
    ...baselines,
    `targets (${CHOSEN_CONFIG}): recall ≥ ${RECALL_TARGET} ${mark(report.pass.recall)}, p95 ≤ ${P95_TARGET}× unfiltered ${mark(report.pass.p95)}`,
  ].join('\n');
}

export function writePathTable(results: readonly WriteResult[]): string {
  return table(
    ['operation', 'with', 'with p50 ms', 'without p50 ms', 'rows/s with', 'rows/s without', 'ratio', '95 % interval', 'target'],
    results.map((r) => [
      r.operation,
      r.with,
      ms(r.withChecks.p50),
      ms(r.without.p50),
      Math.round(r.rowsPerSecondWith).toString(),
      Math.round(r.rowsPerSecondWithout).toString(),
      x(r.ratio),
      range(r.ratioInterval),
      r.target === null ? 'info' : `≤${r.target} ${mark(r.pass)}`,
    ]),
  );
}

export function overheadTable(rows: readonly OverheadRow[]): string {
  return table(
    ['task by id, as', 'plain p50 ms', 'ratio', 'prepared p50 ms', 'ratio'],
    rows.map((r) => [r.variant, ms(r.plain.p50), x(r.plainRatio), ms(r.prepared.p50), x(r.preparedRatio)]),
  );
}

export function summaryLine(label: string, s: Summary): string {
  return `${label}: p50 ${ms(s.p50)} ms, p95 ${ms(s.p95)} ms (n=${s.n})`;
}

export function contextSetupLine(c: ContextSetupResult): string {
  return [
    summaryLine(`transaction set-up (${c.setupSql}), not in the ratios`, c.setup),
    summaryLine('one small statement (the owner\'s task by id, filter by hand)', c.statement),
    `set-up / statement: ${x(c.ratio)} (95 % interval ${range(c.ratioInterval)}), target ≤ ${CONTEXT_SETUP_TARGET}: ${mark(c.pass)}`,
  ].join('\n');
}
