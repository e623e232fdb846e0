import { RegistryError, notFound, policyInvalid } from '../../errors/registry-error.js';
import type { AccessControl } from '../../auth/access-control.js';
import { ROBOT_PREFIX } from '../../auth/access-control.js';
import { generateSecret, hashSecret } from '../../auth/passwords.js';
import { repositoryPatternProblem } from '../../auth/rbac.js';
import type { ProjectRecord, RobotRecord, Role, UserRecord } from '../../metadata/auth-store.js';
import { checkTarget } from '../../lifecycle/settings-service.js';
import type { AuditRecorder } from '../../auth/audit-recorder.js';
import { readBody, sendEmpty, sendJson, type Ctx, type Handler } from '../context.js';

/** Users, projects, members and robots under /api/v1 (docs/management-api.md, "Access control endpoints"). */
const ROLES: readonly Role[] = ['guest', 'developer', 'maintainer', 'admin'];
const ROBOT_ACTIONS = ['pull', 'push', 'delete'];
const USER_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const ROBOT_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const userView = (u: UserRecord) => ({ name: u.name, systemAdmin: u.systemAdmin, disabled: u.disabled, createdAt: iso(u.createdAt), updatedAt: iso(u.updatedAt) });
const projectView = (p: ProjectRecord) => ({ name: p.name, public: p.public, createdAt: iso(p.createdAt), createdBy: p.createdBy });
const robotView = (r: RobotRecord) => ({
  name: r.name,
  project: r.project,
  actions: r.actions,
  repositoryPattern: r.repositoryPattern,
  expiresAt: iso(r.expiresAt),
  disabled: r.disabled,
  description: r.description,
  createdAt: iso(r.createdAt),
  createdBy: r.createdBy,
});

