import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { ManifestParseError, effectiveArtifactType, parseDescriptor, parseManifest } from './manifest.js';
import {
  IMAGE_MANIFEST_TYPES,
  INDEX_TYPES,
  MANIFEST_TYPES,
  MediaType,
  baseMediaType,
  isValidMediaType,
} from './media-type.js';

/*
 * Expected values come from the OCI image-spec v1.1 (descriptor.md, manifest.md,
 * image-index.md, the JSON schemas under schema/), the Docker Image Manifest V2
 * Schema 2 document, and the distribution-spec v1.1 ("Pushing Manifests").
 * Digests are computed here with node:crypto.
 */

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
const OCI_EMPTY = 'application/vnd.oci.empty.v1+json';
const OCI_LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
const DOCKER_CONFIG = 'application/vnd.docker.container.image.v1+json';
const DOCKER_LAYER = 'application/vnd.docker.image.rootfs.diff.tar.gzip';
const SCHEMA1 = 'application/vnd.docker.distribution.manifest.v1+json';
const SCHEMA1_SIGNED = 'application/vnd.docker.distribution.manifest.v1+prettyjws';

const sha256 = (s: string): string => 'sha256:' + createHash('sha256').update(s).digest('hex');
const EMPTY_JSON_DIGEST = 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a';

type Json = Record<string, unknown>;
const desc = (mediaType: string, content: string, extra: Json = {}): Json => ({
  mediaType,
  digest: sha256(content),
  size: Buffer.byteLength(content),
  ...extra,
});
const bytes = (doc: unknown): Uint8Array => new Uint8Array(Buffer.from(JSON.stringify(doc)));

const CONFIG = desc(OCI_CONFIG, '{"architecture":"amd64","os":"linux"}');
const LAYER = desc(OCI_LAYER_GZIP, 'layer-bytes');
const LAYER2 = desc(OCI_LAYER_GZIP, 'layer-bytes-2');

const ociManifest = (over: Json = {}): Json => ({
  schemaVersion: 2,
  mediaType: OCI_MANIFEST,
  config: CONFIG,
  layers: [LAYER, LAYER2],
  ...over,
});
const ociIndex = (over: Json = {}): Json => ({
  schemaVersion: 2,
  mediaType: OCI_INDEX,
  manifests: [
    desc(OCI_MANIFEST, 'amd64', { platform: { architecture: 'amd64', os: 'linux' } }),
    desc(OCI_MANIFEST, 'arm64', { platform: { architecture: 'arm64', os: 'linux', variant: 'v8' } }),
  ],
  ...over,
});

/** Asserts parseManifest throws a ManifestParseError whose message matches `re`. */
function rejects(doc: unknown, contentType: string | undefined, re: RegExp): void {
  assert.throws(
    () => parseManifest(typeof doc === 'string' ? new Uint8Array(Buffer.from(doc)) : bytes(doc), contentType),
    (e: unknown) => {
      assert.ok(e instanceof ManifestParseError, `expected ManifestParseError, got ${String(e)}`);
      assert.match(e.message, re);
      return true;
    },
  );
}

