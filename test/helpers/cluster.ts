import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { DeleteObjectsCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { BERTH_BIN, startServer, type TestServer } from './server.js';
import { ensureS3, stopS3, type S3Config } from './s3-server.js';

/**
 * A scale-out berth cluster on one machine: N identical `berth serve`
 * processes, each with its own data dir, sharing one PostgreSQL database
 * (metadata) and one blob storage (S3 when available, else one shared
 * filesystem root).
 */

export const ADMIN_POSTGRES_URL = process.env.BERTH_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

// --- PostgreSQL ----------------------------------------------------------------

export interface TestDatabase {
  name: string;
  /** Connection URL of the new database. */
  url: string;
  /** A connected client on the database (the caller ends it). */
  connect(): Promise<pg.Client>;
  /** Drops the database, disconnecting whoever still uses it. */
  drop(): Promise<void>;
}

async function adminQuery(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: ADMIN_POSTGRES_URL, connectionTimeoutMillis: 10_000 });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

/** Creates a fresh, uniquely named database (`<prefix>_<pid>_<random>`). */
export async function createTestDatabase(prefix: string): Promise<TestDatabase> {
  const name = `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
  if (!/^[a-z0-9_]{1,63}$/.test(name)) throw new Error(`unsafe database name ${name}`);
  await adminQuery(`CREATE DATABASE ${name}`);
  const u = new URL(ADMIN_POSTGRES_URL);
  u.pathname = `/${name}`;
  const url = u.toString();
  return {
    name,
    url,
    async connect() {
      const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
      await c.connect();
      return c;
    },
    drop: () => adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}

// --- shared blob storage --------------------------------------------------------

export interface ClusterStorage {
  kind: 's3' | 'filesystem';
  /** BERTH_STORAGE_* environment for every node. */
  env: Record<string, string>;
  /** Why this storage was chosen (printed by the test). */
  reason: string;
  /**
   * Every stored object under a top-level folder of the BlobStore layout
   * (`blobs/`, `uploads/`), read straight from the storage, not through berth:
   * key (relative to the storage root or prefix) -> size.
   */
  list(folder: 'blobs/' | 'uploads/'): Promise<Map<string, number>>;
  /** Removes what the choice created: the shared root, or every object under the S3 prefix. */
  cleanup(): Promise<void>;
}

const MAX_LIST_PAGES = 1000;
const MAX_WALK_ENTRIES = 1_000_000;

async function listFilesystem(root: string, folder: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  let seen = 0;
  const walk = async (rel: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(join(root, rel), { withFileTypes: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw e;
    }
    for (const ent of entries) {
      if (++seen > MAX_WALK_ENTRIES) throw new Error(`more than ${MAX_WALK_ENTRIES} entries under ${root}/${folder}`);
      const child = `${rel}/${ent.name}`;
      if (ent.isDirectory()) await walk(child);
      else if (ent.isFile()) out.set(child, (await stat(join(root, child))).size);
    }
  };
  await walk(folder.replace(/\/$/, ''));
  return out;
}

function s3Client(s3: S3Config): S3Client {
  return new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    // RGW neither checks nor returns the SDK's default CRC checksums (scripts/s3-server.sh).
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/** Every object under `prefix + folder`: key relative to `prefix` -> size. */
async function listS3(s3: S3Config, prefix: string, folder: string): Promise<Map<string, number>> {
  const client = s3Client(s3);
  const out = new Map<string, number>();
  try {
    let token: string | undefined;
    for (let page = 0; ; page++) {
      if (page >= MAX_LIST_PAGES) throw new Error(`more than ${MAX_LIST_PAGES} list pages under ${prefix}${folder}`);
      const r = await client.send(
        new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: prefix + folder, ContinuationToken: token }),
      );
      for (const o of r.Contents ?? []) out.set(o.Key!.slice(prefix.length), o.Size ?? 0);
      if (!r.IsTruncated) break;
      token = r.NextContinuationToken;
    }
  } finally {
    client.destroy();
  }
  return out;
}

/** Deletes every object under `prefix` (the cluster's own key prefix in the shared test bucket). */
async function deleteS3Prefix(s3: S3Config, prefix: string): Promise<void> {
  const keys = [...(await listS3(s3, prefix, '')).keys()].map((k) => prefix + k);
  const client = s3Client(s3);
  try {
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000).map((Key) => ({ Key }));
      const r = await client.send(new DeleteObjectsCommand({ Bucket: s3.bucket, Delete: { Objects: batch, Quiet: true } }));
      const failed = (r.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey');
      if (failed.length > 0) throw new Error(`deleting ${prefix}: ${failed.length} keys not deleted, e.g. ${failed[0]!.Key}: ${failed[0]!.Code}`);
    }
  } finally {
    client.destroy();
  }
}

/** Whether the compiled server under test constructs an S3 driver at all (src/main.ts wiring). */
export async function serverHasS3Driver(): Promise<boolean> {
  const main = join(dirname(BERTH_BIN), '..', 'main.js');
  try {
    return /drivers\/s3(\.js)?['"]|S3Driver/.test(await readFile(main, 'utf8'));
  } catch {
    return false;
  }
}

/**
 * The shared blob storage for a cluster: S3 (a fresh key prefix in the test
 * bucket) when the server has an S3 driver and the test S3 server is up;
 * otherwise one filesystem root shared by every node, with the reason. Under
 * CI a server with an S3 driver must be tested on S3: failing to get S3 throws.
 * BERTH_TEST_CLUSTER_STORAGE=s3|filesystem (default auto) forces a choice.
 */
export async function chooseClusterStorage(): Promise<ClusterStorage> {
  const wanted = process.env.BERTH_TEST_CLUSTER_STORAGE ?? 'auto';
  if (wanted !== 'auto' && wanted !== 's3' && wanted !== 'filesystem') {
    throw new Error(`BERTH_TEST_CLUSTER_STORAGE must be auto, s3 or filesystem, not ${wanted}`);
  }
  const wired = await serverHasS3Driver();
  if (wanted === 's3' && !wired) throw new Error('BERTH_TEST_CLUSTER_STORAGE=s3 but the server under test has no S3 driver');
  if (wanted === 'filesystem' && wired && process.env.CI) {
    throw new Error('BERTH_TEST_CLUSTER_STORAGE=filesystem under CI: a server with an S3 driver must be tested on S3');
  }
  let reason: string;
  if (!wired) {
    reason = 'the server under test has no S3 driver wired into src/main.ts yet';
  } else if (wanted === 'filesystem') {
    reason = 'BERTH_TEST_CLUSTER_STORAGE=filesystem asks for it';
  } else {
    // Under CI ensureS3() throws when it cannot provide S3: a wired driver must be tested on S3 there.
    const s3 = await ensureS3();
    if ('skip' in s3 && wanted === 's3') throw new Error(`BERTH_TEST_CLUSTER_STORAGE=s3 but S3 is not available: ${s3.skip}`);
    if ('skip' in s3) {
      reason = `S3 is not available: ${s3.skip}`;
    } else {
      const prefix = `cluster-${process.pid}-${randomBytes(4).toString('hex')}/`;
      return {
        kind: 's3',
        reason: `S3 at ${s3.endpoint}, bucket ${s3.bucket}, prefix ${prefix}`,
        env: {
          BERTH_STORAGE_DRIVER: 's3',
          BERTH_STORAGE_S3_ENDPOINT: s3.endpoint,
          BERTH_STORAGE_S3_BUCKET: s3.bucket,
          BERTH_STORAGE_S3_ACCESSKEYID: s3.accessKeyId,
          BERTH_STORAGE_S3_SECRETACCESSKEY: s3.secretAccessKey,
          BERTH_STORAGE_S3_REGION: s3.region,
          BERTH_STORAGE_S3_PREFIX: prefix,
        },
        list: (folder) => listS3(s3, prefix, folder),
        // The S3 server is shared by test processes: stopS3() stops it only when this process was its last user.
        cleanup: async () => {
          try {
            await deleteS3Prefix(s3, prefix);
          } finally {
            await stopS3();
          }
        },
      };
    }
  }
  const root = await mkdtemp(join(tmpdir(), 'berth-cluster-blobs-'));
  return {
    kind: 'filesystem',
    reason: `one filesystem root shared by every node (${root}) because ${reason}`,
    env: { BERTH_STORAGE_DRIVER: 'filesystem', BERTH_STORAGE_FILESYSTEM_ROOT: root },
    list: (folder) => listFilesystem(root, folder),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}

// --- nodes ----------------------------------------------------------------------

export interface ClusterNode {
  name: string;
  url: string;
  server: TestServer;
  alive: boolean;
}

/** N berth processes with the same environment (shared database and storage), each with its own data dir. */
export class Cluster {
  readonly nodes: ClusterNode[] = [];

  constructor(private readonly env: Record<string, string>) {}

  /** Starts `count` nodes at once (they race to migrate the fresh database). */
  async start(count: number): Promise<ClusterNode[]> {
    const started = await Promise.allSettled(Array.from({ length: count }, () => this.startOne()));
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    return started.map((r) => (r as PromiseFulfilledResult<ClusterNode>).value);
  }

  /** Starts one more node (a replacement after a crash, say). */
  async add(): Promise<ClusterNode> {
    return this.startOne();
  }

  private async startOne(): Promise<ClusterNode> {
    const server = await startServer({ env: this.env });
    const node: ClusterNode = { name: '', url: server.url, server, alive: true };
    this.nodes.push(node);
    node.name = `node${this.nodes.length}`;
    return node;
  }

  live(): ClusterNode[] {
    return this.nodes.filter((n) => n.alive);
  }

  byUrl(url: string): ClusterNode | undefined {
    return this.nodes.find((n) => n.url === url);
  }

  /** SIGKILL: the node dies without any chance to clean up. */
  async kill(node: ClusterNode): Promise<void> {
    node.alive = false;
    await node.server.kill();
  }

  /** Stops every node (killed ones too: that removes their data dirs). */
  async stop(): Promise<void> {
    await Promise.allSettled(this.nodes.map((n) => n.server.stop()));
    for (const n of this.nodes) n.alive = false;
  }
}
