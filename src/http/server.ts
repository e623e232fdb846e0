import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Registry } from '../registry/registry.js';
import { sendJson, type Ctx, type Handler } from './context.js';
import { methodNotAllowed, routeNotFound, sendError } from './error-handler.js';
import { blobRoutes } from './v2/blobs.js';
import { uploadRoutes } from './v2/uploads.js';
import { manifestRoutes } from './v2/manifests.js';
import { discoveryRoutes } from './v2/discovery.js';
import { managementRoutes, type ManagementServices } from './api/management.js';

export interface HttpOptions {
  registry: Registry;
  log: Logger;
  maxManifestBytes: number;
  /** Readiness probe: resolves when storage and database answer. */
  ready: () => Promise<void>;
  /** The management API under /api/v1 (docs/management-api.md), when registered. */
  management?: ManagementServices;
}

interface Route {
  pattern: RegExp;
  keys: string[];
  methods: Partial<Record<string, Handler>>;
}

/**
 * Routes match the raw (undecoded) path, so `%2e%2e` or `%2F` can never turn
 * into path segments: a name with such characters fails the name grammar.
 * `(.+)` is greedy, so the last `/manifests/` etc. splits name from reference.
 */
function route(pattern: string, methods: Partial<Record<string, Handler>>): Route {
  const keys: string[] = [];
  const re = pattern.replace(/:(\w+)(\*?)/g, (_m, key: string, star: string) => {
    keys.push(key);
    return star ? '(.+)' : '([^/]+)';
  });
  return { pattern: new RegExp(`^${re}$`), keys, methods };
}

export function buildRoutes(opts: HttpOptions): Route[] {
  const { registry } = opts;
  const blobs = blobRoutes(registry);
  const uploads = uploadRoutes(registry);
  const manifests = manifestRoutes(registry, opts.maxManifestBytes);
  const discovery = discoveryRoutes(registry);
  const base: Handler = async (ctx) => sendJson(ctx, 200, {});
  return [
    route('/v2/', { GET: base, HEAD: base }),
    route('/v2', { GET: base, HEAD: base }),
    route('/v2/_catalog', { GET: discovery.catalog }),
    route('/v2/:name*/tags/list', { GET: discovery.tags }),
    route('/v2/:name*/manifests/:reference', {
      GET: manifests.get,
      HEAD: manifests.get,
      PUT: manifests.put,
      DELETE: manifests.delete,
    }),
    route('/v2/:name*/blobs/uploads/', { POST: uploads.start }),
    route('/v2/:name*/blobs/uploads', { POST: uploads.start }),
    route('/v2/:name*/blobs/uploads/:id', {
      PATCH: uploads.patch,
      PUT: uploads.finish,
      GET: uploads.status,
      DELETE: uploads.cancel,
    }),
    route('/v2/:name*/blobs/:digest', { GET: blobs.get, HEAD: blobs.get, DELETE: blobs.delete }),
    route('/v2/:name*/referrers/:digest', { GET: discovery.referrers }),
    ...Object.entries(opts.management ? managementRoutes(opts.management) : {}).map(([path, methods]) => route(path, methods)),
    route('/healthz', { GET: async (ctx) => sendJson(ctx, 200, { status: 'ok' }) }),
    route('/readyz', {
      GET: async (ctx) => {
        try {
          await opts.ready();
          sendJson(ctx, 200, { status: 'ready' });
        } catch (e) {
          ctx.log.warn({ err: e }, 'not ready');
          sendJson(ctx, 503, { status: 'unavailable', reason: (e as Error).message });
        }
      },
    }),
  ];
}

export interface HttpServer {
  server: Server;
  /** Stops accepting, waits (bounded) for in-flight requests, then closes every connection. */
  shutdown(timeoutMs: number): Promise<void>;
}

export function createHttpServer(opts: HttpOptions): HttpServer {
  const routes = buildRoutes(opts);
  let inFlight = 0;
  let drained: (() => void) | undefined;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const started = process.hrtime.bigint();
    const id = (req.headers['x-request-id'] as string | undefined)?.slice(0, 64) ?? randomUUID();
    // The child logger is made only when something logs (most requests log one line at most).
    let child: Logger | undefined;
    const logFor = () => (child ??= opts.log.child({ reqId: id }));
    const abort = new AbortController();
    res.once('close', () => {
      if (!res.writableFinished) abort.abort();
    });
    const rawUrl = req.url ?? '/';
    const q = rawUrl.indexOf('?');
    const path = q >= 0 ? rawUrl.slice(0, q) : rawUrl;
    const ctx: Ctx = {
      req,
      res,
      query: new URLSearchParams(q >= 0 ? rawUrl.slice(q + 1) : ''),
      params: {},
      get log() {
        return logFor();
      },
      signal: abort.signal,
      id,
    };
    res.setHeader('Docker-Distribution-API-Version', 'registry/2.0');
    res.setHeader('X-Request-Id', id);
    inFlight++;
    try {
      let r: Route | undefined;
      let m: RegExpExecArray | null = null;
      for (const rt of routes) {
        m = rt.pattern.exec(path);
        if (m) {
          r = rt;
          break;
        }
      }
      if (!r || !m) throw routeNotFound();
      for (let i = 0; i < r.keys.length; i++) ctx.params[r.keys[i]!] = m[i + 1]!;
      const h = r.methods[req.method ?? 'GET'];
      if (!h) throw methodNotAllowed(Object.keys(r.methods));
      await h(ctx);
    } catch (e) {
      if (abort.signal.aborted) {
        logFor().info({ err: (e as Error).message }, 'client went away');
        if (!res.headersSent && !res.destroyed) sendError(ctx, e);
      } else sendError(ctx, e);
    } finally {
      inFlight--;
      if (inFlight === 0 && drained) drained();
      if (opts.log.isLevelEnabled('info')) {
        logFor().info(
          {
            method: req.method,
            url: rawUrl.slice(0, 512),
            status: res.statusCode,
            ms: Number(process.hrtime.bigint() - started) / 1e6,
            remote: req.socket.remoteAddress,
          },
          'request',
        );
      }
    }
  };

  const server = createServer({ keepAliveTimeout: 65_000, requestTimeout: 0, headersTimeout: 60_000 }, (req, res) => {
    void handle(req, res);
  });

  // A connection silent for 5 minutes (a stalled upload body, say) is closed, freeing what it held.
  server.setTimeout(300_000);

  return {
    server,
    async shutdown(timeoutMs: number) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      if (inFlight > 0) {
        await Promise.race([
          new Promise<void>((resolve) => (drained = resolve)),
          new Promise<void>((resolve) => setTimeout(resolve, timeoutMs).unref()),
        ]);
      }
      server.closeAllConnections();
      await closed;
    },
  };
}
