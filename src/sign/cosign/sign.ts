/*
 * What `cosign sign --key` and `cosign attest --key` produce for an image, as data to push
 * (no registry I/O here). Two storage forms:
 *  - legacy tag scheme (cosign ≤ 2 default, cosign 3 with --new-bundle-format=false): a layer to add
 *    to the image at the `sha256-<hex>.sig` / `.att` tag with appendSignatureLayer;
 *  - bundle (cosign 3 default): a referrer manifest whose subject is the signed manifest.
 */
import type { Descriptor } from '../../oci/manifest.js';
import { bundleReferrer, signStatementBundle } from './bundle.js';
import { dsseEnvelopeJson, IN_TOTO_PAYLOAD_TYPE, signDsse } from './dsse.js';
import type { CosignPrivateKey } from './keys.js';
import type { Blob, ManifestToPush } from './oci-json.js';
import { attestationLayer, signatureLayer } from './signature-image.js';
import { signBytes } from './signature.js';
import { simpleSigningPayload, type SimpleSigningInput } from './simple-signing.js';
import { COSIGN_SIGN_PREDICATE_TYPE, cosignSignStatement } from './statement.js';

/** The `.sig` layer for an image: simple signing payload plus its signature annotation. Throws CosignFormatError for a bad digest. */
export function signImageLegacy(key: CosignPrivateKey, input: SimpleSigningInput): Blob {
  const payload = simpleSigningPayload(input);
  return signatureLayer(payload, signBytes(key, payload));
}

/** The `.att` layer for an in-toto statement (see statement.ts) with the given predicate type URI. */
export function attestImageLegacy(key: CosignPrivateKey, statement: Uint8Array, predicateType: string): Blob {
  return attestationLayer(dsseEnvelopeJson(signDsse(key, IN_TOTO_PAYLOAD_TYPE, statement)), predicateType);
}

export interface BundleSigningInput {
  /** Descriptor of the manifest being signed (mediaType, size, digest). */
  subject: Descriptor;
  created: Date;
}

/** The referrer manifest (and its blobs) `cosign sign --key` pushes in the bundle format, without a tlog entry. */
export function signImageBundle(key: CosignPrivateKey, input: BundleSigningInput & { annotations?: Readonly<Record<string, unknown>> }): ManifestToPush {
  const bundle = signStatementBundle(key, cosignSignStatement(input.subject.digest, input.annotations));
  return bundleReferrer({ bundle, subject: input.subject, predicateType: COSIGN_SIGN_PREDICATE_TYPE, created: input.created });
}

/** The referrer manifest `cosign attest --key` pushes in the bundle format, without a tlog entry. */
export function attestImageBundle(key: CosignPrivateKey, input: BundleSigningInput & { statement: Uint8Array; predicateType: string }): ManifestToPush {
  const bundle = signStatementBundle(key, input.statement);
  return bundleReferrer({ bundle, subject: input.subject, predicateType: input.predicateType, created: input.created });
}
