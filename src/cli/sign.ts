/**
 * `berth sign` and `berth verify`: cosign-compatible image signatures.
 *
 * sign (`cosign sign --key`, without a transparency log): IMAGE is resolved to its manifest
 * digest first (a tag gets a warning: the digest is what is signed). By default the signature is
 * cosign 3's: a Sigstore bundle pushed as an OCI referrer of the manifest (blobs, then the
 * manifest by digest, with the manifest as subject). With --legacy-tag it is cosign 2's: a layer
 * added to the image at `sha256-<hex>.sig`, which is read first so earlier signatures stay (two
 * signers racing on one tag can still lose one, as with cosign). --recursive on an index signs the
 * index and every manifest it lists.
 *
 * verify (`cosign verify --key` / `--certificate-identity … --trusted-root`): looks in both places
 * (bundle referrers, the `.sig` tag), verifies each candidate, and prints what verified as one JSON
 * array, as cosign does: a `.sig` signature as its simple signing payload; a bundle as cosign 3
 * prints it, the payload shape with the statement's predicate type as `type` and the subject's
 * annotations as `optional` (plus Subject and Issuer for keyless bundles, as cosign adds them).
 */
import { InvalidArgumentError, type Command } from 'commander';
import {
  COSIGN_SIGN_PREDICATE_TYPE,
  loadTrustedRoot,
  signImageBundle,
  signImageLegacy,
  signatureTag,
  verifyBundlesKeyless,
  verifyBundlesWithKey,
  verifyLegacySignatures,
  CosignFormatError,
  type CosignPrivateKey,
  type CosignPublicKey,
  type InTotoStatement,
  type VerificationResult,
  type VerifiedStatement,
} from '../sign/cosign/index.js';
import type { Descriptor } from '../oci/manifest.js';
import { registerAttest } from './attest.js';
import { loadSigningKey, loadVerificationKey, registerKey } from './key.js';
import { registerNotation } from './notation.js';
import {
  addRegistryOptions,
  appendToTag,
  cosignReference,
  emptyResult,
  forEachBundle,
  forEachTagLayer,
  gather,
  parseAnnotationFlag,
  parsedTarget,
  pushArtifact,
  readInputFile,
  reportUnverified,
  resolveImage,
  signingAction,
  warnAboutTag,
  SigningInputError,
  type GatheredResult,
  type RegistryFlags,
  type SigningTarget,
} from './signing-client.js';

interface SignOptions extends RegistryFlags {
  key: string;
  legacyTag?: boolean;
  annotations?: Record<string, string>;
  recursive?: boolean;
}

interface VerifyOptions extends RegistryFlags {
  key?: string;
  annotations?: Record<string, string>;
  certificateIdentity?: string;
  certificateOidcIssuer?: string;
  trustedRoot?: string;
}

/** What `cosign verify` prints for one signature. */
export interface VerifiedPayload {
  critical: { identity: { 'docker-reference': string }; image: { 'docker-manifest-digest': string }; type: string };
  optional: Record<string, unknown> | null;
}

