/**
 * Creates or updates the login roles: a LOGIN role member of its NOLOGIN group role (the group roles come from
 * the migrations), either with its Secrets Manager secret's password (sent as a SCRAM verifier) or, for a login
 * that authenticates with IAM (RDS Proxy end to end), with no password and membership of `rds_iam`. Passwords
 * are never logged and never sent in clear; a password that already works is not set again.
 */
import { SQL_NAME } from '../shared/input-formats';
import { scramSha256Verifier } from './scram';
import { LOGIN_GROUPS, type LoginGroup } from './resource-properties';
export { LOGIN_GROUPS, type LoginGroup };

/** A login to sync: with a password (from its secret), or without one for a login that authenticates with IAM. */
export interface LoginRoleSpec {
  readonly username: string;
  /** Absent for an IAM login: it gets no password, and `rds_iam` where the server has that role. */
  readonly password?: string;
  readonly group: LoginGroup;
}

/** How the sync learns whether a password login's secret already opens a session, without changing anything. */
export interface LoginSyncOptions {
  /**
   * Resolves true when the login's password already authenticates (a session opened with it), false when the
   * server refused it. When it says true, the sync sets no password: a rotation between its setSecret and
   * finishSecret steps would otherwise get the password the sync read before it written back.
   * @default - the password is always set
   */
  readonly passwordWorks?: () => Promise<boolean>;
}

/** The role RDS gives IAM database authentication; it exists only on RDS and Aurora. */
export const RDS_IAM_ROLE = 'rds_iam';

/** What the sync did: created or altered the login, or found it as it should be. */
export type LoginSyncOutcome = 'created' | 'updated' | 'unchanged';

/** The statements' only dependency: a session that runs parameterless SQL and parameterised queries. */
export interface RoleClient {
  query<R = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<{ rows: R[] }>;
}

/**
 * The NOLOGIN roles the migrations create (003, 011, 017, 019, 021): no login may be named like one, and a login
 * belongs to none of them but its own group. A test checks the list against the roles the schema uses.
 */
export const SCHEMA_GROUPS = [
  'app_user', 'service_role', 'cognito_sync', 'rls_resolver', 'audit_writer', 'cognito_mirror', 'membership_keeper', 'user_mirror',
  'migration_reader',
] as const;

/** Refuses usernames that would need quoting, or that name a group or system role. */
export function validateLogin(spec: LoginRoleSpec): void {
  if (!SQL_NAME.test(spec.username)) {
    throw new Error(`login username "${spec.username}" must be a lower-case SQL identifier (a-z, 0-9, _; at most 63)`);
  }
  if ((SCHEMA_GROUPS as readonly string[]).includes(spec.username) || spec.username.startsWith('pg_') || spec.username.startsWith('rds')) {
    throw new Error(`login username "${spec.username}" is reserved`);
  }
  if (!(LOGIN_GROUPS as readonly string[]).includes(spec.group)) {
    throw new Error(`login group "${spec.group}" is not one of ${LOGIN_GROUPS.join(', ')}`);
  }
  if (spec.password !== undefined && spec.password.length < 16) throw new Error(`the password of login "${spec.username}" is shorter than 16 characters`);
}

/** A SQL string literal; the verifier is base64 and '$', but quote it properly anyway. */
function literal(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}


interface ExistingLogin {
  readonly rolcanlogin: boolean;
  readonly rolcreatedb: boolean;
  readonly rolcreaterole: boolean;
  readonly rolsuper: boolean;
  readonly rolbypassrls: boolean;
  readonly rolreplication: boolean;
  readonly groups: string[];
}

/** duplicate_object, or the catalog's unique index when two sessions insert the same role or membership at once. */
function isConcurrentInsert(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '42710' || code === '23505';
}

/**
 * PostgreSQL 16+ revokes only the grants the migrating user made: a membership another role granted stays, and
 * would let the login act as a more powerful group. Fail the deploy then, naming the statement that fixes it.
 */
async function refuseRemainingGroups(client: RoleClient, spec: LoginRoleSpec, revoked: readonly string[]): Promise<void> {
  const { rows } = await client.query<{ group: string }>(
    `SELECT g.rolname::text AS group FROM pg_auth_members AS m JOIN pg_roles AS g ON g.oid = m.roleid
      WHERE m.member = (SELECT oid FROM pg_roles WHERE rolname = $1) AND g.rolname = ANY ($2::text[])`,
    [spec.username, revoked],
  );
  if (rows.length > 0) {
    const groups = rows.map((row) => row.group).join(', ');
    throw new Error(`login "${spec.username}" is still a member of ${groups}, granted by another role: have an administrator run REVOKE ${groups} FROM ${spec.username}, then deploy again`);
  }
}

/**
 * Brings one login role in line with its spec. Returns whether the role was created, altered, or left as it was.
 * The login gets no attributes beyond LOGIN: no CREATEROLE, no CREATEDB, no BYPASSRLS, and of the schema's group
 * roles it is a member of its own only. An IAM login (no password) gets `rds_iam` where the server has it (RDS and
 * Aurora only: RDS then refuses it password authentication); a password login is taken out of `rds_iam`.
 *
 * Runs as the Aurora master user, which is not a superuser: PostgreSQL refuses it any statement that names the
 * SUPERUSER, BYPASSRLS or REPLICATION attribute of an existing role, even to switch it off. So an existing login
 * is altered without naming them, and one that holds any of them (only a superuser could have given it) fails
 * the deploy with what to do, instead of keeping a login that voids Row Level Security.
 */
