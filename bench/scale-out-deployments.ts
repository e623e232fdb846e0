import { join } from 'node:path';
import { startBerth } from './berth-target.js';
import type { BenchTarget } from './bench-target.js';
import { BenchDatabase } from './bench-postgres.js';
import type { BenchS3 } from './bench-s3.js';
import type { Spread } from './registry-client.js';
import type { LoadTarget } from './scenarios.js';

/** The three configurations the scale-out mode compares, in the order they run in each round. */
export const DEPLOYMENT_IDS = ['embedded', 'pg-s3-1', 'pg-s3-3'] as const;
export type DeploymentId = (typeof DEPLOYMENT_IDS)[number];

/** One configuration under test: its nodes, and where the shared ones keep their state. */
export interface Deployment extends LoadTarget {
  id: DeploymentId;
  label: string;
  nodes: BenchTarget[];
  /** The PostgreSQL database of a shared deployment. */
  db?: BenchDatabase;
  /** The key prefix in the bucket of a shared deployment (ends with '/'). */
  s3Prefix?: string;
}

/** Everything a started node or database needs undone; run in reverse order at the end. */
export type Cleanup = () => Promise<void>;

/** BERTH_* environment that puts a node on the database and the bucket prefix. */
export function sharedEnv(dbUrl: string, s3: Pick<BenchS3, 'endpoint' | 'region' | 'bucket' | 'accessKeyId' | 'secretAccessKey'>, prefix: string): Record<string, string> {
  return {
    BERTH_STORAGE_DRIVER: 's3',
    BERTH_STORAGE_S3_ENDPOINT: s3.endpoint,
    BERTH_STORAGE_S3_REGION: s3.region,
    BERTH_STORAGE_S3_BUCKET: s3.bucket,
    BERTH_STORAGE_S3_PREFIX: prefix,
    BERTH_STORAGE_S3_ACCESSKEYID: s3.accessKeyId,
    BERTH_STORAGE_S3_SECRETACCESSKEY: s3.secretAccessKey,
    BERTH_STORAGE_S3_FORCEPATHSTYLE: 'true',
    BERTH_METADATA_DRIVER: 'postgres',
    BERTH_METADATA_POSTGRES_URL: dbUrl,
  };
}

/** The embedded default: one node on filesystem + SQLite in its data dir. */
export async function startEmbedded(root: string, cleanups: Cleanup[]): Promise<Deployment> {
  const node = await startBerth({ dir: join(root, 'embedded'), labelSuffix: '(filesystem + SQLite)' });
  cleanups.push(() => node.stop());
  return { id: 'embedded', label: 'embedded, 1 node', name: 'embedded', nodes: [node], urls: [node.url], pids: [node.pid] };
}

export interface SharedOptions {
  id: 'pg-s3-1' | 'pg-s3-3';
  nodeCount: number;
  root: string;
  s3: BenchS3;
  /** Database name and key prefix (with a trailing '/'), unique to this deployment of this run. */
  dbName: string;
  s3Prefix: string;
  spread: Spread;
  /** Called right after the database is created, so the caller can drop it whatever happens next. */
  cleanups: Cleanup[];
}

/**
 * N nodes on one fresh PostgreSQL database and one bucket prefix. The first
 * node starts alone (it runs the migrations), the others then together.
 */
export async function startShared(o: SharedOptions): Promise<Deployment> {
  const db = await BenchDatabase.create(o.dbName);
  o.cleanups.push(() => db.drop());
  const env = sharedEnv(db.url, o.s3, o.s3Prefix);
  const start = async (i: number): Promise<BenchTarget> => {
    const node = await startBerth({ dir: join(o.root, o.id, `node${i}`), env, labelSuffix: '(PostgreSQL + S3)' });
    o.cleanups.push(() => node.stop());
    return node;
  };
  const nodes = [await start(1)];
  nodes.push(...(await Promise.all(Array.from({ length: o.nodeCount - 1 }, (_, i) => start(i + 2)))));
  return {
    id: o.id,
    label: `PostgreSQL + S3, ${o.nodeCount} node${o.nodeCount === 1 ? '' : 's'}`,
    name: o.id,
    nodes,
    urls: nodes.map((n) => n.url),
    pids: nodes.map((n) => n.pid),
    spread: o.spread,
    db,
    s3Prefix: o.s3Prefix,
  };
}
