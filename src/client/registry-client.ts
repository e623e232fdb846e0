import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { Digest } from '../oci/digest.js';
import { effectiveArtifactType, parseManifest, type Descriptor, type ParsedManifest } from '../oci/manifest.js';
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
 * The remote registry cannot answer now (network error, timeout, 5xx, 429), refuses
 * us (401/403 after authenticating) or answers something unusable. `code` is the first
 * error code of the registry's `{"errors":[...]}` body, when it sent one.
 */
export class RemoteRegistryError extends Error {
  readonly code?: string;

  constructor(
    readonly upstream: string,
    readonly kind: 'unavailable' | 'refused' | 'invalid',
    message: string,
    readonly status?: number,
    options?: { cause?: unknown; code?: string },
  ) {
    super(message, options);
    this.name = 'RemoteRegistryError';
    this.code = options?.code;
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

export interface PushedManifest {
  /** The digest of the bytes pushed (the registry's Docker-Content-Digest agreed with it). */
  digest: string;
  /** The registry's `OCI-Subject` answer: it processed the manifest's subject (it has the referrers API). */
  subject?: string;
  /** The referrers tag this client updated because the registry has no referrers API (distribution-spec "Pushing Manifests with Subject"). */
  referrersTag?: string;
}

export interface Referrers {
  manifests: Descriptor[];
  /** The registry applied the artifactType filter itself (`OCI-Filters-Applied`); the list is filtered either way. */
  filtered: boolean;
}

/**
 * Manifest types the cache asks for: OCI and Docker schema 2 manifests and
 * indexes (distribution-spec "Pulling manifests": the client lists what it accepts).
 */
export const MANIFEST_ACCEPT = [MediaType.OciIndex, MediaType.OciManifest, MediaType.DockerManifestList, MediaType.DockerManifest].join(', ');

/** Clients and registries "SHOULD expect to be able to support manifest pushes of at least 4 megabytes" (distribution-spec). */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
/** Pages of tags or referrers followed through `Link` headers before giving up. */
const MAX_PAGES = 100;
/** How much of an error body is read for its code and message. */
const MAX_ERROR_BODY = 64 * 1024;

interface CachedToken {
  token: string;
  expiresAt: number;
}

/** Docker token spec: a token without expires_in lives 60 seconds. */
const DEFAULT_TOKEN_SECONDS = 60;
/** Renew a little before expiry so a token never expires in flight. */
const TOKEN_SKEW_MS = 10_000;

type Method = 'GET' | 'HEAD' | 'POST' | 'PUT';

interface Call {
  method: Method;
  repository: string;
  /** A path under /v2/<repository>/, or a URL (absolute or origin-relative) the registry gave: an upload location, a next page. */
  path: string;
  headers?: Record<string, string>;
  body?: Buffer;
  signal?: AbortSignal;
}

/**
 * A small OCI distribution client for one remote registry (the proxy's upstream, the CLI's target): the auth flow
 * real clients use (challenge, token from the realm, anonymous or with basic
 * credentials; Basic where asked), tokens cached per scope until they expire.
 * Reads ask for `repository:<name>:pull`, writes for `repository:<name>:pull,push`.
 */
export class RegistryClient {
  readonly base: string;
  private readonly origin: string;
  private readonly timeoutMs: number;
  private readonly now: () => number;
  private readonly tokens = new Map<string, CachedToken>();
  private readonly pendingTokens = new Map<string, Promise<string>>();
  /** The last challenge seen: later requests authenticate up front instead of collecting a 401 first. */
  private challenge: Challenge | undefined;

  constructor(private readonly opts: RegistryClientOptions) {
    this.base = opts.url.replace(/\/+$/, '');
    this.origin = new URL(this.base).origin;
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.now = opts.now ?? Date.now;
  }

  /** HEAD of a manifest (Docker Hub does not count HEADs against pull limits); undefined on 404. */
  async headManifest(repository: string, reference: string, signal?: AbortSignal): Promise<UpstreamManifestHead | undefined> {
    const res = await this.request({ method: 'HEAD', repository, path: `manifests/${reference}`, headers: { Accept: MANIFEST_ACCEPT }, signal });
    if (!res) return undefined;
    return {
      digest: res.headers.get('docker-content-digest') ?? undefined,
      mediaType: res.headers.get('content-type') ?? undefined,
      size: contentLength(res),
    };
  }

  /** The manifest's exact bytes, at most `maxBytes`; undefined on 404. */
  async getManifest(repository: string, reference: string, maxBytes: number, signal?: AbortSignal): Promise<UpstreamManifest | undefined> {
    const res = await this.request({ method: 'GET', repository, path: `manifests/${reference}`, headers: { Accept: MANIFEST_ACCEPT }, signal });
    if (!res) return undefined;
    return {
      bytes: await this.readBody(res, maxBytes, `manifest ${repository}:${reference}`),
      mediaType: res.headers.get('content-type') ?? '',
      digest: res.headers.get('docker-content-digest') ?? undefined,
    };
  }

  /** Streams a blob; undefined on 404. The stream errors when the transfer breaks. */
  async getBlob(repository: string, digest: string, signal?: AbortSignal): Promise<UpstreamBlob | undefined> {
    const res = await this.request({ method: 'GET', repository, path: `blobs/${digest}`, signal });
    if (!res || !res.body) return undefined;
    return { body: Readable.fromWeb(res.body as WebReadableStream<Uint8Array>), size: contentLength(res) };
  }

  /** Size of a blob upstream; undefined on 404. */
  async headBlob(repository: string, digest: string, signal?: AbortSignal): Promise<{ size?: number } | undefined> {
    const res = await this.request({ method: 'HEAD', repository, path: `blobs/${digest}`, signal });
    if (!res) return undefined;
    return { size: contentLength(res) };
  }

  /**
   * Makes sure the blob is in the repository: a HEAD first (present: nothing is sent), else a
   * monolithic upload, POST then PUT (distribution-spec "Pushing a blob monolithically"). `digest`,
   * when given, must be the bytes' digest. Throws RemoteRegistryError when the registry refuses or
   * reports another digest, and a plain Error for a `digest` that does not match the bytes.
   */
  async putBlob(repository: string, bytes: Buffer, digest?: string, signal?: AbortSignal): Promise<{ digest: string; size: number }> {
    const computed = digestOf(bytes, digest);
    if (digest !== undefined && digest !== computed) throw new Error(`the blob's bytes hash to ${computed}, not ${digest}`);
    const size = bytes.length;
    if (await this.headBlob(repository, computed, signal)) return { digest: computed, size };
    const started = await this.request({ method: 'POST', repository, path: 'blobs/uploads/', body: Buffer.alloc(0), signal });
    await started?.body?.cancel().catch(() => undefined);
    const location = started?.headers.get('location');
    if (!location) throw new RemoteRegistryError(this.base, 'invalid', `POST ${this.base}/v2/${repository}/blobs/uploads/ answered ${started?.status} without a Location`, started?.status);
    // The location may be relative (to the POST's URL) and carry query parameters the registry
    // needs: those are kept as sent (distribution-spec "POST then PUT").
    const absolute = resolveUrl(this.base, location, started?.url || `${this.base}/v2/${repository}/blobs/uploads/`, 'upload Location');
    const put = `${absolute}${absolute.includes('?') ? '&' : '?'}digest=${encodeURIComponent(computed)}`;
    const done = await this.request({
      method: 'PUT',
      repository,
      path: put,
      headers: { 'Content-Type': 'application/octet-stream' },
      body: bytes,
      signal,
    });
    await done?.body?.cancel().catch(() => undefined);
    this.checkDigestHeader(done, computed, `blob ${computed}`);
    return { digest: computed, size };
  }

  /**
   * Pushes manifest bytes exactly as given under `reference` (a tag, or their digest). The digest
   * is the bytes' own; the registry's Docker-Content-Digest must agree. A manifest with a subject
   * pushed to a registry that does not answer `OCI-Subject` has no referrers API: the referrers
   * tag (distribution-spec "Referrers Tag Schema") is then updated with it. Throws
   * RemoteRegistryError with the registry's code when it refuses.
   */
  async putManifest(repository: string, reference: string, bytes: Buffer, mediaType: string, signal?: AbortSignal): Promise<PushedManifest> {
    const computed = digestOf(bytes, Digest.looksLike(reference) ? reference : undefined);
    if (Digest.looksLike(reference) && reference !== computed) throw new Error(`the manifest's bytes hash to ${computed}, not ${reference}`);
    const res = await this.request({ method: 'PUT', repository, path: `manifests/${reference}`, headers: { 'Content-Type': mediaType }, body: bytes, signal });
    await res?.body?.cancel().catch(() => undefined);
    this.checkDigestHeader(res, computed, `manifest ${repository}:${reference}`);
    const subject = res?.headers.get('oci-subject') ?? undefined;
    const parsed = tryParse(bytes, mediaType);
    if (subject !== undefined || !parsed?.subject) return { digest: computed, subject };
    const descriptor: Descriptor = {
      mediaType: parsed.mediaType,
      digest: computed,
      size: bytes.length,
      artifactType: effectiveArtifactType(parsed),
      annotations: parsed.annotations,
    };
    return { digest: computed, referrersTag: await this.addToReferrersTag(repository, parsed.subject.digest, descriptor, signal) };
  }

  /**
   * The referrers of `digest` (distribution-spec "Listing Referrers"), every page, filtered by
   * `artifactType` when given. A registry without the referrers API (404) is read through the
   * referrers tag instead; a tag that does not hold an index means no referrers, as the spec says.
   * Throws DigestParseError for a `digest` that is not one, RemoteRegistryError when the registry fails.
   */
  async listReferrers(repository: string, digest: string, artifactType?: string, signal?: AbortSignal): Promise<Referrers> {
    Digest.parse(digest);
    const query = artifactType === undefined ? '' : `?artifactType=${encodeURIComponent(artifactType)}`;
    const manifests: Descriptor[] = [];
    let filtered = false;
    let path: string | undefined = `referrers/${digest}${query}`;
    for (let page = 0; path !== undefined; page++) {
      if (page >= MAX_PAGES) throw new RemoteRegistryError(this.base, 'invalid', `referrers of ${digest} in ${repository} run past ${MAX_PAGES} pages`);
      const res = await this.request({ method: 'GET', repository, path, headers: { Accept: MediaType.OciIndex }, signal });
      if (!res) {
        if (page > 0) throw new RemoteRegistryError(this.base, 'invalid', `a next page of the referrers of ${digest} vanished (404)`, 404);
        return { manifests: filterByType(await this.referrersFromTag(repository, digest, signal), artifactType), filtered: false };
      }
      const bytes = await this.readBody(res, MAX_MANIFEST_BYTES, `referrers of ${digest}`);
      const index = tryParse(bytes, MediaType.OciIndex);
      if (index?.kind !== 'index') throw new RemoteRegistryError(this.base, 'invalid', `the referrers of ${digest} in ${repository} are not an image index`);
      manifests.push(...index.manifests);
      filtered ||= (res.headers.get('oci-filters-applied') ?? '').split(',').some((f) => f.trim() === 'artifactType');
      path = nextLink(this.base, res);
    }
    return { manifests: filtered ? manifests : filterByType(manifests, artifactType), filtered };
  }

  /** Every tag of the repository, following `Link` pages (at most 100); an unknown repository has none. */
  async listTags(repository: string, signal?: AbortSignal): Promise<string[]> {
    const tags: string[] = [];
    let path: string | undefined = 'tags/list';
    for (let page = 0; path !== undefined; page++) {
      if (page >= MAX_PAGES) throw new RemoteRegistryError(this.base, 'invalid', `the tags of ${repository} run past ${MAX_PAGES} pages`);
      const res = await this.request({ method: 'GET', repository, path, headers: { Accept: 'application/json' }, signal });
      if (!res) return tags;
      const body = parseJson(await this.readBody(res, MAX_MANIFEST_BYTES, `tags of ${repository}`)) as { tags?: unknown } | undefined;
      const list = body?.tags ?? null;
      if (typeof body !== 'object' || body === null || (list !== null && (!Array.isArray(list) || list.some((t) => typeof t !== 'string')))) {
        throw new RemoteRegistryError(this.base, 'invalid', `the tag list of ${repository} is not {"tags": [strings]}`);
      }
      tags.push(...((list ?? []) as string[]));
      path = nextLink(this.base, res);
    }
    return tags;
  }

  // --- internals -----------------------------------------------------------------

  /** Appends `descriptor` to the index under the referrers tag of `subject` (kept as is when already listed). */
  private async addToReferrersTag(repository: string, subject: string, descriptor: Descriptor, signal?: AbortSignal): Promise<string> {
    const tag = referrersTag(subject);
    const current = await this.getManifest(repository, tag, MAX_MANIFEST_BYTES, signal);
    let listed: unknown[] = [];
    if (current) {
      const doc = parseJson(current.bytes) as { manifests?: unknown } | undefined;
      if (tryParse(current.bytes, current.mediaType)?.kind !== 'index' || !Array.isArray(doc?.manifests)) {
        throw new RemoteRegistryError(this.base, 'invalid', `${repository}:${tag} holds something other than a referrers index; not overwriting it`);
      }
      listed = doc.manifests;
      if (listed.some((d) => (d as { digest?: unknown }).digest === descriptor.digest)) return tag;
    }
    const index = { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [...listed, descriptor] };
    // Clients keep this tag up to date themselves; two at once may lose an entry (the spec's own caveat).
    await this.putManifest(repository, tag, Buffer.from(JSON.stringify(index)), MediaType.OciIndex, signal);
    return tag;
  }

  /** The descriptors listed under the referrers tag; none when it is missing or not an index. */
  private async referrersFromTag(repository: string, digest: string, signal?: AbortSignal): Promise<Descriptor[]> {
    const m = await this.getManifest(repository, referrersTag(digest), MAX_MANIFEST_BYTES, signal);
    const index = m && tryParse(m.bytes, m.mediaType);
    return index && index.kind === 'index' ? index.manifests : [];
  }

  /** A Docker-Content-Digest answer, when sent, must name the bytes we pushed. */
  private checkDigestHeader(res: Response | undefined, expected: string, what: string): void {
    const header = res?.headers.get('docker-content-digest');
    if (header && header !== expected) {
      throw new RemoteRegistryError(this.base, 'invalid', `the registry stored ${what} as ${header}, but its bytes hash to ${expected}`);
    }
  }

  /**
   * One request with authentication: up front when a challenge is known, else
   * after the first 401 (then retried once). A 404 to a GET or HEAD resolves
   * undefined; every other failure throws RemoteRegistryError naming the
   * registry's error code. Credentials only ever go to the registry's own origin.
   */
  private async request(call: Call): Promise<Response | undefined> {
    const { method, repository, signal } = call;
    const url = /^https?:\/\//i.test(call.path) || call.path.startsWith('/') ? new URL(call.path, this.base).href : `${this.base}/v2/${repository}/${call.path}`;
    const ours = new URL(url).origin === this.origin;
    const push = method === 'POST' || method === 'PUT';
    const headers = call.headers ?? {};
    let auth = ours && this.challenge ? await this.authorization(this.challenge, repository, push, signal) : undefined;
    let res = await this.fetchWithTimeout(url, method, { ...headers, ...(auth ? { Authorization: auth } : {}) }, call.body, signal);
    if (res.status === 401 && ours) {
      const challenge = pickChallenge(res.headers.get('www-authenticate'));
      await res.body?.cancel().catch(() => undefined);
      if (!challenge) throw new RemoteRegistryError(this.base, 'refused', `${method} ${url}: 401 without a usable challenge`, 401);
      this.challenge = challenge;
      auth = await this.authorization(challenge, repository, push, signal, true);
      res = await this.fetchWithTimeout(url, method, { ...headers, Authorization: auth }, call.body, signal);
    }
    this.logRateLimit(res, repository);
    if (res.ok) return res;
    if (res.status === 404 && !push) {
      await res.body?.cancel().catch(() => undefined);
      return undefined;
    }
    throw await this.failure(res, `${method} ${url}`);
  }

  /** The error for a failed response: the registry's `{"errors":[{code,message}]}` first, then what was asked and the status. */
  private async failure(res: Response, what: string): Promise<RemoteRegistryError> {
    const body = await this.readBody(res, MAX_ERROR_BODY, 'error body').catch(() => Buffer.alloc(0));
    const errors = (parseJson(body) as { errors?: unknown } | undefined)?.errors;
    const first = Array.isArray(errors) ? (errors as { code?: unknown; message?: unknown }[]).find((e) => typeof e?.code === 'string') : undefined;
    const code = first?.code as string | undefined;
    const said = code === undefined ? '' : `${code}${typeof first?.message === 'string' && first.message !== '' ? `: ${first.message.slice(0, 500)}` : ''} (`;
    const message = `${said}${what}: ${res.status}${said ? ')' : ''}`;
    if (res.status === 429 || res.status >= 500) return new RemoteRegistryError(this.base, 'unavailable', message, res.status, { code });
    if (res.status === 401 || res.status === 403) {
      return new RemoteRegistryError(this.base, 'refused', `${message}; check the credentials for ${this.base}`, res.status, { code });
    }
    return new RemoteRegistryError(this.base, 'invalid', message, res.status, { code });
  }

  /** A response body read whole, refused past `maxBytes` (declared or actual). */
  private async readBody(res: Response, maxBytes: number, what: string): Promise<Buffer> {
    const declared = contentLength(res);
    if (declared !== undefined && declared > maxBytes) {
      await res.body?.cancel().catch(() => undefined);
      throw new RemoteRegistryError(this.base, 'invalid', `${what} is ${declared} bytes; the limit is ${maxBytes}`);
    }
    if (!res.body) return Buffer.alloc(0);
    const parts: Buffer[] = [];
    let total = 0;
    try {
      for await (const chunk of Readable.fromWeb(res.body as WebReadableStream<Uint8Array>)) {
        total += (chunk as Buffer).length;
        if (total > maxBytes) throw new RemoteRegistryError(this.base, 'invalid', `${what} exceeds ${maxBytes} bytes`);
        parts.push(chunk as Buffer);
      }
    } catch (e) {
      if (e instanceof RemoteRegistryError) throw e;
      throw new RemoteRegistryError(this.base, 'unavailable', `reading ${what} failed: ${(e as Error).message}`, undefined, { cause: e });
    }
    return Buffer.concat(parts);
  }

  private async fetchWithTimeout(url: string, method: string, headers: Record<string, string>, body: Buffer | undefined, signal?: AbortSignal): Promise<Response> {
    // The timeout covers connecting and the response headers; a long blob body may take longer.
    const timer = new AbortController();
    const t = setTimeout(() => timer.abort(new Error(`no response within ${this.timeoutMs} ms`)), this.timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timer.signal]) : timer.signal;
    try {
      return await fetch(url, { method, headers, body: body && new Uint8Array(body), signal: combined, redirect: 'follow' });
    } catch (e) {
      if (signal?.aborted) throw e;
      const reason = timer.signal.aborted ? (timer.signal.reason as Error).message : describeFetchError(e);
      throw new RemoteRegistryError(this.base, 'unavailable', `${method} ${url}: ${reason}`, undefined, { cause: e });
    } finally {
      clearTimeout(t);
    }
  }

  /** The Authorization header value for a challenge: Basic credentials, or a (cached) bearer token for the scope. */
  private async authorization(challenge: Challenge, repository: string, push: boolean, signal?: AbortSignal, fresh = false): Promise<string> {
    if (challenge.scheme === 'basic') {
      if (this.opts.username === undefined) throw new RemoteRegistryError(this.base, 'refused', `${this.base} asks for Basic credentials and none are configured`, 401);
      return basicAuth(this.opts.username, this.opts.password ?? '');
    }
    const realm = challenge.params.realm;
    if (!realm) throw new RemoteRegistryError(this.base, 'refused', 'bearer challenge without a realm', 401);
    // The scope of the challenge names the repository it was sent for; ours names `repository` and what we do.
    const scope = `repository:${repository}:${push ? 'pull,push' : 'pull'}`;
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
    const res = await this.fetchWithTimeout(u.toString(), 'GET', headers, undefined, signal);
    if (!res.ok) {
      const failure = await this.failure(res, `token request to ${u.origin}${u.pathname}`);
      this.opts.log?.warn({ upstream: this.base, status: res.status, realm }, 'upstream token request failed');
      throw new RemoteRegistryError(this.base, failure.kind === 'unavailable' ? 'unavailable' : 'refused', failure.message, res.status, { code: failure.code });
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

/**
 * The tag that holds the referrers of `digest` on a registry without the referrers API
 * (distribution-spec "Referrers Tag Schema"): the algorithm truncated to 32 characters, `-`,
 * the encoded part truncated to 64, with every character a tag cannot hold replaced by `-`.
 * Throws an Error when `digest` has no `algorithm:` part.
 */
export function referrersTag(digest: string): string {
  const colon = digest.indexOf(':');
  if (colon <= 0) throw new Error(`not a digest: ${JSON.stringify(digest.slice(0, 80))}`);
  const tag = `${digest.slice(0, colon).slice(0, 32)}-${digest.slice(colon + 1).slice(0, 64)}`;
  return tag.replace(/[^a-zA-Z0-9._-]/g, '-');
}

/** The digest of `bytes` in the algorithm of `like` (sha256 when absent or not a supported digest). */
function digestOf(bytes: Buffer, like: string | undefined): string {
  const algorithm = like === undefined ? 'sha256' : (Digest.tryParse(like)?.algorithm ?? 'sha256');
  return Digest.fromBytes(bytes, algorithm).toString();
}

function tryParse(bytes: Buffer, mediaType: string): ParsedManifest | undefined {
  try {
    return parseManifest(bytes, mediaType);
  } catch {
    return undefined;
  }
}

function parseJson(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    return undefined;
  }
}

function filterByType(manifests: Descriptor[], artifactType: string | undefined): Descriptor[] {
  return artifactType === undefined ? manifests : manifests.filter((d) => d.artifactType === artifactType);
}

/** The URL of RFC 8288 `Link: <url>; rel="next"`, resolved against the response's own URL. */
function nextLink(base: string, res: Response): string | undefined {
  const header = res.headers.get('link');
  if (!header) return undefined;
  for (const part of header.split(',')) {
    const m = /^\s*<([^>]*)>\s*;(.*)$/.exec(part);
    if (m && /(?:^|;)\s*rel="?next"?\s*(?:;|$)/i.test(m[2]!)) return resolveUrl(base, m[1]!, res.url || base, 'Link');
  }
  return undefined;
}

/** `ref` resolved against `against` (RFC 3986); a RemoteRegistryError naming `what` when it is not a URL. */
function resolveUrl(base: string, ref: string, against: string, what: string): string {
  try {
    return new URL(ref, against).href;
  } catch {
    throw new RemoteRegistryError(base, 'invalid', `the registry sent a ${what} that is not a URL: ${JSON.stringify(ref.slice(0, 200))}`);
  }
}

function contentLength(res: Response): number | undefined {
  const text = res.headers.get('content-length');
  const n = Number(text);
  return text !== null && text !== '' && Number.isSafeInteger(n) && n >= 0 ? n : undefined;
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
