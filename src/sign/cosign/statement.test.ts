import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { dsseEnvelopeJson, pae, parseDsseEnvelope, signDsse, verifyDsse } from './dsse.js';
import { CosignFormatError } from './errors.js';
import { cosignPublicKey, loadPrivateKey } from './keys.js';
import {
  checkStatement,
  COSIGN_SIGN_PREDICATE_TYPE,
  cosignSignStatement,
  customPredicate,
  inTotoStatement,
  resolvePredicateType,
  StatementMismatch,
} from './statement.js';
import { fixture } from './test-fixtures.js';

/** `cosign attest --type vuln` output for ghcr.io/distroless/static (sigstore/policy-controller test data). */
const envelopeBytes = fixture('legacy/distroless-vuln-attestation.dsse.json');
const leafKey = (): ReturnType<typeof cosignPublicKey> => cosignPublicKey(new X509Certificate(fixture('legacy/distroless-vuln-attestation.leaf.pem')).publicKey);
const DISTROLESS = 'sha256:a1e82f6a5f6dfc735165d3442e7cc5a615f72abac3db19452481f5f3c90fbfa8';

describe('DSSE', () => {
  test('PAE: the DSSE protocol.md example', () => {
    assert.equal(pae('http://example.com/HelloWorld', Buffer.from('hello world')).toString(), 'DSSEv1 29 http://example.com/HelloWorld 11 hello world');
  });

  test('a real cosign envelope parses, verifies with its signer key, and re-serializes byte for byte', () => {
    const envelope = parseDsseEnvelope(envelopeBytes);
    assert.equal(verifyDsse(envelope, leafKey()), true);
    assert.deepEqual(dsseEnvelopeJson(envelope), envelopeBytes);
    envelope.payload[10] = (envelope.payload[10] ?? 0) ^ 1;
    assert.equal(verifyDsse(envelope, leafKey()), false);
  });

  test('signDsse round trip, and envelopes that are not DSSE', async () => {
    const key = await loadPrivateKey(fixture('keys/validecp384.key'));
    const env = signDsse(key, 'application/vnd.in-toto+json', Buffer.from('{}'));
    assert.equal(verifyDsse(parseDsseEnvelope(dsseEnvelopeJson(env)), key.publicKey), true);
    assert.equal(verifyDsse(env, leafKey()), false);
    assert.throws(() => parseDsseEnvelope(Buffer.from('{"payloadType":"x","payload":"e30=","signatures":[]}')), /no signatures/);
    assert.throws(() => parseDsseEnvelope(Buffer.from('{"payloadType":"x","payload":"%%","signatures":[{"sig":"AA=="}]}')), /payload must be base64/);
    assert.throws(() => parseDsseEnvelope(Buffer.from('[1]')), CosignFormatError);
  });
});

describe('in-toto statements', () => {
  test("cosign's predicate type names (options/predicate.go) and URIs", () => {
    assert.equal(resolvePredicateType('slsaprovenance'), 'https://slsa.dev/provenance/v0.2');
    assert.equal(resolvePredicateType('slsaprovenance1'), 'https://slsa.dev/provenance/v1');
    assert.equal(resolvePredicateType('spdxjson'), 'https://spdx.dev/Document');
    assert.equal(resolvePredicateType('cyclonedx'), 'https://cyclonedx.org/bom');
    assert.equal(resolvePredicateType('custom'), 'https://cosign.sigstore.dev/attestation/v1');
    assert.equal(resolvePredicateType('https://example.com/p/v1'), 'https://example.com/p/v1');
    assert.throws(() => resolvePredicateType('not a uri'), /invalid predicate type/);
  });

  test('the statement the real cosign attestation carries passes the image checks', () => {
    const payload = parseDsseEnvelope(envelopeBytes).payload;
    const s = checkStatement(payload, DISTROLESS);
    assert.equal(s._type, 'https://in-toto.io/Statement/v0.1');
    assert.equal(s.subject[0]?.name, 'ghcr.io/distroless/static');
    // cosign of July 2022 wrote the vuln type without a scheme; today's `--type vuln` means the https URI.
    assert.equal(checkStatement(payload, DISTROLESS, 'cosign.sigstore.dev/attestation/vuln/v1').predicateType, 'cosign.sigstore.dev/attestation/vuln/v1');
    assert.throws(() => checkStatement(payload, DISTROLESS, 'vuln'), (e: unknown) => e instanceof StatementMismatch && e.reason === 'predicate-type-mismatch');
    assert.throws(() => checkStatement(payload, 'sha256:' + '0'.repeat(64)), (e: unknown) => e instanceof StatementMismatch && e.reason === 'digest-mismatch');
  });

  test('statements are written in protojson field order with the subject digest', () => {
    const digest = 'sha256:' + 'ab'.repeat(32);
    const bytes = inTotoStatement({ predicateType: 'https://slsa.dev/provenance/v1', predicate: { z: 1, a: '<b>' }, subjectName: 'r.example/app', digest });
    assert.equal(
      bytes.toString(),
      `{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"r.example/app","digest":{"sha256":"${'ab'.repeat(32)}"}}],"predicateType":"https://slsa.dev/provenance/v1","predicate":{"a":"<b>","z":1}}`,
    );
    assert.equal(checkStatement(bytes, digest, 'slsaprovenance1').subject.length, 1);
  });

  test("cosign sign's statement: empty predicate, unnamed subject with (empty) annotations", () => {
    const digest = 'sha256:' + '01'.repeat(32);
    assert.equal(
      cosignSignStatement(digest).toString(),
      `{"_type":"https://in-toto.io/Statement/v1","subject":[{"digest":{"sha256":"${'01'.repeat(32)}"},"annotations":{}}],"predicateType":"${COSIGN_SIGN_PREDICATE_TYPE}","predicate":{}}`,
    );
    assert.equal(JSON.parse(cosignSignStatement(digest, { team: 'a' }).toString()).subject[0].annotations.team, 'a');
  });

  test("cosign's custom predicate wraps the text with an RFC 3339 timestamp", () => {
    // As in cosign's oci-attestation test bundle: {"Data":"{\"foo\": \"bar\"}\n","Timestamp":"2025-02-28T19:18:11Z"}.
    assert.deepEqual(customPredicate('{"foo": "bar"}\n', new Date('2025-02-28T19:18:11.678Z')), { Data: '{"foo": "bar"}\n', Timestamp: '2025-02-28T19:18:11Z' });
  });

  test('malformed statements are format errors', () => {
    const d = 'sha256:' + '01'.repeat(32);
    assert.throws(() => checkStatement(Buffer.from('{"_type":"x"}'), d), CosignFormatError);
    assert.throws(() => checkStatement(Buffer.from('{"_type":"https://in-toto.io/Statement/v1","predicateType":"p","subject":[]}'), d), /no subject/);
    assert.throws(() => inTotoStatement({ predicateType: 'p:x', predicate: [] as unknown as Record<string, unknown>, digest: d }), /JSON object/);
  });
});
