import type { Readable } from 'node:stream';
import { Digest } from '../oci/digest.js';
import { parseManifest, type Descriptor } from '../oci/manifest.js';
import { IMAGE_CONFIG_TYPES, INDEX_TYPES, MediaType } from '../oci/media-type.js';
import type { ManifestRecord } from '../metadata/metadata-store.js';
import type { ScanRecord, ScanStore, SeverityCounts } from '../metadata/scan-store.js';
import type { PushedManifest } from '../registry/pull-gate.js';
import { AdvisoryDb, type AdvisoryDbStatus } from './advisories/index.js';
import { findVulnerabilities, NotAnImageError, scanResult, takeInventory, type Inventory } from './scanner.js';
import type { ScanPolicy } from './policy.js';
import { cycloneDxBom } from './sbom/cyclonedx.js';
import type { Finding, ScanResult } from './types.js';

/** What the service reads from the registry: manifests and blobs by digest. */
export interface RegistryContent {
  manifest(repository: string, digest: string): Promise<{ record: ManifestRecord; bytes: Buffer } | undefined>;
  blob(digest: string): Promise<Readable>;
  /** Pushes an artifact manifest (with its blobs) into the repository; false when the repository takes none (a pull-through cache). */
  attach(repository: string, blobs: Buffer[], manifest: Buffer): Promise<boolean>;
}

export interface ScanServiceOptions {
  content: RegistryContent;
  store: ScanStore;
  /** The scanning policy that applies to a repository. */
  policy(repository: string): Promise<ScanPolicy | undefined>;
  /** Queues a scan (deduplicated by the queue); the job calls scan(). */
  enqueue(repository: string, digest: string): void;
  /** The advisory database directory (read-only here; `berth db` or the update job writes it). */
  dbDir: string;
  log: { info(o: object, m: string): void; warn(o: object, m: string): void };
  version: string;
  now?: () => number;
}

/** The report kept for an index: its platforms' digests and counts (each platform has its own report). */
export interface IndexReport {
  kind: 'index';
  platforms: { platform: string; digest: string; status: ScanRecord['status']; counts: SeverityCounts }[];
}

/** The report kept for an image manifest: the inventory (re-matched when advisories change) and its findings. */
export interface ImageReport {
  kind: 'image';
  result: ScanResult;
}

/** The report kept for a manifest that could not be scanned. */
export interface FailedReport {
  kind: 'failed';
  error: string;
}

export type StoredReport = IndexReport | ImageReport | FailedReport;

export const CYCLONEDX_ARTIFACT_TYPE = 'application/vnd.cyclonedx+json';
const EMPTY_CONFIG = Buffer.from('{}');
const EMPTY_DIGEST = Digest.fromBytes(EMPTY_CONFIG).toString();
/** BuildKit stores attestations in an index as unknown/unknown manifests with this annotation. */
const ATTESTATION_ANNOTATION = 'vnd.docker.reference.type';

const ZERO: SeverityCounts = { critical: 0, high: 0, medium: 0, low: 0, unknown: 0 };

/**
 * Scanning inside the registry: scan on push through the job queue (every
 * platform of an index), reports kept per manifest digest, the SBOM attached
 * to the image as a CycloneDX referrer, and re-matching of kept inventories
 * when the advisory database moves on (a CVE published today shows on images
 * pushed last month, without reading their layers again).
 */
export class ScanService {
  private readonly now: () => number;