export async function syncLoginRole(client: RoleClient, spec: LoginRoleSpec, options: LoginSyncOptions = {}): Promise<LoginSyncOutcome> {
  validateLogin(spec);
  const password = spec.password === undefined ? 'PASSWORD NULL' : `PASSWORD ${literal(scramSha256Verifier(spec.password))}`;
  const { rows } = await client.query<ExistingLogin>(
    `SELECT r.rolcanlogin, r.rolcreatedb, r.rolcreaterole, r.rolsuper, r.rolbypassrls, r.rolreplication,
            ARRAY(SELECT g.rolname::text FROM pg_auth_members AS m JOIN pg_roles AS g ON g.oid = m.roleid
                   WHERE m.member = r.oid ORDER BY 1) AS groups
       FROM pg_roles AS r WHERE r.rolname = $1`,
    [spec.username],
  );
  const existing = rows[0];
  let changed = !existing;
  if (!existing) {
    try {
      await client.query(`CREATE ROLE ${spec.username} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE ${password}`);
    } catch (error) {
      // Another deploy of the same database created it a moment ago: bring that one in line instead.
      if (!isConcurrentInsert(error)) throw error;
      await syncLoginRole(client, spec, options);
      return 'updated';
    }
  } else {
    const powers = [existing.rolsuper && 'SUPERUSER', existing.rolbypassrls && 'BYPASSRLS', existing.rolreplication && 'REPLICATION'].filter(Boolean);
    if (powers.length > 0) {
      throw new Error(
        `login "${spec.username}" exists with ${powers.join(', ')}, which only a superuser can grant or remove and which would ` +
          `void Row Level Security: have an administrator run ALTER ROLE ${spec.username} NOSUPERUSER NOBYPASSRLS NOREPLICATION, then deploy again`,
      );
    }
    const attributesRight = existing.rolcanlogin && !existing.rolcreatedb && !existing.rolcreaterole;
    // A password login whose secret already opens a session keeps its password; an IAM login needs none.
    const passwordRight = spec.password === undefined || (options.passwordWorks ? await options.passwordWorks() : false);
    if (!attributesRight || !passwordRight) {
      await alterLogin(client, spec.username, `LOGIN NOCREATEDB NOCREATEROLE ${passwordRight && spec.password !== undefined ? '' : password}`.trim());
      changed = true;
    }
    const foreign = existing.groups.filter((group) => group !== spec.group && (SCHEMA_GROUPS as readonly string[]).includes(group));
    for (const group of foreign) await client.query(`REVOKE ${group} FROM ${spec.username}`);
    if (foreign.length > 0) await refuseRemainingGroups(client, spec, foreign);
    changed ||= foreign.length > 0;
  }
  if (!existing?.groups.includes(spec.group)) {
    await grant(client, spec.group, spec.username);
    changed = true;
  }
  changed = (await syncRdsIam(client, spec, existing?.groups ?? [])) || changed;
  return !existing ? 'created' : changed ? 'updated' : 'unchanged';
}

async function alterLogin(client: RoleClient, username: string, attributes: string): Promise<void> {
  await client.query(`ALTER ROLE ${username} WITH ${attributes}`).catch((error: { code?: string }) => {
    if (error.code !== '42501') throw error;
    // PostgreSQL 16+: a CREATEROLE user alters only roles it holds WITH ADMIN OPTION (those it created).
    throw new Error(
      `the migrating user may not alter login "${username}", which someone else created: drop that login so the deploy ` +
        `creates it, or have an administrator GRANT ${username} TO the migrating user WITH ADMIN OPTION`,
      { cause: error },
    );
  });
}

/** A concurrent deploy granting the same membership makes the same row: that is the outcome wanted. */
async function grant(client: RoleClient, group: string, username: string): Promise<void> {
  await client.query(`GRANT ${group} TO ${username}`).catch((error: unknown) => {
    if (!isConcurrentInsert(error)) throw error;
  });
}

/**
 * An IAM login joins `rds_iam` where the server has it (RDS, Aurora); elsewhere there is nothing to join. A password
 * login leaves it: RDS refuses password authentication to its members. Returns whether a membership changed.
 */
async function syncRdsIam(client: RoleClient, spec: LoginRoleSpec, groups: readonly string[]): Promise<boolean> {
  const wantsIam = spec.password === undefined;
  const isMember = groups.includes(RDS_IAM_ROLE);
  if (wantsIam === isMember) return false;
  if (!wantsIam) {
    await client.query(`REVOKE ${RDS_IAM_ROLE} FROM ${spec.username}`);
    return true;
  }
  const { rows } = await client.query<{ present: boolean }>('SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1) AS present', [RDS_IAM_ROLE]);
  if (!rows[0]?.present) return false;
  await grant(client, RDS_IAM_ROLE, spec.username);
  return true;
}
