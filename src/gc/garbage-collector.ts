/*
 * Online garbage collection: mark-and-sweep on the metadata database, while
 * pushes and pulls go on, with no read-only window.
 *
 * THE PROTOCOL
 *
 * Terms. A blob row (`blobs`) is the registry's knowledge that bytes exist in
 * storage. `claimed_at` is the last time a writer claimed the blob or something
 * started referencing it. A blob is REFERENCED while a repository links it
 * (`repository_blobs`), a manifest has its digest (`manifests`), or a manifest
 * references it (`manifest_references`). grace = gc.graceSeconds;
 * cutoff = now - grace.
 *
 * Writers (src/registry/, src/metadata/sql/):
 *
 *   W1 write bytes of D (blob upload completion, manifest PUT):
 *        claimBlob(D): upsert blobs(D), claimed_at = now     -- own transaction, BEFORE the bytes
 *        write bytes of D                                      -- atomic: complete or absent
 *        transaction: link / record manifest (W2)
 *   W2 every transaction that makes D reachable (link, mount, manifest PUT):
 *        lock the rows it depends on (the source link, each referenced link or
 *        child manifest) by updating them, in digest order; missing row => the
 *        reference is missing, write nothing
 *        set blobs(D).claimed_at = now for every blob it references
 *        insert the link / manifest / references
 *
 * The collector (this file), each step a bounded series of short transactions:
 *
 *   G1 orphan referrers: a manifest with a subject that is absent from its
 *      repository, untagged, unreferenced, pushed before cutoff:
 *        lock the manifest row; re-check all of that; delete it
 *   G1b orphan cosign tags: a tag sha256-<hex>.sig|att|sbom pushed before cutoff
 *      whose image sha256:<hex> is absent from its repository:
 *        lock the tag row; re-check; delete it, and its manifest unless
 *        another tag, an index or a subject holds it (then G2 frees its blobs)
 *   G2 unreferenced links: a repository_blobs row created before cutoff that
 *      no manifest of its repository references:
 *        lock the link row; re-check; delete it
 *   G3 unreferenced blobs: a blob row claimed before cutoff and not referenced:
 *        transaction {
 *          lock the blob row (FOR UPDATE)
 *          re-check, in statements issued after the lock: claimed before
 *            cutoff, and not referenced
 *          delete the bytes
 *          delete the row
 *        }
 *   G4 orphan objects (bytes with no blob row: a crash between W1's claim and
 *      its bytes after a power loss, or a sweep interrupted before commit):
 *        transaction { insert a placeholder row for D if none exists (holds D's
 *          key); delete the bytes; delete the placeholder }
 *   G5 upload sessions idle longer than registry.uploadTimeoutHours are
 *      reaped with their staged bytes (the reaper job does the same).
 *
 * Why it holds (PostgreSQL READ COMMITTED, SQLite serial transactions):
 *   - A manifest being pushed references D only after locking D's link (W2).
 *     G2 removes that link only while holding the same lock, and re-checks
 *     after getting it: either the push committed first (G2 sees the
 *     reference and keeps the link) or G2 committed first (the push's UPDATE
 *     finds no link and answers MANIFEST_BLOB_UNKNOWN, writing nothing).
 *   - G3 deletes bytes only while holding D's row lock, after seeing D
 *     unreferenced and claimed before cutoff. Any writer that could make D
 *     reachable or write D's bytes first updates that same row (W1 claim, W2
 *     claimed_at), so it either committed before the lock (G3 sees a fresh
 *     claimed_at or the reference and skips D) or waits for G3's commit and
 *     then finds the row gone: a claim inserts it again and rewrites the
 *     bytes; a reference fails as missing.
 *   - A blob uploaded or mounted within the grace period has a link or
 *     claim younger than cutoff, so neither G2 nor G3 touches it. The grace
 *     period also covers the time between a layer upload and the manifest
 *     PUT that references it.
 *   - G4 holds D's key for its whole transaction; a claim (W1) of D waits and
 *     then writes the bytes afresh. Bytes never exist without a row except
 *     after W1's claim was lost, so G4 only removes true leftovers.
 *   - Deleting bytes and then failing before commit leaves a row without
 *     bytes, unreferenced: the next run deletes the row (deleting missing
 *     bytes succeeds). Nothing reachable ever loses its bytes.
 * Clocks: nodes' clocks must agree to well within the grace period.
 */
import { Digest } from '../oci/digest.js';
import type { BlobStore } from '../storage/blob-store.js';
import type { GcStore, RepositoryDigest, SizedDigest } from '../metadata/gc-store.js';

export interface GarbageCollectorOptions {
  /** Blobs and links younger than this are never collected. */
  graceMs: number;
  /** Reaps idle upload sessions (with their bytes) and returns how many; counts them in a dry run. */
  uploads?: { reap(dryRun: boolean): Promise<number> };
  now?: () => number;
  /** Rows per transaction. */
  batchSize?: number;
  /** Parallel storage deletes within a batch. */
  deleteConcurrency?: number;
  /** Called as work progresses (the CLI shows it; the server logs it). */
  onProgress?: (phase: GcPhase, done: number) => void;
}

export type GcPhase = 'referrers' | 'links' | 'blobs' | 'orphans' | 'uploads';

export interface GcReport {
  dryRun: boolean;
  graceSeconds: number;
  startedAt: string;
  durationMs: number;
  referrersDeleted: number;
  linksRemoved: number;
  blobsDeleted: number;
  bytesReclaimed: number;
  orphanObjectsDeleted: number;
  uploadsReaped: number;
}

/** Upper bound on batches per phase: a run always ends, even on a registry that keeps changing. */
const MAX_BATCHES = 100_000;

