import { RegistryError } from '../../errors/registry-error.js';
import { MediaType } from '../../oci/media-type.js';
import type { Page } from '../../metadata/metadata-store.js';
import type { Registry } from '../../registry/registry.js';
import { sendJson, type Ctx } from '../context.js';

/** Default and largest page when the client gives no `n` (keeps responses bounded). */
const DEFAULT_PAGE = 1000;
const MAX_PAGE = 10000;

function page(ctx: Ctx): Page & { n: number } {
  const nParam = ctx.query.get('n');
  let n = DEFAULT_PAGE;
  if (nParam !== null) {
    if (!/^\d{1,9}$/.test(nParam)) {
      throw new RegistryError('UNSUPPORTED', 'n must be a non-negative integer', { status: 400, detail: { n: nParam.slice(0, 20) } });
    }
    n = Math.min(Number(nParam), MAX_PAGE);
  }
  const last = ctx.query.get('last') ?? undefined;
  return { n, last };
}

/** RFC 5988 Link to the next page, when this page was full. */
function linkHeader(path: string, n: number, items: string[]): Record<string, string> {
  if (n === 0 || items.length < n) return {};
  const last = items[items.length - 1]!;
  return { Link: `<${path}?n=${n}&last=${encodeURIComponent(last)}>; rel="next"` };
}

export function discoveryRoutes(registry: Registry) {
  return {
    /** GET /v2/<name>/tags/list?n=&last= (distribution-spec "Listing Tags"). */
    async tags(ctx: Ctx): Promise<void> {
      const name = ctx.params.name!;
      registry.checkName(name);
      const p = page(ctx);
      const tags = p.n === 0 ? (await registry.listTags(name, { n: 1 }), []) : await registry.listTags(name, p);
      sendJson(ctx, 200, { name, tags }, linkHeader(`/v2/${name}/tags/list`, p.n, tags));
    },

    /** GET /v2/_catalog?n=&last=. */
    async catalog(ctx: Ctx): Promise<void> {
      const p = page(ctx);
      const repositories = p.n === 0 ? [] : await visibleRepositories(registry, ctx, p);
      sendJson(ctx, 200, { repositories }, linkHeader('/v2/_catalog', p.n, repositories));
    },

    /** GET /v2/<name>/referrers/<digest>?artifactType= (distribution-spec "Listing Referrers"). */
    async referrers(ctx: Ctx): Promise<void> {
      const name = ctx.params.name!;
      registry.checkName(name);
      const digest = registry.parseDigest(ctx.params.digest!);
      const artifactType = ctx.query.get('artifactType') ?? undefined;
      const { index, filtered } = await registry.referrers(name, digest, artifactType);
      const headers: Record<string, string> = { 'Content-Type': MediaType.OciIndex };
      if (filtered) headers['OCI-Filters-Applied'] = 'artifactType';
      sendJson(ctx, 200, index, headers);
    },
  };
}

/**
 * A catalog page of the repositories the caller may pull (all of them when
 * access control is off): pages of the whole list are read until `n` visible
 * names are found, bounded so a caller who sees little cannot make one request scan everything.
 */
async function visibleRepositories(registry: Registry, ctx: Ctx, p: Page & { n: number }): Promise<string[]> {
  const auth = ctx.auth;
  if (!auth) return registry.listRepositories(p);
  const out: string[] = [];
  let last = p.last;
  for (let round = 0; round < 100 && out.length < p.n; round++) {
    const names = await registry.listRepositories({ n: Math.max(p.n, 100), last });
    for (const name of names) {
      if (out.length < p.n && (await auth.allows(name, 'pull'))) out.push(name);
    }
    if (names.length < Math.max(p.n, 100)) break;
    last = names[names.length - 1];
  }
  return out;
}
