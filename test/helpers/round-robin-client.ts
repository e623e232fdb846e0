import { request, type IncomingHttpHeaders } from 'node:http';
import { sha256, type Blob } from './oci.js';
import { streamRequest } from './e2e-http.js';

/**
 * A registry client that sends every request to the next node of a cluster,
 * as a round-robin load balancer without session affinity would: the POST
 * that starts an upload, each PATCH chunk, the final PUT and the manifest PUT
 * may each land on a different node. Upload Locations are resolved against
 * the NEXT node's base URL (only their path and query are kept).
 *
 * A node that fails a request at the connection level is taken out of the
 * rotation, and the request is retried on the remaining nodes; an upload whose
 * PATCH failed asks another node for the upload's status and resumes from the
 * offset it reports (distribution-spec "Pushing a blob in chunks").
 */

export interface HttpReply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface HttpOptions {
  method: string;
  headers?: Record<string, string>;
  body?: Buffer;
  timeoutMs?: number;
}

/** One request on a fresh connection (no keep-alive pool shared with dead nodes). Rejects on network errors only. */
export function httpRequest(url: string, opts: HttpOptions): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const headers = { ...opts.headers };
    if (opts.body !== undefined) headers['Content-Length'] = String(opts.body.length);
    const req = request(url, { method: opts.method, headers, agent: false }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('error', reject);
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) }));
    });
    req.setTimeout(opts.timeoutMs ?? 60_000, () => req.destroy(new Error(`${opts.method} ${url}: no answer within ${opts.timeoutMs ?? 60_000} ms`)));
    req.on('error', reject);
    req.end(opts.body);
  });
}

