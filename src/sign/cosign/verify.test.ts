import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { Digest } from '../../oci/digest.js';
import type { Descriptor } from '../../oci/manifest.js';
import { cosignPublicKey, loadPrivateKey, loadPublicKey, type CosignPrivateKey } from './keys.js';
import { attestImageBundle, attestImageLegacy, signImageBundle, signImageLegacy } from './sign.js';
import { COSIGN_SIGN_PREDICATE_TYPE, inTotoStatement } from './statement.js';
import { fixture } from './test-fixtures.js';
import { verifyBundlesWithKey, verifyLegacyAttestations, verifyLegacySignatures, type StoredLayer } from './verify.js';

const BUSYBOX = 'sha256:f3cfc9d0dbf931d3db4685ec659b7ac68e2a578219da4aae65427886e649b06b';
const DISTROLESS = 'sha256:a1e82f6a5f6dfc735165d3442e7cc5a615f72abac3db19452481f5f3c90fbfa8';

/** The `.sig` layer of the real busybox signature (sigstore-rs test data: payload, signature, key). */
function busyboxLayer(payload = fixture('legacy/busybox-payload.json'), signature = fixture('legacy/busybox-signature.b64').toString()): StoredLayer {
  const descriptor: Descriptor = {
    mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json',
    size: payload.length,
    digest: Digest.fromBytes(payload).toString(),
    annotations: { 'dev.cosignproject.cosign/signature': signature },
  };
  return { descriptor, blob: payload };
}
const busyboxKey = (): ReturnType<typeof loadPublicKey> => loadPublicKey(fixture('legacy/busybox-cosign.pub'));

describe('verifyLegacySignatures (real cosign signature)', () => {
  test('verifies and returns the payload cosign verify prints', () => {
    const r = verifyLegacySignatures({ layers: [busyboxLayer()], publicKey: busyboxKey(), imageDigest: BUSYBOX });
    assert.deepEqual(r.failures, []);
    assert.equal(r.verified.length, 1);
    assert.deepEqual(JSON.stringify(r.verified.map((v) => v.payload)), `[${fixture('legacy/busybox-payload.json').toString()}]`);
  });

  test('another image digest is refused: the payload names another image', () => {
    const r = verifyLegacySignatures({ layers: [busyboxLayer()], publicKey: busyboxKey(), imageDigest: DISTROLESS });
    assert.equal(r.verified.length, 0);
    assert.equal(r.failures[0]?.reason, 'digest-mismatch');
  });

  test('a changed payload byte fails the signature (and the blob digest when the descriptor is not updated)', () => {
    const changed = Buffer.from(fixture('legacy/busybox-payload.json').toString().replace('busybox', 'busyboy'));
    assert.equal(verifyLegacySignatures({ layers: [busyboxLayer(changed)], publicKey: busyboxKey(), imageDigest: BUSYBOX }).failures[0]?.reason, 'bad-signature');
    const mismatched = { ...busyboxLayer(), blob: changed };
    assert.equal(verifyLegacySignatures({ layers: [mismatched], publicKey: busyboxKey(), imageDigest: BUSYBOX }).failures[0]?.reason, 'malformed');
  });

  test('the wrong key is refused (sigstore-rs test: another public key)', () => {
    const r = verifyLegacySignatures({ layers: [busyboxLayer()], publicKey: loadPublicKey(fixture('legacy/other-cosign.pub')), imageDigest: BUSYBOX });
    assert.equal(r.failures[0]?.reason, 'bad-signature');
  });

  test('required annotations must be in the payload; bad layers are named', () => {
    assert.equal(verifyLegacySignatures({ layers: [busyboxLayer()], publicKey: busyboxKey(), imageDigest: BUSYBOX, annotations: { env: 'prod' } }).failures[0]?.reason, 'annotation-mismatch');
    const noSig = busyboxLayer();
    noSig.descriptor.annotations = {};
    const wrongType = busyboxLayer();
    wrongType.descriptor.mediaType = 'application/octet-stream';
    const r = verifyLegacySignatures({ layers: [noSig, wrongType, busyboxLayer()], publicKey: busyboxKey(), imageDigest: BUSYBOX });
    assert.deepEqual(r.failures.map((f) => f.reason), ['malformed', 'unsupported']);
    assert.equal(r.verified.length, 1);
    assert.equal(verifyLegacySignatures({ layers: [], publicKey: busyboxKey(), imageDigest: BUSYBOX }).failures[0]?.message, 'no signatures found');
    assert.throws(() => verifyLegacySignatures({ layers: [], publicKey: busyboxKey(), imageDigest: 'latest' }));
  });

  test('berth signatures verify for every key type, with claims', async () => {
    for (const file of ['keys/validecp256.key', 'keys/validecp384.key', 'keys/validecp521.key', 'keys/ed25519.key', 'keys/validrsapkcs1.key']) {
      const key = await loadPrivateKey(fixture(file));
      const layer = signImageLegacy(key, { dockerReference: 'registry.example/team/app', manifestDigest: BUSYBOX, annotations: { env: 'prod' } });
      const r = verifyLegacySignatures({ layers: [{ descriptor: layer.descriptor, blob: layer.bytes }], publicKey: key.publicKey, imageDigest: BUSYBOX, annotations: { env: 'prod' } });
      assert.equal(r.verified.length, 1, file);
    }
  });
});

