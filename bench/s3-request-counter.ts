import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * An HTTP proxy on 127.0.0.1:0 in front of an S3 endpoint that counts the
 * requests passing through by S3 operation. Only the cost probe routes nodes
 * through it, so the measured rounds carry no extra hop. Requests and answers
 * pass unchanged, Host header included: the SigV4 signature covers the host
 * the node signed for (this proxy's), and the server checks it against the
 * Host header it receives, which is the same.
 */
export class S3RequestCounter {
  readonly counts = new Map<string, number>();
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: http.Server,
    readonly url: string,
  ) {}

  static async start(upstream: string): Promise<S3RequestCounter> {
    const target = new URL(upstream);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
    const server = http.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const counter = new S3RequestCounter(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    server.on('connection', (s) => {
      counter.sockets.add(s);
      s.once('close', () => counter.sockets.delete(s));
    });
    server.on('close', () => agent.destroy());
    server.on('request', (req, res) => {
      const op = s3Operation(req.method ?? 'GET', req.url ?? '/', req.headers);
      counter.counts.set(op, (counter.counts.get(op) ?? 0) + 1);
      // This server answered "100 Continue" already; the SDK does not sign Expect.
      const { expect: _expect, ...headers } = req.headers;
      const up = http.request(
        { agent, host: target.hostname, port: target.port, method: req.method, path: req.url, headers },
        (ures) => {
          res.writeHead(ures.statusCode ?? 502, ures.rawHeaders);
          ures.pipe(res);
        },
      );
      up.on('error', () => res.destroy());
      req.on('error', () => up.destroy());
      res.on('close', () => {
        if (!res.writableFinished) up.destroy();
      });
      req.pipe(up);
    });
    return counter;
  }

  /** A copy of the counts now, to subtract later. */
  snapshot(): Map<string, number> {
    return new Map(this.counts);
  }

  /** Counts since `before`, by operation (operations with no requests left out). */
  since(before: Map<string, number>): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [op, n] of this.counts) {
      const d = n - (before.get(op) ?? 0);
      if (d > 0) out[op] = d;
    }
    return out;
  }

  async stop(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }
}

/**
 * The S3 API operation of a path-style request (/bucket/key?query), from the
 * method, the query parameters and x-amz-copy-source, as the S3 API Reference
 * defines each operation's request
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/API_Operations_Amazon_Simple_Storage_Service.html).
 */
export function s3Operation(method: string, url: string, headers: http.IncomingHttpHeaders): string {
  const u = new URL(url, 'http://s3.invalid');
  const q = u.searchParams;
  const onBucket = u.pathname.replace(/^\/+/, '').split('/').filter(Boolean).length <= 1;
  const copy = headers['x-amz-copy-source'] !== undefined;
  switch (method.toUpperCase()) {
    case 'HEAD':
      return onBucket ? 'HeadBucket' : 'HeadObject';
    case 'GET':
      if (onBucket) return q.has('uploads') ? 'ListMultipartUploads' : q.get('list-type') === '2' ? 'ListObjectsV2' : 'ListObjects';
      return q.has('uploadId') ? 'ListParts' : 'GetObject';
    case 'PUT':
      if (q.has('partNumber') && q.has('uploadId')) return copy ? 'UploadPartCopy' : 'UploadPart';
      return copy ? 'CopyObject' : 'PutObject';
    case 'POST':
      if (q.has('delete')) return 'DeleteObjects';
      if (q.has('uploads')) return 'CreateMultipartUpload';
      if (q.has('uploadId')) return 'CompleteMultipartUpload';
      return 'POST';
    case 'DELETE':
      return q.has('uploadId') ? 'AbortMultipartUpload' : 'DeleteObject';
    default:
      return method.toUpperCase();
  }
}
