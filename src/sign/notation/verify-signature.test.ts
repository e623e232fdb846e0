import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { parseSignatureEnvelope, verifyNotationSignature, type VerifyNotationSignatureInput } from './verify-signature.js';
import { parseTrustPolicyDocument, type TrustStoreType } from './trust-policy.js';
import { X509TrustStore } from './trust-store.js';
import { signJws } from './jws-envelope.js';
import { notationSignatureManifest, parseNotationSignatureManifest } from './signature-manifest.js';
import { UnsupportedEnvelopeError } from './errors.js';
import { parseCertificateFile } from './certificate.js';
import { fixture, hasOpenssl, makePki, withMember, x5cOf } from './test-support.js';

const skipNoOpenssl = hasOpenssl ? false : 'the openssl CLI is not installed';
const policyFile = (name: string) => parseTrustPolicyDocument(fixture(`trust-policies/${name}`));
const policy = (level: string, extra: Record<string, unknown> = {}, trustStores = ['ca:test']) =>
  parseTrustPolicyDocument({
    version: '1.0',
    trustPolicies: [{ name: 'test', registryScopes: ['*'], signatureVerification: { level, ...extra }, trustStores, trustedIdentities: ['*'] }],
  });
const wabbitCa = () => parseCertificateFile(fixture('certs/wabbit-networks.io.crt')).slice(1).map((c) => c.der);
const store = (certs: Uint8Array[], type: TrustStoreType = 'ca', name = 'test') => X509TrustStore.fromCertificates([{ type, name, certificates: certs }]);

// notation e2e "valid signature": a self-signed "e2e" certificate, signature over an artifact manifest.
const E2E = {
  envelope: fixture('oci-layout/e2e-valid-signature/a10cfe44db01fffab281c3f1077d7663cdda573940d89fdb10b750788250d775'),
  target: { mediaType: 'application/vnd.oci.artifact.manifest.v1+json', digest: 'sha256:cc2ae4e91a31a77086edbdbf4711de48e5fa3ebdacad3403e61777a9e1a53b6f', size: 417 },
};
const e2eInput = (over: Partial<VerifyNotationSignatureInput> = {}): VerifyNotationSignatureInput => ({
  envelope: E2E.envelope,
  target: E2E.target,
  policyDoc: policyFile('valid_trusted_identity_trustpolicy.json'),
  trustStores: store(x5cOf(E2E.envelope), 'ca', 'e2e'),
  artifactReference: `localhost:5000/e2e@${E2E.target.digest}`,
  ...over,
});

test('verifies the notation e2e signature under its trusted identity policy', async () => {
  const r = await verifyNotationSignature(e2eInput());
  assert.equal(r.outcome, 'verified', r.reasons.join('; '));
  assert.deepEqual(r.reasons, []);
  assert.equal(r.policy, 'e2e');
  assert.equal(r.level?.name, 'strict');
  assert.equal(r.signer, 'CN=e2e,O=Notary,L=Seattle,ST=WA,C=US');
  assert.deepEqual(r.results.map((x) => [x.type, x.ok]), [
    ['integrity', true],
    ['integrity', true],
    ['authenticity', true],
    ['authenticity', true],
    ['expiry', true],
    ['authenticTimestamp', true],
    ['revocation', true],
  ]);
});

test('rejects: wrong identity, missing trust store, certificate not in the trust store, scope mismatch', async () => {
  const cases: [Partial<VerifyNotationSignatureInput>, RegExp][] = [
    [{ policyDoc: policyFile('invalid_trusted_identity_trustpolicy.json') }, /^authenticity: signing certificate subject CN=e2e.* matches none of the trusted identities/],
    [{ policyDoc: policyFile('invalid_trust_store_trustpolicy.json') }, /^authenticity: trust store "invalid_store" of type ca does not exist/],
    [{ trustStores: store(wabbitCa(), 'ca', 'e2e') }, /^authenticity: the certificate chain of CN=e2e.* does not lead to a certificate in trust store\(s\) ca:e2e/],
    [{ policyDoc: policyFile('registry_scope_trustpolicy.json') }, /^no trust policy statement applies to localhost:5000\/e2e/],
    [{ target: { ...E2E.target, digest: `sha256:${'0'.repeat(64)}` } }, /^integrity: the signature is for .* not /],
    [{ target: { ...E2E.target, size: 418 } }, /^integrity: the signature is for/],
    [{ artifactReference: `localhost:5000/e2e@sha256:${'0'.repeat(64)}` }, /^integrity: artifact reference names/],
  ];
  for (const [over, re] of cases) {
    const r = await verifyNotationSignature(e2eInput(over));
    assert.equal(r.outcome, 'failed', JSON.stringify(over).slice(0, 100));
    assert.match(r.reasons[0] ?? '', re);
  }
  const inScope = await verifyNotationSignature(
    e2eInput({ policyDoc: policyFile('registry_scope_trustpolicy.json'), artifactReference: `localhost:5001/test-repo@${E2E.target.digest}` }),
  );
  assert.equal(inScope.outcome, 'verified');
});

