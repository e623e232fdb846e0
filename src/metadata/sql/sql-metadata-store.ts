import type {
  ImageRecord,
  ManifestRecord,
  MetadataStore,
  NewManifest,
  Page,
  PullEvent,
  PushRefusal,
  TagRecord,
  UploadRecord,
} from '../metadata-store.js';
import type { SqlDatabase, SqlExecutor } from './sql-database.js';
import { MIGRATIONS } from '../migrations/index.js';
import { projectBytes, projectHasBlob } from './sql-project-usage.js';
import { checkLimits, expireManifest, listImages, MANIFEST_COLUMNS, toManifest, type ManifestRow } from './sql-image-queries.js';
import * as uploadRows from './sql-upload-rows.js';
import { dropRepositoryIfEmpty, ensureRepositoryRow } from './sql-locks.js';

/** Page size limits: `n` is clamped so one request cannot ask for the whole table. */
const MAX_PAGE = 10000;
const pageSize = (p: Page) => Math.min(p.n ?? MAX_PAGE, MAX_PAGE);

/** The MetadataStore over any SqlDatabase (SQLite now; PostgreSQL speaks the same SQL). */
export class SqlMetadataStore implements MetadataStore {
  constructor(private readonly db: SqlDatabase) {}

  async init(): Promise<void> {
    await this.db.migrate(MIGRATIONS);
  }

  private async repositoryId(q: SqlExecutor, name: string): Promise<number | undefined> {
    const row = await q.get<{ id: number }>('SELECT id FROM repositories WHERE name = ?', [name]);
    return row?.id;
  }

  private ensureRepository(q: SqlExecutor, name: string, now: number): Promise<number> {
    return ensureRepositoryRow(q, this.db.dialect, name, now);
  }

  /** A repository exists while it has a blob link or a manifest (tags need a manifest). */
  private dropIfEmpty(q: SqlExecutor, repoId: number): Promise<void> {
    return dropRepositoryIfEmpty(q, this.db.dialect, repoId);
  }

  // --- repositories -------------------------------------------------------

  async listRepositories(page: Page): Promise<string[]> {
    const rows = await this.db.all<{ name: string }>(
      'SELECT name FROM repositories WHERE name > ? ORDER BY name LIMIT ?',
      [page.last ?? '', pageSize(page)],
    );
    return rows.map((r) => r.name);
  }

  async repositoryExists(name: string): Promise<boolean> {
    return (await this.repositoryId(this.db, name)) !== undefined;
  }

  // --- blobs ----------------------------------------------------------------

  async getBlobLink(repository: string, digest: string): Promise<{ size: number } | undefined> {
    const row = await this.db.get<{ size: number | string }>(
      `SELECT b.size FROM repository_blobs rb
         JOIN repositories r ON r.id = rb.repository_id
         JOIN blobs b ON b.digest = rb.digest
       WHERE r.name = ? AND rb.digest = ?`,
      [repository, digest],
    );
    return row ? { size: Number(row.size) } : undefined;
  }

  async linkBlob(repository: string, digest: string, size: number, now: number): Promise<void> {
    await this.db.transaction((q) => this.link(q, repository, digest, size, now));
  }

  private async link(q: SqlExecutor, repository: string, digest: string, size: number, now: number): Promise<void> {
    const repoId = await this.ensureRepository(q, repository, now);
    await claim(q, digest, size, now);
    // A link made again (an upload or mount of a blob the repository had) restarts its grace period.
    await q.run(
      `INSERT INTO repository_blobs (repository_id, digest, created_at) VALUES (?, ?, ?)
       ON CONFLICT (repository_id, digest) DO UPDATE SET created_at = excluded.created_at`,
      [repoId, digest, now],
    );
  }

  async claimBlob(digest: string, size: number, now: number): Promise<void> {
    await this.db.transaction((q) => claim(q, digest, size, now), { durable: false });
  }

  async mountBlob(from: string, to: string, digest: string, now: number): Promise<{ size: number } | undefined> {
    return this.db.transaction(async (q) => {
      const fromId = await this.repositoryId(q, from);
      if (fromId === undefined) return undefined;
      // Locks the source link (GC removing it waits) and proves it exists.
      if ((await q.run('UPDATE repository_blobs SET created_at = created_at WHERE repository_id = ? AND digest = ?', [fromId, digest])) === 0) {
        return undefined;
      }
      const row = await q.get<{ size: number | string }>('SELECT size FROM blobs WHERE digest = ?', [digest]);
      if (!row) return undefined;
      const size = Number(row.size);
      await this.link(q, to, digest, size, now);
      return { size };
    });
  }

