/**
 * `berth attest` and `berth verify-attestation`: in-toto attestations in DSSE envelopes, as
 * `cosign attest --key` writes them (without a transparency log).
 *
 * Storage: by default a Sigstore bundle referrer of the image, as cosign 3 writes it; with
 * --legacy-tag a layer added to the image at `sha256-<hex>.att`, as cosign 2 did (earlier
 * attestations are kept). One or the other, never both: cosign writes one form per run too, and
 * verify-attestation reads both, so either is found.
 *
 * The statement names the image as cosign does: subject name = the repository as cosign names
 * it, digest = the manifest digest; `--type` is cosign's (custom, slsaprovenance, spdxjson,
 * cyclonedx, ... or a predicate type URI); `custom` wraps the file's text in {Data, Timestamp}.
 * verify-attestation prints the verified statements as one JSON array.
 */
import type { Command } from 'commander';
import {
  COSIGN_SIGN_PREDICATE_TYPE,
  attestImageBundle,
  attestImageLegacy,
  attestationTag,
  customPredicate,
  inTotoStatement,
  resolvePredicateType,
  verifyBundlesWithKey,
  verifyLegacyAttestations,
  PREDICATE_TYPES,
  type InTotoStatement,
  type VerificationResult,
  type VerifiedStatement,
} from '../sign/cosign/index.js';
import { loadSigningKey, loadVerificationKey } from './key.js';
import {
  addRegistryOptions,
  appendToTag,
  cosignReference,
  emptyResult,
  forEachBundle,
  forEachTagLayer,
  gather,
  pushArtifact,
  readInputFile,
  reportUnverified,
  resolveImage,
  signingAction,
  warnAboutTag,
  SigningInputError,
  type RegistryFlags,
} from './signing-client.js';

interface AttestOptions extends RegistryFlags {
  key: string;
  predicate: string;
  type: string;
  legacyTag?: boolean;
}

interface VerifyAttestationOptions extends RegistryFlags {
  key: string;
  type?: string;
}

/** Predicates are documents (SBOMs can be large) but go into one envelope; refused beyond this. */
const MAX_PREDICATE_BYTES = 8 * 1024 * 1024;

/** Registers `berth attest` and `berth verify-attestation`. */
export function registerAttest(program: Command): void {
  addRegistryOptions(
    program
      .command('attest')
      .description('Attach a signed in-toto attestation to an image (a Sigstore bundle referrer; --legacy-tag: the sha256-<hex>.att tag)')
      .argument('<image>', 'IMAGE: [REGISTRY/]NAME[:TAG][@DIGEST]; a tag is resolved to its digest first')
      .requiredOption('--key <file>', 'private key: cosign.key (password from COSIGN_PASSWORD or a prompt) or an unencrypted PEM key')
      .requiredOption('--predicate <file>', 'the predicate: a JSON document (any text for --type custom)')
      .option('--type <type>', `predicate type: ${Object.keys(PREDICATE_TYPES).join(', ')}, or a URI`, 'custom')
      .option('--legacy-tag', 'store the attestation as cosign 2 did, in the image tagged sha256-<hex>.att (earlier ones are kept)'),
  ).action(signingAction(async (image: string, opts: AttestOptions) => {
    const predicateType = predicateTypeOf(opts.type);
    const predicate = await readPredicate(opts.predicate, predicateType);
    const key = await loadSigningKey(opts.key);
    const target = await resolveImage(image, opts);
    warnAboutTag(target);
    const digest = target.descriptor.digest;
    const statement = inTotoStatement({ predicateType, predicate, subjectName: target.cosignRepository, digest });
    if (!opts.legacyTag) {
      const artifact = attestImageBundle(key, { subject: target.descriptor, created: new Date(), statement, predicateType });
      await pushArtifact(target, artifact, artifact.digest);
      process.stdout.write(`Attested ${target.cosignRepository}@${digest}: bundle referrer ${artifact.digest} (${predicateType})\n`);
      return;
    }
    const tag = attestationTag(digest);
    await appendToTag(target, tag, attestImageLegacy(key, statement, predicateType));
    process.stdout.write(`Attested ${target.cosignRepository}@${digest}: added to ${tag} (${predicateType})\n`);
  }));

  addRegistryOptions(
    program
      .command('verify-attestation')
      .description('Verify the cosign attestations of an image (bundle referrers and the .att tag); prints the verified statements as JSON')
      .argument('<image>', 'IMAGE: [REGISTRY/]NAME[:TAG][@DIGEST]')
      .requiredOption('--key <file>', 'public key (cosign.pub)')
      .option('--type <type>', 'accept only this predicate type (a cosign type name or a URI)'),
  ).action(signingAction(async (image: string, opts: VerifyAttestationOptions) => {
    const wantedType = opts.type === undefined ? undefined : predicateTypeOf(opts.type);
    const publicKey = await loadVerificationKey(opts.key);
    const target = await resolveImage(image, opts);
    const imageDigest = target.descriptor.digest;
    const result = emptyResult<InTotoStatement>();
    const isAttestation = (t: string | undefined) => t !== COSIGN_SIGN_PREDICATE_TYPE && (wantedType === undefined || t === undefined || t === wantedType);
    await forEachBundle(target, isAttestation, (where, load) =>
      gather(result, where, async () => statements(verifyBundlesWithKey({ bundles: [await load()], publicKey, imageDigest, predicateType: wantedType }))),
    );
    await forEachTagLayer(target, attestationTag(imageDigest), (where, load) =>
      gather(result, where, async () => statements(verifyLegacyAttestations({ layers: [await load()], publicKey, imageDigest, predicateType: wantedType }))),
    );
    if (result.verified.length === 0) {
      const what = wantedType === undefined ? 'attestations' : `attestations of type ${wantedType}`;
      return reportUnverified(what, cosignReference(target), result, `bundle referrers and the tag ${attestationTag(imageDigest)}`);
    }
    process.stdout.write(JSON.stringify(result.verified) + '\n');
  }));
}

/** A cosign --type value as its predicate type URI. Throws SigningInputError. */
export function predicateTypeOf(type: string): string {
  try {
    return resolvePredicateType(type);
  } catch (e) {
    throw new SigningInputError(`--type: ${(e as Error).message}; use ${Object.keys(PREDICATE_TYPES).join(', ')} or a URI`);
  }
}

/**
 * The predicate of the statement: the file's JSON object, or for cosign's custom type its text with
 * the signing time. Throws SigningInputError naming the file.
 */
export async function readPredicate(file: string, predicateType: string): Promise<Record<string, unknown>> {
  const text = (await readInputFile(file, 'predicate', MAX_PREDICATE_BYTES)).toString('utf8');
  if (predicateType === PREDICATE_TYPES.custom) return customPredicate(text, new Date());
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new SigningInputError(`predicate ${file} is not JSON: ${(e as Error).message}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new SigningInputError(`predicate ${file} must be a JSON object`);
  return doc as Record<string, unknown>;
}

function statements(r: VerificationResult<VerifiedStatement>): VerificationResult<InTotoStatement> {
  return { verified: r.verified.map((v) => v.statement), failures: r.failures };
}
