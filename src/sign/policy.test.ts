import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { PolicyDocumentError } from '../errors/document-error.js';
import { Digest } from '../oci/digest.js';
import { fixture as cosignFixture, fixtureText as cosignText } from './cosign/test-fixtures.js';
import { fixture as notationFixture, x5cOf } from './notation/test-support.js';
import { NOT_CONFIGURED, parseSigningPolicy, SigningTrust, type SigningPolicy } from './policy.js';

/*
 * Real trust material only: cosign's and sigstore-go's public keys, the Sigstore public-good
 * trusted root, cosign's keyless bundle, sigstore-rs's busybox signature and notation's e2e
 * signature (see test/fixtures/cosign/README.md and test/fixtures/notation/README.md).
 */
const KEY_A = cosignText('bundle/sigstore-go-public-key.pem');
const KEY_B = cosignText('bundle/freedomofpress-dangerzone.pub');
const BUSYBOX_KEY = cosignText('legacy/busybox-cosign.pub');
const ROOT = (): Record<string, unknown> => JSON.parse(cosignText('bundle/trusted_root.sigstore-public-good.json')) as Record<string, unknown>;
const KEYLESS_BUNDLE = cosignFixture('bundle/cosign-oci-attestation.sigstore.json');
const KEYLESS_IMAGE = 'sha256:732112270d7e59418a8c080b134b24cabd67d250d0d0147a97ed95ba5c280aa4';
const E2E_ENVELOPE = notationFixture('oci-layout/e2e-valid-signature/a10cfe44db01fffab281c3f1077d7663cdda573940d89fdb10b750788250d775');
const E2E_TARGET = { mediaType: 'application/vnd.oci.artifact.manifest.v1+json', digest: 'sha256:cc2ae4e91a31a77086edbdbf4711de48e5fa3ebdacad3403e61777a9e1a53b6f', size: 417 };
const e2eCertPem = (): string => new X509Certificate(x5cOf(E2E_ENVELOPE)[0]!).toString();
const e2ePolicy = (): Record<string, unknown> => JSON.parse(notationFixture('trust-policies/valid_trusted_identity_trustpolicy.json').toString()) as Record<string, unknown>;

function refused(input: unknown, field: string, message?: RegExp): void {
  assert.throws(
    () => parseSigningPolicy(input),
    (e: unknown) => {
      assert.ok(e instanceof PolicyDocumentError, String(e));
      assert.equal(e.field, field, e.message);
      assert.ok(e.message.startsWith(`${field || 'document'}: `), e.message);
      if (message) assert.match(e.message, message);
      return true;
    },
  );
}

