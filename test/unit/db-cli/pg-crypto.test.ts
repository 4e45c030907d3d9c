/**
 * The synchronous stand-in for pg's Web Crypto helpers (lib/db-cli/pg-crypto.ts)
 * must export what pg's module exports and give the same bytes, or the bundled
 * CLI would fail to authenticate (the CLI suite also logs in with SCRAM through
 * the bundle, against the real server).
 */
import { randomBytes as nodeRandomBytes } from 'node:crypto';
import * as syncCrypto from '../../../lib/db-cli/pg-crypto';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const pgCrypto = require('pg/lib/crypto/utils.js') as Record<string, (...args: never[]) => unknown>;

const bytes = (value: unknown): string => Buffer.from(value as ArrayBuffer).toString('hex');

describe("pg's crypto helpers, synchronous", () => {
  it('exports every function pg uses', () => {
    expect(Object.keys(syncCrypto).sort()).toEqual(Object.keys(pgCrypto).sort());
  });

  it.each(['correct horse', 'pässwörd ✓', 'x'.repeat(200)])('derives the SCRAM keys pg derives (%#)', async (password) => {
    const salt = nodeRandomBytes(16);
    const ours = await syncCrypto.deriveKey(password, salt, 4096);
    const theirs = await (pgCrypto.deriveKey as (p: string, s: Buffer, i: number) => Promise<ArrayBuffer>)(password, salt, 4096);
    expect(bytes(ours)).toBe(bytes(theirs));

    // The rest of the proof, fed pg's ArrayBuffer as sasl.js feeds it.
    const pgHmac = pgCrypto.hmacSha256 as (k: ArrayBuffer, m: string) => Promise<ArrayBuffer>;
    const clientKey = await syncCrypto.hmacSha256(theirs, 'Client Key');
    expect(bytes(clientKey)).toBe(bytes(await pgHmac(theirs, 'Client Key')));
    const pgSha = pgCrypto.sha256 as (d: ArrayBuffer) => Promise<ArrayBuffer>;
    expect(bytes(await syncCrypto.sha256(clientKey))).toBe(bytes(await pgSha(Uint8Array.from(clientKey).buffer)));
  });

  it.each(['SHA-256', 'SHA-384', 'SHA-512'])('hashes certificates by Web Crypto name (%s)', async (name) => {
    const certificate = nodeRandomBytes(700);
    const pgHash = pgCrypto.hashByName as (n: string, d: Buffer) => Promise<ArrayBuffer>;
    expect(bytes(await syncCrypto.hashByName(name, certificate))).toBe(bytes(await pgHash(name, certificate)));
  });

  it('makes the md5 password hash pg makes', async () => {
    const salt = nodeRandomBytes(4);
    const pgMd5 = pgCrypto.postgresMd5PasswordHash as (u: string, p: string, s: Buffer) => Promise<string>;
    expect(await syncCrypto.postgresMd5PasswordHash('app_user', 'sécret', salt)).toBe(await pgMd5('app_user', 'sécret', salt));
  });

  it('returns fresh random bytes of the length asked', () => {
    const a = syncCrypto.randomBytes(18);
    expect(a).toHaveLength(18);
    expect(a.equals(syncCrypto.randomBytes(18))).toBe(false);
  });
});
