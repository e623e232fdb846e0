import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CosignFormatError } from './errors.js';
import { loadTrustedRoot, verifyBundlesKeyless, type KeylessCheck } from './keyless.js';
import { loadPrivateKey } from './keys.js';
import { signImageBundle } from './sign.js';
import { fixture, fixtureText } from './test-fixtures.js';

/*
 * cosign's own keyless bundle (pkg/cosign/testdata/oci-attestation.sigstore.json): `cosign attest`
 * on 2025-02-28 for 127.0.0.1:60943/repo@sha256:7321…0aa4, Fulcio certificate for cody@soyland.com
 * issued through https://github.com/login/oauth, Rekor dsse entry. Trusted root: the Sigstore
 * public-good trusted_root.json (as shipped by sigstore-python).
 */
const BUNDLE = fixture('bundle/cosign-oci-attestation.sigstore.json');
const IMAGE = 'sha256:732112270d7e59418a8c080b134b24cabd67d250d0d0147a97ed95ba5c280aa4';
const rootJson = (): Record<string, unknown> => JSON.parse(fixtureText('bundle/trusted_root.sigstore-public-good.json')) as Record<string, unknown>;
const publicGood = (): KeylessCheck['trustMaterial'] => loadTrustedRoot(fixture('bundle/trusted_root.sigstore-public-good.json'));
const check = (over: Partial<KeylessCheck> = {}): KeylessCheck => ({
  bundles: [BUNDLE],
  trustMaterial: publicGood(),
  identity: 'cody@soyland.com',
  issuer: 'https://github.com/login/oauth',
  imageDigest: IMAGE,
  ...over,
});

describe('verifyBundlesKeyless (real cosign bundle, public-good trusted root)', () => {
  test('verifies: certificate chain, SCT, Rekor entry, signature, identity, image digest', () => {
    const r = verifyBundlesKeyless(check({ predicateType: 'custom' }));
    assert.deepEqual(r.failures, []);
    assert.deepEqual(r.verified[0]?.signer, { identity: 'cody@soyland.com', issuer: 'https://github.com/login/oauth' });
    assert.equal(r.verified[0]?.statement.predicateType, 'https://cosign.sigstore.dev/attestation/v1');
  });

  test('identity and issuer are compared exactly, not as patterns', () => {
    assert.equal(verifyBundlesKeyless(check({ identity: 'someone@else.example' })).failures[0]?.reason, 'identity-mismatch');
    assert.equal(verifyBundlesKeyless(check({ identity: 'soyland.com' })).failures[0]?.reason, 'identity-mismatch');
    assert.equal(verifyBundlesKeyless(check({ identity: 'cody@soyland.co' })).failures[0]?.reason, 'identity-mismatch');
    assert.equal(verifyBundlesKeyless(check({ issuer: 'https://accounts.google.com' })).failures[0]?.reason, 'identity-mismatch');
  });

  test('another image digest or predicate type is refused', () => {
    assert.equal(verifyBundlesKeyless(check({ imageDigest: 'sha256:' + '0'.repeat(64) })).failures[0]?.reason, 'digest-mismatch');
    assert.equal(verifyBundlesKeyless(check({ predicateType: 'slsaprovenance' })).failures[0]?.reason, 'predicate-type-mismatch');
  });

  test('a changed payload byte is refused', () => {
    const doc = JSON.parse(BUNDLE.toString()) as { dsseEnvelope: { payload: string } };
    const payload = Buffer.from(doc.dsseEnvelope.payload, 'base64');
    payload[20] = (payload[20] ?? 0) ^ 1;
    doc.dsseEnvelope.payload = payload.toString('base64');
    const r = verifyBundlesKeyless(check({ bundles: [Buffer.from(JSON.stringify(doc))] }));
    assert.equal(r.failures[0]?.reason, 'bad-signature');
    assert.match(r.failures[0]?.message ?? '', /DSSE payload hash mismatch/);
  });

  test('a certificate authority missing from the trusted root: untrusted signer', () => {
    const root = rootJson();
    root.certificateAuthorities = (root.certificateAuthorities as unknown[]).slice(0, 1); // keep only the 2021-2022 root
    const r = verifyBundlesKeyless(check({ trustMaterial: loadTrustedRoot(Buffer.from(JSON.stringify(root))) }));
    assert.equal(r.failures[0]?.reason, 'untrusted-signer');
    assert.match(r.failures[0]?.message ?? '', /CERTIFICATE_ERROR/);
  });

  test('a certificate authority whose validity ended before the signing time: untrusted signer', () => {
    const root = rootJson();
    const cas = root.certificateAuthorities as { validFor: { start: string; end?: string } }[];
    cas[1]!.validFor.end = '2024-12-31T23:59:59Z';
    const r = verifyBundlesKeyless(check({ trustMaterial: loadTrustedRoot(Buffer.from(JSON.stringify(root))) }));
    assert.equal(r.failures[0]?.reason, 'untrusted-signer');
  });

  test('no transparency log in the trusted root: the Rekor entry cannot be checked', () => {
    const root = rootJson();
    root.tlogs = [];
    assert.equal(verifyBundlesKeyless(check({ trustMaterial: loadTrustedRoot(Buffer.from(JSON.stringify(root))) })).failures[0]?.reason, 'untrusted-signer');
  });

  test('key-based bundles are sent to the key path; trusted roots are validated', async () => {
    const key = await loadPrivateKey(fixture('keys/validecp256.key'));
    const bundle = signImageBundle(key, { subject: { mediaType: 'application/vnd.oci.image.manifest.v1+json', size: 1, digest: IMAGE }, created: new Date(0) }).blobs[1]!.bytes;
    assert.equal(verifyBundlesKeyless(check({ bundles: [bundle] })).failures[0]?.reason, 'unsupported');
    assert.throws(() => loadTrustedRoot(Buffer.from('{"mediaType":"x"}')), CosignFormatError);
    assert.throws(() => loadTrustedRoot(Buffer.from('{')), /not a Sigstore trusted root/);
  });
});
