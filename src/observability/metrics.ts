import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ProxyMetrics } from '../proxy/proxy-metrics.js';

/**
 * Prometheus metrics of one process (prom-client), served at /metrics. Labels
 * never carry repository names or users: only route patterns, status codes
 * and configured proxy project names, so cardinality stays bounded and the
 * endpoint reveals nothing an anonymous caller should not know.
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly httpRequests: Counter<'method' | 'route' | 'status'>;
  private readonly httpSeconds: Histogram<'method' | 'route'>;
  readonly proxy: ProxyMetrics;

  constructor() {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'berth_' });
    this.httpRequests = new Counter({
      name: 'berth_http_requests_total',
      help: 'HTTP requests answered, by method, route pattern and status',
      labelNames: ['method', 'route', 'status'],
      registers,
    });
    this.httpSeconds = new Histogram({
      name: 'berth_http_request_duration_seconds',
      help: 'Time to answer HTTP requests, by method and route pattern',
      labelNames: ['method', 'route'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
      registers,
    });
    const lookups = new Counter({
      name: 'berth_proxy_lookups_total',
      help: 'Pull-through cache lookups by proxy project, kind (manifest, blob) and result (hit, revalidated, miss, stale)',
      labelNames: ['project', 'kind', 'result'],
      registers,
    });
    const upstreamBytes = new Counter({
      name: 'berth_proxy_upstream_bytes_total',
      help: 'Blob bytes received from upstream registries, by proxy project',
      labelNames: ['project'],
      registers,
    });
    const upstreamErrors = new Counter({
      name: 'berth_proxy_upstream_errors_total',
      help: 'Failed upstream requests by proxy project and kind (unavailable, refused, invalid)',
      labelNames: ['project', 'kind'],
      registers,
    });
    const rateLimit = new Gauge({
      name: 'berth_proxy_upstream_ratelimit_remaining',
      help: 'The last ratelimit-remaining value an upstream sent, by proxy project',
      labelNames: ['project'],
      registers,
    });
    const evictions = new Counter({
      name: 'berth_proxy_evicted_images_total',
      help: 'Images evicted from pull-through caches over their size limit, by proxy project',
      labelNames: ['project'],
      registers,
    });
    this.proxy = {
      lookup: (project, kind, result) => lookups.inc({ project, kind, result }),
      upstreamBytes: (project, n) => upstreamBytes.inc({ project }, n),
      upstreamError: (project, kind) => upstreamErrors.inc({ project, kind }),
      rateLimitRemaining: (project, remaining) => rateLimit.set({ project }, remaining),
      evicted: (project, images) => evictions.inc({ project }, images),
    };
  }

  /** One answered request; `route` is the route's pattern (e.g. /v2/:name*\/manifests/:reference). */
  request(method: string, route: string, status: number, seconds: number): void {
    this.httpRequests.inc({ method, route, status: String(status) });
    this.httpSeconds.observe({ method, route }, seconds);
  }
}