export function header(r: { headers: IncomingHttpHeaders }, name: string): string | undefined {
  const v = r.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

/** Path and query of a Location (absolute or relative), to be sent to whichever node is next. */
export function locationPath(location: string): string {
  const u = new URL(location, 'http://placeholder.invalid');
  return u.pathname + u.search;
}

/** Bytes an upload holds according to its `Range: 0-<last>` header ("0-0" is read as empty). */
export function uploadedBytes(range: string | undefined): number | undefined {
  const m = /^0-(\d+)$/.exec(range ?? '');
  if (!m) return undefined;
  const end = Number(m[1]);
  return end === 0 ? 0 : end + 1;
}

export interface RequestRecord {
  node: string;
  method: string;
  path: string;
  status?: number;
  error?: string;
}

/** How a PATCH that failed at the connection level was resumed. */
export interface ResumeRecord {
  failedNode: string;
  /** Bytes the registry had acknowledged (202) before the failed PATCH. */
  acknowledged: number;
  /** Body bytes of the failed PATCH that had been written to the socket. */
  sentInFailed: number;
  /** The node that answered the upload status request. */
  statusNode: string;
  /** The offset the status reported, where the upload continued. */
  resumedAt: number;
}

export interface UploadResult {
  digest: string;
  size: number;
  uploadId: string;
  /** The node of each request of the upload, in order (failed ones included). */
  nodes: string[];
  resumes: ResumeRecord[];
}

/** Lets a test cut one PATCH mid-body: after `cutAfter` body bytes, `action` runs (it kills the node). */
export interface PatchInterruption {
  cutAfter: number;
  action: () => Promise<void>;
}

export interface ChunkedPushOptions {
  /** Size of the i-th PATCH chunk. */
  chunkSize: (i: number) => number;
  /** Asked before every PATCH; returns an interruption for the PATCH that must be cut. */
  interrupt?: (patch: { index: number; offset: number; node: string }) => PatchInterruption | undefined;
}

export interface ImageToPush {
  config: Blob;
  layers: Blob[];
  manifest: Blob;
  mediaType: string;
}

const MAX_STEPS = 10_000;

export class RoundRobinClient {
  readonly log: RequestRecord[] = [];
  readonly down = new Set<string>();
  private counter: number;

  /**
   * @param nodes base URLs of the cluster, read at every request (so nodes can join)
   * @param start where in the rotation this client begins
   */
  constructor(
    private readonly nodes: () => string[],
    start = 0,
  ) {
    this.counter = start;
  }

  /** The next node in the rotation, skipping nodes seen failing. */
  next(): string {
    const live = this.nodes().filter((n) => !this.down.has(n));
    if (live.length === 0) throw new Error(`no live node left (down: ${[...this.down].join(', ')})`);
    return live[this.counter++ % live.length]!;
  }

  private attempts(): number {
    return this.nodes().length * 2 + 1;
  }

  /** One request to one node; records it; rejects on network errors (and then marks the node down). */
  async send(node: string, path: string, opts: HttpOptions): Promise<HttpReply> {
    const rec: RequestRecord = { node, method: opts.method, path };
    this.log.push(rec);
    try {
      const r = await httpRequest(node + path, opts);
      rec.status = r.status;
      return r;
    } catch (e) {
      rec.error = (e as Error).message;
      this.down.add(node);
      throw e;
    }
  }

  /** Sends to the next node; on a network error retries on the following ones (bounded). */
  async sendRetrying(path: string, opts: HttpOptions): Promise<HttpReply & { node: string }> {
    let last: unknown;
    for (let i = 0, n = this.attempts(); i < n; i++) {
      const node = this.next();
      try {
        return { ...(await this.send(node, path, opts)), node };
      } catch (e) {
        last = e;
      }
    }
    throw new Error(`${opts.method} ${path} failed on every node: ${(last as Error | undefined)?.message}`);
  }

  /** POST, PATCH per chunk (Content-Range), PUT ?digest=: each to the next node. */
  async pushBlobChunked(repo: string, b: Blob, opts: ChunkedPushOptions): Promise<UploadResult> {
    const nodes: string[] = [];
    const resumes: ResumeRecord[] = [];
    const started = await this.sendRetrying(`/v2/${repo}/blobs/uploads/`, { method: 'POST' });
    nodes.push(started.node);
    if (started.status !== 202) throw new Error(`POST upload ${repo}: ${started.status} ${started.body.toString()}`);
    const uploadId = header(started, 'docker-upload-uuid') ?? '';
    let location = locationPath(required(started, 'location'));

    let offset = 0;
    for (let index = 0; offset < b.size; index++) {
      if (index > MAX_STEPS) throw new Error(`upload of ${b.digest} did not finish in ${MAX_STEPS} steps`);
      const len = Math.min(opts.chunkSize(index), b.size - offset);
      const chunk = b.bytes.subarray(offset, offset + len);
      const node = this.next();
      nodes.push(node);
      const headers = {
        'Content-Type': 'application/octet-stream',
        'Content-Length': String(len),
        'Content-Range': `${offset}-${offset + len - 1}`,
      };
      let reply: HttpReply;
      let sentInFailed = len;
      try {
        const cut = opts.interrupt?.({ index, offset, node });
        if (cut) {
          reply = await this.cutPatch(node, location, headers, chunk, cut, (sent) => (sentInFailed = sent));
        } else {
          reply = await this.send(node, location, { method: 'PATCH', headers, body: Buffer.from(chunk) });
        }
      } catch {
        // The node failed mid-request: whatever it stored is a prefix of the chunk; ask another node where to go on.
        const status = await this.uploadStatus(location);
        nodes.push(status.node);
        resumes.push({ failedNode: node, acknowledged: offset, sentInFailed, statusNode: status.node, resumedAt: status.size });
        offset = status.size;
        location = status.location;
        continue;
      }
      if (reply.status !== 202) {
        throw new Error(`PATCH ${location} [${offset}, ${offset + len}) on ${node}: ${reply.status} ${reply.body.toString()}`);
      }
      const range = header(reply, 'range');
      if (uploadedBytes(range) !== offset + len) {
        throw new Error(`PATCH on ${node} acknowledged Range ${range}, expected 0-${offset + len - 1}`);
      }
      offset += len;
      location = locationPath(required(reply, 'location'));
    }

    for (let i = 0, n = this.attempts(); ; i++) {
      if (i >= n) throw new Error(`PUT ${location} failed on every node`);
      const node = this.next();
      nodes.push(node);
      const sep = location.includes('?') ? '&' : '?';
      let reply: HttpReply;
      try {
        reply = await this.send(node, `${location}${sep}digest=${b.digest}`, { method: 'PUT', body: Buffer.alloc(0) });
      } catch {
        // Did the PUT complete before the node failed? The session is gone and the blob there if so.
        const st = await this.sendRetrying(location, { method: 'GET' });
        if (st.status === 204) continue;
        const head = await this.sendRetrying(`/v2/${repo}/blobs/${b.digest}`, { method: 'HEAD' });
        if (head.status === 200) break;
        throw new Error(`PUT ${location} failed on ${node} and the blob is not in ${repo} (status ${st.status}, HEAD ${head.status})`);
      }
      if (reply.status !== 201) throw new Error(`PUT ${location} on ${node}: ${reply.status} ${reply.body.toString()}`);
      const got = header(reply, 'docker-content-digest');
      if (got !== b.digest) throw new Error(`PUT on ${node} answered Docker-Content-Digest ${got}, expected ${b.digest}`);
      break;
    }
    return { digest: b.digest, size: b.size, uploadId, nodes, resumes };
  }

  /** GET the upload status from the next node that answers: the bytes it holds and its Location. */
  async uploadStatus(location: string): Promise<{ node: string; size: number; location: string }> {
    const r = await this.sendRetrying(location, { method: 'GET' });
    if (r.status !== 204) throw new Error(`GET ${location} on ${r.node}: ${r.status} ${r.body.toString()}`);
    const range = header(r, 'range');
    const size = uploadedBytes(range);
    if (size === undefined) throw new Error(`GET ${location} on ${r.node}: bad Range ${range}`);
    return { node: r.node, size, location: locationPath(header(r, 'location') ?? location) };
  }

  private async cutPatch(
    node: string,
    location: string,
    headers: Record<string, string>,
    chunk: Buffer,
    cut: PatchInterruption,
    onSent: (n: number) => void,
  ): Promise<HttpReply> {
    const rec: RequestRecord = { node, method: 'PATCH', path: location };
    this.log.push(rec);
    const out = await streamRequest(node + location, {
      method: 'PATCH',
      headers,
      body: chunk,
      stopAfter: cut.cutAfter,
      onStop: cut.action,
    });
    onSent(out.sent);
    if (out.error || out.status === undefined) {
      rec.error = out.error?.message ?? 'no response';
      this.down.add(node);
      throw out.error ?? new Error('no response');
    }
    rec.status = out.status;
    return { status: out.status, headers: out.headers ?? {}, body: Buffer.from(out.body ?? '') };
  }

  /** PUT a manifest on the next node (retried elsewhere on network errors); checks Docker-Content-Digest. */
  async putManifest(repo: string, reference: string, manifest: Blob, mediaType: string): Promise<HttpReply & { node: string }> {
    const r = await this.sendRetrying(`/v2/${repo}/manifests/${reference}`, {
      method: 'PUT',
      headers: { 'Content-Type': mediaType },
      body: manifest.bytes,
    });
    if (r.status !== 201) throw new Error(`PUT manifest ${repo}:${reference} on ${r.node}: ${r.status} ${r.body.toString()}`);
    const got = header(r, 'docker-content-digest');
    if (got !== sha256(manifest.bytes)) throw new Error(`manifest PUT answered digest ${got}, expected ${manifest.digest}`);
    return r;
  }

  /** Config and layers as chunked uploads, then the manifest under `tag`. */
  async pushImage(repo: string, tag: string, img: ImageToPush, opts: ChunkedPushOptions): Promise<UploadResult[]> {
    const uploads: UploadResult[] = [];
    for (const b of [img.config, ...img.layers]) uploads.push(await this.pushBlobChunked(repo, b, opts));
    await this.putManifest(repo, tag, img.manifest, img.mediaType);
    return uploads;
  }
}

function required(r: HttpReply, name: string): string {
  const v = header(r, name);
  if (v === undefined) throw new Error(`reply ${r.status} has no ${name} header`);
  return v;
}
