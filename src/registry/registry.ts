import type { PullGate, PushListener } from './pull-gate.js';
import type { Readable } from 'node:stream';
import { LRUCache } from 'lru-cache';
import { Digest } from '../oci/digest.js';
import { isValidTag, nameProblem } from '../oci/reference.js';
import { MediaType } from '../oci/media-type.js';
import { effectiveArtifactType, ManifestParseError, parseManifest, type Descriptor } from '../oci/manifest.js';
import {
  blobUnknown,
  denied,
  quotaExceeded,
  digestInvalid,
  manifestBlobUnknown,
  manifestInvalid,
  manifestUnknown,
  nameInvalid,
  nameUnknown,
  tagInvalid,
  unsupported,
} from '../errors/registry-error.js';
import type { BlobStore } from '../storage/blob-store.js';
import type { ManifestRecord, MetadataStore, Page } from '../metadata/metadata-store.js';
import type { BlobUploads } from './blob-uploads.js';
import type { PullRecorder } from './pull-recorder.js';
import type { PushRules } from './push-rules.js';

export interface RegistryOptions {
  deleteEnabled: boolean;
  maxManifestBytes: number;
  now?: () => number;
  /** Tag immutability and quotas, when the lifecycle capability is registered. */
  rules?: PushRules;
  /** Project pull policies (vulnerabilities, signatures), consulted before a manifest is served. */
  pullGate?: PullGate;
  /** Told after each manifest push (scan on push, signature checks). */
  onPushed?: PushListener;
}

export interface BlobInfo {
  digest: Digest;
  size: number;
}

export interface ManifestContent {
  record: ManifestRecord;
  bytes: Buffer;
  /** Served by a pull-through cache from its copy because the upstream could not be asked. */
  stale?: boolean;
}

/** A reference in a manifest URL: a tag or a digest. */
export type ManifestReference = { tag: string } | { digest: Digest };

/**
 * The use cases of the OCI distribution-spec over BlobStore + MetadataStore.
 * HTTP-agnostic: callers pass parsed values and get values or RegistryErrors.
 */
export class Registry {
  /** Manifest bytes by digest: immutable, so caching can never serve stale bytes. */
  private readonly manifestBytes = new LRUCache<string, Buffer>({
    maxSize: 64 * 1024 * 1024,
    sizeCalculation: (b) => b.length || 1,
  });
  private readonly now: () => number;

  constructor(
    readonly blobs: BlobStore,
    readonly meta: MetadataStore,
    readonly uploads: BlobUploads,
    private readonly pulls: PullRecorder,
    private readonly opts: RegistryOptions,
  ) {
    this.now = opts.now ?? Date.now;
  }

  // --- names and references ------------------------------------------------------

  checkName(name: string): void {
    const problem = nameProblem(name);
    if (problem) throw nameInvalid(problem);
  }

  parseReference(ref: string): ManifestReference {
    if (ref.includes(':')) {
      const d = Digest.tryParse(ref);
      if (!d) throw digestInvalid(`invalid digest ${JSON.stringify(ref.slice(0, 150))}`, { digest: ref.slice(0, 150) });
      return { digest: d };
    }
    if (!isValidTag(ref)) throw tagInvalid(`tag must match [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`);
    return { tag: ref };
  }

  parseDigest(s: string): Digest {
    const d = Digest.tryParse(s);
    if (!d) throw digestInvalid(`invalid digest ${JSON.stringify(s.slice(0, 150))}`, { digest: s.slice(0, 150) });
    return d;
  }

  // --- blobs -------------------------------------------------------------------

  /** Size of a blob visible in the repository; BLOB_UNKNOWN otherwise. */
  async statBlob(repository: string, digest: Digest): Promise<BlobInfo> {
    const link = await this.meta.getBlobLink(repository, digest.toString());
    if (!link) throw blobUnknown(digest.toString());
    return { digest, size: link.size };
  }

  async readBlob(digest: Digest, range?: { start: number; end: number }, signal?: AbortSignal): Promise<Readable> {
    const s = await this.blobs.read(digest, { ...range, signal });
    // Metadata says it exists but the bytes are gone: a storage fault, not a client error.
    if (!s) throw new Error(`blob ${digest} is linked but missing from storage`);
    return s;
  }

  /** Where the client may fetch the blob directly (presigned object-store URL), if configured. */
  async blobRedirect(digest: Digest): Promise<string | undefined> {
    return this.blobs.redirectUrl(digest);
  }

