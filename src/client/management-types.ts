/**
 * The documents berth's management API answers with (docs/management-api.md), as the client
 * sees them. management-client.ts re-exports every type here.
 */

/** Any JSON value, as parsed by JSON.parse. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [k: string]: JsonValue };

export interface LifecyclePolicyRecord {
  target: string;
  policy: JsonValue;
  updatedAt: string;
}

export interface PlanEntry {
  digest: string;
  tags: string[];
  /** The rulePriority that decided, or null when no rule selected the image. */
  rule: number | null;
  reason: string;
}

export interface LifecyclePlan {
  repository: string;
  now: string;
  /** The target whose policy applied; null when none did (nothing expires). */
  policyTarget: string | null;
  applied: boolean;
  expire: PlanEntry[];
  keep: PlanEntry[];
}

export interface ImmutabilityRule {
  description?: string;
  tagPatternList: string[];
  excludeTagPatternList?: string[];
}

export interface ImmutabilityRecord {
  target: string;
  rules: ImmutabilityRule[];
  updatedAt: string;
}

export interface QuotaLimits {
  bytes: number | null;
  tags: number | null;
}

export interface QuotaRecord extends QuotaLimits {
  project: string;
}

export interface UsageCounts {
  bytes: number;
  blobs: number;
  tags: number;
  manifests: number;
}

export interface RepositoryUsage extends UsageCounts {
  repository: string;
}

export interface ProjectUsage extends UsageCounts {
  project: string;
  quota: QuotaLimits | null;
  repositories: RepositoryUsage[];
}

export interface UsageReport {
  projects: ProjectUsage[];
}

export interface GcReport {
  dryRun: boolean;
  graceSeconds: number;
  startedAt: string;
  durationMs: number;
  referrersDeleted: number;
  linksRemoved: number;
  blobsDeleted: number;
  bytesReclaimed: number;
  orphanObjectsDeleted: number;
  uploadsReaped: number;
}

export interface AuditEntry {
  id: number | string;
  at: string;
  actor: string | null;
  action: string;
  target: string | null;
  detail: JsonValue;
  /** Client address; absent from servers older than access control. */
  address?: string | null;
  /** ok, denied, failed, ...; absent from older servers. */
  outcome?: string | null;
  project?: string | null;
}

export interface AuditLog {
  /** Newest first. */
  entries: AuditEntry[];
  /** The `before` of the next (older) page; null on the last page; absent from older servers. */
  next?: number | string | null;
}

export interface AuditQuery {
  /** Page size (the server has a default). */
  limit?: number;
  /** ISO-8601 instant: only entries at or after it. */
  since?: string;
  project?: string;
  /** An entry id: only entries older than it (the `next` of the previous page). */
  before?: number | string;
}

// --- access control (docs/management-api.md, "Access control endpoints") ---------------------

export interface UserRecord {
  name: string;
  systemAdmin: boolean;
  disabled: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface NewUser {
  name: string;
  password: string;
  systemAdmin?: boolean;
}

/** What PUT /users changes; keys left out keep their value. */
export interface UserPatch {
  password?: string;
  systemAdmin?: boolean;
  disabled?: boolean;
}

export interface ProjectRecord {
  name: string;
  public: boolean;
  createdAt: string;
  createdBy: string | null;
}

export type Role = 'guest' | 'developer' | 'maintainer' | 'admin';

/** The roles in increasing order of rights (issue 3: guest pulls, developer pushes, maintainer deletes, admin manages). */
export const ROLES: readonly Role[] = ['guest', 'developer', 'maintainer', 'admin'];

export interface MemberRecord {
  project: string;
  username: string;
  role: Role;
}

export interface RobotRecord {
  /** robot$<project>+<name>: what the robot logs in as. */
  name: string;
  project: string;
  actions: string[];
  repositoryPattern: string | null;
  /** null: never expires. */
  expiresAt: string | null;
  disabled: boolean;
  description: string | null;
  createdAt: string;
  createdBy: string | null;
}

export interface NewRobot {
  project: string;
  /** The short name; the server answers with the full robot$<project>+<name>. */
  name: string;
  actions: string[];
  repositoryPattern?: string;
  /** Omitted: never expires. */
  expiresInSeconds?: number;
  description?: string;
}

/** The answer to creating a robot: the only time its secret is shown. */
export interface CreatedRobot extends RobotRecord {
  secret: string;
}
