/*
 * Signature status of the registry's manifests, read from its own metadata and blobs:
 *  - cosign 3 bundles: referrers with artifactType application/vnd.dev.sigstore.bundle.v0.3+json
 *    whose dev.sigstore.bundle.predicateType is the cosign signature type (attestation bundles
 *    share the artifactType and are not signatures);
 *  - cosign's tag scheme: each layer of the `sha256-<hex>.sig` image of the same repository;
 *  - Notary Project signatures: referrers with artifactType application/vnd.cncf.notary.signature.
 * Each is judged against the repository's signing policy (policy.ts). The check of a manifest's own
 * signatures is kept in the SignatureCheckStore under a trust version (a hash of the policy and its
 * update time), so a policy change recomputes it; a pushed signature drops and recomputes it in the
 * background. Kept checks also age out (an unsigned one after a minute, a signed one after an
 * hour): that bounds what a race between nodes, a deleted signature or an expiring certificate
 * can leave behind.
 *
 * Indexes: an index is signed when it is signed itself (cosign and notation sign the digest they
 * are given, the index for a multi-platform tag). A manifest that is not signed itself counts as
 * signed when a signed index of the same repository lists it, since pulling a signed
 * multi-platform image fetches its platform manifests by digest. Platform signatures alone do not
 * make their index signed.
 */
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { manifestUnknown } from '../errors/registry-error.js';
import { cosignTag, cosignTagSubject, taggedSubject } from '../oci/cosign-tags.js';
import { Digest } from '../oci/digest.js';
import { ManifestParseError, parseManifest, type Descriptor, type ParsedManifest } from '../oci/manifest.js';
import { IMAGE_CONFIG_TYPES, INDEX_TYPES } from '../oci/media-type.js';
import type { ManifestRecord, MetadataStore } from '../metadata/metadata-store.js';
import type { SignatureCheckStore } from '../metadata/scan-store.js';
import type { PushedManifest } from '../registry/pull-gate.js';
import type { BlobStore } from '../storage/blob-store.js';
import { BUNDLE_PREDICATE_TYPE_ANNOTATION } from './cosign/bundle.js';
import { BUNDLE_V03_MEDIA_TYPE, COSIGN_SIGN_PREDICATE_TYPE } from './cosign/index.js';
import { NotationError } from './notation/errors.js';
import { NotationMediaType } from './notation/media-types.js';
import { parseNotationSignatureManifest } from './notation/signature-manifest.js';
import { artifactRepository } from './notation/trust-policy.js';
import { SigningTrust, type SignatureKind, type SignatureVerdict, type SigningPolicy } from './policy.js';

export interface SignatureEntry extends SignatureVerdict {
  kind: SignatureKind;
  /** Digest of what holds the signature: the referrer manifest (bundle, notation) or the `.sig` layer. */
  source: string;
}

export interface SignatureStatus {
  digest: string;
  /** Verified by at least one trusted signer: one of `signatures`, or a signature of `signedIndex`. */
  signed: boolean;
  /** The manifest's own signatures (at most MAX_PER_KIND of each kind are checked). */
  signatures: SignatureEntry[];
  /** The signed index of the repository that lists this manifest, when it is not signed itself. */
  signedIndex?: string;
  checkedAt: number;
  trustVersion: string;
}

/** The signing policy that applies to a repository, loaded. */
export interface RepositoryTrust {
  policy: SigningPolicy | undefined;
  /** Names the policy document and its version ("none" without a policy). */
  trustVersion: string;
  trust: SigningTrust;
}

export interface SignatureServiceOptions {
  meta: Pick<MetadataStore, 'getManifest' | 'resolveTag' | 'tagsOf' | 'listReferrers' | 'getBlobLink' | 'listImages'>;
  blobs: Pick<BlobStore, 'readBytes'>;
  checks: SignatureCheckStore;
  /** The signing setting that applies to a repository (SettingsService.forRepository('signing', ...)). */
  policy(repository: string): Promise<{ target: string; document: SigningPolicy; updatedAt: number } | undefined>;
  /** `host[:port]` naming this registry in notation trust policy scopes (`host/repository`). */
  registryHost: string;
  log: { warn(o: object, m: string): void };
  now?: () => number;
}

/** Signatures checked per kind and manifest; more are ignored. */
export const MAX_PER_KIND = 100;
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
const MAX_SIGNATURE_BLOB_BYTES = 1024 * 1024;
const SIGNED_MAX_AGE_MS = 60 * 60 * 1000;
const UNSIGNED_MAX_AGE_MS = 60 * 1000;
const RECHECK_CONCURRENCY = 2;
const MAX_QUEUED = 1000;
const MAX_PARENTS = 10;
const NO_POLICY = 'none';
const SIGNATURE_ARTIFACT_TYPES: readonly string[] = [BUNDLE_V03_MEDIA_TYPE, NotationMediaType.Signature];
const FILESYSTEM_LAYER = /^application\/vnd\.(?:oci\.image\.layer\.|docker\.image\.rootfs\.)/;

