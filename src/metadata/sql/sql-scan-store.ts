import type { ScanRecord, ScanStore, SignatureCheckRecord, SignatureCheckStore } from '../scan-store.js';
import type { SqlDatabase } from './sql-database.js';

type Num = number | string;

/** Scan reports and signature checks over a SqlDatabase. */
export class SqlScanStore implements ScanStore, SignatureCheckStore {
  constructor(private readonly db: SqlDatabase) {}

  async getScan(digest: string): Promise<ScanRecord | undefined> {
    const r = await this.db.get<{
      digest: string;
      status: string;
      generation: Num;
      scanned_at: Num;
      critical: Num;
      high: Num;
      medium: Num;
      low: Num;
      unknown: Num;
      report: string;
    }>('SELECT * FROM scan_reports WHERE digest = ?', [digest]);
    if (!r) return undefined;
    return {
      digest: r.digest,
      status: r.status === 'failed' ? 'failed' : 'done',
      generation: Number(r.generation),
      scannedAt: Number(r.scanned_at),
      counts: { critical: Number(r.critical), high: Number(r.high), medium: Number(r.medium), low: Number(r.low), unknown: Number(r.unknown) },
      report: r.report,
    };
  }

  async putScan(s: ScanRecord): Promise<void> {
    await this.db.run(
      `INSERT INTO scan_reports (digest, status, generation, scanned_at, critical, high, medium, low, unknown, report)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (digest) DO UPDATE SET status = excluded.status, generation = excluded.generation, scanned_at = excluded.scanned_at,
         critical = excluded.critical, high = excluded.high, medium = excluded.medium, low = excluded.low, unknown = excluded.unknown,
         report = excluded.report`,
      [s.digest, s.status, s.generation, s.scannedAt, s.counts.critical, s.counts.high, s.counts.medium, s.counts.low, s.counts.unknown, s.report],
    );
  }

  async staleScans(generation: number, limit: number, after?: string): Promise<string[]> {
    const rows = await this.db.all<{ digest: string }>(
      `SELECT digest FROM scan_reports WHERE status = 'done' AND generation < ? AND digest > ? ORDER BY digest LIMIT ?`,
      [generation, after ?? '', limit],
    );
    return rows.map((r) => r.digest);
  }

  async getSignatureCheck(repository: string, digest: string): Promise<SignatureCheckRecord | undefined> {
    const r = await this.db.get<{ trust_version: string; checked_at: Num; verified: Num; result: string }>(
      'SELECT trust_version, checked_at, verified, result FROM signature_checks WHERE repository = ? AND digest = ?',
      [repository, digest],
    );
    if (!r) return undefined;
    return { repository, digest, trustVersion: r.trust_version, checkedAt: Number(r.checked_at), verified: Number(r.verified) === 1, result: r.result };
  }

  async putSignatureCheck(c: SignatureCheckRecord): Promise<void> {
    await this.db.run(
      `INSERT INTO signature_checks (repository, digest, trust_version, checked_at, verified, result) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (repository, digest) DO UPDATE SET trust_version = excluded.trust_version, checked_at = excluded.checked_at,
         verified = excluded.verified, result = excluded.result`,
      [c.repository, c.digest, c.trustVersion, c.checkedAt, c.verified ? 1 : 0, c.result],
    );
  }

  async deleteSignatureCheck(repository: string, digest: string): Promise<void> {
    await this.db.run('DELETE FROM signature_checks WHERE repository = ? AND digest = ?', [repository, digest]);
  }
}
