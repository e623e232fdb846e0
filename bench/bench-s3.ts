import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DeleteObjectsCommand, HeadObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { configFromEnv, ensureS3, parseExports, stopS3, type S3Config } from '../test/helpers/s3-server.js';

/**
 * The S3-compatible server the scale-out bench uses, found in this order:
 * 1. S3_ENDPOINT and keys in the environment (as `eval "$(s3-server.sh start)"` exports them);
 * 2. an s3-server.sh instance already running from a data dir other helpers use
 *    (`$S3_DATA`, CI's /tmp/berth-ci-s3, the script's default /tmp/s3-data);
 * 3. the tests' shared instance (test/helpers/s3-server.ts): reused when it runs,
 *    started otherwise, and stopped at the end only if that helper started it and
 *    no other process still uses it.
 * Only in case 3 does `release` stop anything.
 */
export interface BenchS3 extends S3Config {
  /** How the server was found, for the report. */
  source: string;
  /** The s3-server.sh data dir when the server is one of its instances here: its pids and `radosgw-admin`. */
  dataDir?: string;
  release(): Promise<void>;
}

const SCRIPT_DATA_DIRS = ['/tmp/berth-ci-s3', '/tmp/s3-data'];
/** Where test/helpers/s3-server.ts keeps its instance. */
const TEST_HELPER_DATA_DIR = join(process.env.BERTH_TEST_S3_STATE ?? '/tmp/berth-test-s3', 'data');

export async function acquireS3(script: string): Promise<BenchS3> {
  const fromEnv = configFromEnv(process.env);
  if (fromEnv) {
    const dataDir = [process.env.S3_DATA, ...SCRIPT_DATA_DIRS, TEST_HELPER_DATA_DIR].find(
      (d) => d !== undefined && envOf(d)?.S3_ENDPOINT === fromEnv.endpoint,
    );
    return { ...fromEnv, source: `S3_ENDPOINT=${fromEnv.endpoint}`, dataDir, release: async () => {} };
  }
  for (const dir of [process.env.S3_DATA, ...SCRIPT_DATA_DIRS]) {
    if (dir === undefined || dir === TEST_HELPER_DATA_DIR) continue;
    const env = envOf(dir);
    const cfg = env && configFromEnv(env);
    if (cfg && (await scriptStatus(script, dir))) {
      return { ...cfg, source: `running s3-server.sh instance in ${dir}`, dataDir: dir, release: async () => {} };
    }
  }
  const got = await ensureS3();
  if ('skip' in got) throw new Error(`no S3 server for --scale-out: ${got.skip}`);
  return { ...got, source: `s3-server.sh instance in ${TEST_HELPER_DATA_DIR} (shared with the tests)`, dataDir: TEST_HELPER_DATA_DIR, release: stopS3 };
}

/** The export line an s3-server.sh data dir saved, parsed; undefined when there is none. */
function envOf(dir: string): Record<string, string> | undefined {
  const file = join(dir, 's3.env');
  if (!existsSync(file)) return undefined;
  try {
    return parseExports(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

function scriptStatus(script: string, dir: string): Promise<boolean> {
  return new Promise((resolve) => {
    execFile(script, ['status'], { env: { ...process.env, S3_DATA: dir }, timeout: 15_000 }, (err) => resolve(!err));
  });
}

/**
 * Pids of the Ceph daemons behind the endpoint (monitor, OSD, radosgw), read
 * from the script's pid file; an empty list when the server is elsewhere.
 */
export function cephPids(s3: BenchS3): number[] {
  if (!s3.dataDir) return [];
  try {
    return readFileSync(join(s3.dataDir, 'pids'), 'utf8')
      .split('\n')
      .map((l) => Number(l.trim().split(/\s+/)[1]))
      .filter((p) => Number.isInteger(p) && p > 0);
  } catch {
    return [];
  }
}

/**
 * Runs RGW's garbage collector now (`radosgw-admin gc process --include-all`).
 * RGW frees the data of deleted objects larger than its 4 MiB head only
 * after rgw_gc_obj_min_wait (2 hours by default), so without this a long run
 * would fill a small test cluster. False when it cannot (not a local instance).
 */
export function rgwCollectGarbage(s3: BenchS3): Promise<boolean> {
  const conf = s3.dataDir && join(s3.dataDir, 'ceph.conf');
  if (!conf || !existsSync(conf)) return Promise.resolve(false);
  return new Promise((resolve) => {
    execFile('radosgw-admin', ['gc', 'process', '--include-all'], { env: { ...process.env, CEPH_CONF: conf }, timeout: 300_000 }, (err) =>
      resolve(!err),
    );
  });
}

/** An SDK client for the bench's own bookkeeping on the bucket (never on the measured path). */
export function s3AdminClient(s3: S3Config): S3Client {
  // The pinned SDK warns that its later releases will need Node 22; nothing to act on in a bench run.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  return new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    // RGW neither checks nor returns the SDK's default CRC checksums (s3-server.sh notes).
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/** Size of each object, or undefined where it is missing; a few at a time. */
export async function headSizes(client: S3Client, bucket: string, keys: readonly string[]): Promise<(number | undefined)[]> {
  const out: (number | undefined)[] = new Array<number | undefined>(keys.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < keys.length) {
      const i = next++;
      try {
        out[i] = (await client.send(new HeadObjectCommand({ Bucket: bucket, Key: keys[i] }))).ContentLength ?? 0;
      } catch (e) {
        if ((e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode !== 404) throw e;
        out[i] = undefined;
      }
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return out;
}

/** Deletes the given keys (1000 per request); missing keys are fine. */
export async function deleteKeys(client: S3Client, bucket: string, keys: readonly string[]): Promise<void> {
  for (let i = 0; i < keys.length; i += 1000) {
    const batch = keys.slice(i, i + 1000).map((Key) => ({ Key }));
    const r = await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: batch, Quiet: true } }));
    const failed = (r.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey');
    if (failed.length > 0) throw new Error(`S3 delete: ${failed.length} keys not deleted, e.g. ${failed[0]!.Key}: ${failed[0]!.Code}`);
  }
}

/** Deletes every object under `prefix` (bounded: 10,000 list pages). */
export async function deletePrefix(client: S3Client, bucket: string, prefix: string): Promise<number> {
  if (prefix === '' || !prefix.endsWith('/')) throw new Error(`refusing to delete under prefix "${prefix}"`);
  let deleted = 0;
  for (let page = 0; page < 10_000; page++) {
    // Always the first page: what was listed is deleted before the next list.
    const r = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
    const keys = (r.Contents ?? []).map((o) => o.Key!).filter(Boolean);
    if (keys.length === 0) return deleted;
    await deleteKeys(client, bucket, keys);
    deleted += keys.length;
  }
  throw new Error(`more than 10,000 pages of objects under ${prefix}`);
}