async function body(ctx: Ctx): Promise<Record<string, unknown>> {
  const raw = await readBody(ctx, 64 * 1024, () => policyInvalid('body too large'));
  let v: unknown;
  try {
    v = JSON.parse(raw.toString('utf8'));
  } catch {
    throw policyInvalid('body is not valid JSON');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw policyInvalid('body must be a JSON object');
  return v as Record<string, unknown>;
}

function q(ctx: Ctx, name: string): string {
  const v = ctx.query.get(name);
  if (!v) throw policyInvalid(`the query parameter ${name} is required`, { field: name });
  return v;
}

function str(b: Record<string, unknown>, key: string, opts: { optional?: boolean; max?: number } = {}): string | undefined {
  const v = b[key];
  if (v === undefined && opts.optional) return undefined;
  if (typeof v !== 'string' || v.length === 0 || v.length > (opts.max ?? 1024)) throw policyInvalid(`${key} must be a non-empty string`, { field: key });
  return v;
}

function bool(b: Record<string, unknown>, key: string): boolean | undefined {
  const v = b[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw policyInvalid(`${key} must be true or false`, { field: key });
  return v;
}

const taken = (what: string) => new RegistryError('DENIED', `${what} already exists`, { status: 409 });

function checkPassword(p: string): string {
  if (p.length < 8) throw policyInvalid('password must have at least 8 characters', { field: 'password' });
  return p;
}

export function accessRoutes(
  ac: AccessControl,
  audit: AuditRecorder,
  now: () => number = Date.now,
): Record<string, Partial<Record<string, Handler>>> {
  const store = ac.store;
  const actorName = (ctx: Ctx) => ctx.auth?.actor ?? null;
  /** Every change to users, projects, members and robots is in the audit log (never a secret). */
  const record = (ctx: Ctx, action: string, target: string, project: string | null, detail: unknown = null) =>
    audit.record({ at: now(), actor: actorName(ctx) ?? 'anonymous', action, target, detail, address: ctx.req.socket.remoteAddress ?? null, outcome: 'ok', project });
  return {
    '/api/v1/users': {
      GET: async (ctx) => sendJson(ctx, 200, { users: (await store.listUsers()).map(userView) }),
      POST: async (ctx) => {
        const b = await body(ctx);
        const name = str(b, 'name', { max: 64 })!;
        if (!USER_NAME.test(name)) throw policyInvalid('name must be lower-case letters, digits, ".", "_" or "-" (at most 64)', { field: 'name' });
        const t = now();
        const u: UserRecord = {
          name,
          passwordHash: await hashSecret(checkPassword(str(b, 'password')!)),
          systemAdmin: bool(b, 'systemAdmin') ?? false,
          disabled: false,
          createdAt: t,
          updatedAt: t,
        };
        if (!(await store.createUser(u))) throw taken(`user ${name}`);
        record(ctx, 'user.create', name, null, { systemAdmin: u.systemAdmin });
        sendJson(ctx, 201, userView(u));
      },
      PUT: async (ctx) => {
        const name = q(ctx, 'name');
        const b = await body(ctx);
        const password = str(b, 'password', { optional: true });
        const patch = {
          passwordHash: password === undefined ? undefined : await hashSecret(checkPassword(password)),
          systemAdmin: bool(b, 'systemAdmin'),
          disabled: bool(b, 'disabled'),
        };
        if (!(await store.updateUser(name, patch, now()))) throw notFound(`user ${name}`);
        record(ctx, 'user.update', name, null, { password: password !== undefined, systemAdmin: patch.systemAdmin ?? null, disabled: patch.disabled ?? null });
        sendJson(ctx, 200, userView((await store.getUser(name))!));
      },
      DELETE: async (ctx) => {
        const name = q(ctx, 'name');
        if (!(await store.deleteUser(name))) throw notFound('user');
        record(ctx, 'user.delete', name, null);
        sendEmpty(ctx, 204);
      },
    },
    '/api/v1/projects': {
      GET: async (ctx) => sendJson(ctx, 200, { projects: (await store.listProjects()).map(projectView) }),
      POST: async (ctx) => {
        const b = await body(ctx);
        const name = str(b, 'name', { max: 255 })!;
        checkTarget('quota', name); // the project-name grammar
        const p: ProjectRecord = { name, public: bool(b, 'public') ?? false, createdAt: now(), createdBy: actorName(ctx) };
        if (!(await store.createProject(p))) throw taken(`project ${name}`);
        ac.forgetProject(name);
        record(ctx, 'project.create', name, name, { public: p.public });
        sendJson(ctx, 201, projectView(p));
      },
      PUT: async (ctx) => {
        const name = q(ctx, 'name');
        const b = await body(ctx);
        if (!(await store.updateProject(name, { public: bool(b, 'public') }))) throw notFound(`project ${name}`);
        ac.forgetProject(name);
        record(ctx, 'project.update', name, name, { public: bool(b, 'public') ?? null });
        sendJson(ctx, 200, projectView((await store.getProject(name))!));
      },
      DELETE: async (ctx) => {
        const name = q(ctx, 'name');
        if (!(await store.deleteProject(name))) throw notFound(`project ${name}`);
        ac.forgetProject(name);
        record(ctx, 'project.delete', name, name);
        sendEmpty(ctx, 204);
      },
    },
    '/api/v1/members': {
      GET: async (ctx) => sendJson(ctx, 200, { members: await store.listMembers(q(ctx, 'project')) }),
      PUT: async (ctx) => {
        const project = q(ctx, 'project');
        const b = await body(ctx);
        const username = str(b, 'username', { max: 64 })!;
        const role = str(b, 'role')! as Role;
        if (!ROLES.includes(role)) throw policyInvalid(`role must be one of ${ROLES.join(', ')}`, { field: 'role' });
        if (!(await store.setMember({ project, username, role }))) throw notFound(`project ${project} or user ${username}`);
        record(ctx, 'member.set', username, project, { role });
        sendJson(ctx, 200, { project, username, role });
      },
      DELETE: async (ctx) => {
        const [project, username] = [q(ctx, 'project'), q(ctx, 'username')];
        if (!(await store.removeMember(project, username))) throw notFound('member');
        record(ctx, 'member.remove', username, project);
        sendEmpty(ctx, 204);
      },
    },
    '/api/v1/robots': {
      GET: async (ctx) => sendJson(ctx, 200, { robots: (await store.listRobots(ctx.query.get('project') ?? undefined)).map(robotView) }),
      POST: async (ctx) => {
        const b = await body(ctx);
        const project = str(b, 'project', { max: 255 })!;
        const short = str(b, 'name', { max: 64 })!;
        if (!ROBOT_NAME.test(short)) throw policyInvalid('name must be lower-case letters, digits, ".", "_" or "-"', { field: 'name' });
        const actions = b.actions;
        if (!Array.isArray(actions) || actions.length === 0 || actions.some((a) => typeof a !== 'string' || !ROBOT_ACTIONS.includes(a))) {
          throw policyInvalid(`actions must be a non-empty list of ${ROBOT_ACTIONS.join(', ')}`, { field: 'actions' });
        }
        const pattern = str(b, 'repositoryPattern', { optional: true, max: 255 }) ?? null;
        const problem = pattern === null ? undefined : repositoryPatternProblem(pattern);
        if (problem) throw policyInvalid(`repositoryPattern: ${problem}`, { field: 'repositoryPattern' });
        const ttl = b.expiresInSeconds;
        if (ttl !== undefined && ttl !== null && (typeof ttl !== 'number' || !Number.isSafeInteger(ttl) || ttl <= 0)) {
          throw policyInvalid('expiresInSeconds must be a positive whole number, or null for never', { field: 'expiresInSeconds' });
        }
        const t = now();
        const secret = generateSecret();
        const r: RobotRecord = {
          name: `${ROBOT_PREFIX}${project}+${short}`,
          project,
          secretHash: await hashSecret(secret),
          actions: [...new Set(actions as string[])],
          repositoryPattern: pattern,
          expiresAt: typeof ttl === 'number' ? t + ttl * 1000 : null,
          disabled: false,
          description: str(b, 'description', { optional: true }) ?? null,
          createdAt: t,
          createdBy: actorName(ctx),
        };
        if (!(await store.getProject(project))) throw notFound(`project ${project}`);
        if (!(await store.createRobot(r))) throw taken(`robot ${r.name}`);
        record(ctx, 'robot.create', r.name, project, { actions: r.actions, repositoryPattern: r.repositoryPattern, expiresAt: iso(r.expiresAt) });
        sendJson(ctx, 201, { ...robotView(r), secret });
      },
      PUT: async (ctx) => {
        const name = q(ctx, 'name');
        const b = await body(ctx);
        if (!(await store.updateRobot(name, { disabled: bool(b, 'disabled') }))) throw notFound(`robot ${name}`);
        record(ctx, 'robot.update', name, null, { disabled: bool(b, 'disabled') ?? null });
        sendJson(ctx, 200, robotView((await store.getRobot(name))!));
      },
      DELETE: async (ctx) => {
        const name = q(ctx, 'name');
        if (!(await store.deleteRobot(name))) throw notFound('robot');
        record(ctx, 'robot.delete', name, null);
        sendEmpty(ctx, 204);
      },
    },
  };
}
