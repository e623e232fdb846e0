import { RegistryError, nameInvalid } from '../../errors/registry-error.js';
import { actorOf } from '../../auth/access-control.js';
import type { Identity } from '../../auth/rbac.js';
import { formatScope, parseScopes, type Access } from '../../auth/scope.js';
import { readBody, sendJson, type Ctx, type Handler } from '../context.js';
import { decodeBasic, type HttpAuth } from './http-auth.js';

/**
 * The token endpoint (https://distribution.github.io/distribution/spec/auth/token/
 * and .../spec/auth/oauth/): GET with optional basic credentials, POST with the
 * OAuth2 password and refresh_token grants `docker login` uses. A token grants
 * only the intersection of what was asked and what the caller may do; asking
 * for more is not an error, it just is not granted.
 */
export function tokenRoutes(auth: HttpAuth, service: string): { GET: Handler; POST: Handler } {
  const ac = auth.ac;

  const scopesOf = (ctx: Ctx, list: string[]): Access[] => {
    const { scopes, errors } = parseScopes(list);
    if (errors.length > 0) {
      const e = errors[0]!;
      auth.record(ctx, undefined, 'token.issue', e.scope.slice(0, 200), 'denied', { error: e.error });
      throw nameInvalid(`invalid scope ${JSON.stringify(e.scope.slice(0, 200))}: ${e.error}`);
    }
    return scopes;
  };

  const checkService = (s: string | null) => {
    if (s !== null && s !== '' && s !== service) {
      throw new RegistryError('UNSUPPORTED', `this token endpoint serves "${service}", not ${JSON.stringify(s.slice(0, 100))}`, {
        status: 400,
      });
    }
  };

  const issue = async (ctx: Ctx, identity: Identity, requested: Access[], withRefresh: boolean) => {
    const granted = await ac.grant(identity, requested);
    const subject = identity.kind === 'anonymous' ? 'anonymous' : identity.name;
    const t = await ac.tokens.issue(subject, granted);
    auth.record(ctx, { identity }, 'token.issue', granted.map(formatScope).join(' ').slice(0, 1000), 'ok', {
      requested: requested.map(formatScope),
    });
    const body: Record<string, unknown> = { token: t.token, access_token: t.token, expires_in: t.expiresIn, issued_at: t.issuedAt };
    if (withRefresh && identity.kind !== 'anonymous') body.refresh_token = await ac.tokens.issueRefresh(subject);
    sendJson(ctx, 200, body, { 'Cache-Control': 'no-store' });
  };

  const login = async (ctx: Ctx, username: string, password: string): Promise<Identity> => {
    try {
      const identity = await ac.login(username, password, ctx.req.socket.remoteAddress ?? '');
      auth.record(ctx, { identity }, 'login', username, 'ok');
      return identity;
    } catch (e) {
      auth.record(ctx, { identity: { kind: 'user', name: username.slice(0, 128), systemAdmin: false, roles: {} } }, 'login', username.slice(0, 128), 'failed', {
        reason: (e as Error).message,
      });
      if (e instanceof RegistryError && e.code === 'TOOMANYREQUESTS') {
        const after = (e.detail as { retryAfterSeconds?: number } | undefined)?.retryAfterSeconds;
        if (after) ctx.res.setHeader('Retry-After', String(after));
      }
      throw e;
    }
  };

  return {
    GET: async (ctx) => {
      checkService(ctx.query.get('service'));
      const requested = scopesOf(ctx, ctx.query.getAll('scope').flatMap((s) => s.split(' ').filter((x) => x !== '')));
      const header = ctx.req.headers.authorization;
      let identity: Identity = { kind: 'anonymous' };
      if (header !== undefined) {
        if (!/^basic /i.test(header)) throw new RegistryError('UNAUTHORIZED', 'the token endpoint takes HTTP basic credentials');
        const { username, password } = decodeBasic(header.slice(6).trim());
        identity = await login(ctx, username, password);
      }
      await issue(ctx, identity, requested, ctx.query.get('offline_token') === 'true');
    },
    POST: async (ctx) => {
      const form = new URLSearchParams((await readBody(ctx, 64 * 1024, () => new RegistryError('UNSUPPORTED', 'token request too large', { status: 413 }))).toString('utf8'));
      checkService(form.get('service'));
      const requested = scopesOf(ctx, (form.get('scope') ?? '').split(' ').filter((x) => x !== ''));
      const grant = form.get('grant_type');
      if (grant === 'password') {
        const identity = await login(ctx, form.get('username') ?? '', form.get('password') ?? '');
        await issue(ctx, identity, requested, form.get('access_type') === 'offline');
        return;
      }
      if (grant === 'refresh_token') {
        const v = await ac.tokens.verifyRefresh(form.get('refresh_token') ?? '');
        if ('error' in v) {
          auth.record(ctx, undefined, 'token.refresh', '', 'denied', { error: v.error });
          throw new RegistryError('UNAUTHORIZED', `invalid refresh token: ${v.error}`);
        }
        const identity = await ac.identity(v.subject);
        const user = identity?.kind === 'user' ? await ac.store.getUser(v.subject) : undefined;
        // A password change (or disabling) revokes the refresh tokens issued before it.
        if (!identity || (identity.kind === 'user' && (!user || user.updatedAt > v.issuedAt))) {
          auth.record(ctx, undefined, 'token.refresh', v.subject, 'denied', { error: 'revoked' });
          throw new RegistryError('UNAUTHORIZED', 'refresh token revoked');
        }
        await issue(ctx, identity, requested, true);
        ctx.log.debug({ actor: actorOf(identity) }, 'token refreshed');
        return;
      }
      throw new RegistryError('UNSUPPORTED', `grant_type must be password or refresh_token`, { status: 400 });
    },
  };
}
