/*
 * Who may do what to a repository. Pure decisions over an Identity the caller has already
 * authenticated and loaded (roles, robot record); no I/O here.
 *
 * - The project of a repository is its first path component (projectOf).
 * - Roles per project: guest pulls; developer pulls and pushes; maintainer also deletes; admin can
 *   do everything, including managing members and settings (canManageProject).
 * - System admins may do everything everywhere, even in a project that does not exist yet.
 * - Anything anonymous may do (pull from a public project), every active identity may do too:
 *   refusing it to a user or a robot would protect nothing, since the client can drop its credentials.
 * - A robot acts within its own project, on its actions, on repositories matching its pattern;
 *   a disabled or expired robot may do nothing at all (not even public pulls): its credentials are dead.
 * - In a project that does not exist (`project` undefined) only system admins get anything; creating
 *   a project on first push is the caller's decision, taken before asking again.
 * The result is the intersection of what was requested and what is allowed
 * (https://distribution.github.io/distribution/spec/auth/token/, "Requesting a Token").
 */

import type { Role } from '../metadata/auth-store.js';
import { projectOf } from '../metadata/settings-store.js';
import type { Action } from './scope.js';

export type RepositoryAction = 'pull' | 'push' | 'delete';
/** What `*` means for a repository, in canonical order. */
export const REPOSITORY_ACTIONS: readonly RepositoryAction[] = ['pull', 'push', 'delete'];

export const ROLE_ACTIONS: Readonly<Record<Role, readonly RepositoryAction[]>> = {
  guest: ['pull'],
  developer: ['pull', 'push'],
  maintainer: ['pull', 'push', 'delete'],
  admin: ['pull', 'push', 'delete'],
};

export type Identity =
  | { kind: 'anonymous' }
  | { kind: 'user'; name: string; systemAdmin: boolean; roles: Readonly<Record<string, Role>> }
  | {
      kind: 'robot';
      name: string;
      project: string;
      actions: readonly Action[];
      /** Wildcard over full repository names (see matchesRepositoryPattern); null for the whole project. */
      repositoryPattern: string | null;
      /** Milliseconds since the epoch; null for never. */
      expiresAt: number | null;
      disabled: boolean;
    };

/**
 * The requested actions (`*` standing for pull, push and delete) that `identity` may perform on
 * `repository`, in canonical order, never `*`. `project` is the repository's project record, or
 * undefined when there is none; `now` is in milliseconds.
 */
export function grantedActions(
  identity: Identity,
  repository: string,
  requested: readonly Action[],
  project: { public: boolean } | undefined,
  now: number,
): Action[] {
  const wanted = expand(requested);
  const allowed = allowedActions(identity, repository, project, now);
  return REPOSITORY_ACTIONS.filter((a) => wanted.has(a) && allowed.has(a));
}

function allowedActions(identity: Identity, repository: string, project: { public: boolean } | undefined, now: number): Set<RepositoryAction> {
  const allowed = new Set<RepositoryAction>();
  if (identityRefusal(identity, now) !== undefined) return allowed;
  if (isSystemAdmin(identity)) return new Set(REPOSITORY_ACTIONS);
  if (project === undefined) return allowed;
  if (project.public) allowed.add('pull');
  const projectName = projectOf(repository);
  if (identity.kind === 'user') {
    const role = roleIn(identity.roles, projectName);
    if (role) for (const a of ROLE_ACTIONS[role]) allowed.add(a);
  } else if (identity.kind === 'robot') {
    const pattern = identity.repositoryPattern;
    if (identity.project === projectName && (pattern === null || matchesRepositoryPattern(pattern, repository))) {
      for (const a of expand(identity.actions)) allowed.add(a);
    }
  }
  return allowed;
}

/** Why the identity may do nothing at all ("robot disabled", "robot expired"), or undefined. */
export function identityRefusal(identity: Identity, now: number): string | undefined {
  if (identity.kind !== 'robot') return undefined;
  if (identity.disabled) return 'robot disabled';
  if (identity.expiresAt !== null && now >= identity.expiresAt) return 'robot expired';
  return undefined;
}

export function isSystemAdmin(identity: Identity): boolean {
  return identity.kind === 'user' && identity.systemAdmin;
}

/** Members, robots and settings of `project`: system admins and the project's admins. */
export function canManageProject(identity: Identity, project: string): boolean {
  if (isSystemAdmin(identity)) return true;
  return identity.kind === 'user' && roleIn(identity.roles, project) === 'admin';
}

/** The user's role in the project; own properties only, so a project named `constructor` or `__proto__` is safe. */
function roleIn(roles: Readonly<Record<string, Role>>, project: string): Role | undefined {
  if (!Object.hasOwn(roles, project)) return undefined;
  const role = roles[project];
  return role !== undefined && Object.hasOwn(ROLE_ACTIONS, role) ? role : undefined;
}

function expand(actions: readonly string[]): Set<RepositoryAction> {
  if (actions.includes('*')) return new Set(REPOSITORY_ACTIONS);
  return new Set(REPOSITORY_ACTIONS.filter((a) => actions.includes(a)));
}

// ---- robot repository patterns ----

/*
 * The lifecycle tag patterns (lifecycle/tag-pattern.ts) do not fit: their alphabet is a tag's and has
 * no '/'. A repository pattern is a full repository name in which `*` matches any run of characters,
 * '/' included (`team/ci-*` matches `team/ci-app` and `team/ci-app/cache`), and every other character
 * matches itself; the whole name must match.
 */

const PATTERN_CHARS = /^[a-z0-9._/*-]+$/;
export const MAX_REPOSITORY_PATTERN_LENGTH = 255;
export const MAX_REPOSITORY_PATTERN_WILDCARDS = 8;

/** Why a robot's repository pattern is unusable, or undefined; for the API to check before storing one. */
export function repositoryPatternProblem(pattern: string): string | undefined {
  if (pattern.length === 0) return 'repository pattern is empty';
  if (pattern.length > MAX_REPOSITORY_PATTERN_LENGTH) return `repository pattern is longer than ${MAX_REPOSITORY_PATTERN_LENGTH} characters`;
  if (!PATTERN_CHARS.test(pattern)) return 'repository pattern may contain only a-z, 0-9, ".", "_", "-", "/" and the wildcard "*"';
  if (pattern.split('*').length - 1 > MAX_REPOSITORY_PATTERN_WILDCARDS) {
    return `repository pattern has more than ${MAX_REPOSITORY_PATTERN_WILDCARDS} wildcards`;
  }
  return undefined;
}

/** True when the whole name matches; an unusable pattern matches nothing. */
export function matchesRepositoryPattern(pattern: string, repository: string): boolean {
  if (repositoryPatternProblem(pattern) !== undefined) return false;
  const pieces = pattern.split('*');
  const head = pieces[0] ?? '';
  if (pieces.length === 1) return repository === head;
  const tail = pieces[pieces.length - 1] ?? '';
  if (repository.length < head.length + tail.length || !repository.startsWith(head) || !repository.endsWith(tail)) return false;
  // Each middle piece taken at its earliest place leaves the most room for the rest: no backtracking.
  let from = head.length;
  const end = repository.length - tail.length;
  for (const piece of pieces.slice(1, -1)) {
    const at = repository.indexOf(piece, from);
    if (at < 0 || at + piece.length > end) return false;
    from = at + piece.length;
  }
  return true;
}
