import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { notationSignatureManifest, parseNotationSignatureManifest } from './signature-manifest.js';
import { SignatureManifestError } from './errors.js';
import { fixture, x5cOf } from './test-support.js';

// A signature pushed by notation v1.3 (notation e2e OCI layout "e2e-with-timestamped-signature").
const LAYOUT = 'oci-layout/e2e-with-timestamped-signature/';
const MANIFEST = `${LAYOUT}123ec9fa46aad212010c907e98cb328de9731f23783c546bea1aa7580a4a6a37`;
const ENVELOPE = `${LAYOUT}cacefba75b1771fa028faeb3c02f0ab6aa2430c52c96b5e127513259309002d4`;
const SUBJECT = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: 'sha256:d7b441acd8ea27f3fa22afeb4433c937a22c241f6f61ccc5ce84172509bf78ae', size: 582 };
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

test('builds byte for byte the signature manifest notation pushed', () => {
  const envelope = fixture(ENVELOPE);
  const m = notationSignatureManifest({
    envelope: { bytes: envelope, mediaType: 'application/jose+json' },
    certificateChain: x5cOf(envelope).map((der) => ({ der })),
    signingTime: new Date('2025-01-17T06:34:56Z'),
    subject: SUBJECT,
  });
  assert.equal(m.bytes.toString('utf8'), fixture(MANIFEST).toString('utf8'));
  assert.equal(m.digest, 'sha256:123ec9fa46aad212010c907e98cb328de9731f23783c546bea1aa7580a4a6a37');
  assert.equal(m.mediaType, 'application/vnd.oci.image.manifest.v1+json');
  const [config, layer] = m.blobs;
  assert.deepEqual(config?.descriptor, {
    mediaType: 'application/vnd.cncf.notary.signature',
    digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a', // sha256("{}"), the spec's example
    size: 2,
  });
  assert.equal(config?.bytes.toString(), '{}');
  assert.deepEqual(layer?.descriptor, { mediaType: 'application/jose+json', digest: `sha256:${sha256(envelope)}`, size: 2089 });
});

test('reads a notation signature manifest', () => {
  const m = parseNotationSignatureManifest(fixture(MANIFEST));
  assert.deepEqual(m.envelope, {
    mediaType: 'application/jose+json',
    digest: 'sha256:cacefba75b1771fa028faeb3c02f0ab6aa2430c52c96b5e127513259309002d4',
    size: 2089,
    artifactType: undefined,
    annotations: undefined,
    platform: undefined,
  });
  assert.equal(m.subject.digest, SUBJECT.digest);
  // The thumbprint annotation is the SHA-256 of the envelope's certificate, computed independently.
  assert.deepEqual(m.thumbprints, x5cOf(fixture(ENVELOPE)).map(sha256));
});

test('accepts the OCI 1.1 artifactType shape', () => {
  const doc = JSON.parse(fixture(MANIFEST).toString('utf8')) as Record<string, unknown>;
  doc.artifactType = 'application/vnd.cncf.notary.signature';
  doc.config = { mediaType: 'application/vnd.oci.empty.v1+json', digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a', size: 2 };
  assert.equal(parseNotationSignatureManifest(Buffer.from(JSON.stringify(doc))).envelope.size, 2089);
});

test('refuses manifests that are not Notary Project signatures', () => {
  const base = JSON.parse(fixture(MANIFEST).toString('utf8')) as Record<string, unknown>;
  const variant = (patch: Record<string, unknown>) => Buffer.from(JSON.stringify({ ...base, ...patch }));
  const layer = (base.layers as unknown[])[0];
  const cases: [Buffer, RegExp][] = [
    [Buffer.from('{'), /not a valid manifest/],
    [variant({ config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${'0'.repeat(64)}`, size: 2 } }), /not a Notary Project signature/],
    [variant({ layers: [layer, layer] }), /exactly one layer/],
    [variant({ layers: [{ mediaType: 'application/json', digest: `sha256:${'0'.repeat(64)}`, size: 1 }] }), /envelope media type application\/json/],
    [variant({ subject: undefined }), /no subject/],
    [variant({ annotations: { 'io.cncf.notary.x509chain.thumbprint#S256': '["xyz"]' } }), /JSON array of SHA-256/],
    [variant({ mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [], layers: undefined, config: undefined }), /OCI image manifest/],
  ];
  for (const [bytes, re] of cases) assert.throws(() => parseNotationSignatureManifest(bytes), (e: unknown) => e instanceof SignatureManifestError && re.test(e.message));
});
