/*
 * Names fixed by the Notary Project specifications (notaryproject/specifications, specs/):
 * signature-specification.md ("Storage", "Payload", "Signed Attributes"),
 * signature-envelope-jws.md ("Protected Headers", "Unprotected Headers").
 */

export const NotationMediaType = {
  /** JWS JSON serialization envelope (signature-envelope-jws.md "OCI Signature Storage"). */
  JwsEnvelope: 'application/jose+json',
  /** COSE_Sign1_Tagged envelope (signature-envelope-cose.md); not supported here. */
  CoseEnvelope: 'application/cose',
  /** The signed payload's content type (`cty`). */
  Payload: 'application/vnd.cncf.notary.payload.v1+json',
  /** The signature manifest's `config.mediaType`, which the referrers API reports as its artifactType. */
  Signature: 'application/vnd.cncf.notary.signature',
} as const;

export const SigningScheme = {
  X509: 'notary.x509',
  X509SigningAuthority: 'notary.x509.signingAuthority',
} as const;
export type SigningSchemeName = (typeof SigningScheme)[keyof typeof SigningScheme];

export const Header = {
  SigningScheme: 'io.cncf.notary.signingScheme',
  SigningTime: 'io.cncf.notary.signingTime',
  AuthenticSigningTime: 'io.cncf.notary.authenticSigningTime',
  Expiry: 'io.cncf.notary.expiry',
  SigningAgent: 'io.cncf.notary.signingAgent',
  TimestampSignature: 'io.cncf.notary.timestampSignature',
} as const;

export const Annotation = {
  /** JSON array of the lowercase hex SHA-256 of each certificate of the chain, leaf first. */
  X509ChainThumbprint: 'io.cncf.notary.x509chain.thumbprint#S256',
  /** OCI image-spec pre-defined annotation; notation sets it to the signing time. */
  Created: 'org.opencontainers.image.created',
} as const;
