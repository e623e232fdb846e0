import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { FlattenedSign } from 'jose';
import { parseAndVerifyJws, signJws } from './jws-envelope.js';
import { parseCertificateFile } from './certificate.js';
import { CertificateError, SignatureEnvelopeError } from './errors.js';
import { fixture, hasOpenssl, makePki, withMember, x5cOf } from './test-support.js';

const E2E_ENVELOPE = 'oci-layout/e2e-with-timestamped-signature/cacefba75b1771fa028faeb3c02f0ab6aa2430c52c96b5e127513259309002d4';
const wabbitKey = () => createPrivateKey(fixture('certs/wabbit-networks.io.key'));
const wabbitChain = () => parseCertificateFile(fixture('certs/wabbit-networks.io.crt')).map((c) => c.der);
const b64json = (s: string): Record<string, unknown> => JSON.parse(Buffer.from(s, 'base64url').toString('utf8')) as Record<string, unknown>;
const member = (env: Uint8Array, k: string): string => (JSON.parse(Buffer.from(env).toString('utf8')) as Record<string, string>)[k] as string;

// Targets are the ones the fixtures' sources name (notation-go internal/mock/mocks.go ImageDescriptor,
// the notation e2e OCI layouts' index.json), and the times are the envelopes' signing times.
test('verifies real notation JWS envelopes', async () => {
  const cases: [string, { digest: string; mediaType: string; size: number }, string, string, number][] = [
    [
      'envelopes/jws_signature.sig',
      { digest: 'sha256:19dbd2e48e921426ee8ace4dc892edfb2ecdc1d1a72d5416c83670c30acecef0', mediaType: 'application/vnd.oci.image.manifest.v1+json', size: 481 },
      '2023-03-14T08:10:02.000Z',
      'PS256',
      1,
    ],
    [
      'envelopes/withoutTimestamp.sig',
      { digest: 'sha256:c0669ef34cdc14332c0f1ab0c2c01acb91d96014b172f1a76f3a39e63d1f0bda', mediaType: 'application/vnd.docker.distribution.manifest.v2+json', size: 528 },
      '2024-06-18T09:08:35.000Z',
      'PS256',
      1,
    ],
    [
      'envelopes/ca_valid_sig_env.json',
      { digest: 'sha256:60043cf45eaebc4c0867fea485a039b598f52fd09fd5b07b0b2d2f88fad9d74e', mediaType: 'application/vnd.docker.distribution.manifest.v2+json', size: 528 },
      '2022-07-29T22:55:10.000Z',
      'PS384',
      2,
    ],
    [
      'oci-layout/e2e-valid-signature/a10cfe44db01fffab281c3f1077d7663cdda573940d89fdb10b750788250d775',
      { digest: 'sha256:cc2ae4e91a31a77086edbdbf4711de48e5fa3ebdacad3403e61777a9e1a53b6f', mediaType: 'application/vnd.oci.artifact.manifest.v1+json', size: 417 },
      '2022-12-30T03:11:19.000Z',
      'PS256',
      1,
    ],
    [
      E2E_ENVELOPE,
      { digest: 'sha256:d7b441acd8ea27f3fa22afeb4433c937a22c241f6f61ccc5ce84172509bf78ae', mediaType: 'application/vnd.oci.image.manifest.v1+json', size: 582 },
      '2025-01-17T06:34:56.000Z',
      'PS256',
      1,
    ],
  ];
  for (const [file, target, signingTime, alg, chainLength] of cases) {
    const v = await parseAndVerifyJws(fixture(file));
    assert.deepEqual(v.targetArtifact, target, file);
    assert.equal(v.signingTime.toISOString(), signingTime, file);
    assert.equal(v.algorithm, alg, file);
    assert.equal(v.signingScheme, 'notary.x509', file);
    assert.equal(v.certificateChain.length, chainLength, file);
  }
});

