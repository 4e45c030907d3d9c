/**
 * Drift: how a live database differs from what its applied migrations define. Both sides are read by
 * describe.ts (`readSchema`), the expected one from the same migrations applied to an empty embedded database;
 * objects and their parts (columns, constraints, indexes, policies, triggers, grants, function attributes and
 * bodies, role attributes and memberships) are paired by name and compared as text.
 *
 * What a live cluster holds that is not the schema's is left out, so that a database fresh from the migrations
 * shows nothing, on PGlite (PostgreSQL 18) as on Aurora (PostgreSQL 15-17):
 * - roles the migrations do not create (logins, the CI login, rotation clones, other databases' roles) are not
 *   compared themselves; what they were given on the schema (a grant, a membership in one of its roles) is;
 * - a LOGIN role that is a member of exactly one login group (app_user, cognito_sync, migration_reader) is how a
 *   deploy makes its logins (the login sync; AWS's multi-user rotation clones one), not drift;
 * - the migrating user's own memberships in the schema's roles: PostgreSQL 16+ grants a CREATEROLE user ADMIN on
 *   every role it creates, and that user owns the schema anyway.
 * Owners read CURRENT_USER for the migrating user whatever its name (describe.ts), and extension versions are not
 * read at all.
 */
import { LOGIN_GROUPS } from '../../lambda/migrate-handler/resource-properties';
import type { ObjectKind, PartKind, SchemaObject, SchemaPart } from './describe';

export type Change = 'extra' | 'missing' | 'changed';

/** One difference. */
export interface Difference {
  /** extra: only in the live database; missing: only in the migrations; changed: in both, not the same. */
  readonly change: Change;
  /** What differs: an object kind (`table`, `role`…) when a whole object does, else a part kind (`policy`, `body`…). */
  readonly kind: ObjectKind | PartKind;
  readonly objectKind: ObjectKind;
  /** The object, e.g. `public.users` or `public.set_app_user(uuid)`. */
  readonly object: string;
  /** The part of the object (a column's, policy's, grantee's name), absent when the whole object differs. */
  readonly name?: string;
  /** The statement as the migrations define it. */
  readonly expected?: string;
  /** The statement as the live database has it. */
  readonly actual?: string;
}

const OBJECT_ORDER: readonly ObjectKind[] = ['role', 'extension', 'schema', 'type', 'table', 'view', 'sequence', 'function', 'default privileges'];
const CHANGE_ORDER: readonly Change[] = ['missing', 'extra', 'changed'];

/** The migrating user's membership, or a login of the deploy in its one login group: not the schema's drift. */
function isDeployMembership(group: SchemaObject, part: SchemaPart, loginGroupsOf: Map<string, number>): boolean {
  if (part.kind !== 'member') return false;
  if (part.name === 'CURRENT_USER') return true;
  return part.memberLogs === true && (LOGIN_GROUPS as readonly string[]).includes(group.name) && loginGroupsOf.get(part.name) === 1;
}

/** The parts of `object` that count, keyed by kind and name. */
function comparableParts(object: SchemaObject, loginGroupsOf: Map<string, number>): Map<string, SchemaPart> {
  const parts = new Map<string, SchemaPart>();
  for (const part of object.parts) {
    if (object.kind === 'role' && isDeployMembership(object, part, loginGroupsOf)) continue;
    parts.set(`${part.kind}\u0000${part.name}`, part);
  }
  return parts;
}

/** How many login groups each login is a member of, in `objects`. */
function loginGroupCounts(objects: readonly SchemaObject[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const group of objects.filter((o) => o.kind === 'role' && (LOGIN_GROUPS as readonly string[]).includes(o.name))) {
    for (const part of group.parts.filter((p) => p.kind === 'member' && p.memberLogs)) counts.set(part.name, (counts.get(part.name) ?? 0) + 1);
  }
  return counts;
}

