import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { SecureVersion } from 'node:tls';
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
import type { HttpAuth, RequiredAccess } from './auth/http-auth.js';
import { tokenRoutes } from './auth/token-routes.js';
import type { AuditRecorder } from '../auth/audit-recorder.js';
import type { Action } from '../auth/scope.js';
import type { Metrics } from '../observability/metrics.js';
import type { ScanService } from '../scan/scan-service.js';
import { scanRoutes } from './api/scan-api.js';
import type { SignatureService } from '../sign/signature-service.js';
import { signatureRoutes } from './api/signature-api.js';

export interface HttpOptions {
  registry: Registry;
  log: Logger;
  maxManifestBytes: number;
  /** Readiness probe: resolves when storage and database answer. */
  ready: () => Promise<void>;
  /** The management API under /api/v1 (docs/management-api.md), when registered. */
  management?: ManagementServices;
  /** Access control (token and basic auth); an open registry without it. */
  auth?: { http: HttpAuth; service: string };
  /** Records pushes, pulls (manifests) and deletes. */
  audit?: AuditRecorder;
  /** Scanning in the registry: /api/v1/scan/<name>/<digest>. */
  scans?: ScanService;
  /** Signature status: /api/v1/signatures/<name>/<digest>. */
  signatures?: SignatureService;
  /** Prometheus metrics: every request is counted, and /metrics serves them. */
  metrics: Metrics;
  /**
   * Registry-mirror mode: the repository a pull of `name` is really served
   * from (e.g. dockerhub/library/node for library/node), or undefined for `name` itself.
   */
  mirror?: (name: string) => Promise<string | undefined>;
}

interface Route {
  /** The pattern as written, e.g. /v2/:name*\/manifests/:reference (a metrics label). */
  name: string;
  pattern: RegExp;
  keys: string[];
  methods: Partial<Record<string, Handler>>;
  /** What the caller needs, by method and route parameters (checked only when access control is on). */
  guard: (method: string, params: Record<string, string>) => RequiredAccess;
}

const OPEN = (): RequiredAccess => ({ kind: 'open' });
const ADMIN = (): RequiredAccess => ({ kind: 'admin' });
/** The repository access a /v2/ route needs: reading is pull, writing push, DELETE delete. */
const repo =
  (byMethod: Partial<Record<string, Action>>) =>
  (method: string, params: Record<string, string>): RequiredAccess => ({
    kind: 'repository',
    name: params.name!,
    actions: [byMethod[method] ?? 'push'],
  });
const READ = { GET: 'pull', HEAD: 'pull' } as const;
/** Routes whose GET/HEAD a registry mirror answers (not upload sessions). */
const MIRRORED = new Set(['/v2/:name*/tags/list', '/v2/:name*/manifests/:reference', '/v2/:name*/blobs/:digest', '/v2/:name*/referrers/:digest']);

/**
 * Routes match the raw (undecoded) path, so `%2e%2e` or `%2F` can never turn
 * into path segments: a name with such characters fails the name grammar.
 * `(.+)` is greedy, so the last `/manifests/` etc. splits name from reference.
 */
function route(pattern: string, methods: Partial<Record<string, Handler>>, guard: Route['guard'] = OPEN): Route {
  const keys: string[] = [];
  const re = pattern.replace(/:(\w+)(\*?)/g, (_m, key: string, star: string) => {
    keys.push(key);
    return star ? '(.+)' : '([^/]+)';
  });
  return { name: pattern, pattern: new RegExp(`^${re}$`), keys, methods, guard };
}

