/**
 * What online garbage collection needs from the metadata database. Every
 * method that deletes locks the rows it deletes and re-checks, in fresh
 * statements after the lock, that nothing references them and that they were
 * not claimed within the grace period (`cutoff` = now - grace). The protocol
 * these methods serve is written at the top of src/gc/garbage-collector.ts.
 */

export interface RepositoryDigest {
  repository: string;
  digest: string;
}

export interface RepositoryTag {
  repository: string;
  tag: string;
}

export interface SizedDigest {
  digest: string;
  size: number;
}

export interface GcStore {
  /** Referrers pushed before `cutoff` whose subject is absent from their repository, at most `limit`. */
  orphanReferrers(cutoff: number, limit: number): Promise<RepositoryDigest[]>;
  /** Deletes the referrer (and its tags) if its subject is still absent; false when it is not. */
  deleteOrphanReferrer(ref: RepositoryDigest, cutoff: number): Promise<boolean>;
  /**
   * Cosign tag-scheme tags (`sha256-<hex>.sig|att|sbom`, src/oci/cosign-tags.ts) pushed before
   * `cutoff` whose image `sha256:<hex>` is absent from their repository, at most `limit`.
   */
  orphanSignatureTags(cutoff: number, limit: number): Promise<RepositoryTag[]>;
  /**
   * Deletes the tag if its image is still absent, and then its manifest when nothing else holds
   * it (another tag, an index, a subject of its own); false when the tag stays.
   */
  deleteOrphanSignatureTag(ref: RepositoryTag, cutoff: number): Promise<boolean>;
  /**
   * Blob links created before `cutoff` that no manifest of their repository
   * references, after `after` in (repository, digest) order, at most `limit`.
   */
  unreferencedLinks(cutoff: number, limit: number, after?: RepositoryDigest): Promise<RepositoryDigest[]>;
  /** Removes those of `links` still unreferenced and older than `cutoff`; returns how many. */
  removeUnreferencedLinks(links: RepositoryDigest[], cutoff: number): Promise<number>;
  /**
   * Blobs claimed before `cutoff` that no link, manifest or manifest reference
   * names, after digest `after`, at most `limit`. With `ignoreStaleLinks` a link
   * older than `cutoff` that no manifest references does not count (a dry run's
   * view of what a real run, which removes such links first, would reclaim).
   */
  unreferencedBlobs(cutoff: number, limit: number, opts: { after?: string; ignoreStaleLinks?: boolean }): Promise<SizedDigest[]>;
  /**
   * In one transaction: locks the blob rows, keeps those still unreferenced and
   * claimed before `cutoff`, awaits `deleteBytes` for them and deletes their rows.
   * A writer claiming one of them meanwhile waits, then finds the row gone and
   * records it anew. When `deleteBytes` throws nothing is deleted from the database.
   */
  sweepBlobs(digests: string[], cutoff: number, deleteBytes: (blobs: SizedDigest[]) => Promise<void>): Promise<SizedDigest[]>;
  /** Of `digests`, those the database has no blob row for. */
  missingBlobRows(digests: string[]): Promise<string[]>;
  /**
   * For objects in storage without a blob row: in one transaction inserts a
   * placeholder row for each digest that still has none (so no writer can claim
   * it meanwhile), awaits `deleteBytes` for those and removes the placeholders.
   * Returns the digests whose bytes were deleted.
   */
  sweepOrphanObjects(digests: string[], deleteBytes: (digests: string[]) => Promise<void>): Promise<string[]>;
}
