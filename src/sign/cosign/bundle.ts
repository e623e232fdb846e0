/*
 * cosign 3's default storage: a Sigstore bundle (protobuf-specs sigstore_bundle.proto, media type
 * application/vnd.dev.sigstore.bundle.v0.3+json) pushed as an OCI 1.1 referrer of the image
 * (cosign specs/BUNDLE_SPEC.md; pkg/oci/remote/write.go WriteAttestationNewBundleFormat).
 *
 * `cosign sign --key` (cmd/cosign/cli/sign/sign.go signDigestBundle, signcommon
 * WriteNewBundleWithSigningConfig, sigstore-go pkg/sign Bundle) signs the cosign-sign statement
 * (statement.ts) as a DSSE envelope of type application/vnd.in-toto+json and writes
 * {"mediaType", "verificationMaterial": {"publicKey": {"hint"}, "tlogEntries"?}, "dsseEnvelope"},
 * the hint being base64(SHA-256(PKIX public key)) (cosign internal/key/svkeypair.go). berth signs
 * offline: no transparency log entry and no timestamp, so verification material is the hint alone.
 * `cosign attest` writes the same bundle around its attestation statement.
 *
 * The referrer manifest (WriteReferrer): config = the 2-byte "{}" blob described as
 * application/vnd.oci.empty.v1+json with artifactType = the bundle media type (a quirk of cosign
 * kept for byte compatibility), one layer = the bundle, annotations
 * dev.sigstore.bundle.content = "dsse-envelope", dev.sigstore.bundle.predicateType = the statement's
 * predicate type, org.opencontainers.image.created = RFC 3339 seconds (UTC); subject = the signed
 * manifest's descriptor; top-level artifactType = the bundle media type.
 */
import { createHash } from 'node:crypto';
import { Digest } from '../../oci/digest.js';
import type { Descriptor } from '../../oci/manifest.js';
import { MediaType } from '../../oci/media-type.js';
import { IN_TOTO_PAYLOAD_TYPE, signDsse, type DsseEnvelope } from './dsse.js';
import { protoJson } from './go-json.js';
import type { CosignPrivateKey, CosignPublicKey } from './keys.js';
import { blobOf, manifestJson, type ManifestToPush } from './oci-json.js';
import { rfc3339Seconds } from './statement.js';

export const BUNDLE_V03_MEDIA_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
export const BUNDLE_CONTENT_ANNOTATION = 'dev.sigstore.bundle.content';
export const BUNDLE_PREDICATE_TYPE_ANNOTATION = 'dev.sigstore.bundle.predicateType';
export const CREATED_ANNOTATION = 'org.opencontainers.image.created';

/** The key hint cosign puts in a bundle: base64 of the SHA-256 of the PKIX public key. */
export function publicKeyHint(key: CosignPublicKey): string {
  return createHash('sha256').update(key.key.export({ type: 'spki', format: 'der' })).digest('base64');
}

/** Bundle JSON bytes for a DSSE envelope verified by a public key (protojson field order, no tlog entries). */
export function dsseBundleJson(envelope: DsseEnvelope, key: CosignPublicKey): Buffer {
  return protoJson({
    mediaType: BUNDLE_V03_MEDIA_TYPE,
    verificationMaterial: { publicKey: { hint: publicKeyHint(key) } },
    dsseEnvelope: {
      payload: envelope.payload.toString('base64'),
      payloadType: envelope.payloadType,
      // protobuf Signature: sig, then keyid (omitted when empty, as protojson omits default values)
      signatures: envelope.signatures.map((s) => ({ sig: s.sig.toString('base64'), keyid: s.keyid || undefined })),
    },
  });
}

/** Signs an in-toto statement into a bundle, as `cosign sign --key` / `cosign attest --key` do (without tlog). */
export function signStatementBundle(key: CosignPrivateKey, statement: Uint8Array): Buffer {
  return dsseBundleJson(signDsse(key, IN_TOTO_PAYLOAD_TYPE, statement), key.publicKey);
}

export interface BundleReferrerInput {
  bundle: Uint8Array;
  /** Descriptor of the signed manifest (mediaType, size, digest), as a HEAD of it returns. */
  subject: Descriptor;
  /** predicateType of the statement in the bundle. */
  predicateType: string;
  created: Date;
}

/** The referrer manifest cosign pushes for a bundle, with its two blobs (config "{}" and the bundle). */
export function bundleReferrer(input: BundleReferrerInput): ManifestToPush {
  const config = blobOf(Buffer.from('{}'), MediaType.OciEmpty);
  const layer = blobOf(input.bundle, BUNDLE_V03_MEDIA_TYPE);
  const manifest = manifestJson({
    mediaType: MediaType.OciManifest,
    config: { ...config.descriptor, artifactType: BUNDLE_V03_MEDIA_TYPE },
    layers: [layer.descriptor],
    annotations: {
      [CREATED_ANNOTATION]: rfc3339Seconds(input.created),
      [BUNDLE_CONTENT_ANNOTATION]: 'dsse-envelope',
      [BUNDLE_PREDICATE_TYPE_ANNOTATION]: input.predicateType,
    },
    subject: { mediaType: input.subject.mediaType, size: input.subject.size, digest: input.subject.digest },
    artifactType: BUNDLE_V03_MEDIA_TYPE,
  });
  return { manifest, digest: Digest.fromBytes(manifest).toString(), mediaType: MediaType.OciManifest, blobs: [config, layer] };
}

