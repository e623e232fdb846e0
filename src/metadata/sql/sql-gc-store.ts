import type { GcStore, RepositoryDigest, RepositoryTag, SizedDigest } from '../gc-store.js';
import type { SqlDatabase, SqlExecutor } from './sql-database.js';
import { dropRepositoryIfEmpty, rowLock } from './sql-locks.js';
import { cosignTagSubject } from '../../oci/cosign-tags.js';

/**
 * GcStore over a SqlDatabase. Candidates are found with plain reads; every
 * deletion then locks the row (FOR UPDATE on PostgreSQL; SQLite serialises
 * whole transactions) and re-checks in statements issued after the lock, which
 * under READ COMMITTED see everything committed before the lock was granted.
 */
export class SqlGcStore implements GcStore {
  private readonly forUpdate: string;

  constructor(private readonly db: SqlDatabase) {
    this.forUpdate = rowLock(db.dialect, 'update');
  }

  async orphanReferrers(cutoff: number, limit: number): Promise<RepositoryDigest[]> {
    const rows = await this.db.all<{ name: string; digest: string }>(
      `SELECT r.name, m.digest FROM manifests m JOIN repositories r ON r.id = m.repository_id
       WHERE m.subject_digest IS NOT NULL AND m.pushed_at < ?
         AND NOT EXISTS (SELECT 1 FROM manifests s WHERE s.repository_id = m.repository_id AND s.digest = m.subject_digest)
         AND NOT EXISTS (SELECT 1 FROM tags t WHERE t.repository_id = m.repository_id AND t.manifest_digest = m.digest)
       ORDER BY r.name, m.digest LIMIT ?`,
      [cutoff, limit],
    );
    return rows.map((r) => ({ repository: r.name, digest: r.digest }));
  }

  async deleteOrphanReferrer(ref: RepositoryDigest, cutoff: number): Promise<boolean> {
    return this.db.transaction(async (q) => {
      const repo = await q.get<{ id: number }>('SELECT id FROM repositories WHERE name = ?', [ref.repository]);
      if (!repo) return false;
      const m = await q.get<{ subject_digest: string | null; pushed_at: number | string }>(
        `SELECT subject_digest, pushed_at FROM manifests WHERE repository_id = ? AND digest = ?${this.forUpdate}`,
        [repo.id, ref.digest],
      );
      if (!m || m.subject_digest === null || Number(m.pushed_at) >= cutoff) return false;
      const keep =
        (await q.get('SELECT 1 AS ok FROM manifests WHERE repository_id = ? AND digest = ?', [repo.id, m.subject_digest])) ??
        (await q.get('SELECT 1 AS ok FROM tags WHERE repository_id = ? AND manifest_digest = ?', [repo.id, ref.digest])) ??
        (await q.get('SELECT 1 AS ok FROM manifest_references WHERE repository_id = ? AND child_digest = ?', [repo.id, ref.digest]));
      if (keep) return false;
      await q.run('DELETE FROM manifest_references WHERE repository_id = ? AND manifest_digest = ?', [repo.id, ref.digest]);
      await q.run('DELETE FROM manifests WHERE repository_id = ? AND digest = ?', [repo.id, ref.digest]);
      await dropRepositoryIfEmpty(q, this.db.dialect, repo.id);
      return true;
    });
  }

  async orphanSignatureTags(cutoff: number, limit: number): Promise<RepositoryTag[]> {
    // sha256- (7) + 64 hex + .sig/.att (4) or .sbom (5); the image's digest is sha256: + the hex.
    const rows = await this.db.all<{ name: string; tag: string }>(
      `SELECT r.name, t.name AS tag FROM tags t JOIN repositories r ON r.id = t.repository_id
       WHERE t.pushed_at < ? AND length(t.name) IN (75, 76) AND substr(t.name, 1, 7) = 'sha256-'
         AND substr(t.name, 72) IN ('.sig', '.att', '.sbom')
         AND NOT EXISTS (SELECT 1 FROM manifests s WHERE s.repository_id = t.repository_id AND s.digest = 'sha256:' || substr(t.name, 8, 64))
       ORDER BY r.name, t.name LIMIT ?`,
      [cutoff, limit],
    );
    return rows.map((r) => ({ repository: r.name, tag: r.tag }));
  }

