/**
 * Everything relational about the registry. All methods are async so a
 * network database can implement them; every multi-row change happens in one
 * transaction, so readers see all of it or none of it.
 */

export interface ManifestRecord {
  repository: string;
  digest: string;
  mediaType: string;
  size: number;
  artifactType: string | null;
  subjectDigest: string | null;
  annotations: Record<string, string> | null;
  pushedAt: number;
  lastPulledAt: number | null;
}

export interface TagRecord {
  name: string;
  digest: string;
  pushedAt: number;
  lastPulledAt: number | null;
}

export interface UploadRecord {
  id: string;
  repository: string;
  /** Bytes acknowledged so far (the staging object's size at the last commit point). */
  size: number;
  startedAt: number;
  updatedAt: number;
}

export interface NewManifest {
  repository: string;
  digest: string;
  mediaType: string;
  size: number;
  artifactType: string | null;
  subjectDigest: string | null;
  annotations: Record<string, string> | null;
  /** Blobs (config, layers) that must be linked in the repository. */
  blobReferences: string[];
  /** Manifests (index children) that must exist in the repository. */
  manifestReferences: string[];
  tag: string | null;
  now: number;
  /** Checked in the same transaction as the write, so concurrent pushes cannot both slip past. */
  limits?: PushLimits;
  /**
   * A pull-through cache records an upstream manifest before its blobs and
   * children are fetched (they come on demand): references that are present
   * are locked as usual, missing ones are not an error.
   */
  referencesOnDemand?: boolean;
}

export interface PushLimits {
  /** The tag may only be created, or re-pointed at the digest it already has. */
  immutableTag?: boolean;
  /** The project's quota; usage counts each unique blob of the project's repositories once. */
  quota?: { project: string; bytes: number | null; tags: number | null; since: number };
}

/** Why putManifest wrote nothing although every reference was present. */
export type PushRefusal =
  | { kind: 'immutable'; currentDigest: string }
  | { kind: 'quota'; resource: 'bytes' | 'tags'; used: number; adding: number; limit: number };

/** A manifest as lifecycle policies see it. */
export interface ImageRecord {
  digest: string;
  tags: string[];
  pushedAt: number;
  lastPulledAt: number | null;
  /** The subject's digest when the manifest is a referrer. */
  subject: string | null;
  /** Manifests of the repository this one (an index) references. */
  children: string[];
}

export interface Page {
  n?: number;
  last?: string;
}

export interface PullEvent {
  repository: string;
  digest: string;
  tag: string | null;
  at: number;
}

export interface RepositoryStore {
  /** Repository names in lexical (byte) order after `last`, at most `n`. */
  listRepositories(page: Page): Promise<string[]>;
  /** True when the repository has any blob link, manifest or tag. */
  repositoryExists(name: string): Promise<boolean>;
}

export interface BlobLinkStore {
  /** The blob's size when `digest` is linked in `repository`, else undefined. */
  getBlobLink(repository: string, digest: string): Promise<{ size: number } | undefined>;
  /** Records the blob (if new) and links it into the repository (creating the repository). Idempotent. */
  linkBlob(repository: string, digest: string, size: number, now: number): Promise<void>;
  /** Removes the repository's link; false when there was none. The blob's bytes stay until GC. */
  unlinkBlob(repository: string, digest: string): Promise<boolean>;
  /**
   * Claims a blob before its bytes are written (or re-used): records it if new
   * and sets its claim time, which garbage collection respects for its grace
   * period. Waits while GC is deleting the same blob. Not durable: a claim lost
   * on power failure only loses bytes that nothing references yet.
   */
  claimBlob(digest: string, size: number, now: number): Promise<void>;
  /**
   * Cross-repository mount in one transaction: links the blob into `to` when
   * `from` has it (and claims it); undefined, writing nothing, when it does not.
   */
  mountBlob(from: string, to: string, digest: string, now: number): Promise<{ size: number } | undefined>;
  /**
   * Bytes used by the project's repositories, each unique blob (layers, configs,
   * manifests) once. A link made before `since` that no manifest references is
   * garbage awaiting collection and does not count.
   */
  projectBytes(project: string, since: number): Promise<number>;
  /** True when the blob counts in the project's usage (as projectBytes counts). */
  projectHasBlob(project: string, digest: string, since: number): Promise<boolean>;
}

export interface ManifestStore {
  /**
   * In one transaction: checks that every referenced blob and manifest exists
   * in the repository, records the manifest and its references, and points
   * the tag at it. Returns the missing digests (and writes nothing) when any is missing.
   */
  putManifest(m: NewManifest): Promise<{ missing: string[]; refusal?: PushRefusal }>;
  getManifest(repository: string, digest: string): Promise<ManifestRecord | undefined>;
  /** The manifest a tag points at, or undefined. */
  resolveTag(repository: string, tag: string): Promise<ManifestRecord | undefined>;
  /** Deletes the manifest and every tag pointing at it; false when it did not exist. */
  deleteManifest(repository: string, digest: string): Promise<boolean>;
  /** Deletes one tag; false when it did not exist. */
  deleteTag(repository: string, tag: string): Promise<boolean>;
  /** Tags in lexical order after `last`, at most `n`; undefined when the repository is unknown. */
  listTags(repository: string, page: Page): Promise<string[] | undefined>;
  /** Tag records pointing at a digest. */
  tagsOf(repository: string, digest: string): Promise<TagRecord[]>;
  /** Manifests whose subject is `subjectDigest`, optionally filtered by effective artifactType. */
  listReferrers(repository: string, subjectDigest: string, artifactType?: string): Promise<ManifestRecord[]>;
  /** Applies a batch of pull times (max wins) in one transaction. */
  recordPulls(events: PullEvent[]): Promise<void>;
  /** Every manifest of the repository with its tags, times, subject and child manifests. */
  listImages(repository: string): Promise<ImageRecord[]>;
  /**
   * Deletes the manifest (as deleteManifest) only if its tags are still exactly
   * `expectedTags` and no manifest of the repository references it: a plan made
   * a moment ago never deletes what changed since. 'changed' writes nothing.
   */
  expireManifest(repository: string, digest: string, expectedTags: string[]): Promise<'deleted' | 'changed' | 'gone'>;
}

/**
 * Upload session rows are bookkeeping a client can redo (a lost session means
 * restarting one upload), so creating and updating them need not wait for the
 * disk; completing one is durable.
 */
export interface UploadStore {
  createUpload(u: UploadRecord): Promise<void>;
  getUpload(id: string): Promise<UploadRecord | undefined>;
  /** Sets the acknowledged size; false when the upload no longer exists. */
  updateUpload(id: string, size: number, now: number): Promise<boolean>;
  deleteUpload(id: string): Promise<boolean>;
  /**
   * In one durable transaction: links the verified blob into the repository
   * (as linkBlob) and removes the upload session. False (and nothing written)
   * when the session no longer exists.
   */
  completeUpload(id: string, repository: string, digest: string, size: number, now: number): Promise<boolean>;
  /** Uploads not touched since `before` (for the reaper). */
  listStaleUploads(before: number, limit: number): Promise<UploadRecord[]>;
}

export interface MetadataStore extends RepositoryStore, BlobLinkStore, ManifestStore, UploadStore {
  /** Round trip for /readyz; throws when the database is unreachable. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
