import type { Registry } from '../../registry/registry.js';
import type { SignatureService } from '../../sign/signature-service.js';
import { sendJson, type Handler } from '../context.js';

/**
 * GET /api/v1/signatures/<name>/<digest>: which signatures the repository's
 * manifest has (cosign bundles, cosign .sig layers, Notation signatures), each
 * verified against the project's signing policy (docs/management-api.md).
 * MANIFEST_UNKNOWN when the repository has no such manifest.
 */
export function signatureRoutes(registry: Registry, signatures: SignatureService): { GET: Handler } {
  return {
    GET: async (ctx) => {
      const name = ctx.params.name!;
      registry.checkName(name);
      const digest = registry.parseDigest(ctx.params.digest!).toString();
      const s = await signatures.status(name, digest);
      sendJson(ctx, 200, { repository: name, ...s, checkedAt: new Date(s.checkedAt).toISOString() });
    },
  };
}
