/**
 * Settings documents (lifecycle policies, immutability rules, quotas, proxy projects), the
 * audit log and storage usage. Documents are stored as given (JSON text);
 * validating them is the capability's business.
 */

/** Policy documents, validated (by each capability's parser) and cached by lifecycle/settings-service.ts. */
export type PolicyKind = 'lifecycle' | 'immutability' | 'quota' | 'scanning' | 'signing';
/** Pull-through cache projects managed through the API (proxy/proxy-projects.ts). */
export type SettingKind = PolicyKind | 'proxy';

export interface SettingRecord {
  target: string;
  document: string;
  updatedAt: number;
}

export interface SettingsStore {
  getSetting(kind: SettingKind, target: string): Promise<SettingRecord | undefined>;
  /** Creates or replaces the document for (kind, target). */
  putSetting(kind: SettingKind, target: string, document: string, now: number): Promise<void>;
  /** False when there was none. */
  deleteSetting(kind: SettingKind, target: string): Promise<boolean>;
  listSettings(kind: SettingKind): Promise<SettingRecord[]>;
}

export interface AuditEntry {
  id: number;
  at: number;
  /** Who: a user, a robot, `anonymous`, or the subsystem (`lifecycle`, `schedule`, `api`). */
  actor: string;
  action: string;
  target: string;
  detail: unknown;
  /** From where: the client address, when the action came over the network. */
  address?: string | null;
  /** `ok`, `denied` or `failed`; null for entries that predate outcomes. */
  outcome?: string | null;
  /** The project the target belongs to, for filtering. */
  project?: string | null;
}

export interface AuditQuery {
  /** Entries at or after this time (ms). */
  since?: number;
  project?: string;
  /** Entries with an id below this one: the next page. */
  beforeId?: number;
}

export interface AuditStore {
  appendAudit(entries: Omit<AuditEntry, 'id'>[]): Promise<void>;
  /** Newest first, at most `limit`, filtered by `query`. */
  listAudit(limit: number, query?: AuditQuery): Promise<AuditEntry[]>;
}

export interface RepositoryUsage {
  repository: string;
  /** Unique blobs (layers, configs and manifests) of the repository. */
  blobs: number;
  bytes: number;
  tags: number;
  manifests: number;
}

export interface ProjectUsage {
  project: string;
  /** Unique blobs of all the project's repositories, each counted once. */
  blobs: number;
  bytes: number;
  tags: number;
  manifests: number;
  repositories: RepositoryUsage[];
}

export interface UsageStore {
  /** Usage of every project, or of one; links older than `since` that nothing references do not count (as projectBytes). */
  usage(since: number, project?: string): Promise<ProjectUsage[]>;
  /** Tags in the project's repositories. */
  projectTags(project: string): Promise<number>;
}

/** The project of a repository: its first path component (a one-component name is its own project). */
export function projectOf(repository: string): string {
  const i = repository.indexOf('/');
  return i < 0 ? repository : repository.slice(0, i);
}
