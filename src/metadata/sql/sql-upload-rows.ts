import type { UploadRecord } from '../metadata-store.js';
import type { SqlDatabase } from './sql-database.js';

/**
 * Upload session rows. Creating and touching them does not wait for the disk
 * (`durable: false`): a session lost on power failure only restarts one upload.
 */
type UploadRow = { id: string; repository: string; size: number | string; started_at: number | string; updated_at: number | string };

const COLUMNS = 'id, repository, size, started_at, updated_at';

function toRecord(row: UploadRow): UploadRecord {
  return {
    id: row.id,
    repository: row.repository,
    size: Number(row.size),
    startedAt: Number(row.started_at),
    updatedAt: Number(row.updated_at),
  };
}

export async function create(db: SqlDatabase, u: UploadRecord): Promise<void> {
  await db.transaction(
    (q) => q.run(`INSERT INTO uploads (${COLUMNS}) VALUES (?, ?, ?, ?, ?)`, [u.id, u.repository, u.size, u.startedAt, u.updatedAt]),
    { durable: false },
  );
}

export async function get(db: SqlDatabase, id: string): Promise<UploadRecord | undefined> {
  const row = await db.get<UploadRow>(`SELECT ${COLUMNS} FROM uploads WHERE id = ?`, [id]);
  return row ? toRecord(row) : undefined;
}

export async function update(db: SqlDatabase, id: string, size: number, now: number): Promise<boolean> {
  const changed = await db.transaction((q) => q.run('UPDATE uploads SET size = ?, updated_at = ? WHERE id = ?', [size, now, id]), {
    durable: false,
  });
  return changed > 0;
}

export async function remove(db: SqlDatabase, id: string): Promise<boolean> {
  return (await db.run('DELETE FROM uploads WHERE id = ?', [id])) > 0;
}

export async function listStale(db: SqlDatabase, before: number, limit: number): Promise<UploadRecord[]> {
  const rows = await db.all<UploadRow>(`SELECT ${COLUMNS} FROM uploads WHERE updated_at < ? ORDER BY updated_at LIMIT ?`, [before, limit]);
  return rows.map(toRecord);
}
