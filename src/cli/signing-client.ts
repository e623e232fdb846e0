/**
 * What the signing commands (sign, verify, attest, verify-attestation, notation) share: IMAGE
 * resolved to a registry client, repository and manifest digest (credentials from
 * --username/--password or the Docker config file); signature artifacts pushed (blobs, then the
 * manifest) and fetched (bounded in count and size, digest-checked); verification results gathered
 * per candidate; and one error path with advice for the registry's access codes.
 *
 * Registries: `localhost`, `127.0.0.1` and `[::1]` speak plain HTTP, others HTTPS unless
 * --insecure; Docker Hub (`docker.io`, the default) is https://registry-1.docker.io, and its
 * credentials are read from the key docker writes for it, https://index.docker.io/v1/.
 */
import { readFile, stat } from 'node:fs/promises';
import { Option, type Command } from 'commander';
import { Digest } from '../oci/digest.js';
import { parseManifest, type Descriptor, type ParsedManifest } from '../oci/manifest.js';
import { baseMediaType, MANIFEST_TYPES } from '../oci/media-type.js';
import { parseImageReference } from '../oci/reference.js';
import { canonicalName, checkManifest, verifiedStream, ImageSourceError } from '../client/image-content.js';
import { DOCKER_HUB_URL } from '../client/image-source.js';
import { MAX_MANIFEST_BYTES, RegistryClient, RemoteRegistryError, type PushedManifest } from '../client/registry-client.js';
import {
  appendSignatureLayer,
  BUNDLE_V03_MEDIA_TYPE,
  CosignFormatError,
  type Blob,
  type CosignPublicKey,
  type ManifestToPush,
  type StoredLayer,
  type VerificationFailure,
  type VerificationResult,
} from '../sign/cosign/index.js';
import { resolveCredentials, schemeFor } from './management-command.js';
import { fail } from './output.js';

/** Where Docker Hub credentials live in docker's config file. */
export const DOCKER_HUB_CREDENTIALS_URL = 'https://index.docker.io/v1/';
/** Signatures looked at per place (referrers, a tag's layers); notation's default --max-signatures is 100 too. */
export const MAX_CANDIDATES = 100;
/** A signature, bundle or envelope blob larger than this is not read. */
export const MAX_SIGNATURE_BLOB_BYTES = 16 * 1024 * 1024;
/** Key, certificate, policy and predicate files larger than this are refused before reading. */
export const MAX_INPUT_FILE_BYTES = 16 * 1024 * 1024;
/** Child manifests of an index signed by --recursive. */
export const MAX_INDEX_CHILDREN = 1000;

export interface RegistryFlags {
  insecure?: boolean;
  username?: string;
  password?: string;
}

/** Adds --insecure and --username/--password (as the management commands name them) to `cmd`. */
export function addRegistryOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--insecure', 'allow plain HTTP to a registry that is not localhost'))
    .addOption(new Option('--username <name>', 'registry user (default: the credentials berth login stored)').env('BERTH_USERNAME'))
    .addOption(new Option('--password <password>', 'password for --username (visible to other local users; prefer berth login)').env('BERTH_PASSWORD'));
}

/** The image a command works on: its registry, repository and the manifest the reference names. */
export interface SigningTarget {
  client: RegistryClient;
  /** What the user wrote. */
  image: string;
  /** `host[:port]`, `docker.io` for Docker Hub. */
  registry: string;
  /** The repository inside the registry (`library/busybox` on Docker Hub). */
  repository: string;
  /** The repository as cosign names it (go-containerregistry Repository.Name()): `index.docker.io/library/busybox`. */
  cosignRepository: string;
  /** The tag the user gave, when they gave no digest. */
  tag?: string;
  /** mediaType, digest and size of the manifest: what a signature's subject names. */
  descriptor: Descriptor;
  /** Who talks to the registry, for advice: `alice (from --username/--password)`, or undefined when anonymous. */
  user?: string;
}

/** A usage or input problem the user can fix; the message says what and how. */
export class SigningInputError extends Error {
  override readonly name = 'SigningInputError';
}

/** The repository name cosign writes into payloads and statements: registry host and path, Docker Hub as index.docker.io. */
export function cosignRepositoryName(registry: string, repository: string): string {
  return `${registry === 'docker.io' ? 'index.docker.io' : registry}/${repository}`;
}