describe('media types', () => {
  test('constants are the spec strings', () => {
    assert.equal(MediaType.OciManifest, OCI_MANIFEST);
    assert.equal(MediaType.OciIndex, OCI_INDEX);
    assert.equal(MediaType.OciConfig, OCI_CONFIG);
    assert.equal(MediaType.OciEmpty, OCI_EMPTY);
    assert.equal(MediaType.OciLayerGzip, OCI_LAYER_GZIP);
    assert.equal(MediaType.OciLayerTar, 'application/vnd.oci.image.layer.v1.tar');
    assert.equal(MediaType.OciLayerZstd, 'application/vnd.oci.image.layer.v1.tar+zstd');
    assert.equal(MediaType.DockerManifest, DOCKER_MANIFEST);
    assert.equal(MediaType.DockerManifestList, DOCKER_LIST);
    assert.equal(MediaType.DockerConfig, DOCKER_CONFIG);
    assert.equal(MediaType.DockerLayerGzip, DOCKER_LAYER);
    assert.equal(MediaType.DockerSchema1, SCHEMA1);
    assert.equal(MediaType.DockerSchema1Signed, SCHEMA1_SIGNED);
  });

  test('manifest and index type lists', () => {
    assert.deepEqual([...IMAGE_MANIFEST_TYPES].sort(), [DOCKER_MANIFEST, OCI_MANIFEST].sort());
    assert.deepEqual([...INDEX_TYPES].sort(), [DOCKER_LIST, OCI_INDEX].sort());
    assert.deepEqual([...MANIFEST_TYPES].sort(), [DOCKER_LIST, DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST].sort());
    assert.ok(!MANIFEST_TYPES.includes(SCHEMA1));
    assert.ok(!MANIFEST_TYPES.includes(SCHEMA1_SIGNED));
  });

  test('baseMediaType strips parameters and whitespace and lower-cases (RFC 7231: type/subtype are case-insensitive)', () => {
    assert.equal(baseMediaType(`${OCI_MANIFEST}; charset=utf-8`), OCI_MANIFEST);
    assert.equal(baseMediaType(`  ${OCI_MANIFEST}  `), OCI_MANIFEST);
    assert.equal(baseMediaType('Application/VND.OCI.Image.Manifest.v1+JSON'), OCI_MANIFEST);
    assert.equal(baseMediaType(''), '');
  });

  test('isValidMediaType follows the image-spec schema pattern (defs-descriptor.json)', () => {
    for (const ok of [
      OCI_MANIFEST,
      'application/vnd.buildkit.cacheconfig.v0',
      'application/vnd.in-toto+json',
      'application/vnd.dev.cosign.simplesigning.v1+json',
      'text/plain',
      'a/b',
      `a/${'b'.repeat(127)}`,
    ]) {
      assert.equal(isValidMediaType(ok), true, ok);
    }
    for (const bad of ['', 'application', 'application/', '/json', 'application/json; charset=utf-8', 'a b/c', 'a/b/c', `a/${'b'.repeat(128)}`, 42, null, undefined]) {
      assert.equal(isValidMediaType(bad), false, String(bad));
    }
  });
});