test('a changed payload byte fails integrity at every level', async () => {
  const payload = Buffer.from((JSON.parse(E2E.envelope.toString('utf8')) as { payload: string }).payload, 'base64url').toString('utf8');
  const tampered = withMember(E2E.envelope, 'payload', Buffer.from(payload.replace('"size":417', '"size":418')).toString('base64url'));
  for (const level of ['strict', 'permissive', 'audit']) {
    const r = await verifyNotationSignature(e2eInput({ envelope: tampered, policyDoc: policy(level), trustStores: store(x5cOf(E2E.envelope)) }));
    assert.equal(r.outcome, 'failed');
    assert.match(r.reasons[0] ?? '', /^integrity: signature does not verify/);
  }
});

test('audit logs a failed authenticity and still verifies; skip does not look at the signature', async () => {
  const audit = await verifyNotationSignature(e2eInput({ policyDoc: policy('audit'), trustStores: store([]) }));
  assert.equal(audit.outcome, 'verified');
  assert.match(audit.reasons[0] ?? '', /^authenticity \(logged\): trust store "test" of type ca holds no certificate/);
  const skip = parseTrustPolicyDocument({ version: '1.0', trustPolicies: [{ name: 's', registryScopes: ['localhost:5000/e2e'], signatureVerification: { level: 'skip' } }] });
  const r = await verifyNotationSignature(e2eInput({ policyDoc: skip, envelope: Buffer.from('garbage') }));
  assert.equal(r.outcome, 'skipped');
  assert.equal(r.policy, 's');
});

// notation-go internal/mock: ca_valid_sig_env.json signs mocks.go ImageDescriptor, referenced as SampleArtifactUri.
const MOCK_TARGET = { mediaType: 'application/vnd.docker.distribution.manifest.v2+json', digest: 'sha256:60043cf45eaebc4c0867fea485a039b598f52fd09fd5b07b0b2d2f88fad9d74e', size: 528 };
const mockInput = (file: string, over: Partial<VerifyNotationSignatureInput> = {}): VerifyNotationSignatureInput => {
  const envelope = fixture(`envelopes/${file}`);
  const chain = x5cOf(envelope);
  return {
    envelope,
    target: MOCK_TARGET,
    policyDoc: policy('strict'),
    trustStores: store([chain[chain.length - 1] as Buffer]),
    artifactReference: `registry.acme-rockets.io/software/net-monitor@${MOCK_TARGET.digest}`,
    ...over,
  };
};

test('an expired signing certificate fails strict and is logged by permissive', async () => {
  const strict = await verifyNotationSignature(mockInput('ca_valid_sig_env.json'));
  assert.equal(strict.outcome, 'failed');
  assert.match(strict.reasons[0] ?? '', /^authenticTimestamp: certificate CN=Notation Test Root.* expired at 2022-07-30T22:55:10.000Z/);
  const permissive = await verifyNotationSignature(mockInput('ca_valid_sig_env.json', { policyDoc: policy('permissive') }));
  assert.equal(permissive.outcome, 'verified');
  assert.match(permissive.reasons[0] ?? '', /^authenticTimestamp \(logged\)/);
  const inValidity = await verifyNotationSignature(mockInput('ca_valid_sig_env.json', { now: new Date('2022-07-30T00:00:00Z') }));
  assert.equal(inValidity.outcome, 'verified', inValidity.reasons.join('; '));
  assert.equal(inValidity.expiry?.toISOString(), '2122-01-01T12:00:00.000Z');
});

