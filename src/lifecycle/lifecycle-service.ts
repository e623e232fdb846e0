import { nameInvalid } from '../errors/registry-error.js';
import { nameProblem } from '../oci/reference.js';
import type { MetadataStore } from '../metadata/metadata-store.js';
import type { AuditStore } from '../metadata/settings-store.js';
import type { LifecyclePolicy } from './policy.js';
import { planLifecycle, type PlanEntry } from './planner.js';
import type { SettingsService } from './settings-service.js';

export interface LifecycleReport {
  repository: string;
  /** The moment the policy was evaluated at. */
  now: string;
  /** The target whose policy applied (the repository or `project/*`), or null: no policy, nothing expires. */
  policyTarget: string | null;
  applied: boolean;
  expire: PlanEntry[];
  keep: PlanEntry[];
  /** Apply only: entries planned for expiry that changed meanwhile (retagged, now referenced) and were kept. */
  skipped?: PlanEntry[];
}

/**
 * Runs lifecycle policies: plan (the pure planner over the repository's
 * images) and apply (expire what the plan says, each deletion re-checked
 * in its own transaction and recorded in the audit log). Blob bytes are
 * left to garbage collection.
 */
export class LifecycleService {
  private readonly now: () => number;

  constructor(
    private readonly settings: SettingsService,
    private readonly meta: MetadataStore,
    private readonly audit: AuditStore,
    opts: { now?: () => number } = {},
  ) {
    this.now = opts.now ?? Date.now;
  }

  /** What the policy would expire if evaluated at `at` (default now). */
  async preview(repository: string, at?: number): Promise<LifecycleReport> {
    checkRepository(repository);
    return this.plan(repository, at ?? this.now());
  }

  /** Evaluates at the real current time and expires what the plan says. */
  async apply(repository: string, actor: string): Promise<LifecycleReport> {
    checkRepository(repository);
    const report = await this.plan(repository, this.now());
    report.applied = true;
    if (report.expire.length === 0) return report;
    // Parents before children: a child still referenced by an index is refused ('changed') until the
    // index is gone, so passes repeat while any deletion succeeds (bounded by the list's length).
    let pending = [...report.expire];
    const done: PlanEntry[] = [];
    for (let pass = 0; pass < report.expire.length && pending.length > 0; pass++) {
      const next: PlanEntry[] = [];
      for (const e of pending) {
        const outcome = await this.meta.expireManifest(repository, e.digest, e.tags);
        if (outcome === 'changed') next.push(e);
        else if (outcome === 'deleted') done.push(e);
      }
      if (next.length === pending.length) break;
      pending = next;
    }
    const at = this.now();
    await this.audit.appendAudit(
      done.map((e) => ({
        at,
        actor,
        action: 'lifecycle.expire',
        target: `${repository}@${e.digest}`,
        detail: { tags: e.tags, rule: e.rule, reason: e.reason, policy: report.policyTarget },
      })),
    );
    report.expire = done;
    if (pending.length > 0) report.skipped = pending;
    return report;
  }

  /** Applies policies to every repository that has one (its own or its project's); the scheduled run. */
  async applyAll(actor: string, signal?: AbortSignal): Promise<{ repositories: number; expired: number }> {
    let last: string | undefined;
    let repositories = 0;
    let expired = 0;
    for (let page = 0; page < 100_000; page++) {
      const names = await this.meta.listRepositories({ n: 500, last });
      if (names.length === 0) break;
      for (const name of names) {
        signal?.throwIfAborted();
        if (!(await this.settings.forRepository('lifecycle', name))) continue;
        repositories++;
        expired += (await this.apply(name, actor)).expire.length;
      }
      last = names[names.length - 1];
    }
    return { repositories, expired };
  }

  private async plan(repository: string, at: number): Promise<LifecycleReport> {
    const setting = await this.settings.forRepository<LifecyclePolicy>('lifecycle', repository);
    const images = await this.meta.listImages(repository);
    const base = { repository, now: new Date(at).toISOString(), applied: false };
    if (!setting) {
      return {
        ...base,
        policyTarget: null,
        expire: [],
        keep: images.map((i) => ({ digest: i.digest, tags: i.tags, rule: null, reason: 'no lifecycle policy applies' })),
      };
    }
    const plan = planLifecycle(setting.document, images, at);
    return { ...base, policyTarget: setting.target, expire: plan.expire, keep: plan.keep };
  }
}

function checkRepository(name: string): void {
  const problem = nameProblem(name);
  if (problem) throw nameInvalid(problem);
}
