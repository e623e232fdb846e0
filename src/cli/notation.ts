/**
 * `berth notation sign` and `berth notation verify`: Notary Project signatures, as `notation`
 * writes and checks them.
 *
 * sign: a JWS envelope (notary.x509 signing scheme) over the manifest's descriptor, signed with
 * the leaf key of a certificate chain file (PEM, leaf first, ending with its root), pushed as
 * notation pushes it: the config and envelope blobs, then the signature manifest by its digest with
 * the signed manifest as subject.
 *
 * verify: the trust policy document (version 1.0) and a trust store directory in notation's layout
 * (`DIR/x509/{ca,signingAuthority,tsa}/NAME/*.pem`) decide. Signatures are found through the
 * referrers API (artifactType application/vnd.cncf.notary.signature) and checked one by one until
 * one verifies, at most 100 (notation's default --max-signatures). The outcome is printed as JSON;
 * the exit code is 0 only when a signature verified. A statement at level `skip` verifies nothing,
 * so it answers `skipped` with exit code 1.
 */
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { stat } from 'node:fs/promises';
import type { Command } from 'commander';
import { parseCertificateFile } from '../sign/notation/certificate.js';
import { NotationError } from '../sign/notation/errors.js';
import { signJws } from '../sign/notation/jws-envelope.js';
import { NotationMediaType } from '../sign/notation/media-types.js';
import { notationSignatureManifest, parseNotationSignatureManifest } from '../sign/notation/signature-manifest.js';
import { parseTrustPolicyDocument, selectTrustPolicy, type TrustPolicyDocument } from '../sign/notation/trust-policy.js';
import { X509TrustStore } from '../sign/notation/trust-store.js';
import { verifyNotationSignature, type NotationVerificationReport } from '../sign/notation/verify-signature.js';
import { printJson } from './output.js';
import {
  addRegistryOptions,
  fetchManifest,
  listReferrers,
  pushArtifact,
  readBlob,
  readInputFile,
  resolveImage,
  signingAction,
  warnAboutTag,
  SigningInputError,
  type RegistryFlags,
  type SigningTarget,
} from './signing-client.js';

interface NotationSignOptions extends RegistryFlags {
  key: string;
  cert: string;
}

interface NotationVerifyOptions extends RegistryFlags {
  trustPolicy: string;
  trustStore: string;
}

/** One signature's verdict in the printed outcome. */
interface SignatureOutcome extends Omit<NotationVerificationReport, 'level' | 'signingTime' | 'expiry'> {
  /** The signature manifest's digest. */
  digest: string;
  level?: string;
  signingTime?: string;
  expiry?: string;
}

/** Registers `berth notation sign` and `berth notation verify`. */
export function registerNotation(program: Command): void {
  const notation = program.command('notation').description('Notary Project (notation) signatures: JWS envelopes, trust policies and trust stores');

  addRegistryOptions(
    notation
      .command('sign')
      .description('Sign an image with an X.509 key and certificate chain; pushes the signature manifest as a referrer')
      .argument('<image>', 'IMAGE: [REGISTRY/]NAME[:TAG][@DIGEST]; a tag is resolved to its digest first')
      .requiredOption('--key <file>', 'PEM private key of the signing certificate (unencrypted)')
      .requiredOption('--cert <file>', 'PEM certificate chain: the signing certificate first, ending with the root'),
  ).action(signingAction(async (image: string, opts: NotationSignOptions) => {
    const key = privateKeyOf(await readInputFile(opts.key, 'private key', 64 * 1024), opts.key);
    const chain = certificatesOf(await readInputFile(opts.cert, 'certificate chain', 1024 * 1024), opts.cert);
    const target = await resolveImage(image, opts);
    warnAboutTag(target);
    let signed;
    try {
      signed = await signJws({ key, chain, target: target.descriptor });
    } catch (e) {
      if (e instanceof NotationError) throw new SigningInputError(`cannot sign with ${opts.key} and ${opts.cert}: ${e.message}`);
      throw e;
    }
    const m = notationSignatureManifest({ envelope: signed, certificateChain: signed.certificateChain, signingTime: signed.signingTime, subject: target.descriptor });
    await pushArtifact(target, { manifest: m.bytes, digest: m.digest, mediaType: m.mediaType, blobs: m.blobs }, m.digest);
    process.stdout.write(`Successfully signed ${artifactReference(target)} (signature manifest ${m.digest})\n`);
  }));

  addRegistryOptions(
    notation
      .command('verify')
      .description('Verify the Notary Project signatures of an image against a trust policy and trust store; prints the outcome as JSON')
      .argument('<image>', 'IMAGE: [REGISTRY/]NAME[:TAG][@DIGEST]')
      .requiredOption('--trust-policy <file>', 'trust policy document (JSON, version 1.0)')
      .requiredOption('--trust-store <dir>', 'trust store directory holding x509/{ca,signingAuthority,tsa}/NAME/'),
  ).action(signingAction(async (image: string, opts: NotationVerifyOptions) => {
    const policyDoc = trustPolicyOf(await readInputFile(opts.trustPolicy, 'trust policy', 1024 * 1024), opts.trustPolicy);
    if (!(await stat(opts.trustStore).then((s) => s.isDirectory(), () => false))) throw new SigningInputError(`trust store directory ${opts.trustStore} does not exist`);
    const trustStores = await X509TrustStore.readDirectory(opts.trustStore).catch((e: Error) => {
      throw new SigningInputError(`trust store ${opts.trustStore}: ${e.message}`);
    });
    const target = await resolveImage(image, opts);
    const reference = artifactReference(target);
    const outcome = await verifySignatures(target, reference, policyDoc, trustStores);
    printJson(outcome);
    if (outcome.outcome !== 'verified') {
      const why = outcome.outcome === 'skipped' ? `trust policy ${outcome.policy ?? ''} skips verification for it` : outcome.reason ?? 'no signature verified';
      process.stderr.write(`berth: ${reference} is not verified: ${why}\n`);
      process.exitCode = 1;
    }
  }));
}

