import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_SCRYPT_PARAMS,
  generateSecret,
  hashSecret,
  needsRehash,
  SECRET_PREFIX,
  verifySecret,
  verifyUnknown,
} from './passwords.js';

/*
 * The known-answer test is RFC 7914 section 12's second vector:
 * scrypt(P="password", S="NaCl", N=1024, r=8, p=16, dkLen=64), written by hand in berth's format.
 */
const RFC7914_VECTOR_2 = Buffer.from(
  'fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b3731622eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640',
  'hex',
);
const unpadded = (b: Buffer): string => b.toString('base64').replace(/=+$/, '');
const RFC_STORED = `scrypt$1024$8$16$${unpadded(Buffer.from('NaCl'))}$${unpadded(RFC7914_VECTOR_2)}`;
/** Cheap parameters for tests that hash more than once; the defaults are tested once. */
const FAST = { N: 1024, r: 8, p: 1 };

describe('verifySecret', () => {
  test('accepts the RFC 7914 vector and reads N, r, p, salt and hash length from the string', async () => {
    assert.equal(await verifySecret('password', RFC_STORED), true);
    assert.equal(await verifySecret('Password', RFC_STORED), false);
    assert.equal(await verifySecret('password', RFC_STORED.replace('$16$', '$15$')), false);
    assert.equal(await verifySecret('password', RFC_STORED.replace('$8$16$', '$4$16$')), false);
    // Every byte of the hash counts: the vector with its last byte changed is refused.
    const lastChanged = Buffer.from(RFC7914_VECTOR_2);
    lastChanged[63] = (lastChanged[63] ?? 0) ^ 1;
    assert.equal(await verifySecret('password', RFC_STORED.replace(unpadded(RFC7914_VECTOR_2), unpadded(lastChanged))), false);
    // The hash length is read from the string too (dkLen). scrypt ends with PBKDF2-HMAC-SHA256 of one
    // iteration (RFC 7914 section 6), whose output blocks do not depend on dkLen (RFC 8018 section 5.2):
    // the dkLen=32 result is the first 32 bytes of the vector.
    assert.equal(await verifySecret('password', RFC_STORED.replace(unpadded(RFC7914_VECTOR_2), unpadded(RFC7914_VECTOR_2.subarray(0, 32)))), true);
  });

  test('refuses malformed stored strings with false, never an exception', async () => {
    const salt = unpadded(Buffer.from('NaCl'));
    const hash = unpadded(RFC7914_VECTOR_2);
    const bad = [
      '',
      'scrypt',
      'plain-text-password',
      `bcrypt$1024$8$16$${salt}$${hash}`,
      `scrypt$1024$8$16$${salt}`,
      `scrypt$1024$8$16$${salt}$${hash}$extra`,
      `scrypt$1000$8$16$${salt}$${hash}`, // N not a power of two
      `scrypt$01024$8$16$${salt}$${hash}`, // not canonical decimal
      `scrypt$-1024$8$16$${salt}$${hash}`,
      `scrypt$1024$8$0$${salt}$${hash}`,
      `scrypt$1024$8$17$${salt}$${hash}`, // p above the bound
      `scrypt$2097152$8$1$${salt}$${hash}`, // N above the bound: refused before any memory is taken
      `scrypt$1048576$32$1$${salt}$${hash}`, // 4 GiB
      `scrypt$1024$8$16$$${hash}`, // empty salt
      `scrypt$1024$8$16$${salt}==$${hash}`, // padding is not the format
      `scrypt$1024$8$16$${salt}$${hash.replace(/\+/g, '-').replace(/\//g, '_')}_`, // base64url
      `scrypt$1024$8$16$${salt}$${unpadded(Buffer.alloc(8))}`, // hash too short
      `scrypt$1024$8$16$${salt}$${unpadded(Buffer.alloc(65))}`, // hash too long
    ];
    for (const stored of bad) assert.equal(await verifySecret('password', stored), false, stored);
    assert.equal(await verifySecret('password', undefined as unknown as string), false);
    assert.equal(await verifySecret(undefined as unknown as string, RFC_STORED), false);
  });
});

describe('hashSecret', () => {
  test('the default parameters: scrypt$32768$8$3$<16-byte salt>$<32-byte hash>, and it verifies', async () => {
    const stored = await hashSecret('correct horse battery staple');
    const parts = stored.split('$');
    assert.deepEqual(parts.slice(0, 4), ['scrypt', '32768', '8', '3']);
    assert.equal(Buffer.from(parts[4] ?? '', 'base64').length, 16);
    assert.equal(Buffer.from(parts[5] ?? '', 'base64').length, 32);
    assert.deepEqual({ ...DEFAULT_SCRYPT_PARAMS }, { N: 32768, r: 8, p: 3 });
    assert.equal(await verifySecret('correct horse battery staple', stored), true);
    assert.equal(await verifySecret('correct horse battery stapl', stored), false);
    assert.equal(needsRehash(stored), false);
  });

  test('each hash has its own salt; non-ASCII secrets round-trip', async () => {
    const a = await hashSecret('pässwörd ✓', FAST);
    const b = await hashSecret('pässwörd ✓', FAST);
    assert.notEqual(a, b);
    assert.equal(await verifySecret('pässwörd ✓', a), true);
    assert.equal(await verifySecret('pässwörd ✓', b), true);
    assert.equal(await verifySecret('passwoerd ✓', a), false);
    assert.equal(await verifySecret('', a), false);
  });

  test('hashes made with older parameters still verify, and needsRehash points them out', async () => {
    const old = await hashSecret('s3cret', FAST);
    assert.match(old, /^scrypt\$1024\$8\$1\$/);
    assert.equal(await verifySecret('s3cret', old), true);
    assert.equal(needsRehash(old), true);
    assert.equal(needsRehash(old, FAST), false);
    assert.equal(needsRehash('garbage'), true);
  });

  test('parameters outside the bounds are refused', async () => {
    await assert.rejects(hashSecret('x', { N: 1000, r: 8, p: 1 }), RangeError);
    await assert.rejects(hashSecret('x', { N: 2 ** 21, r: 8, p: 1 }), RangeError);
    await assert.rejects(hashSecret('x', { N: 1024, r: 0, p: 1 }), RangeError);
  });
});

describe('verifyUnknown', () => {
  test('answers false', async () => {
    assert.equal(await verifyUnknown('anything'), false);
  });
});

describe('generateSecret', () => {
  test('berth_ followed by 32 random bytes in base64url; never the same twice', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const s = generateSecret();
      assert.ok(s.startsWith(SECRET_PREFIX));
      const body = s.slice(SECRET_PREFIX.length);
      assert.match(body, /^[A-Za-z0-9_-]{43}$/);
      assert.equal(Buffer.from(body, 'base64url').length, 32);
      seen.add(s);
    }
    assert.equal(seen.size, 20);
  });
});