describe('parseDescriptor (image-spec descriptor.md: mediaType, digest, size are REQUIRED)', () => {
  test('a complete descriptor is returned with its optional fields', () => {
    const d = parseDescriptor(
      {
        ...LAYER,
        artifactType: 'application/vnd.example+type',
        annotations: { 'org.opencontainers.image.title': 'x' },
        urls: ['https://example.com/layer'],
        platform: { architecture: 'arm', os: 'linux', variant: 'v7', 'os.features': ['x'] },
      },
      'layers[0]',
    );
    assert.equal(d.mediaType, OCI_LAYER_GZIP);
    assert.equal(d.digest, LAYER.digest);
    assert.equal(d.size, LAYER.size);
    assert.equal(d.artifactType, 'application/vnd.example+type');
    assert.deepEqual(d.annotations, { 'org.opencontainers.image.title': 'x' });
    assert.equal(d.platform?.variant, 'v7');
  });

  test('size 0 is valid (the empty blob)', () => {
    const d = parseDescriptor({ mediaType: OCI_LAYER_GZIP, digest: sha256(''), size: 0 }, 'layers[0]');
    assert.equal(d.size, 0);
  });

  test('a sha512 digest is valid', () => {
    const d512 = 'sha512:' + createHash('sha512').update('x').digest('hex');
    assert.equal(parseDescriptor({ mediaType: OCI_LAYER_GZIP, digest: d512, size: 1 }, 'layers[0]').digest, d512);
  });

  const bad: Array<[string, Json, RegExp]> = [
    ['negative size', { ...LAYER, size: -1 }, /layers\[0\]\.size/],
    ['fractional size', { ...LAYER, size: 1.5 }, /layers\[0\]\.size/],
    ['string size', { ...LAYER, size: '11' }, /layers\[0\]\.size/],
    ['missing size', { mediaType: OCI_LAYER_GZIP, digest: LAYER.digest }, /layers\[0\]\.size/],
    ['null size', { ...LAYER, size: null }, /layers\[0\]\.size/],
    ['size beyond 2^53', { ...LAYER, size: 2 ** 60 }, /layers\[0\]\.size/],
    ['missing mediaType', { digest: LAYER.digest, size: LAYER.size }, /layers\[0\]\.mediaType/],
    ['empty mediaType', { ...LAYER, mediaType: '' }, /layers\[0\]\.mediaType/],
    ['mediaType with parameters', { ...LAYER, mediaType: `${OCI_LAYER_GZIP}; x=y` }, /layers\[0\]\.mediaType/],
    ['numeric mediaType', { ...LAYER, mediaType: 7 }, /layers\[0\]\.mediaType/],
    ['missing digest', { mediaType: OCI_LAYER_GZIP, size: 1 }, /layers\[0\]\.digest/],
    ['digest without algorithm', { ...LAYER, digest: (LAYER.digest as string).slice(7) }, /layers\[0\]\.digest/],
    ['uppercase sha256 hex', { ...LAYER, digest: (LAYER.digest as string).toUpperCase() }, /layers\[0\]\.digest/],
    ['short sha256 hex', { ...LAYER, digest: (LAYER.digest as string).slice(0, -1) }, /layers\[0\]\.digest/],
    ['numeric digest', { ...LAYER, digest: 123 }, /layers\[0\]\.digest/],
    ['annotations not an object', { ...LAYER, annotations: ['a'] }, /layers\[0\]\.annotations/],
    ['annotation value not a string', { ...LAYER, annotations: { a: 1 } }, /layers\[0\]\.annotations/],
    ['urls not strings', { ...LAYER, urls: [1] }, /layers\[0\]\.urls/],
    ['artifactType not a media type', { ...LAYER, artifactType: 'nope' }, /layers\[0\]\.artifactType/],
    ['platform without os', { ...LAYER, platform: { architecture: 'amd64' } }, /layers\[0\]\.platform/],
    ['platform not an object', { ...LAYER, platform: 'linux/amd64' }, /layers\[0\]\.platform/],
  ];
  for (const [why, d, re] of bad) {
    test(`rejects ${why}, naming the field`, () => {
      assert.throws(
        () => parseDescriptor(d, 'layers[0]'),
        (e: unknown) => e instanceof ManifestParseError && re.test((e as Error).message),
      );
    });
  }

  test('rejects a non-object', () => {
    for (const v of [null, 'x', 1, [LAYER]]) {
      assert.throws(() => parseDescriptor(v, 'config'), /config must be an object/);
    }
  });

  // image-spec descriptor.md "Digests": "Implementations SHOULD allow digests with
  // unrecognized algorithms to pass validation if they comply with the above grammar."
  test(
    'SHOULD: a grammar-valid digest with an unregistered algorithm passes descriptor validation',
    () => {
      const d = parseDescriptor(
        { mediaType: OCI_LAYER_GZIP, digest: 'sha256+b64u:LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564', size: 1 },
        'layers[0]',
      );
      assert.equal(d.digest, 'sha256+b64u:LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564');
    },
  );
});

