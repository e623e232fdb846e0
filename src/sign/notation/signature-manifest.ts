/*
 * The signature manifest (signature-specification.md "OCI Signatures"), as notation-go v1 pushes
 * it (registry/repository.go uploadSignatureManifest + oras PackManifest): an OCI image manifest
 * whose config is the two bytes `{}` with mediaType application/vnd.cncf.notary.signature (the
 * referrers API reports that as the artifactType), one layer (the envelope), the signed manifest as
 * subject, and the annotations io.cncf.notary.x509chain.thumbprint#S256 (JSON array of the
 * lowercase hex SHA-256 of each certificate, leaf first) and org.opencontainers.image.created (the
 * signing time). Field order follows Go's ocispec.Manifest.
 */
import { createHash } from 'node:crypto';
import { Digest } from '../../oci/digest.js';
import { parseManifest, effectiveArtifactType, type Descriptor } from '../../oci/manifest.js';
import { MediaType } from '../../oci/media-type.js';
import { SignatureManifestError } from './errors.js';
import { rfc3339 } from './jws-envelope.js';
import { Annotation, NotationMediaType } from './media-types.js';

/** The config blob: an empty JSON object. */
export const SIGNATURE_CONFIG_BYTES = Buffer.from('{}', 'utf8');

export interface SignatureManifestInput {
  /** The envelope blob bytes and media type (application/jose+json). */
  envelope: { bytes: Uint8Array; mediaType: string };
  /** DER certificates of the envelope's chain, leaf first. */
  certificateChain: readonly { der: Uint8Array }[];
  signingTime: Date;
  /** Descriptor of the signed manifest. */
  subject: Descriptor;
}

export interface SignatureManifest {
  /** The manifest bytes to PUT, with `mediaType` as Content-Type. */
  bytes: Buffer;
  mediaType: typeof MediaType.OciManifest;
  digest: string;
  /** Blobs to push first: the config and the envelope. */
  blobs: { descriptor: Descriptor; bytes: Buffer }[];
}

/** Builds the signature manifest and the blobs it references. Pure; throws nothing for valid input. */
export function notationSignatureManifest(input: SignatureManifestInput): SignatureManifest {
  const config = { descriptor: describe(NotationMediaType.Signature, SIGNATURE_CONFIG_BYTES), bytes: SIGNATURE_CONFIG_BYTES };
  const envelopeBytes = Buffer.from(input.envelope.bytes);
  const layer = { descriptor: describe(input.envelope.mediaType, envelopeBytes), bytes: envelopeBytes };
  const thumbprints = input.certificateChain.map((c) => createHash('sha256').update(c.der).digest('hex'));
  const manifest = {
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    config: config.descriptor,
    layers: [layer.descriptor],
    subject: { mediaType: input.subject.mediaType, digest: input.subject.digest, size: input.subject.size },
    annotations: {
      [Annotation.X509ChainThumbprint]: JSON.stringify(thumbprints),
      [Annotation.Created]: rfc3339(input.signingTime),
    },
  };
  const bytes = Buffer.from(JSON.stringify(manifest), 'utf8');
  return { bytes, mediaType: MediaType.OciManifest, digest: Digest.fromBytes(bytes).toString(), blobs: [config, layer] };
}

function describe(mediaType: string, bytes: Buffer): Descriptor {
  return { mediaType, digest: Digest.fromBytes(bytes).toString(), size: bytes.length };
}

export interface ParsedSignatureManifest {
  /** The envelope blob to fetch; its mediaType picks the envelope format. */
  envelope: Descriptor;
  subject: Descriptor;
  /** Lowercase hex thumbprints from the annotation, when present. */
  thumbprints?: string[];
}

/**
 * Reads a signature manifest found through the referrers API. Accepts the notation shape above
 * and the OCI 1.1 artifact shape (artifactType application/vnd.cncf.notary.signature with any
 * config). Throws SignatureManifestError when it is not a Notary Project signature manifest.
 */
export function parseNotationSignatureManifest(bytes: Uint8Array, contentType?: string): ParsedSignatureManifest {
  let m;
  try {
    m = parseManifest(bytes, contentType);
  } catch (e) {
    throw new SignatureManifestError(`not a valid manifest: ${(e as Error).message}`);
  }
  if (m.mediaType !== MediaType.OciManifest) throw new SignatureManifestError(`signature manifest must be an OCI image manifest, got ${m.mediaType}`);
  if (effectiveArtifactType(m) !== NotationMediaType.Signature) {
    throw new SignatureManifestError(`not a Notary Project signature (artifact type ${effectiveArtifactType(m)})`);
  }
  if (m.layers.length !== 1) throw new SignatureManifestError(`signature manifest must have exactly one layer, has ${m.layers.length}`);
  const envelope = m.layers[0] as Descriptor;
  if (envelope.mediaType !== NotationMediaType.JwsEnvelope && envelope.mediaType !== NotationMediaType.CoseEnvelope) {
    throw new SignatureManifestError(`signature envelope media type ${envelope.mediaType} is not supported`);
  }
  if (!m.subject) throw new SignatureManifestError('signature manifest has no subject');
  const raw = m.annotations?.[Annotation.X509ChainThumbprint];
  return { envelope, subject: m.subject, thumbprints: raw === undefined ? undefined : parseThumbprints(raw) };
}

function parseThumbprints(raw: string): string[] {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    v = undefined;
  }
  if (!Array.isArray(v) || !v.every((t) => typeof t === 'string' && /^[0-9a-fA-F]{64}$/.test(t))) {
    throw new SignatureManifestError(`${Annotation.X509ChainThumbprint} must be a JSON array of SHA-256 hex strings`);
  }
  return v.map((t: string) => t.toLowerCase());
}
