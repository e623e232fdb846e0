/**
 * A small HTTP client for the OCI distribution-spec conformance suite
 * (test/conformance/). It is built on node:http rather than fetch so that a
 * test controls every byte it sends: the path is sent verbatim (fetch's URL
 * parser would resolve `..` and `%2e%2e` before the server sees them), headers
 * such as Content-Length and Content-Range are sent exactly as given, and a
 * body can be streamed with chunked transfer encoding.
 *
 * Expected values in the suite come from the spec or from node:crypto over
 * bytes the test made, never from berth.
 */
import assert from 'node:assert/strict';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import type { Blob, Image } from './oci.js';
import { ACCEPT_MANIFESTS, MediaTypes } from './conformance-fixtures.js';

// ---------------------------------------------------------------------------
// Replies

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** The header's value (the first one when repeated), or undefined. */
  header(name: string): string | undefined;
  text(): string;
  json<T = unknown>(): T;
}

export function makeReply(status: number, headers: IncomingHttpHeaders, body: Buffer): Reply {
  return {
    status,
    headers,
    body,
    header(name: string) {
      const v = headers[name.toLowerCase()];
      return Array.isArray(v) ? v[0] : v;
    },
    text: () => body.toString('utf8'),
    json<T>() {
      return JSON.parse(body.toString('utf8')) as T;
    },
  };
}

/** A short description of a reply for assertion messages. */
export function describeReply(r: Reply): string {
  const body = r.body.length > 600 ? r.body.subarray(0, 600).toString('utf8') + '…' : r.body.toString('utf8');
  return `HTTP ${r.status} ${JSON.stringify(r.headers)} ${body}`;
}

export interface RequestOptions {
  headers?: Record<string, string | number>;
  /** Body sent in one piece; Content-Length is set from it unless given in `headers`. */
  body?: Buffer | string;
  /** Body sent in these pieces with Transfer-Encoding: chunked (no Content-Length). */
  chunks?: Buffer[];
  /** Give up (reject) after this many ms; default 60 s. */
  timeoutMs?: number;
}

// ---------------------------------------------------------------------------
// The client

export class OciClient {
  readonly origin: string;
  readonly port: number;

  constructor(base: string) {
    const u = new URL(base);
    this.origin = `${u.protocol}//${u.host}`;
    this.port = Number(u.port);
  }

  /**
   * Turns an absolute URL on this server or a path into the request target,
   * verbatim (no dot-segment resolution).
   */
  target(pathOrUrl: string): string {
    if (pathOrUrl.startsWith('/')) return pathOrUrl;
    if (/^https?:\/\//i.test(pathOrUrl)) {
      assert.ok(pathOrUrl.startsWith(this.origin + '/'), `URL ${pathOrUrl} is not on ${this.origin}`);
      return pathOrUrl.slice(this.origin.length);
    }
    throw new Error(`not a path or URL: ${pathOrUrl}`);
  }

  request(method: string, pathOrUrl: string, opts: RequestOptions = {}): Promise<Reply> {
    const path = this.target(pathOrUrl);
    const headers: Record<string, string | number> = { ...(opts.headers ?? {}) };
    const has = (name: string) => Object.keys(headers).some((k) => k.toLowerCase() === name.toLowerCase());
    const body = typeof opts.body === 'string' ? Buffer.from(opts.body) : opts.body;
    if (opts.chunks) {
      if (!has('transfer-encoding')) headers['Transfer-Encoding'] = 'chunked';
    } else if (!has('content-length') && (body !== undefined || ['POST', 'PUT', 'PATCH'].includes(method))) {
      headers['Content-Length'] = body?.length ?? 0;
    }
    const timeoutMs = opts.timeoutMs ?? 60_000;
    return new Promise<Reply>((resolve, reject) => {
      let answered = false;
      const req = httpRequest(
        { host: '127.0.0.1', port: this.port, method, path, headers, agent: false },
        (res) => {
          answered = true;
          const parts: Buffer[] = [];
          res.on('data', (c: Buffer) => parts.push(c));
          res.on('end', () => resolve(makeReply(res.statusCode ?? 0, res.headers, Buffer.concat(parts))));
          res.on('error', reject);
        },
      );
      req.setTimeout(timeoutMs, () => req.destroy(new Error(`${method} ${path}: no answer within ${timeoutMs} ms`)));
      req.on('error', (e: NodeJS.ErrnoException) => {
        if (answered) return;
        // A server may answer early (413 for an oversized manifest) and close while the body is still
        // being written; like Go's net/http, prefer that answer over the write error when it comes.
        if (e.code === 'EPIPE' || e.code === 'ECONNRESET') {
          setTimeout(() => answered || reject(e), 2000);
          return;
        }
        reject(e);
      });
      if (opts.chunks) {
        for (const c of opts.chunks) req.write(c);
        req.end();
      } else {
        req.end(body);
      }
    });
  }

