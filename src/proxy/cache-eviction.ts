import type { ImageRecord, MetadataStore } from '../metadata/metadata-store.js';
import { taggedSubject } from '../oci/cosign-tags.js';
import type { AuditStore } from '../metadata/settings-store.js';
import type { ClientLog } from '../client/registry-client.js';
import type { ProxyProjects } from './proxy-projects.js';
import type { ProxyMetrics } from './proxy-metrics.js';

export interface EvictionReport {
  project: string;
  maxBytes: number;
  bytesBefore: number;
  bytesAfter: number;
  /** Images removed, least recently pulled first. */
  evicted: { repository: string; digest: string; tags: string[] }[];
}

/** A referrer's subject, or for cosign's tag-scheme artifacts the image their tag names. */
const subjectOf = (i: ImageRecord): string | undefined => i.subject ?? taggedSubject(i.tags);

/** Bytes of blobs that images of the project hold (blobs fetched but no longer referenced do not count). */
const REFERENCED_ONLY = Number.MAX_SAFE_INTEGER;
/** Bounds one run: repositories listed, and images removed. */
const MAX_REPOSITORY_PAGES = 1000;
const MAX_EVICTIONS_PER_RUN = 10_000;

/**
 * The size limit of pull-through cache projects (`maxBytes`). Over the limit,
 * whole images are removed, least recently pulled first (never pulled: by when
 * they were cached), across the project's repositories, until the bytes its
 * images reference fit. An image goes with the manifests of its index and its
 * referrers (cosign's tag-scheme signatures count as referrers); a manifest
 * another index still lists stays (the metadata store refuses it). Removed
 * content is fetched again on the next pull; the bytes themselves are
 * reclaimed by garbage collection. Each removal is audited.
 */
export class CacheEviction {
  private readonly running = new Map<string, Promise<EvictionReport | undefined>>();
  private readonly rerun = new Set<string>();

  constructor(
    private readonly meta: MetadataStore,
    private readonly projects: ProxyProjects,
    private readonly audit: AuditStore,
    private readonly metrics: ProxyMetrics,
    private readonly log: ClientLog,
    private readonly now: () => number = Date.now,
  ) {}

  /** Checks the project soon, in the background; requests during a run cause one more run after it. */
  request(project: string): void {
    if (this.running.has(project)) {
      this.rerun.add(project);
      return;
    }
    const run = this.evict(project)
      .catch((e: unknown) => {
        this.log.warn({ project, err: (e as Error).message }, 'cache eviction failed');
        return undefined;
      })
      .finally(() => {
        this.running.delete(project);
        if (this.rerun.delete(project)) this.request(project);
      });
    this.running.set(project, run);
  }

  /** Every proxy project with a limit (the periodic run). */
  async evictAll(signal?: AbortSignal): Promise<EvictionReport[]> {
    const reports: EvictionReport[] = [];
    for (const p of await this.projects.list()) {
      signal?.throwIfAborted();
      const r = await this.evict(p.project);
      if (r) reports.push(r);
    }
    return reports;
  }

  /** Brings one project under its limit; undefined when it has none. */
  async evict(project: string): Promise<EvictionReport | undefined> {
    const maxBytes = (await this.projects.get(project))?.maxBytes;
    if (maxBytes === undefined) return undefined;
    const bytesBefore = await this.meta.projectBytes(project, REFERENCED_ONLY);
    const report: EvictionReport = { project, maxBytes, bytesBefore, bytesAfter: bytesBefore, evicted: [] };
    if (bytesBefore <= maxBytes) return report;
    for (const c of await this.candidates(project)) {
      if (report.bytesAfter <= maxBytes || report.evicted.length >= MAX_EVICTIONS_PER_RUN) break;
      const removed = await this.removeImage(c.repository, c.root, c.images);
      if (removed.length === 0) continue;
      report.evicted.push(...removed.map((i) => ({ repository: c.repository, digest: i.digest, tags: i.tags })));
      report.bytesAfter = await this.meta.projectBytes(project, REFERENCED_ONLY);
    }
    if (report.evicted.length > 0) {
      const at = this.now();
      await this.audit.appendAudit(
        report.evicted.map((e) => ({
          at,
          actor: 'proxy',
          action: 'proxy.evict',
          target: `${e.repository}@${e.digest}`,
          detail: { tags: e.tags, maxBytes },
        })),
      );
      this.metrics.evicted(project, report.evicted.length);
      this.log.info({ project, maxBytes, bytesBefore, bytesAfter: report.bytesAfter, images: report.evicted.length }, 'evicted images over the cache size limit');
    }
    return report;
  }

  /** The project's images that stand alone (not a referrer, not listed by an index), least recently used first. */
  private async candidates(project: string): Promise<{ repository: string; root: ImageRecord; images: ImageRecord[]; usedAt: number }[]> {
    const out: { repository: string; root: ImageRecord; images: ImageRecord[]; usedAt: number }[] = [];
    const prefix = `${project}/`;
    let last = prefix;
    for (let page = 0; page < MAX_REPOSITORY_PAGES; page++) {
      const names = await this.meta.listRepositories({ n: 500, last });
      const mine = names.filter((n) => n.startsWith(prefix));
      for (const repository of mine) {
        const images = await this.meta.listImages(repository);
        const listed = new Set(images.flatMap((i) => i.children));
        for (const root of images) {
          if (subjectOf(root) !== undefined || listed.has(root.digest)) continue;
          out.push({ repository, root, images, usedAt: root.lastPulledAt ?? root.pushedAt });
        }
      }
      if (mine.length < names.length || names.length === 0) break;
      last = names[names.length - 1]!;
    }
    return out.sort((a, b) => a.usedAt - b.usedAt || (a.repository < b.repository ? -1 : a.repository > b.repository ? 1 : 0));
  }

  /** The image, the manifests it lists and every referrer of them (transitively); what was removed. */
  private async removeImage(repository: string, root: ImageRecord, images: ImageRecord[]): Promise<ImageRecord[]> {
    const byDigest = new Map(images.map((i) => [i.digest, i]));
    const group = new Map<string, ImageRecord>([[root.digest, root]]);
    // Bounded by the repository's image count: each pass adds at least one or stops.
    for (let grew = true, pass = 0; grew && pass <= images.length; pass++) {
      grew = false;
      for (const i of images) {
        if (group.has(i.digest)) continue;
        const listedByGroup = [...group.values()].some((g) => g.children.includes(i.digest));
        const subject = subjectOf(i);
        if (listedByGroup || (subject !== undefined && group.has(subject))) {
          group.set(i.digest, i);
          grew = true;
        }
      }
    }
    const removed: ImageRecord[] = [];
    // The root first: children listed only by it become removable once it is gone.
    for (const i of group.values()) {
      const outcome = await this.meta.expireManifest(repository, i.digest, byDigest.get(i.digest)!.tags);
      if (outcome === 'deleted') removed.push(i);
      else if (i === root) return [];
    }
    return removed;
  }
}
