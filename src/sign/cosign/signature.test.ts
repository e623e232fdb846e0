import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import { verifyEd25519ph } from './ed25519ph.js';
import { cosignPublicKey, loadPrivateKey, loadPublicKey } from './keys.js';
import { signBytes, verifyBytes } from './signature.js';
import { fixture, fixtureText } from './test-fixtures.js';

/** RFC 8032 §7.3, "Test vectors for Ed25519ph", TEST abc. */
const RFC8032_PH = {
  publicKey: 'ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf',
  message: '616263',
  signature:
    '98a70222f0b8121aa9d30f813d683f809e462b469c7ff87639499bb94e6dae41' + '31f85042463c2a355a2003d062adf5aaa10b8c61e636062aaad11c2a26083406',
};
const hex = (s: string): Buffer => Buffer.from(s, 'hex');

describe('Ed25519ph (RFC 8032 test vector)', () => {
  test('verifies the RFC signature and refuses altered inputs', () => {
    const { publicKey, message, signature } = RFC8032_PH;
    assert.equal(verifyEd25519ph(hex(publicKey), hex(message), hex(signature)), true);
    assert.equal(verifyEd25519ph(hex(publicKey), Buffer.from('abd'), hex(signature)), false);
    const badSig = hex(signature);
    badSig[5] = (badSig[5] ?? 0) ^ 1;
    assert.equal(verifyEd25519ph(hex(publicKey), hex(message), badSig), false);
    const highS = hex(signature);
    highS.fill(0xff, 32);
    assert.equal(verifyEd25519ph(hex(publicKey), hex(message), highS), false);
    assert.equal(verifyEd25519ph(Buffer.alloc(31), hex(message), hex(signature)), false);
  });

  test('verifyBytes accepts an Ed25519ph signature for an Ed25519 key (cosign signs with Ed25519ph)', () => {
    const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: hex(RFC8032_PH.publicKey).toString('base64url') }, format: 'jwk' });
    assert.equal(verifyBytes(cosignPublicKey(key), hex(RFC8032_PH.message), hex(RFC8032_PH.signature)), true);
  });
});

describe('signBytes / verifyBytes per key type', () => {
  const files = ['keys/validecp256.key', 'keys/validecp384.key', 'keys/validecp521.key', 'keys/ed25519.key', 'keys/validrsapkcs1.key'];
  for (const file of files) {
    test(`${file}: signs and verifies; another key or other bytes fail`, async () => {
      const key = await loadPrivateKey(fixture(file));
      const data = Buffer.from('cosign payload');
      const sig = signBytes(key, data);
      assert.equal(verifyBytes(key.publicKey, data, sig), true);
      assert.equal(verifyBytes(key.publicKey, Buffer.from('cosign payloaD'), sig), false);
      assert.equal(verifyBytes(loadPublicKey(fixtureText('keys/test_blob_public_key')), data, sig), false);
      assert.equal(verifyBytes(key.publicKey, data, Buffer.from('garbage')), false);
    });
  }

  test('a P-384 signature over SHA-256 (cosign verify --signature-digest-algorithm default) is accepted', async () => {
    const { createSign } = await import('node:crypto');
    const key = await loadPrivateKey(fixture('keys/validecp384.key'));
    const sig = createSign('sha256').update('x').sign(key.key);
    assert.equal(verifyBytes(key.publicKey, Buffer.from('x'), sig), true);
  });
});