test('an expired signature fails strict, is logged by permissive and by an expiry override', async () => {
  const now = new Date('2022-07-30T00:00:00Z'); // after the expiry 2022-07-29T23:59:00Z, certificates still valid
  const strict = await verifyNotationSignature(mockInput('ca_expired_sig_env.json', { now }));
  assert.equal(strict.outcome, 'failed');
  assert.deepEqual(strict.reasons, ['expiry: the signature expired at 2022-07-29T23:59:00.000Z']);
  for (const doc of [policy('permissive'), policy('strict', { override: { expiry: 'log' } })]) {
    const r = await verifyNotationSignature(mockInput('ca_expired_sig_env.json', { now, policyDoc: doc }));
    assert.equal(r.outcome, 'verified');
    assert.deepEqual(r.reasons, ['expiry (logged): the signature expired at 2022-07-29T23:59:00.000Z']);
  }
});

test('signingAuthority signatures need a signingAuthority trust store', async () => {
  const chain = x5cOf(fixture('envelopes/sa_valid_sig_env.json'));
  const root = chain[chain.length - 1] as Buffer;
  const withSa = await verifyNotationSignature(
    mockInput('sa_valid_sig_env.json', { policyDoc: policy('strict', {}, ['signingAuthority:test']), trustStores: store([root], 'signingAuthority') }),
  );
  assert.equal(withSa.outcome, 'verified', withSa.reasons.join('; ')); // the authentic signing time is within validity
  const withCa = await verifyNotationSignature(mockInput('sa_valid_sig_env.json'));
  assert.equal(withCa.outcome, 'failed');
  assert.match(withCa.reasons[0] ?? '', /has no signingAuthority trust store for signing scheme notary.x509.signingAuthority/);
});

test('a timestamped envelope is judged without its (unverified) timestamp', async () => {
  const envelope = fixture('envelopes/jwsWithTimestamp.sig');
  const target = { mediaType: 'application/vnd.docker.distribution.manifest.v2+json', digest: 'sha256:c0669ef34cdc14332c0f1ab0c2c01acb91d96014b172f1a76f3a39e63d1f0bda', size: 528 };
  const input = { envelope, target, policyDoc: policy('strict'), trustStores: store(x5cOf(envelope)), artifactReference: `localhost:5000/app@${target.digest}` };
  const r = await verifyNotationSignature({ ...input, now: new Date('2030-01-01T00:00:00Z') });
  assert.equal(r.outcome, 'verified');
  assert.match(r.results.find((x) => x.type === 'authenticTimestamp')?.message ?? '', /timestamp countersignature present but not verified/);
  const later = await verifyNotationSignature({ ...input, now: new Date('2034-01-01T00:00:00Z') });
  assert.equal(later.outcome, 'failed'); // the certificate expired 2033-05-10; notation could accept it with a valid timestamp
});

test('COSE envelopes are refused clearly', async () => {
  await assert.rejects(parseSignatureEnvelope('application/cose', Buffer.from([0xd2])), (e: unknown) => e instanceof UnsupportedEnvelopeError && /COSE .* not supported/.test(e.message));
  await assert.rejects(parseSignatureEnvelope('text/plain', Buffer.from('x')), UnsupportedEnvelopeError);
  const r = await verifyNotationSignature(e2eInput({ envelopeMediaType: 'application/cose' }));
  assert.equal(r.outcome, 'failed');
  assert.match(r.reasons[0] ?? '', /^integrity: COSE signature envelopes \(application\/cose\) are not supported/);
});

test('verifies a signature notation pushed, from its signature manifest', async () => {
  const layout = 'oci-layout/e2e-with-timestamped-signature/';
  const manifest = parseNotationSignatureManifest(fixture(`${layout}123ec9fa46aad212010c907e98cb328de9731f23783c546bea1aa7580a4a6a37`));
  const envelope = fixture(`${layout}${manifest.envelope.digest.slice('sha256:'.length)}`);
  assert.equal(`sha256:${createHash('sha256').update(envelope).digest('hex')}`, manifest.envelope.digest);
  const input = {
    envelope,
    envelopeMediaType: manifest.envelope.mediaType,
    target: manifest.subject,
    policyDoc: policy('strict'),
    trustStores: store(x5cOf(envelope)),
    artifactReference: `localhost:5000/e2e@${manifest.subject.digest}`,
  };
  assert.equal((await verifyNotationSignature({ ...input, now: new Date('2025-01-17T12:00:00Z') })).outcome, 'verified');
  const today = await verifyNotationSignature(input); // its one-day certificate expired on 2025-01-18
  assert.equal(today.outcome, 'failed');
  assert.match(today.reasons[0] ?? '', /^authenticTimestamp: certificate CN=testcert5/);
});

