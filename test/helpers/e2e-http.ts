import { request, type IncomingHttpHeaders } from 'node:http';
import { sha256, type Blob } from './oci.js';
import { sleep } from './e2e-process.js';

/** What became of a request whose body was streamed piece by piece. */
export interface StreamOutcome {
  /** Body bytes handed to the socket before the request ended or was cut. */
  sent: number;
  status?: number;
  headers?: IncomingHttpHeaders;
  body?: string;
  /** Set when the connection failed (e.g. the server was killed). */
  error?: Error;
}

export interface StreamOptions {
  method: string;
  headers: Record<string, string>;
  body: Buffer;
  /** Bytes per write (default 64 KiB). */
  pieceSize?: number;
  /** Pause between writes (default 2 ms), so the server sees a slow client. */
  delayMs?: number;
  /**
   * Stop writing once this many bytes were written, then call onStop (which is
   * expected to kill the server) and wait for the request to fail. When
   * undefined the whole body is sent and the request ended normally.
   */
  stopAfter?: number;
  onStop?: (sent: number) => Promise<void>;
  /** Bound on the whole exchange (default 60 s); the request is destroyed after it. */
  timeoutMs?: number;
}

/**
 * Sends a request with node:http, writing the body slowly so a test can kill
 * the server while the body is still arriving. Never rejects.
 */
export function streamRequest(url: string, opts: StreamOptions): Promise<StreamOutcome> {
  const piece = opts.pieceSize ?? 64 * 1024;
  const delay = opts.delayMs ?? 2;
  const limit = Math.min(opts.stopAfter ?? opts.body.length, opts.body.length);
  return new Promise((resolve) => {
    let sent = 0;
    let done = false;
    const finish = (o: Omit<StreamOutcome, 'sent'>) => {
      if (done) return;
      done = true;
      clearTimeout(guard);
      resolve({ sent, ...o });
    };
    const req = request(url, { method: opts.method, headers: opts.headers, agent: false });
    const guard = setTimeout(() => {
      req.destroy(new Error(`streamRequest: no outcome within ${opts.timeoutMs ?? 60_000} ms`));
    }, opts.timeoutMs ?? 60_000);
    req.on('error', (error) => finish({ error }));
    req.on('response', (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('error', (error) => finish({ error, status: res.statusCode, headers: res.headers }));
      res.on('end', () =>
        finish({ status: res.statusCode, headers: res.headers, body: Buffer.concat(parts).toString('utf8') }),
      );
    });
    void (async () => {
      // Bounded: at most body.length / piece iterations.
      while (sent < limit && !done && !req.destroyed) {
        const chunk = opts.body.subarray(sent, Math.min(sent + piece, limit));
        const ok = req.write(chunk);
        sent += chunk.length;
        if (!ok) await new Promise<void>((r) => {
          const t = setTimeout(r, 5_000);
          req.once('drain', () => {
            clearTimeout(t);
            r();
          });
        });
        if (delay > 0) await sleep(delay);
      }
      if (done || req.destroyed) return;
      if (opts.stopAfter !== undefined && opts.stopAfter < opts.body.length) {
        await opts.onStop?.(sent);
        // Killing the server ends the connection; make sure we do not hang if it did not.
        await sleep(200);
        if (!done) req.destroy(new Error('request abandoned after onStop'));
      } else {
        req.end();
      }
    })();
  });
}

// --- small registry client pieces over fetch ---------------------------------

export const ACCEPT_ALL_MANIFESTS = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
].join(', ');

export interface FetchedManifest {
  status: number;
  digestHeader: string | null;
  contentType: string | null;
  bytes: Buffer;
}

export async function getManifest(base: string, repo: string, reference: string): Promise<FetchedManifest> {
  const r = await fetch(`${base}/v2/${repo}/manifests/${reference}`, { headers: { Accept: ACCEPT_ALL_MANIFESTS } });
  return {
    status: r.status,
    digestHeader: r.headers.get('docker-content-digest'),
    contentType: r.headers.get('content-type'),
    bytes: Buffer.from(await r.arrayBuffer()),
  };
}

export async function getBlob(base: string, repo: string, digest: string): Promise<{ status: number; bytes: Buffer }> {
  const r = await fetch(`${base}/v2/${repo}/blobs/${digest}`);
  return { status: r.status, bytes: Buffer.from(await r.arrayBuffer()) };
}

/** The `code` of the first error in a distribution-spec error body, or undefined. */
export function errorCode(body: Buffer | string): string | undefined {
  try {
    const j = JSON.parse(body.toString()) as { errors?: { code?: string }[] };
    return j.errors?.[0]?.code;
  } catch {
    return undefined;
  }
}

/** Inclusive end of a `Range: 0-<end>` upload header as a byte count ("0-0" is ambiguous: 0 or 1 byte). */
export function rangeEnd(range: string | null | undefined): number | undefined {
  const m = /^0-(\d+)$/.exec(range ?? '');
  return m ? Number(m[1]) : undefined;
}

/**
 * Pushes a blob as a chunked upload (POST, PATCH per chunk with Content-Range,
 * PUT ?digest=). Returns the final status; throws only on network errors.
 */
export async function pushBlobChunked(base: string, repo: string, b: Blob, chunkSize: number): Promise<number> {
  const start = await fetch(`${base}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  await start.arrayBuffer();
  if (start.status !== 202) return start.status;
  let location = new URL(start.headers.get('location') ?? '', base).toString();
  for (let off = 0; off < b.size; off += chunkSize) {
    const chunk = b.bytes.subarray(off, Math.min(off + chunkSize, b.size));
    const r = await fetch(location, {
      method: 'PATCH',
      headers: {
        'Content-Type': 'application/octet-stream',
        'Content-Length': String(chunk.length),
        'Content-Range': `${off}-${off + chunk.length - 1}`,
      },
      body: new Uint8Array(chunk),
    });
    await r.arrayBuffer();
    if (r.status !== 202) return r.status;
    location = new URL(r.headers.get('location') ?? location, base).toString();
  }
  const sep = location.includes('?') ? '&' : '?';
  const done = await fetch(`${location}${sep}digest=${b.digest}`, { method: 'PUT', headers: { 'Content-Length': '0' } });
  await done.arrayBuffer();
  return done.status;
}

/** Checks a blob is fetchable in `repo` with the expected digest and size; returns a problem or undefined. */
export async function blobProblem(base: string, repo: string, digest: string, size?: number): Promise<string | undefined> {
  const r = await getBlob(base, repo, digest);
  if (r.status !== 200) return `${repo}@${digest}: GET status ${r.status}`;
  if (sha256(r.bytes) !== digest) return `${repo}@${digest}: served bytes hash to ${sha256(r.bytes)}`;
  if (size !== undefined && r.bytes.length !== size) return `${repo}@${digest}: ${r.bytes.length} bytes, descriptor says ${size}`;
  return undefined;
}
