import { RegistryError, denied } from '../../errors/registry-error.js';
import { projectOf } from '../../metadata/settings-store.js';
import { AccessControl, actorOf } from '../../auth/access-control.js';
import type { AuditRecorder } from '../../auth/audit-recorder.js';
import { isSystemAdmin, type Identity } from '../../auth/rbac.js';
import { CATALOG_NAME, formatScope, type Access, type Action } from '../../auth/scope.js';
import type { Ctx } from '../context.js';

/** What a route needs from the caller. */
export type RequiredAccess =
  | { kind: 'open' }
  /** Any valid credentials (a token, even an anonymous one, or basic): GET /v2/, as `docker login` probes it. */
  | { kind: 'login' }
  | { kind: 'catalog' }
  | { kind: 'repository'; name: string; actions: Action[] }
  /** System admins only: the management API. */
  | { kind: 'admin' };

/** What handlers may ask about the authenticated caller. */
export interface RequestAuth {
  identity: Identity;
  actor: string;
  /** Whether the caller may perform `action` on `repository` (within what the request was granted). */
  allows(repository: string, action: Action): Promise<boolean>;
}

interface Credentials {
  identity: Identity;
  /** The grants of a bearer token; undefined for basic or anonymous (computed on demand). */
  tokenAccess?: Access[];
  presented: 'bearer' | 'basic' | 'none';
}

/**
 * Authentication and authorization at the HTTP edge (Docker token auth and
 * HTTP basic). Sets ctx.auth, or throws UNAUTHORIZED (401, with the challenge
 * clients need in WWW-Authenticate) or DENIED (403) after recording the denial.
 */
export class HttpAuth {
  constructor(
    readonly ac: AccessControl,
    private readonly opts: { service: string; realm?: string; audit: AuditRecorder },
  ) {}

  async check(ctx: Ctx, required: RequiredAccess): Promise<void> {
    if (required.kind === 'open') return;
    const creds = await this.credentials(ctx);
    const auth: RequestAuth = {
      identity: creds.identity,
      actor: actorOf(creds.identity),
      allows: async (repository, action) => (await this.granted(creds, repository, [action])).includes(action),
    };
    ctx.auth = auth;
    switch (required.kind) {
      case 'login':
        if (creds.presented === 'none') this.challenge(ctx, undefined, 'authentication required');
        return;
      case 'catalog': {
        // The catalog needs registry:catalog:* (asked for in the challenge); the listing is then
        // filtered by what the caller may pull now, looked up from their identity, not the token.
        const scope = formatScope({ type: 'registry', name: CATALOG_NAME, actions: ['*'] });
        if (creds.presented === 'none') this.challenge(ctx, scope, 'authentication required');
        if (creds.tokenAccess && !creds.tokenAccess.some((a) => a.type === 'registry' && a.name === CATALOG_NAME)) {
          ctx.res.setHeader('WWW-Authenticate', this.header(ctx, scope, 'insufficient_scope'));
          this.deny(ctx, creds, 'catalog', 'the token does not grant registry:catalog:*', { scope });
        }
        const who = creds.tokenAccess && creds.identity.kind !== 'anonymous' ? await this.ac.identity(creds.identity.name) : creds.identity;
        const viewer = who ?? { kind: 'anonymous' as const };
        ctx.auth = { ...auth, allows: async (repository, action) => action === 'pull' && (await this.ac.canPull(viewer, repository)) };
        return;
      }
      case 'admin': {
        const who = creds.tokenAccess ? await this.ac.identity(actorOf(creds.identity)) : creds.identity;
        if (who && isSystemAdmin(who)) return;
        if (creds.presented === 'none') this.challenge(ctx, undefined, 'authentication required');
        this.deny(ctx, creds, 'management API', 'only system admins may use the management API');
        return;
      }
      case 'repository': {
        const granted = await this.granted(creds, required.name, required.actions);
        const missing = required.actions.filter((a) => !granted.includes(a));
        if (missing.length === 0) return;
        const scope = formatScope({ type: 'repository', name: required.name, actions: required.actions });
        if (creds.presented === 'none') {
          this.record(ctx, creds, 'access', required.name, 'denied', { scope });
          this.challenge(ctx, scope, 'authentication required');
        }
        if (creds.presented === 'bearer') ctx.res.setHeader('WWW-Authenticate', this.header(ctx, scope, 'insufficient_scope'));
        this.deny(ctx, creds, required.name, `${auth.actor} may not ${missing.join(', ')} ${required.name}`, { scope });
      }
    }
  }

  /** Records a successful action (push, pull, delete) of the request's caller. */
  record(ctx: Ctx, creds: { identity: Identity } | undefined, action: string, target: string, outcome: string, detail?: unknown): void {
    // Only accesses to repositories belong to a project; logins and tokens do not.
    const project = action === 'access' && target !== '' ? projectOf(target.split(/[@:]/)[0]!) : null;
    this.opts.audit.record({
      at: Date.now(),
      actor: creds ? actorOf(creds.identity) : (ctx.auth?.actor ?? 'anonymous'),
      action,
      target,
      detail: detail ?? null,
      address: ctx.req.socket.remoteAddress ?? null,
      outcome,
      project,
    });
  }

