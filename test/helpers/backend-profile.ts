import { createHash } from 'node:crypto';
import pg from 'pg';

/**
 * Test profiles: the same process tests run against other backends.
 * BERTH_TEST_PROFILE=embedded (default): filesystem + SQLite in the data dir.
 * BERTH_TEST_PROFILE=postgres: PostgreSQL metadata, filesystem blobs.
 * BERTH_TEST_PROFILE=scale-out: PostgreSQL metadata + S3 blobs (S3_ENDPOINT,
 *   S3_BUCKET, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY as s3-server.sh exports them).
 * Each data dir gets its own database and key prefix, derived from its path,
 * so a server restarted on the same data dir finds its state again.
 */
export type Profile = 'embedded' | 'postgres' | 'scale-out';

export function testProfile(): Profile {
  const p = process.env.BERTH_TEST_PROFILE ?? 'embedded';
  if (p !== 'embedded' && p !== 'postgres' && p !== 'scale-out') throw new Error(`unknown BERTH_TEST_PROFILE ${p}`);
  return p;
}

const ADMIN_URL = () => process.env.BERTH_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

function idFor(dataDir: string): string {
  return createHash('sha256').update(dataDir).digest('hex').slice(0, 16);
}

async function admin(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: ADMIN_URL() });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

/** Environment that points a server on `dataDir` at the profile's backends (creating its database). */
export async function profileEnv(dataDir: string): Promise<Record<string, string>> {
  const profile = testProfile();
  if (profile === 'embedded') return {};
  const id = idFor(dataDir);
  const db = `berth_t_${id}`;
  try {
    await admin(`CREATE DATABASE ${db}`);
  } catch (e) {
    if ((e as { code?: string }).code !== '42P04') throw e; // exists already: a restart on the same data dir
  }
  const url = new URL(ADMIN_URL());
  url.pathname = `/${db}`;
  const env: Record<string, string> = {
    BERTH_METADATA_DRIVER: 'postgres',
    BERTH_METADATA_POSTGRES_URL: url.toString(),
  };
  if (profile === 'scale-out') {
    const need = ['S3_ENDPOINT', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'S3_BUCKET'];
    const missing = need.filter((k) => !process.env[k]);
    if (missing.length) throw new Error(`scale-out profile needs ${missing.join(', ')} (eval "$(../shared/scripts/s3-server.sh start)")`);
    Object.assign(env, {
      BERTH_STORAGE_DRIVER: 's3',
      BERTH_STORAGE_S3_ENDPOINT: process.env.S3_ENDPOINT!,
      BERTH_STORAGE_S3_ACCESSKEYID: process.env.AWS_ACCESS_KEY_ID!,
      BERTH_STORAGE_S3_SECRETACCESSKEY: process.env.AWS_SECRET_ACCESS_KEY!,
      BERTH_STORAGE_S3_BUCKET: process.env.S3_BUCKET!,
      BERTH_STORAGE_S3_REGION: process.env.AWS_REGION ?? 'us-east-1',
      BERTH_STORAGE_S3_PREFIX: `t-${id}/`,
    });
  }
  return env;
}

/** Drops what profileEnv made for `dataDir` (the database; S3 prefixes die with the test bucket). */
export async function dropProfile(dataDir: string): Promise<void> {
  if (testProfile() === 'embedded') return;
  await admin(`DROP DATABASE IF EXISTS berth_t_${idFor(dataDir)} WITH (FORCE)`);
}