describe('parseManifest: OCI image manifest', () => {
  test('parses config, layers, annotations', () => {
    const m = parseManifest(bytes(ociManifest({ annotations: { 'org.opencontainers.image.created': '2024-01-01T00:00:00Z' } })), OCI_MANIFEST);
    assert.equal(m.kind, 'manifest');
    assert.equal(m.mediaType, OCI_MANIFEST);
    assert.equal(m.config?.digest, CONFIG.digest);
    assert.equal(m.config?.mediaType, OCI_CONFIG);
    assert.deepEqual(
      m.layers.map((l) => [l.mediaType, l.digest, l.size]),
      [
        [OCI_LAYER_GZIP, LAYER.digest, LAYER.size],
        [OCI_LAYER_GZIP, LAYER2.digest, LAYER2.size],
      ],
    );
    assert.deepEqual(m.manifests, []);
    assert.equal(m.subject, undefined);
    assert.deepEqual(m.annotations, { 'org.opencontainers.image.created': '2024-01-01T00:00:00Z' });
    assert.equal(effectiveArtifactType(m), OCI_CONFIG);
  });

  test('Content-Type parameters are ignored (distribution-spec: the registry SHOULD ignore parameters)', () => {
    const m = parseManifest(bytes(ociManifest()), `${OCI_MANIFEST}; charset=utf-8`);
    assert.equal(m.mediaType, OCI_MANIFEST);
  });

  test('extra unknown fields are tolerated at every level (image-spec "Extensibility")', () => {
    const m = parseManifest(
      bytes(
        ociManifest({
          'com.example.unknown': { nested: [1, 2, 3] },
          config: { ...CONFIG, 'com.example.x': true },
          layers: [{ ...LAYER, 'com.example.y': null }],
        }),
      ),
      OCI_MANIFEST,
    );
    assert.equal(m.layers.length, 1);
    assert.equal(m.config?.digest, CONFIG.digest);
  });

  test('empty layers array is accepted (image-spec v1.1: layers SHOULD have at least one entry)', () => {
    const m = parseManifest(bytes(ociManifest({ layers: [] })), OCI_MANIFEST);
    assert.deepEqual(m.layers, []);
  });

  // BuildKit's cache exporter (image-manifest=true) marshals `layers` with omitempty, so a
  // cache with no layers arrives without the field: berth tolerates that for OCI manifests.
  test('an OCI manifest without a layers field is tolerated (as BuildKit emits it)', () => {
    const doc = ociManifest();
    delete doc.layers;
    const m = parseManifest(bytes(doc), OCI_MANIFEST);
    assert.deepEqual(m.layers, []);
  });

  test('missing config is rejected, naming config', () => {
    const doc = ociManifest();
    delete doc.config;
    rejects(doc, OCI_MANIFEST, /config/);
  });

  test('layers that is not an array is rejected', () => {
    rejects(ociManifest({ layers: LAYER }), OCI_MANIFEST, /layers/);
  });

  test('a bad layer descriptor is rejected with its index', () => {
    rejects(ociManifest({ layers: [LAYER, { ...LAYER2, size: -5 }] }), OCI_MANIFEST, /layers\[1\]\.size/);
    rejects(ociManifest({ layers: [{ ...LAYER, digest: 'sha256:nothex' }] }), OCI_MANIFEST, /layers\[0\]\.digest/);
    rejects(ociManifest({ layers: [{ digest: LAYER.digest, size: LAYER.size }] }), OCI_MANIFEST, /layers\[0\]\.mediaType/);
    rejects(ociManifest({ config: { ...CONFIG, size: '452' } }), OCI_MANIFEST, /config\.size/);
    rejects(ociManifest({ config: { ...CONFIG, size: 4.5 } }), OCI_MANIFEST, /config\.size/);
  });

  // CVE-2021-41190 / image-spec v1.0.2: a document must not be ambiguous between manifest and index.
  test('an image manifest carrying "manifests" is rejected as ambiguous', () => {
    rejects(ociManifest({ manifests: [] }), OCI_MANIFEST, /manifests/);
  });

  test('schemaVersion must be 2', () => {
    rejects(ociManifest({ schemaVersion: 3 }), OCI_MANIFEST, /schemaVersion/);
    rejects(ociManifest({ schemaVersion: '2' }), OCI_MANIFEST, /schemaVersion/);
    const doc = ociManifest();
    delete doc.schemaVersion;
    rejects(doc, OCI_MANIFEST, /schemaVersion/);
  });

  test('annotations must be a string map', () => {
    rejects(ociManifest({ annotations: { a: 1 } }), OCI_MANIFEST, /annotations/);
    rejects(ociManifest({ annotations: 'x' }), OCI_MANIFEST, /annotations/);
  });

  test('not JSON, or JSON that is not an object, is rejected', () => {
    rejects('{"schemaVersion":2,', OCI_MANIFEST, /JSON/);
    rejects('', OCI_MANIFEST, /JSON/);
    rejects('[1,2]', OCI_MANIFEST, /object/);
    rejects('null', OCI_MANIFEST, /object/);
    rejects('"x"', OCI_MANIFEST, /object/);
  });

  test('parses from a view into a larger buffer (byteOffset honoured)', () => {
    const body = Buffer.from(JSON.stringify(ociManifest()));
    const big = Buffer.concat([Buffer.from('GARBAGE'), body, Buffer.from('TRAILING')]);
    const view = new Uint8Array(big.buffer, big.byteOffset + 7, body.length);
    assert.equal(parseManifest(view, OCI_MANIFEST).layers.length, 2);
  });
});

