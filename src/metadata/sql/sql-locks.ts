import type { SqlExecutor } from './sql-database.js';

/**
 * Row locks where the dialect has them. PostgreSQL runs READ COMMITTED: a
 * statement issued after a row lock is granted sees every transaction that
 * held the lock before. SQLite needs none: its transactions run one at a time.
 */
export function rowLock(dialect: 'sqlite' | 'postgres', mode: 'update' | 'share'): string {
  if (dialect === 'sqlite') return '';
  return mode === 'update' ? ' FOR UPDATE' : ' FOR SHARE';
}

/**
 * Deletes the repository row when it has no blob link and no manifest left.
 * The row is locked first, so a push inserting into it (which holds a share
 * lock from ensureRepository) finishes before the emptiness check runs.
 */
export async function dropRepositoryIfEmpty(q: SqlExecutor, dialect: 'sqlite' | 'postgres', repoId: number): Promise<void> {
  const locked = await q.get(`SELECT id FROM repositories WHERE id = ?${rowLock(dialect, 'update')}`, [repoId]);
  if (!locked) return;
  await q.run(
    `DELETE FROM repositories WHERE id = ?
       AND NOT EXISTS (SELECT 1 FROM repository_blobs WHERE repository_id = ?)
       AND NOT EXISTS (SELECT 1 FROM manifests WHERE repository_id = ?)`,
    [repoId, repoId, repoId],
  );
}

/**
 * The repository's id, creating the row if needed, share-locked until the
 * transaction ends so it cannot be dropped under a push. A row dropped between
 * the insert and the lock is simply created again (bounded).
 */
export async function ensureRepositoryRow(
  q: SqlExecutor,
  dialect: 'sqlite' | 'postgres',
  name: string,
  now: number,
): Promise<number> {
  for (let attempt = 0; attempt < 5; attempt++) {
    await q.run('INSERT INTO repositories (name, created_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING', [name, now]);
    const row = await q.get<{ id: number | string }>(`SELECT id FROM repositories WHERE name = ?${rowLock(dialect, 'share')}`, [name]);
    if (row) return Number(row.id);
  }
  throw new Error(`repository ${name} was dropped repeatedly while being created`);
}
