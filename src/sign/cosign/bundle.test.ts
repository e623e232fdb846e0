import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { bundleFromJSON } from '@sigstore/bundle';
import { Digest } from '../../oci/digest.js';
import { bundleReferrer, publicKeyHint, signStatementBundle } from './bundle.js';
import { loadPrivateKey, loadPublicKey } from './keys.js';
import { attestImageBundle, signImageBundle } from './sign.js';
import { cosignSignStatement } from './statement.js';
import { fixture } from './test-fixtures.js';

const subject = { mediaType: 'application/vnd.oci.image.index.v1+json', size: 856, digest: 'sha256:' + 'c0'.repeat(32) };

describe('Sigstore bundles as cosign 3 writes them', () => {
  test("the public key hint is the one cosign 3 wrote for dangerzone's key", () => {
    // freedomofpress/dangerzone issue #1282: `cosign sign --key` (v3) bundle with "hint": "hl3AZs…bYQ=".
    assert.equal(publicKeyHint(loadPublicKey(fixture('bundle/freedomofpress-dangerzone.pub'))), 'hl3AZsTnpVTmBmQaqUqv8CMvygd7kPXYd15z7qOkbYQ=');
  });

  test('a signed bundle is a valid v0.3 bundle: public key hint, DSSE envelope, no tlog entry', async () => {
    const key = await loadPrivateKey(fixture('keys/validecp256.key'));
    const bytes = signStatementBundle(key, cosignSignStatement(subject.digest));
    const doc = JSON.parse(bytes.toString()) as Record<string, unknown>;
    assert.deepEqual(Object.keys(doc), ['mediaType', 'verificationMaterial', 'dsseEnvelope']);
    assert.equal(doc.mediaType, 'application/vnd.dev.sigstore.bundle.v0.3+json');
    assert.deepEqual(doc.verificationMaterial, { publicKey: { hint: publicKeyHint(key.publicKey) } });
    assert.deepEqual(Object.keys(doc.dsseEnvelope as object), ['payload', 'payloadType', 'signatures']);
    const bundle = bundleFromJSON(doc);
    assert.equal(bundle.content.$case, 'dsseEnvelope');
    assert.deepEqual(bundle.verificationMaterial.tlogEntries, []);
  });

  test('the referrer manifest has the shape cosign 3 pushes (cosign PR #4997, "Signing with cosign 3.x gives")', async () => {
    const key = await loadPrivateKey(fixture('keys/validecp256.key'));
    const push = signImageBundle(key, { subject, created: new Date('2026-07-14T09:00:00.123Z') });
    const m = JSON.parse(push.manifest.toString()) as Record<string, Record<string, unknown>>;
    assert.deepEqual(Object.keys(m), ['schemaVersion', 'mediaType', 'config', 'layers', 'annotations', 'subject', 'artifactType']);
    // The config descriptor is byte-identical to the one in cosign's output.
    assert.deepEqual(m.config, {
      mediaType: 'application/vnd.oci.empty.v1+json',
      size: 2,
      digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
      artifactType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
    });
    assert.deepEqual(m.annotations, {
      'dev.sigstore.bundle.content': 'dsse-envelope',
      'dev.sigstore.bundle.predicateType': 'https://sigstore.dev/cosign/sign/v1',
      'org.opencontainers.image.created': '2026-07-14T09:00:00Z',
    });
    const [layer] = m.layers as unknown as { mediaType: string; size: number; digest: string }[];
    assert.deepEqual(Object.keys(layer!), ['mediaType', 'size', 'digest']);
    assert.equal(layer!.mediaType, 'application/vnd.dev.sigstore.bundle.v0.3+json');
    assert.deepEqual(m.subject, subject);
    assert.equal(m.artifactType as unknown, 'application/vnd.dev.sigstore.bundle.v0.3+json');
    assert.equal(push.digest, Digest.fromBytes(push.manifest).toString());
    assert.deepEqual(push.blobs.map((b) => b.descriptor.digest), ['sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a', layer!.digest]);
    assert.equal(push.blobs[0]!.bytes.toString(), '{}');
  });

  test('attestation bundles carry their predicate type annotation', async () => {
    const key = await loadPrivateKey(fixture('keys/ed25519.key'));
    const push = attestImageBundle(key, { subject, created: new Date(0), statement: Buffer.from('{}'), predicateType: 'https://slsa.dev/provenance/v1' });
    assert.match(push.manifest.toString(), /"dev.sigstore.bundle.predicateType":"https:\/\/slsa.dev\/provenance\/v1"/);
    const direct = bundleReferrer({ bundle: push.blobs[1]!.bytes, subject, predicateType: 'https://slsa.dev/provenance/v1', created: new Date(0) });
    assert.deepEqual(direct.manifest, push.manifest);
  });
});
