/** Base of every error this module throws: the message names what was wrong. */
export class NotationError extends Error {
  override readonly name: string = 'NotationError';
}

/** A signature envelope that cannot be parsed or whose signature or headers are invalid. */
export class SignatureEnvelopeError extends NotationError {
  override readonly name = 'SignatureEnvelopeError';
}

/** An envelope media type this implementation does not handle (COSE). */
export class UnsupportedEnvelopeError extends NotationError {
  override readonly name = 'UnsupportedEnvelopeError';
}

/** A certificate that cannot be parsed, or a chain that breaks the spec's certificate requirements. */
export class CertificateError extends NotationError {
  override readonly name = 'CertificateError';
}

/** A trust policy document that breaks the spec's rules, or an artifact reference it cannot judge. */
export class TrustPolicyError extends NotationError {
  override readonly name = 'TrustPolicyError';
}

/** A trust store, named store or trusted certificate file that cannot be used. */
export class TrustStoreError extends NotationError {
  override readonly name = 'TrustStoreError';
}

/** A distinguished name that is not RFC 4514 or breaks the Notary Project's identity rules. */
export class DistinguishedNameError extends NotationError {
  override readonly name = 'DistinguishedNameError';
}

/** A signature manifest that is not shaped as the Notary Project signature specification says. */
export class SignatureManifestError extends NotationError {
  override readonly name = 'SignatureManifestError';
}
