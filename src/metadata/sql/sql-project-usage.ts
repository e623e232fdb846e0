import type { SqlExecutor, SqlValue } from './sql-database.js';

/**
 * A project is the first path component of a repository name (`team` of
 * `team/app`; a one-component name is its own project). The filter matches by
 * prefix with substr, not LIKE, because `_` is a LIKE wildcard and valid in names.
 */
export function projectFilter(column: string, project: string): { sql: string; params: SqlValue[] } {
  return { sql: `(${column} = ? OR substr(${column}, 1, ?) = ?)`, params: [project, project.length + 1, `${project}/`] };
}

/**
 * A blob link counts when a manifest of its repository references it, or when
 * it was made at or after `since` (a push in progress). An older link nothing
 * references is garbage awaiting collection: deleting images frees quota at once.
 */
export function countedLink(since: number): { sql: string; params: SqlValue[] } {
  return {
    sql: `(rb.created_at >= ? OR EXISTS (SELECT 1 FROM manifest_references mr
            WHERE mr.repository_id = rb.repository_id AND mr.child_digest = rb.digest))`,
    params: [since],
  };
}

/** The unique digests (counted blob links and manifests) of the project's repositories, as a subquery. */
function projectDigests(project: string, since: number): { sql: string; params: SqlValue[] } {
  const f = projectFilter('r.name', project);
  const c = countedLink(since);
  return {
    sql: `SELECT rb.digest FROM repository_blobs rb JOIN repositories r ON r.id = rb.repository_id WHERE ${f.sql} AND ${c.sql}
          UNION SELECT m.digest FROM manifests m JOIN repositories r ON r.id = m.repository_id WHERE ${f.sql}`,
    params: [...f.params, ...c.params, ...f.params],
  };
}

export async function projectBytes(q: SqlExecutor, project: string, since: number): Promise<number> {
  const d = projectDigests(project, since);
  const row = await q.get<{ total: number | string | null }>(
    `SELECT SUM(b.size) AS total FROM blobs b WHERE b.digest IN (${d.sql})`,
    d.params,
  );
  return Number(row?.total ?? 0);
}

export async function projectHasBlob(q: SqlExecutor, project: string, digest: string, since: number): Promise<boolean> {
  const d = projectDigests(project, since);
  const row = await q.get(`SELECT 1 AS ok FROM (${d.sql}) x WHERE x.digest = ?`, [...d.params, digest]);
  return row !== undefined;
}

export async function projectTags(q: SqlExecutor, project: string): Promise<number> {
  const f = projectFilter('r.name', project);
  const row = await q.get<{ n: number | string }>(
    `SELECT COUNT(*) AS n FROM tags t JOIN repositories r ON r.id = t.repository_id WHERE ${f.sql}`,
    f.params,
  );
  return Number(row?.n ?? 0);
}
