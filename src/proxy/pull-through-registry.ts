import type { Readable } from 'node:stream';
import { LRUCache } from 'lru-cache';
import { Digest } from '../oci/digest.js';
import { nameProblem } from '../oci/reference.js';
import { effectiveArtifactType, ManifestParseError, parseManifest } from '../oci/manifest.js';
import { blobUnknown, isRegistryError, manifestUnknown, unavailable } from '../errors/registry-error.js';
import type { BlobStore } from '../storage/blob-store.js';
import type { MetadataStore } from '../metadata/metadata-store.js';
import type { BlobUploads } from '../registry/blob-uploads.js';
import type { PullRecorder } from '../registry/pull-recorder.js';
import { Registry, type BlobInfo, type ManifestContent, type ManifestReference, type RegistryOptions } from '../registry/registry.js';
import { BlobFetch } from './blob-fetch.js';
import { GuardedBlobUploads, type ProxyProjects, type ProxyRoute } from './proxy-projects.js';
import { RemoteRegistryError, type ClientLog } from '../client/registry-client.js';
import type { ProxyMetrics } from './proxy-metrics.js';

export interface PullThroughOptions {
  projects: ProxyProjects;
  log: ClientLog;
  metrics: ProxyMetrics;
  /** Registry-mirror mode: the proxy project that answers names which are not local repositories. */
  mirror?: string;
  /** Called after a manifest or blob was cached into a proxy project (the cache-size limit is checked then). */
  onCached?: (project: string) => void;
}

/**
 * The pull-through cache: the local Registry for every repository, plus, for
 * repositories of proxy projects, content fetched from the upstream on a miss
 * and kept. It presents the Registry's methods, so HTTP handlers cannot tell
 * it apart (DESIGN.md: behaviour is added by wrapping, not by branches).
 *
 * - Manifests and blobs by digest are immutable: fetched once, never again.
 * - Manifests by tag are fresh for manifestTtl; then one HEAD revalidates them
 *   and a GET follows only when the digest changed.
 * - A blob streams to the client while it is written to an upload session; the
 *   session's digest check decides whether it becomes visible (claim, commit, link).
 * - Concurrent misses of one manifest or blob share one upstream request.
 * - Upstream unreachable, 5xx or 429: cached content is served (a stale tag is
 *   marked so); uncached content is UNAVAILABLE naming the upstream.
 * - Pushes into proxy projects are DENIED.
 */
export class PullThroughRegistry extends Registry {
  private readonly projects: ProxyProjects;
  /** When each proxied tag was last confirmed with its upstream (per process). */
  private readonly validated = new LRUCache<string, number>({ max: 100_000 });
  private readonly manifestFetches = new Map<string, Promise<unknown>>();
  /** In-flight blob fetches by repository@digest, and by digest for readBlob (which gets no repository). */
  private readonly blobFetches = new Map<string, BlobFetch>();
  private readonly fetchesByDigest = new Map<string, BlobFetch>();
  private readonly maxManifest: number;
  private readonly clock: () => number;

  constructor(
    blobs: BlobStore,
    meta: MetadataStore,
    /** The unrestricted upload sessions the cache writes through; clients get a guarded copy. */
    private readonly cacheUploads: BlobUploads,
    pulls: PullRecorder,
    opts: RegistryOptions,
    private readonly proxy: PullThroughOptions,
  ) {
    super(blobs, meta, new GuardedBlobUploads(blobs, meta, opts.now ?? Date.now, opts.rules, proxy.projects), pulls, opts);
    this.projects = proxy.projects;
    this.maxManifest = opts.maxManifestBytes;
    this.clock = opts.now ?? Date.now;
  }

  // --- manifests -------------------------------------------------------------------

  override async getManifest(repository: string, reference: ManifestReference, recordPull: boolean): Promise<ManifestContent> {
    const route = await this.projects.route(repository);
    if (!route) return super.getManifest(repository, reference, recordPull);
    const project = route.config.project;
    if ('digest' in reference) {
      const digest = reference.digest.toString();
      if (await this.meta.getManifest(repository, digest)) {
        this.proxy.metrics.lookup(project, 'manifest', 'hit');
      } else {
        await this.coalesce(this.manifestFetches, `${repository}@${digest}`, () =>
          this.fetchManifest(route, repository, digest, null, reference.digest),
        ).catch((e) => this.rethrow(e, route, `${repository}@${digest}`));
        this.proxy.metrics.lookup(project, 'manifest', 'miss');
      }
      return super.getManifest(repository, reference, recordPull);
    }
    const key = `${repository}:${reference.tag}`;
    const local = await this.meta.resolveTag(repository, reference.tag);
    const checkedAt = this.validated.get(key);
    if (local && checkedAt !== undefined && this.clock() - checkedAt < route.config.manifestTtlMs) {
      this.proxy.metrics.lookup(project, 'manifest', 'hit');
      return super.getManifest(repository, reference, recordPull);
    }
    try {
      const result = await this.coalesce(this.manifestFetches, key, () => this.refreshTag(route, repository, reference.tag, local?.digest));
      this.proxy.metrics.lookup(project, 'manifest', result);
    } catch (e) {
      if (!(local && e instanceof RemoteRegistryError)) return this.rethrow(e, route, key);
      // Offline: the cached tag keeps builds working; the response says it may be stale.
      this.proxy.metrics.upstreamError(project, e.kind);
      this.proxy.metrics.lookup(project, 'manifest', 'stale');
      this.proxy.log.warn({ upstream: route.config.url, repository, tag: reference.tag, err: e.message }, 'serving a cached tag: upstream unavailable');
      return { ...(await super.getManifest(repository, reference, recordPull)), stale: true };
    }
    return super.getManifest(repository, reference, recordPull);
  }