test('reads expiry, signing agent, timestamp token and the signingAuthority scheme', async () => {
  const valid = await parseAndVerifyJws(fixture('envelopes/ca_valid_sig_env.json'));
  assert.equal(valid.expiry?.toISOString(), '2122-01-01T12:00:00.000Z');
  assert.equal(valid.signingAgent, undefined); // this old envelope spells the header io.cncf.notary.SigningAgent
  const expired = await parseAndVerifyJws(fixture('envelopes/ca_expired_sig_env.json'));
  assert.equal(expired.expiry?.toISOString(), '2022-07-29T23:59:00.000Z'); // expiry is judged by policy, not here
  const sa = await parseAndVerifyJws(fixture('envelopes/sa_valid_sig_env.json'));
  assert.equal(sa.signingScheme, 'notary.x509.signingAuthority');
  assert.equal(sa.signingTime.toISOString(), '2022-07-29T22:56:51.000Z');
  const ts = await parseAndVerifyJws(fixture('envelopes/jwsWithTimestamp.sig'));
  assert.ok(ts.timestampSignature && ts.timestampSignature.length > 1000);
  assert.equal(ts.signingAgent, 'Notation/1.0.0');
  assert.equal((await parseAndVerifyJws(fixture(E2E_ENVELOPE))).signingAgent, 'notation-go/1.3.0+unreleased');
});

test('rejects notation-go ca_invalid_sig_env.json (tampered payload and signature)', async () => {
  await assert.rejects(parseAndVerifyJws(fixture('envelopes/ca_invalid_sig_env.json')), SignatureEnvelopeError);
});

test('rejects tampered copies of a real envelope', async () => {
  const env = fixture('envelopes/withoutTimestamp.sig');
  const payload = Buffer.from(member(env, 'payload'), 'base64url').toString('utf8');
  const changedDigest = payload.replace('c0669ef3', 'c0669ef4');
  const changedSize = payload.replace('"size":528', '"size":529');
  for (const p of [changedDigest, changedSize]) {
    await assert.rejects(parseAndVerifyJws(withMember(env, 'payload', Buffer.from(p).toString('base64url'))), /signature does not verify/);
  }
  const header = b64json(member(env, 'protected'));
  header['io.cncf.notary.signingTime'] = '2024-06-18T17:08:36+08:00';
  await assert.rejects(parseAndVerifyJws(withMember(env, 'protected', Buffer.from(JSON.stringify(header)).toString('base64url'))), /signature does not verify/);
  const sig = Buffer.from(member(env, 'signature'), 'base64url');
  sig[10] = (sig[10] as number) ^ 1;
  await assert.rejects(parseAndVerifyJws(withMember(env, 'signature', sig.toString('base64url'))), /signature does not verify/);
  // Another RSA 2048 signing certificate: same alg, wrong key.
  const otherCert = x5cOf(fixture(E2E_ENVELOPE))[0]?.toString('base64');
  const h = (JSON.parse(env.toString('utf8')) as { header: Record<string, unknown> }).header;
  await assert.rejects(parseAndVerifyJws(withMember(env, 'header', { ...h, x5c: [otherCert] })), /signature does not verify/);
  // An RSA 3072 certificate: its key requires PS384, the header says PS256.
  const rsa3072 = x5cOf(fixture('envelopes/ca_valid_sig_env.json')).map((d) => d.toString('base64'));
  await assert.rejects(parseAndVerifyJws(withMember(env, 'header', { ...h, x5c: rsa3072 })), /alg PS256 does not match .* requires PS384/);
});

test('rejects malformed envelopes with SignatureEnvelopeError', async () => {
  const env = fixture('envelopes/withoutTimestamp.sig');
  const h = (JSON.parse(env.toString('utf8')) as { header: Record<string, unknown> }).header;
  const bad: [Uint8Array, RegExp][] = [
    [Buffer.from('not json'), /not JSON/],
    [Buffer.from('[]'), /JSON object/],
    [withMember(env, 'extra', 1), /unsupported member "extra"/],
    [withMember(env, 'payload', 'a+b'), /base64url/],
    [withMember(env, 'header', 'x'), /must be an object/],
    [withMember(env, 'header', { ...h, x5c: [] }), /x5c .* is required/],
    [withMember(env, 'header', { ...h, x5c: ['!!'] }), /x5c\[0\] must be a base64 string/],
    [withMember(env, 'header', { ...h, x5c: ['AAAA'] }), /x5c\[0\]/],
    [withMember(env, 'protected', Buffer.from('[1]').toString('base64url')), /protected header must be a JSON object/],
    [Buffer.alloc(1024 * 1024 + 1, 32), /larger than/],
  ];
  for (const [bytes, re] of bad) await assert.rejects(parseAndVerifyJws(bytes), re);
});

