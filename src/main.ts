import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { Config } from './config/schema.js';
import { FilesystemDriver } from './storage/drivers/filesystem.js';
import { S3Driver } from './storage/drivers/s3.js';
import { BlobStore } from './storage/blob-store.js';
import type { StorageDriver } from './storage/storage-driver.js';
import { SqliteDatabase } from './metadata/sql/sqlite-database.js';
import { PostgresDatabase } from './metadata/sql/postgres-database.js';
import { SqlMetadataStore } from './metadata/sql/sql-metadata-store.js';
import type { SqlDatabase } from './metadata/sql/sql-database.js';
import { SqlJobQueue } from './jobs/sql-job-queue.js';
import { Scheduler } from './jobs/scheduler.js';
import { BlobUploads } from './registry/blob-uploads.js';
import { PullRecorder } from './registry/pull-recorder.js';
import { PullThroughRegistry } from './proxy/pull-through-registry.js';
import { ProxyProjects } from './proxy/proxy-projects.js';
import { CacheEviction } from './proxy/cache-eviction.js';
import { proxyRoutes } from './http/api/proxy-api.js';
import { Metrics } from './observability/metrics.js';
import { createHttpServer } from './http/server.js';
import { SqlGcStore } from './metadata/sql/sql-gc-store.js';
import { SqlSettingsStore } from './metadata/sql/sql-settings-store.js';
import { GarbageCollector } from './gc/garbage-collector.js';
import { SettingsService } from './lifecycle/settings-service.js';
import { SettingsPushRules } from './lifecycle/settings-push-rules.js';
import { LifecycleService } from './lifecycle/lifecycle-service.js';
import { readFile } from 'node:fs/promises';
import { AuditRecorder } from './auth/audit-recorder.js';
import { AccessControl } from './auth/access-control.js';
import { TokenService } from './auth/token-service.js';
import { SqlAuthStore } from './metadata/sql/sql-auth-store.js';
import { HttpAuth } from './http/auth/http-auth.js';
import { accessRoutes } from './http/api/access-api.js';
import type { HttpServer } from './http/server.js';

export interface RunningServer {
  url: string;
  close(): Promise<void>;
}

