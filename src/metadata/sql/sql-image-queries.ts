import type { ImageRecord, ManifestRecord, NewManifest, PushRefusal } from '../metadata-store.js';
import type { SqlExecutor } from './sql-database.js';
import { projectTags } from './sql-project-usage.js';
import { dropRepositoryIfEmpty } from './sql-locks.js';

/**
 * The parts of SqlMetadataStore that serve lifecycle policies, tag
 * immutability and quotas; each runs on the executor it is given (inside the
 * caller's transaction where one is needed).
 */

/** A manifests row joined with its repository's name, and its record. */
export interface ManifestRow {
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

export const MANIFEST_COLUMNS = `r.name, m.digest, m.media_type, m.size, m.artifact_type, m.subject_digest, m.annotations, m.pushed_at, m.last_pulled_at`;

export function toManifest(row: ManifestRow): ManifestRecord {
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

/** Immutability and the tag quota, checked inside putManifest's transaction before it writes. */
export async function checkLimits(q: SqlExecutor, m: NewManifest, repoId: number | undefined): Promise<PushRefusal | undefined> {
  const limits = m.limits;
  if (!limits) return undefined;
  const current =
    m.tag === null || repoId === undefined
      ? undefined
      : await q.get<{ manifest_digest: string }>('SELECT manifest_digest FROM tags WHERE repository_id = ? AND name = ?', [repoId, m.tag]);
  if (limits.immutableTag && current && current.manifest_digest !== m.digest) {
    return { kind: 'immutable', currentDigest: current.manifest_digest };
  }
  const quota = limits.quota;
  if (quota && quota.tags !== null && m.tag !== null && !current) {
    const used = await projectTags(q, quota.project);
    if (used + 1 > quota.tags) return { kind: 'quota', resource: 'tags', used, adding: 1, limit: quota.tags };
  }
  return undefined;
}

/** Every manifest of the repository with its tags, times, subject and child manifests. */
export async function listImages(q: SqlExecutor, repoId: number): Promise<ImageRecord[]> {
  const rows = await q.all<{ digest: string; pushed_at: number | string; last_pulled_at: number | string | null; subject_digest: string | null }>(
    'SELECT digest, pushed_at, last_pulled_at, subject_digest FROM manifests WHERE repository_id = ? ORDER BY digest',
    [repoId],
  );
  const tags = await q.all<{ name: string; manifest_digest: string }>(
    'SELECT name, manifest_digest FROM tags WHERE repository_id = ? ORDER BY name',
    [repoId],
  );
  const children = await q.all<{ manifest_digest: string; child_digest: string }>(
    `SELECT mr.manifest_digest, mr.child_digest FROM manifest_references mr
       JOIN manifests c ON c.repository_id = mr.repository_id AND c.digest = mr.child_digest
     WHERE mr.repository_id = ? ORDER BY mr.child_digest`,
    [repoId],
  );
  const images = new Map<string, ImageRecord>();
  for (const r of rows) {
    images.set(r.digest, {
      digest: r.digest,
      tags: [],
      pushedAt: Number(r.pushed_at),
      lastPulledAt: r.last_pulled_at === null ? null : Number(r.last_pulled_at),
      subject: r.subject_digest,
      children: [],
    });
  }
  for (const t of tags) images.get(t.manifest_digest)?.tags.push(t.name);
  for (const c of children) images.get(c.manifest_digest)?.children.push(c.child_digest);
  return [...images.values()];
}

/**
 * Deletes the manifest only if its tags are still exactly `expectedTags` and no
 * manifest of the repository references it. The row is locked first, then
 * re-checked: a push tagging or referencing it either committed before (seen
 * here: 'changed') or waits and then finds it gone.
 */
export async function expireManifest(
  q: SqlExecutor,
  dialect: 'sqlite' | 'postgres',
  repoId: number,
  digest: string,
  expectedTags: string[],
): Promise<'deleted' | 'changed' | 'gone'> {
  if ((await q.run('UPDATE manifests SET pushed_at = pushed_at WHERE repository_id = ? AND digest = ?', [repoId, digest])) === 0) {
    return 'gone';
  }
  const tags = (
    await q.all<{ name: string }>('SELECT name FROM tags WHERE repository_id = ? AND manifest_digest = ? ORDER BY name', [repoId, digest])
  ).map((t) => t.name);
  const expected = [...expectedTags].sort();
  if (tags.length !== expected.length || tags.some((t, i) => t !== expected[i])) return 'changed';
  if (await q.get('SELECT 1 AS ok FROM manifest_references WHERE repository_id = ? AND child_digest = ?', [repoId, digest])) return 'changed';
  await q.run('DELETE FROM tags WHERE repository_id = ? AND manifest_digest = ?', [repoId, digest]);
  await q.run('DELETE FROM manifest_references WHERE repository_id = ? AND manifest_digest = ?', [repoId, digest]);
  await q.run('DELETE FROM manifests WHERE repository_id = ? AND digest = ?', [repoId, digest]);
  await dropRepositoryIfEmpty(q, dialect, repoId);
  return 'deleted';
}
