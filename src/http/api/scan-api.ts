import { manifestUnknown, policyInvalid } from '../../errors/registry-error.js';
import type { Registry } from '../../registry/registry.js';
import type { ScanService } from '../../scan/scan-service.js';
import { sendJson, type Ctx, type Handler } from '../context.js';

/**
 * GET /api/v1/scan/<name>/<digest>: the kept scan report of a manifest in a
 * repository (docs/management-api.md); POST queues a scan now. Reading needs
 * pull on the repository, scanning push.
 */
export function scanRoutes(registry: Registry, scans: ScanService): { GET: Handler; POST: Handler } {
  const target = async (ctx: Ctx) => {
    const name = ctx.params.name!;
    registry.checkName(name);
    const digest = registry.parseDigest(ctx.params.digest!).toString();
    // The manifest must be in this repository: reports are per digest, access is per repository.
    if (!(await registry.hasManifest(name, digest))) throw manifestUnknown(digest);
    return { name, digest };
  };
  return {
    GET: async (ctx) => {
      const { name, digest } = await target(ctx);
      const kept = await scans.report(digest);
      if (!kept) return sendJson(ctx, 200, { repository: name, digest, status: 'not-scanned' });
      const { record, report } = kept;
      sendJson(ctx, 200, {
        repository: name,
        digest,
        status: record.status,
        scannedAt: new Date(record.scannedAt).toISOString(),
        advisoryGeneration: record.generation,
        counts: record.counts,
        ...(report.kind === 'image'
          ? { os: report.result.os ?? null, packages: report.result.packages.length, findings: report.result.findings, warnings: report.result.warnings }
          : report.kind === 'index'
            ? { platforms: report.platforms }
            : { error: report.error }),
      });
    },
    POST: async (ctx) => {
      const { name, digest } = await target(ctx);
      if (ctx.query.has('wait') && ctx.query.get('wait') !== 'true') throw policyInvalid('wait must be true', { field: 'wait' });
      if (ctx.query.get('wait') === 'true') {
        const r = await scans.scan(name, digest, ctx.signal);
        return sendJson(ctx, 200, { repository: name, digest, status: r.status, counts: r.counts });
      }
      scans.queue(name, digest);
      sendJson(ctx, 202, { repository: name, digest, status: 'queued' });
    },
  };
}
