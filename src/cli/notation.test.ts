import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fixture as notationFixture, x5cOf } from '../sign/notation/test-support.js';
import { artifactReference, certificatesOf, privateKeyOf, trustPolicyOf } from './notation.js';
import type { SigningTarget } from './signing-client.js';

describe('notation inputs', () => {
  test('the artifact reference trust policies match is registry/repository@digest', () => {
    const target = { registry: 'localhost:5000', repository: 'net-monitor', descriptor: { digest: 'sha256:' + 'a'.repeat(64) } } as unknown as SigningTarget;
    assert.equal(artifactReference(target), `localhost:5000/net-monitor@sha256:${'a'.repeat(64)}`);
  });

  test('certificate chains: PEM in file order; garbage is named', () => {
    // The chain of notation's e2e signature envelope (test/fixtures/notation/README.md), written as PEM.
    const ders = x5cOf(notationFixture('oci-layout/e2e-valid-signature/a10cfe44db01fffab281c3f1077d7663cdda573940d89fdb10b750788250d775'));
    const pem = ders.map((d) => `-----BEGIN CERTIFICATE-----\n${d.toString('base64')}\n-----END CERTIFICATE-----\n`).join('');
    assert.deepEqual(certificatesOf(Buffer.from(pem), 'chain.pem'), ders);
    assert.throws(() => certificatesOf(Buffer.from('nothing'), 'chain.pem'), /^SigningInputError: certificate chain chain\.pem: /);
  });

  test('an encrypted or unreadable private key gets a message saying what to do', () => {
    const encrypted = Buffer.from('-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----\n');
    assert.throws(() => privateKeyOf(encrypted, 'k.pem'), /k\.pem is not an unencrypted PEM private key \(decrypt it first/);
    assert.throws(() => privateKeyOf(Buffer.from('junk'), 'k.pem'), /^SigningInputError: k\.pem is not a PEM private key: /);
  });

  test('trust policies: the real notation e2e policy parses; a broken one names the rule', () => {
    const doc = trustPolicyOf(notationFixture('trust-policies/valid_trusted_identity_trustpolicy.json'), 'p.json');
    assert.equal(doc.trustPolicies[0]?.name, 'e2e');
    assert.throws(() => trustPolicyOf(Buffer.from('{"version":"2.0","trustPolicies":[]}'), 'p.json'), /^SigningInputError: trust policy p\.json: trust policy document version "2\.0" is not supported/);
  });
});
