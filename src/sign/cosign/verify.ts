/*
 * Verification of cosign signatures and attestations with a public key, as `cosign verify --key`
 * and `cosign verify-attestation --key` check them (pkg/cosign/verify.go: the signature over the
 * exact payload bytes; SimpleClaimVerifier: "invalid or missing digest in claim", "missing or
 * incorrect annotation"; IntotoSubjectClaimVerifier: a statement subject with the image digest).
 * Transparency-log material (the dev.sigstore.cosign/bundle annotation, a bundle's tlogEntries) is
 * not checked here: berth signs offline, and a key-only check is what `cosign verify
 * --insecure-ignore-tlog` does. Keyless bundles go through keyless.ts.
 *
 * Pure functions: the caller fetches the layers or bundles; every candidate yields either a
 * verified payload or a failure with its reason, so a report can say why nothing verified.
 */
import { bundleFromJSON, type Bundle } from '@sigstore/bundle';
import { Digest } from '../../oci/digest.js';
import type { Descriptor } from '../../oci/manifest.js';
import { DSSE_ENVELOPE_MEDIA_TYPE, IN_TOTO_PAYLOAD_TYPE, parseDsseEnvelope, verifyDsse, type DsseEnvelope } from './dsse.js';
import { CosignFormatError } from './errors.js';
import type { CosignPublicKey } from './keys.js';
import { SIGNATURE_ANNOTATION, MAX_SIGNATURE_LAYERS } from './signature-image.js';
import { verifyBytes } from './signature.js';
import { COSIGN_SIGNATURE_TYPE, parseSimpleSigningPayload, SIMPLE_SIGNING_MEDIA_TYPE, type SimpleSigningPayload } from './simple-signing.js';
import { checkStatement, StatementMismatch, type InTotoStatement } from './statement.js';

const MAX_BUNDLE_BYTES = 16 * 1024 * 1024;

export type FailureReason =
  | 'malformed'
  | 'unsupported'
  | 'bad-signature'
  | 'wrong-type'
  | 'digest-mismatch'
  | 'annotation-mismatch'
  | 'predicate-type-mismatch'
  | 'untrusted-signer'
  | 'identity-mismatch';

export interface VerificationFailure {
  reason: FailureReason;
  message: string;
  /** Digest of the layer or bundle the failure is about. */
  source?: string;
}

export interface VerificationResult<T> {
  /** Verified items, in input order. Empty means verification failed. */
  verified: T[];
  failures: VerificationFailure[];
}

/** One layer of a `.sig`/`.att` image: its descriptor from the manifest and its blob bytes. */
export interface StoredLayer {
  descriptor: Descriptor;
  blob: Uint8Array;
}

export interface VerifiedSignature {
  /** What `cosign verify` prints for this signature (its output is the JSON array of these). */
  payload: SimpleSigningPayload;
  payloadBytes: Buffer;
  source: string;
}

export interface VerifiedStatement {
  statement: InTotoStatement;
  /** The envelope whose signature verified (`cosign verify-attestation` prints it). */
  envelope: DsseEnvelope;
  source: string;
}

export interface SignatureCheck {
  layers: readonly StoredLayer[];
  publicKey: CosignPublicKey;
  imageDigest: string;
  /** `cosign verify -a key=value`: each must equal the payload's optional[key]. */
  annotations?: Readonly<Record<string, string>>;
}

/** Checks the layers of a `.sig` image (cosign's simple signing format). Throws only DigestParseError for an invalid imageDigest. */
export function verifyLegacySignatures(check: SignatureCheck): VerificationResult<VerifiedSignature> {
  Digest.parse(check.imageDigest);
  return eachCandidate(check.layers, layerSource, (layer, source) => {
    checkLayer(layer, SIMPLE_SIGNING_MEDIA_TYPE, source);
    const b64 = layer.descriptor.annotations?.[SIGNATURE_ANNOTATION];
    if (!b64 || !/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) throw failure('malformed', `no base64 ${SIGNATURE_ANNOTATION} annotation`, source);
    if (!verifyBytes(check.publicKey, layer.blob, Buffer.from(b64, 'base64'))) {
      throw failure('bad-signature', 'the signature does not verify with the given public key', source);
    }
    const payload = parseSimpleSigningPayload(layer.blob);
    if (payload.critical.type !== COSIGN_SIGNATURE_TYPE) throw failure('wrong-type', `payload type is ${JSON.stringify(payload.critical.type)}, not a cosign image signature`, source);
    const claimed = payload.critical.image['docker-manifest-digest'];
    if (claimed !== check.imageDigest) throw failure('digest-mismatch', `invalid or missing digest in claim: ${claimed}`, source);
    for (const [k, v] of Object.entries(check.annotations ?? {})) {
      if (payload.optional?.[k] !== v) throw failure('annotation-mismatch', `missing or incorrect annotation ${k}`, source);
    }
    return { payload, payloadBytes: Buffer.from(layer.blob), source };
  });
}

export interface AttestationCheck {
  layers: readonly StoredLayer[];
  publicKey: CosignPublicKey;
  imageDigest: string;
  /** `cosign verify-attestation --type`: a cosign type name or a predicate type URI. */
  predicateType?: string;
}

/** Checks the layers of a `.att` image (DSSE envelopes around in-toto statements). Throws only DigestParseError for an invalid imageDigest. */
export function verifyLegacyAttestations(check: AttestationCheck): VerificationResult<VerifiedStatement> {
  Digest.parse(check.imageDigest);
  return eachCandidate(check.layers, layerSource, (layer, source) => {
    checkLayer(layer, DSSE_ENVELOPE_MEDIA_TYPE, source);
    return checkEnvelope(parseDsseEnvelope(layer.blob), check.publicKey, check.imageDigest, check.predicateType, source);
  });
}

