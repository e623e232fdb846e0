import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Digest, DigestParseError } from './digest.js';

/*
 * Expected values come from the OCI image-spec ("Digests": the grammar and the
 * registered algorithms sha256 = 64 lowercase hex, sha512 = 128 lowercase hex),
 * from the FIPS 180-2 test vectors, and from node:crypto computed here
 * independently of digest.ts.
 */

const hex = (algorithm: 'sha256' | 'sha512', data: string | Uint8Array): string =>
  createHash(algorithm).update(data).digest('hex');

/** Well-known constants: sha256("") and sha256("{}") (the OCI empty descriptor's digest). */
const SHA256_EMPTY = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const SHA256_EMPTY_JSON = '44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a';
/** FIPS 180-2 Appendix B.1 / C.1 test vectors for "abc". */
const SHA256_ABC = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';
const SHA512_ABC =
  'ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f';

describe('Digest.fromBytes', () => {
  test('sha256 of the empty string is the well-known constant (and matches node:crypto)', () => {
    assert.equal(hex('sha256', ''), SHA256_EMPTY);
    const d = Digest.fromBytes(new Uint8Array(0));
    assert.equal(d.algorithm, 'sha256');
    assert.equal(d.hex, SHA256_EMPTY);
    assert.equal(d.toString(), `sha256:${SHA256_EMPTY}`);
  });

  test('sha256 of "{}" is the digest of the OCI empty descriptor (image-spec "Guidance for an Empty Descriptor")', () => {
    assert.equal(hex('sha256', '{}'), SHA256_EMPTY_JSON);
    assert.equal(Digest.fromBytes(Buffer.from('{}')).toString(), `sha256:${SHA256_EMPTY_JSON}`);
  });

  test('FIPS 180-2 vectors for "abc" in sha256 and sha512', () => {
    assert.equal(Digest.fromBytes(Buffer.from('abc')).hex, SHA256_ABC);
    const d512 = Digest.fromBytes(Buffer.from('abc'), 'sha512');
    assert.equal(d512.algorithm, 'sha512');
    assert.equal(d512.hex, SHA512_ABC);
    assert.equal(d512.hex.length, 128);
  });

  test('agrees with node:crypto on arbitrary bytes, and honours byteOffset of a view', () => {
    const backing = Buffer.from('xxxxhello worldyyyy');
    const view = new Uint8Array(backing.buffer, backing.byteOffset + 4, 11);
    assert.equal(Digest.fromBytes(view).hex, hex('sha256', 'hello world'));
    assert.equal(Digest.fromBytes(view, 'sha512').hex, hex('sha512', 'hello world'));
  });

  test('fromHash finishes a running hash', () => {
    const h = createHash('sha256');
    h.update('hel');
    h.update('lo');
    assert.equal(Digest.fromHash('sha256', h).toString(), `sha256:${hex('sha256', 'hello')}`);
  });
});

describe('Digest.parse accepts the registered algorithms', () => {
  test('sha256 with 64 lowercase hex', () => {
    const d = Digest.parse(`sha256:${SHA256_EMPTY}`);
    assert.equal(d.algorithm, 'sha256');
    assert.equal(d.hex, SHA256_EMPTY);
    assert.equal(d.toString(), `sha256:${SHA256_EMPTY}`);
  });

  test('sha512 with 128 lowercase hex', () => {
    const d = Digest.parse(`sha512:${SHA512_ABC}`);
    assert.equal(d.algorithm, 'sha512');
    assert.equal(d.hex, SHA512_ABC);
  });

  test('round-trips: parse(fromBytes(x).toString()) equals fromBytes(x)', () => {
    for (const alg of ['sha256', 'sha512'] as const) {
      const d = Digest.fromBytes(Buffer.from('round trip'), alg);
      const p = Digest.parse(d.toString());
      assert.ok(p.equals(d));
      assert.ok(d.equals(p));
    }
  });

  test('tryParse returns a Digest for a valid string', () => {
    const d = Digest.tryParse(`sha256:${SHA256_ABC}`);
    assert.ok(d);
    assert.equal(d.hex, SHA256_ABC);
  });
});