  async deleteOrphanSignatureTag(ref: RepositoryTag, cutoff: number): Promise<boolean> {
    const subject = cosignTagSubject(ref.tag);
    if (!subject) return false;
    return this.db.transaction(async (q) => {
      const repo = await q.get<{ id: number }>('SELECT id FROM repositories WHERE name = ?', [ref.repository]);
      if (!repo) return false;
      const t = await q.get<{ manifest_digest: string; pushed_at: number | string }>(
        `SELECT manifest_digest, pushed_at FROM tags WHERE repository_id = ? AND name = ?${this.forUpdate}`,
        [repo.id, ref.tag],
      );
      if (!t || Number(t.pushed_at) >= cutoff) return false;
      if (await q.get('SELECT 1 AS ok FROM manifests WHERE repository_id = ? AND digest = ?', [repo.id, subject])) return false;
      await q.run('DELETE FROM tags WHERE repository_id = ? AND name = ?', [repo.id, ref.tag]);
      const m = await q.get<{ subject_digest: string | null }>(
        `SELECT subject_digest FROM manifests WHERE repository_id = ? AND digest = ?${this.forUpdate}`,
        [repo.id, t.manifest_digest],
      );
      const held =
        !m ||
        m.subject_digest !== null ||
        (await q.get('SELECT 1 AS ok FROM tags WHERE repository_id = ? AND manifest_digest = ?', [repo.id, t.manifest_digest])) ||
        (await q.get('SELECT 1 AS ok FROM manifest_references WHERE repository_id = ? AND child_digest = ?', [repo.id, t.manifest_digest]));
      if (!held) {
        await q.run('DELETE FROM manifest_references WHERE repository_id = ? AND manifest_digest = ?', [repo.id, t.manifest_digest]);
        await q.run('DELETE FROM manifests WHERE repository_id = ? AND digest = ?', [repo.id, t.manifest_digest]);
      }
      await dropRepositoryIfEmpty(q, this.db.dialect, repo.id);
      return true;
    });
  }

  async unreferencedLinks(cutoff: number, limit: number, after?: RepositoryDigest): Promise<RepositoryDigest[]> {
    const rows = await this.db.all<{ name: string; digest: string }>(
      `SELECT r.name, rb.digest FROM repository_blobs rb JOIN repositories r ON r.id = rb.repository_id
       WHERE rb.created_at < ? AND (r.name > ? OR (r.name = ? AND rb.digest > ?))
         AND NOT EXISTS (SELECT 1 FROM manifest_references mr WHERE mr.repository_id = rb.repository_id AND mr.child_digest = rb.digest)
       ORDER BY r.name, rb.digest LIMIT ?`,
      [cutoff, after?.repository ?? '', after?.repository ?? '', after?.digest ?? '', limit],
    );
    return rows.map((r) => ({ repository: r.name, digest: r.digest }));
  }

  async removeUnreferencedLinks(links: RepositoryDigest[], cutoff: number): Promise<number> {
    if (links.length === 0) return 0;
    return this.db.transaction(async (q) => {
      let removed = 0;
      const touched = new Set<number>();
      for (const l of [...links].sort(byRepositoryDigest)) {
        const repo = await q.get<{ id: number }>('SELECT id FROM repositories WHERE name = ?', [l.repository]);
        if (!repo) continue;
        const link = await q.get<{ created_at: number | string }>(
          `SELECT created_at FROM repository_blobs WHERE repository_id = ? AND digest = ?${this.forUpdate}`,
          [repo.id, l.digest],
        );
        if (!link || Number(link.created_at) >= cutoff) continue;
        if (await q.get('SELECT 1 AS ok FROM manifest_references WHERE repository_id = ? AND child_digest = ?', [repo.id, l.digest])) continue;
        removed += await q.run('DELETE FROM repository_blobs WHERE repository_id = ? AND digest = ?', [repo.id, l.digest]);
        touched.add(repo.id);
      }
      for (const id of touched) await dropRepositoryIfEmpty(q, this.db.dialect, id);
      return removed;
    });
  }

