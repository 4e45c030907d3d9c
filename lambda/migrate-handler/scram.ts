/**
 * SCRAM-SHA-256 password verifiers, computed here so a login's plaintext password never reaches the server:
 * not in the statement text, not in a log_statement=ddl log line, not in pg_stat_statements. PostgreSQL stores
 * a verifier given to CREATE/ALTER ROLE ... PASSWORD as it is (what psql's \password does).
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';

export const SCRAM_ITERATIONS = 4096;

/** `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`, as PostgreSQL stores it. */
export function scramSha256Verifier(password: string, salt: Buffer = randomBytes(16), iterations = SCRAM_ITERATIONS): string {
  // SASLprep leaves ASCII as it is; NFKC is its normalisation step for the rest.
  const salted = pbkdf2Sync(password.normalize('NFKC'), salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}