describe('Digest.parse rejects', () => {
  const cases: Array<[string, string]> = [
    ['empty string', ''],
    ['no algorithm separator', SHA256_EMPTY],
    ['empty encoded part', 'sha256:'],
    ['empty algorithm', `:${SHA256_EMPTY}`],
    ['uppercase hex (registered sha256 encoding is [a-f0-9]{64})', `sha256:${SHA256_EMPTY.toUpperCase()}`],
    ['uppercase algorithm (algorithm-component is [a-z0-9]+)', `SHA256:${SHA256_EMPTY}`],
    ['sha256 with 63 hex characters', `sha256:${SHA256_EMPTY.slice(1)}`],
    ['sha256 with 65 hex characters', `sha256:${SHA256_EMPTY}0`],
    ['sha256 with a 128-character encoded part', `sha256:${SHA512_ABC}`],
    ['sha512 with 64 hex characters', `sha512:${SHA256_EMPTY}`],
    ['sha512 with 127 hex characters', `sha512:${SHA512_ABC.slice(1)}`],
    ['non-hex character in sha256', `sha256:${SHA256_EMPTY.slice(1)}g`],
    ['whitespace', ` sha256:${SHA256_EMPTY}`],
    ['trailing newline', `sha256:${SHA256_EMPTY}\n`],
    ['two colons', `sha256:${SHA256_EMPTY}:x`],
    ['algorithm with a leading separator', `+sha256:${SHA256_EMPTY}`],
    ['algorithm with a doubled separator', `sha256++x:${SHA256_EMPTY}`],
    ['a character outside the encoded grammar', `sha256:${SHA256_EMPTY.slice(1)}/`],
  ];
  for (const [why, s] of cases) {
    test(why, () => {
      assert.throws(() => Digest.parse(s), DigestParseError);
      assert.equal(Digest.tryParse(s), undefined);
    });
  }

  test('grammar-valid but unregistered algorithms are unsupported by berth (sha384, sha256+b64u, multihash+base58)', () => {
    for (const s of [
      `sha384:${'a'.repeat(96)}`,
      'sha256+b64u:LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564',
      'multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8',
    ]) {
      assert.throws(() => Digest.parse(s), (e: unknown) => e instanceof DigestParseError && /unsupported/.test((e as Error).message));
    }
  });

  test('the error message says what was wrong', () => {
    assert.throws(() => Digest.parse(`sha256:${SHA256_EMPTY.slice(1)}`), /64/);
    assert.throws(() => Digest.parse('nonsense'), /not a digest/);
  });

  test('a very long string is rejected without echoing all of it', () => {
    const long = `sha256:${'a'.repeat(10_000)}`;
    assert.throws(
      () => Digest.parse(long),
      (e: unknown) => e instanceof DigestParseError && (e as Error).message.length < 200,
    );
  });

  test('non-string input (from untyped JSON) is rejected, not crashed on', () => {
    for (const v of [undefined, null, 42, {}, ['sha256:' + SHA256_EMPTY]]) {
      assert.throws(() => Digest.parse(v as unknown as string), DigestParseError);
    }
  });
});

describe('Digest.equals', () => {
  test('same algorithm and hex are equal; different algorithm or hex are not', () => {
    const a = Digest.fromBytes(Buffer.from('a'));
    const a2 = Digest.parse(`sha256:${hex('sha256', 'a')}`);
    const b = Digest.fromBytes(Buffer.from('b'));
    const a512 = Digest.fromBytes(Buffer.from('a'), 'sha512');
    assert.ok(a.equals(a2));
    assert.ok(!a.equals(b));
    assert.ok(!a.equals(a512));
  });
});

describe('Digest.looksLike', () => {
  test('a tag (no colon) does not look like a digest', () => {
    assert.equal(Digest.looksLike('latest'), false);
    assert.equal(Digest.looksLike('v1.2.3'), false);
  });

  test('an algorithm:encoded string looks like a digest, even an unsupported or wrong-length one', () => {
    assert.equal(Digest.looksLike(`sha256:${SHA256_EMPTY}`), true);
    assert.equal(Digest.looksLike('sha256:abc'), true);
    assert.equal(Digest.looksLike('sha256+b64u:LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564'), true);
  });

  // digest.ts documents looksLike as "contains ':' and matches the grammar";
  // these strings contain ':' but do not match the image-spec digest grammar.
  test('documented contract: a string with a colon that breaks the digest grammar does not look like a digest', () => {
    assert.equal(Digest.looksLike('not a digest:'), false);
    assert.equal(Digest.looksLike(':'), false);
    assert.equal(Digest.looksLike('SHA256:ABC'), false);
  });
});
