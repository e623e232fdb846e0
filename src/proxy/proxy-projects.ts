import { z } from 'zod';
import { denied, nameInvalid, notFound, policyInvalid } from '../errors/registry-error.js';
import { BlobUploads, type UploadStatus } from '../registry/blob-uploads.js';
import type { BlobStore } from '../storage/blob-store.js';
import type { MetadataStore } from '../metadata/metadata-store.js';
import type { SettingsStore } from '../metadata/settings-store.js';
import type { PushRules } from '../registry/push-rules.js';
import { PROJECT_NAME, ProxySettingsSchema } from '../config/schema.js';
import { RegistryClient, type ClientLog } from '../client/registry-client.js';
import type { ProxyMetrics } from './proxy-metrics.js';

/** One proxy project: from the config file (`proxies:`) or the management API. */
export interface ProxyProjectConfig {
  /** Local project name clients use, e.g. dockerhub. */
  project: string;
  /** Upstream registry base URL. */
  url: string;
  /** Adds Docker Hub's implicit `library/` to single-segment names. */
  dockerHubLibrary: boolean;
  username?: string;
  password?: string;
  /** Freshness of manifests by tag, in milliseconds. */
  manifestTtlMs: number;
  /** Cache size limit in bytes: least recently pulled images are evicted beyond it. */
  maxBytes?: number;
}

/** A proxy project as the API shows it: never the password, and where it is defined. */
export interface ProxyProjectView {
  project: string;
  url: string;
  dockerHubLibrary: boolean;
  username: string | null;
  passwordSet: boolean;
  manifestTtlSeconds: number;
  maxBytes: number | null;
  /** `config` entries are changed in the config file only; `api` ones through the API. */
  origin: 'config' | 'api';
}

/** Where a local repository of a proxy project comes from. */
export interface ProxyRoute {
  config: ProxyProjectConfig;
  client: RegistryClient;
  /** The repository name upstream, e.g. library/node for dockerhub/node. */
  upstreamName: string;
}

interface Entry {
  config: ProxyProjectConfig;
  origin: 'config' | 'api';
  client: RegistryClient;
  /** The config as JSON: a client (and its token cache) is kept while this is unchanged. */
  key: string;
}

export interface ProxyProjectsOptions {
  log?: ClientLog;
  metrics: ProxyMetrics;
  /** Upstream connect + response-header timeout. */
  timeoutMs?: number;
  /** How long API-managed projects read from the database are used before being read again (default 2 s). */
  refreshMs?: number;
  now?: () => number;
}

/**
 * Maps local repository names to their upstream (or to nothing: a plain local
 * repository). Projects come from the config file, fixed for the process, and
 * from the settings store (kind `proxy`), managed through the API: a change
 * made on this node is seen at once, on other nodes within `refreshMs`.
 */
export class ProxyProjects {
  private entries = new Map<string, Entry>();
  private loadedAt = -Infinity;
  private loading: Promise<void> | undefined;
  private readonly now: () => number;
  private readonly refreshMs: number;

  constructor(
    private readonly fixed: ProxyProjectConfig[],
    private readonly store: SettingsStore,
    private readonly opts: ProxyProjectsOptions,
  ) {
    this.now = opts.now ?? Date.now;
    this.refreshMs = opts.refreshMs ?? 2000;
  }

  /**
   * `dockerhub/library/node` -> `library/node`; with dockerHubLibrary,
   * `dockerhub/node` -> `library/node` (Docker Hub's official images live
   * under library/). The project name alone is not a proxied repository.
   */
  async route(repository: string): Promise<ProxyRoute | undefined> {
    const slash = repository.indexOf('/');
    if (slash < 0) return undefined;
    const p = (await this.current()).get(repository.slice(0, slash));
    if (!p) return undefined;
    const rest = repository.slice(slash + 1);
    const upstreamName = p.config.dockerHubLibrary && !rest.includes('/') ? `library/${rest}` : rest;
    return { config: p.config, client: p.client, upstreamName };
  }

  /** The project's settings, when it is a proxy project. */
  async get(project: string): Promise<ProxyProjectConfig | undefined> {
    return (await this.current()).get(project)?.config;
  }

  /** Every proxy project, by name. */
  async list(): Promise<ProxyProjectView[]> {
    return [...(await this.current()).values()].map(view).sort((a, b) => (a.project < b.project ? -1 : 1));
  }

  /** DENIED for a push into a proxy project: its content comes from the upstream only. */
  async refusePush(repository: string): Promise<void> {
    const r = await this.route(repository);
    if (r) {
      throw denied(`${r.config.project} is a pull-through cache of ${r.config.url}; pushes into it are refused`, {
        project: r.config.project,
      });
    }
  }

