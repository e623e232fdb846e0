import type {
  ManifestRecord,
  MetadataStore,
  NewManifest,
  Page,
  PullEvent,
  TagRecord,
  UploadRecord,
} from '../metadata-store.js';
import type { SqlDatabase, SqlExecutor } from './sql-database.js';
import { MIGRATIONS } from '../migrations/index.js';

interface ManifestRow {
  name: string;
  digest: string;
  media_type: string;
  size: number | string;
  artifact_type: string | null;
  subject_digest: string | null;
  annotations: string | null;
  pushed_at: number | string;
  last_pulled_at: number | string | null;
}

const MANIFEST_COLUMNS = `r.name, m.digest, m.media_type, m.size, m.artifact_type, m.subject_digest, m.annotations, m.pushed_at, m.last_pulled_at`;

function toManifest(row: ManifestRow): ManifestRecord {
  return {
    repository: row.name,
    digest: row.digest,
    mediaType: row.media_type,
    size: Number(row.size),
    artifactType: row.artifact_type,
    subjectDigest: row.subject_digest,
    annotations: row.annotations ? (JSON.parse(row.annotations) as Record<string, string>) : null,
    pushedAt: Number(row.pushed_at),
    lastPulledAt: row.last_pulled_at === null ? null : Number(row.last_pulled_at),
  };
}

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

  private async ensureRepository(q: SqlExecutor, name: string, now: number): Promise<number> {
    await q.run('INSERT INTO repositories (name, created_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING', [name, now]);
    const id = await this.repositoryId(q, name);
    if (id === undefined) throw new Error(`repository ${name} vanished`);
    return id;
  }

  /** A repository exists while it has a blob link or a manifest (tags need a manifest). */
  private async dropIfEmpty(q: SqlExecutor, repoId: number): Promise<void> {
    await q.run(
      `DELETE FROM repositories WHERE id = ?
         AND NOT EXISTS (SELECT 1 FROM repository_blobs WHERE repository_id = ?)
         AND NOT EXISTS (SELECT 1 FROM manifests WHERE repository_id = ?)`,
      [repoId, repoId, repoId],
    );
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
    await q.run('INSERT INTO blobs (digest, size, created_at) VALUES (?, ?, ?) ON CONFLICT (digest) DO NOTHING', [digest, size, now]);
    await q.run('INSERT INTO repository_blobs (repository_id, digest, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING', [
      repoId,
      digest,
      now,
    ]);
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

  async putManifest(m: NewManifest): Promise<{ missing: string[] }> {
    return this.db.transaction(async (q) => {
      const repoId = await this.repositoryId(q, m.repository);
      const missing: string[] = [];
      for (const d of new Set(m.blobReferences)) {
        const ok =
          repoId !== undefined &&
          (await q.get('SELECT 1 AS ok FROM repository_blobs WHERE repository_id = ? AND digest = ?', [repoId, d]));
        if (!ok) missing.push(d);
      }
      for (const d of new Set(m.manifestReferences)) {
        const ok =
          repoId !== undefined &&
          ((await q.get('SELECT 1 AS ok FROM manifests WHERE repository_id = ? AND digest = ?', [repoId, d])) ??
            // Tolerance: an index may point at a non-manifest blob (some artifact tools do).
            (await q.get('SELECT 1 AS ok FROM repository_blobs WHERE repository_id = ? AND digest = ?', [repoId, d])));
        if (!ok) missing.push(d);
      }
      if (missing.length > 0) return { missing };
      const id = repoId ?? (await this.ensureRepository(q, m.repository, m.now));
      // The manifest's own bytes are a blob too (garbage collection reconciles them like any blob).
      await q.run('INSERT INTO blobs (digest, size, created_at) VALUES (?, ?, ?) ON CONFLICT (digest) DO NOTHING', [
        m.digest,
        m.size,
        m.now,
      ]);
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
      if (m.tag !== null) {
        await q.run(
          `INSERT INTO tags (repository_id, name, manifest_digest, pushed_at) VALUES (?, ?, ?, ?)
           ON CONFLICT (repository_id, name) DO UPDATE SET manifest_digest = excluded.manifest_digest, pushed_at = excluded.pushed_at`,
          [id, m.tag, m.digest, m.now],
        );
      }
      return { missing: [] };
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

  async createUpload(u: UploadRecord): Promise<void> {
    await this.db.transaction(
      (q) =>
        q.run('INSERT INTO uploads (id, repository, size, started_at, updated_at) VALUES (?, ?, ?, ?, ?)', [
          u.id,
          u.repository,
          u.size,
          u.startedAt,
          u.updatedAt,
        ]),
      { durable: false },
    );
  }

  async completeUpload(id: string, repository: string, digest: string, size: number, now: number): Promise<boolean> {
    return this.db.transaction(async (q) => {
      if ((await q.run('DELETE FROM uploads WHERE id = ? AND repository = ?', [id, repository])) === 0) return false;
      await this.link(q, repository, digest, size, now);
      return true;
    });
  }

  async getUpload(id: string): Promise<UploadRecord | undefined> {
    const row = await this.db.get<{ id: string; repository: string; size: number; started_at: number; updated_at: number }>(
      'SELECT id, repository, size, started_at, updated_at FROM uploads WHERE id = ?',
      [id],
    );
    return row
      ? {
          id: row.id,
          repository: row.repository,
          size: Number(row.size),
          startedAt: Number(row.started_at),
          updatedAt: Number(row.updated_at),
        }
      : undefined;
  }

  async updateUpload(id: string, size: number, now: number): Promise<boolean> {
    const changed = await this.db.transaction(
      (q) => q.run('UPDATE uploads SET size = ?, updated_at = ? WHERE id = ?', [size, now, id]),
      { durable: false },
    );
    return changed > 0;
  }

  async deleteUpload(id: string): Promise<boolean> {
    return (await this.db.run('DELETE FROM uploads WHERE id = ?', [id])) > 0;
  }

  async listStaleUploads(before: number, limit: number): Promise<UploadRecord[]> {
    const rows = await this.db.all<{ id: string; repository: string; size: number; started_at: number; updated_at: number }>(
      'SELECT id, repository, size, started_at, updated_at FROM uploads WHERE updated_at < ? ORDER BY updated_at LIMIT ?',
      [before, limit],
    );
    return rows.map((row) => ({
      id: row.id,
      repository: row.repository,
      size: Number(row.size),
      startedAt: Number(row.started_at),
      updatedAt: Number(row.updated_at),
    }));
  }

  async ping(): Promise<void> {
    await this.db.get('SELECT 1 AS ok');
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}
