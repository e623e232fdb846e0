import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Digest } from '../../oci/digest.js';
import { CosignFormatError } from './errors.js';
import { generateCosignKeyPair, loadPrivateKey } from './keys.js';
import { appendSignatureLayer, attestationLayer, attestationTag, signatureLayer, signatureTag } from './signature-image.js';
import { signBytes } from './signature.js';
import { fixture } from './test-fixtures.js';

/** A `.sig` image cosign 1.13.1 pushed to Docker Hub (manifest and config bytes from its debug trace). */
const stored = { manifest: fixture('legacy/cosign-1.13-sig-manifest.json'), config: fixture('legacy/cosign-1.13-sig-config.json') };
const STORED_LAYER_DIGEST = 'sha256:b671489ededd1a180bd87235bba00fd83354f9c7d13b71d9f8b66a8e52965ebc';
const STORED_SIGNATURE = 'MEYCIQCPH7NJAIfrB6BZN91dV0o7l/i11muXrvrAh100jDMMhAIhAPsLH0oXb2OPITXRpWBMUd3vHtz5Ks5pql2Hr6t/IJXw';

describe('signature tags (SIGNATURE_SPEC.md "Tag-based Discovery")', () => {
  test('the spec example: sha256:97fc… → sha256-97fc….sig', () => {
    const d = 'sha256:97fc222cee7991b5b061d4d4afdb5f3428fcb0c9054e1690313786befa1e4e36';
    assert.equal(signatureTag(d), 'sha256-97fc222cee7991b5b061d4d4afdb5f3428fcb0c9054e1690313786befa1e4e36.sig');
    assert.equal(attestationTag(d), 'sha256-97fc222cee7991b5b061d4d4afdb5f3428fcb0c9054e1690313786befa1e4e36.att');
    assert.throws(() => signatureTag('latest'));
  });
});

