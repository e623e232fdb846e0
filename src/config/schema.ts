import { z } from 'zod';
import { Cron } from 'croner';

/**
 * The one config schema: types, defaults, constraints and a one-line
 * description per key (`.describe`). docs/config.md and `berth config check`
 * are generated from it. Every key can come from a YAML file (`version: 1`),
 * from the environment as BERTH_ + the upper-cased key path, or from a flag.
 */
const listen = z
  .string()
  .regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]*):\d{1,5}$/, 'must be HOST:PORT')
  .describe('Address and port to listen on, HOST:PORT (port 0 picks a free port)');

/** A cron pattern (5 or 6 fields, UTC) or "" for never; checked by parsing it. */
function cronSchedule(def: string) {
  return z
    .string()
    .default(def)
    .refine((v) => v === '' || isCron(v), { message: 'not a valid cron pattern (e.g. "30 3 * * *")' });
}

function isCron(v: string): boolean {
  try {
    new Cron(v, { paused: true, timezone: 'UTC' });
    return true;
  } catch {
    return false;
  }
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "500ms", "30s", "5m", "1h", "1d" (or a plain number of seconds) to milliseconds. */
export function parseDuration(v: string | number): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0 ? v * 1000 : undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/.exec(v);
  return m ? Math.round(Number(m[1]) * DURATION_UNITS[m[2]!]!) : undefined;
}

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
};

/** "50GiB", "500MB", "1TiB" (IEC binary or SI decimal units) or a plain number to bytes. */
export function parseSize(v: string | number): number | undefined {
  if (typeof v === 'number') return Number.isSafeInteger(v) && v >= 0 ? v : undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]i?b|b)?\s*$/i.exec(v);
  return m ? Math.round(Number(m[1]) * SIZE_UNITS[(m[2] ?? '').toLowerCase()]!) : undefined;
}

const duration = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const ms = parseDuration(v);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: 'must be a duration such as "30s", "5m" or "1h"' });
    return z.NEVER;
  }
  return ms;
});

const size = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const bytes = parseSize(v);
  if (bytes === undefined || bytes < 1) {
    ctx.addIssue({ code: 'custom', message: 'must be a size such as "500MiB" or "50GiB"' });
    return z.NEVER;
  }
  return bytes;
});

