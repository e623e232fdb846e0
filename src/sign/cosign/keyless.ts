/*
 * Keyless verification of Sigstore bundles, offline, against a trusted root the user provides
 * (`cosign verify --trusted-root FILE --certificate-identity ID --certificate-oidc-issuer ISSUER`).
 *
 * @sigstore/verify does the cryptography: the Fulcio certificate chains to a certificate authority
 * of the trusted root at the transparency log's integrated time (or a TSA timestamp), it carries
 * an SCT from a trusted CT log, the log entry's inclusion proof/promise and body match, and the
 * envelope signature verifies with the certificate's key (thresholds: one of each, its defaults,
 * as cosign requires without --insecure-ignore-tlog). The identity is then compared here,
 * exactly: @sigstore/verify's own policy check treats the expected identity as an unanchored
 * regular expression, which would let "a@x.com" match "evil-a@x.com.attacker".
 */
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { PolicyError, toSignedEntity, toTrustMaterial, VerificationError, Verifier, type TrustMaterial } from '@sigstore/verify';
import { Digest } from '../../oci/digest.js';
import { CosignFormatError } from './errors.js';
import { bundleEnvelope, bundleSource, checkVerifiedEnvelope, eachCandidate, failure, parseBundle, type VerificationResult, type VerifiedStatement } from './verify.js';

const MAX_TRUSTED_ROOT_BYTES = 4 * 1024 * 1024;

/** Parses a trusted_root.json (Sigstore TrustedRoot). Throws CosignFormatError naming the problem. */
export function loadTrustedRoot(json: Uint8Array): TrustMaterial {
  if (json.length > MAX_TRUSTED_ROOT_BYTES) throw new CosignFormatError('trusted root is too large');
  try {
    const root = TrustedRoot.fromJSON(JSON.parse(Buffer.from(json).toString('utf8')));
    if (!root.mediaType.startsWith('application/vnd.dev.sigstore.trustedroot')) throw new Error(`unexpected mediaType ${JSON.stringify(root.mediaType)}`);
    return toTrustMaterial(root);
  } catch (e) {
    throw new CosignFormatError(`not a Sigstore trusted root: ${(e as Error).message}`);
  }
}

export interface KeylessCheck {
  bundles: readonly Uint8Array[];
  trustMaterial: TrustMaterial;
  /** Expected certificate identity (SAN: e-mail, URI...), compared exactly. */
  identity: string;
  /** Expected OIDC issuer (Fulcio certificate extension), compared exactly. */
  issuer: string;
  imageDigest: string;
  /** As in verifyBundlesWithKey. */
  predicateType?: string;
}

export interface KeylessVerifiedStatement extends VerifiedStatement {
  signer: { identity: string; issuer: string };
}

/** Verifies certificate-based bundles. Throws only DigestParseError for an invalid imageDigest. */
export function verifyBundlesKeyless(check: KeylessCheck): VerificationResult<KeylessVerifiedStatement> {
  Digest.parse(check.imageDigest);
  const verifier = new Verifier(check.trustMaterial);
  return eachCandidate(check.bundles, bundleSource, (bytes, source) => {
    const bundle = parseBundle(bytes, source);
    const envelope = bundleEnvelope(bundle, source);
    if (bundle.verificationMaterial.content.$case === 'publicKey') throw failure('unsupported', 'the bundle is key-based: verify it with the public key', source);
    let signer;
    try {
      signer = verifier.verify(toSignedEntity(bundle));
    } catch (e) {
      if (e instanceof VerificationError || e instanceof PolicyError) {
        const reason = e.code === 'SIGNATURE_ERROR' || e.code === 'TLOG_BODY_ERROR' ? 'bad-signature' : 'untrusted-signer';
        throw failure(reason, `${e.code}: ${e.message}`, source);
      }
      throw failure('malformed', `cannot verify the bundle: ${(e as Error).message}`, source);
    }
    const identity = signer.identity?.subjectAlternativeName ?? '';
    const issuer = signer.identity?.extensions?.issuer ?? '';
    if (identity !== check.identity) throw failure('identity-mismatch', `certificate identity is ${JSON.stringify(identity)}, expected ${JSON.stringify(check.identity)}`, source);
    if (issuer !== check.issuer) throw failure('identity-mismatch', `certificate OIDC issuer is ${JSON.stringify(issuer)}, expected ${JSON.stringify(check.issuer)}`, source);
    return { ...checkVerifiedEnvelope(envelope, check.imageDigest, check.predicateType, source), signer: { identity, issuer } };
  });
}