describe('parseSigningPolicy', () => {
  test('fills defaults and keeps the document JSON-safe', () => {
    assert.deepEqual(parseSigningPolicy({}), { enforce: false, cosign: { keys: [], keyless: [] } });
    const doc = {
      enforce: true,
      cosign: { keys: [KEY_A, KEY_B], keyless: [{ issuer: 'https://github.com/login/oauth', identity: 'cody@soyland.com' }], trustedRoot: ROOT() },
      notation: { trustPolicy: e2ePolicy(), trustStores: { 'ca:e2e': [e2eCertPem()] } },
    };
    const parsed = parseSigningPolicy(doc);
    assert.deepEqual(parsed, doc);
    assert.deepEqual(JSON.parse(JSON.stringify(parsed)), doc);
  });

  test('names the field of a key, root, certificate or trust policy that does not load', () => {
    refused({ cosign: { keys: [KEY_A, '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n'] } }, 'cosign.keys[1]', /valid public key/);
    refused({ cosign: { keys: [e2eCertPem()] } }, 'cosign.keys[0]', /unknown public key PEM type "CERTIFICATE"/);
    refused({ cosign: { keyless: [{ issuer: 'https://github.com/login/oauth', identity: 'cody@soyland.com' }] } }, 'cosign.trustedRoot', /required with cosign.keyless/);
    refused({ cosign: { trustedRoot: { mediaType: 'x' } } }, 'cosign.trustedRoot', /not a Sigstore trusted root/);
    refused({ notation: { trustPolicy: { version: '2.0', trustPolicies: [] }, trustStores: {} } }, 'notation.trustPolicy', /version "2.0" is not supported/);
    refused({ notation: { trustPolicy: e2ePolicy(), trustStores: { 'ca:e2e': ['not a certificate'] } } }, 'notation.trustStores["ca:e2e"][0]', /PEM CERTIFICATE/);
    const brokenPem = '-----BEGIN CERTIFICATE-----\nMAMCAQE=\n-----END CERTIFICATE-----\n';
    refused({ notation: { trustPolicy: e2ePolicy(), trustStores: { 'ca:e2e': [brokenPem] } } }, 'notation.trustStores["ca:e2e"][0]');
    // wabbit-networks.io.crt holds a leaf (not a CA) and its CA: a ca store may not hold the leaf.
    const wabbit = notationFixture('certs/wabbit-networks.io.crt').toString();
    refused({ notation: { trustPolicy: e2ePolicy(), trustStores: { 'ca:e2e': [wabbit] } } }, 'notation.trustStores["ca:e2e"]', /is not a CA certificate or self-signed/);
    refused({ notation: { trustPolicy: e2ePolicy(), trustStores: { 'ca:other': [e2eCertPem()] } } }, 'notation.trustStores', /uses the trust store ca:e2e, which is not defined/);
  });

  test('names the field the schema refuses', () => {
    refused({ enforce: 'yes' }, 'enforce');
    refused({ cosign: { keys: [KEY_A], extra: 1 } }, 'cosign');
    refused({ cosign: { keyless: [{ issuer: '', identity: 'x' }] } }, 'cosign.keyless[0].issuer');
    refused({ cosign: { keys: Array.from({ length: 101 }, () => KEY_A) } }, 'cosign.keys');
    refused({ cosign: { keys: ['x'.repeat(64 * 1024 + 1)] } }, 'cosign.keys[0]');
    refused({ notation: { trustPolicy: e2ePolicy(), trustStores: { 'e2e': [e2eCertPem()] } } }, 'notation.trustStores["e2e"]', /must be \{ca\|signingAuthority\|tsa\}/);
    refused({ notation: { trustStores: {} } }, 'notation.trustPolicy');
    refused([], '');
  });

  test('enforcing needs a trusted signer', () => {
    refused({ enforce: true }, 'enforce', /no trusted signer/);
    refused({ enforce: true, cosign: { trustedRoot: ROOT() } }, 'enforce');
    assert.equal(parseSigningPolicy({ enforce: true, cosign: { keys: [KEY_A] } }).enforce, true);
  });
});