export class GarbageCollector {
  private readonly now: () => number;
  private readonly batch: number;

  constructor(
    private readonly store: GcStore,
    private readonly blobs: BlobStore,
    private readonly opts: GarbageCollectorOptions,
  ) {
    this.now = opts.now ?? Date.now;
    this.batch = opts.batchSize ?? 100;
  }

  /** One collection: G1..G5 in order (a dry run counts instead of deleting). */
  async run(opts: { dryRun?: boolean; signal?: AbortSignal } = {}): Promise<GcReport> {
    const dryRun = opts.dryRun ?? false;
    const signal = opts.signal;
    const started = this.now();
    const cutoff = started - this.opts.graceMs;
    const report: GcReport = {
      dryRun,
      graceSeconds: Math.round(this.opts.graceMs / 1000),
      startedAt: new Date(started).toISOString(),
      durationMs: 0,
      referrersDeleted: await this.referrers(cutoff, dryRun, signal),
      linksRemoved: await this.links(cutoff, dryRun, signal),
      blobsDeleted: 0,
      bytesReclaimed: 0,
      orphanObjectsDeleted: 0,
      uploadsReaped: 0,
    };
    const swept = await this.sweepBlobs(cutoff, dryRun, signal);
    report.blobsDeleted = swept.count;
    report.bytesReclaimed = swept.bytes;
    report.orphanObjectsDeleted = await this.orphans(dryRun, signal);
    signal?.throwIfAborted();
    report.uploadsReaped = (await this.opts.uploads?.reap(dryRun)) ?? 0;
    this.opts.onProgress?.('uploads', report.uploadsReaped);
    report.durationMs = this.now() - started;
    return report;
  }

  /**
   * G1, with cosign's tag-scheme artifacts (G1b). Deleting a referrer can orphan its own referrers,
   * so rounds repeat until one deletes nothing.
   */
  private async referrers(cutoff: number, dryRun: boolean, signal?: AbortSignal): Promise<number> {
    if (dryRun) {
      return (await this.store.orphanReferrers(cutoff, 100_000)).length + (await this.store.orphanSignatureTags(cutoff, 100_000)).length;
    }
    let total = 0;
    for (let i = 0; i < MAX_BATCHES; i++) {
      signal?.throwIfAborted();
      const found = await this.store.orphanReferrers(cutoff, this.batch);
      let deleted = 0;
      for (const r of found) if (await this.store.deleteOrphanReferrer(r, cutoff)) deleted++;
      for (const t of await this.store.orphanSignatureTags(cutoff, this.batch)) if (await this.store.deleteOrphanSignatureTag(t, cutoff)) deleted++;
      total += deleted;
      this.opts.onProgress?.('referrers', total);
      if (deleted === 0) break;
    }
    return total;
  }

  /** G2, paging forward so links that must stay are not looked at twice. */
  private async links(cutoff: number, dryRun: boolean, signal?: AbortSignal): Promise<number> {
    let total = 0;
    let after: RepositoryDigest | undefined;
    for (let i = 0; i < MAX_BATCHES; i++) {
      signal?.throwIfAborted();
      const found = await this.store.unreferencedLinks(cutoff, this.batch, after);
      if (found.length === 0) break;
      after = found[found.length - 1];
      total += dryRun ? found.length : await this.store.removeUnreferencedLinks(found, cutoff);
      this.opts.onProgress?.('links', total);
    }
    return total;
  }

  /** G3. */
  private async sweepBlobs(cutoff: number, dryRun: boolean, signal?: AbortSignal): Promise<{ count: number; bytes: number }> {
    let count = 0;
    let bytes = 0;
    let after: string | undefined;
    for (let i = 0; i < MAX_BATCHES; i++) {
      signal?.throwIfAborted();
      const found = await this.store.unreferencedBlobs(cutoff, this.batch, { after, ignoreStaleLinks: dryRun });
      if (found.length === 0) break;
      after = found[found.length - 1]!.digest;
      const gone = dryRun
        ? found
        : await this.store.sweepBlobs(
            found.map((b) => b.digest),
            cutoff,
            (doomed) => this.deleteAll(doomed.map((b) => b.digest)),
          );
      count += gone.length;
      bytes += gone.reduce((n, b: SizedDigest) => n + b.size, 0);
      this.opts.onProgress?.('blobs', count);
    }
    return { count, bytes };
  }

  /** G4: objects in storage that no blob row describes. */
  private async orphans(dryRun: boolean, signal?: AbortSignal): Promise<number> {
    let total = 0;
    let page: string[] = [];
    const flush = async () => {
      const missing = await this.store.missingBlobRows(page);
      page = [];
      if (missing.length === 0) return;
      total += dryRun ? missing.length : (await this.store.sweepOrphanObjects(missing, (ds) => this.deleteAll(ds))).length;
      this.opts.onProgress?.('orphans', total);
    };
    for await (const d of this.blobs.listDigests()) {
      signal?.throwIfAborted();
      page.push(d.toString());
      if (page.length >= this.batch) await flush();
    }
    if (page.length > 0) await flush();
    return total;
  }

  /** Deletes bytes with bounded parallelism; throws (rolling the batch back) if any delete fails. */
  private async deleteAll(digests: string[]): Promise<void> {
    const queue = [...digests];
    const workers = Array.from({ length: Math.min(this.opts.deleteConcurrency ?? 8, queue.length) }, async () => {
      for (let d = queue.shift(); d !== undefined; d = queue.shift()) await this.blobs.deleteBlob(Digest.parse(d));
    });
    await Promise.all(workers);
  }
}
