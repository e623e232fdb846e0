import { Readable } from 'node:stream';
import { MediaType } from '../oci/media-type.js';
import { parseChallenges, type Challenge } from './www-authenticate.js';

/** What the client logs: the upstream's rate-limit headers and auth trouble. */
export interface ClientLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface RegistryClientOptions {
  /** Base URL of the upstream registry, e.g. https://registry-1.docker.io. */
  url: string;
  username?: string;
  password?: string;
  /** Limit for connecting and receiving response headers (not for streaming a body). */
  timeoutMs?: number;
  log?: ClientLog;
  /** Called with the pulls left whenever the registry sends `ratelimit-remaining` (Docker Hub does). */
  onRateLimit?: (remaining: number) => void;
  now?: () => number;
}

/**
 * The upstream cannot answer now (network error, timeout, 5xx, 429) or refuses
 * us (401/403 after authenticating): the cache may serve what it has.
 */
export class RemoteRegistryError extends Error {
  constructor(
    readonly upstream: string,
    readonly kind: 'unavailable' | 'refused' | 'invalid',
    message: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'RemoteRegistryError';
  }
}

export interface UpstreamManifestHead {
  /** Docker-Content-Digest, when the upstream sends it. */
  digest?: string;
  mediaType?: string;
  size?: number;
}

export interface UpstreamManifest {
  bytes: Buffer;
  mediaType: string;
  digest?: string;
}

export interface UpstreamBlob {
  body: Readable;
  /** Content-Length, when sent. */
  size?: number;
}

/**
 * Manifest types the cache asks for: OCI and Docker schema 2 manifests and
 * indexes (distribution-spec "Pulling manifests": the client lists what it accepts).
 */
export const MANIFEST_ACCEPT = [MediaType.OciIndex, MediaType.OciManifest, MediaType.DockerManifestList, MediaType.DockerManifest].join(', ');

interface CachedToken {
  token: string;
  expiresAt: number;
}

/** Docker token spec: a token without expires_in lives 60 seconds. */
const DEFAULT_TOKEN_SECONDS = 60;
/** Renew a little before expiry so a token never expires in flight. */
const TOKEN_SKEW_MS = 10_000;

/**
 * A small OCI distribution client for one remote registry (the proxy's upstream, the CLI's target): the auth flow
 * real clients use (challenge, token from the realm, anonymous or with basic
 * credentials; Basic where asked), tokens cached per scope until they expire.
 */
export class RegistryClient {
  readonly base: string;
  private readonly timeoutMs: number;
  private readonly now: () => number;
  private readonly tokens = new Map<string, CachedToken>();
  private readonly pendingTokens = new Map<string, Promise<string>>();
  /** The last challenge seen: later requests authenticate up front instead of collecting a 401 first. */
  private challenge: Challenge | undefined;

  constructor(private readonly opts: RegistryClientOptions) {
    this.base = opts.url.replace(/\/+$/, '');
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.now = opts.now ?? Date.now;
  }

  /** HEAD of a manifest (Docker Hub does not count HEADs against pull limits); undefined on 404. */
  async headManifest(repository: string, reference: string, signal?: AbortSignal): Promise<UpstreamManifestHead | undefined> {
    const res = await this.request('HEAD', repository, `manifests/${reference}`, { Accept: MANIFEST_ACCEPT }, signal);
    if (!res) return undefined;
    const size = Number(res.headers.get('content-length'));
    return {
      digest: res.headers.get('docker-content-digest') ?? undefined,
      mediaType: res.headers.get('content-type') ?? undefined,
      size: Number.isSafeInteger(size) ? size : undefined,
    };
  }