  /** A HEAD when the tag is cached (refetch only when the digest moved), else a GET. */
  private async refreshTag(route: ProxyRoute, repository: string, tag: string, cachedDigest: string | undefined): Promise<'revalidated' | 'miss'> {
    const key = `${repository}:${tag}`;
    if (cachedDigest) {
      const head = await route.client.headManifest(route.upstreamName, tag);
      if (!head) throw manifestUnknown(tag, { reference: tag, reason: `no longer present upstream at ${route.config.url}` });
      if (head.digest === cachedDigest) {
        this.validated.set(key, this.clock());
        return 'revalidated';
      }
    }
    await this.fetchManifest(route, repository, tag, tag);
    this.validated.set(key, this.clock());
    return 'miss';
  }

  /**
   * Registry-mirror mode: the name under the mirror project that a pull of
   * `name` is served from (`library/node` -> `dockerhub/library/node`), or
   * undefined when `name` is answered as it is: a name in a proxy project
   * already, or a repository that exists locally (a local push shadows the mirror).
   */
  async mirrorName(name: string): Promise<string | undefined> {
    const mirror = this.proxy.mirror;
    if (!mirror || nameProblem(name) || (await this.projects.route(name)) || !(await this.projects.get(mirror))) return undefined;
    if (await this.meta.repositoryExists(name)) return undefined;
    return `${mirror}/${name}`;
  }

  /** GET from the upstream, verify, store the bytes and record the manifest (its references come on demand). */
  private async fetchManifest(route: ProxyRoute, repository: string, reference: string, tag: string | null, expected?: Digest): Promise<void> {
    const m = await route.client.getManifest(route.upstreamName, reference, this.maxManifest);
    if (!m) throw manifestUnknown(reference);
    const digest = Digest.fromBytes(m.bytes, expected?.algorithm ?? 'sha256');
    if (expected && !digest.equals(expected)) {
      throw new RemoteRegistryError(route.config.url, 'invalid', `upstream sent a manifest with digest ${digest} for ${expected}`);
    }
    if (!expected && m.digest && m.digest !== digest.toString() && Digest.tryParse(m.digest)?.algorithm === 'sha256') {
      throw new RemoteRegistryError(route.config.url, 'invalid', `upstream manifest bytes hash to ${digest}, not ${m.digest} as it says`);
    }
    let parsed;
    try {
      parsed = parseManifest(m.bytes, m.mediaType || undefined);
    } catch (e) {
      if (e instanceof ManifestParseError) throw new RemoteRegistryError(route.config.url, 'invalid', `upstream manifest ${reference}: ${e.message}`);
      throw e;
    }
    const now = this.clock();
    // Claimed before the bytes land, so garbage collection leaves them alone (protocol W1 in src/gc/).
    await this.meta.claimBlob(digest.toString(), m.bytes.length, now);
    await this.blobs.putVerified(digest, m.bytes);
    await this.meta.putManifest({
      repository,
      digest: digest.toString(),
      mediaType: parsed.mediaType,
      size: m.bytes.length,
      artifactType: effectiveArtifactType(parsed) ?? null,
      subjectDigest: parsed.subject?.digest ?? null,
      annotations: parsed.annotations ?? null,
      blobReferences: [...(parsed.config ? [parsed.config] : []), ...parsed.layers].map((d) => d.digest),
      manifestReferences: parsed.manifests.map((d) => d.digest),
      tag,
      now,
      referencesOnDemand: true,
    });
    this.proxy.onCached?.(route.config.project);
  }

  override async putManifest(
    repository: string,
    reference: ManifestReference,
    bytes: Buffer,
    contentType: string | undefined,
  ): Promise<{ digest: Digest; subject?: string }> {
    await this.projects.refusePush(repository);
    return super.putManifest(repository, reference, bytes, contentType);
  }

  // --- blobs -----------------------------------------------------------------------

  override async statBlob(repository: string, digest: Digest): Promise<BlobInfo> {
    const route = await this.projects.route(repository);
    if (!route) return super.statBlob(repository, digest);
    const link = await this.meta.getBlobLink(repository, digest.toString());
    if (link) {
      this.proxy.metrics.lookup(route.config.project, 'blob', 'hit');
      return { digest, size: link.size };
    }
    try {
      const size = await this.fetchBlob(route, repository, digest);
      this.proxy.metrics.lookup(route.config.project, 'blob', 'miss');
      return { digest, size };
    } catch (e) {
      return this.rethrow(e, route, `${repository}@${digest}`);
    }
  }