/** The outcome printed by `notation verify`: overall, then each signature checked. */
export interface NotationOutcome {
  reference: string;
  outcome: 'verified' | 'failed' | 'skipped';
  policy?: string;
  reason?: string;
  signatures: SignatureOutcome[];
}

/** Checks the notation signatures of the target until one verifies. Throws RegistryAccessError when the registry fails. */
async function verifySignatures(target: SigningTarget, reference: string, policyDoc: TrustPolicyDocument, trustStores: X509TrustStore): Promise<NotationOutcome> {
  const policy = selectTrustPolicy(policyDoc, reference);
  if (!policy) return { reference, outcome: 'failed', reason: `no trust policy statement applies to ${reference}`, signatures: [] };
  if (policy.level.name === 'skip') return { reference, outcome: 'skipped', policy: policy.name, signatures: [] };
  const signatures: SignatureOutcome[] = [];
  for (const r of await listReferrers(target, NotationMediaType.Signature)) {
    const report = await checkSignature(target, r.digest, reference, policyDoc, trustStores);
    signatures.push(report);
    if (report.outcome === 'verified') return { reference, outcome: 'verified', policy: policy.name, signatures };
  }
  const reason = signatures.length === 0 ? `no signature is associated with ${reference}` : `none of the ${signatures.length} signatures verified`;
  return { reference, outcome: 'failed', policy: policy.name, reason, signatures };
}

async function checkSignature(target: SigningTarget, digest: string, reference: string, policyDoc: TrustPolicyDocument, trustStores: X509TrustStore): Promise<SignatureOutcome> {
  const failed = (why: string): SignatureOutcome => ({ digest, outcome: 'failed', reasons: [why], results: [] });
  let envelope;
  let envelopeMediaType;
  try {
    const m = await fetchManifest(target, digest);
    if (!m) return failed('the signature manifest is missing');
    const parsed = parseNotationSignatureManifest(m.bytes, m.parsed.mediaType);
    if (parsed.subject.digest !== target.descriptor.digest) return failed(`the signature manifest's subject is ${parsed.subject.digest}`);
    envelope = await readBlob(target, parsed.envelope, 1024 * 1024);
    envelopeMediaType = parsed.envelope.mediaType;
  } catch (e) {
    if (e instanceof SigningInputError || e instanceof NotationError) return failed(e.message);
    throw e;
  }
  const r = await verifyNotationSignature({ envelope, envelopeMediaType, target: target.descriptor, policyDoc, trustStores, artifactReference: reference });
  return { ...r, digest, level: r.level?.name, signingTime: r.signingTime?.toISOString(), expiry: r.expiry?.toISOString() };
}

/** `host[:port]/repository@digest`, the form trust policy registry scopes are matched against. */
export function artifactReference(target: SigningTarget): string {
  return `${target.registry}/${target.repository}@${target.descriptor.digest}`;
}

/** The signing key from PEM bytes; SigningInputError naming `file` (and how to decrypt an encrypted one). */
export function privateKeyOf(pem: Buffer, file: string): KeyObject {
  try {
    return createPrivateKey(pem);
  } catch (e) {
    const encrypted = pem.toString('latin1').includes('ENCRYPTED');
    throw new SigningInputError(`${file} is not ${encrypted ? 'an unencrypted' : 'a'} PEM private key${encrypted ? ' (decrypt it first, e.g. openssl pkey -in KEY -out PLAIN)' : ''}: ${(e as Error).message}`);
  }
}

/** The DER certificates of a chain file (PEM or DER), in file order; SigningInputError naming `file`. */
export function certificatesOf(bytes: Buffer, file: string): Buffer[] {
  try {
    return parseCertificateFile(bytes).map((c) => c.der);
  } catch (e) {
    throw new SigningInputError(`certificate chain ${file}: ${(e as Error).message}`);
  }
}

/** A parsed, validated trust policy; SigningInputError naming `file` and the rule broken. */
export function trustPolicyOf(bytes: Buffer, file: string): TrustPolicyDocument {
  try {
    return parseTrustPolicyDocument(bytes);
  } catch (e) {
    if (e instanceof NotationError) throw new SigningInputError(`trust policy ${file}: ${e.message}`);
    throw e;
  }
}
