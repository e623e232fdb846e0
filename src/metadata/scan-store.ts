/**
 * Scan reports and signature checks, as the registry keeps them (scan/ and
 * sign/ produce them; the management API and the pull gates read them).
 */

export interface SeverityCounts {
  critical: number;
  high: number;
  medium: number;
  low: number;
  unknown: number;
}

export interface ScanRecord {
  /** The manifest digest scanned. */
  digest: string;
  /** `done`: inventory and findings; `failed`: the report holds the error. */
  status: 'done' | 'failed';
  /** The advisory database generation the findings were matched against. */
  generation: number;
  scannedAt: number;
  counts: SeverityCounts;
  /** The report as JSON text (scan/ decides its shape). */
  report: string;
}

export interface ScanStore {
  getScan(digest: string): Promise<ScanRecord | undefined>;
  /** Creates or replaces the digest's report. */
  putScan(record: ScanRecord): Promise<void>;
  /** Digests of `done` reports matched against a generation older than `generation`, after `after`, at most `limit`, in digest order. */
  staleScans(generation: number, limit: number, after?: string): Promise<string[]>;
}

export interface SignatureCheckRecord {
  repository: string;
  digest: string;
  /** Names the trust settings the check ran under: a check under other settings is stale. */
  trustVersion: string;
  checkedAt: number;
  verified: boolean;
  /** The check's outcome as JSON text (sign/ decides its shape). */
  result: string;
}

export interface SignatureCheckStore {
  getSignatureCheck(repository: string, digest: string): Promise<SignatureCheckRecord | undefined>;
  /** Creates or replaces the check of (repository, digest). */
  putSignatureCheck(record: SignatureCheckRecord): Promise<void>;
  /** Forgets the check (a signature was pushed or removed): the next read checks again. */
  deleteSignatureCheck(repository: string, digest: string): Promise<void>;
}