  /** The blob's size once its transfer has started (it goes on in the background), or once linked. */
  private async fetchBlob(route: ProxyRoute, repository: string, digest: Digest): Promise<number> {
    const d = digest.toString();
    // Bytes already here (another repository has them): the upstream only has to confirm this repository has the blob.
    const present = await this.blobs.stat(digest);
    if (present && !this.fetchesByDigest.has(d)) {
      const head = await route.client.headBlob(route.upstreamName, d);
      if (!head) throw blobUnknown(d);
      await this.meta.claimBlob(d, present.size, this.clock());
      if (await this.blobs.stat(digest)) {
        await this.meta.linkBlob(repository, d, present.size, this.clock());
        return present.size;
      }
    }
    const key = `${repository}@${d}`;
    let f = this.blobFetches.get(key);
    if (!f) {
      const project = route.config.project;
      const fetch = new BlobFetch(
        () => route.client.getBlob(route.upstreamName, d),
        (body, size) => this.cacheBlob(repository, d, body, size),
        (n) => this.proxy.metrics.upstreamBytes(project, n),
      );
      f = fetch;
      this.blobFetches.set(key, fetch);
      this.fetchesByDigest.set(d, fetch);
      void fetch.done
        .then((size) => size !== undefined && this.proxy.onCached?.(project))
        .catch((e: unknown) => {
          if (e instanceof RemoteRegistryError) this.proxy.metrics.upstreamError(project, e.kind);
          this.proxy.log.warn({ upstream: route.config.url, repository, digest: d, err: (e as Error).message }, 'caching an upstream blob failed');
        })
        .finally(() => {
          this.blobFetches.delete(key);
          if (this.fetchesByDigest.get(d) === fetch) this.fetchesByDigest.delete(d);
        });
    }
    const opened = await f.opened;
    if (!opened) throw blobUnknown(d);
    if (opened.size !== undefined) return opened.size;
    const size = await f.done;
    if (size === undefined) throw blobUnknown(d);
    return size;
  }

  /** Through an upload session: hashed while staged, verified, claimed, committed and linked, or discarded. */
  private async cacheBlob(repository: string, digest: string, body: Readable, size: number | undefined): Promise<number> {
    const session = await this.cacheUploads.start(repository);
    try {
      await this.cacheUploads.append(repository, session.id, body, { length: size });
      return (await this.cacheUploads.finish(repository, session.id, digest, undefined, {})).size;
    } catch (e) {
      await this.cacheUploads.cancel(repository, session.id).catch(() => undefined);
      throw e;
    }
  }

  override async readBlob(digest: Digest, range?: { start: number; end: number }, signal?: AbortSignal): Promise<Readable> {
    const f = this.fetchesByDigest.get(digest.toString());
    if (f) {
      const live = range ? undefined : f.subscribe(signal);
      if (live) return live;
      // Too far along to replay, or a range: served from the cache once it is there.
      const size = await f.done.catch((e: unknown) => {
        throw unavailable(`fetching ${digest} from the upstream failed (${(e as Error).message}); it is not cached`, e);
      });
      if (size === undefined) throw blobUnknown(digest.toString());
    }
    return super.readBlob(digest, range, signal);
  }

  override async blobRedirect(digest: Digest): Promise<string | undefined> {
    // While the cache is filling, the bytes come through this node.
    if (this.fetchesByDigest.has(digest.toString())) return undefined;
    return super.blobRedirect(digest);
  }

  override async mountBlob(repository: string, digest: Digest, from: string): Promise<boolean> {
    // Not mountable into a proxy project: the client falls back to an upload, which is refused.
    if (await this.projects.route(repository)) return false;
    return super.mountBlob(repository, digest, from);
  }

  // --- internals -------------------------------------------------------------------

  /** One run of `fn` per key at a time; concurrent callers share its outcome. */
  private coalesce<T>(map: Map<string, Promise<unknown>>, key: string, fn: () => Promise<T>): Promise<T> {
    let p = map.get(key) as Promise<T> | undefined;
    if (!p) {
      p = fn().finally(() => map.delete(key));
      map.set(key, p);
    }
    return p;
  }

  /** Upstream failures become UNAVAILABLE naming the upstream; registry errors pass through. */
  private rethrow(e: unknown, route: ProxyRoute, what: string): never {
    if (isRegistryError(e)) throw e;
    if (e instanceof RemoteRegistryError) {
      this.proxy.metrics.upstreamError(route.config.project, e.kind);
      const why = e.kind === 'unavailable' ? 'is unavailable' : e.kind === 'refused' ? 'refused the request' : 'answered badly';
      throw unavailable(`upstream ${route.config.url} ${why} (${e.message}) and ${what} is not cached`, e);
    }
    throw e;
  }
}