export function buildRoutes(opts: HttpOptions): Route[] {
  const { registry } = opts;
  const blobs = blobRoutes(registry);
  const uploads = uploadRoutes(registry);
  const manifests = manifestRoutes(registry, opts.maxManifestBytes);
  const discovery = discoveryRoutes(registry);
  const base: Handler = async (ctx) => sendJson(ctx, 200, {});
  return [
    route('/v2/', { GET: base, HEAD: base }, () => ({ kind: 'login' })),
    route('/v2', { GET: base, HEAD: base }, () => ({ kind: 'login' })),
    route('/v2/_catalog', { GET: discovery.catalog }, () => ({ kind: 'catalog' })),
    route('/v2/:name*/tags/list', { GET: discovery.tags }, repo(READ)),
    route(
      '/v2/:name*/manifests/:reference',
      { GET: manifests.get, HEAD: manifests.get, PUT: manifests.put, DELETE: manifests.delete },
      repo({ ...READ, PUT: 'push', DELETE: 'delete' }),
    ),
    route('/v2/:name*/blobs/uploads/', { POST: uploads.start }, repo({})),
    route('/v2/:name*/blobs/uploads', { POST: uploads.start }, repo({})),
    route(
      '/v2/:name*/blobs/uploads/:id',
      { PATCH: uploads.patch, PUT: uploads.finish, GET: uploads.status, DELETE: uploads.cancel },
      repo({}),
    ),
    route('/v2/:name*/blobs/:digest', { GET: blobs.get, HEAD: blobs.get, DELETE: blobs.delete }, repo({ ...READ, DELETE: 'delete' })),
    route('/v2/:name*/referrers/:digest', { GET: discovery.referrers }, repo(READ)),
    ...(opts.auth ? [route('/token', tokenRoutes(opts.auth.http, opts.auth.service))] : []),
    ...(opts.scans ? [route('/api/v1/scan/:name*/:digest', scanRoutes(registry, opts.scans), repo({ GET: 'pull', POST: 'push' }))] : []),
    ...(opts.signatures ? [route('/api/v1/signatures/:name*/:digest', signatureRoutes(registry, opts.signatures), repo(READ))] : []),
    ...Object.entries(opts.management ? managementRoutes(opts.management) : {}).map(([path, methods]) => route(path, methods, ADMIN)),
    route('/metrics', {
      GET: async (ctx) => {
        const text = await opts.metrics.registry.metrics();
        ctx.res.writeHead(200, { 'Content-Type': opts.metrics.registry.contentType, 'Content-Length': Buffer.byteLength(text) });
        ctx.res.end(text);
      },
    }),
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

/** Pushes, pulls and deletes of manifests go to the audit log: who, what, when, from where. */
function auditManifest(audit: AuditRecorder, ctx: Ctx): void {
  const action = { GET: 'pull', PUT: 'push', DELETE: 'delete' }[ctx.req.method ?? ''];
  if (!action || ctx.res.statusCode >= 400) return;
  const name = ctx.params.name!;
  const ref = ctx.params.reference!;
  audit.record({
    at: Date.now(),
    actor: ctx.auth?.actor ?? 'anonymous',
    action: `manifest.${action}`,
    target: ref.includes(':') ? `${name}@${ref}` : `${name}:${ref}`,
    detail: null,
    address: ctx.req.socket.remoteAddress ?? null,
    outcome: 'ok',
    project: name.split('/')[0]!,
  });
}

export interface HttpServer {
  server: Server;
  /** Stops accepting, waits (bounded) for in-flight requests, then closes every connection. */
  shutdown(timeoutMs: number): Promise<void>;
}

/** PEM certificate chain and key: the server speaks HTTPS. */
export interface TlsOptions {
  cert: Buffer;
  key: Buffer;
  minVersion: SecureVersion;
}

export function createHttpServer(opts: HttpOptions, tls?: TlsOptions): HttpServer {
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
    let routeName = 'unmatched';
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
      routeName = r.name;
      if (opts.mirror && MIRRORED.has(r.name) && (req.method === 'GET' || req.method === 'HEAD')) {
        const mirrored = await opts.mirror(ctx.params.name!);
        if (mirrored) ctx.params.name = mirrored;
      }
      if (opts.auth) await opts.auth.http.check(ctx, r.guard(req.method ?? 'GET', ctx.params));
      await h(ctx);
      if (opts.audit && ctx.params.reference !== undefined) auditManifest(opts.audit, ctx);
    } catch (e) {
      if (abort.signal.aborted) {
        logFor().info({ err: (e as Error).message }, 'client went away');
        if (!res.headersSent && !res.destroyed) sendError(ctx, e);
      } else sendError(ctx, e);
    } finally {
      inFlight--;
      if (inFlight === 0 && drained) drained();
      opts.metrics.request(req.method ?? 'GET', routeName, res.statusCode, Number(process.hrtime.bigint() - started) / 1e9);
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

  const serverOptions = { keepAliveTimeout: 65_000, requestTimeout: 0, headersTimeout: 60_000 };
  const onRequest = (req: IncomingMessage, res: ServerResponse) => void handle(req, res);
  const server: Server = tls
    ? createHttpsServer({ ...serverOptions, cert: tls.cert, key: tls.key, minVersion: tls.minVersion }, onRequest)
    : createServer(serverOptions, onRequest);

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
