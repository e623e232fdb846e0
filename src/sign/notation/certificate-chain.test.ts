import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCertificate, parseCertificateFile } from './certificate.js';
import { signatureAlgorithmFor, validateCodeSigningChain } from './certificate-chain.js';
import { CertificateError } from './errors.js';
import { fixture, hasOpenssl, makePki, x5cOf, type PkiOptions } from './test-support.js';

const skip = hasOpenssl ? false : 'the openssl CLI is not installed';
const wabbit = () => parseCertificateFile(fixture('certs/wabbit-networks.io.crt'));
const caValid = () => x5cOf(fixture('envelopes/ca_valid_sig_env.json')).map((d) => parseCertificate(d));

// Expected values below were read from the same certificates with `openssl x509 -text`.
test('parses the fields of notation-core-go wabbit-networks.io chain', () => {
  const [leaf, ca] = wabbit();
  assert.ok(leaf && ca);
  assert.equal(leaf.subjectString, 'CN=wabbit-networks.io,O=Notary,L=Seattle,ST=WA,C=US');
  assert.equal(ca.subjectString, 'CN=wabbit-networks.io CA,O=Notary,L=Seattle,ST=WA,C=US');
  assert.deepEqual(leaf.keyUsage, { critical: true, bits: new Set(['digitalSignature']) });
  assert.deepEqual(leaf.extKeyUsage, ['1.3.6.1.5.5.7.3.3']);
  assert.equal(leaf.basicConstraints, undefined);
  assert.deepEqual(ca.basicConstraints, { critical: true, ca: true, pathLen: 1 });
  assert.deepEqual(ca.keyUsage, { critical: true, bits: new Set(['keyCertSign']) });
  assert.equal(leaf.notBefore.toISOString(), '2022-08-10T07:41:42.000Z');
  assert.equal(leaf.notAfter.toISOString(), '2122-08-11T07:41:42.000Z');
  assert.equal(leaf.hasRevocationInfo, false);
});

test('SHA-256 thumbprints match openssl fingerprints', () => {
  const [leaf, root] = caValid();
  assert.equal(leaf?.sha256, 'b70be6929a17bb5bad36abe440e88cb5471e1d828dd26b9a8a5df753be70314a');
  assert.equal(root?.sha256, '9f37c85b6b5e5898a93b3704908798ba32c990c7fbb7718311ecadf8cb3cced0');
});

test('certificate files hold PEM blocks or concatenated DER', () => {
  const pem = parseCertificateFile(fixture('certs/multi-pem.crt'));
  assert.equal(pem.length, 2);
  assert.equal(pem[0]?.subjectString, 'CN=GlobalSign,O=GlobalSign,OU=GlobalSign Root CA - R3');
  const der = Buffer.concat(wabbit().map((c) => c.der));
  assert.deepEqual(parseCertificateFile(der).map((c) => c.sha256), wabbit().map((c) => c.sha256));
});

test('malformed certificates give CertificateError', () => {
  assert.throws(() => parseCertificate(Buffer.alloc(0)), CertificateError);
  assert.throws(() => parseCertificate(Buffer.from('not a certificate')), CertificateError);
  const der = wabbit()[0]?.der as Buffer;
  assert.throws(() => parseCertificate(der.subarray(0, 100)), CertificateError);
  assert.throws(() => parseCertificateFile(Buffer.from('hello')), /not a DER certificate/);
  assert.throws(() => parseCertificateFile(Buffer.from('-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----')), CertificateError);
  assert.throws(() => parseCertificateFile(Buffer.concat([der, der.subarray(0, 10)])), /truncated/);
});

test('algorithm follows the key: RSA 2048 -> PS256, RSA 3072 -> PS384', () => {
  assert.equal(signatureAlgorithmFor(wabbit()[0]!), 'PS256');
  assert.equal(signatureAlgorithmFor(caValid()[0]!), 'PS384');
});

test('real chains are valid at their signing time and not outside their validity', () => {
  validateCodeSigningChain(wabbit(), new Date('2024-01-01T00:00:00Z'));
  validateCodeSigningChain(caValid(), new Date('2022-07-29T22:55:10Z')); // signing time of ca_valid_sig_env.json
  const alpine = x5cOf(fixture('envelopes/jws_signature.sig')).map((d) => parseCertificate(d));
  validateCodeSigningChain(alpine, new Date('2023-03-14T08:10:02Z')); // a self-signed signing certificate
  assert.throws(() => validateCodeSigningChain(wabbit(), new Date('2021-01-01T00:00:00Z')), /not valid at signing time/);
  assert.throws(() => validateCodeSigningChain(caValid(), new Date('2022-08-01T00:00:00Z')), /not valid at signing time/);
});

