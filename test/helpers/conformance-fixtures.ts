/**
 * Fixtures for the OCI conformance suite (test/conformance/): media types,
 * the empty descriptor, unique repository names, and image manifests and
 * indexes built from bytes. Digests are computed here with node:crypto,
 * independently of berth.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { blob, type Blob, type Image } from './oci.js';

export const MediaTypes = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociEmpty: 'application/vnd.oci.empty.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
} as const;

/** Every manifest type a pulling client says it accepts (distribution-spec "Pulling manifests"). */
export const ACCEPT_MANIFESTS = [
  MediaTypes.ociManifest,
  MediaTypes.ociIndex,
  MediaTypes.dockerManifest,
  MediaTypes.dockerList,
].join(', ');

/**
 * The empty JSON blob of image-spec v1.1 "Guidance for an Empty Descriptor":
 * the two bytes `{}`, whose sha256 the image-spec prints.
 */
export const EMPTY_JSON: Blob = blob('{}');
export const EMPTY_JSON_DIGEST = 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a';

export function sha512(bytes: Uint8Array | string): string {
  return 'sha512:' + createHash('sha512').update(bytes).digest('hex');
}

let counter = 0;
/** A repository name no other test uses: `<prefix>-<n>-<random>` (valid distribution-spec name). */
export function uniqueRepo(prefix: string): string {
  counter += 1;
  return `${prefix}-${counter}-${randomBytes(3).toString('hex')}`;
}

/** A fresh blob of `size` random bytes (node:crypto). */
export function freshBlob(size = 512): Blob {
  return blob(randomBytes(size));
}

// ---------------------------------------------------------------------------
// Manifests built from bytes

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
  platform?: { architecture: string; os: string; variant?: string };
}

export function descriptor(b: Blob, mediaType: string, extra: Partial<Descriptor> = {}): Descriptor {
  return { mediaType, digest: b.digest, size: b.size, ...extra };
}

/** An image manifest's bytes; `mediaType: null` leaves the field out. */
export function imageManifest(opts: {
  config: Descriptor;
  layers: Descriptor[];
  mediaType?: string | null;
  subject?: Descriptor;
  artifactType?: string;
  annotations?: Record<string, string>;
  extra?: Record<string, unknown>;
}): Blob {
  const m: Record<string, unknown> = { schemaVersion: 2 };
  if (opts.mediaType !== null) m.mediaType = opts.mediaType ?? MediaTypes.ociManifest;
  if (opts.artifactType) m.artifactType = opts.artifactType;
  m.config = opts.config;
  m.layers = opts.layers;
  if (opts.subject) m.subject = opts.subject;
  if (opts.annotations) m.annotations = opts.annotations;
  Object.assign(m, opts.extra ?? {});
  return blob(JSON.stringify(m));
}

/** An image index's bytes. */
export function imageIndex(opts: {
  manifests: Descriptor[];
  mediaType?: string;
  subject?: Descriptor;
  artifactType?: string;
  annotations?: Record<string, string>;
}): Blob {
  const m: Record<string, unknown> = { schemaVersion: 2, mediaType: opts.mediaType ?? MediaTypes.ociIndex };
  if (opts.artifactType) m.artifactType = opts.artifactType;
  m.manifests = opts.manifests;
  if (opts.subject) m.subject = opts.subject;
  if (opts.annotations) m.annotations = opts.annotations;
  return blob(JSON.stringify(m));
}

/** A small image whose blobs are fresh random bytes (so no two tests share content by accident). */
export function freshImage(opts: { layers?: number; subject?: Descriptor; artifactType?: string; annotations?: Record<string, string> } = {}): Image {
  const layers = Array.from({ length: opts.layers ?? 1 }, () => freshBlob(256 + Math.floor(Math.random() * 256)));
  const config = blob(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) },
      config: {},
      nonce: randomBytes(8).toString('hex'),
    }),
  );
  const manifest = imageManifest({
    config: descriptor(config, MediaTypes.ociConfig),
    layers: layers.map((l) => descriptor(l, MediaTypes.ociLayer)),
    subject: opts.subject,
    artifactType: opts.artifactType,
    annotations: opts.annotations,
  });
  return { config, layers, manifest, mediaType: MediaTypes.ociManifest };
}

/** Image manifest descriptor of an Image (for index entries and subjects). */
export function manifestDescriptor(img: Image, extra: Partial<Descriptor> = {}): Descriptor {
  return descriptor(img.manifest, img.mediaType, extra);
}

/** JSON of exactly `size` bytes: an image manifest padded with an annotation. */
export function paddedManifest(config: Descriptor, layers: Descriptor[], size: number): Blob {
  const base = imageManifest({ config, layers, annotations: { pad: '' } });
  const need = size - base.size;
  assert.ok(need >= 0, `manifest of ${size} bytes is too small for its fields (${base.size})`);
  const m = imageManifest({ config, layers, annotations: { pad: 'p'.repeat(need) } });
  assert.equal(m.size, size);
  return m;
}
