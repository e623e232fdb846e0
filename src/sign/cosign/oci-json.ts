/*
 * OCI manifests as cosign writes them: go-containerregistry's v1.Manifest and v1.Descriptor through
 * json.Marshal (pkg/v1/manifest.go field order: schemaVersion, mediaType, config, layers,
 * annotations, subject; descriptor: mediaType, size, digest, data, urls, annotations, platform,
 * artifactType), plus cosign's referrerManifest, which appends a top-level artifactType
 * (pkg/oci/remote/write.go).
 */
import { Digest } from '../../oci/digest.js';
import type { Descriptor } from '../../oci/manifest.js';
import { goJson, GoMap, type GoStruct } from './go-json.js';

/** Bytes to push as a blob, with the descriptor that points at them. */
export interface Blob {
  descriptor: Descriptor;
  bytes: Buffer;
}

/** A manifest ready to push: its bytes, digest, and every blob it references (push those first). */
export interface ManifestToPush {
  manifest: Buffer;
  digest: string;
  mediaType: string;
  blobs: Blob[];
}

export function blobOf(bytes: Uint8Array, mediaType: string, annotations?: Record<string, string>): Blob {
  const b = Buffer.from(bytes);
  const descriptor: Descriptor = { mediaType, size: b.length, digest: Digest.fromBytes(b).toString() };
  if (annotations && Object.keys(annotations).length > 0) descriptor.annotations = annotations;
  return { descriptor, bytes: b };
}

export function descriptorJson(d: Descriptor): GoStruct {
  const p = d.platform;
  return {
    mediaType: d.mediaType,
    size: d.size,
    digest: d.digest,
    annotations: d.annotations && Object.keys(d.annotations).length > 0 ? GoMap.of(d.annotations) : undefined,
    platform: p
      ? { architecture: p.architecture, os: p.os, 'os.version': p['os.version'] || undefined, 'os.features': p['os.features']?.length ? p['os.features'] : undefined, variant: p.variant || undefined }
      : undefined,
    artifactType: d.artifactType || undefined,
  };
}

export interface ManifestFields {
  mediaType: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
  subject?: Descriptor;
  /** Written last, as cosign's referrerManifest does. */
  artifactType?: string;
}

export function manifestJson(m: ManifestFields): Buffer {
  return goJson({
    schemaVersion: 2,
    mediaType: m.mediaType,
    config: descriptorJson(m.config),
    layers: m.layers.map(descriptorJson),
    annotations: m.annotations && Object.keys(m.annotations).length > 0 ? GoMap.of(m.annotations) : undefined,
    subject: m.subject ? descriptorJson(m.subject) : undefined,
    artifactType: m.artifactType,
  });
}