  /**
   * Creates or replaces an API-managed proxy project. NAME_INVALID for a bad
   * name, POLICY_INVALID naming the field for a bad document, DENIED for a
   * project defined in the config file.
   */
  async put(project: string, input: unknown): Promise<ProxyProjectView> {
    if (!PROJECT_NAME.test(project)) throw nameInvalid(`${JSON.stringify(project.slice(0, 100))} is not a valid project name`);
    if (this.fixed.some((f) => f.project === project)) throw denied(`${project} is defined in the config file; change it there`);
    const parsed = ProxySettingsSchema.safeParse(input);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw policyInvalid(`${issue.path.join('.') || 'document'}: ${issue.message}`, { field: issue.path.join('.') });
    }
    const d = parsed.data;
    if ((d.username === undefined) !== (d.password === undefined)) {
      throw policyInvalid('username and password go together', { field: d.username === undefined ? 'username' : 'password' });
    }
    await this.store.putSetting('proxy', project, JSON.stringify(d), this.now());
    this.loadedAt = -Infinity;
    return view(this.entry({ project, ...toConfig(d) }, 'api'));
  }

  /** Removes an API-managed proxy project (its cached content stays until lifecycle or deletion removes it). */
  async delete(project: string): Promise<void> {
    if (this.fixed.some((f) => f.project === project)) throw denied(`${project} is defined in the config file; change it there`);
    if (!(await this.store.deleteSetting('proxy', project))) throw notFound(`proxy project ${project}`);
    this.loadedAt = -Infinity;
  }

  private async current(): Promise<Map<string, Entry>> {
    if (this.now() - this.loadedAt >= this.refreshMs) {
      this.loading ??= this.reload().finally(() => (this.loading = undefined));
      await this.loading;
    }
    return this.entries;
  }

  private async reload(): Promise<void> {
    const next = new Map<string, Entry>();
    for (const rec of await this.store.listSettings('proxy')) {
      const parsed = ProxySettingsSchema.safeParse(parseJson(rec.document));
      if (!parsed.success) {
        this.opts.log?.warn({ project: rec.target, err: parsed.error.message }, 'ignoring an invalid stored proxy project');
        continue;
      }
      next.set(rec.target, this.entry({ project: rec.target, ...toConfig(parsed.data) }, 'api'));
    }
    // The config file wins over a stored project of the same name.
    for (const config of this.fixed) next.set(config.project, this.entry(config, 'config'));
    this.entries = next;
    this.loadedAt = this.now();
  }

  /** Reuses the existing client while the project's settings are unchanged (it holds cached tokens). */
  private entry(config: ProxyProjectConfig, origin: Entry['origin']): Entry {
    const key = JSON.stringify(config);
    const old = this.entries.get(config.project);
    if (old && old.key === key) return { ...old, origin };
    const { metrics, log, timeoutMs } = this.opts;
    const client = new RegistryClient({
      url: config.url,
      username: config.username,
      password: config.password,
      log,
      timeoutMs,
      onRateLimit: (remaining) => metrics.rateLimitRemaining(config.project, remaining),
    });
    return { config, origin, client, key };
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function toConfig(d: z.infer<typeof ProxySettingsSchema>): Omit<ProxyProjectConfig, 'project'> {
  return {
    url: d.url,
    dockerHubLibrary: d.dockerHubLibrary,
    username: d.username,
    password: d.password,
    manifestTtlMs: d.manifestTtl,
    maxBytes: d.maxBytes,
  };
}

function view(e: Entry): ProxyProjectView {
  const c = e.config;
  return {
    project: c.project,
    url: c.url,
    dockerHubLibrary: c.dockerHubLibrary,
    username: c.username ?? null,
    passwordSet: c.password !== undefined,
    manifestTtlSeconds: c.manifestTtlMs / 1000,
    maxBytes: c.maxBytes ?? null,
    origin: e.origin,
  };
}

/** Upload sessions as clients see them: refused in proxy projects, unchanged elsewhere. */
export class GuardedBlobUploads extends BlobUploads {
  constructor(
    blobs: BlobStore,
    meta: MetadataStore,
    now: () => number,
    rules: Pick<PushRules, 'checkBlob'> | undefined,
    private readonly projects: ProxyProjects,
  ) {
    super(blobs, meta, now, rules);
  }

  override async start(repository: string): Promise<UploadStatus> {
    await this.projects.refusePush(repository);
    return super.start(repository);
  }
}