  async unreferencedBlobs(
    cutoff: number,
    limit: number,
    opts: { after?: string; ignoreStaleLinks?: boolean },
  ): Promise<SizedDigest[]> {
    const linkFilter = opts.ignoreStaleLinks ? ' AND rb.created_at >= ?' : '';
    const params = [cutoff, opts.after ?? '', ...(opts.ignoreStaleLinks ? [cutoff] : []), limit];
    const rows = await this.db.all<{ digest: string; size: number | string }>(
      `SELECT b.digest, b.size FROM blobs b
       WHERE b.claimed_at < ? AND b.digest > ?
         AND NOT EXISTS (SELECT 1 FROM manifests m WHERE m.digest = b.digest)
         AND NOT EXISTS (SELECT 1 FROM manifest_references mr WHERE mr.child_digest = b.digest)
         AND NOT EXISTS (SELECT 1 FROM repository_blobs rb WHERE rb.digest = b.digest${linkFilter})
       ORDER BY b.digest LIMIT ?`,
      params,
    );
    return rows.map((r) => ({ digest: r.digest, size: Number(r.size) }));
  }

  async sweepBlobs(digests: string[], cutoff: number, deleteBytes: (blobs: SizedDigest[]) => Promise<void>): Promise<SizedDigest[]> {
    if (digests.length === 0) return [];
    return this.db.transaction(async (q) => {
      const doomed: SizedDigest[] = [];
      for (const d of [...new Set(digests)].sort()) {
        const row = await q.get<{ size: number | string; claimed_at: number | string }>(
          `SELECT size, claimed_at FROM blobs WHERE digest = ?${this.forUpdate}`,
          [d],
        );
        if (!row || Number(row.claimed_at) >= cutoff) continue;
        if (await referenced(q, d)) continue;
        doomed.push({ digest: d, size: Number(row.size) });
      }
      if (doomed.length === 0) return [];
      // Bytes go first, while the rows are locked: a writer claiming one of them waits for this commit.
      await deleteBytes(doomed);
      for (const b of doomed) await q.run('DELETE FROM blobs WHERE digest = ?', [b.digest]);
      return doomed;
    });
  }

  async missingBlobRows(digests: string[]): Promise<string[]> {
    if (digests.length === 0) return [];
    const rows = await this.db.all<{ digest: string }>(
      `SELECT digest FROM blobs WHERE digest IN (${digests.map(() => '?').join(', ')})`,
      digests,
    );
    const present = new Set(rows.map((r) => r.digest));
    return digests.filter((d) => !present.has(d));
  }

  async sweepOrphanObjects(digests: string[], deleteBytes: (digests: string[]) => Promise<void>): Promise<string[]> {
    if (digests.length === 0) return [];
    return this.db.transaction(async (q) => {
      const ours: string[] = [];
      for (const d of [...new Set(digests)].sort()) {
        // The placeholder's key is held until commit: a concurrent claim of the digest waits for it.
        const inserted = await q.run(
          'INSERT INTO blobs (digest, size, created_at, claimed_at) VALUES (?, 0, 0, 0) ON CONFLICT (digest) DO NOTHING',
          [d],
        );
        if (inserted > 0) ours.push(d);
      }
      if (ours.length === 0) return [];
      await deleteBytes(ours);
      for (const d of ours) await q.run('DELETE FROM blobs WHERE digest = ?', [d]);
      return ours;
    });
  }
}

/** Anything that keeps a blob: a link in some repository, a manifest with its digest, a manifest referencing it. */
async function referenced(q: SqlExecutor, digest: string): Promise<boolean> {
  return Boolean(
    (await q.get('SELECT 1 AS ok FROM repository_blobs WHERE digest = ? LIMIT 1', [digest])) ??
      (await q.get('SELECT 1 AS ok FROM manifests WHERE digest = ? LIMIT 1', [digest])) ??
      (await q.get('SELECT 1 AS ok FROM manifest_references WHERE child_digest = ? LIMIT 1', [digest])),
  );
}

function byRepositoryDigest(a: RepositoryDigest, b: RepositoryDigest): number {
  if (a.repository !== b.repository) return a.repository < b.repository ? -1 : 1;
  return a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0;
}