  async projectBytes(project: string, since: number): Promise<number> {
    return projectBytes(this.db, project, since);
  }

  async projectHasBlob(project: string, digest: string, since: number): Promise<boolean> {
    return projectHasBlob(this.db, project, digest, since);
  }

  async unlinkBlob(repository: string, digest: string): Promise<boolean> {
    return this.db.transaction(async (q) => {
      const repoId = await this.repositoryId(q, repository);
      if (repoId === undefined) return false;
      const removed = (await q.run('DELETE FROM repository_blobs WHERE repository_id = ? AND digest = ?', [repoId, digest])) > 0;
      await this.dropIfEmpty(q, repoId);
      return removed;
    });
  }

  // --- manifests --------------------------------------------------------------

  async putManifest(m: NewManifest): Promise<{ missing: string[]; refusal?: PushRefusal }> {
    try {
      return await this.putManifestTx(m);
    } catch (e) {
      // Thrown inside the transaction to roll back everything it wrote.
      if (e instanceof Refused) return { missing: [], refusal: e.refusal };
      throw e;
    }
  }

  private putManifestTx(m: NewManifest): Promise<{ missing: string[]; refusal?: PushRefusal }> {
    return this.db.transaction(async (q) => {
      const repoId = await this.repositoryId(q, m.repository);
      const missing: string[] = [];
      // Each reference is checked by an UPDATE that also locks the row, in digest order (no deadlocks
      // between pushes): garbage collection and lifecycle expiry, which lock the same rows before
      // re-checking, wait for this transaction and then see its references (protocol in src/gc/).
      for (const d of [...new Set(m.blobReferences)].sort()) {
        const ok =
          repoId !== undefined &&
          (await q.run('UPDATE repository_blobs SET created_at = created_at WHERE repository_id = ? AND digest = ?', [repoId, d])) > 0;
        if (!ok) missing.push(d);
      }
      for (const d of [...new Set(m.manifestReferences)].sort()) {
        const ok =
          repoId !== undefined &&
          ((await q.run('UPDATE manifests SET pushed_at = pushed_at WHERE repository_id = ? AND digest = ?', [repoId, d])) > 0 ||
            // Tolerance: an index may point at a non-manifest blob (some artifact tools do).
            (await q.run('UPDATE repository_blobs SET created_at = created_at WHERE repository_id = ? AND digest = ?', [repoId, d])) >
              0);
        if (!ok) missing.push(d);
      }
      if (missing.length > 0 && !m.referencesOnDemand) return { missing };
      const refusal = await this.checkLimits(q, m, repoId);
      if (refusal) return { missing: [], refusal };
      const quota = m.limits?.quota?.bytes != null ? m.limits.quota : undefined;
      const usedBefore = quota ? await projectBytes(q, quota.project, quota.since) : 0;
      const id = await this.ensureRepository(q, m.repository, m.now);
      // The manifest's own bytes are a blob too (garbage collection reconciles them like any blob);
      // every blob it references is claimed again, so GC's grace period restarts for them.
      for (const d of [...new Set([m.digest, ...m.blobReferences])].sort()) {
        if (d === m.digest) await claim(q, d, m.size, m.now);
        else await q.run('UPDATE blobs SET claimed_at = ? WHERE digest = ?', [m.now, d]);
      }
      await q.run(
        `INSERT INTO manifests (repository_id, digest, media_type, size, artifact_type, subject_digest, annotations, pushed_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (repository_id, digest) DO UPDATE SET pushed_at = excluded.pushed_at`,
        [
          id,
          m.digest,
          m.mediaType,
          m.size,
          m.artifactType,
          m.subjectDigest,
          m.annotations ? JSON.stringify(m.annotations) : null,
          m.now,
        ],
      );
      for (const d of new Set([...m.blobReferences, ...m.manifestReferences])) {
        await q.run(
          'INSERT INTO manifest_references (repository_id, manifest_digest, child_digest) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
          [id, m.digest, d],
        );
      }
      if (m.tag !== null && m.limits?.immutableTag) {
        // An immutable tag is only ever created: of two pushes racing to create it, the second waits on
        // the first's key, then finds it pointing elsewhere and is refused.
        await q.run(
          `INSERT INTO tags (repository_id, name, manifest_digest, pushed_at) VALUES (?, ?, ?, ?)
           ON CONFLICT (repository_id, name) DO NOTHING`,
          [id, m.tag, m.digest, m.now],
        );
        const now = await q.get<{ manifest_digest: string }>('SELECT manifest_digest FROM tags WHERE repository_id = ? AND name = ?', [id, m.tag]);
        if (now && now.manifest_digest !== m.digest) throw new Refused({ kind: 'immutable', currentDigest: now.manifest_digest });
      } else if (m.tag !== null) {
        await q.run(
          `INSERT INTO tags (repository_id, name, manifest_digest, pushed_at) VALUES (?, ?, ?, ?)
           ON CONFLICT (repository_id, name) DO UPDATE SET manifest_digest = excluded.manifest_digest, pushed_at = excluded.pushed_at`,
          [id, m.tag, m.digest, m.now],
        );
      }
      if (quota) {
        // Measured after the writes: the manifest's bytes plus any referenced blob that did not count before.
        const usedAfter = await projectBytes(q, quota.project, quota.since);
        if (usedAfter > usedBefore && usedAfter > quota.bytes!) {
          throw new Refused({ kind: 'quota', resource: 'bytes', used: usedBefore, adding: usedAfter - usedBefore, limit: quota.bytes! });
        }
      }
      return { missing: [] };
    });
  }

