import { pipeline } from 'node:stream/promises';
import { RegistryError } from '../../errors/registry-error.js';
import type { Registry } from '../../registry/registry.js';
import { sendEmpty, type Ctx } from '../context.js';

/**
 * Parses a single `Range: bytes=...` (RFC 9110 §14.1.2) against `size`.
 * Returns undefined to serve the whole blob (no header, or several ranges,
 * which a server may ignore), or throws RANGE_INVALID (416) when unsatisfiable.
 */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | undefined {
  if (!header) return undefined;
  // RFC 9110 §14.2: a Range in a unit the server does not understand is ignored.
  if (!/^\s*bytes=/i.test(header)) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m) {
    if (/^bytes=.*,/.test(header)) return undefined;
    throw unsatisfiable(size);
  }
  const [, a, b] = m as unknown as [string, string, string];
  let start: number;
  let end: number;
  if (a === '' && b === '') throw unsatisfiable(size);
  if (a === '') {
    const n = Number(b);
    if (n === 0) throw unsatisfiable(size);
    start = Math.max(0, size - n);
    end = size - 1;
  } else {
    start = Number(a);
    end = b === '' ? size - 1 : Math.min(Number(b), size - 1);
    if (b !== '' && Number(b) < start) throw unsatisfiable(size);
  }
  if (!Number.isSafeInteger(start) || start >= size) throw unsatisfiable(size);
  return { start, end };
}

function unsatisfiable(size: number): RegistryError {
  return new RegistryError('RANGE_INVALID', 'requested range not satisfiable', { detail: { size } });
}

export function blobRoutes(registry: Registry) {
  return {
    /** GET/HEAD /v2/<name>/blobs/<digest> (distribution-spec "Pulling blobs"). */
    async get(ctx: Ctx): Promise<void> {
      const name = ctx.params.name!;
      registry.checkName(name);
      const digest = registry.parseDigest(ctx.params.digest!);
      const { size } = await registry.statBlob(name, digest);
      const etag = `"${digest}"`;
      const headers: Record<string, string | number> = {
        'Content-Type': 'application/octet-stream',
        'Docker-Content-Digest': digest.toString(),
        ETag: etag,
        'Accept-Ranges': 'bytes',
        'Cache-Control': 'max-age=31536000',
      };
      if (ctx.req.headers['if-none-match'] === etag) {
        sendEmpty(ctx, 304, { 'Docker-Content-Digest': digest.toString(), ETag: etag });
        return;
      }
      if (ctx.req.method === 'GET' && size > 0) {
        // Bytes flow from the object store, not through this node; a Range header is re-sent there by the client.
        const location = await registry.blobRedirect(digest);
        if (location) {
          ctx.res.writeHead(307, { Location: location, 'Docker-Content-Digest': digest.toString(), 'Content-Length': 0 });
          ctx.res.end();
          return;
        }
      }
      let range: { start: number; end: number } | undefined;
      try {
        range = parseRange(ctx.req.headers.range, size);
      } catch (e) {
        ctx.res.setHeader('Content-Range', `bytes */${size}`);
        throw e;
      }
      if (range) {
        headers['Content-Range'] = `bytes ${range.start}-${range.end}/${size}`;
        headers['Content-Length'] = range.end - range.start + 1;
      } else {
        headers['Content-Length'] = size;
      }
      const status = range ? 206 : 200;
      if (ctx.req.method === 'HEAD' || size === 0) {
        ctx.res.writeHead(status, headers);
        ctx.res.end();
        return;
      }
      const stream = await registry.readBlob(digest, range, ctx.signal);
      ctx.res.writeHead(status, headers);
      await pipeline(stream, ctx.res, { signal: ctx.signal });
    },

    /** DELETE /v2/<name>/blobs/<digest>: 202 (distribution-spec "Deleting Blobs"). */
    async delete(ctx: Ctx): Promise<void> {
      const name = ctx.params.name!;
      registry.checkName(name);
      const digest = registry.parseDigest(ctx.params.digest!);
      await registry.deleteBlob(name, digest);
      sendEmpty(ctx, 202, { 'Docker-Content-Digest': digest.toString() });
    },
  };
}