  get(p: string, opts?: RequestOptions) {
    return this.request('GET', p, opts);
  }
  head(p: string, opts?: RequestOptions) {
    return this.request('HEAD', p, opts);
  }
  put(p: string, opts?: RequestOptions) {
    return this.request('PUT', p, opts);
  }
  post(p: string, opts?: RequestOptions) {
    return this.request('POST', p, opts);
  }
  patch(p: string, opts?: RequestOptions) {
    return this.request('PATCH', p, opts);
  }
  delete(p: string, opts?: RequestOptions) {
    return this.request('DELETE', p, opts);
  }

  // --- spec operations ---------------------------------------------------------

  /** POST /v2/<name>/blobs/uploads/ (end-4a): asserts 202 and returns the session Location. */
  async startUpload(repo: string): Promise<{ location: string; reply: Reply }> {
    const reply = await this.post(`/v2/${repo}/blobs/uploads/`, { headers: { 'Content-Length': 0 } });
    assert.equal(reply.status, 202, `start upload in ${repo}: ${describeReply(reply)}`);
    const location = reply.header('location');
    assert.ok(location, 'upload POST reply has a Location');
    return { location: this.target(location), reply };
  }

  /** Monolithic POST ?digest= (end-4b). */
  pushBlob(repo: string, b: Blob, digest = b.digest): Promise<Reply> {
    return this.post(`/v2/${repo}/blobs/uploads/?digest=${encodeURIComponent(digest)}`, {
      headers: { 'Content-Type': 'application/octet-stream' },
      body: b.bytes,
    });
  }

  async mustPushBlob(repo: string, b: Blob, digest = b.digest): Promise<void> {
    const r = await this.pushBlob(repo, b, digest);
    assert.equal(r.status, 201, `push blob ${digest} to ${repo}: ${describeReply(r)}`);
  }

  putManifest(repo: string, reference: string, bytes: Buffer | string, mediaType: string = MediaTypes.ociManifest): Promise<Reply> {
    return this.put(`/v2/${repo}/manifests/${reference}`, {
      headers: { 'Content-Type': mediaType },
      body: typeof bytes === 'string' ? Buffer.from(bytes) : bytes,
    });
  }

  async mustPutManifest(repo: string, reference: string, m: Blob, mediaType: string = MediaTypes.ociManifest): Promise<Reply> {
    const r = await this.putManifest(repo, reference, m.bytes, mediaType);
    assert.equal(r.status, 201, `put manifest ${repo}:${reference}: ${describeReply(r)}`);
    return r;
  }

  getManifest(repo: string, reference: string, method: 'GET' | 'HEAD' = 'GET'): Promise<Reply> {
    return this.request(method, `/v2/${repo}/manifests/${reference}`, { headers: { Accept: ACCEPT_MANIFESTS } });
  }

  getBlob(repo: string, digest: string, headers: Record<string, string> = {}, method: 'GET' | 'HEAD' = 'GET'): Promise<Reply> {
    return this.request(method, `/v2/${repo}/blobs/${digest}`, { headers });
  }

  /** Pushes config, layers and the manifest of `img` under `reference`, asserting 201 each time. */
  async pushImage(repo: string, reference: string, img: Image): Promise<void> {
    for (const b of [img.config, ...img.layers]) await this.mustPushBlob(repo, b);
    await this.mustPutManifest(repo, reference, img.manifest, img.mediaType);
  }

  /** GET /v2/<name>/tags/list (end-8a) and return the tags, asserting 200. */
  async tags(repo: string): Promise<string[]> {
    const r = await this.get(`/v2/${repo}/tags/list`);
    assert.equal(r.status, 200, `tags list of ${repo}: ${describeReply(r)}`);
    const body = r.json<{ name: string; tags: string[] | null }>();
    return body.tags ?? [];
  }
}

/** Appends `key=value` (value URI-encoded) to an upload Location, which may already carry a query. */
export function withQuery(location: string, params: Record<string, string>): string {
  const q = Object.entries(params)
    .map(([k, v]) => `${k}=${encodeURIComponent(v)}`)
    .join('&');
  return location + (location.includes('?') ? '&' : '?') + q;
}
