import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadPrivateKey, loadTrustedRoot, signImageBundle, verifyBundlesKeyless, verifyBundlesWithKey } from '../sign/cosign/index.js';
import { fixture } from '../sign/cosign/test-fixtures.js';
import { subjectAnnotations, withClaims } from './sign.js';
import type { SigningTarget } from './signing-client.js';

// cosign's own keyless bundle (test/fixtures/cosign/README.md): `cosign attest` for
// 127.0.0.1:60943/repo@sha256:7321…0aa4 by cody@soyland.com through https://github.com/login/oauth.
const IMAGE = 'sha256:732112270d7e59418a8c080b134b24cabd67d250d0d0147a97ed95ba5c280aa4';

function target(tag?: string): SigningTarget {
  return {
    image: '127.0.0.1:60943/repo',
    registry: '127.0.0.1:60943',
    repository: 'repo',
    cosignRepository: '127.0.0.1:60943/repo',
    tag,
    descriptor: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: IMAGE, size: 1 },
    manifest: Buffer.alloc(0),
  } as unknown as SigningTarget;
}

describe('what verify prints for a bundle (cosign 3 shape)', () => {
  test('a real keyless bundle: reference, digest, predicate type, and the signer as cosign adds it to optional', () => {
    const r = verifyBundlesKeyless({
      bundles: [fixture('bundle/cosign-oci-attestation.sigstore.json')],
      trustMaterial: loadTrustedRoot(fixture('bundle/trusted_root.sigstore-public-good.json')),
      identity: 'cody@soyland.com',
      issuer: 'https://github.com/login/oauth',
      imageDigest: IMAGE,
    });
    const printed = withClaims(r, target(), {}, (v) => ({ Subject: v.signer.identity, Issuer: v.signer.issuer }));
    assert.deepEqual(printed, {
      failures: [],
      verified: [
        {
          critical: { identity: { 'docker-reference': `127.0.0.1:60943/repo@${IMAGE}` }, image: { 'docker-manifest-digest': IMAGE }, type: 'https://cosign.sigstore.dev/attestation/v1' },
          optional: { Subject: 'cody@soyland.com', Issuer: 'https://github.com/login/oauth' },
        },
      ],
    });
    // The statement carries no subject annotations, so any required claim is missing.
    const claimed = withClaims(r, target('v1'), { env: 'prod' }, () => ({}));
    assert.deepEqual(claimed.verified, []);
    assert.deepEqual(claimed.failures.map((f) => [f.reason, f.message]), [['annotation-mismatch', 'missing or incorrect annotation env']]);
  });

  test('a key-signed bundle: -a claims are the subject annotations, checked exactly; the tag shows in the reference', async () => {
    const key = await loadPrivateKey(fixture('keys/validecp256.key'));
    const subject = target().descriptor;
    const artifact = signImageBundle(key, { subject, created: new Date(0), annotations: { env: 'prod', team: 'payments' } });
    const bundle = artifact.blobs[1]!.bytes;
    const r = verifyBundlesWithKey({ bundles: [bundle], publicKey: key.publicKey, imageDigest: IMAGE });
    const printed = withClaims(r, target('v1'), { env: 'prod' }, () => ({}));
    assert.deepEqual(printed.verified, [
      {
        critical: { identity: { 'docker-reference': '127.0.0.1:60943/repo:v1' }, image: { 'docker-manifest-digest': IMAGE }, type: 'https://sigstore.dev/cosign/sign/v1' },
        optional: { env: 'prod', team: 'payments' },
      },
    ]);
    assert.equal(withClaims(r, target(), { env: 'dev' }, () => ({})).failures[0]?.reason, 'annotation-mismatch');
  });

  test('subjectAnnotations: only the subject that names the digest counts; absent or malformed is {}', () => {
    const statement = {
      _type: 'https://in-toto.io/Statement/v1',
      predicateType: 'x',
      subject: [
        { digest: { sha256: '00' }, annotations: { other: 'image' } },
        { digest: { sha256: IMAGE.slice(7) }, annotations: { env: 'prod' } },
      ],
    };
    assert.deepEqual(subjectAnnotations(statement, IMAGE), { env: 'prod' });
    assert.deepEqual(subjectAnnotations({ ...statement, subject: [{ digest: { sha256: IMAGE.slice(7) } }] }, IMAGE), {});
    assert.deepEqual(subjectAnnotations({ ...statement, subject: [{ digest: { sha256: IMAGE.slice(7) }, annotations: ['x'] as unknown as Record<string, unknown> }] }, IMAGE), {});
  });
});