  /** The manifest's exact bytes, at most `maxBytes`; undefined on 404. */
  async getManifest(repository: string, reference: string, maxBytes: number, signal?: AbortSignal): Promise<UpstreamManifest | undefined> {
    const res = await this.request('GET', repository, `manifests/${reference}`, { Accept: MANIFEST_ACCEPT }, signal);
    if (!res) return undefined;
    const declared = Number(res.headers.get('content-length'));
    if (Number.isSafeInteger(declared) && declared > maxBytes) {
      await res.body?.cancel().catch(() => undefined);
      throw new RemoteRegistryError(this.base, 'invalid', `manifest ${repository}:${reference} is ${declared} bytes; the limit is ${maxBytes}`);
    }
    const parts: Buffer[] = [];
    let total = 0;
    try {
      for await (const chunk of Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>)) {
        total += (chunk as Buffer).length;
        if (total > maxBytes) throw new RemoteRegistryError(this.base, 'invalid', `manifest ${repository}:${reference} exceeds ${maxBytes} bytes`);
        parts.push(chunk as Buffer);
      }
    } catch (e) {
      if (e instanceof RemoteRegistryError) throw e;
      throw new RemoteRegistryError(this.base, 'unavailable', `reading manifest ${repository}:${reference} failed: ${(e as Error).message}`, undefined, { cause: e });
    }
    return {
      bytes: Buffer.concat(parts),
      mediaType: res.headers.get('content-type') ?? '',
      digest: res.headers.get('docker-content-digest') ?? undefined,
    };
  }

  /** Streams a blob; undefined on 404. The stream errors when the transfer breaks. */
  async getBlob(repository: string, digest: string, signal?: AbortSignal): Promise<UpstreamBlob | undefined> {
    const res = await this.request('GET', repository, `blobs/${digest}`, {}, signal);
    if (!res || !res.body) return undefined;
    const size = Number(res.headers.get('content-length'));
    return {
      body: Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>),
      size: res.headers.has('content-length') && Number.isSafeInteger(size) ? size : undefined,
    };
  }

  /** Size of a blob upstream; undefined on 404. */
  async headBlob(repository: string, digest: string, signal?: AbortSignal): Promise<{ size?: number } | undefined> {
    const res = await this.request('HEAD', repository, `blobs/${digest}`, {}, signal);
    if (!res) return undefined;
    const size = Number(res.headers.get('content-length'));
    return { size: res.headers.has('content-length') && Number.isSafeInteger(size) ? size : undefined };
  }

  // --- internals -----------------------------------------------------------------

  /**
   * One request with authentication: up front when a challenge is known, else
   * after the first 401 (then retried once). 404 resolves undefined; every
   * other failure throws RemoteRegistryError.
   */
  private async request(
    method: 'GET' | 'HEAD',
    repository: string,
    path: string,
    headers: Record<string, string>,
    signal?: AbortSignal,
  ): Promise<Response | undefined> {
    const url = `${this.base}/v2/${repository}/${path}`;
    let auth = this.challenge ? await this.authorization(this.challenge, repository, signal) : undefined;
    let res = await this.fetchWithTimeout(url, method, { ...headers, ...(auth ? { Authorization: auth } : {}) }, signal);
    if (res.status === 401) {
      const challenge = pickChallenge(res.headers.get('www-authenticate'));
      await res.body?.cancel().catch(() => undefined);
      if (!challenge) throw new RemoteRegistryError(this.base, 'refused', `${method} ${url}: 401 without a usable challenge`, 401);
      this.challenge = challenge;
      auth = await this.authorization(challenge, repository, signal, true);
      res = await this.fetchWithTimeout(url, method, { ...headers, Authorization: auth }, signal);
    }
    this.logRateLimit(res, repository);
    if (res.ok) return res;
    await res.body?.cancel().catch(() => undefined);
    if (res.status === 404) return undefined;
    const what = `${method} ${url}: ${res.status}`;
    if (res.status === 429 || res.status >= 500) throw new RemoteRegistryError(this.base, 'unavailable', what, res.status);
    if (res.status === 401 || res.status === 403) {
      throw new RemoteRegistryError(this.base, 'refused', `${what} (check the proxy's upstream credentials)`, res.status);
    }
    throw new RemoteRegistryError(this.base, 'invalid', what, res.status);
  }

  private async fetchWithTimeout(url: string, method: string, headers: Record<string, string>, signal?: AbortSignal): Promise<Response> {
    // The timeout covers connecting and the response headers; a long blob body may take longer.
    const timer = new AbortController();
    const t = setTimeout(() => timer.abort(new Error(`no response within ${this.timeoutMs} ms`)), this.timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timer.signal]) : timer.signal;
    try {
      return await fetch(url, { method, headers, signal: combined, redirect: 'follow' });
    } catch (e) {
      if (signal?.aborted) throw e;
      const reason = timer.signal.aborted ? (timer.signal.reason as Error).message : describeFetchError(e);
      throw new RemoteRegistryError(this.base, 'unavailable', `${method} ${url}: ${reason}`, undefined, { cause: e });
    } finally {
      clearTimeout(t);
    }
  }

  /** The Authorization header value for a challenge: Basic credentials, or a (cached) bearer token for the scope. */
  private async authorization(challenge: Challenge, repository: string, signal?: AbortSignal, fresh = false): Promise<string> {
    if (challenge.scheme === 'basic') {
      if (this.opts.username === undefined) throw new RemoteRegistryError(this.base, 'refused', 'the upstream asks for Basic credentials and none are configured', 401);
      return basicAuth(this.opts.username, this.opts.password ?? '');
    }
    const realm = challenge.params.realm;
    if (!realm) throw new RemoteRegistryError(this.base, 'refused', 'bearer challenge without a realm', 401);
    // The scope of the challenge names the repository it was sent for; ours is always pull on `repository`.
    const scope = `repository:${repository}:pull`;
    const key = `${realm} ${challenge.params.service ?? ''} ${scope}`;
    const cached = this.tokens.get(key);
    if (!fresh && cached && cached.expiresAt > this.now()) return `Bearer ${cached.token}`;
    let pending = this.pendingTokens.get(key);
    if (!pending) {
      pending = this.fetchToken(realm, challenge.params.service, scope, key, signal).finally(() => this.pendingTokens.delete(key));
      this.pendingTokens.set(key, pending);
    }
    return `Bearer ${await pending}`;
  }

  /** Docker token spec "Requesting a Token": GET realm?service=&scope=, with Basic credentials when configured. */
  private async fetchToken(realm: string, service: string | undefined, scope: string, key: string, signal?: AbortSignal): Promise<string> {
    const u = new URL(realm);
    if (service) u.searchParams.set('service', service);
    u.searchParams.set('scope', scope);
    const headers: Record<string, string> = {};
    if (this.opts.username !== undefined) headers.Authorization = basicAuth(this.opts.username, this.opts.password ?? '');
    const res = await this.fetchWithTimeout(u.toString(), 'GET', headers, signal);
    if (!res.ok) {
      await res.body?.cancel().catch(() => undefined);
      const kind = res.status === 429 || res.status >= 500 ? 'unavailable' : 'refused';
      this.opts.log?.warn({ upstream: this.base, status: res.status, realm }, 'upstream token request failed');
      throw new RemoteRegistryError(this.base, kind, `token request to ${u.origin}${u.pathname} failed: ${res.status}`, res.status);
    }
    const body = (await res.json().catch(() => ({}))) as { token?: unknown; access_token?: unknown; expires_in?: unknown };
    const token = typeof body.token === 'string' ? body.token : typeof body.access_token === 'string' ? body.access_token : undefined;
    if (!token) throw new RemoteRegistryError(this.base, 'refused', `token response from ${u.origin} has no token`);
    const seconds = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : DEFAULT_TOKEN_SECONDS;
    this.tokens.set(key, { token, expiresAt: this.now() + Math.max(0, seconds * 1000 - TOKEN_SKEW_MS) });
    return token;
  }

  /** Docker Hub's `ratelimit-remaining: 76;w=21600` tells how many pulls are left in the window. */
  private logRateLimit(res: Response, repository: string): void {
    const remaining = res.headers.get('ratelimit-remaining');
    if (remaining === null) return;
    const left = Number.parseInt(remaining, 10);
    if (Number.isSafeInteger(left)) this.opts.onRateLimit?.(left);
    this.opts.log?.info(
      { upstream: this.base, repository, ratelimitRemaining: remaining, ratelimitLimit: res.headers.get('ratelimit-limit') ?? undefined },
      'upstream rate limit',
    );
  }
}

/** The challenge to answer: Bearer when offered (it carries the scope), else Basic. */
function pickChallenge(header: string | null): Challenge | undefined {
  if (!header) return undefined;
  const all = parseChallenges(header);
  return all.find((c) => c.scheme === 'bearer') ?? all.find((c) => c.scheme === 'basic');
}

function basicAuth(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`;
}

/** undici wraps the interesting error (ECONNREFUSED, ...) in `cause`. */
function describeFetchError(e: unknown): string {
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (e as Error).message;
}