  async deleteBlob(repository: string, digest: Digest): Promise<void> {
    if (!this.opts.deleteEnabled) throw unsupported('deletion is disabled on this registry');
    if (!(await this.meta.unlinkBlob(repository, digest.toString()))) throw blobUnknown(digest.toString());
  }

  /**
   * Cross-repository mount (distribution-spec "Mounting a blob from another
   * repository"): links the blob when `from` has it; false when it cannot.
   */
  /** True when the repository has the manifest (no pull is recorded, no pull policy consulted). */
  async hasManifest(repository: string, digest: string): Promise<boolean> {
    return (await this.meta.getManifest(repository, digest)) !== undefined;
  }

  /**
   * Stores a small blob berth makes itself (an artifact's config or layer: an
   * SBOM, a signature) in `repository`, without an upload session: claimed,
   * written verified, linked (protocol W1 in src/gc/). Returns its digest.
   */
  async putArtifactBlob(repository: string, bytes: Buffer): Promise<Digest> {
    const digest = Digest.fromBytes(bytes);
    const now = this.now();
    await this.meta.claimBlob(digest.toString(), bytes.length, now);
    await this.blobs.putVerified(digest, bytes);
    await this.meta.linkBlob(repository, digest.toString(), bytes.length, now);
    return digest;
  }

  async mountBlob(repository: string, digest: Digest, from: string): Promise<boolean> {
    if (nameProblem(from)) return false;
    const link = await this.meta.getBlobLink(from, digest.toString());
    if (!link) return false;
    if (!(await this.blobs.stat(digest))) return false;
    await this.opts.rules?.checkBlob(repository, digest.toString(), link.size);
    // One transaction that re-checks the source link under a lock (garbage collection may be removing it).
    return (await this.meta.mountBlob(from, repository, digest.toString(), this.now())) !== undefined;
  }

  // --- manifests -----------------------------------------------------------------

  /**
   * putManifest: size limit, digest, parse and validate, referenced content
   * present, bytes stored, then one metadata transaction (record, references, tag).
   */
  async putManifest(
    repository: string,
    reference: ManifestReference,
    bytes: Buffer,
    contentType: string | undefined,
  ): Promise<{ digest: Digest; subject?: string }> {
    if (bytes.length > this.opts.maxManifestBytes) {
      throw manifestInvalid(`manifest is ${bytes.length} bytes; the limit is ${this.opts.maxManifestBytes}`, 413);
    }
    const digest = 'digest' in reference ? Digest.fromBytes(bytes, reference.digest.algorithm) : Digest.fromBytes(bytes);
    if ('digest' in reference && !digest.equals(reference.digest)) {
      throw digestInvalid('manifest bytes do not match the digest in the URL', {
        expected: reference.digest.toString(),
        actual: digest.toString(),
      });
    }
    let parsed;
    try {
      parsed = parseManifest(bytes, contentType);
    } catch (e) {
      if (e instanceof ManifestParseError) throw manifestInvalid(e.message);
      throw e;
    }
    const blobRefs = [...(parsed.config ? [parsed.config] : []), ...parsed.layers].filter((d) => !isForeignLayer(d));
    const manifestRefs = parsed.manifests;
    const tag = 'tag' in reference ? reference.tag : null;
    const rules = this.opts.rules ? await this.opts.rules.manifestLimits(repository, tag) : undefined;
    // Claimed before the bytes land, so garbage collection leaves them alone (protocol W1 in src/gc/).
    await this.meta.claimBlob(digest.toString(), bytes.length, this.now());
    await this.blobs.putVerified(digest, bytes);
    const { missing, refusal } = await this.meta.putManifest({
      repository,
      digest: digest.toString(),
      mediaType: parsed.mediaType,
      size: bytes.length,
      artifactType: effectiveArtifactType(parsed) ?? null,
      subjectDigest: parsed.subject?.digest ?? null,
      annotations: parsed.annotations ?? null,
      blobReferences: blobRefs.map((d) => d.digest),
      manifestReferences: manifestRefs.map((d) => d.digest),
      tag,
      now: this.now(),
      limits: rules?.limits,
    });
    if (missing.length > 0) throw manifestBlobUnknown(missing[0]!);
    if (refusal?.kind === 'immutable') {
      throw denied(
        `tag ${tag} is immutable (${rules?.immutableRule ?? 'immutability rule'}) and points at ${refusal.currentDigest}; push under a new tag`,
        { tag, currentDigest: refusal.currentDigest },
      );
    }
    if (refusal?.kind === 'quota') throw quotaExceeded(repository.split('/')[0]!, refusal);
    this.manifestBytes.set(digest.toString(), bytes);
    this.opts.onPushed?.({
      repository,
      digest: digest.toString(),
      mediaType: parsed.mediaType,
      artifactType: effectiveArtifactType(parsed) ?? null,
      subjectDigest: parsed.subject?.digest ?? null,
      tag,
    });
    return { digest, subject: parsed.subject?.digest };
  }

