import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { RegistryError } from '../errors/registry-error.js';
import type { AuthStore, ProjectRecord } from '../metadata/auth-store.js';
import { projectOf } from '../metadata/settings-store.js';
import { grantedActions, identityRefusal, isSystemAdmin, type Identity } from './rbac.js';
import { hashSecret, needsRehash, verifySecret, verifyUnknown } from './passwords.js';
import { LoginLimiter } from './login-limiter.js';
import { CATALOG_NAME, type Access, type Action } from './scope.js';
import type { TokenService } from './token-service.js';

export const ROBOT_PREFIX = 'robot$';

export interface AccessControlOptions {
  autoCreateProjects: boolean;
  now?: () => number;
  limiter?: LoginLimiter;
}

/** Why a login failed, for the audit log and the error (never which part was wrong). */
export const unauthorized = (message = 'authentication required') => new RegistryError('UNAUTHORIZED', message);

/**
 * Who the caller is and what they may do: password and robot-secret checks
 * (rate limited, scrypt, results cached briefly by a hash of the credentials
 * so CI clients sending basic auth on every request do not pay a KDF each
 * time), the projects behind repositories, and the grants that go into
 * tokens. HTTP-agnostic.
 */
export class AccessControl {
  private readonly now: () => number;
  private readonly limiter: LoginLimiter;
  /** sha256(name, secret, stored hash) -> checked: a changed password or secret changes the key. */
  private readonly verified = new LRUCache<string, true>({ max: 10_000, ttl: 60_000 });
  private readonly projects = new LRUCache<string, { p: ProjectRecord | null }>({ max: 10_000, ttl: 2_000 });

  constructor(
    readonly store: AuthStore,
    readonly tokens: TokenService,
    private readonly opts: AccessControlOptions,
  ) {
    this.now = opts.now ?? Date.now;
    this.limiter = opts.limiter ?? new LoginLimiter();
  }

  /** Creates the first system admin when there is no user at all; errors name the missing setting. */
  async bootstrapAdmin(username: string, password: string | undefined): Promise<'created' | 'exists'> {
    if ((await this.store.listUsers()).length > 0) return 'exists';
    if (!password) {
      throw new Error('auth.enabled is true and no user exists: set auth.admin.password (BERTH_AUTH_ADMIN_PASSWORD) for the first admin');
    }
    const now = this.now();
    await this.store.createUser({ name: username, passwordHash: await hashSecret(password), systemAdmin: true, disabled: false, createdAt: now, updatedAt: now });
    return 'created';
  }

  /**
   * Checks a username (or robot name) and password. UNAUTHORIZED when they do
   * not match, TOOMANYREQUESTS (with retryAfterSeconds in detail) when this
   * user or address failed too often recently.
   */
  async login(username: string, password: string, address: string): Promise<Identity> {
    const now = this.now();
    const gate = this.limiter.check(username, address, now);
    if (!gate.allowed) {
      throw new RegistryError('TOOMANYREQUESTS', `too many failed logins; retry in ${gate.retryAfterSeconds} s`, {
        detail: { retryAfterSeconds: gate.retryAfterSeconds },
      });
    }
    const identity = username.startsWith(ROBOT_PREFIX) ? await this.checkRobot(username, password) : await this.checkUser(username, password);
    if (!identity) {
      this.limiter.recordFailure(username, address, now);
      throw unauthorized('invalid username or password');
    }
    const refusal = identityRefusal(identity, now);
    if (refusal) {
      this.limiter.recordFailure(username, address, now);
      throw unauthorized(`${username}: ${refusal}`);
    }
    this.limiter.recordSuccess(username, address);
    return identity;
  }

  /** The identity a token subject names now (roles may have changed since the token was issued). */
  async identity(subject: string): Promise<Identity | undefined> {
    if (subject.startsWith(ROBOT_PREFIX)) {
      const r = await this.store.getRobot(subject);
      return r ? robotIdentity(r) : undefined;
    }
    const u = await this.store.getUser(subject);
    if (!u || u.disabled) return undefined;
    return { kind: 'user', name: u.name, systemAdmin: u.systemAdmin, roles: await this.store.rolesOf(u.name) };
  }