test('round trip: sign, build the signature manifest, read it back and verify', { skip: skipNoOpenssl }, async () => {
  const pki = makePki({ withIntermediate: true });
  const subject = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${'b'.repeat(64)}`, size: 1234 };
  const signed = await signJws({ key: pki.leaf.key, chain: pki.chain, target: subject, expiry: new Date(Date.now() + 3600_000) });
  const m = notationSignatureManifest({ envelope: signed, certificateChain: signed.certificateChain, signingTime: signed.signingTime, subject });
  const read = parseNotationSignatureManifest(m.bytes, m.mediaType);
  assert.deepEqual(read.thumbprints, signed.certificateChain.map((c) => c.sha256));
  const doc = parseTrustPolicyDocument({
    version: '1.0',
    trustPolicies: [
      {
        name: 'berth',
        registryScopes: ['registry.example.com/team/app'],
        signatureVerification: { level: 'strict' },
        trustStores: ['ca:berth'],
        trustedIdentities: ['x509.subject: C=US, ST=WA, O=berth test, CN=Test Signer'],
      },
    ],
  });
  const r = await verifyNotationSignature({
    envelope: m.blobs[1]?.bytes ?? Buffer.alloc(0),
    envelopeMediaType: read.envelope.mediaType,
    target: read.subject,
    policyDoc: doc,
    trustStores: X509TrustStore.fromCertificates([{ type: 'ca', name: 'berth', certificates: [pki.root.der] }]),
    artifactReference: `registry.example.com/team/app@${subject.digest}`,
  });
  assert.equal(r.outcome, 'verified', r.reasons.join('; '));
  assert.equal(r.signer, 'CN=Test Signer,OU=Build,O=berth test,L=Seattle,ST=WA,C=US');
});

test('certificates with CRL or OCSP locations: revocation unavailable, enforced by strict only', { skip: skipNoOpenssl }, async () => {
  const pki = makePki({
    leafExtensions: ['keyUsage = critical, digitalSignature', 'extendedKeyUsage = codeSigning', 'crlDistributionPoints = URI:http://crl.example.com/ca.crl'],
  });
  const target = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${'c'.repeat(64)}`, size: 10 };
  const signed = await signJws({ key: pki.leaf.key, chain: pki.chain, target });
  const input = { envelope: signed.bytes, target, trustStores: store([pki.root.der]), artifactReference: `registry.example.com/app@${target.digest}` };
  const strict = await verifyNotationSignature({ ...input, policyDoc: policy('strict') });
  assert.equal(strict.outcome, 'failed');
  assert.match(strict.reasons[0] ?? '', /^revocation: revocation status of CN=Test Signer.* cannot be determined/);
  const permissive = await verifyNotationSignature({ ...input, policyDoc: policy('permissive') });
  assert.equal(permissive.outcome, 'verified');
  assert.match(permissive.reasons[0] ?? '', /^revocation \(logged\)/);
  const skipped = await verifyNotationSignature({ ...input, policyDoc: policy('strict', { override: { revocation: 'skip' } }) });
  assert.equal(skipped.outcome, 'verified');
  assert.equal(skipped.results.some((x) => x.type === 'revocation'), false);
});

test('mutated envelopes never crash verification', async () => {
  let seed = 42;
  const random = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  for (let i = 0; i < 300; i++) {
    const bytes = Buffer.from(E2E.envelope);
    for (let k = 0; k <= random(3); k++) bytes[random(bytes.length)] = random(256);
    const r = await verifyNotationSignature(e2eInput({ envelope: i % 10 === 0 ? bytes.subarray(0, random(bytes.length)) : bytes }));
    assert.ok(r.outcome === 'failed' || r.outcome === 'verified');
    if (r.outcome === 'verified') assert.deepEqual(r.reasons, []);
  }
});