describe('appendSignatureLayer', () => {
  test('the digests of the stored cosign image are those Docker Hub reported', () => {
    assert.equal(Digest.fromBytes(stored.manifest).toString(), 'sha256:7ebe8964225fa4619b53aa35416ef0246c037e36ddf81776b21b15e1dda2262b');
  });

  test('a signature already there (same payload, same signature) is not added again', () => {
    // The payload blob is not in the trace; a layer with the same digest and signature is the same signature.
    const layer = { descriptor: { mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json', size: 252, digest: STORED_LAYER_DIGEST, annotations: { 'dev.cosignproject.cosign/signature': STORED_SIGNATURE } }, bytes: Buffer.alloc(0) };
    const { image, added } = appendSignatureLayer(stored, layer);
    assert.equal(added, false);
    assert.deepEqual(image.manifest, stored.manifest);
    assert.equal(image.digest, 'sha256:7ebe8964225fa4619b53aa35416ef0246c037e36ddf81776b21b15e1dda2262b');
    assert.deepEqual(image.blobs, []);
  });

  test('adding to a real cosign image keeps the earlier layer and writes the bytes cosign would', async () => {
    const key = await loadPrivateKey(fixture('keys/validecp256.key'));
    const payload = fixture('legacy/busybox-payload.json');
    const layer = signatureLayer(payload, signBytes(key, payload));
    const { image, added } = appendSignatureLayer(stored, layer);
    assert.equal(added, true);
    // Expected config: the stored one with the new diff_id and history entry appended (mutate.Append).
    const expectedConfig = stored.config
      .toString()
      .replace('"history":[{"created":"0001-01-01T00:00:00Z"}]', '"history":[{"created":"0001-01-01T00:00:00Z"},{"created":"0001-01-01T00:00:00Z"}]')
      .replace(`"diff_ids":["${STORED_LAYER_DIGEST}"]`, `"diff_ids":["${STORED_LAYER_DIGEST}","${layer.descriptor.digest}"]`);
    const config = image.blobs[0]!;
    assert.equal(config.bytes.toString(), expectedConfig);
    // Expected manifest: the stored one with the new config descriptor and the new layer appended.
    const newLayerJson = `{"mediaType":"application/vnd.dev.cosign.simplesigning.v1+json","size":${payload.length},"digest":"${layer.descriptor.digest}","annotations":{"dev.cosignproject.cosign/signature":"${layer.descriptor.annotations!['dev.cosignproject.cosign/signature']}"}}`;
    const expectedManifest = stored.manifest
      .toString()
      .replace('"size":247,"digest":"sha256:85ad8e17d3d7c00664855c638832bd99f32d42542c2d587851410a45a7f60b95"', `"size":${config.bytes.length},"digest":"${config.descriptor.digest}"`)
      .replace(/\]\}$/, `,${newLayerJson}]}`);
    assert.equal(image.manifest.toString(), expectedManifest);
    assert.deepEqual(image.blobs[1], layer);
  });

  test('a new image: OCI manifest, zero creation time, one history entry per layer', async () => {
    const key = await loadPrivateKey(fixture('keys/validecp256.key'));
    const payload = fixture('legacy/busybox-payload.json');
    const { image } = appendSignatureLayer(undefined, signatureLayer(payload, signBytes(key, payload)));
    const digest = Digest.fromBytes(payload).toString();
    assert.equal(
      image.blobs[0]!.bytes.toString(),
      `{"architecture":"","created":"0001-01-01T00:00:00Z","history":[{"created":"0001-01-01T00:00:00Z"}],"os":"","rootfs":{"type":"layers","diff_ids":["${digest}"]},"config":{}}`,
    );
    const m = JSON.parse(image.manifest.toString()) as Record<string, unknown>;
    assert.deepEqual(Object.keys(m), ['schemaVersion', 'mediaType', 'config', 'layers']);
    assert.equal(m.mediaType, 'application/vnd.oci.image.manifest.v1+json');
    assert.equal((m.config as { mediaType: string }).mediaType, 'application/vnd.oci.image.config.v1+json');
  });

  test("a fresh signature by the same key over the same payload is a duplicate when the key is given (cosign's DupeDetector)", async () => {
    const pair = await generateCosignKeyPair('');
    const key = await loadPrivateKey(pair.privatePem, '');
    const payload = fixture('legacy/busybox-payload.json');
    const first = appendSignatureLayer(undefined, signatureLayer(payload, signBytes(key, payload)));
    const storedNow = { manifest: first.image.manifest, config: first.image.blobs[0]!.bytes };
    const again = signatureLayer(payload, signBytes(key, payload)); // ECDSA: a different signature
    assert.equal(appendSignatureLayer(storedNow, again, key.publicKey).added, false);
    assert.equal(appendSignatureLayer(storedNow, again).added, true);
  });

  test('attestation layers carry the empty signature annotation and the predicate type', () => {
    const layer = attestationLayer(fixture('legacy/distroless-vuln-attestation.dsse.json'), 'https://cosign.sigstore.dev/attestation/vuln/v1');
    assert.equal(layer.descriptor.mediaType, 'application/vnd.dsse.envelope.v1+json');
    assert.deepEqual(layer.descriptor.annotations, { 'dev.cosignproject.cosign/signature': '', predicateType: 'https://cosign.sigstore.dev/attestation/vuln/v1' });
    const { image } = appendSignatureLayer(undefined, layer);
    assert.match(image.manifest.toString(), /"annotations":\{"dev.cosignproject.cosign\/signature":"","predicateType":"https:\/\/cosign.sigstore.dev\/attestation\/vuln\/v1"\}/);
  });

  test('a stored image that cosign could not have written is refused', () => {
    const layer = attestationLayer(Buffer.from('{}'), 'x:y');
    assert.throws(() => appendSignatureLayer({ manifest: stored.manifest, config: Buffer.from('{}') }, layer), /config does not match/);
    assert.throws(() => appendSignatureLayer({ manifest: Buffer.from('{"schemaVersion":2,"manifests":[]}'), config: stored.config }, layer), CosignFormatError);
    assert.throws(() => appendSignatureLayer({ manifest: Buffer.from('nope'), config: stored.config }, layer), CosignFormatError);
  });
});