describe('parseManifest: artifacts (image-spec v1.1 artifactType, empty config, subject)', () => {
  const EMPTY = { mediaType: OCI_EMPTY, digest: EMPTY_JSON_DIGEST, size: 2, data: 'e30=' };
  const subject = desc(OCI_MANIFEST, 'the subject manifest');

  test('artifact with artifactType, the empty config and a subject', () => {
    assert.equal(EMPTY_JSON_DIGEST, sha256('{}'));
    const m = parseManifest(
      bytes({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        artifactType: 'application/vnd.example.sbom.v1+json',
        config: EMPTY,
        layers: [desc('application/vnd.example.sbom.v1+json', '{"sbom":true}')],
        subject,
        annotations: { 'org.opencontainers.image.created': '2024-01-01T00:00:00Z' },
      }),
      OCI_MANIFEST,
    );
    assert.equal(m.artifactType, 'application/vnd.example.sbom.v1+json');
    assert.equal(m.config?.mediaType, OCI_EMPTY);
    assert.equal(m.config?.digest, EMPTY_JSON_DIGEST);
    assert.equal(m.subject?.digest, subject.digest);
    assert.equal(m.subject?.mediaType, OCI_MANIFEST);
    assert.equal(m.subject?.size, subject.size);
    // distribution-spec "Listing Referrers": artifactType is the manifest's artifactType...
    assert.equal(effectiveArtifactType(m), 'application/vnd.example.sbom.v1+json');
  });

  test('without artifactType, the effective artifact type is the config media type', () => {
    const m = parseManifest(
      bytes({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: desc('application/vnd.example.config.v1+json', '{}'), layers: [], subject }),
      OCI_MANIFEST,
    );
    assert.equal(m.artifactType, undefined);
    assert.equal(effectiveArtifactType(m), 'application/vnd.example.config.v1+json');
  });

  test('an index with a subject and artifactType', () => {
    const m = parseManifest(bytes(ociIndex({ subject, artifactType: 'application/vnd.example.index+type' })), OCI_INDEX);
    assert.equal(m.kind, 'index');
    assert.equal(m.subject?.digest, subject.digest);
    assert.equal(effectiveArtifactType(m), 'application/vnd.example.index+type');
  });

  test('an index without artifactType has no effective artifact type', () => {
    assert.equal(effectiveArtifactType(parseManifest(bytes(ociIndex()), OCI_INDEX)), undefined);
  });

  test('a bad subject is rejected naming subject', () => {
    rejects(ociManifest({ subject: { ...subject, size: -1 } }), OCI_MANIFEST, /subject\.size/);
    rejects(ociManifest({ subject: { mediaType: OCI_MANIFEST, size: 1 } }), OCI_MANIFEST, /subject\.digest/);
    rejects(ociManifest({ subject: 'sha256:abc' }), OCI_MANIFEST, /subject/);
  });

  test('a bad artifactType is rejected', () => {
    rejects(ociManifest({ artifactType: 'not a media type' }), OCI_MANIFEST, /artifactType/);
    rejects(ociManifest({ artifactType: 5 }), OCI_MANIFEST, /artifactType/);
  });
});