test('chain order and membership are checked', () => {
  const [leaf, ca] = wabbit() as [ReturnType<typeof wabbit>[0], ReturnType<typeof wabbit>[0]];
  const t = new Date('2024-01-01T00:00:00Z');
  assert.throws(() => validateCodeSigningChain([], t), /empty/);
  assert.throws(() => validateCodeSigningChain([leaf], t), /not a self-signed root/);
  assert.throws(() => validateCodeSigningChain([ca, leaf], t), /self-signed but is not the last/);
  const other = caValid()[1]!;
  assert.throws(() => validateCodeSigningChain([leaf, other], new Date('2022-08-15T00:00:00Z')), /not issued by the next one/);
  assert.throws(() => validateCodeSigningChain([leaf, ca, ca], t), /self-signed but is not the last/);
  assert.throws(() => validateCodeSigningChain(Array(11).fill(leaf), t), /longer than 10/);
});

const refused: [string, PkiOptions, RegExp][] = [
  ['a leaf with cA true', { leafExtensions: ['basicConstraints = CA:TRUE', 'keyUsage = critical, digitalSignature'] }, /cA must be false/],
  ['a leaf without keyUsage', { leafExtensions: ['extendedKeyUsage = codeSigning'] }, /keyUsage extension must be present/],
  ['a leaf whose keyUsage is not critical', { leafExtensions: ['keyUsage = digitalSignature'] }, /must be critical/],
  ['a leaf without digitalSignature', { leafExtensions: ['keyUsage = critical, nonRepudiation'] }, /include digitalSignature/],
  ['a leaf with keyEncipherment', { leafExtensions: ['keyUsage = critical, digitalSignature, keyEncipherment'], leafKey: 'rsa2048' }, /keyEncipherment/],
  ['a leaf with serverAuth', { leafExtensions: ['keyUsage = critical, digitalSignature', 'extendedKeyUsage = codeSigning, serverAuth'] }, /serverAuth/],
  ['a leaf with anyExtendedKeyUsage', { leafExtensions: ['keyUsage = critical, digitalSignature', 'extendedKeyUsage = anyExtendedKeyUsage'] }, /anyExtendedKeyUsage/],
  ['a CA whose basicConstraints is not critical', { rootExtensions: ['basicConstraints = CA:TRUE', 'keyUsage = critical, keyCertSign'] }, /critical and cA true/],
  ['a CA without keyCertSign', { rootExtensions: ['basicConstraints = critical, CA:TRUE', 'keyUsage = critical, cRLSign'] }, /keyCertSign/],
  [
    'a root whose pathLenConstraint 0 leaves no room for the intermediate',
    { withIntermediate: true, rootExtensions: ['basicConstraints = critical, CA:TRUE, pathlen:0', 'keyUsage = critical, keyCertSign'] },
    /pathLenConstraint 0/,
  ],
  ['a leaf signed with SHA-1', { leafDigest: 'sha1' }, /SHA-1/],
  ['an RSA 1024 leaf', { leafKey: 'rsa1024' }, /1024 bits is not supported/],
  ['an Ed25519 leaf', { leafKey: 'ed25519' }, /ed25519 keys are not supported/],
];

for (const [what, opts, message] of refused) {
  test(`refuses ${what}`, { skip }, () => {
    const pki = makePki(opts);
    assert.throws(() => validateCodeSigningChain(pki.chain.map((d) => parseCertificate(d)), new Date()), message);
  });
}

test('accepts EC chains with an intermediate and picks ES256/ES384/ES512', { skip }, () => {
  for (const [leafKey, alg] of [['P-256', 'ES256'], ['P-384', 'ES384'], ['P-521', 'ES512']] as const) {
    const pki = makePki({ leafKey, withIntermediate: true });
    const chain = pki.chain.map((d) => parseCertificate(d));
    validateCodeSigningChain(chain, new Date());
    assert.equal(signatureAlgorithmFor(chain[0]!), alg);
  }
});

test('mutated certificates give CertificateError or parse, never another error', () => {
  const der = wabbit()[1]?.der as Buffer;
  let seed = 7;
  const random = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  for (let i = 0; i < 300; i++) {
    const bytes = Buffer.from(der);
    bytes[random(bytes.length)] = random(256);
    try {
      parseCertificate(bytes);
    } catch (e) {
      assert.ok(e instanceof CertificateError, String(e));
    }
  }
});
