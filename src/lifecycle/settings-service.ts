import { policyInvalid, nameInvalid, notFound } from '../errors/registry-error.js';
import { nameProblem } from '../oci/reference.js';
import { projectOf, type PolicyKind, type SettingsStore } from '../metadata/settings-store.js';
import { PolicyDocumentError } from '../errors/document-error.js';
import { LifecyclePolicyError, parseLifecyclePolicy } from './policy.js';
import { parseImmutabilityRules } from './immutability.js';
import { parseQuota } from './quota.js';

/** Validates a document into its typed form; throws PolicyDocumentError naming the field. */
export type DocumentParser = (input: unknown) => unknown;

/** Validators of the lifecycle kinds; scanning and signing bring theirs (constructor). */
const LIFECYCLE_PARSERS: Record<'lifecycle' | 'immutability' | 'quota', DocumentParser> = {
  lifecycle: parseLifecyclePolicy,
  immutability: parseImmutabilityRules,
  quota: parseQuota,
};

export interface Setting<T> {
  target: string;
  document: T;
  updatedAt: number;
}

/** A project's name: one path component of the repository name grammar. */
const PROJECT = /^[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*$/;

/**
 * Where a setting applies: a repository (`team/app`) or a project (`team/*`,
 * every repository whose first path component is `team`). Quotas belong to
 * projects only and are addressed by the bare project name.
 */
export function checkTarget(kind: PolicyKind, target: string): void {
  if (kind === 'quota') {
    if (!PROJECT.test(target)) throw nameInvalid(`project ${JSON.stringify(target.slice(0, 100))} is not a valid project name`);
    return;
  }
  if (target.endsWith('/*')) {
    if (!PROJECT.test(target.slice(0, -2))) throw nameInvalid(`${JSON.stringify(target.slice(0, 100))}: the project before /* is not valid`);
    return;
  }
  const problem = nameProblem(target);
  if (problem) throw nameInvalid(problem);
}

/**
 * Settings documents with validation and a short cache (pushes read them on
 * every manifest PUT). A change made on this node is seen at once; other nodes
 * see it within `cacheMs`.
 */
export class SettingsService {
  private readonly cache = new Map<string, { at: number; value: Setting<unknown> | undefined }>();
  private readonly now: () => number;
  private readonly cacheMs: number;

  constructor(
    private readonly store: SettingsStore,
    opts: { now?: () => number; cacheMs?: number; parsers?: Partial<Record<PolicyKind, DocumentParser>> } = {},
  ) {
    this.now = opts.now ?? Date.now;
    this.cacheMs = opts.cacheMs ?? 2000;
    this.parsers = { ...opts.parsers, ...LIFECYCLE_PARSERS };
  }

  private readonly parsers: Partial<Record<PolicyKind, DocumentParser>>;

  private parser(kind: PolicyKind): DocumentParser {
    const p = this.parsers[kind];
    if (!p) throw notFound(`${kind} settings (that capability is not enabled)`);
    return p;
  }

  async get<T>(kind: PolicyKind, target: string): Promise<Setting<T> | undefined> {
    checkTarget(kind, target);
    return this.read<T>(kind, target);
  }

  async require<T>(kind: PolicyKind, target: string): Promise<Setting<T>> {
    const s = await this.get<T>(kind, target);
    if (!s) throw notFound(`no ${kind} setting for ${target}`);
    return s;
  }

  /** Validates and stores; POLICY_INVALID (naming the rule and field) when the document does not validate. */
  async put<T>(kind: PolicyKind, target: string, input: unknown): Promise<Setting<T>> {
    checkTarget(kind, target);
    let document: T;
    try {
      document = this.parser(kind)(input) as T;
    } catch (e) {
      if (e instanceof LifecyclePolicyError) throw policyInvalid(e.message, { field: e.field, rulePriority: e.rulePriority ?? null });
      if (e instanceof PolicyDocumentError) throw policyInvalid(e.message, { field: e.field });
      throw e;
    }
    const now = this.now();
    // The document as given is stored (verbatim ECR JSON round-trips); it validated above.
    await this.store.putSetting(kind, target, JSON.stringify(input), now);
    this.cache.delete(`${kind}\0${target}`);
    return { target, document, updatedAt: now };
  }

  async delete(kind: PolicyKind, target: string): Promise<void> {
    checkTarget(kind, target);
    this.cache.delete(`${kind}\0${target}`);
    if (!(await this.store.deleteSetting(kind, target))) throw notFound(`no ${kind} setting for ${target}`);
  }

  /** The setting that applies to a repository: its own, else its project's (`project/*`). */
  async forRepository<T>(kind: Exclude<PolicyKind, 'quota'>, repository: string): Promise<Setting<T> | undefined> {
    return (await this.read<T>(kind, repository)) ?? (await this.read<T>(kind, `${projectOf(repository)}/*`));
  }

  async quotaFor<T>(repository: string): Promise<Setting<T> | undefined> {
    return this.read<T>('quota', projectOf(repository));
  }

  async list(kind: PolicyKind): Promise<string[]> {
    return (await this.store.listSettings(kind)).map((s) => s.target);
  }

  private async read<T>(kind: PolicyKind, target: string): Promise<Setting<T> | undefined> {
    const key = `${kind}\0${target}`;
    const hit = this.cache.get(key);
    const now = this.now();
    if (hit && now - hit.at < this.cacheMs) return hit.value as Setting<T> | undefined;
    const row = await this.store.getSetting(kind, target);
    // Stored documents validated when written; parsing again yields the typed form.
    const value = row ? { target, document: this.parser(kind)(JSON.parse(row.document)) as T, updatedAt: row.updatedAt } : undefined;
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(key, { at: now, value });
    return value;
  }
}
