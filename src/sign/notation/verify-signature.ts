/*
 * Signature verification (specs/trust-store-trust-policy.md "Signature Verification", steps in
 * the order notation-go's verifier runs them): select the trust policy statement for the artifact;
 * `skip` ends there; then integrity, authenticity (trust store, then trusted identity), expiry,
 * authentic timestamp and revocation. Each validation is enforced (a failure fails verification
 * and stops) or logged (recorded, verification goes on) as the statement's verification level says
 * ("Signature Verification details" table, with `override`). Integrity is always enforced, and the
 * signed target must be the artifact being verified.
 *
 * What is not done here, and what that means:
 *  - Revocation: no network, so no CRL or OCSP is fetched. A certificate carrying no CRL or OCSP
 *    location is "not revoked" (the spec: no check is performed); one that carries either has an
 *    undeterminable status, which the spec counts as a failed revocation check: it fails `strict`
 *    (revocation enforced), is logged under `permissive` and `audit`, and is not looked at with
 *    `override: {revocation: skip}`.
 *  - RFC 3161 timestamp countersignatures are not verified: an envelope that has one is judged as
 *    if it had none, so every certificate must be valid now. That is the stricter reading; a
 *    signature whose certificates expired after a genuine timestamp fails where notation would pass.
 *  - Verification plugins are not run: envelopes that require one fail integrity (unknown crit).
 */
import type { Descriptor } from '../../oci/manifest.js';
import { NotationError, UnsupportedEnvelopeError } from './errors.js';
import { distinguishedNameOf, isSubsetDn } from './distinguished-name.js';
import { parseAndVerifyJws, type VerifiedEnvelope } from './jws-envelope.js';
import { NotationMediaType, SigningScheme } from './media-types.js';
import {
  selectTrustPolicy,
  artifactRepository,
  type TrustPolicyDocument,
  type TrustPolicyStatement,
  type TrustStoreType,
  type ValidationAction,
  type ValidationType,
  type VerificationLevel,
} from './trust-policy.js';
import type { TrustStore } from './trust-store.js';

export interface VerifyNotationSignatureInput {
  /** The signature envelope blob. */
  envelope: Uint8Array;
  /** The envelope layer's mediaType in the signature manifest; defaults to application/jose+json. */
  envelopeMediaType?: string;
  /** Descriptor of the manifest being verified (the signature manifest's subject). */
  target: Descriptor;
  policyDoc: TrustPolicyDocument;
  trustStores: TrustStore;
  /** `host[:port]/repository@digest` of the artifact, which selects the trust policy. */
  artifactReference: string;
  /** Verification time; defaults to now. */
  now?: Date;
}

export interface ValidationResult {
  type: ValidationType;
  action: ValidationAction;
  ok: boolean;
  message?: string;
}

export interface NotationVerificationReport {
  outcome: 'verified' | 'failed' | 'skipped';
  /** Name of the trust policy statement applied, when one applies. */
  policy?: string;
  level?: VerificationLevel;
  /** Failures: the enforced one that failed verification, and the logged ones. */
  reasons: string[];
  /** Every validation evaluated, in order. */
  results: ValidationResult[];
  /** RFC 4514 subject of the signing certificate, once the envelope parsed. */
  signer?: string;
  signingTime?: Date;
  expiry?: Date;
}

/**
 * Parses an envelope of the given media type and checks its integrity.
 * Throws UnsupportedEnvelopeError for COSE (no maintained COSE_Sign1 library is installed) and
 * unknown media types, SignatureEnvelopeError or CertificateError for a bad JWS envelope.
 */
export async function parseSignatureEnvelope(mediaType: string, bytes: Uint8Array): Promise<VerifiedEnvelope> {
  if (mediaType === NotationMediaType.JwsEnvelope) return parseAndVerifyJws(bytes);
  if (mediaType === NotationMediaType.CoseEnvelope) {
    throw new UnsupportedEnvelopeError('COSE signature envelopes (application/cose) are not supported; sign with the JWS envelope (application/jose+json)');
  }
  throw new UnsupportedEnvelopeError(`signature envelope media type ${JSON.stringify(mediaType)} is not a Notary Project envelope`);
}

/**
 * Verifies one Notary Project signature of `target` under the trust policy that applies to
 * `artifactReference`. Returns a report; throws TrustPolicyError only when `artifactReference`
 * is not `host/repository@digest`.
 */