  /**
   * Resolves a tag or digest to the manifest and its exact bytes. `recordPull`
   * marks a client's GET: the pull is recorded and the pull policies
   * (PullGate) are consulted, which may throw DENIED.
   */
  async getManifest(repository: string, reference: ManifestReference, recordPull: boolean): Promise<ManifestContent> {
    const record =
      'tag' in reference
        ? await this.meta.resolveTag(repository, reference.tag)
        : await this.meta.getManifest(repository, reference.digest.toString());
    if (!record) {
      const ref = 'tag' in reference ? reference.tag : reference.digest.toString();
      if (!(await this.meta.repositoryExists(repository))) throw nameUnknown(repository);
      throw manifestUnknown(ref);
    }
    // Pull policies guard content (a client's GET); a HEAD only names the manifest, so signers can sign it.
    if (recordPull) await this.opts.pullGate?.checkPull(repository, record);
    let bytes = this.manifestBytes.get(record.digest);
    if (!bytes) {
      bytes = await this.blobs.readBytes(Digest.parse(record.digest));
      if (!bytes) throw new Error(`manifest ${record.digest} is recorded but missing from storage`);
      this.manifestBytes.set(record.digest, bytes);
    }
    if (recordPull) {
      this.pulls.record({ repository, digest: record.digest, tag: 'tag' in reference ? reference.tag : null, at: this.now() });
    }
    return { record, bytes };
  }

  /** DELETE by digest removes the manifest and its tags; by tag removes only the tag (spec v1.1). */
  async deleteManifest(repository: string, reference: ManifestReference): Promise<void> {
    if (!this.opts.deleteEnabled) throw unsupported('deletion is disabled on this registry');
    if ('tag' in reference) {
      await this.opts.rules?.checkTagDelete(repository, [reference.tag]);
      if (!(await this.meta.deleteTag(repository, reference.tag))) throw manifestUnknown(reference.tag);
      return;
    }
    if (this.opts.rules) {
      const tags = await this.meta.tagsOf(repository, reference.digest.toString());
      await this.opts.rules.checkTagDelete(
        repository,
        tags.map((t) => t.name),
      );
    }
    if (!(await this.meta.deleteManifest(repository, reference.digest.toString()))) {
      throw manifestUnknown(reference.digest.toString());
    }
  }

  // --- discovery -----------------------------------------------------------------

  async listTags(repository: string, page: Page): Promise<string[]> {
    const tags = await this.meta.listTags(repository, page);
    if (tags === undefined) throw nameUnknown(repository);
    return tags;
  }

  async listRepositories(page: Page): Promise<string[]> {
    return this.meta.listRepositories(page);
  }

  /** The referrers index (distribution-spec "Listing Referrers"); empty for an unknown subject. */
  async referrers(repository: string, subject: Digest, artifactType?: string): Promise<{ index: object; filtered: boolean }> {
    const records = await this.meta.listReferrers(repository, subject.toString(), artifactType);
    const manifests: Descriptor[] = records.map((r) => {
      const d: Descriptor = { mediaType: r.mediaType, digest: r.digest, size: r.size };
      if (r.artifactType) d.artifactType = r.artifactType;
      if (r.annotations && Object.keys(r.annotations).length > 0) d.annotations = r.annotations;
      return d;
    });
    return {
      index: { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests },
      filtered: artifactType !== undefined,
    };
  }

  async ping(): Promise<void> {
    await this.meta.ping();
    await this.blobs.driver.ping();
  }
}

/** Non-distributable layers with URLs are fetched from elsewhere by clients, never pushed (image-spec). */
function isForeignLayer(d: Descriptor): boolean {
  return /(foreign|nondistributable)/.test(d.mediaType);
}