/** True for an artifact type that holds signatures (a cosign bundle, a notation signature). */
export function isSignatureArtifactType(artifactType: string | null): boolean {
  return artifactType !== null && SIGNATURE_ARTIFACT_TYPES.includes(artifactType);
}

/** True when a container runtime would run the manifest: an image config and a filesystem layer. */
export function runsAsContainer(m: ParsedManifest): boolean {
  return m.kind === 'manifest' && IMAGE_CONFIG_TYPES.includes(m.config?.mediaType ?? '') && m.layers.some((l) => FILESYSTEM_LAYER.test(l.mediaType));
}

/** A signature artifact that cannot be read; reported on its entry, never thrown out of status(). */
class UnreadableArtifact extends Error {}

/**
 * Signature status per (repository, manifest) with the repository's signing policy, kept in the
 * SignatureCheckStore and rechecked after signature pushes.
 */
export class SignatureService {
  private readonly now: () => number;
  private readonly trustByVersion = new LRUCache<string, SigningTrust>({ max: 256 });
  private readonly versions = new WeakMap<object, string>();
  private readonly inflight = new Map<string, Promise<SignatureStatus>>();
  /** Rechecks waiting (insertion order), by `repository@digest`. */
  private readonly pending = new Map<string, { repository: string; digest: string }>();
  private running = 0;
  private idleWaiters: (() => void)[] = [];
  private readonly recheckListeners: ((repository: string, digest: string) => void)[] = [];

  /** Throws RangeError when registryHost is not `host[:port]`. */
  constructor(private readonly opts: SignatureServiceOptions) {
    this.now = opts.now ?? Date.now;
    try {
      artifactRepository(`${opts.registryHost}/library/check@sha256:${'0'.repeat(64)}`);
    } catch {
      throw new RangeError(`registryHost ${JSON.stringify(opts.registryHost)} must be host[:port], as notation trust policy scopes name registries`);
    }
  }

  /** The policy that applies to the repository, its trust version and loaded trust. Throws what the policy lookup throws. */
  async trust(repository: string): Promise<RepositoryTrust> {
    const setting = await this.opts.policy(repository);
    if (!setting) return { policy: undefined, trustVersion: NO_POLICY, trust: SigningTrust.none() };
    // The settings cache hands out the same object while it is fresh: hash each one once.
    let trustVersion = this.versions.get(setting);
    if (trustVersion === undefined) {
      trustVersion = createHash('sha256').update(JSON.stringify([setting.target, setting.updatedAt, setting.document])).digest('hex').slice(0, 32);
      this.versions.set(setting, trustVersion);
    }
    let trust = this.trustByVersion.get(trustVersion);
    if (!trust) {
      trust = SigningTrust.load(setting.document);
      this.trustByVersion.set(trustVersion, trust);
    }
    return { policy: setting.document, trustVersion, trust };
  }

  /**
   * The signature status of the repository's manifest `digest` (`known`: its record, when the
   * caller has it). Throws MANIFEST_UNKNOWN when the repository has no such manifest; storage and
   * database errors propagate. Unreadable or malformed signatures are entries, not errors.
   */
  async status(repository: string, digest: string, known?: ManifestRecord): Promise<SignatureStatus> {
    const record = known ?? (await this.opts.meta.getManifest(repository, digest));
    if (!record) throw manifestUnknown(`${repository}@${digest}`);
    const trust = await this.trust(repository);
    const own = await this.ownStatus(repository, record, trust);
    if (own.signed) return own;
    const signedIndex = await this.signedIndexOf(repository, record.digest, trust);
    return signedIndex ? { ...own, signed: true, signedIndex } : own;
  }

  /**
   * True when the manifest is an artifact attached to an image (a referrer, a signature, a cosign
   * `.sig`/`.att`/`.sbom` tag image) that a container runtime would not run: verifiers must be
   * able to fetch it. A manifest that claims to be one but has an image config and filesystem
   * layers is not: otherwise pushing any image with a `subject` would get around the policy.
   */
  async attachedArtifact(repository: string, record: ManifestRecord): Promise<boolean> {
    const claimed =
      record.subjectDigest !== null ||
      isSignatureArtifactType(record.artifactType) ||
      taggedSubject((await this.opts.meta.tagsOf(repository, record.digest)).map((t) => t.name)) !== undefined;
    if (!claimed) return false;
    if (INDEX_TYPES.includes(record.mediaType)) return true; // its manifests are checked when pulled
    try {
      return !runsAsContainer(this.parse(await this.manifestBytes(record), record.mediaType));
    } catch (e) {
      if (e instanceof UnreadableArtifact) return false;
      throw e;
    }
  }

