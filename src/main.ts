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
import { join } from 'node:path';
import { Cron } from 'croner';
import { Digest } from './oci/digest.js';
import { MediaType } from './oci/media-type.js';
import { SqlScanStore } from './metadata/sql/sql-scan-store.js';
import { allGates, type PushedManifest } from './registry/pull-gate.js';
import { ScanService } from './scan/scan-service.js';
import { ScanGate } from './scan/scan-gate.js';
import { parseScanPolicy, type ScanPolicy } from './scan/policy.js';
import { AdvisoryDb } from './scan/advisories/index.js';
import { DEFAULT_ECOSYSTEMS } from './scan/scanner.js';
import { BERTH_VERSION } from './version.js';
import { SignatureService } from './sign/signature-service.js';
import { SignatureGate } from './sign/signature-gate.js';
import { parseSigningPolicy, type SigningPolicy } from './sign/policy.js';

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
  const settings = new SettingsService(settingsStore, { parsers: { scanning: parseScanPolicy, signing: parseSigningPolicy } });
  const scanStore = new SqlScanStore(db);
  const signatures = new SignatureService({
    meta,
    blobs,
    checks: scanStore,
    policy: (repository) => settings.forRepository<SigningPolicy>('signing', repository),
    registryHost: publicHost(config),
    log: log.child({ component: 'sign' }),
  });
  const rules = new SettingsPushRules(settings, meta, config.gc.graceSeconds * 1000);
  const uploads = new BlobUploads(blobs, meta, Date.now, rules);
  const pulls = new PullRecorder(meta, config.registry.pullTimeFlushSeconds * 1000, (e) =>
    log.error({ err: e }, 'recording pull times failed'),
  );
  pulls.start();
  const queue = new SqlJobQueue(db);
  const scanPolicy = (repository: string) => settings.forRepository<ScanPolicy>('scanning', repository);
  const scans = config.scan.enabled
    ? new ScanService({
        content: {
          manifest: async (repository, digest) => {
            const record = await meta.getManifest(repository, digest);
            const bytes = record && (await blobs.readBytes(Digest.parse(digest)));
            return record && bytes ? { record, bytes } : undefined;
          },
          blob: async (digest) => {
            const stream = await blobs.read(Digest.parse(digest));
            if (!stream) throw new Error(`blob ${digest} is missing from storage`);
            return stream;
          },
          attach: async (repository, artifactBlobs, manifest) => {
            // A pull-through cache takes no pushes: its images keep their reports without an attached SBOM.
            if (await proxies.route(repository)) return false;
            for (const b of artifactBlobs) await registry.putArtifactBlob(repository, b);
            await registry.putManifest(repository, { digest: Digest.fromBytes(manifest) }, manifest, MediaType.OciManifest);
            return true;
          },
        },
        store: scanStore,
        policy: async (repository) => (await scanPolicy(repository))?.document,
        enqueue: (repository, digest) => {
          void queue
            .enqueue({ kind: 'scan', payload: { repository, digest }, key: `scan:${repository}@${digest}`, maxAttempts: 2 }, Date.now())
            .then(() => scheduler.wake())
            .catch((e: unknown) => log.warn({ repository, digest, err: (e as Error).message }, 'queueing a scan failed'));
        },
        dbDir: advisoryDir(config),
        log: log.child({ component: 'scan' }),
        version: BERTH_VERSION,
      })
    : undefined;
  const registryOptions = {
    deleteEnabled: config.registry.delete.enabled,
    maxManifestBytes: config.registry.maxManifestBytes,
    rules,
    pullGate: allGates([...(scans ? [new ScanGate(scans, scanPolicy)] : []), new SignatureGate(signatures)]),
    onPushed: (m: PushedManifest) => {
      scans?.onPushed(m);
      signatures.onPushed(m);
    },
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
    queue,
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
  if (scans) {
    scheduler.handle('scan', async ({ payload, signal }) => {
      const { repository, digest } = payload as { repository: string; digest: string };
      await scans.scan(repository, digest, signal);
    });
    // Reports matched against an older advisory database are matched again (no layer is read).
    scheduler.every('scan-rematch', 600_000, async ({ signal }) => {
      await scans.rematchStale(signal);
    });
  }
  const advisoryUpdates = scans && config.scan.db.schedule !== '' ? scheduleAdvisoryUpdates(config, scans, log) : undefined;
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
    scans,
    signatures,
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
        advisoryUpdates?.stop();
        await Promise.all([
          scheduler.stop(config.shutdownTimeoutSeconds * 1000),
          http.shutdown(config.shutdownTimeoutSeconds * 1000),
          plain?.shutdown(config.shutdownTimeoutSeconds * 1000),
        ]);
        await signatures.idle();
        await pulls.stop();
        await audit.stop();
        await meta.close();
      })();
      return closing;
    },
  };
}

/** This registry's name in Notation trust policy scopes: registry.publicHost, else localhost and the listen port. */
function publicHost(config: Config): string {
  if (config.registry.publicHost) return config.registry.publicHost;
  const port = config.listen.slice(config.listen.lastIndexOf(':') + 1);
  return `localhost:${port}`;
}

/** The advisory database directory: scan.db.dir (BERTH_SCAN_DB_DIR), else <data>/advisories. */
export function advisoryDir(config: Config): string {
  return config.scan.db.dir || join(config.data, 'advisories');
}

/**
 * Each node keeps its own advisory database, so each downloads the OSV
 * exports on the schedule (croner, UTC), then matches kept reports again.
 * A failed download (offline) is a warning: the database stays as it was.
 */
function scheduleAdvisoryUpdates(config: Config, scans: ScanService, log: Logger): Cron {
  const updateLog = log.child({ component: 'advisories' });
  return new Cron(config.scan.db.schedule, { timezone: 'UTC', protect: true }, async () => {
    let db: AdvisoryDb | undefined;
    try {
      db = AdvisoryDb.open(advisoryDir(config));
      const r = await db.update({
        baseUrl: config.scan.db.baseUrl,
        ecosystems: config.scan.db.ecosystems.length > 0 ? config.scan.db.ecosystems : DEFAULT_ECOSYSTEMS,
      });
      updateLog.info({ ecosystems: r.ecosystems.map((e) => `${e.name}: ${e.status}`) }, 'advisory database updated');
      db.close();
      db = undefined;
      await scans.rematchStale();
    } catch (e) {
      updateLog.warn({ err: (e as Error).message }, 'advisory database update failed; scans use the database as it was');
    } finally {
      db?.close();
    }
  });
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
