/*
 * Password and robot-secret hashing with scrypt (RFC 7914), a memory-hard KDF, from node:crypto.
 *
 * A stored hash describes itself: `scrypt$<N>$<r>$<p>$<salt>$<hash>` with salt and hash in base64
 * (RFC 4648 section 4, without padding). Verification reads the parameters from the string, so the
 * defaults can be raised later without invalidating existing hashes (callers may rehash on login when
 * `needsRehash` says so). Defaults: N = 2^15, r = 8, p = 3, one of the settings the OWASP Password
 * Storage Cheat Sheet lists as "a similar minimal level of defense" ("N=2^15 (32 MiB), r=8 (1024
 * bytes), p=3"; https://cheatsheetseries.owasp.org/cheatsheets/Password_Storage_Cheat_Sheet.html#scrypt):
 * of its equivalent settings it keeps memory per verification at 32 MiB, since a registry verifies
 * logins concurrently and an attacker chooses how many.
 */

import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

export interface ScryptParams {
  /** CPU/memory cost, a power of two. */
  N: number;
  /** Block size. */
  r: number;
  /** Parallelisation. */
  p: number;
}

export const DEFAULT_SCRYPT_PARAMS: Readonly<ScryptParams> = Object.freeze({ N: 2 ** 15, r: 8, p: 3 });

const SALT_BYTES = 16;
const HASH_BYTES = 32;
/** Bounds for parameters read from a stored string: outside them the string is refused, not run. */
const MIN_N = 2 ** 10;
const MAX_N = 2 ** 20;
const MAX_R = 32;
const MAX_P = 16;
const MAX_MEMORY = 256 * 1024 * 1024;
const MAX_SALT_BYTES = 64;
const MIN_HASH_BYTES = 16;
const MAX_HASH_BYTES = 64;

/** Robot secrets start with this, so secret scanners and people can recognise a leaked one. */
export const SECRET_PREFIX = 'berth_';

const B64 = /^[A-Za-z0-9+/]+$/;
const DECIMAL = /^[1-9][0-9]{0,9}$/;

export async function hashSecret(secret: string, params: ScryptParams = DEFAULT_SCRYPT_PARAMS): Promise<string> {
  const problem = paramsProblem(params);
  if (problem) throw new RangeError(`invalid scrypt parameters: ${problem}`);
  const salt = randomBytes(SALT_BYTES);
  const hash = await derive(secret, salt, HASH_BYTES, params);
  return ['scrypt', params.N, params.r, params.p, b64(salt), b64(hash)].join('$');
}

/**
 * True when `secret` hashes to `stored`. False for a wrong secret and for a stored string that is not
 * a well-formed scrypt hash within the bounds above; never throws. The comparison is constant-time.
 */
export async function verifySecret(secret: string, stored: string): Promise<boolean> {
  try {
    if (typeof secret !== 'string') return false;
    const parsed = parseStored(stored);
    if (!parsed) return false;
    const actual = await derive(secret, parsed.salt, parsed.hash.length, parsed.params);
    return timingSafeEqual(actual, parsed.hash);
  } catch {
    return false;
  }
}

/**
 * Spends the time of a verification and answers false: call it when the user does not exist, so the
 * response time does not tell which names do.
 */
export async function verifyUnknown(secret: string): Promise<false> {
  await verifySecret(String(secret), UNKNOWN_USER_HASH);
  return false;
}

/** True when `stored` is not a hash with at least the given parameters (e.g. after the defaults were raised). */
export function needsRehash(stored: string, params: ScryptParams = DEFAULT_SCRYPT_PARAMS): boolean {
  const parsed = parseStored(stored);
  if (!parsed) return true;
  const p = parsed.params;
  return p.N < params.N || p.r < params.r || p.p < params.p || parsed.hash.length < HASH_BYTES;
}

/** A robot secret: 32 random bytes (256 bits), base64url, after SECRET_PREFIX. */
export function generateSecret(): string {
  return SECRET_PREFIX + randomBytes(32).toString('base64url');
}

// A hash of a random secret nobody knows, with the default parameters, for verifyUnknown.
const UNKNOWN_USER_HASH = ['scrypt', DEFAULT_SCRYPT_PARAMS.N, DEFAULT_SCRYPT_PARAMS.r, DEFAULT_SCRYPT_PARAMS.p,
  b64(randomBytes(SALT_BYTES)), b64(randomBytes(HASH_BYTES))].join('$');

function paramsProblem({ N, r, p }: ScryptParams): string | undefined {
  if (!Number.isSafeInteger(N) || N < MIN_N || N > MAX_N || (N & (N - 1)) !== 0) {
    return `N must be a power of two from ${MIN_N} to ${MAX_N}`;
  }
  if (!Number.isSafeInteger(r) || r < 1 || r > MAX_R) return `r must be from 1 to ${MAX_R}`;
  if (!Number.isSafeInteger(p) || p < 1 || p > MAX_P) return `p must be from 1 to ${MAX_P}`;
  if (memoryOf({ N, r, p }) > MAX_MEMORY) return `128 * r * (N + p + 2) must not exceed ${MAX_MEMORY} bytes`;
  return undefined;
}

/** OpenSSL's scrypt allocates 128 * r * (N + 2) bytes for V plus 128 * r * p for B. */
function memoryOf({ N, r, p }: ScryptParams): number {
  return 128 * r * (N + p + 2);
}

function parseStored(stored: string): { params: ScryptParams; salt: Buffer; hash: Buffer } | undefined {
  if (typeof stored !== 'string' || stored.length > 512) return undefined;
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return undefined;
  const [, n, r, p, saltText, hashText] = parts as [string, string, string, string, string, string];
  if (!DECIMAL.test(n) || !DECIMAL.test(r) || !DECIMAL.test(p)) return undefined;
  const params = { N: Number(n), r: Number(r), p: Number(p) };
  if (paramsProblem(params)) return undefined;
  const salt = fromB64(saltText);
  const hash = fromB64(hashText);
  if (!salt || salt.length > MAX_SALT_BYTES) return undefined;
  if (!hash || hash.length < MIN_HASH_BYTES || hash.length > MAX_HASH_BYTES) return undefined;
  return { params, salt, hash };
}

function derive(secret: string, salt: Buffer, keylen: number, params: ScryptParams): Promise<Buffer> {
  // maxmem must exceed what OpenSSL allocates (Node's default, 32 MiB, is just too small for N=2^15, r=8).
  const options: ScryptOptions = { N: params.N, r: params.r, p: params.p, maxmem: memoryOf(params) + 1024 * 1024 };
  return new Promise((resolve, reject) => {
    scrypt(Buffer.from(secret, 'utf8'), salt, keylen, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

function b64(bytes: Buffer): string {
  return bytes.toString('base64').replace(/=+$/, '');
}

/** Strict: only the canonical unpadded encoding of some bytes is accepted. */
function fromB64(text: string): Buffer | undefined {
  if (!B64.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64');
  return b64(bytes) === text ? bytes : undefined;
}