  /** A pushed signature (bundle or notation referrer, `.sig` tag image) drops its subject's check and rechecks it in the background. Never throws. */
  onPushed(m: PushedManifest): void {
    const subject =
      m.subjectDigest !== null && isSignatureArtifactType(m.artifactType)
        ? m.subjectDigest
        : m.tag?.endsWith('.sig')
          ? cosignTagSubject(m.tag)
          : undefined;
    if (subject === undefined) return;
    const key = `${m.repository}@${subject}`;
    if (this.pending.has(key)) return;
    if (this.pending.size >= MAX_QUEUED) {
      this.opts.log.warn({ repository: m.repository, digest: subject }, 'signature recheck queue is full; the check ages out instead');
      return;
    }
    this.pending.set(key, { repository: m.repository, digest: subject });
    this.pump();
  }

  /** Calls `listener` after each background recheck of a manifest's check (the pull gate forgets its decision). */
  onRechecked(listener: (repository: string, digest: string) => void): void {
    this.recheckListeners.push(listener);
  }

  /** Resolves once no background recheck is queued or running (tests, shutdown). */
  async idle(): Promise<void> {
    if (this.running === 0 && this.pending.size === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  private pump(): void {
    while (this.running < RECHECK_CONCURRENCY) {
      const next = this.pending.entries().next();
      if (next.done) break;
      const [key, job] = next.value;
      this.pending.delete(key);
      this.running++;
      void this.recheck(job.repository, job.digest)
        .catch((e: unknown) => this.opts.log.warn({ ...job, err: (e as Error).message }, 'signature recheck failed'))
        .finally(() => {
          this.running--;
          this.pump();
        });
    }
    if (this.running === 0 && this.pending.size === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  /** Drops the kept check and computes a fresh one (a subject not pushed yet is checked when first read). */
  private async recheck(repository: string, digest: string): Promise<void> {
    await this.opts.checks.deleteSignatureCheck(repository, digest);
    const record = await this.opts.meta.getManifest(repository, digest);
    if (record) await this.check(repository, record, await this.trust(repository));
    for (const listener of this.recheckListeners) listener(repository, digest);
  }

  /** The kept check of the manifest's own signatures when still valid, else a new one (one at a time per key). */
  private async ownStatus(repository: string, record: ManifestRecord, trust: RepositoryTrust): Promise<SignatureStatus> {
    const kept = await this.opts.checks.getSignatureCheck(repository, record.digest);
    if (kept && kept.trustVersion === trust.trustVersion && this.now() - kept.checkedAt < (kept.verified ? SIGNED_MAX_AGE_MS : UNSIGNED_MAX_AGE_MS)) {
      const status = parseKept(kept.result);
      if (status) return status;
    }
    const key = `${repository}@${record.digest} ${trust.trustVersion}`;
    let running = this.inflight.get(key);
    if (!running) {
      running = this.check(repository, record, trust).finally(() => this.inflight.delete(key));
      this.inflight.set(key, running);
    }
    return running;
  }

  private async check(repository: string, record: ManifestRecord, trust: RepositoryTrust): Promise<SignatureStatus> {
    const signatures = await this.ownSignatures(repository, record, trust.trust);
    const status: SignatureStatus = {
      digest: record.digest,
      signed: signatures.some((s) => s.verified),
      signatures,
      checkedAt: this.now(),
      trustVersion: trust.trustVersion,
    };
    await this.opts.checks.putSignatureCheck({
      repository,
      digest: record.digest,
      trustVersion: trust.trustVersion,
      checkedAt: status.checkedAt,
      verified: status.signed,
      result: JSON.stringify(status),
    });
    return status;
  }

  /** Every signature of the manifest: cosign bundles, the `.sig` image's layers, notation signatures. */
  private async ownSignatures(repository: string, record: ManifestRecord, trust: SigningTrust): Promise<SignatureEntry[]> {
    const { meta } = this.opts;
    const entries: SignatureEntry[] = [];
    const bundles = (await meta.listReferrers(repository, record.digest, BUNDLE_V03_MEDIA_TYPE)).filter(
      (r) => (r.annotations?.[BUNDLE_PREDICATE_TYPE_ANNOTATION] ?? COSIGN_SIGN_PREDICATE_TYPE) === COSIGN_SIGN_PREDICATE_TYPE,
    );
    for (const r of bundles.slice(0, MAX_PER_KIND)) {
      entries.push(
        await this.entry('cosign-bundle', r.digest, async () => {
          const layer = this.parse(await this.manifestBytes(r), r.mediaType).layers.find((l) => l.mediaType === BUNDLE_V03_MEDIA_TYPE);
          if (!layer) throw new UnreadableArtifact('the referrer has no bundle layer');
          return trust.checkBundle(await this.blobBytes(repository, layer), record.digest);
        }),
      );
    }
    const sigTag = cosignTag(record.digest, 'sig');
    const sigImage = sigTag === undefined ? undefined : await meta.resolveTag(repository, sigTag);
    if (sigImage) entries.push(...(await this.legacyEntries(repository, sigImage, record.digest, trust)));
    const target: Descriptor = { mediaType: record.mediaType, digest: record.digest, size: record.size };
    const reference = `${this.opts.registryHost}/${repository}@${record.digest}`;
    for (const r of (await meta.listReferrers(repository, record.digest, NotationMediaType.Signature)).slice(0, MAX_PER_KIND)) {
      entries.push(
        await this.entry('notation', r.digest, async () => {
          const signature = parseNotationSignatureManifest(await this.manifestBytes(r), r.mediaType);
          return trust.checkNotation(signature.envelope, await this.blobBytes(repository, signature.envelope), target, reference);
        }),
      );
    }
    return entries;
  }

  private async legacyEntries(repository: string, sigImage: ManifestRecord, imageDigest: string, trust: SigningTrust): Promise<SignatureEntry[]> {
    let layers: Descriptor[];
    try {
      layers = this.parse(await this.manifestBytes(sigImage), sigImage.mediaType).layers;
    } catch (e) {
      if (e instanceof UnreadableArtifact) return [malformed('cosign-legacy', sigImage.digest, e)];
      throw e;
    }
    const entries: SignatureEntry[] = [];
    for (const layer of layers.slice(0, MAX_PER_KIND)) {
      entries.push(
        await this.entry('cosign-legacy', layer.digest, async () =>
          trust.checkLegacyLayer({ descriptor: layer, blob: await this.blobBytes(repository, layer) }, imageDigest),
        ),
      );
    }
    return entries;
  }

  private async entry(kind: SignatureKind, source: string, judge: () => Promise<SignatureVerdict>): Promise<SignatureEntry> {
    try {
      return { kind, source, ...(await judge()) };
    } catch (e) {
      if (e instanceof UnreadableArtifact || e instanceof NotationError) return malformed(kind, source, e);
      throw e;
    }
  }

  /** Among the indexes of the repository that list `digest`, one signed by its own signatures. */
  private async signedIndexOf(repository: string, digest: string, trust: RepositoryTrust): Promise<string | undefined> {
    const parents = (await this.opts.meta.listImages(repository)).filter((i) => i.children.includes(digest));
    for (const p of parents.slice(0, MAX_PARENTS)) {
      const record = await this.opts.meta.getManifest(repository, p.digest);
      if (record && (await this.ownStatus(repository, record, trust)).signed) return p.digest;
    }
    return undefined;
  }

  private parse(bytes: Buffer, mediaType: string): ParsedManifest {
    try {
      return parseManifest(bytes, mediaType);
    } catch (e) {
      if (e instanceof ManifestParseError) throw new UnreadableArtifact(`manifest: ${e.message}`);
      throw e;
    }
  }

  private async manifestBytes(record: { digest: string; size: number }): Promise<Buffer> {
    if (record.size > MAX_MANIFEST_BYTES) throw new UnreadableArtifact(`manifest ${record.digest} is larger than ${MAX_MANIFEST_BYTES} bytes`);
    const bytes = await this.opts.blobs.readBytes(Digest.parse(record.digest));
    if (!bytes) throw new UnreadableArtifact(`manifest ${record.digest} is missing from storage`);
    return bytes;
  }

  /** A blob of the repository, by the size its link records (not the descriptor's claim). */
  private async blobBytes(repository: string, d: Descriptor): Promise<Buffer> {
    const link = await this.opts.meta.getBlobLink(repository, d.digest);
    if (!link) throw new UnreadableArtifact(`blob ${d.digest} is not in the repository`);
    if (link.size > MAX_SIGNATURE_BLOB_BYTES) throw new UnreadableArtifact(`blob ${d.digest} is larger than ${MAX_SIGNATURE_BLOB_BYTES} bytes`);
    const bytes = await this.opts.blobs.readBytes(Digest.parse(d.digest));
    if (!bytes) throw new UnreadableArtifact(`blob ${d.digest} is missing from storage`);
    return bytes;
  }
}

function malformed(kind: SignatureKind, source: string, e: Error): SignatureEntry {
  return { kind, source, verified: false, signer: '', reason: 'malformed', detail: e.message };
}

/** A kept check's result, or undefined when it is not one this version wrote (it is then recomputed). */
function parseKept(result: string): SignatureStatus | undefined {
  try {
    const v = JSON.parse(result) as Partial<SignatureStatus>;
    return typeof v.digest === 'string' && typeof v.signed === 'boolean' && Array.isArray(v.signatures) ? (v as SignatureStatus) : undefined;
  } catch {
    return undefined;
  }
}