/** The composition root: config -> drivers -> stores -> services -> http. */
export async function startServer(config: Config, log: Logger): Promise<RunningServer> {
  const storage = await openStorage(config);
  const blobs = new BlobStore(storage, {
    presignGet:
      storage instanceof S3Driver && config.storage.s3.redirect
        ? (key) => storage.presignGet(key, { expiresSeconds: config.storage.s3.redirectExpirySeconds })
        : undefined,
  });
  const { db, meta } = await openMetadataDatabase(config, log);

  const settingsStore = new SqlSettingsStore(db);
  const settings = new SettingsService(settingsStore);
  const rules = new SettingsPushRules(settings, meta, config.gc.graceSeconds * 1000);
  const uploads = new BlobUploads(blobs, meta, Date.now, rules);
  const pulls = new PullRecorder(meta, config.registry.pullTimeFlushSeconds * 1000, (e) =>
    log.error({ err: e }, 'recording pull times failed'),
  );
  pulls.start();
  const registryOptions = {
    deleteEnabled: config.registry.delete.enabled,
    maxManifestBytes: config.registry.maxManifestBytes,
    rules,
  };
  const metrics = new Metrics();
  // The pull-through cache wraps the local registry; proxy projects come from the config file and the API.
  const proxyLog = log.child({ component: 'proxy' });
  const proxies = new ProxyProjects(
    config.proxies.map(({ manifestTtl, ...p }) => ({ ...p, manifestTtlMs: manifestTtl })),
    settingsStore,
    { log: proxyLog, metrics: metrics.proxy },
  );
  const eviction = new CacheEviction(meta, proxies, settingsStore, metrics.proxy, proxyLog);
  if (config.mirror !== '' && !config.proxies.some((p) => p.project === config.mirror)) {
    log.warn({ mirror: config.mirror }, 'mirror names no proxy project of the config file; it works once the API defines it');
  }
  const registry = new PullThroughRegistry(blobs, meta, uploads, pulls, registryOptions, {
    projects: proxies,
    log: proxyLog,
    metrics: metrics.proxy,
    mirror: config.mirror || undefined,
    onCached: (project) => eviction.request(project),
  });
  const lifecycle = new LifecycleService(settings, meta, settingsStore);
  const uploadTtlMs = config.registry.uploadTimeoutHours * 3600_000;
  const gc = new GarbageCollector(new SqlGcStore(db), blobs, {
    graceMs: config.gc.graceSeconds * 1000,
    uploads: {
      reap: async (dryRun) =>
        dryRun ? (await meta.listStaleUploads(Date.now() - uploadTtlMs, 100_000)).length : uploads.reap(Date.now() - uploadTtlMs),
    },
  });

  // Periodic work runs once per period across all nodes, through the job queue in the metadata database.
  const scheduler = new Scheduler({
    queue: new SqlJobQueue(db),
    owner: `${hostname()}/${process.pid}/${randomUUID().slice(0, 8)}`,
    log: log.child({ component: 'jobs' }),
  });
  // Idle upload sessions are reaped with their staged bytes.
  scheduler.every('upload-reap', Math.min(uploadTtlMs, 3600_000), async ({ signal }) => {
    await uploads.reap(Date.now() - uploadTtlMs);
    signal.throwIfAborted();
    // Multipart uploads a crashed node left behind on the bucket go with the sessions.
    if (storage instanceof S3Driver) await storage.abortStaleMultipartUploads(uploadTtlMs);
  });
  if (config.lifecycle.schedule !== '') {
    scheduler.cron('lifecycle', config.lifecycle.schedule, async ({ signal }) => {
      const r = await lifecycle.applyAll('schedule', signal);
      log.info({ ...r }, 'lifecycle policies applied');
    });
  }
  if (config.gc.schedule !== '') {
    scheduler.cron('gc', config.gc.schedule, async ({ signal }) => {
      log.info({ ...(await gc.run({ signal })) }, 'garbage collection finished');
    });
  }
  // Caches over their size limit are trimmed after each fill; this catches what other nodes filled.
  scheduler.every('proxy-evict', 600_000, async ({ signal }) => {
    await eviction.evictAll(signal);
  });
  scheduler.start();

  const audit = new AuditRecorder(settingsStore, 1000, (e) => log.error({ err: e }, 'writing the audit log failed'));
  audit.start();
  const auth = config.auth.enabled ? await openAccessControl(config, db, audit, log) : undefined;
  if (!auth) {
    log.warn(
      'ACCESS CONTROL IS OFF: anyone who can reach this server can push, pull and delete images and use the management API. ' +
        'Set auth.enabled (BERTH_AUTH_ENABLED=true) with an admin password before exposing it beyond your machine.',
    );
  }
  const httpOptions = {
    registry,
    log,
    maxManifestBytes: config.registry.maxManifestBytes,
    ready: () => registry.ping(),
    management: {
      settings,
      lifecycle,
      gc,
      usage: settingsStore,
      audit: settingsStore,
      graceMs: config.gc.graceSeconds * 1000,
      extra: { ...proxyRoutes(proxies, eviction, settingsStore), ...(auth ? accessRoutes(auth.http.ac, audit) : {}) },
    },
    auth,
    audit,
    metrics,
    mirror: config.mirror ? (name: string) => registry.mirrorName(name) : undefined,
  };
  const tls =
    config.tls.cert && config.tls.key
      ? { cert: await readFile(config.tls.cert), key: await readFile(config.tls.key), minVersion: config.tls.minVersion }
      : undefined;
  const http = createHttpServer(httpOptions, tls);
  const url = await listen(http, config.listen, tls ? 'https' : 'http');
  const plain = tls && config.tls.httpListen ? createHttpServer(httpOptions) : undefined;
  if (plain) log.info({ url: await listen(plain, config.tls.httpListen!, 'http') }, 'also listening on plain HTTP');

  let closing: Promise<void> | undefined;
  return {
    url,
    close() {
      closing ??= (async () => {
        await Promise.all([
          scheduler.stop(config.shutdownTimeoutSeconds * 1000),
          http.shutdown(config.shutdownTimeoutSeconds * 1000),
          plain?.shutdown(config.shutdownTimeoutSeconds * 1000),
        ]);
        await pulls.stop();
        await audit.stop();
        await meta.close();
      })();
      return closing;
    },
  };
}