describe('parseManifest: OCI image index', () => {
  test('parses manifests with platforms', () => {
    const m = parseManifest(bytes(ociIndex({ annotations: { a: 'b' } })), OCI_INDEX);
    assert.equal(m.kind, 'index');
    assert.equal(m.mediaType, OCI_INDEX);
    assert.equal(m.config, undefined);
    assert.deepEqual(m.layers, []);
    assert.equal(m.manifests.length, 2);
    assert.equal(m.manifests[0]?.digest, sha256('amd64'));
    assert.deepEqual(m.manifests[1]?.platform, { architecture: 'arm64', os: 'linux', variant: 'v8' });
    assert.deepEqual(m.annotations, { a: 'b' });
  });

  test('an empty manifests array is a valid index', () => {
    assert.deepEqual(parseManifest(bytes(ociIndex({ manifests: [] })), OCI_INDEX).manifests, []);
  });

  // image-index.md: "An encountered mediaType that is unknown to the implementation MUST be ignored",
  // and BuildKit's registry cache puts layer and cache-config descriptors in manifests[].
  test('manifests[] entries of non-manifest media types are accepted', () => {
    const m = parseManifest(
      bytes(ociIndex({ manifests: [desc(OCI_LAYER_GZIP, 'l'), desc('application/vnd.buildkit.cacheconfig.v0', '{}')] })),
      OCI_INDEX,
    );
    assert.deepEqual(
      m.manifests.map((d) => d.mediaType),
      [OCI_LAYER_GZIP, 'application/vnd.buildkit.cacheconfig.v0'],
    );
  });

  test('manifests is required', () => {
    const doc = ociIndex();
    delete doc.manifests;
    rejects(doc, OCI_INDEX, /manifests/);
    rejects(ociIndex({ manifests: {} }), OCI_INDEX, /manifests/);
  });

  test('a bad child descriptor is rejected with its index', () => {
    rejects(ociIndex({ manifests: [desc(OCI_MANIFEST, 'a'), { mediaType: OCI_MANIFEST, digest: sha256('b'), size: -1 }] }), OCI_INDEX, /manifests\[1\]\.size/);
    rejects(ociIndex({ manifests: [{ digest: sha256('b'), size: 1 }] }), OCI_INDEX, /manifests\[0\]\.mediaType/);
    rejects(ociIndex({ manifests: [{ mediaType: OCI_MANIFEST, digest: 'sha256:1234', size: 1 }] }), OCI_INDEX, /manifests\[0\]\.digest/);
    rejects(
      ociIndex({ manifests: [desc(OCI_MANIFEST, 'a', { platform: { os: 'linux' } })] }),
      OCI_INDEX,
      /manifests\[0\]\.platform/,
    );
  });

  // CVE-2021-41190: an index must not also look like an image manifest.
  test('an index carrying config or layers is rejected as ambiguous', () => {
    rejects(ociIndex({ config: CONFIG }), OCI_INDEX, /config|layers/);
    rejects(ociIndex({ layers: [LAYER] }), OCI_INDEX, /config|layers/);
  });
});

describe('parseManifest: Docker schema 2', () => {
  const dockerManifest = (over: Json = {}): Json => ({
    schemaVersion: 2,
    mediaType: DOCKER_MANIFEST,
    config: desc(DOCKER_CONFIG, '{"os":"linux"}'),
    layers: [desc(DOCKER_LAYER, 'docker-layer')],
    ...over,
  });

  test('Docker image manifest v2 schema 2', () => {
    const m = parseManifest(bytes(dockerManifest()), DOCKER_MANIFEST);
    assert.equal(m.kind, 'manifest');
    assert.equal(m.mediaType, DOCKER_MANIFEST);
    assert.equal(m.config?.mediaType, DOCKER_CONFIG);
    assert.equal(m.layers[0]?.mediaType, DOCKER_LAYER);
    assert.equal(effectiveArtifactType(m), DOCKER_CONFIG);
  });

  test('Docker schema 2 requires layers', () => {
    const doc = dockerManifest();
    delete doc.layers;
    rejects(doc, DOCKER_MANIFEST, /layers/);
  });

  test('Docker manifest list', () => {
    const m = parseManifest(
      bytes({
        schemaVersion: 2,
        mediaType: DOCKER_LIST,
        manifests: [
          desc(DOCKER_MANIFEST, 'x', { platform: { architecture: 'amd64', os: 'linux' } }),
          desc(DOCKER_MANIFEST, 'y', { platform: { architecture: 'ppc64le', os: 'linux' } }),
        ],
      }),
      DOCKER_LIST,
    );
    assert.equal(m.kind, 'index');
    assert.equal(m.mediaType, DOCKER_LIST);
    assert.equal(m.manifests.length, 2);
    assert.equal(m.manifests[1]?.platform?.architecture, 'ppc64le');
  });

  test('schema 1 is rejected, by mediaType, by Content-Type, or by schemaVersion 1', () => {
    const s1 = { schemaVersion: 1, name: 'team/app', tag: 'v1', architecture: 'amd64', fsLayers: [], history: [] };
    rejects(s1, SCHEMA1, /schema 1/);
    rejects(s1, SCHEMA1_SIGNED, /schema 1/);
    rejects(s1, undefined, /schema 1/);
    rejects({ ...s1, mediaType: SCHEMA1 }, undefined, /schema 1/);
    rejects(s1, 'application/json', /schema 1/);
  });
});

