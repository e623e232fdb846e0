import http from 'node:http';
import { createHash } from 'node:crypto';
import { slices, type BenchBlob } from './blob-family.js';

/** What to do with a response body. */
type BodyMode = 'buffer' | 'sha256' | 'drain';

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** Body bytes received. */
  bytes: number;
  /** The body, when asked for with 'buffer'. */
  body?: Buffer;
  /** "sha256:<hex>" of the body, when asked for with 'sha256'. */
  digest?: string;
}

interface RequestOptions {
  headers?: http.OutgoingHttpHeaders;
  /** The node to send to; by default the next one in turn (see RegistryClient). */
  node?: string;
  /** Written in order with back-pressure; without a content-length the request is chunked. */
  body?: Iterable<Buffer>;
  mode?: BodyMode;
}

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
/** What an OCI client sends when it asks for a manifest. */
export const MANIFEST_ACCEPT = `${OCI_MANIFEST}, ${OCI_INDEX}`;

/** Per-request bound: a hung server fails the scenario instead of the run hanging. */
const REQUEST_TIMEOUT_MS = 300_000;

/**
 * How a client in front of several nodes spreads its work: every HTTP request
 * to the next node (what a round-robin HTTP load balancer does), or every
 * operation (a whole blob push: POST, PATCH, PUT) to one node, as a layer-4
 * balancer does for a client that keeps one connection per push.
 */
export type Spread = 'request' | 'operation';

/**
 * A deliberately thin registry client on node:http with keep-alive agents, so
 * the client's own cost stays small next to the server's. Every method checks
 * the status the spec demands and throws otherwise.
 *
 * Given several base URLs (identical nodes sharing one database and bucket) it
 * sends requests round-robin itself, one agent per node: a client-side spread
 * measures the nodes without a proxy hop of its own in the figures.
 */
export class RegistryClient {
  readonly bases: readonly string[];
  private readonly agents: Map<string, http.Agent>;
  private turn = 0;

  constructor(
    base: string | readonly string[],
    concurrency: number,
    readonly spread: Spread = 'request',
  ) {
    this.bases = typeof base === 'string' ? [base] : [...base];
    if (this.bases.length === 0) throw new Error('RegistryClient needs at least one base URL');
    this.agents = new Map(
      this.bases.map((b) => [b, new http.Agent({ keepAlive: true, maxSockets: concurrency, maxFreeSockets: concurrency })]),
    );
  }

  /** The first node: where fixtures are pushed. */
  get base(): string {
    return this.bases[0]!;
  }

  /** The next node in turn. */
  nextNode(): string {
    return this.bases[this.turn++ % this.bases.length]!;
  }

  /** The node for every request of one operation: fixed when spreading by operation, else chosen per request. */
  private operationNode(): string | undefined {
    return this.spread === 'operation' || this.bases.length === 1 ? this.nextNode() : undefined;
  }

  close(): void {
    for (const a of this.agents.values()) a.destroy();
  }