describe('verifyLegacyAttestations (real cosign attestation)', () => {
  const envelope = fixture('legacy/distroless-vuln-attestation.dsse.json');
  const layer: StoredLayer = {
    descriptor: { mediaType: 'application/vnd.dsse.envelope.v1+json', size: envelope.length, digest: Digest.fromBytes(envelope).toString() },
    blob: envelope,
  };
  const signer = (): ReturnType<typeof cosignPublicKey> => cosignPublicKey(new X509Certificate(fixture('legacy/distroless-vuln-attestation.leaf.pem')).publicKey);

  test('verifies over the DSSE PAE and returns the statement', () => {
    const r = verifyLegacyAttestations({ layers: [layer], publicKey: signer(), imageDigest: DISTROLESS });
    assert.equal(r.verified.length, 1);
    assert.equal(r.verified[0]?.statement.subject[0]?.name, 'ghcr.io/distroless/static');
  });

  test('wrong key, wrong digest, wrong predicate type', () => {
    assert.equal(verifyLegacyAttestations({ layers: [layer], publicKey: busyboxKey(), imageDigest: DISTROLESS }).failures[0]?.reason, 'bad-signature');
    assert.equal(verifyLegacyAttestations({ layers: [layer], publicKey: signer(), imageDigest: BUSYBOX }).failures[0]?.reason, 'digest-mismatch');
    assert.equal(verifyLegacyAttestations({ layers: [layer], publicKey: signer(), imageDigest: DISTROLESS, predicateType: 'slsaprovenance' }).failures[0]?.reason, 'predicate-type-mismatch');
  });

  test('berth attestations round trip', async () => {
    const key = await loadPrivateKey(fixture('keys/validecp256.key'));
    const statement = inTotoStatement({ predicateType: 'https://slsa.dev/provenance/v1', predicate: { buildDefinition: {} }, subjectName: 'registry.example/app', digest: BUSYBOX });
    const blob = attestImageLegacy(key, statement, 'https://slsa.dev/provenance/v1');
    const r = verifyLegacyAttestations({ layers: [{ descriptor: blob.descriptor, blob: blob.bytes }], publicKey: key.publicKey, imageDigest: BUSYBOX, predicateType: 'slsaprovenance1' });
    assert.equal(r.verified.length, 1);
  });
});