/** The URL to talk to a registry at, and the URL whose Docker config entry holds its credentials. */
export function registryUrls(registry: string, insecure = false): { url: string; credentialsUrl: string } {
  if (registry === 'docker.io') return { url: DOCKER_HUB_URL, credentialsUrl: DOCKER_HUB_CREDENTIALS_URL };
  const url = `${schemeFor(registry, insecure)}://${registry}`;
  return { url, credentialsUrl: url };
}

/**
 * Resolves IMAGE (`[REGISTRY/]NAME[:TAG][@DIGEST]`) to its manifest: fetched, size-limited,
 * checked against the digest given (or the registry's Docker-Content-Digest) and parsed. Throws
 * SigningInputError for a bad reference or a missing manifest, RegistryAccessError when the
 * registry refuses or fails.
 */
export async function resolveImage(image: string, flags: RegistryFlags): Promise<SigningTarget> {
  let parsed;
  try {
    parsed = parseImageReference(image);
  } catch (e) {
    throw new SigningInputError((e as Error).message);
  }
  const { registry, name } = canonicalName(parsed.registry, parsed.name);
  const { url, credentialsUrl } = registryUrls(registry, flags.insecure);
  const found = await resolveCredentials({ server: url, username: flags.username, password: flags.password }, credentialsUrl);
  const client = new RegistryClient({ url, username: found?.credentials.username, password: found?.credentials.password });
  const user = found ? `${found.credentials.username} (from ${found.source})` : undefined;
  const tag = parsed.digest === undefined ? (parsed.tag ?? 'latest') : undefined;
  const base = { client, image, registry, repository: name, cosignRepository: cosignRepositoryName(registry, name), tag, user };
  const reference = parsed.digest ?? tag ?? 'latest';
  // A HEAD names the manifest without fetching it: a registry that only serves signed (or scanned)
  // images answers HEAD for an image not yet signed, so it can be signed.
  const head = await withAccess(base, 'pull', () => client.headManifest(name, reference));
  if (!head) throw new SigningInputError(`${image}: ${registry}/${name} has no manifest ${reference}`);
  const digest = parsed.digest ?? (head.digest !== undefined && Digest.tryParse(head.digest) ? head.digest : undefined);
  if (parsed.digest !== undefined && head.digest !== undefined && head.digest !== parsed.digest) {
    throw new SigningInputError(`${image}: the registry names ${head.digest} for ${parsed.digest}`);
  }
  const mediaType = head.mediaType === undefined ? undefined : baseMediaType(head.mediaType);
  if (digest !== undefined && mediaType !== undefined && MANIFEST_TYPES.includes(mediaType) && head.size !== undefined) {
    return { ...base, descriptor: { mediaType, digest, size: head.size } };
  }
  // The HEAD did not say enough (some registries omit the digest): the manifest itself decides.
  const got = await withAccess(base, 'pull', () => client.getManifest(name, reference, MAX_MANIFEST_BYTES));
  if (!got) throw new SigningInputError(`${image}: ${registry}/${name} has no manifest ${reference}`);
  const header = got.digest !== undefined && Digest.tryParse(got.digest) ? got.digest : undefined;
  let checked;
  try {
    checked = checkManifest(image, `manifest ${reference}`, got.bytes, got.mediaType, { digest: parsed.digest ?? header });
  } catch (e) {
    throw new SigningInputError((e as Error).message);
  }
  return { ...base, descriptor: { mediaType: checked.mediaType, digest: checked.digest, size: checked.bytes.length } };
}

/** cosign's warning when IMAGE names a tag: the digest it resolved to is what gets signed. */
export function warnAboutTag(target: SigningTarget): void {
  if (target.tag === undefined) return;
  process.stderr.write(
    `WARNING: ${target.image} names a tag, not a digest; signing ${target.descriptor.digest}, what it points to now.\n` +
      `  A tag can move: sign ${target.cosignRepository}@${target.descriptor.digest} to be sure what you sign.\n`,
  );
}

/** The reference as cosign prints it in `verify` output: repository with the tag or digest the user gave. */
export function cosignReference(target: SigningTarget): string {
  return target.tag === undefined ? `${target.cosignRepository}@${target.descriptor.digest}` : `${target.cosignRepository}:${target.tag}`;
}