/** A pull-through cache project's settings (issue 6, "Interface points"); also the management API's document. */
export const ProxySettingsSchema = z
  .object({
    url: z.string().url().refine((u) => /^https?:\/\//.test(u), 'must be an http:// or https:// URL'),
    dockerHubLibrary: z.boolean().default(false),
    username: z.string().optional(),
    password: z.string().optional(),
    manifestTtl: duration.default(5 * 60_000),
    maxBytes: size.optional(),
  })
  .strict();

/** A project name: one component of the repository name grammar. */
export const PROJECT_NAME = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;

const proxyProject = ProxySettingsSchema.extend({
  project: z.string().regex(PROJECT_NAME, 'must be a single repository name component, e.g. dockerhub'),
}).strict();

export const ConfigSchema = z
  .object({
    version: z.literal(1).default(1).describe('Config file format version; must be 1'),
    listen: listen.default('0.0.0.0:5000'),
    data: z.string().min(1).default('./data').describe('Data directory: blobs and the SQLite database live here by default'),
    log: z
      .object({
        level: z
          .enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'])
          .default('info')
          .describe('Log level of the JSON logs on stdout'),
      })
      .strict()
      .prefault({}),
    storage: z
      .object({
        driver: z.enum(['filesystem', 's3']).default('filesystem').describe('Blob storage driver: filesystem or s3'),
        filesystem: z
          .object({
            root: z.string().optional().describe('Directory for blobs and uploads (default: DATA/blobs)'),
          })
          .strict()
          .prefault({}),
        s3: z
          .object({
            endpoint: z.string().url().optional().describe('S3 endpoint URL (omit for AWS S3)'),
            region: z.string().default('us-east-1').describe('S3 region'),
            bucket: z.string().optional().describe('Bucket for blobs and uploads; required when storage.driver is s3'),
            prefix: z.string().default('').describe('Key prefix inside the bucket, e.g. berth/'),
            accessKeyId: z.string().optional().describe('Static access key (else the AWS SDK default credential chain)'),
            secretAccessKey: z.string().optional().describe('Static secret key (with accessKeyId)'),
            forcePathStyle: z.boolean().default(true).describe('Path-style addressing (needed by most S3-compatible servers)'),
            redirect: z.boolean().default(false).describe('Answer blob GETs with a 307 to a presigned URL, so bytes flow from the bucket'),
            redirectExpirySeconds: z.number().int().min(10).max(604800).default(600).describe('Lifetime of presigned redirect URLs'),
            partSizeMiB: z.number().int().min(5).max(5120).default(16).describe('Multipart part size and upload staging part size, in MiB'),
            concurrency: z.number().int().min(1).max(64).default(4).describe('Parts uploaded at once per blob'),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    metadata: z
      .object({
        driver: z.enum(['sqlite', 'postgres']).default('sqlite').describe('Metadata database driver: sqlite (embedded) or postgres'),
        sqlite: z
          .object({
            path: z.string().optional().describe('SQLite database file (default: DATA/berth.db)'),
          })
          .strict()
          .prefault({}),
        postgres: z
          .object({
            url: z.string().optional().describe('PostgreSQL connection URL, e.g. postgres://user:pass@host:5432/berth'),
            poolSize: z.number().int().min(1).max(1000).default(10).describe('Connections in the pool of each node'),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    registry: z
      .object({
        publicHost: z
          .string()
          .regex(/^$|^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/, 'must be HOST[:PORT], e.g. registry.example.com')
          .default('')
          .describe('The host[:port] clients use for this registry ("" for localhost and the listen port); names images in Notation trust policy scopes'),
        delete: z
          .object({
            enabled: z.boolean().default(true).describe('Allow DELETE of manifests, tags and blobs (405 UNSUPPORTED when false)'),
          })
          .strict()
          .prefault({}),
        maxManifestBytes: z
          .number()
          .int()
          .min(1024)
          .max(64 * 1024 * 1024)
          .default(4 * 1024 * 1024)
          .describe('Largest manifest accepted, in bytes (413 above it); the spec asks for at least 4 MiB'),
        pullTimeFlushSeconds: z
          .number()
          .min(0.05)
          .max(3600)
          .default(5)
          .describe('How often coalesced last-pulled times are written to the database'),
        uploadTimeoutHours: z
          .number()
          .min(0.01)
          .default(24)
          .describe('Upload sessions idle longer than this are removed with their data'),
      })
      .strict()
      .prefault({}),
    auth: z
      .object({
        enabled: z.boolean().default(false).describe('Require authentication (Docker token auth and HTTP basic); off means an open registry'),
        admin: z
          .object({
            username: z.string().min(1).max(64).default('admin').describe('The first system admin, created on start when no user exists'),
            password: z.string().optional().describe('Password of the first admin (set it by environment: BERTH_AUTH_ADMIN_PASSWORD)'),
          })
          .strict()
          .prefault({}),
        service: z.string().min(1).default('berth').describe('Service name in token challenges and the tokens\' audience'),
        issuer: z.string().min(1).default('berth').describe('Issuer of the tokens berth signs'),
        realm: z.string().url().optional().describe('Token endpoint URL announced to clients (default: this server\'s /token)'),
        tokenTtlSeconds: z.number().int().min(30).max(86400).default(300).describe('Lifetime of bearer tokens'),
        refreshTtlHours: z.number().min(1).max(8760).default(720).describe('Lifetime of refresh tokens (docker login with identity tokens)'),
        autoCreateProjects: z.boolean().default(false).describe('A signed-in user pushing to a project that does not exist creates it (private) and becomes its admin'),
      })
      .strict()
      .prefault({}),
    tls: z
      .object({
        cert: z.string().optional().describe('PEM certificate chain file: with tls.key, `listen` serves HTTPS'),
        key: z.string().optional().describe('PEM private key file for tls.cert'),
        httpListen: z.string().optional().describe('Also serve plain HTTP on this HOST:PORT (off unless set)'),
        minVersion: z.enum(['TLSv1.2', 'TLSv1.3']).default('TLSv1.2').describe('Oldest TLS version accepted'),
      })
      .strict()
      .prefault({}),
    gc: z
      .object({
        graceSeconds: z
          .number()
          .int()
          .min(0)
          .default(86400)
          .describe('Blobs and links younger than this are never collected (covers a push between its first layer and its manifest)'),
        schedule: cronSchedule('30 3 * * *').describe('When garbage collection runs (cron, UTC; "" for never); it can also be started with berth gc'),
      })
      .strict()
      .prefault({}),
    lifecycle: z
      .object({
        schedule: cronSchedule('0 3 * * *').describe('When lifecycle policies are applied to every repository that has one (cron, UTC; "" for never)'),
      })
      .strict()
      .prefault({}),
    scan: z
      .object({
        enabled: z.boolean().default(true).describe('Scanning in the registry: scan on push (per project policy), reports, the vulnerability pull policy'),
        db: z
          .object({
            dir: z
              .string()
              .default('')
              .describe('Advisory database directory ("" for <data>/advisories); every node keeps its own copy'),
            schedule: cronSchedule('17 */6 * * *').describe(
              'When this node downloads the OSV exports into its advisory database (cron, UTC; "" for never, e.g. offline: use berth db import)',
            ),
            baseUrl: z.string().url().default('https://osv-vulnerabilities.storage.googleapis.com').describe('Where the OSV exports are (<baseUrl>/<ecosystem>/all.zip)'),
            ecosystems: z
              .preprocess((v) => (typeof v === 'string' ? safeJson(v) : v), z.array(z.string().min(1).max(100)))
              .default([])
              .describe('OSV ecosystems to download ([] for those berth catalogs). From the environment as a JSON array'),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    proxies: z
      .preprocess((v) => (typeof v === 'string' ? safeJson(v) : v), z.array(proxyProject))
      .default([])
      .describe(
        'Pull-through cache projects: each maps a local project to an upstream registry: project, url, dockerHubLibrary (add library/ to ' +
          'single-segment names), username and password (upstream credentials), manifestTtl (freshness of manifests by tag, e.g. "5m"), ' +
          'maxBytes (cache size limit, e.g. "50GiB": least recently pulled images are evicted). More can be added through the ' +
          'management API. From the environment as a JSON array',
      ),
    mirror: z
      .string()
      .default('')
      .describe(
        'Registry-mirror mode: a proxy project that also answers pulls of /v2/<name> for names that are not local repositories ' +
          '(what Docker registry-mirrors and containerd hosts.toml mirrors ask for); "" for none',
      ),
    shutdownTimeoutSeconds: z
      .number()
      .min(0)
      .max(600)
      .default(30)
      .describe('On SIGTERM, how long in-flight requests may take before the process exits'),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.storage.driver === 's3' && !c.storage.s3.bucket) {
      ctx.addIssue({ code: 'custom', path: ['storage', 's3', 'bucket'], message: 'required when storage.driver is s3' });
    }
    if (c.metadata.driver === 'postgres' && !c.metadata.postgres.url) {
      ctx.addIssue({ code: 'custom', path: ['metadata', 'postgres', 'url'], message: 'required when metadata.driver is postgres' });
    }
    if (Boolean(c.tls.cert) !== Boolean(c.tls.key)) {
      ctx.addIssue({ code: 'custom', path: ['tls', c.tls.cert ? 'key' : 'cert'], message: 'tls.cert and tls.key go together' });
    }
    const seen = new Set<string>();
    for (const [i, p] of c.proxies.entries()) {
      if (seen.has(p.project)) ctx.addIssue({ code: 'custom', path: ['proxies', i, 'project'], message: `${p.project} is configured twice` });
      seen.add(p.project);
      if ((p.username === undefined) !== (p.password === undefined)) {
        ctx.addIssue({ code: 'custom', path: ['proxies', i, p.username === undefined ? 'username' : 'password'], message: 'username and password go together' });
      }
    }
    if (c.tls.httpListen && !c.tls.cert) {
      ctx.addIssue({ code: 'custom', path: ['tls', 'httpListen'], message: 'only meaningful with tls.cert and tls.key (listen is already plain HTTP)' });
    }
  });

export type Config = z.infer<typeof ConfigSchema>;

/** Environment values of list keys are JSON; anything else is left for the schema to refuse. */
function safeJson(v: string): unknown {
  try {
    return JSON.parse(v);
  } catch {
    return v;
  }
}