export interface BundleCheck {
  bundles: readonly Uint8Array[];
  publicKey: CosignPublicKey;
  imageDigest: string;
  /** Use COSIGN_SIGN_PREDICATE_TYPE for image signatures; a type name or URI for attestations; undefined for any. */
  predicateType?: string;
}

/** Checks Sigstore bundles (referrer layers) signed with a key. Throws only DigestParseError for an invalid imageDigest. */
export function verifyBundlesWithKey(check: BundleCheck): VerificationResult<VerifiedStatement> {
  Digest.parse(check.imageDigest);
  return eachCandidate(check.bundles, bundleSource, (bytes, source) => {
    const bundle = parseBundle(bytes, source);
    if (bundle.verificationMaterial.content.$case !== 'publicKey') {
      throw failure('unsupported', 'the bundle is certificate-based: verify it against a trusted root (keyless)', source);
    }
    return checkEnvelope(bundleEnvelope(bundle, source), check.publicKey, check.imageDigest, check.predicateType, source);
  });
}

/** Parses and validates bundle JSON with @sigstore/bundle. Throws a VerificationFailure-carrying error. */
export function parseBundle(bytes: Uint8Array, source: string): Bundle {
  if (bytes.length > MAX_BUNDLE_BYTES) throw failure('malformed', `bundle is larger than ${MAX_BUNDLE_BYTES} bytes`, source);
  try {
    return bundleFromJSON(JSON.parse(Buffer.from(bytes).toString('utf8')));
  } catch (e) {
    throw failure('malformed', `not a Sigstore bundle: ${(e as Error).message}`, source);
  }
}

/** The bundle's DSSE envelope; message-signature bundles (sign-blob) do not sign an image statement. */
export function bundleEnvelope(bundle: Bundle, source: string): DsseEnvelope {
  if (bundle.content.$case !== 'dsseEnvelope') throw failure('unsupported', 'the bundle holds a message signature, not a DSSE envelope', source);
  const env = bundle.content.dsseEnvelope;
  return { payloadType: env.payloadType, payload: Buffer.from(env.payload), signatures: env.signatures.map((s) => ({ keyid: s.keyid, sig: Buffer.from(s.sig) })) };
}

/** Checks an in-toto envelope's payload (type, subject digest, predicate type) after its signature verified. */
export function checkVerifiedEnvelope(envelope: DsseEnvelope, imageDigest: string, predicateType: string | undefined, source: string): VerifiedStatement {
  if (envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE) throw failure('wrong-type', `payload type is ${JSON.stringify(envelope.payloadType)}, not in-toto`, source);
  try {
    return { statement: checkStatement(envelope.payload, imageDigest, predicateType), envelope, source };
  } catch (e) {
    if (e instanceof StatementMismatch) throw failure(e.reason, e.message, source);
    throw e;
  }
}

function checkEnvelope(envelope: DsseEnvelope, key: CosignPublicKey, imageDigest: string, predicateType: string | undefined, source: string): VerifiedStatement {
  if (!verifyDsse(envelope, key)) throw failure('bad-signature', 'no envelope signature verifies with the given public key', source);
  return checkVerifiedEnvelope(envelope, imageDigest, predicateType, source);
}


/** Thrown inside a candidate check; turned into a VerificationFailure entry by eachCandidate. */
export class CandidateFailure extends Error {
  constructor(readonly failure: VerificationFailure) {
    super(failure.message);
  }
}

export function failure(reason: FailureReason, message: string, source?: string): CandidateFailure {
  return new CandidateFailure({ reason, message, source });
}

const layerSource = (layer: StoredLayer): string => layer.descriptor.digest;
export const bundleSource = (bytes: Uint8Array): string => Digest.fromBytes(bytes).toString();

function checkLayer(layer: StoredLayer, mediaType: string, source: string): void {
  if (layer.descriptor.mediaType !== mediaType) throw failure('unsupported', `layer media type ${layer.descriptor.mediaType} is not ${mediaType}`, source);
  if (Digest.fromBytes(layer.blob).toString() !== source) throw failure('malformed', 'the layer bytes do not match the descriptor digest', source);
}

/** Runs `check` on each candidate (at most MAX_SIGNATURE_LAYERS), collecting results and failures. */
export function eachCandidate<C, T>(candidates: readonly C[], sourceOf: (c: C) => string, check: (c: C, source: string) => T): VerificationResult<T> {
  const result: VerificationResult<T> = { verified: [], failures: [] };
  for (const c of candidates.slice(0, MAX_SIGNATURE_LAYERS)) {
    const source = sourceOf(c);
    try {
      result.verified.push(check(c, source));
    } catch (e) {
      if (e instanceof CandidateFailure) result.failures.push(e.failure);
      else if (e instanceof CosignFormatError) result.failures.push({ reason: 'malformed', message: e.message, source });
      else throw e;
    }
  }
  if (candidates.length > MAX_SIGNATURE_LAYERS) {
    result.failures.push({ reason: 'malformed', message: `only the first ${MAX_SIGNATURE_LAYERS} of ${candidates.length} candidates were checked` });
  }
  if (candidates.length === 0) result.failures.push({ reason: 'malformed', message: 'no signatures found' });
  return result;
}