/** The manifest as parsed (fetched by digest); an index's children with manifest media types (at most MAX_INDEX_CHILDREN). Throws SigningInputError. */
export async function parsedTarget(target: SigningTarget): Promise<{ parsed: ParsedManifest; children: Descriptor[] }> {
  const fetched = await fetchManifest(target, target.descriptor.digest);
  if (!fetched) throw new SigningInputError(`${target.image}: ${target.descriptor.digest} is gone from ${target.repository}`);
  const parsed = fetched.parsed;
  const children = parsed.kind === 'index' ? parsed.manifests.filter((d) => MANIFEST_TYPES.includes(d.mediaType)) : [];
  if (children.length > MAX_INDEX_CHILDREN) throw new SigningInputError(`${target.image} lists ${children.length} manifests; at most ${MAX_INDEX_CHILDREN} are signed`);
  return { parsed, children };
}

/** Pushes an artifact: its blobs (skipped when present), then the manifest under `reference` (a tag or its digest). */
export async function pushArtifact(target: SigningTarget, artifact: ManifestToPush, reference: string): Promise<PushedManifest> {
  return withAccess(target, 'push', async () => {
    for (const blob of artifact.blobs) await target.client.putBlob(target.repository, blob.bytes, blob.descriptor.digest);
    return target.client.putManifest(target.repository, reference, artifact.manifest, artifact.mediaType);
  });
}

/**
 * Adds `layer` to the cosign image at `tag` (`sha256-<hex>.sig` or `.att`) and pushes it, keeping
 * every earlier layer: the stored image is read first (a new one is made when the tag does not
 * exist). Nothing is pushed when an equal signature is there (see appendSignatureLayer). Throws
 * SigningInputError when the tag holds something cosign would not have written.
 */
export async function appendToTag(target: SigningTarget, tag: string, layer: Blob, publicKey?: CosignPublicKey): Promise<{ added: boolean; layers: number }> {
  const stored = await fetchManifest(target, tag);
  const config = stored?.parsed.config;
  let appended;
  try {
    appended = appendSignatureLayer(stored && config ? { manifest: stored.bytes, config: await readBlob(target, config) } : undefined, layer, publicKey);
  } catch (e) {
    if (e instanceof CosignFormatError) throw new SigningInputError(`${target.repository}:${tag} is not a cosign signature image (${e.message}); not changing it`);
    throw e;
  }
  if (appended.added) await pushArtifact(target, appended.image, tag);
  return { added: appended.added, layers: (stored?.parsed.layers.length ?? 0) + (appended.added ? 1 : 0) };
}

/** A manifest in the target's repository, parsed; undefined when the registry has none under `reference`. */
export async function fetchManifest(target: SigningTarget, reference: string): Promise<{ bytes: Buffer; parsed: ParsedManifest } | undefined> {
  const got = await withAccess(target, 'pull', () => target.client.getManifest(target.repository, reference, MAX_MANIFEST_BYTES));
  if (!got) return undefined;
  const wanted = Digest.tryParse(reference);
  if (wanted && Digest.fromBytes(got.bytes, wanted.algorithm).toString() !== reference) {
    throw new SigningInputError(`the registry answered other bytes for manifest ${reference}`);
  }
  return { bytes: got.bytes, parsed: parse(got.bytes, got.mediaType, `${target.repository}:${reference}`) };
}

/**
 * A blob of the target's repository read whole: refused when its descriptor says more than
 * `maxBytes`, and checked against the descriptor's digest and size. Throws SigningInputError when
 * it is missing or wrong, RegistryAccessError when the registry fails.
 */
export async function readBlob(target: SigningTarget, descriptor: Descriptor, maxBytes = MAX_SIGNATURE_BLOB_BYTES): Promise<Buffer> {
  if (descriptor.size > maxBytes) throw new SigningInputError(`blob ${descriptor.digest} is ${descriptor.size} bytes; the limit is ${maxBytes}`);
  let digest: Digest;
  try {
    digest = Digest.parse(descriptor.digest);
  } catch (e) {
    throw new SigningInputError((e as Error).message);
  }
  const got = await withAccess(target, 'pull', () => target.client.getBlob(target.repository, descriptor.digest));
  if (!got) throw new SigningInputError(`blob ${descriptor.digest} is missing from ${target.registry}/${target.repository}`);
  const parts: Buffer[] = [];
  try {
    for await (const chunk of verifiedStream(target.image, got.body, digest, descriptor.size, `blob ${descriptor.digest}`)) parts.push(chunk as Buffer);
  } catch (e) {
    if (e instanceof ImageSourceError) throw new SigningInputError(e.message);
    throw e;
  }
  return Buffer.concat(parts);
}