export async function verifyNotationSignature(input: VerifyNotationSignatureInput): Promise<NotationVerificationReport> {
  const repository = artifactRepository(input.artifactReference);
  const policy = selectTrustPolicy(input.policyDoc, input.artifactReference);
  if (!policy) return { outcome: 'failed', reasons: [`no trust policy statement applies to ${repository}`], results: [] };
  const report: NotationVerificationReport = { outcome: 'verified', policy: policy.name, level: policy.level, reasons: [], results: [] };
  if (policy.level.name === 'skip') return { ...report, outcome: 'skipped' };
  const now = input.now ?? new Date();
  const check = (type: ValidationType, problem: string | undefined, note?: string): boolean => {
    const action = policy.level.enforcement[type];
    report.results.push({ type, action, ok: problem === undefined, message: problem ?? note });
    if (problem === undefined) return true;
    report.reasons.push(action === 'enforce' ? `${type}: ${problem}` : `${type} (logged): ${problem}`);
    if (action !== 'enforce') return true;
    report.outcome = 'failed';
    return false;
  };

  let env: VerifiedEnvelope;
  try {
    env = await parseSignatureEnvelope(input.envelopeMediaType ?? NotationMediaType.JwsEnvelope, input.envelope);
  } catch (e) {
    if (!(e instanceof NotationError)) throw e;
    check('integrity', e.message);
    return report;
  }
  report.signer = env.certificateChain[0]?.subjectString;
  report.signingTime = env.signingTime;
  report.expiry = env.expiry;
  const signed = env.targetArtifact;
  const sameTarget = signed.digest === input.target.digest && signed.mediaType === input.target.mediaType && signed.size === input.target.size;
  const referenced = input.artifactReference.slice(input.artifactReference.lastIndexOf('@') + 1);
  if (!check('integrity', sameTarget ? undefined : `the signature is for ${describe(signed)}, not ${describe(input.target)}`)) return report;
  if (!check('integrity', referenced === input.target.digest ? undefined : `artifact reference names ${referenced}, not the verified ${input.target.digest}`)) {
    return report;
  }
  if (!check('authenticity', trustStoreProblem(env, policy, input.trustStores))) return report;
  if (!check('authenticity', identityProblem(env, policy))) return report;
  const expired = env.expiry !== undefined && now >= env.expiry;
  if (!check('expiry', expired ? `the signature expired at ${env.expiry?.toISOString()}` : undefined)) return report;
  if (!check('authenticTimestamp', ...authenticTimestamp(env, now))) return report;
  if (policy.level.enforcement.revocation !== 'skip') check('revocation', ...revocation(env));
  return report;
}

function describe(d: Descriptor): string {
  return `${d.mediaType} ${d.digest} (${d.size} bytes)`;
}

/** The chain must contain a certificate of one of the policy's stores of the scheme's type. */
function trustStoreProblem(env: VerifiedEnvelope, policy: TrustPolicyStatement, store: TrustStore): string | undefined {
  const type: TrustStoreType = env.signingScheme === SigningScheme.X509 ? 'ca' : 'signingAuthority';
  const refs = policy.trustStores.filter((r) => r.type === type);
  if (refs.length === 0) return `trust policy ${JSON.stringify(policy.name)} has no ${type} trust store for signing scheme ${env.signingScheme}`;
  const trusted = new Set<string>();
  for (const ref of refs) {
    try {
      for (const c of store.certificates(ref.type, ref.name)) trusted.add(c.sha256);
    } catch (e) {
      if (!(e instanceof NotationError)) throw e;
      return e.message;
    }
  }
  if (env.certificateChain.some((c) => trusted.has(c.sha256))) return undefined;
  const names = refs.map((r) => `${r.type}:${r.name}`).join(', ');
  return `the certificate chain of ${env.certificateChain[0]?.subjectString} does not lead to a certificate in trust store(s) ${names}`;
}

function identityProblem(env: VerifiedEnvelope, policy: TrustPolicyStatement): string | undefined {
  if (policy.anyIdentity) return undefined;
  if (policy.x509Identities.length === 0) return `trust policy ${JSON.stringify(policy.name)} has no x509.subject trusted identity`;
  const leaf = env.certificateChain[0];
  if (!leaf) return 'the signature has no signing certificate';
  let subject;
  try {
    subject = distinguishedNameOf(leaf.subject);
  } catch (e) {
    return `signing certificate ${leaf.subjectString}: ${(e as Error).message}`;
  }
  if (policy.x509Identities.some((id) => isSubsetDn(id, subject))) return undefined;
  return `signing certificate subject ${leaf.subjectString} matches none of the trusted identities of trust policy ${JSON.stringify(policy.name)}`;
}

/** Returns [problem, note] for check(). */
function authenticTimestamp(env: VerifiedEnvelope, now: Date): [string | undefined, string | undefined] {
  if (env.signingScheme === SigningScheme.X509SigningAuthority) {
    // The authentic signing time was already required to fall in every certificate's validity.
    return [undefined, `authentic signing time ${env.signingTime.toISOString()}`];
  }
  const note = env.timestampSignature ? 'timestamp countersignature present but not verified; certificates checked at verification time' : undefined;
  for (const c of env.certificateChain) {
    if (now < c.notBefore) return [`certificate ${c.subjectString} is not valid before ${c.notBefore.toISOString()}`, note];
    if (now > c.notAfter) return [`certificate ${c.subjectString} expired at ${c.notAfter.toISOString()} and the signature has no verified timestamp`, note];
  }
  return [undefined, note];
}

function revocation(env: VerifiedEnvelope): [string | undefined, string | undefined] {
  const withInfo = env.certificateChain.filter((c) => c.hasRevocationInfo);
  if (withInfo.length === 0) return [undefined, 'no certificate carries CRL or OCSP information; none is considered revoked'];
  const names = withInfo.map((c) => c.subjectString).join('; ');
  return [`revocation status of ${names} cannot be determined: berth does not fetch CRLs or OCSP responses`, undefined];
}
