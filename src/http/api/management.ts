import { policyInvalid } from '../../errors/registry-error.js';
import type { PolicyKind, AuditStore, UsageStore } from '../../metadata/settings-store.js';
import type { GarbageCollector } from '../../gc/garbage-collector.js';
import type { LifecycleService } from '../../lifecycle/lifecycle-service.js';
import type { SettingsService } from '../../lifecycle/settings-service.js';
import type { Quota } from '../../lifecycle/quota.js';
import { checkTarget } from '../../lifecycle/settings-service.js';
import { readBody, sendEmpty, sendJson, type Ctx, type Handler } from '../context.js';

/** What the management API (/api/v1, docs/management-api.md) is built from. */
export interface ManagementServices {
  settings: SettingsService;
  lifecycle: LifecycleService;
  gc: GarbageCollector;
  usage: UsageStore;
  audit: AuditStore;
  /** GC grace: unreferenced links older than this are garbage and left out of usage. */
  graceMs: number;
  /** More /api/v1 routes (users, projects, members, robots when access control is on). */
  extra?: Record<string, Partial<Record<string, Handler>>>;
}

/** Settings documents are small; this bounds what a request body may make the server parse. */
const MAX_DOCUMENT_BYTES = 256 * 1024;

function param(ctx: Ctx, name: string): string {
  const v = ctx.query.get(name);
  if (v === null || v === '') throw policyInvalid(`the query parameter ${name} is required`, { field: name });
  return v;
}

/** The request body as JSON, at most MAX_DOCUMENT_BYTES; POLICY_INVALID when it is not JSON. */
export async function readJson(ctx: Ctx): Promise<unknown> {
  const body = await readBody(ctx, MAX_DOCUMENT_BYTES, (n) =>
    policyInvalid(`document is ${n} bytes; the limit is ${MAX_DOCUMENT_BYTES}`),
  );
  try {
    return JSON.parse(body.toString('utf8')) as unknown;
  } catch (e) {
    throw policyInvalid(`body is not valid JSON: ${(e as Error).message}`);
  }
}

/** GET, PUT and DELETE of one kind of settings document, addressed by `?key=target`. */
function settingRoutes(s: SettingsService, audit: AuditStore, kind: PolicyKind, key: string, shape: (doc: unknown) => object) {
  const record = (action: string, target: string, detail: unknown) =>
    audit.appendAudit([{ at: Date.now(), actor: 'api', action: `${kind}.${action}`, target, detail }]);
  const view = (target: string, document: unknown, updatedAt: number) => ({
    [key]: target,
    ...shape(document),
    updatedAt: new Date(updatedAt).toISOString(),
  });
  return {
    GET: (async (ctx) => {
      const target = param(ctx, key);
      const r = await s.require(kind, target);
      sendJson(ctx, 200, view(target, r.document, r.updatedAt));
    }) as Handler,
    PUT: (async (ctx) => {
      const target = param(ctx, key);
      const input = await readJson(ctx);
      // Documents are JSON objects; a JSON string holding a document is refused, not unwrapped.
      if (typeof input !== 'object' || input === null || Array.isArray(input)) {
        throw policyInvalid('the body must be a JSON object (the document itself, not a string or array holding it)');
      }
      const r = await s.put(kind, target, input);
      await record('put', target, input);
      // The stored form is the document as sent (verbatim ECR JSON); answer with it.
      sendJson(ctx, 200, view(target, kind === 'lifecycle' ? input : r.document, r.updatedAt));
    }) as Handler,
    DELETE: (async (ctx) => {
      const target = param(ctx, key);
      await s.delete(kind, target);
      await record('delete', target, null);
      sendEmpty(ctx, 204);
    }) as Handler,
  };
}