  constructor(private readonly opts: ScanServiceOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** A pushed manifest: queued for scanning when it is an image or index and the policy scans on push. */
  onPushed(m: PushedManifest): void {
    if (!isImage(m)) return;
    void this.opts
      .policy(m.repository)
      .then((p) => {
        if (p?.scanOnPush) this.opts.enqueue(m.repository, m.digest);
      })
      .catch((e: unknown) => this.opts.log.warn({ repository: m.repository, digest: m.digest, err: (e as Error).message }, 'scan on push not queued'));
  }

  /** Queues a scan of the repository's manifest now (the API's POST). */
  queue(repository: string, digest: string): void {
    this.opts.enqueue(repository, digest);
  }

  /** The kept report of a manifest digest. */
  async report(digest: string): Promise<{ record: ScanRecord; report: StoredReport } | undefined> {
    const record = await this.opts.store.getScan(digest);
    return record ? { record, report: JSON.parse(record.report) as StoredReport } : undefined;
  }

  /** Scans the repository's manifest now (an index: each platform), keeps and returns the report. */
  async scan(repository: string, digest: string, signal?: AbortSignal): Promise<ScanRecord> {
    const found = await this.opts.content.manifest(repository, digest);
    if (!found) throw new NotAnImageError(`${repository}@${digest} is not in the registry`);
    const db = this.openDb();
    try {
      const status = db?.status();
      if (INDEX_TYPES.includes(found.record.mediaType)) {
        const parsed = parseManifest(found.bytes, found.record.mediaType);
        const platforms: IndexReport['platforms'] = [];
        for (const child of parsed.manifests) {
          if (child.annotations?.[ATTESTATION_ANNOTATION] !== undefined) continue;
          // A platform pushed (and scanned) on its own before its index is not read twice.
          const kept = await this.opts.store.getScan(child.digest);
          const rec =
            kept?.status === 'done' && kept.generation >= (status?.generation ?? 0)
              ? kept
              : await this.scanImage(repository, child.digest, platformOf(child), db, status, signal);
          platforms.push({ platform: platformOf(child) ?? 'unknown', digest: child.digest, status: rec.status, counts: rec.counts });
        }
        const counts = platforms.reduce((sum, p) => addCounts(sum, p.counts), ZERO);
        return this.keep(digest, 'done', status?.generation ?? 0, counts, { kind: 'index', platforms });
      }
      return await this.scanImage(repository, digest, undefined, db, status, signal);
    } finally {
      db?.close();
    }
  }

  /**
   * Re-matches every kept inventory matched against an older database
   * generation; returns how many. Bounded by the number of reports.
   */
  async rematchStale(signal?: AbortSignal): Promise<number> {
    const db = this.openDb();
    if (!db) return 0;
    try {
      const status = db.status();
      let done = 0;
      let after: string | undefined;
      for (let page = 0; page < 100_000; page++) {
        const digests = await this.opts.store.staleScans(status.generation, 100, after);
        if (digests.length === 0) break;
        for (const d of digests) {
          signal?.throwIfAborted();
          const kept = await this.report(d);
          if (kept?.report.kind !== 'image') {
            // An index's counts follow its platforms: re-add them from their (re-matched) reports.
            if (kept?.report.kind === 'index') await this.recountIndex(d, kept.report, status.generation);
            continue;
          }
          const inv: Inventory = { os: kept.report.result.os, packages: kept.report.result.packages, warnings: kept.report.result.warnings };
          const findings = findVulnerabilities(db, inv);
          const result = { ...kept.report.result, findings, db: dbStamp(status) };
          await this.keep(d, 'done', status.generation, countFindings(findings), { kind: 'image', result });
          done++;
        }
        after = digests[digests.length - 1];
      }
      if (done > 0) this.opts.log.info({ reports: done, generation: status.generation }, 'scan reports matched against the updated advisory database');
      return done;
    } finally {
      db.close();
    }
  }

  private async recountIndex(digest: string, report: IndexReport, generation: number): Promise<void> {
    const platforms: IndexReport['platforms'] = [];
    for (const p of report.platforms) {
      const rec = await this.opts.store.getScan(p.digest);
      platforms.push(rec ? { ...p, status: rec.status, counts: rec.counts } : p);
    }
    await this.keep(digest, 'done', generation, platforms.reduce((s, p) => addCounts(s, p.counts), ZERO), { kind: 'index', platforms });
  }

  private async scanImage(
    repository: string,
    digest: string,
    platform: string | undefined,
    db: AdvisoryDb | undefined,
    status: AdvisoryDbStatus | undefined,
    signal?: AbortSignal,
  ): Promise<ScanRecord> {
    const generation = status?.generation ?? 0;
    const found = await this.opts.content.manifest(repository, digest);
    if (!found) return this.keep(digest, 'failed', generation, ZERO, { kind: 'failed', error: `${digest} is not in ${repository}` });
    const image = {
      name: `${repository}@${digest}`,
      digest,
      manifest: found.bytes,
      mediaType: found.record.mediaType,
      platform,
      openBlob: (d: Descriptor) => this.opts.content.blob(d.digest),
    };
    let inventory: Inventory;
    try {
      inventory = await takeInventory(image, { signal });
    } catch (e) {
      if (signal?.aborted) throw e;
      this.opts.log.warn({ repository, digest, err: (e as Error).message }, 'scan failed');
      return this.keep(digest, 'failed', generation, ZERO, { kind: 'failed', error: (e as Error).message });
    }
    const findings = db ? findVulnerabilities(db, inventory) : [];
    if (!db) inventory.warnings.push('no advisory database yet: the inventory is complete, vulnerabilities are not (run berth db update)');
    const result = scanResult(image, inventory, findings, status ? dbStamp(status) : undefined, new Date(this.now()));
    const record = await this.keep(digest, 'done', generation, countFindings(findings), { kind: 'image', result });
    await this.attachSbom(repository, found.record, result).catch((e: unknown) =>
      this.opts.log.warn({ repository, digest, err: (e as Error).message }, 'attaching the SBOM failed'),
    );
    return record;
  }

  /** The CycloneDX SBOM as an OCI 1.1 referrer of the image (artifactType application/vnd.cyclonedx+json). */
  private async attachSbom(repository: string, subject: ManifestRecord, result: ScanResult): Promise<void> {
    const sbom = Buffer.from(JSON.stringify(cycloneDxBom({ ...result, findings: [] }, { toolVersion: this.opts.version, now: new Date(this.now()) })));
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.OciManifest,
        artifactType: CYCLONEDX_ARTIFACT_TYPE,
        config: { mediaType: MediaType.OciEmpty, digest: EMPTY_DIGEST, size: EMPTY_CONFIG.length },
        layers: [{ mediaType: CYCLONEDX_ARTIFACT_TYPE, digest: Digest.fromBytes(sbom).toString(), size: sbom.length }],
        subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
        annotations: { 'org.opencontainers.image.created': new Date(this.now()).toISOString(), 'dev.berth.sbom.generator': `berth ${this.opts.version}` },
      }),
    );
    await this.opts.content.attach(repository, [EMPTY_CONFIG, sbom], manifest);
  }

  private async keep(digest: string, status: ScanRecord['status'], generation: number, counts: SeverityCounts, report: StoredReport): Promise<ScanRecord> {
    const record: ScanRecord = { digest, status, generation, scannedAt: this.now(), counts, report: JSON.stringify(report) };
    await this.opts.store.putScan(record);
    return record;
  }

  /** A fresh read-only handle (an update in progress elsewhere stays invisible until it commits); undefined before the first import. */
  private openDb(): AdvisoryDb | undefined {
    try {
      return AdvisoryDb.open(this.opts.dbDir, { readonly: true });
    } catch {
      return undefined;
    }
  }
}

/**
 * An image or index, not an artifact: no subject, and no artifact type other
 * than an image config's (an image manifest's effective artifact type is its
 * config media type).
 */
export function isImage(m: { artifactType: string | null; subjectDigest: string | null }): boolean {
  return m.subjectDigest === null && (m.artifactType === null || IMAGE_CONFIG_TYPES.includes(m.artifactType));
}

function dbStamp(s: AdvisoryDbStatus): ScanResult['db'] {
  return { updatedAt: s.updatedAt, records: s.records, generation: s.generation };
}

function platformOf(d: Descriptor): string | undefined {
  const p = d.platform;
  return p ? [p.os, p.architecture, p.variant].filter(Boolean).join('/') : undefined;
}

export function countFindings(findings: readonly Finding[]): SeverityCounts {
  const c = { ...ZERO };
  for (const f of findings) c[f.severity.toLowerCase() as keyof SeverityCounts]++;
  return c;
}

function addCounts(a: SeverityCounts, b: SeverityCounts): SeverityCounts {
  return { critical: a.critical + b.critical, high: a.high + b.high, medium: a.medium + b.medium, low: a.low + b.low, unknown: a.unknown + b.unknown };
}
