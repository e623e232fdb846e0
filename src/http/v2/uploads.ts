import { RegistryError, blobUploadInvalid, digestInvalid } from '../../errors/registry-error.js';
import type { ChunkInfo, UploadStatus } from '../../registry/blob-uploads.js';
import type { Registry } from '../../registry/registry.js';
import { hasBody, sendEmpty, type Ctx } from '../context.js';

/** Location, Range and Docker-Upload-UUID: on every upload reply (distribution-spec "Pushing blobs"). */
function uploadHeaders(s: UploadStatus): Record<string, string | number> {
  return {
    Location: `/v2/${s.repository}/blobs/uploads/${s.id}`,
    // Inclusive end; an empty upload reports 0-0 as Distribution does, which clients expect.
    Range: `0-${Math.max(0, s.size - 1)}`,
    'Docker-Upload-UUID': s.id,
  };
}

/**
 * Content-Range of a chunk: `<start>-<end>` (the spec's form); `bytes ` and a
 * `/<total>` suffix are tolerated because some clients send them.
 */
export function parseContentRange(header: string | undefined): { start: number; end: number } | undefined {
  if (header === undefined) return undefined;
  const m = /^(?:bytes[ =])?(\d{1,15})-(\d{1,15})(?:\/(?:\d+|\*))?$/.exec(header.trim());
  if (!m) throw new RegistryError('RANGE_INVALID', `malformed Content-Range ${JSON.stringify(header.slice(0, 60))}`);
  const start = Number(m[1]);
  const end = Number(m[2]);
  if (end < start) throw new RegistryError('RANGE_INVALID', `Content-Range end ${end} is before start ${start}`);
  return { start, end };
}

function chunkInfo(ctx: Ctx): ChunkInfo {
  const len = ctx.req.headers['content-length'];
  let length: number | undefined;
  if (len !== undefined) {
    length = Number(len);
    if (!Number.isSafeInteger(length) || length < 0) throw blobUploadInvalid('invalid Content-Length');
  }
  return { range: parseContentRange(ctx.req.headers['content-range'] as string | undefined), length };
}

export function uploadRoutes(registry: Registry) {
  const uploads = registry.uploads;
  return {
    /** POST /v2/<name>/blobs/uploads/: start, monolithic (?digest=) or mount (?mount=&from=). */
    async start(ctx: Ctx): Promise<void> {
      const name = ctx.params.name!;
      registry.checkName(name);
      const mount = ctx.query.get('mount');
      const from = ctx.query.get('from');
      if (mount !== null) {
        const digest = registry.parseDigest(mount);
        // Mounting reads `from`: only when the caller may pull it (access control on) is it tried.
        const mayRead = from !== null && (ctx.auth ? await ctx.auth.allows(from, 'pull') : true);
        if (from !== null && mayRead && (await registry.mountBlob(name, digest, from))) {
          sendEmpty(ctx, 201, { Location: `/v2/${name}/blobs/${digest}`, 'Docker-Content-Digest': digest.toString() });
          return;
        }
        // Not mountable: fall back to a plain upload session (202), as the spec says.
      }
      const digestParam = ctx.query.get('digest');
      if (digestParam !== null && mount === null) {
        registry.parseDigest(digestParam);
        const session = await uploads.start(name);
        try {
          const done = await uploads.finish(name, session.id, digestParam, ctx.req, chunkInfo(ctx), ctx.signal);
          sendEmpty(ctx, 201, { Location: `/v2/${name}/blobs/${done.digest}`, 'Docker-Content-Digest': done.digest.toString() });
        } catch (e) {
          await uploads.cancel(name, session.id).catch(() => undefined);
          throw e;
        }
        return;
      }
      const s = await uploads.start(name);
      sendEmpty(ctx, 202, uploadHeaders(s));
    },

    /** PATCH: append a chunk (Content-Range) or a stream (no Content-Range). */
    async patch(ctx: Ctx): Promise<void> {
      const name = ctx.params.name!;
      registry.checkName(name);
      const s = await uploads.append(name, ctx.params.id!, ctx.req, chunkInfo(ctx), ctx.signal);
      sendEmpty(ctx, 202, uploadHeaders(s));
    },

    /** PUT ?digest=: finish, with or without a last chunk in the body. */
    async finish(ctx: Ctx): Promise<void> {
      const name = ctx.params.name!;
      registry.checkName(name);
      const digestParam = ctx.query.get('digest');
      if (digestParam === null) throw digestInvalid('the digest query parameter is required');
      const body = hasBody(ctx) ? ctx.req : undefined;
      const done = await uploads.finish(name, ctx.params.id!, digestParam, body, chunkInfo(ctx), ctx.signal);
      sendEmpty(ctx, 201, { Location: `/v2/${name}/blobs/${done.digest}`, 'Docker-Content-Digest': done.digest.toString() });
    },

    /** GET: upload status, 204 with Range. */
    async status(ctx: Ctx): Promise<void> {
      const name = ctx.params.name!;
      registry.checkName(name);
      const s = await uploads.status(name, ctx.params.id!);
      sendEmpty(ctx, 204, uploadHeaders(s));
    },

    /** DELETE: cancel, 204. */
    async cancel(ctx: Ctx): Promise<void> {
      const name = ctx.params.name!;
      registry.checkName(name);
      await uploads.cancel(name, ctx.params.id!);
      sendEmpty(ctx, 204);
    },
  };
}