describe('verifyBundlesWithKey', () => {
  const subject = { mediaType: 'application/vnd.oci.image.manifest.v1+json', size: 1234, digest: BUSYBOX };
  const bundleOf = (key: CosignPrivateKey): Buffer => signImageBundle(key, { subject, created: new Date(0) }).blobs[1]!.bytes;

  test('the signature of a real key-based bundle (sigstore-go example) verifies; its text/plain payload is no image statement', () => {
    const key = loadPublicKey(fixture('bundle/sigstore-go-public-key.pem'));
    const bundle = fixture('bundle/sigstore-go-bundle-public-key.json');
    assert.equal(verifyBundlesWithKey({ bundles: [bundle], publicKey: key, imageDigest: BUSYBOX }).failures[0]?.reason, 'wrong-type');
    assert.equal(verifyBundlesWithKey({ bundles: [bundle], publicKey: busyboxKey(), imageDigest: BUSYBOX }).failures[0]?.reason, 'bad-signature');
  });

  test('berth bundles verify for every key type and only for their image', async () => {
    for (const file of ['keys/validecp256.key', 'keys/validecp384.key', 'keys/ed25519.key', 'keys/validrsapkcs1.key']) {
      const key = await loadPrivateKey(fixture(file));
      const ok = verifyBundlesWithKey({ bundles: [bundleOf(key)], publicKey: key.publicKey, imageDigest: BUSYBOX, predicateType: COSIGN_SIGN_PREDICATE_TYPE });
      assert.equal(ok.verified.length, 1, file);
      assert.equal(verifyBundlesWithKey({ bundles: [bundleOf(key)], publicKey: key.publicKey, imageDigest: DISTROLESS }).failures[0]?.reason, 'digest-mismatch');
    }
  });

  test('a changed payload byte, another key, a keyless bundle, garbage', async () => {
    const key = await loadPrivateKey(fixture('keys/validecp256.key'));
    const doc = JSON.parse(bundleOf(key).toString()) as { dsseEnvelope: { payload: string } };
    const payload = Buffer.from(doc.dsseEnvelope.payload, 'base64');
    payload[payload.length - 3] = 0x20;
    doc.dsseEnvelope.payload = payload.toString('base64');
    const tampered = Buffer.from(JSON.stringify(doc));
    assert.equal(verifyBundlesWithKey({ bundles: [tampered], publicKey: key.publicKey, imageDigest: BUSYBOX }).failures[0]?.reason, 'bad-signature');
    assert.equal(verifyBundlesWithKey({ bundles: [bundleOf(key)], publicKey: busyboxKey(), imageDigest: BUSYBOX }).failures[0]?.reason, 'bad-signature');
    assert.equal(verifyBundlesWithKey({ bundles: [fixture('bundle/cosign-oci-attestation.sigstore.json')], publicKey: key.publicKey, imageDigest: BUSYBOX }).failures[0]?.reason, 'unsupported');
    assert.equal(verifyBundlesWithKey({ bundles: [Buffer.from('{"mediaType":"nope"}')], publicKey: key.publicKey, imageDigest: BUSYBOX }).failures[0]?.reason, 'malformed');
    assert.equal(verifyBundlesWithKey({ bundles: [Buffer.from('\u0000')], publicKey: key.publicKey, imageDigest: BUSYBOX }).failures[0]?.reason, 'malformed');
  });

  test('attestation bundles filter by predicate type', async () => {
    const key = await loadPrivateKey(fixture('keys/validecp256.key'));
    const statement = inTotoStatement({ predicateType: 'https://spdx.dev/Document', predicate: { spdxVersion: 'SPDX-2.3' }, subjectName: 'registry.example/app', digest: BUSYBOX });
    const bundle = attestImageBundle(key, { subject, created: new Date(0), statement, predicateType: 'https://spdx.dev/Document' }).blobs[1]!.bytes;
    assert.equal(verifyBundlesWithKey({ bundles: [bundle], publicKey: key.publicKey, imageDigest: BUSYBOX, predicateType: 'spdxjson' }).verified.length, 1);
    assert.equal(verifyBundlesWithKey({ bundles: [bundle], publicKey: key.publicKey, imageDigest: BUSYBOX, predicateType: COSIGN_SIGN_PREDICATE_TYPE }).failures[0]?.reason, 'predicate-type-mismatch');
  });
});
