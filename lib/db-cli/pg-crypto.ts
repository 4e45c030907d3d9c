/**
 * Stands in for `pg/lib/crypto/utils.js` in the bundled `db` CLI (swapped in
 * by lib/db-cli/bundle.mjs). pg computes the SCRAM proof with Web Crypto:
 * every step is an async call that goes through libuv's thread pool, which a
 * short-lived process must first start, and on the first connection that is
 * ~2.5 ms of a ~95 ms no-op run. Node's synchronous primitives give the same
 * bytes in well under a millisecond for PostgreSQL's 4096 iterations.
 *
 * Same exports and results as pg's module (a unit test compares them); the
 * functions stay async because pg awaits them.
 */
import { createHash, createHmac, pbkdf2Sync, randomFillSync } from 'node:crypto';

type Bytes = ArrayBuffer | Uint8Array;

const asBuffer = (bytes: Bytes): Buffer => (bytes instanceof ArrayBuffer ? Buffer.from(bytes) : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));

/** Web Crypto's algorithm names ('SHA-256') as OpenSSL's ('sha256'). */
const openSslHashName = (name: string): string => name.replace('-', '').toLowerCase();

export function randomBytes(length: number): Buffer {
  return randomFillSync(Buffer.alloc(length));
}

export async function md5(text: string | Buffer): Promise<string> {
  return createHash('md5').update(text).digest('hex');
}

export async function postgresMd5PasswordHash(user: string, password: string, salt: Buffer): Promise<string> {
  const inner = await md5(password + user);
  return 'md5' + (await md5(Buffer.concat([Buffer.from(inner), salt])));
}

export async function sha256(data: Bytes): Promise<Buffer> {
  return createHash('sha256').update(asBuffer(data)).digest();
}

export async function hashByName(hashName: string, data: Bytes): Promise<Buffer> {
  return createHash(openSslHashName(hashName)).update(asBuffer(data)).digest();
}

export async function hmacSha256(key: Bytes, message: string): Promise<Buffer> {
  return createHmac('sha256', asBuffer(key)).update(message, 'utf8').digest();
}

export async function deriveKey(password: string, salt: Uint8Array, iterations: number): Promise<Buffer> {
  return pbkdf2Sync(Buffer.from(password, 'utf8'), salt, iterations, 32, 'sha256');
}
