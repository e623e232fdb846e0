import { denied, quotaExceeded } from '../errors/registry-error.js';
import { projectOf } from '../metadata/settings-store.js';
import type { MetadataStore, PushLimits } from '../metadata/metadata-store.js';
import type { PushRules } from '../registry/push-rules.js';
import { immutableRule, type ImmutabilityRules } from './immutability.js';
import type { Quota } from './quota.js';
import type { SettingsService } from './settings-service.js';

/** Tag immutability and quotas from the settings documents, for the registry's pushes and deletes. */
export class SettingsPushRules implements PushRules {
  constructor(
    private readonly settings: SettingsService,
    private readonly meta: MetadataStore,
    /** Links older than this that nothing references are garbage and do not count against quotas (the GC grace). */
    private readonly graceMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  async manifestLimits(repository: string, tag: string | null): Promise<{ limits: PushLimits; immutableRule?: string }> {
    const rule = tag === null ? undefined : await this.immutable(repository, tag);
    const quota = await this.settings.quotaFor<Quota>(repository);
    return {
      limits: {
        immutableTag: rule !== undefined,
        quota: quota ? { project: projectOf(repository), ...quota.document, since: this.now() - this.graceMs } : undefined,
      },
      immutableRule: rule,
    };
  }

  async checkBlob(repository: string, digest: string, size: number): Promise<void> {
    const quota = (await this.settings.quotaFor<Quota>(repository))?.document;
    if (!quota || quota.bytes === null) return;
    const project = projectOf(repository);
    // A blob the project already has costs nothing more.
    const since = this.now() - this.graceMs;
    if (await this.meta.projectHasBlob(project, digest, since)) return;
    const used = await this.meta.projectBytes(project, since);
    if (used + size > quota.bytes) throw quotaExceeded(project, { resource: 'bytes', used, adding: size, limit: quota.bytes });
  }

  async checkTagDelete(repository: string, tags: string[]): Promise<void> {
    for (const tag of tags) {
      const rule = await this.immutable(repository, tag);
      if (rule) throw denied(`tag ${tag} is immutable (${rule}); it cannot be deleted`, { tag });
    }
  }

  /** A description of the rule making the tag immutable, for error messages. */
  private async immutable(repository: string, tag: string): Promise<string | undefined> {
    const setting = await this.settings.forRepository<ImmutabilityRules>('immutability', repository);
    if (!setting) return undefined;
    const m = immutableRule(setting.document, tag);
    if (!m) return undefined;
    const name = m.description ? ` "${m.description}"` : '';
    return `immutability rule ${m.index + 1}${name} of ${setting.target}, pattern ${JSON.stringify(m.pattern)}`;
  }
}
