/**
 * Keeps `vector` at the newest version the server offers. An engine upgrade (Aurora's minor upgrades in the
 * maintenance window) ships a newer pgvector, but a database keeps the version it was created with until someone
 * runs `ALTER EXTENSION vector UPDATE`; the deploy does it, once the migrations ran.
 */
import type { Logger } from '../shared/logger';
import type { RoleClient } from './login-roles';

/** What the catalog says of an extension: the version installed in this database and the server's default. */
export interface ExtensionVersions {
  readonly installed: string;
  readonly available: string;
}

/** Numeric parts of a version such as `0.8.0`; a part that is not a number sorts as 0. */
function parts(version: string): number[] {
  return version.split('.').map((part) => Number.parseInt(part, 10) || 0);
}

/** Whether `available` is a later version than `installed` (never a downgrade, which has no update path). */
export function isNewerVersion(available: string, installed: string): boolean {
  const a = parts(available);
  const b = parts(installed);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const difference = (a[i] ?? 0) - (b[i] ?? 0);
    if (difference !== 0) return difference > 0;
  }
  return false;
}

/** The installed and default versions of `name`, or undefined when it is not installed in this database. */
export async function readExtensionVersions(client: RoleClient, name: string): Promise<ExtensionVersions | undefined> {
  const { rows } = await client.query<ExtensionVersions>(
    `SELECT e.extversion AS installed, a.default_version AS available
       FROM pg_extension AS e JOIN pg_available_extensions AS a ON a.name = e.extname
      WHERE e.extname = $1`,
    [name],
  );
  return rows[0];
}

/**
 * Updates `vector` to the server's default version when that is newer than the installed one. Returns the version
 * it was updated to, or undefined when there was nothing to do.
 */
export async function updateVectorExtension(client: RoleClient, logger: Logger): Promise<string | undefined> {
  const versions = await readExtensionVersions(client, 'vector');
  if (!versions || !isNewerVersion(versions.available, versions.installed)) return undefined;
  // The version is the catalog's own string; quoted as a literal all the same.
  await client.query(`ALTER EXTENSION vector UPDATE TO '${versions.available.replace(/'/g, "''")}'`);
  logger.info('extension updated', { extension: 'vector', from: versions.installed, to: versions.available });
  return versions.available;
}