describe('parseManifest: mediaType and Content-Type', () => {
  test('missing mediaType: the Content-Type decides (OCI manifest)', () => {
    const doc = ociManifest();
    delete doc.mediaType;
    const m = parseManifest(bytes(doc), OCI_MANIFEST);
    assert.equal(m.mediaType, OCI_MANIFEST);
    assert.equal(m.kind, 'manifest');
  });

  test('missing mediaType: the Content-Type decides (OCI index)', () => {
    const doc = ociIndex();
    delete doc.mediaType;
    const m = parseManifest(bytes(doc), OCI_INDEX);
    assert.equal(m.mediaType, OCI_INDEX);
    assert.equal(m.kind, 'index');
  });

  test('missing mediaType: Docker Content-Type decides too', () => {
    const doc = ociManifest({ config: desc(DOCKER_CONFIG, 'c'), layers: [desc(DOCKER_LAYER, 'l')] });
    delete doc.mediaType;
    assert.equal(parseManifest(bytes(doc), DOCKER_MANIFEST).mediaType, DOCKER_MANIFEST);
  });

  test('missing mediaType and a Content-Type that contradicts the document shape is rejected', () => {
    const doc = ociIndex();
    delete doc.mediaType;
    rejects(doc, OCI_MANIFEST, /manifests|config/);
  });

  test('missing mediaType and no Content-Type: the shape decides', () => {
    const idx = ociIndex();
    delete idx.mediaType;
    assert.equal(parseManifest(bytes(idx), undefined).mediaType, OCI_INDEX);
    assert.equal(parseManifest(bytes(idx), '').kind, 'index');
    const man = ociManifest();
    delete man.mediaType;
    assert.equal(parseManifest(bytes(man), undefined).mediaType, OCI_MANIFEST);
  });

  // distribution-spec v1.1 "Pushing Manifests": "If a manifest includes a mediaType field,
  // clients MUST set the Content-Type header to the value specified by the mediaType field."
  test('Content-Type / mediaType mismatch is rejected, naming both', () => {
    rejects(ociManifest(), DOCKER_MANIFEST, /Content-Type/);
    rejects(ociManifest(), OCI_INDEX, new RegExp(OCI_MANIFEST.replace(/[.+]/g, '\\$&')));
    rejects(ociIndex(), OCI_MANIFEST, /does not match/);
    rejects(ociIndex(), DOCKER_LIST, /does not match/);
  });

  test('a mediaType that is not a manifest type is rejected', () => {
    rejects(ociManifest({ mediaType: OCI_CONFIG }), undefined, /unsupported manifest media type/);
    rejects(ociManifest({ mediaType: 'application/vnd.oci.artifact.manifest.v1+json' }), undefined, /unsupported/);
  });

  test('a non-string mediaType is rejected', () => {
    rejects(ociManifest({ mediaType: 7 }), OCI_MANIFEST, /mediaType/);
  });

  test('ManifestParseError is an Error', () => {
    assert.ok(new ManifestParseError('x') instanceof Error);
  });
});