  private checkLimits(q: SqlExecutor, m: NewManifest, repoId: number | undefined): Promise<PushRefusal | undefined> {
    return checkLimits(q, m, repoId);
  }

  async listImages(repository: string): Promise<ImageRecord[]> {
    const repoId = await this.repositoryId(this.db, repository);
    return repoId === undefined ? [] : listImages(this.db, repoId);
  }

  async expireManifest(repository: string, digest: string, expectedTags: string[]): Promise<'deleted' | 'changed' | 'gone'> {
    return this.db.transaction(async (q) => {
      const repoId = await this.repositoryId(q, repository);
      if (repoId === undefined) return 'gone';
      return expireManifest(q, this.db.dialect, repoId, digest, expectedTags);
    });
  }

  async getManifest(repository: string, digest: string): Promise<ManifestRecord | undefined> {
    const row = await this.db.get<ManifestRow>(
      `SELECT ${MANIFEST_COLUMNS} FROM manifests m JOIN repositories r ON r.id = m.repository_id
       WHERE r.name = ? AND m.digest = ?`,
      [repository, digest],
    );
    return row ? toManifest(row) : undefined;
  }

  async resolveTag(repository: string, tag: string): Promise<ManifestRecord | undefined> {
    const row = await this.db.get<ManifestRow>(
      `SELECT ${MANIFEST_COLUMNS} FROM tags t
         JOIN repositories r ON r.id = t.repository_id
         JOIN manifests m ON m.repository_id = t.repository_id AND m.digest = t.manifest_digest
       WHERE r.name = ? AND t.name = ?`,
      [repository, tag],
    );
    return row ? toManifest(row) : undefined;
  }

  async deleteManifest(repository: string, digest: string): Promise<boolean> {
    return this.db.transaction(async (q) => {
      const repoId = await this.repositoryId(q, repository);
      if (repoId === undefined) return false;
      await q.run('DELETE FROM tags WHERE repository_id = ? AND manifest_digest = ?', [repoId, digest]);
      await q.run('DELETE FROM manifest_references WHERE repository_id = ? AND manifest_digest = ?', [repoId, digest]);
      const removed = (await q.run('DELETE FROM manifests WHERE repository_id = ? AND digest = ?', [repoId, digest])) > 0;
      await this.dropIfEmpty(q, repoId);
      return removed;
    });
  }

  async deleteTag(repository: string, tag: string): Promise<boolean> {
    return this.db.transaction(async (q) => {
      const repoId = await this.repositoryId(q, repository);
      if (repoId === undefined) return false;
      return (await q.run('DELETE FROM tags WHERE repository_id = ? AND name = ?', [repoId, tag])) > 0;
    });
  }