/** Signs arbitrary protected headers with the wabbit-networks key, so only the header rules can fail. */
async function craft(protectedHeader: Record<string, unknown>, payload: unknown = { targetArtifact: TARGET }): Promise<Buffer> {
  const crit = Object.fromEntries(((protectedHeader.crit as string[] | undefined) ?? []).map((c) => [c, true]));
  const jws = await new FlattenedSign(Buffer.from(JSON.stringify(payload)))
    .setProtectedHeader(protectedHeader as { alg: string })
    .setUnprotectedHeader({ x5c: wabbitChain().map((d) => d.toString('base64')) })
    .sign(wabbitKey(), { crit });
  return Buffer.from(JSON.stringify(jws));
}
const TARGET = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${'a'.repeat(64)}`, size: 7 };
const HEADER = {
  alg: 'PS256',
  crit: ['io.cncf.notary.signingScheme'],
  cty: 'application/vnd.cncf.notary.payload.v1+json',
  'io.cncf.notary.signingScheme': 'notary.x509',
  'io.cncf.notary.signingTime': '2024-01-01T00:00:00Z',
};

test('validly signed envelopes with wrong Notary headers are refused', async () => {
  assert.equal((await parseAndVerifyJws(await craft(HEADER))).targetArtifact.size, 7);
  const withExpiry = { ...HEADER, 'io.cncf.notary.expiry': '2025-01-01T00:00:00Z' };
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ ...HEADER, crit: undefined }, /crit must be a non-empty array/],
    [withExpiry, /crit must list io.cncf.notary.expiry/],
    [{ ...HEADER, crit: ['io.cncf.notary.signingScheme', 'io.cncf.notary.verificationPlugin'], 'io.cncf.notary.verificationPlugin': 'x' }, /does not process: io.cncf.notary.verificationPlugin/],
    [{ ...HEADER, cty: 'application/json' }, /cty "application\/json" is not supported/],
    [{ ...HEADER, 'io.cncf.notary.signingScheme': 'notary.other' }, /signingScheme "notary.other" is not supported/],
    [{ ...HEADER, 'io.cncf.notary.signingTime': undefined }, /signingTime is required/],
    [{ ...HEADER, 'io.cncf.notary.signingTime': '2024-01-01 00:00:00' }, /RFC 3339/],
    [{ ...HEADER, 'io.cncf.notary.signingTime': '2024-02-30T00:00:00Z' }, /RFC 3339/],
    [{ ...HEADER, 'io.cncf.notary.authenticSigningTime': '2024-01-01T00:00:00Z' }, /authenticSigningTime must not be present/],
    [{ ...withExpiry, crit: ['io.cncf.notary.signingScheme', 'io.cncf.notary.expiry'], 'io.cncf.notary.expiry': '2023-01-01T00:00:00Z' }, /expiry must be after/],
    [{ ...HEADER, alg: 'PS384' }, /alg PS384 does not match/],
    [{ ...HEADER, alg: 'RS256' }, /alg "RS256" is not one of/],
  ];
  for (const [h, re] of cases) await assert.rejects(async () => parseAndVerifyJws(await craft(h)), re, JSON.stringify(h));
  await assert.rejects(async () => parseAndVerifyJws(await craft(HEADER, { subject: TARGET })), /targetArtifact/);
  await assert.rejects(async () => parseAndVerifyJws(await craft(HEADER, { targetArtifact: { ...TARGET, digest: 'sha256:xyz' } })), /digest/);
});

test('signJws writes the protected header and payload exactly as notation-go 1.3 does', async () => {
  // Same target and signing time as the real notation-go 1.3 envelope, signed with another RSA 2048 key.
  const real = fixture(E2E_ENVELOPE);
  const target = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: 'sha256:d7b441acd8ea27f3fa22afeb4433c937a22c241f6f61ccc5ce84172509bf78ae', size: 582 };
  const signed = await signJws({ key: wabbitKey(), chain: wabbitChain(), target, signingTime: new Date('2025-01-17T06:34:56.789Z') });
  assert.equal(member(signed.bytes, 'protected'), member(real, 'protected'));
  assert.equal(member(signed.bytes, 'payload'), member(real, 'payload'));
  const doc = JSON.parse(signed.bytes.toString('utf8')) as Record<string, unknown>;
  assert.deepEqual(Object.keys(doc), ['payload', 'protected', 'header', 'signature']);
  assert.deepEqual(doc.header, { x5c: wabbitChain().map((d) => d.toString('base64')), 'io.cncf.notary.signingAgent': 'berth' });
  assert.equal(signed.signingTime.toISOString(), '2025-01-17T06:34:56.000Z');
  const v = await parseAndVerifyJws(signed.bytes);
  assert.deepEqual(v.targetArtifact, { digest: target.digest, mediaType: target.mediaType, size: 582 });
});

test('signJws with expiry orders headers and crit like notation-go', async () => {
  const real = b64json(member(fixture('envelopes/ca_valid_sig_env.json'), 'protected'));
  const signed = await signJws({
    key: wabbitKey(),
    chain: wabbitChain(),
    target: { ...TARGET, annotations: { 'z.key': '1', 'a.key': '2' } },
    signingTime: new Date('2024-01-01T00:00:00Z'),
    expiry: new Date('2024-02-01T00:00:00Z'),
  });
  const ours = b64json(member(signed.bytes, 'protected'));
  assert.deepEqual(Object.keys(ours), Object.keys(real));
  assert.deepEqual(ours.crit, real.crit);
  assert.equal(ours['io.cncf.notary.expiry'], '2024-02-01T00:00:00Z');
  const v = await parseAndVerifyJws(signed.bytes);
  assert.equal(v.expiry?.toISOString(), '2024-02-01T00:00:00.000Z');
  assert.deepEqual(Object.keys(v.targetArtifact.annotations ?? {}), ['a.key', 'z.key']);
});

test('signJws refuses a key that is not the leaf key, bad times and bad targets', async () => {
  const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const base = { key: wabbitKey(), chain: wabbitChain(), target: TARGET, signingTime: new Date('2024-01-01T00:00:00Z') };
  await assert.rejects(signJws({ ...base, key: other.privateKey }), /does not belong to the signing certificate/);
  await assert.rejects(signJws({ ...base, key: other.publicKey }), /must be a private key/);
  await assert.rejects(signJws({ ...base, expiry: base.signingTime }), /expiry must be after/);
  await assert.rejects(signJws({ ...base, signingTime: new Date('2021-01-01T00:00:00Z') }), CertificateError);
  await assert.rejects(signJws({ ...base, chain: wabbitChain().slice(0, 1) }), /not a self-signed root/);
  await assert.rejects(signJws({ ...base, target: { ...TARGET, size: -1 } }), SignatureEnvelopeError);
});

test('signs and verifies with EC keys (ES256, ES384, ES512) from an openssl chain', { skip: hasOpenssl ? false : 'no openssl' }, async () => {
  for (const [leafKey, alg] of [['P-256', 'ES256'], ['P-384', 'ES384'], ['P-521', 'ES512']] as const) {
    const pki = makePki({ leafKey, withIntermediate: true });
    const signed = await signJws({ key: pki.leaf.key, chain: pki.chain, target: TARGET });
    assert.equal(b64json(member(signed.bytes, 'protected')).alg, alg);
    const v = await parseAndVerifyJws(signed.bytes);
    assert.equal(v.algorithm, alg);
    assert.equal(v.certificateChain.length, 3);
  }
});