/** `-a key=value`, repeatable; commander names the flag when the value is refused. */
function annotationOption(text: string, previous?: Record<string, string>): Record<string, string> {
  try {
    return parseAnnotationFlag(text, previous);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
}

/** Registers every signing command: key generate, sign, verify, attest, verify-attestation, notation sign/verify. */
export function registerSigningCommands(program: Command): void {
  registerKey(program);
  registerSign(program);
  registerAttest(program);
  registerNotation(program);
}

/** Registers `berth sign` and `berth verify`. */
export function registerSign(program: Command): void {
  addRegistryOptions(
    program
      .command('sign')
      .description('Sign an image with a cosign key (a Sigstore bundle referrer; --legacy-tag: the sha256-<hex>.sig tag)')
      .argument('<image>', 'IMAGE: [REGISTRY/]NAME[:TAG][@DIGEST]; a tag is resolved to its digest first')
      .requiredOption('--key <file>', 'private key: cosign.key (password from COSIGN_PASSWORD or a prompt) or an unencrypted PEM key')
      .option('--legacy-tag', "store the signature as cosign 2 did, in the image tagged sha256-<hex>.sig (earlier signatures are kept)")
      .option('-a, --annotations <key=value>', 'a claim to sign with the image (repeatable)', annotationOption)
      .option('--recursive', 'on an index, also sign every manifest it lists'),
  ).action(signingAction(async (image: string, opts: SignOptions) => {
    const key = await loadSigningKey(opts.key);
    const target = await resolveImage(image, opts);
    warnAboutTag(target);
    const manifests = [target.descriptor, ...(opts.recursive ? (await parsedTarget(target)).children : [])];
    for (const d of manifests) {
      const where = opts.legacyTag ? await signLegacy(target, key, d, opts.annotations) : await signBundle(target, key, d, opts.annotations);
      process.stdout.write(`Signed ${target.cosignRepository}@${d.digest}: ${where}\n`);
    }
  }));

  addRegistryOptions(
    program
      .command('verify')
      .description('Verify the cosign signatures of an image (bundle referrers and the .sig tag); prints the verified payloads as JSON')
      .argument('<image>', 'IMAGE: [REGISTRY/]NAME[:TAG][@DIGEST]')
      .option('--key <file>', 'public key (cosign.pub)')
      .option('-a, --annotations <key=value>', 'a claim every accepted signature must carry (repeatable)', annotationOption)
      .option('--certificate-identity <id>', 'keyless: the signer identity the certificate must name (exactly)')
      .option('--certificate-oidc-issuer <url>', 'keyless: the OIDC issuer the certificate must name (exactly)')
      .option('--trusted-root <file>', 'keyless: Sigstore trusted_root.json to verify certificates and log entries against'),
  ).action(signingAction(async (image: string, opts: VerifyOptions) => {
    const check = await verificationMode(opts);
    const target = await resolveImage(image, opts);
    const result = emptyResult<VerifiedPayload>();
    await verifyBundleSignatures(target, check, opts.annotations ?? {}, result);
    if (check.kind === 'key') await verifyTagSignatures(target, check.key, opts.annotations ?? {}, result);
    else await verifyLegacyKeyless(target, result);
    if (result.verified.length === 0) {
      return reportUnverified('cosign signatures', cosignReference(target), result, `bundle referrers and the tag ${signatureTag(target.descriptor.digest)}`);
    }
    process.stdout.write(JSON.stringify(result.verified) + '\n');
  }));
}

async function signBundle(target: SigningTarget, key: CosignPrivateKey, subject: Descriptor, annotations?: Record<string, string>): Promise<string> {
  const artifact = signImageBundle(key, { subject, created: new Date(), annotations });
  await pushArtifact(target, artifact, artifact.digest);
  return `bundle referrer ${artifact.digest}`;
}

async function signLegacy(target: SigningTarget, key: CosignPrivateKey, subject: Descriptor, annotations?: Record<string, string>): Promise<string> {
  const layer = signImageLegacy(key, { dockerReference: target.cosignRepository, manifestDigest: subject.digest, annotations });
  const tag = signatureTag(subject.digest);
  const { added, layers } = await appendToTag(target, tag, layer, key.publicKey);
  if (!added) return `already signed with this key and payload at ${tag}; nothing pushed`;
  return `signature ${layer.descriptor.digest} added to ${tag} (${layers} signature${layers === 1 ? '' : 's'} there now)`;
}

type VerificationMode = { kind: 'key'; key: CosignPublicKey } | { kind: 'keyless'; trustMaterial: ReturnType<typeof loadTrustedRoot>; identity: string; issuer: string };

async function verificationMode(opts: VerifyOptions): Promise<VerificationMode> {
  const keyless = [opts.certificateIdentity, opts.certificateOidcIssuer, opts.trustedRoot];
  if (opts.key !== undefined) {
    if (keyless.some((v) => v !== undefined)) throw new SigningInputError('--key excludes --certificate-identity, --certificate-oidc-issuer and --trusted-root');
    return { kind: 'key', key: await loadVerificationKey(opts.key) };
  }
  if (keyless.some((v) => v === undefined)) {
    throw new SigningInputError('pass --key cosign.pub, or all of --certificate-identity, --certificate-oidc-issuer and --trusted-root for keyless signatures');
  }
  const file = opts.trustedRoot as string;
  let trustMaterial;
  try {
    trustMaterial = loadTrustedRoot(await readInputFile(file, 'trusted root'));
  } catch (e) {
    if (e instanceof CosignFormatError) throw new SigningInputError(`${file}: ${e.message}`);
    throw e;
  }
  return { kind: 'keyless', trustMaterial, identity: opts.certificateIdentity as string, issuer: opts.certificateOidcIssuer as string };
}

async function verifyBundleSignatures(target: SigningTarget, check: VerificationMode, annotations: Record<string, string>, into: GatheredResult<VerifiedPayload>): Promise<void> {
  const isSignature = (t: string | undefined) => t === undefined || t === COSIGN_SIGN_PREDICATE_TYPE;
  await forEachBundle(target, isSignature, (where, load) =>
    gather(into, where, async () => {
      const bundles = [await load()];
      const imageDigest = target.descriptor.digest;
      const base = { bundles, imageDigest, predicateType: COSIGN_SIGN_PREDICATE_TYPE };
      if (check.kind === 'key') return withClaims(verifyBundlesWithKey({ ...base, publicKey: check.key }), target, annotations, () => ({}));
      const r = verifyBundlesKeyless({ ...base, trustMaterial: check.trustMaterial, identity: check.identity, issuer: check.issuer });
      return withClaims(r, target, annotations, (v) => ({ Subject: v.signer.identity, Issuer: v.signer.issuer, '1.3.6.1.4.1.57264.1.1': v.signer.issuer }));
    }),
  );
}

async function verifyTagSignatures(target: SigningTarget, key: CosignPublicKey, annotations: Record<string, string>, into: GatheredResult<VerifiedPayload>): Promise<void> {
  await forEachTagLayer(target, signatureTag(target.descriptor.digest), (where, load) =>
    gather(into, where, async () => {
      const r = verifyLegacySignatures({ layers: [await load()], publicKey: key, imageDigest: target.descriptor.digest, annotations });
      return { verified: r.verified.map((v) => v.payload), failures: r.failures };
    }),
  );
}

/** `.sig` signatures carry certificates in annotations; keyless checks here cover bundles only, so each is reported as not checked. */
async function verifyLegacyKeyless(target: SigningTarget, into: GatheredResult<VerifiedPayload>): Promise<void> {
  await forEachTagLayer(target, signatureTag(target.descriptor.digest), (where) =>
    gather(into, where, () => ({ verified: [], failures: [{ reason: 'unsupported', message: 'keyless verification covers Sigstore bundles only; verify .sig signatures with --key' }] })),
  );
}

/**
 * Turns verified bundle statements into what cosign 3 prints, keeping only those whose subject
 * carries every `-a` claim (cosign checks them against `optional` the same way).
 */
export function withClaims<V extends VerifiedStatement>(
  r: VerificationResult<V>,
  target: SigningTarget,
  annotations: Record<string, string>,
  extra: (v: V) => Record<string, unknown>,
): VerificationResult<VerifiedPayload> {
  const out: VerificationResult<VerifiedPayload> = { verified: [], failures: [...r.failures] };
  for (const v of r.verified) {
    const claims = subjectAnnotations(v.statement, target.descriptor.digest);
    const missing = Object.entries(annotations).find(([k, value]) => claims[k] !== value);
    if (missing) {
      out.failures.push({ reason: 'annotation-mismatch', message: `missing or incorrect annotation ${missing[0]}`, source: v.source });
      continue;
    }
    out.verified.push({
      critical: { identity: { 'docker-reference': cosignReference(target) }, image: { 'docker-manifest-digest': target.descriptor.digest }, type: v.statement.predicateType },
      optional: { ...claims, ...extra(v) },
    });
  }
  return out;
}

/** The annotations of the statement subject that names `digest` (`cosign sign -a` claims in the bundle format). */
export function subjectAnnotations(statement: InTotoStatement, digest: string): Record<string, unknown> {
  const [algorithm, hex] = digest.split(':');
  const subject = statement.subject.find((s) => algorithm !== undefined && s.digest?.[algorithm] === hex);
  const a = subject?.annotations;
  return typeof a === 'object' && a !== null && !Array.isArray(a) ? a : {};
}
