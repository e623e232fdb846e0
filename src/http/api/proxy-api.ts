import { notFound, policyInvalid } from '../../errors/registry-error.js';
import type { AuditStore } from '../../metadata/settings-store.js';
import type { ProxyProjects } from '../../proxy/proxy-projects.js';
import type { CacheEviction } from '../../proxy/cache-eviction.js';
import { sendEmpty, sendJson, type Ctx, type Handler } from '../context.js';
import { readJson } from './management.js';

/** Pull-through cache projects under /api/v1/proxies (docs/management-api.md). */
export function proxyRoutes(
  projects: ProxyProjects,
  eviction: CacheEviction,
  audit: AuditStore,
): Record<string, Partial<Record<string, Handler>>> {
  const project = (ctx: Ctx): string => {
    const p = ctx.query.get('project');
    if (p === null || p === '') throw policyInvalid('the query parameter project is required', { field: 'project' });
    return p;
  };
  const record = (action: string, target: string, detail: unknown) =>
    audit.appendAudit([{ at: Date.now(), actor: 'api', action: `proxy.${action}`, target, detail }]);
  return {
    '/api/v1/proxies': {
      /** Every proxy project, or one with ?project= (404 when it is not one). */
      GET: async (ctx) => {
        const all = await projects.list();
        const one = ctx.query.get('project');
        if (one === null) return sendJson(ctx, 200, { proxies: all });
        const found = all.find((p) => p.project === one);
        if (!found) throw notFound(`proxy project ${one}`);
        sendJson(ctx, 200, found);
      },
      PUT: async (ctx) => {
        const name = project(ctx);
        const v = await projects.put(name, await readJson(ctx));
        // The audit log never holds the upstream password.
        await record('put', name, { ...v, origin: undefined });
        sendJson(ctx, 200, v);
      },
      DELETE: async (ctx) => {
        const name = project(ctx);
        await projects.delete(name);
        await record('delete', name, null);
        sendEmpty(ctx, 204);
      },
    },
    /** Brings a project under its size limit now (eviction also runs after caching and periodically). */
    '/api/v1/proxies/evict': {
      POST: async (ctx) => {
        const name = project(ctx);
        const report = await eviction.evict(name);
        if (!report) throw policyInvalid(`${name} is not a proxy project with maxBytes`, { field: 'project' });
        sendJson(ctx, 200, report);
      },
    },
  };
}
