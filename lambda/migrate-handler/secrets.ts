/**
 * Reads database credentials from Secrets Manager at invoke time (so a rotated password is always the current
 * one). The values never leave this module except as the typed result; nothing here logs.
 */
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

export interface DatabaseCredentials {
  readonly username: string;
  readonly password: string;
  /** Writer endpoint (RDS puts it in the secrets it attaches to a cluster). */
  readonly host?: string;
  readonly port?: number;
}

export async function readCredentials(client: SecretsManagerClient, secretArn: string): Promise<DatabaseCredentials> {
  const output = await client.send(new GetSecretValueCommand({ SecretId: secretArn }));
  if (!output.SecretString) throw new Error(`secret ${secretArn} has no string value`);
  let value: Record<string, unknown>;
  try {
    value = JSON.parse(output.SecretString) as Record<string, unknown>;
  } catch {
    // The parser's message could quote the secret: say only where the problem is.
    throw new Error(`secret ${secretArn} is not JSON`);
  }
  const { username, password, host, port } = value;
  if (typeof username !== 'string' || typeof password !== 'string' || !username || !password) {
    throw new Error(`secret ${secretArn} lacks a username or password`);
  }
  return {
    username,
    password,
    ...(typeof host === 'string' ? { host } : {}),
    ...(typeof port === 'number' || typeof port === 'string' ? { port: Number(port) } : {}),
  };
}