describe('SigningTrust', () => {
  const trustOf = (doc: unknown): SigningTrust => SigningTrust.load(parseSigningPolicy(doc) as SigningPolicy);

  test('keyless: the cosign bundle verifies against the public-good root, then is refused as an attestation, not a signature', () => {
    const trust = trustOf({ cosign: { keyless: [{ issuer: 'https://github.com/login/oauth', identity: 'cody@soyland.com' }], trustedRoot: ROOT() } });
    // The certificate chain, SCT, Rekor entry, signature and identity passed: what remains is the statement's type.
    const v = trust.checkBundle(KEYLESS_BUNDLE, KEYLESS_IMAGE);
    assert.equal(v.verified, false);
    assert.equal(v.reason, 'predicate-type-mismatch');
  });

  test('keyless: identities are compared exactly, each one tried', () => {
    const ids = [
      { issuer: 'https://github.com/login/oauth', identity: 'cody@soyland.co' },
      { issuer: 'https://accounts.google.com', identity: 'cody@soyland.com' },
    ];
    const v = trustOf({ cosign: { keyless: ids, trustedRoot: ROOT() } }).checkBundle(KEYLESS_BUNDLE, KEYLESS_IMAGE);
    assert.deepEqual([v.verified, v.reason], [false, 'identity-mismatch']);
    assert.match(v.detail ?? '', /none of the 2 trusted in cosign.keyless/);
  });

  test('keyless: a root without the issuing certificate authority is an untrusted signer', () => {
    const root = ROOT();
    root.certificateAuthorities = (root.certificateAuthorities as unknown[]).slice(0, 1);
    const v = trustOf({ cosign: { keyless: [{ issuer: 'https://github.com/login/oauth', identity: 'cody@soyland.com' }], trustedRoot: root } }).checkBundle(
      KEYLESS_BUNDLE,
      KEYLESS_IMAGE,
    );
    assert.deepEqual([v.verified, v.reason], [false, 'untrusted-signer']);
  });

  test('keyless bundles without keyless identities, and anything without a policy, are not configured', () => {
    assert.equal(trustOf({ cosign: { keys: [KEY_A] } }).checkBundle(KEYLESS_BUNDLE, KEYLESS_IMAGE).reason, NOT_CONFIGURED);
    assert.equal(SigningTrust.none().checkBundle(KEYLESS_BUNDLE, KEYLESS_IMAGE).reason, NOT_CONFIGURED);
    assert.equal(SigningTrust.none().hasSigners(), false);
  });

  test('a bundle that is not a bundle is malformed', () => {
    const v = trustOf({ cosign: { keys: [KEY_A] } }).checkBundle(Buffer.from('{"mediaType":'), KEYLESS_IMAGE);
    assert.deepEqual([v.verified, v.reason], [false, 'malformed']);
  });

  test('legacy: the busybox signature verifies with its key (any position in cosign.keys) and not with others', () => {
    const payload = cosignFixture('legacy/busybox-payload.json');
    const layer = {
      descriptor: {
        mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json',
        size: payload.length,
        digest: Digest.fromBytes(payload).toString(),
        annotations: { 'dev.cosignproject.cosign/signature': cosignText('legacy/busybox-signature.b64').trim() },
      },
      blob: payload,
    };
    const image = 'sha256:f3cfc9d0dbf931d3db4685ec659b7ac68e2a578219da4aae65427886e649b06b';
    const ok = trustOf({ cosign: { keys: [KEY_A, BUSYBOX_KEY] } }).checkLegacyLayer(layer, image);
    assert.equal(ok.verified, true);
    assert.match(ok.signer, /^[A-Za-z0-9+/]{43}=$/);
    const wrong = trustOf({ cosign: { keys: [KEY_A, KEY_B] } }).checkLegacyLayer(layer, image);
    assert.deepEqual([wrong.verified, wrong.reason, wrong.signer], [false, 'bad-signature', '']);
    const otherImage = trustOf({ cosign: { keys: [BUSYBOX_KEY] } }).checkLegacyLayer(layer, KEYLESS_IMAGE);
    assert.deepEqual([otherImage.verified, otherImage.reason], [false, 'digest-mismatch']);
    const keyless = { ...layer, descriptor: { ...layer.descriptor, annotations: { ...layer.descriptor.annotations, 'dev.sigstore.cosign/certificate': 'x' } } };
    assert.equal(trustOf({ cosign: { keys: [KEY_A] } }).checkLegacyLayer(keyless, image).reason, 'unsupported');
  });

  test('notation: the e2e signature verifies under its trust policy and store; a skip statement verifies nobody', async () => {
    const reference = `localhost:5000/e2e@${E2E_TARGET.digest}`;
    const envelope = { mediaType: 'application/jose+json', digest: Digest.fromBytes(E2E_ENVELOPE).toString(), size: E2E_ENVELOPE.length };
    const trust = trustOf({ notation: { trustPolicy: e2ePolicy(), trustStores: { 'ca:e2e': [e2eCertPem()] } } });
    const ok = await trust.checkNotation(envelope, E2E_ENVELOPE, E2E_TARGET, reference);
    assert.deepEqual(ok, { verified: true, signer: 'CN=e2e,O=Notary,L=Seattle,ST=WA,C=US' });
    const other = await trust.checkNotation(envelope, E2E_ENVELOPE, { ...E2E_TARGET, size: 418 }, reference);
    assert.deepEqual([other.verified, other.reason], [false, 'bad-signature']);
    assert.match(other.detail ?? '', /^integrity: the signature is for/);
    const wrongIdentity = e2ePolicy();
    (wrongIdentity.trustPolicies as { trustedIdentities: string[] }[])[0]!.trustedIdentities = ['x509.subject: CN=other,O=Notary,L=Seattle,ST=WA,C=US'];
    const untrusted = await trustOf({ notation: { trustPolicy: wrongIdentity, trustStores: { 'ca:e2e': [e2eCertPem()] } } }).checkNotation(envelope, E2E_ENVELOPE, E2E_TARGET, reference);
    assert.deepEqual([untrusted.verified, untrusted.reason, untrusted.signer], [false, 'untrusted-signer', 'CN=e2e,O=Notary,L=Seattle,ST=WA,C=US']);
    const skip = { version: '1.0', trustPolicies: [{ name: 'skip-all', registryScopes: ['*'], signatureVerification: { level: 'skip' } }] };
    const skipped = await trustOf({ notation: { trustPolicy: skip } }).checkNotation(envelope, E2E_ENVELOPE, E2E_TARGET, reference);
    assert.deepEqual([skipped.verified, skipped.reason], [false, 'verification-skipped']);
    assert.equal((await trustOf({ cosign: { keys: [KEY_A] } }).checkNotation(envelope, E2E_ENVELOPE, E2E_TARGET, reference)).reason, NOT_CONFIGURED);
  });
});