const compareText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Differences of `actual` (the live database) from `expected` (the migrations), in a stable order. */
export function compareSchemas(expected: readonly SchemaObject[], actual: readonly SchemaObject[]): Difference[] {
  const key = (o: SchemaObject) => `${o.kind}\u0000${o.name}`;
  const expectedByKey = new Map(expected.map((o) => [key(o), o]));
  const actualByKey = new Map(actual.map((o) => [key(o), o]));
  const expectedLogins = loginGroupCounts(expected);
  const actualLogins = loginGroupCounts(actual);
  const differences: Difference[] = [];
  const whole = (change: Change, o: SchemaObject) => {
    const text = o.parts.map((p) => p.sql).join('\n');
    differences.push({ change, kind: o.kind, objectKind: o.kind, object: o.name, ...(change === 'missing' ? { expected: text } : { actual: text }) });
  };

  for (const [k, want] of expectedByKey) {
    const have = actualByKey.get(k);
    if (!have) {
      whole('missing', want);
      continue;
    }
    const wantParts = comparableParts(want, expectedLogins);
    const haveParts = comparableParts(have, actualLogins);
    for (const [pk, w] of wantParts) {
      const h = haveParts.get(pk);
      const base = { kind: w.kind, objectKind: want.kind, object: want.name, name: w.name };
      if (!h) differences.push({ change: 'missing', ...base, expected: w.sql });
      else if (h.sql !== w.sql) differences.push({ change: 'changed', ...base, expected: w.sql, actual: h.sql });
    }
    for (const [pk, h] of haveParts) {
      if (!wantParts.has(pk)) differences.push({ change: 'extra', kind: h.kind, objectKind: have.kind, object: have.name, name: h.name, actual: h.sql });
    }
  }
  for (const [k, have] of actualByKey) {
    // Roles are cluster-wide: one the migrations do not create is not the schema's (see the header).
    if (!expectedByKey.has(k) && have.kind !== 'role') whole('extra', have);
  }
  return differences.sort(
    (a, b) =>
      OBJECT_ORDER.indexOf(a.objectKind) - OBJECT_ORDER.indexOf(b.objectKind) ||
      compareText(a.object, b.object) ||
      compareText(a.kind, b.kind) ||
      compareText(a.name ?? '', b.name ?? '') ||
      CHANGE_ORDER.indexOf(a.change) - CHANGE_ORDER.indexOf(b.change),
  );
}

/** Counts per change. */
export function summarizeDrift(differences: readonly Difference[]): Record<Change, number> {
  return {
    missing: differences.filter((d) => d.change === 'missing').length,
    extra: differences.filter((d) => d.change === 'extra').length,
    changed: differences.filter((d) => d.change === 'changed').length,
  };
}

/** What a difference is about, for people: `policy users_select on table public.users`. */
export function describeDifference(d: Difference): string {
  if (d.name === undefined) return `${d.kind} ${d.object}`;
  const label =
    d.kind === 'body' || d.kind === 'attributes' ? `${d.kind} of`
    : d.kind === 'grant' || d.kind === 'owner' ? `${d.kind}${d.kind === 'grant' ? ` to ${d.name}` : ''} of`
    : d.kind === 'comment' ? `comment${d.name === 'comment' ? '' : ` on column ${d.name}`} of`
    : `${d.kind} ${d.name} on`;
  return d.kind === 'member'
    ? `membership of ${d.name} in role ${d.object}`
    : d.kind === 'member of'
      ? `membership of role ${d.object} in ${d.name}`
      : `${label} ${d.objectKind} ${d.object}`;
}

/** The lines of `expected` and `actual` that differ, as `-` and `+` lines (each side's order kept). */
export function changedLines(expected: string, actual: string): string[] {
  const want = expected.split('\n');
  const have = actual.split('\n');
  const wantSet = new Set(want);
  const haveSet = new Set(have);
  return [...want.filter((l) => !haveSet.has(l)).map((l) => `- ${l}`), ...have.filter((l) => !wantSet.has(l)).map((l) => `+ ${l}`)];
}

/** The differences as text, one block per difference. */
export function renderDrift(differences: readonly Difference[]): string[] {
  const out: string[] = [];
  for (const d of differences) {
    out.push(`  ${d.change.padEnd(8)} ${describeDifference(d)}`);
    const lines =
      d.change === 'changed' ? changedLines(d.expected!, d.actual!) : (d.change === 'missing' ? d.expected! : d.actual!).split('\n').map((l) => `${d.change === 'missing' ? '-' : '+'} ${l}`);
    for (const line of lines) out.push(`             ${line}`);
  }
  return out;
}
