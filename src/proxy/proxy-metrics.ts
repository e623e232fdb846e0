/** What the pull-through cache reports (observability/metrics.ts turns it into Prometheus metrics). */
export interface ProxyMetrics {
  /**
   * One lookup: `hit` served from the cache, `revalidated` a tag confirmed
   * with a HEAD, `miss` fetched from the upstream, `stale` a cached tag served
   * while the upstream was unavailable.
   */
  lookup(project: string, kind: 'manifest' | 'blob', result: 'hit' | 'revalidated' | 'miss' | 'stale'): void;
  upstreamBytes(project: string, bytes: number): void;
  upstreamError(project: string, kind: 'unavailable' | 'refused' | 'invalid'): void;
  /** The pulls an upstream says are left in its rate-limit window (Docker Hub's `ratelimit-remaining`). */
  rateLimitRemaining(project: string, remaining: number): void;
  evicted(project: string, images: number): void;
}

