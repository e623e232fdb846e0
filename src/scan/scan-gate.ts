import { LRUCache } from 'lru-cache';
import { denied } from '../errors/registry-error.js';
import type { ManifestRecord } from '../metadata/metadata-store.js';
import type { PullGate } from '../registry/pull-gate.js';
import { allowlisted, atLeast, type ScanPolicy } from './policy.js';
import { isImage, type ScanService, type StoredReport } from './scan-service.js';
import type { Finding } from './types.js';

/** Findings that block a pull: at or above the threshold and not allowlisted. */
export function blockingFindings(findings: readonly Finding[], policy: ScanPolicy, now: number): Finding[] {
  const threshold = policy.preventVulnerable?.severity;
  if (!threshold) return [];
  return findings.filter((f) => atLeast(f.severity, threshold) && !allowlisted(policy, [f.id, ...f.aliases], now));
}

const MAX_NAMED = 5;

/**
 * "Prevent vulnerable images from being pulled": a manifest whose findings at
 * or above the project's severity remain after the allowlist is refused with
 * DENIED naming the count and the worst IDs. An index is judged by all its
 * platforms. Images not scanned yet follow the policy's `unscanned` rule.
 * Artifacts (signatures, SBOMs: manifests with a subject or an artifactType)
 * are never blocked: verifiers must be able to fetch them.
 */
export class ScanGate implements PullGate {
  /** Blocking findings per (digest, report time, policy), so a pull does not parse a large report each time. */
  private readonly cache = new LRUCache<string, Finding[]>({ max: 2000 });

  constructor(
    private readonly scans: ScanService,
    private readonly policy: (repository: string) => Promise<{ document: ScanPolicy; updatedAt: number } | undefined>,
    private readonly now: () => number = Date.now,
  ) {}

  async checkPull(repository: string, manifest: ManifestRecord): Promise<void> {
    if (!isImage(manifest)) return;
    const setting = await this.policy(repository);
    const rule = setting?.document.preventVulnerable;
    if (!setting || !rule) return;
    const kept = await this.scans.report(manifest.digest);
    const where = `${repository}@${manifest.digest}`;
    if (!kept || kept.report.kind === 'failed') {
      if (rule.unscanned === 'deny') {
        throw denied(`${where} has not been scanned${kept ? ' successfully' : ' yet'}; this project only serves scanned images`, { digest: manifest.digest });
      }
      return;
    }
    const key = `${manifest.digest} ${kept.record.scannedAt} ${setting.updatedAt}`;
    let blocking = this.cache.get(key);
    if (!blocking) {
      blocking = blockingFindings(await this.findingsOf(kept.report), setting.document, this.now());
      this.cache.set(key, blocking);
    }
    if (blocking.length === 0) return;
    const ids = [...new Set(blocking.map((f) => f.id))];
    const shown = ids.slice(0, MAX_NAMED).join(', ') + (ids.length > MAX_NAMED ? `, and ${ids.length - MAX_NAMED} more` : '');
    throw denied(
      `${where} has ${ids.length} ${ids.length === 1 ? 'vulnerability' : 'vulnerabilities'} at ${rule.severity} or above (${shown}); ` +
        'this project prevents pulling vulnerable images (fix them, or allowlist with a reason)',
      { digest: manifest.digest, count: ids.length, ids: ids.slice(0, 50) },
    );
  }

  /** An image's findings, or every platform's for an index. */
  private async findingsOf(report: StoredReport): Promise<Finding[]> {
    if (report.kind === 'image') return report.result.findings;
    if (report.kind === 'failed') return [];
    const all: Finding[] = [];
    for (const p of report.platforms) {
      const child = await this.scans.report(p.digest);
      if (child?.report.kind === 'image') all.push(...child.report.result.findings);
    }
    return all;
  }
}