  /** The WWW-Authenticate value: realm, service and, when known, the scope asked for. */
  header(ctx: Ctx, scope?: string, error?: string): string {
    const parts = [`realm="${this.realm(ctx)}"`, `service="${this.opts.service}"`];
    if (scope) parts.push(`scope="${scope}"`);
    if (error) parts.push(`error="${error}"`);
    return `Bearer ${parts.join(',')}`;
  }

  /** The token endpoint: configured, or this server's own /token as the client reached it. */
  private realm(ctx: Ctx): string {
    if (this.opts.realm) return this.opts.realm;
    const tls = (ctx.req.socket as { encrypted?: boolean }).encrypted === true;
    const host = (ctx.req.headers.host ?? '').replace(/[^A-Za-z0-9.:[\]-]/g, '') || 'localhost';
    return `${tls ? 'https' : 'http'}://${host}/token`;
  }

  private challenge(ctx: Ctx, scope: string | undefined, message: string): never {
    ctx.res.setHeader('WWW-Authenticate', this.header(ctx, scope));
    throw new RegistryError('UNAUTHORIZED', message, scope ? { detail: { scope } } : {});
  }

  private deny(ctx: Ctx, creds: Credentials, target: string, message: string, detail?: Record<string, string>): never {
    this.record(ctx, creds, 'access', target, 'denied', detail);
    throw denied(message, detail);
  }

  private async granted(creds: Credentials, repository: string, actions: Action[]): Promise<Action[]> {
    if (creds.tokenAccess) {
      const a = creds.tokenAccess.find((x) => x.type === 'repository' && x.name === repository);
      return a ? a.actions.filter((x) => actions.includes(x) || x === '*') : [];
    }
    const [g] = await this.ac.grant(creds.identity, [{ type: 'repository', name: repository, actions }]);
    return g?.actions ?? [];
  }

  private async credentials(ctx: Ctx): Promise<Credentials> {
    const header = ctx.req.headers.authorization;
    if (!header) return { identity: { kind: 'anonymous' }, presented: 'none' };
    const space = header.indexOf(' ');
    const scheme = (space < 0 ? header : header.slice(0, space)).toLowerCase();
    const value = space < 0 ? '' : header.slice(space + 1).trim();
    if (scheme === 'bearer') {
      const v = await this.ac.tokens.verify(value);
      if ('error' in v) {
        this.record(ctx, undefined, 'token.verify', '', 'denied', { error: v.error });
        this.challenge(ctx, undefined, `invalid token: ${v.error}`);
      }
      const identity: Identity = v.subject === 'anonymous' || v.subject === '' ? { kind: 'anonymous' } : { kind: 'user', name: v.subject, systemAdmin: false, roles: {} };
      return { identity: v.subject.startsWith('robot$') ? { ...robotShell(v.subject) } : identity, tokenAccess: v.access, presented: 'bearer' };
    }
    if (scheme === 'basic') {
      const { username, password } = decodeBasic(value);
      try {
        return { identity: await this.ac.login(username, password, ctx.req.socket.remoteAddress ?? ''), presented: 'basic' };
      } catch (e) {
        this.record(ctx, { identity: { kind: 'user', name: username.slice(0, 128), systemAdmin: false, roles: {} } }, 'login', username.slice(0, 128), 'failed', {
          reason: (e as Error).message,
        });
        if (e instanceof RegistryError && e.code === 'TOOMANYREQUESTS') {
          const after = (e.detail as { retryAfterSeconds?: number } | undefined)?.retryAfterSeconds;
          if (after) ctx.res.setHeader('Retry-After', String(after));
          throw e;
        }
        this.challenge(ctx, undefined, 'invalid username or password');
      }
    }
    this.challenge(ctx, undefined, `unsupported authorization scheme ${scheme.slice(0, 20)}`);
  }
}

/** A robot named by a token: its grants come from the token, so the record is not loaded. */
function robotShell(name: string): Identity {
  return { kind: 'robot', name, project: projectOf(name.slice('robot$'.length).split('+')[0] ?? ''), actions: [], repositoryPattern: null, expiresAt: null, disabled: false };
}

/** RFC 7617: base64 of `user:password` (the password may contain colons). Malformed input yields empty strings. */
export function decodeBasic(value: string): { username: string; password: string } {
  if (value.length > 4096) return { username: '', password: '' };
  const text = Buffer.from(value, 'base64').toString('utf8');
  const i = text.indexOf(':');
  return i < 0 ? { username: '', password: '' } : { username: text.slice(0, i), password: text.slice(i + 1) };
}