async function listen(http: HttpServer, address: string, scheme: 'http' | 'https'): Promise<string> {
  const [host, portText] = splitHostPort(address);
  await new Promise<void>((resolve, reject) => {
    http.server.once('error', reject);
    http.server.listen(Number(portText), host, () => resolve());
  });
  const addr = http.server.address() as AddressInfo;
  const shownHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return `${scheme}://${shownHost}:${addr.port}`;
}

/** Token service (signing key shared through the database), access control and the first admin. */
async function openAccessControl(config: Config, db: SqlDatabase, audit: AuditRecorder, log: Logger) {
  const store = new SqlAuthStore(db);
  const key = await store.signingKey(() => TokenService.generateKeyPem(), Date.now());
  const tokens = new TokenService({
    issuer: config.auth.issuer,
    service: config.auth.service,
    privateKeyPem: key.privatePem,
    ttlSeconds: config.auth.tokenTtlSeconds,
    refreshTtlSeconds: Math.round(config.auth.refreshTtlHours * 3600),
  });
  const ac = new AccessControl(store, tokens, { autoCreateProjects: config.auth.autoCreateProjects });
  if ((await ac.bootstrapAdmin(config.auth.admin.username, config.auth.admin.password)) === 'created') {
    log.info({ user: config.auth.admin.username }, 'created the first system admin');
  }
  return { http: new HttpAuth(ac, { service: config.auth.service, realm: config.auth.realm, audit }), service: config.auth.service };
}

/** The configured storage driver, initialised. */
export async function openStorage(config: Config): Promise<StorageDriver> {
  if (config.storage.driver === 's3') {
    const c = config.storage.s3;
    return new S3Driver({
      endpoint: c.endpoint,
      region: c.region,
      bucket: c.bucket!,
      prefix: c.prefix,
      accessKeyId: c.accessKeyId,
      secretAccessKey: c.secretAccessKey,
      forcePathStyle: c.forcePathStyle,
      partSizeBytes: c.partSizeMiB * 1024 * 1024,
      concurrency: c.concurrency,
    });
  }
  const driver = new FilesystemDriver(config.storage.filesystem.root!);
  await driver.init();
  return driver;
}

/** The configured metadata store, migrated (under an advisory lock on PostgreSQL). */
export async function openMetadata(config: Config, log: Logger): Promise<SqlMetadataStore> {
  return (await openMetadataDatabase(config, log)).meta;
}

/** The configured SQL database and the metadata store over it, migrated; the job queue shares the database. */
export async function openMetadataDatabase(config: Config, log: Logger): Promise<{ db: SqlDatabase; meta: SqlMetadataStore }> {
  const db =
    config.metadata.driver === 'postgres'
      ? new PostgresDatabase({
          url: config.metadata.postgres.url!,
          poolSize: config.metadata.postgres.poolSize,
          onError: (e) => log.warn({ err: e }, 'idle PostgreSQL connection failed'),
        })
      : new SqliteDatabase(config.metadata.sqlite.path!);
  const meta = new SqlMetadataStore(db);
  try {
    await meta.init();
  } catch (e) {
    await meta.close().catch(() => undefined);
    throw e;
  }
  return { db, meta };
}

export function splitHostPort(listen: string): [string, string] {
  const i = listen.lastIndexOf(':');
  let host = listen.slice(0, i);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  return [host || '0.0.0.0', listen.slice(i + 1)];
}
