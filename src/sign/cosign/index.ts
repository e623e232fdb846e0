/*
 * Cosign-compatible signing formats, keys and verification, as pure functions (no registry I/O).
 * The registry client and the CLI push and fetch what these build and check.
 */
export { CosignFormatError, CosignKeyError, WrongPasswordError } from './errors.js';
export {
  algorithmOf,
  cosignPublicKey,
  generateCosignKeyPair,
  loadPrivateKey,
  loadPublicKey,
  publicKeyPem,
  type CosignAlgorithm,
  type CosignKeyPair,
  type CosignPrivateKey,
  type CosignPublicKey,
} from './keys.js';
export { parseSimpleSigningPayload, simpleSigningPayload, SIMPLE_SIGNING_MEDIA_TYPE, type SimpleSigningPayload } from './simple-signing.js';
export { DSSE_ENVELOPE_MEDIA_TYPE, IN_TOTO_PAYLOAD_TYPE, parseDsseEnvelope, type DsseEnvelope } from './dsse.js';
export {
  COSIGN_SIGN_PREDICATE_TYPE,
  customPredicate,
  inTotoStatement,
  PREDICATE_TYPES,
  resolvePredicateType,
  type InTotoStatement,
  type StatementInput,
} from './statement.js';
export { appendSignatureLayer, attestationTag, signatureTag, type AppendResult, type StoredSignatureImage } from './signature-image.js';
export { BUNDLE_V03_MEDIA_TYPE, bundleReferrer, publicKeyHint } from './bundle.js';
export type { Blob, ManifestToPush } from './oci-json.js';
export { attestImageBundle, attestImageLegacy, signImageBundle, signImageLegacy } from './sign.js';
export {
  verifyBundlesWithKey,
  verifyLegacyAttestations,
  verifyLegacySignatures,
  type FailureReason,
  type StoredLayer,
  type VerificationFailure,
  type VerificationResult,
  type VerifiedSignature,
  type VerifiedStatement,
} from './verify.js';
export { loadTrustedRoot, verifyBundlesKeyless, type KeylessCheck, type KeylessVerifiedStatement } from './keyless.js';
