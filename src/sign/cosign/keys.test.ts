import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { CosignKeyError, WrongPasswordError } from './errors.js';
import {
  COSIGN_PRIVATE_KEY_PEM_TYPE,
  decryptSecret,
  generateCosignKeyPair,
  loadPrivateKey,
  loadPublicKey,
  publicKeyPem,
  SIGSTORE_PRIVATE_KEY_PEM_TYPE,
} from './keys.js';
import { pemBlocks } from './pem.js';
import { fixture, fixtureText } from './test-fixtures.js';

/** The JSON document inside an encrypted key PEM. */
const innerJson = (pem: string): Record<string, unknown> => JSON.parse(pemBlocks(pem)[0]!.der.toString('utf8')) as Record<string, unknown>;

describe('cosign encrypted keys (real cosign test data)', () => {
  test('"ENCRYPTED SIGSTORE PRIVATE KEY" from cosign keys_test.go opens with its password "hello"', async () => {
    const key = await loadPrivateKey(fixture('keys/cosign-keys-test-sigstore.key'), 'hello');
    assert.equal(key.publicKey.algorithm, 'ecdsa-p256-sha256');
  });

  test('"ENCRYPTED COSIGN PRIVATE KEY" (the older label) opens too', async () => {
    const key = await loadPrivateKey(fixture('keys/cosign-keys-test-cosign-label.key'), 'hello');
    assert.equal(key.publicKey.algorithm, 'ecdsa-p256-sha256');
  });

  test('a key cosign generated with an empty password (sigstore-rs test data) opens with ""', async () => {
    const key = await loadPrivateKey(fixture('keys/cosign-generated-empty-password.key'), '');
    assert.equal(key.publicKey.algorithm, 'ecdsa-p256-sha256');
  });

  test('a wrong password is a WrongPasswordError', async () => {
    await assert.rejects(loadPrivateKey(fixture('keys/cosign-keys-test-sigstore.key'), 'wrong'), WrongPasswordError);
    await assert.rejects(loadPrivateKey(fixture('keys/cosign-keys-test-sigstore.key')), WrongPasswordError);
  });

  test('an encrypted SEC1 key is refused as cosign refuses it (it requires PKCS #8 inside)', async () => {
    await assert.rejects(loadPrivateKey(fixture('keys/cosign-keys-test-cosign-ec-sec1.key'), 'hello'), (e: unknown) => {
      return e instanceof CosignKeyError && !(e instanceof WrongPasswordError) && /PKCS #8/.test(e.message);
    });
  });

  test('a flipped ciphertext byte fails like a wrong password', async () => {
    const doc = innerJson(fixtureText('keys/cosign-keys-test-sigstore.key'));
    const box = Buffer.from(doc.ciphertext as string, 'base64');
    box[20] = (box[20] ?? 0) ^ 1;
    doc.ciphertext = box.toString('base64');
    await assert.rejects(decryptSecret(Buffer.from(JSON.stringify(doc)), 'hello'), WrongPasswordError);
  });
});

describe('go-securesystemslib encrypted vectors', () => {
  const vectors = JSON.parse(fixtureText('keys/go-securesystemslib-vectors.json')) as {
    passphrase: string;
    plaintext: string;
    accepted: Record<string, string>;
    unsupported: string;
  };

  test('Legacy, Standard and OWASP parameters decrypt', async () => {
    // TestDecrypt encrypts the plaintext itself; the KDF vectors were made by MarshalWithCustomKDFParameters,
    // i.e. they encrypt json.MarshalIndent([]byte(plaintext)) = the JSON string of its base64.
    const wrapped = JSON.stringify(Buffer.from(vectors.plaintext).toString('base64'));
    for (const [name, doc] of Object.entries(vectors.accepted)) {
      const out = (await decryptSecret(Buffer.from(doc), vectors.passphrase)).toString();
      assert.equal(out, name === 'TestDecrypt' ? vectors.plaintext : wrapped, name);
    }
  });

  test('unsupported scrypt parameters are refused without running scrypt', async () => {
    await assert.rejects(decryptSecret(Buffer.from(vectors.unsupported), vectors.passphrase), /unsupported scrypt parameters/);
    const hostile = JSON.parse(vectors.unsupported) as { kdf: { params: Record<string, number> } };
    hostile.kdf.params = { N: 2 ** 30, r: 8, p: 1 };
    await assert.rejects(decryptSecret(Buffer.from(JSON.stringify(hostile)), 'x'), /unsupported scrypt parameters/);
  });

  test('malformed documents name what is wrong', async () => {
    await assert.rejects(decryptSecret(Buffer.from('not json'), ''), /not JSON/);
    await assert.rejects(decryptSecret(Buffer.from('{"kdf":{"name":"pbkdf2"}}'), ''), /unknown kdf name/);
    const doc = JSON.parse(Object.values(vectors.accepted)[0]!) as { cipher: { nonce: string } };
    doc.cipher.nonce = 'AAAA';
    await assert.rejects(decryptSecret(Buffer.from(JSON.stringify(doc)), vectors.passphrase), /nonce size/);
  });
});