  async listTags(repository: string, page: Page): Promise<string[] | undefined> {
    const repoId = await this.repositoryId(this.db, repository);
    if (repoId === undefined) return undefined;
    const rows = await this.db.all<{ name: string }>(
      'SELECT name FROM tags WHERE repository_id = ? AND name > ? ORDER BY name LIMIT ?',
      [repoId, page.last ?? '', pageSize(page)],
    );
    return rows.map((r) => r.name);
  }

  async tagsOf(repository: string, digest: string): Promise<TagRecord[]> {
    const rows = await this.db.all<{ name: string; pushed_at: number; last_pulled_at: number | null }>(
      `SELECT t.name, t.pushed_at, t.last_pulled_at FROM tags t JOIN repositories r ON r.id = t.repository_id
       WHERE r.name = ? AND t.manifest_digest = ? ORDER BY t.name`,
      [repository, digest],
    );
    return rows.map((r) => ({
      name: r.name,
      digest,
      pushedAt: Number(r.pushed_at),
      lastPulledAt: r.last_pulled_at === null ? null : Number(r.last_pulled_at),
    }));
  }

  async listReferrers(repository: string, subjectDigest: string, artifactType?: string): Promise<ManifestRecord[]> {
    const params = [repository, subjectDigest];
    let filter = '';
    if (artifactType !== undefined) {
      filter = ' AND m.artifact_type = ?';
      params.push(artifactType);
    }
    const rows = await this.db.all<ManifestRow>(
      `SELECT ${MANIFEST_COLUMNS} FROM manifests m JOIN repositories r ON r.id = m.repository_id
       WHERE r.name = ? AND m.subject_digest = ?${filter} ORDER BY m.pushed_at, m.digest LIMIT ${MAX_PAGE}`,
      params,
    );
    return rows.map(toManifest);
  }

  async recordPulls(events: PullEvent[]): Promise<void> {
    if (events.length === 0) return;
    await this.db.transaction(async (q) => {
      for (const e of events) {
        const repoId = await this.repositoryId(q, e.repository);
        if (repoId === undefined) continue;
        await q.run(
          `UPDATE manifests SET last_pulled_at = ? WHERE repository_id = ? AND digest = ?
             AND (last_pulled_at IS NULL OR last_pulled_at < ?)`,
          [e.at, repoId, e.digest, e.at],
        );
        if (e.tag !== null) {
          await q.run(
            `UPDATE tags SET last_pulled_at = ? WHERE repository_id = ? AND name = ?
               AND (last_pulled_at IS NULL OR last_pulled_at < ?)`,
            [e.at, repoId, e.tag, e.at],
          );
        }
      }
    });
  }

  // --- uploads ---------------------------------------------------------------

  createUpload(u: UploadRecord): Promise<void> {
    return uploadRows.create(this.db, u);
  }

  async completeUpload(id: string, repository: string, digest: string, size: number, now: number): Promise<boolean> {
    return this.db.transaction(async (q) => {
      if ((await q.run('DELETE FROM uploads WHERE id = ? AND repository = ?', [id, repository])) === 0) return false;
      await this.link(q, repository, digest, size, now);
      return true;
    });
  }

  getUpload(id: string): Promise<UploadRecord | undefined> {
    return uploadRows.get(this.db, id);
  }

  updateUpload(id: string, size: number, now: number): Promise<boolean> {
    return uploadRows.update(this.db, id, size, now);
  }

  deleteUpload(id: string): Promise<boolean> {
    return uploadRows.remove(this.db, id);
  }

  listStaleUploads(before: number, limit: number): Promise<UploadRecord[]> {
    return uploadRows.listStale(this.db, before, limit);
  }

  async ping(): Promise<void> {
    await this.db.get('SELECT 1 AS ok');
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}

/** A push refused by its limits, thrown to roll back its transaction. */
class Refused extends Error {
  constructor(readonly refusal: PushRefusal) {
    super(refusal.kind);
  }
}

/** Records the blob if new and sets its claim time (see GcStore and the protocol in src/gc/). */
async function claim(q: SqlExecutor, digest: string, size: number, now: number): Promise<void> {
  await q.run(
    `INSERT INTO blobs (digest, size, created_at, claimed_at) VALUES (?, ?, ?, ?)
     ON CONFLICT (digest) DO UPDATE SET claimed_at = excluded.claimed_at`,
    [digest, size, now, now],
  );
}