/** The referrers of the target's manifest of one artifactType, the first MAX_CANDIDATES of them. */
export async function listReferrers(target: SigningTarget, artifactType: string): Promise<Descriptor[]> {
  const { manifests } = await withAccess(target, 'pull', () => target.client.listReferrers(target.repository, target.descriptor.digest, artifactType));
  return manifests.slice(0, MAX_CANDIDATES);
}

/** A file the user named, read whole after checking its size. Throws SigningInputError naming the file. */
export async function readInputFile(file: string, what: string, maxBytes = MAX_INPUT_FILE_BYTES): Promise<Buffer> {
  try {
    const info = await stat(file);
    if (!info.isFile()) throw new SigningInputError(`${what} ${file} is not a file`);
    if (info.size > maxBytes) throw new SigningInputError(`${what} ${file} is ${info.size} bytes; the limit is ${maxBytes}`);
    return await readFile(file);
  } catch (e) {
    if (e instanceof SigningInputError) throw e;
    const err = e as NodeJS.ErrnoException;
    throw new SigningInputError(`cannot read ${what} ${file}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
  }
}

/** `-a key=value` (repeatable) into the annotations map; the value may contain `=`. Throws SigningInputError. */
export function parseAnnotationFlag(text: string, previous: Record<string, string> = {}): Record<string, string> {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new SigningInputError(`annotation ${JSON.stringify(text)} is not key=value`);
  return { ...previous, [text.slice(0, eq)]: text.slice(eq + 1) };
}

// --- verification across candidates -------------------------------------------------------------

/** One failed candidate: where it was found (a bundle referrer, a tag's layer) and why it failed. */
export interface CandidateFailure extends VerificationFailure {
  where: string;
}

export interface GatheredResult<T> {
  verified: T[];
  failures: CandidateFailure[];
  /** Candidates looked at. */
  candidates: number;
}

/** An empty result to gather candidates into. */
export function emptyResult<T>(): GatheredResult<T> {
  return { verified: [], failures: [], candidates: 0 };
}

/**
 * Adds the outcome of checking one candidate (a single-candidate result of the cosign verifiers,
 * or a thrown SigningInputError such as a missing blob) to `into`.
 */
export async function gather<T>(into: GatheredResult<T>, where: string, check: () => VerificationResult<T> | Promise<VerificationResult<T>>): Promise<void> {
  into.candidates++;
  try {
    const r = await check();
    into.verified.push(...r.verified);
    into.failures.push(...r.failures.map((f) => ({ ...f, where })));
  } catch (e) {
    if (!(e instanceof SigningInputError)) throw e;
    into.failures.push({ reason: 'malformed', message: e.message, where });
  }
}

/**
 * Reports a verification that found nothing valid: no candidates at all is its own message;
 * otherwise one line per failed candidate. Sets exit code 1.
 */
export function reportUnverified(what: string, subject: string, result: GatheredResult<unknown>, lookedAt: string): void {
  const lines =
    result.candidates === 0
      ? [`berth: no ${what} found for ${subject} (looked at ${lookedAt})`]
      : [`berth: no ${what} of ${subject} verified (${result.candidates} checked):`, ...result.failures.map(describeCandidateFailure)];
  process.stderr.write(lines.join('\n') + '\n');
  process.exitCode = 1;
}

/** `  bundle referrer sha256:…: digest-mismatch: invalid or missing digest in claim: …` */
export function describeCandidateFailure(f: CandidateFailure): string {
  return `  ${f.where}${f.source && !f.where.includes(f.source) ? ` (${f.source})` : ''}: ${f.reason}: ${f.message}`;
}

/**
 * The bundle of each of the target's bundle referrers (cosign pushes one per referrer, as its
 * only layer), at most MAX_CANDIDATES. `wanted` picks referrers by their predicateType
 * annotation, which is not signed: the statement in the bundle is checked anyway.
 */
export async function forEachBundle(target: SigningTarget, wanted: (predicateType: string | undefined) => boolean, each: (where: string, load: () => Promise<Buffer>) => Promise<void>): Promise<void> {
  for (const r of await listReferrers(target, BUNDLE_V03_MEDIA_TYPE)) {
    if (!wanted(r.annotations?.['dev.sigstore.bundle.predicateType'])) continue;
    await each(`bundle referrer ${r.digest}`, async () => {
      const m = await fetchManifest(target, r.digest);
      if (!m) throw new SigningInputError('the referrer manifest is missing');
      const layer = m.parsed.layers.find((l) => l.mediaType === BUNDLE_V03_MEDIA_TYPE);
      if (!layer) throw new SigningInputError(`the referrer holds no ${BUNDLE_V03_MEDIA_TYPE} layer`);
      return readBlob(target, layer);
    });
  }
}

/**
 * The layers of the image at a `.sig`/`.att` tag, at most MAX_CANDIDATES; nothing when the tag
 * does not exist. A tag holding something unreadable is one failed candidate, so it cannot hide
 * the signatures stored elsewhere.
 */
export async function forEachTagLayer(target: SigningTarget, tag: string, each: (where: string, load: () => Promise<StoredLayer>) => Promise<void>): Promise<void> {
  let stored;
  try {
    stored = await fetchManifest(target, tag);
  } catch (e) {
    if (!(e instanceof SigningInputError)) throw e;
    return each(tag, () => Promise.reject(e));
  }
  for (const descriptor of (stored?.parsed.layers ?? []).slice(0, MAX_CANDIDATES)) {
    await each(`${tag} layer ${descriptor.digest}`, async () => ({ descriptor, blob: await readBlob(target, descriptor) }));
  }
}

// --- errors ------------------------------------------------------------------------------------

/** The registry refused or failed while pulling or pushing; carries what was being done, for advice. */
export class RegistryAccessError extends Error {
  override readonly name = 'RegistryAccessError';

  constructor(
    override readonly cause: RemoteRegistryError,
    readonly action: 'pull' | 'push',
    readonly target: Pick<SigningTarget, 'registry' | 'repository' | 'user'>,
  ) {
    super(cause.message, { cause });
  }
}

async function withAccess<T>(target: Pick<SigningTarget, 'registry' | 'repository' | 'user'>, action: 'pull' | 'push', fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof RemoteRegistryError) throw new RegistryAccessError(e, action, target);
    throw e;
  }
}

/** The lines shown for a registry failure: the registry's own words (with its code), then one line of advice. */
export function describeRegistryFailure(e: RegistryAccessError): string[] {
  const { registry, repository, user } = e.target;
  const { status, kind } = e.cause;
  const code = e.cause.code ?? (status === 401 ? 'UNAUTHORIZED' : status === 403 ? 'DENIED' : kind === 'unavailable' ? 'UNAVAILABLE' : undefined);
  const head = `berth: ${e.cause.code === undefined && code ? `${code}: ` : ''}${e.message}`;
  const notLoggedIn = `not logged in to ${registry}: run berth login ${registry}, or pass --username and --password`;
  switch (code) {
    case 'UNAUTHORIZED':
      return [head, user ? `${registry} refused the credentials of ${user}: run berth login ${registry} again, or pass --username and --password` : notLoggedIn];
    case 'DENIED':
      return [head, user ? `${user} may not ${e.action} ${registry}/${repository}: ask the project's admin for ${e.action} access, or use other credentials` : notLoggedIn];
    case 'NAME_UNKNOWN':
    case 'MANIFEST_UNKNOWN':
      return [head, `check the repository name ${registry}/${repository}`];
    case 'TOOMANYREQUESTS':
      return [head, 'the registry throttles us: wait and retry'];
    case 'UNAVAILABLE':
      if (status === undefined) return [head, `cannot reach ${registry}: check the name and that the registry runs; a registry that is not localhost speaks HTTPS unless --insecure`];
      return [head, `${registry} cannot answer now: retry later`];
    default:
      return [head];
  }
}

/**
 * Wraps a command action: any error is reported on stderr as `berth: ...` (exit code 1), with
 * advice for the registry's access codes, never as a stack trace.
 */
export function signingAction<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (e) {
      if (!(e instanceof RegistryAccessError)) return fail(e);
      process.stderr.write(describeRegistryFailure(e).join('\n') + '\n');
      process.exitCode = 1;
    }
  };
}

function parse(bytes: Buffer, mediaType: string, what: string): ParsedManifest {
  try {
    return parseManifest(bytes, mediaType || undefined);
  } catch (e) {
    throw new SigningInputError(`${what} is not a valid manifest: ${(e as Error).message}`);
  }
}
