import { denied } from '../errors/registry-error.js';
import { BlobUploads, type UploadStatus } from '../registry/blob-uploads.js';
import type { BlobStore } from '../storage/blob-store.js';
import type { MetadataStore } from '../metadata/metadata-store.js';
import type { PushRules } from '../registry/push-rules.js';
import { UpstreamClient, type UpstreamLog } from './upstream-client.js';

/** One proxy project as configured (`proxies:` in the config file). */
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
  /** Cache size limit in bytes (eviction is not implemented yet). */
  maxBytes?: number;
}

/** Where a local repository of a proxy project comes from. */
export interface ProxyRoute {
  config: ProxyProjectConfig;
  client: UpstreamClient;
  /** The repository name upstream, e.g. library/node for dockerhub/node. */
  upstreamName: string;
}

/** Maps local repository names to their upstream (or to nothing: a plain local repository). */
export class ProxyProjects {
  private readonly byProject = new Map<string, { config: ProxyProjectConfig; client: UpstreamClient }>();

  constructor(projects: ProxyProjectConfig[], log?: UpstreamLog, timeoutMs?: number) {
    for (const config of projects) {
      const client = new UpstreamClient({ url: config.url, username: config.username, password: config.password, log, timeoutMs });
      this.byProject.set(config.project, { config, client });
    }
  }

  /**
   * `dockerhub/library/node` -> `library/node`; with dockerHubLibrary,
   * `dockerhub/node` -> `library/node` (Docker Hub's official images live
   * under library/). The project name alone is not a proxied repository.
   */
  route(repository: string): ProxyRoute | undefined {
    const slash = repository.indexOf('/');
    if (slash < 0) return undefined;
    const p = this.byProject.get(repository.slice(0, slash));
    if (!p) return undefined;
    const rest = repository.slice(slash + 1);
    const upstreamName = p.config.dockerHubLibrary && !rest.includes('/') ? `library/${rest}` : rest;
    return { ...p, upstreamName };
  }

  isProxied(repository: string): boolean {
    return this.route(repository) !== undefined;
  }

  /** DENIED for a push into a proxy project: its content comes from the upstream only. */
  refusePush(repository: string): void {
    const r = this.route(repository);
    if (r) {
      throw denied(`${r.config.project} is a pull-through cache of ${r.config.url}; pushes into it are refused`, {
        project: r.config.project,
      });
    }
  }
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
    this.projects.refusePush(repository);
    return super.start(repository);
  }
}
