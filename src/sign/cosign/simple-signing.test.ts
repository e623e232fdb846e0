import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CosignFormatError } from './errors.js';
import { parseSimpleSigningPayload, simpleSigningPayload } from './simple-signing.js';
import { fixture } from './test-fixtures.js';

const DIGEST = 'sha256:d34db33fd34db33fd34db33fd34db33fd34db33fd34db33fd34db33fd34db33f';

/** sigstore/sigstore pkg/signature/payload/payload_test.go TestMarshalCosign, expected bytes verbatim. */
const MARSHAL_COSIGN = [
  {
    desc: 'no claims',
    input: { dockerReference: 'example.com/test/image', manifestDigest: DIGEST },
    expected: `{"critical":{"identity":{"docker-reference":"example.com/test/image"},"image":{"docker-manifest-digest":"sha256:d34db33fd34db33fd34db33fd34db33fd34db33fd34db33fd34db33fd34db33f"},"type":"cosign container image signature"},"optional":null}`,
  },
  {
    desc: 'standard atomic signature',
    input: { dockerReference: 'example.com/atomic/test/image', manifestDigest: DIGEST, annotations: { creator: 'atomic', timestamp: 1458239713 } },
    expected: `{"critical":{"identity":{"docker-reference":"example.com/atomic/test/image"},"image":{"docker-manifest-digest":"sha256:d34db33fd34db33fd34db33fd34db33fd34db33fd34db33fd34db33fd34db33f"},"type":"cosign container image signature"},"optional":{"creator":"atomic","timestamp":1458239713}}`,
  },
  {
    desc: 'arbitrary claims',
    input: {
      dockerReference: 'example.com/cosign/test/image',
      manifestDigest: DIGEST,
      annotations: { creator: 'anyone', some_struct: { foo: 'bar', false: true, nothing: null }, 'CamelCase WithSpace': 8.314 },
    },
    expected: `{"critical":{"identity":{"docker-reference":"example.com/cosign/test/image"},"image":{"docker-manifest-digest":"sha256:d34db33fd34db33fd34db33fd34db33fd34db33fd34db33fd34db33fd34db33f"},"type":"cosign container image signature"},"optional":{"CamelCase WithSpace":8.314,"creator":"anyone","some_struct":{"false":true,"foo":"bar","nothing":null}}}`,
  },
];

describe('simpleSigningPayload', () => {
  for (const c of MARSHAL_COSIGN) {
    test(`byte-identical to sigstore's MarshalJSON: ${c.desc}`, () => {
      assert.equal(simpleSigningPayload(c.input).toString(), c.expected);
    });
  }

  test('reproduces a payload cosign signed (sigstore-rs test data)', () => {
    const payload = simpleSigningPayload({
      dockerReference: 'registry-testing.svc.lan/busybox',
      manifestDigest: 'sha256:f3cfc9d0dbf931d3db4685ec659b7ac68e2a578219da4aae65427886e649b06b',
    });
    assert.deepEqual(payload, fixture('legacy/busybox-payload.json'));
  });

  test('empty annotations are written as null, like cosign without -a', () => {
    assert.equal(simpleSigningPayload({ ...MARSHAL_COSIGN[0]!.input, annotations: {} }).toString(), MARSHAL_COSIGN[0]!.expected);
  });

  test('refuses a bad digest', () => {
    assert.throws(() => simpleSigningPayload({ dockerReference: 'x', manifestDigest: 'sha256:abc' }), CosignFormatError);
  });
});

describe('parseSimpleSigningPayload', () => {
  test('parses what sigstore unmarshals (TestUnmarshalCosign "arbitrary claims")', () => {
    const p = parseSimpleSigningPayload(Buffer.from(MARSHAL_COSIGN[2]!.expected));
    assert.equal(p.critical.image['docker-manifest-digest'], DIGEST);
    assert.deepEqual(p.optional, { 'CamelCase WithSpace': 8.314, creator: 'anyone', some_struct: { false: true, foo: 'bar', nothing: null } });
  });

  test("matches field names case-insensitively like Go (cosign 0.x wrote \"Docker-manifest-digest\")", () => {
    // What early cosign printed (Chainguard Academy's sigstore course, "cosign verify" output).
    const old =
      '{"Critical":{"Identity":{"docker-reference":""},"Image":{"Docker-manifest-digest":"sha256:87ef60f558bad79beea6425a3b28989f01dd417164150ab3baab98dcbf04def8"},"Type":"cosign container image signature"},"Optional":null}';
    const p = parseSimpleSigningPayload(Buffer.from(old));
    assert.equal(p.critical.image['docker-manifest-digest'], 'sha256:87ef60f558bad79beea6425a3b28989f01dd417164150ab3baab98dcbf04def8');
    assert.equal(p.critical.type, 'cosign container image signature');
    assert.equal(p.optional, null);
  });

  test('malformed payloads name the field', () => {
    assert.throws(() => parseSimpleSigningPayload(Buffer.from('[]')), /payload.critical must be an object/);
    assert.throws(() => parseSimpleSigningPayload(Buffer.from('{"critical":{"identity":{},"image":{}}}')), /docker-reference must be a string/);
    assert.throws(() => parseSimpleSigningPayload(Buffer.from('{')), /not JSON/);
    assert.throws(() => parseSimpleSigningPayload(Buffer.alloc(2 * 1024 * 1024)), /larger than/);
  });
});