  /**
   * Sends one request. `target` is a path or a URL (an upload Location); only
   * its path and query are kept, the host is the node chosen for the request,
   * so any node can continue what another began.
   */
  request(method: string, target: string | URL, opts: RequestOptions = {}): Promise<Reply> {
    const node = opts.node ?? this.nextNode();
    const agent = this.agents.get(node);
    if (!agent) throw new Error(`${node} is not one of this client's nodes`);
    const given = new URL(target, node);
    const url = new URL(given.pathname + given.search, node);
    const mode = opts.mode ?? 'drain';
    return new Promise<Reply>((resolve, reject) => {
      const req = http.request(
        { agent, host: url.hostname, port: url.port, path: url.pathname + url.search, method, headers: opts.headers },
        (res) => {
          let bytes = 0;
          const chunks: Buffer[] = [];
          const failed = (res.statusCode ?? 0) >= 400;
          const hash = mode === 'sha256' && !failed ? createHash('sha256') : undefined;
          res.on('data', (c: Buffer) => {
            bytes += c.length;
            // Keep error bodies (small) so a failure can say what the registry said.
            if (mode === 'buffer' || (failed && bytes <= 4096)) chunks.push(c);
            else hash?.update(c);
          });
          res.on('error', reject);
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              bytes,
              body: mode === 'buffer' || failed ? Buffer.concat(chunks) : undefined,
              digest: hash ? 'sha256:' + hash.digest('hex') : undefined,
            }),
          );
        },
      );
      req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error(`${method} ${url.pathname}: no answer in ${REQUEST_TIMEOUT_MS} ms`)));
      req.on('error', reject);
      if (opts.body === undefined) {
        req.end();
        return;
      }
      writeAll(req, opts.body).then(
        () => req.end(),
        (err: unknown) => req.destroy(err instanceof Error ? err : new Error(String(err))),
      );
    });
  }

  /**
   * Pushes a blob the way docker does: POST an upload session, PATCH the whole
   * body as one streamed (chunked) request, PUT ?digest= to commit.
   */
  async pushBlob(repo: string, blob: BenchBlob): Promise<void> {
    const node = this.operationNode();
    const post = await this.request('POST', `/v2/${repo}/blobs/uploads/`, { headers: { 'content-length': '0' }, node });
    expectStatus(post, 202, `POST upload ${repo}`);
    const patch = await this.request('PATCH', location(post, this.base), {
      headers: { 'content-type': 'application/octet-stream' },
      body: slices(blob),
      node,
    });
    expectStatus(patch, 202, `PATCH upload ${repo}`);
    const put = location(patch, this.base);
    put.searchParams.set('digest', blob.digest);
    const done = await this.request('PUT', put, { headers: { 'content-length': '0' }, node });
    expectStatus(done, 201, `PUT upload ${repo} ${blob.digest}`);
  }

  /** GETs a blob, hashes it on the way and checks the digest; returns the bytes received. */
  async pullBlob(repo: string, blob: BenchBlob): Promise<number> {
    const r = await this.request('GET', `/v2/${repo}/blobs/${blob.digest}`, { mode: 'sha256' });
    expectStatus(r, 200, `GET blob ${repo} ${blob.digest}`);
    if (r.digest !== blob.digest) throw new Error(`GET blob ${blob.digest}: body hashes to ${r.digest}`);
    return r.bytes;
  }

  /** HEADs a blob: its Content-Length when the registry has it (200), undefined when it answers 404. */
  async headBlob(repo: string, digest: string, node?: string): Promise<number | undefined> {
    const r = await this.request('HEAD', `/v2/${repo}/blobs/${digest}`, { node });
    if (r.status === 404) return undefined;
    expectStatus(r, 200, `HEAD blob ${repo} ${digest}`);
    return Number(r.headers['content-length']);
  }

  /** Monolithic push of a small blob (fixtures only): POST ?digest= with the body. */
  async pushSmallBlob(repo: string, bytes: Buffer, digest: string): Promise<void> {
    const node = this.operationNode();
    const r = await this.request('POST', `/v2/${repo}/blobs/uploads/?digest=${digest}`, {
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(bytes.length) },
      body: [bytes],
      node,
    });
    if (r.status === 201) return;
    // Monolithic POST is optional for registries; fall back to POST + PUT with the body.
    expectStatus(r, 202, `POST upload ${repo}`);
    const put = location(r, this.base);
    put.searchParams.set('digest', digest);
    const done = await this.request('PUT', put, {
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(bytes.length) },
      body: [bytes],
      node,
    });
    expectStatus(done, 201, `PUT upload ${repo} ${digest}`);
  }

  async putManifest(repo: string, reference: string, manifest: Buffer, mediaType = OCI_MANIFEST): Promise<void> {
    const r = await this.request('PUT', `/v2/${repo}/manifests/${reference}`, {
      headers: { 'content-type': mediaType, 'content-length': String(manifest.length) },
      body: [manifest],
    });
    expectStatus(r, 201, `PUT manifest ${repo}:${reference}`);
  }

  /** GETs a manifest with the OCI Accept header; checks size and Docker-Content-Digest; returns bytes. */
  async getManifest(repo: string, reference: string, expect: { digest: string; size: number }): Promise<number> {
    const r = await this.request('GET', `/v2/${repo}/manifests/${reference}`, { headers: { accept: MANIFEST_ACCEPT } });
    expectStatus(r, 200, `GET manifest ${repo}:${reference}`);
    if (r.bytes !== expect.size || r.headers['docker-content-digest'] !== expect.digest) {
      throw new Error(`GET manifest ${repo}:${reference}: ${r.bytes} bytes, digest ${String(r.headers['docker-content-digest'])}`);
    }
    return r.bytes;
  }

  /** GETs the tag list; parses it when `parse` (to check it once), else only counts bytes. */
  async listTags(repo: string, parse: boolean): Promise<{ bytes: number; tags?: string[] }> {
    const r = await this.request('GET', `/v2/${repo}/tags/list`, { mode: parse ? 'buffer' : 'drain' });
    expectStatus(r, 200, `GET tags ${repo}`);
    if (!parse) return { bytes: r.bytes };
    const doc = JSON.parse(r.body!.toString('utf8')) as { tags?: string[] };
    return { bytes: r.bytes, tags: doc.tags ?? [] };
  }
}

async function writeAll(req: http.ClientRequest, body: Iterable<Buffer>): Promise<void> {
  for (const chunk of body) {
    if (req.destroyed) throw new Error('request destroyed while writing the body');
    if (!req.write(chunk)) {
      await new Promise<void>((resolve, reject) => {
        const onDrain = (): void => {
          req.off('error', onError);
          req.off('close', onClose);
          resolve();
        };
        const onError = (e: Error): void => {
          req.off('drain', onDrain);
          req.off('close', onClose);
          reject(e);
        };
        const onClose = (): void => onError(new Error('connection closed while writing the body'));
        req.once('drain', onDrain);
        req.once('error', onError);
        req.once('close', onClose);
      });
    }
  }
}

function expectStatus(r: Reply, status: number, what: string): void {
  if (r.status === status) return;
  const said = r.body && r.body.length > 0 ? `: ${r.body.toString('utf8').slice(0, 300)}` : '';
  throw new Error(`${what}: HTTP ${r.status}, expected ${status}${said}`);
}

function location(r: Reply, base: string): URL {
  const loc = r.headers.location;
  if (!loc) throw new Error(`HTTP ${r.status} without a Location header`);
  return new URL(loc, base);
}
