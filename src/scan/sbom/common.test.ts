import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PackageURL } from 'packageurl-js';
import { imagePurl } from './common.js';

const DIGEST = `sha256:${'ab'.repeat(32)}`;

/** The purl's parts, decoded (percent-encoding choices vary between purl-spec revisions). */
const parts = (purl: string) => {
  const p = PackageURL.fromString(purl);
  return { type: p.type, namespace: p.namespace, name: p.name, version: p.version, qualifiers: p.qualifiers ? { ...p.qualifiers } : undefined };
};

// purl-spec PURL-TYPES "oci": pkg:oci/<name>@<digest>[?arch=..&repository_url=..&tag=..]
test('a layout or archive on disk is named by its directory or file name, without a registry', () => {
  assert.deepEqual(parts(imagePurl({ name: 'oci:/tmp/Build Out/App_Image:v1', digest: DIGEST })), {
    type: 'oci',
    namespace: undefined,
    name: 'app_image',
    version: DIGEST,
    qualifiers: undefined,
  });
  assert.deepEqual(parts(imagePurl({ name: 'docker-archive:./out/image.tar', digest: DIGEST, platform: 'linux/arm64' })), {
    type: 'oci',
    namespace: undefined,
    name: 'image.tar',
    version: DIGEST,
    qualifiers: { arch: 'arm64' },
  });
  assert.equal(parts(imagePurl({ name: 'oci:/', digest: DIGEST })).name, 'image');
});
