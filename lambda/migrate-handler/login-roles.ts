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

/** Refuses usernames that would need quoting, or that name a group or system role. */
export function validateLogin(spec: LoginRoleSpec): void {
  if (!SQL_NAME.test(spec.username)) {
    throw new Error(`login username "${spec.username}" must be a lower-case SQL identifier (a-z, 0-9, _; at most 63)`);
  }
  if ((LOGIN_GROUPS as readonly string[]).includes(spec.username) || spec.username.startsWith('pg_') || spec.username.startsWith('rds')) {
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

/**
 * Brings one login role in line with its secret. Returns whether the role was created.
 * The login gets no attributes beyond LOGIN: no CREATEROLE, no CREATEDB, no BYPASSRLS.
 */
export async function syncLoginRole(client: RoleClient, spec: LoginRoleSpec): Promise<'created' | 'updated'> {
  validateLogin(spec);
  const verifier = literal(scramSha256Verifier(spec.password));
  const { rows } = await client.query<{ exists: boolean }>('SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1) AS exists', [spec.username]);
  const created = !rows[0]?.exists;
  if (created) {
    await client.query(`CREATE ROLE ${spec.username} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD ${verifier}`);
  } else {
    await client.query(`ALTER ROLE ${spec.username} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD ${verifier}`);
  }
  await client.query(`GRANT ${spec.group} TO ${spec.username}`);
  return created ? 'created' : 'updated';
}
