import { manifestInvalid, manifestUnknown } from '../../errors/registry-error.js';
import { baseMediaType } from '../../oci/media-type.js';
import type { Registry } from '../../registry/registry.js';
import { readBody, sendEmpty, type Ctx } from '../context.js';

/**
 * Accept negotiation for a manifest fetched by tag: the stored bytes are the
 * only representation (digest stability), so they are served when the client
 * accepts their media type, any type, or says nothing; otherwise the
 * manifest is unknown in the requested types (as CNCF Distribution answers).
 */
export function acceptable(accept: string | undefined, mediaType: string): boolean {
  if (!accept) return true;
  const types = accept.split(',').map((t) => baseMediaType(t));
  return types.some((t) => t === mediaType || t === '*/*' || t === 'application/*' || t === '');
}

export function manifestRoutes(registry: Registry, maxManifestBytes: number) {
  return {
    /** GET/HEAD /v2/<name>/manifests/<reference>. */
    async get(ctx: Ctx): Promise<void> {
      const name = ctx.params.name!;
      registry.checkName(name);
      const reference = registry.parseReference(ctx.params.reference!);
      const isGet = ctx.req.method === 'GET';
      const { record, bytes, stale } = await registry.getManifest(name, reference, isGet);
      if ('tag' in reference && !acceptable(ctx.req.headers.accept, record.mediaType)) {
        throw manifestUnknown(reference.tag, {
          reference: reference.tag,
          mediaType: record.mediaType,
          reason: 'not available in the media types the client accepts',
        });
      }
      const etag = `"${record.digest}"`;
      const headers: Record<string, string | number> = {
        'Content-Type': record.mediaType,
        'Content-Length': bytes.length,
        'Docker-Content-Digest': record.digest,
        ETag: etag,
      };
      // A pull-through cache answering from its copy while the upstream is unreachable says so.
      if (stale) headers['X-Berth-Cache'] = 'stale';
      if (ctx.req.headers['if-none-match'] === etag) {
        sendEmpty(ctx, 304, { 'Docker-Content-Digest': record.digest, ETag: etag });
        return;
      }
      ctx.res.writeHead(200, headers);
      ctx.res.end(isGet ? bytes : undefined);
    },

    /** PUT /v2/<name>/manifests/<reference> (distribution-spec "Pushing Manifests"). */
    async put(ctx: Ctx): Promise<void> {
      const name = ctx.params.name!;
      registry.checkName(name);
      const reference = registry.parseReference(ctx.params.reference!);
      const bytes = await readBody(ctx, maxManifestBytes, (size) =>
        manifestInvalid(`manifest is ${size} bytes; the limit is ${maxManifestBytes}`, 413),
      );
      const { digest, subject } = await registry.putManifest(name, reference, bytes, ctx.req.headers['content-type']);
      const headers: Record<string, string> = {
        Location: `/v2/${name}/manifests/${digest}`,
        'Docker-Content-Digest': digest.toString(),
      };
      if (subject) headers['OCI-Subject'] = subject;
      sendEmpty(ctx, 201, headers);
    },

    /** DELETE by digest (manifest and its tags) or by tag (the tag only): 202. */
    async delete(ctx: Ctx): Promise<void> {
      const name = ctx.params.name!;
      registry.checkName(name);
      const reference = registry.parseReference(ctx.params.reference!);
      await registry.deleteManifest(name, reference);
      sendEmpty(ctx, 202);
    },
  };
}
