/**
 * Creates or updates the login roles from their Secrets Manager secrets: a LOGIN role named by the secret's
 * username, with the secret's password (sent as a SCRAM verifier), member of its NOLOGIN group role. The group
 * roles themselves come from the migrations. Passwords are never logged and never sent in clear.
 */
import { SQL_NAME } from '../shared/input-formats';
import { scramSha256Verifier } from './scram';
import { LOGIN_GROUPS, type LoginGroup } from './resource-properties';
export { LOGIN_GROUPS, type LoginGroup };

export interface LoginCredentials {
  readonly username: string;
  readonly password: string;
}

export interface LoginRoleSpec extends LoginCredentials {
  readonly group: LoginGroup;
}

/** The statements' only dependency: a session that runs parameterless SQL and parameterised queries. */
export interface RoleClient {
  query<R = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<{ rows: R[] }>;
}

/**
 * The NOLOGIN roles the migrations create (003, 011, 017, 019): no login may be named like one, and a login
 * belongs to none of them but its own group. A test checks the list against the roles the schema uses.
 */
export const SCHEMA_GROUPS = [
  'app_user', 'service_role', 'cognito_sync', 'rls_resolver', 'audit_writer', 'cognito_mirror', 'membership_keeper', 'user_mirror',
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
  if (spec.password.length < 16) throw new Error(`the password of login "${spec.username}" is shorter than 16 characters`);
}

/** A SQL string literal; the verifier is base64 and '$', but quote it properly anyway. */
function literal(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}


interface ExistingLogin {
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
 * Brings one login role in line with its secret. Returns whether the role was created.
 * The login gets no attributes beyond LOGIN: no CREATEROLE, no CREATEDB, no BYPASSRLS, and of the schema's group
 * roles it is a member of its own only.
 *
 * Runs as the Aurora master user, which is not a superuser: PostgreSQL refuses it any statement that names the
 * SUPERUSER, BYPASSRLS or REPLICATION attribute of an existing role, even to switch it off. So an existing login
 * is altered without naming them, and one that holds any of them (only a superuser could have given it) fails
 * the deploy with what to do, instead of keeping a login that voids Row Level Security.
 */
export async function syncLoginRole(client: RoleClient, spec: LoginRoleSpec): Promise<'created' | 'updated'> {
  validateLogin(spec);
  const verifier = literal(scramSha256Verifier(spec.password));
  const { rows } = await client.query<ExistingLogin>(
    `SELECT r.rolsuper, r.rolbypassrls, r.rolreplication,
            ARRAY(SELECT g.rolname::text FROM pg_auth_members AS m JOIN pg_roles AS g ON g.oid = m.roleid
                   WHERE m.member = r.oid ORDER BY 1) AS groups
       FROM pg_roles AS r WHERE r.rolname = $1`,
    [spec.username],
  );
  const existing = rows[0];
  if (!existing) {
    try {
      await client.query(`CREATE ROLE ${spec.username} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD ${verifier}`);
    } catch (error) {
      // Another deploy of the same database created it a moment ago: bring that one in line instead.
      if (!isConcurrentInsert(error)) throw error;
      await syncLoginRole(client, spec);
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
    await client.query(`ALTER ROLE ${spec.username} WITH LOGIN NOCREATEDB NOCREATEROLE PASSWORD ${verifier}`).catch((error: { code?: string }) => {
      if (error.code !== '42501') throw error;
      // PostgreSQL 16+: a CREATEROLE user alters only roles it holds WITH ADMIN OPTION (those it created).
      throw new Error(
        `the migrating user may not alter login "${spec.username}", which someone else created: drop that login so the deploy ` +
          `creates it, or have an administrator GRANT ${spec.username} TO the migrating user WITH ADMIN OPTION`,
        { cause: error },
      );
    });
    const foreign = existing.groups.filter((group) => group !== spec.group && (SCHEMA_GROUPS as readonly string[]).includes(group));
    for (const group of foreign) await client.query(`REVOKE ${group} FROM ${spec.username}`);
    if (foreign.length > 0) await refuseRemainingGroups(client, spec, foreign);
  }
  if (!existing?.groups.includes(spec.group)) {
    // A concurrent deploy granting the same membership makes the same row: that is the outcome wanted.
    await client.query(`GRANT ${spec.group} TO ${spec.username}`).catch((error: unknown) => {
      if (!isConcurrentInsert(error)) throw error;
    });
  }
  return existing ? 'updated' : 'created';
}