  async project(name: string): Promise<ProjectRecord | undefined> {
    const hit = this.projects.get(name);
    if (hit) return hit.p ?? undefined;
    const p = await this.store.getProject(name);
    this.projects.set(name, { p: p ?? null });
    return p;
  }

  forgetProject(name: string): void {
    this.projects.delete(name);
  }

  /**
   * What of `requested` the identity may do: the intersection, per repository.
   * `registry:catalog:*` is granted to everyone; the listing itself is filtered.
   * With autoCreateProjects, a signed-in user asking to push into a project that
   * does not exist creates it (private) and becomes its admin.
   */
  async grant(identity: Identity, requested: Access[]): Promise<Access[]> {
    const out: Access[] = [];
    for (const a of requested) {
      if (a.type === 'registry') {
        if (a.name === CATALOG_NAME) out.push({ type: 'registry', name: CATALOG_NAME, actions: ['*'] });
        continue;
      }
      let project = await this.project(projectOf(a.name));
      if (!project && this.opts.autoCreateProjects && identity.kind === 'user' && wantsPush(a.actions)) {
        project = await this.createProjectFor(identity.name, projectOf(a.name));
        identity = (await this.identity(identity.name)) ?? identity;
      }
      const actions = grantedActions(identity, a.name, a.actions, project, this.now());
      out.push({ type: 'repository', name: a.name, actions });
    }
    return out;
  }

  /** Whether the identity may pull from the repository (for catalog and tag listings). */
  async canPull(identity: Identity, repository: string): Promise<boolean> {
    if (isSystemAdmin(identity)) return true;
    const project = await this.project(projectOf(repository));
    return grantedActions(identity, repository, ['pull'], project, this.now()).includes('pull');
  }

  private async createProjectFor(username: string, name: string): Promise<ProjectRecord | undefined> {
    if (await this.store.createProject({ name, public: false, createdAt: this.now(), createdBy: username })) {
      await this.store.setMember({ project: name, username, role: 'admin' });
    }
    this.projects.delete(name);
    return this.project(name);
  }

  private async checkUser(name: string, password: string): Promise<Identity | undefined> {
    const u = await this.store.getUser(name);
    if (!u || u.disabled) {
      await verifyUnknown(password); // same cost whether or not the name exists
      return undefined;
    }
    if (!(await this.cachedVerify(name, password, u.passwordHash))) return undefined;
    if (needsRehash(u.passwordHash)) await this.store.updateUser(name, { passwordHash: await hashSecret(password) }, this.now());
    return { kind: 'user', name: u.name, systemAdmin: u.systemAdmin, roles: await this.store.rolesOf(u.name) };
  }

  private async checkRobot(name: string, secret: string): Promise<Identity | undefined> {
    const r = await this.store.getRobot(name);
    if (!r) {
      await verifyUnknown(secret);
      return undefined;
    }
    return (await this.cachedVerify(name, secret, r.secretHash)) ? robotIdentity(r) : undefined;
  }

  private async cachedVerify(name: string, secret: string, stored: string): Promise<boolean> {
    const key = createHash('sha256').update(name).update('\0').update(secret).update('\0').update(stored).digest('hex');
    if (this.verified.get(key)) return true;
    const ok = await verifySecret(secret, stored);
    if (ok) this.verified.set(key, true);
    return ok;
  }
}

function robotIdentity(r: { name: string; project: string; actions: string[]; repositoryPattern: string | null; expiresAt: number | null; disabled: boolean }): Identity {
  return {
    kind: 'robot',
    name: r.name,
    project: r.project,
    actions: r.actions as Action[],
    repositoryPattern: r.repositoryPattern,
    expiresAt: r.expiresAt,
    disabled: r.disabled,
  };
}

const wantsPush = (actions: readonly Action[]) => actions.includes('push') || actions.includes('*');

/** The name an identity is recorded under in the audit log. */
export function actorOf(identity: Identity): string {
  return identity.kind === 'anonymous' ? 'anonymous' : identity.name;
}