export function managementRoutes(m: ManagementServices): Record<string, Partial<Record<string, Handler>>> {
  return {
    ...m.extra,
    '/api/v1/lifecycle/policy': settingRoutes(m.settings, m.audit, 'lifecycle', 'target', (policy) => ({ policy })),
    '/api/v1/scanning/policy': settingRoutes(m.settings, m.audit, 'scanning', 'target', (policy) => ({ policy })),
    '/api/v1/signing/policy': settingRoutes(m.settings, m.audit, 'signing', 'target', (policy) => ({ policy })),
    '/api/v1/immutability': settingRoutes(m.settings, m.audit, 'immutability', 'target', (doc) => ({
      rules: (doc as { rules: unknown }).rules,
    })),
    '/api/v1/quota': settingRoutes(m.settings, m.audit, 'quota', 'project', (doc) => ({
      bytes: (doc as Quota).bytes,
      tags: (doc as Quota).tags,
    })),
    '/api/v1/lifecycle/preview': {
      GET: async (ctx) => {
        const repository = param(ctx, 'repository');
        const nowText = ctx.query.get('now');
        const at = nowText === null ? undefined : parseInstant(nowText);
        sendJson(ctx, 200, await m.lifecycle.preview(repository, at));
      },
    },
    '/api/v1/lifecycle/apply': {
      POST: async (ctx) => sendJson(ctx, 200, await m.lifecycle.apply(param(ctx, 'repository'), 'api')),
    },
    '/api/v1/usage': {
      GET: async (ctx) => {
        const project = ctx.query.get('project') ?? undefined;
        if (project !== undefined && project !== '') checkTarget('quota', project);
        const projects = await m.usage.usage(Date.now() - m.graceMs, project === '' ? undefined : project);
        const withQuota = await Promise.all(
          projects.map(async (p) => {
            const q = await m.settings.quotaFor<Quota>(p.project);
            return { ...p, quota: q ? { bytes: q.document.bytes, tags: q.document.tags } : null };
          }),
        );
        sendJson(ctx, 200, { projects: withQuota });
      },
    },
    '/api/v1/gc': {
      POST: async (ctx) => {
        const dry = ctx.query.get('dryRun');
        if (dry !== null && dry !== 'true' && dry !== 'false') throw policyInvalid('dryRun must be true or false', { field: 'dryRun' });
        const report = await m.gc.run({ dryRun: dry === 'true', signal: ctx.signal });
        if (!report.dryRun) await m.audit.appendAudit([{ at: Date.now(), actor: 'api', action: 'gc.run', target: 'registry', detail: report }]);
        sendJson(ctx, 200, report);
      },
    },
    '/api/v1/audit': {
      GET: async (ctx) => {
        const limitText = ctx.query.get('limit') ?? '100';
        const limit = Number(limitText);
        if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) {
          throw policyInvalid('limit must be a whole number from 1 to 10000', { field: 'limit' });
        }
        const sinceText = ctx.query.get('since');
        const beforeText = ctx.query.get('before');
        const project = ctx.query.get('project');
        if (beforeText !== null && !/^\d{1,15}$/.test(beforeText)) throw policyInvalid('before must be an entry id', { field: 'before' });
        const entries = await m.audit.listAudit(limit, {
          since: sinceText === null ? undefined : parseInstant(sinceText, 'since'),
          project: project === null || project === '' ? undefined : project,
          beforeId: beforeText === null ? undefined : Number(beforeText),
        });
        const next = entries.length === limit ? entries[entries.length - 1]!.id : null;
        sendJson(ctx, 200, { entries: entries.map((e) => ({ ...e, at: new Date(e.at).toISOString() })), next });
      },
    },
  };
}

/**
 * An ISO-8601 instant: a date (midnight UTC), or a date and time with `Z` or
 * an offset. A time without a zone is refused (it would depend on the server's
 * zone), and so is a date that does not exist (Date.parse would roll Feb 30 over).
 */
export function parseInstant(text: string, field = 'now'): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/.exec(text);
  const bad = () =>
    policyInvalid(`${field} must be an ISO-8601 time with a zone, such as 2026-12-01T00:00:00Z, not ${JSON.stringify(text.slice(0, 60))}`, {
      field,
    });
  if (!m) throw bad();
  const [y, mo, d, h = '0', mi = '0', sec = '0'] = m.slice(1, 7).map((v) => v ?? undefined) as string[];
  const day = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d)));
  if (day.getUTCFullYear() !== Number(y) || day.getUTCMonth() !== Number(mo) - 1 || day.getUTCDate() !== Number(d)) throw bad();
  if (Number(h) > 23 || Number(mi) > 59 || Number(sec) > 59) throw bad();
  const at = Date.parse(m[4] === undefined ? `${text}T00:00:00Z` : text);
  if (Number.isNaN(at)) throw bad();
  return at;
}