describe('generateCosignKeyPair', () => {
  test('writes cosign.key with the PEM type and JSON fields cosign writes, and decrypts back', async () => {
    const pair = await generateCosignKeyPair('s3cret');
    const ours = innerJson(pair.privatePem);
    // The reference: a key `cosign generate-key-pair` made (sigstore-rs test data).
    const theirs = innerJson(fixtureText('keys/cosign-generated-empty-password.key'));
    assert.equal(pemBlocks(pair.privatePem)[0]!.type, SIGSTORE_PRIVATE_KEY_PEM_TYPE);
    const shape = (d: Record<string, unknown>): unknown => JSON.stringify(d, (k, v: unknown) => (typeof v === 'string' && k !== 'name' ? typeof v : v));
    assert.equal(shape(ours), shape(theirs));
    assert.equal(Buffer.from((ours.kdf as { salt: string }).salt, 'base64').length, 32);
    assert.equal(Buffer.from((ours.cipher as { nonce: string }).nonce, 'base64').length, 24);

    const key = await loadPrivateKey(pair.privatePem, 's3cret');
    assert.equal(key.publicKey.algorithm, 'ecdsa-p256-sha256');
    assert.equal(publicKeyPem(key.publicKey.key), pair.publicPem);
    assert.equal(pemBlocks(pair.publicPem)[0]!.type, 'PUBLIC KEY');
    assert.equal(loadPublicKey(pair.publicPem).algorithm, 'ecdsa-p256-sha256');
    await assert.rejects(loadPrivateKey(pair.privatePem, 's3cret!'), WrongPasswordError);
  });

  test('the older COSIGN label is read as well', () => {
    assert.equal(COSIGN_PRIVATE_KEY_PEM_TYPE, 'ENCRYPTED COSIGN PRIVATE KEY');
  });
});

describe('imported keys (cosign keys_test.go, test/testdata)', () => {
  const cases: [string, string][] = [
    ['keys/validecp256.key', 'ecdsa-p256-sha256'],
    ['keys/validecp384.key', 'ecdsa-p384-sha384'],
    ['keys/validecp521.key', 'ecdsa-p521-sha512'],
    ['keys/validecpkcs8.key', 'ecdsa-p256-sha256'],
    ['keys/ed25519.key', 'ed25519'],
    ['keys/validrsapkcs1.key', 'rsa-pkcs1v15-sha256'],
  ];
  for (const [file, algorithm] of cases) {
    test(`${file} loads as ${algorithm}`, async () => {
      assert.equal((await loadPrivateKey(fixture(file))).publicKey.algorithm, algorithm);
    });
  }

  test('refuses what sigstore goodkey refuses: P-224, secp256k1, RSA 1024', async () => {
    await assert.rejects(loadPrivateKey(fixture('keys/invalidecp224.key')), /curve secp224r1 not allowed/);
    await assert.rejects(loadPrivateKey(fixture('keys/invalidecunsupported.key')), CosignKeyError);
    await assert.rejects(loadPrivateKey(fixture('keys/invalidrsasmallkey.key')), /RSA key size not supported: 1024/);
  });

  test('openssl output with an EC PARAMETERS block first, and its public key', async () => {
    const key = await loadPrivateKey(fixture('keys/test_blob_private_key'));
    assert.equal(publicKeyPem(key.publicKey.key), fixtureText('keys/test_blob_public_key'));
  });

  test('public keys: PKIX and PKCS #1; anything else named', () => {
    assert.equal(loadPublicKey(fixture('keys/test_blob_public_key')).algorithm, 'ecdsa-p256-sha256');
    const rsa = createPublicKey(createPrivateKey(fixtureText('keys/validrsapkcs1.key')));
    const pkcs1 = rsa.export({ type: 'pkcs1', format: 'pem' });
    assert.equal(loadPublicKey(pkcs1).algorithm, 'rsa-pkcs1v15-sha256');
    assert.throws(() => loadPublicKey(fixture('keys/validecp256.key')), /unknown public key PEM type "EC PRIVATE KEY"/);
    assert.throws(() => loadPublicKey('-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n'), /does not hold a valid public key/);
  });

  test('hostile PEM input is refused with a reason', async () => {
    await assert.rejects(loadPrivateKey('no pem here'), /no PEM block/);
    await assert.rejects(loadPrivateKey('-----BEGIN PRIVATE KEY-----\n!!!\n-----END PRIVATE KEY-----\n'), /not base64/);
    await assert.rejects(loadPrivateKey('-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n\nAAAA\n-----END RSA PRIVATE KEY-----\n'), /headers/);
    await assert.rejects(loadPrivateKey('A'.repeat(300_000)), /larger than/);
    await assert.rejects(loadPrivateKey('-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n'), /unsupported private key PEM type/);
  });
});
