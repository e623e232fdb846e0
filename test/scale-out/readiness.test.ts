import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { startServer, type TestServer } from '../helpers/server.js';
import { makeImage, pushImage, sha256 } from '../helpers/oci.js';
import { TcpGate } from '../helpers/tcp-gate.js';
import { ensureS3, stopS3, type S3Config } from '../helpers/s3-server.js';

/**
 * /readyz follows the backends: it fails while PostgreSQL or the bucket is
 * unreachable, the node stays up, and it recovers by itself when they return.
 * The backends are cut with a TCP gate in front of them.
 */
const ADMIN_URL = process.env.BERTH_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function admin(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: ADMIN_URL });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

/** Polls /readyz until it answers `status` (bounded: 60 tries, 250 ms apart). */
async function waitReady(server: TestServer, status: number): Promise<void> {
  let last = 0;
  for (let i = 0; i < 60; i++) {
    last = (await fetch(`${server.url}/readyz`)).status;
    if (last === status) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  assert.fail(`/readyz stayed ${last}, expected ${status}`);
}

describe('readiness follows the backends', () => {
  const db = `berth_ready_${randomBytes(5).toString('hex')}`;
  let s3: S3Config | undefined;
  let s3Skip: string | undefined;
  before(async () => {
    await admin(`CREATE DATABASE ${db}`);
    const r = await ensureS3();
    if ('skip' in r) s3Skip = r.skip;
    else s3 = r;
  });
  after(async () => {
    await admin(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
    await stopS3();
  });

  test('PostgreSQL down: /readyz 503 and the process stays up; back: ready again and pushes work', async () => {
    const pgUrl = new URL(ADMIN_URL);
    const gate = new TcpGate(pgUrl.hostname, Number(pgUrl.port || 5432));
    await gate.open();
    const url = new URL(ADMIN_URL);
    url.port = String(gate.port);
    url.pathname = `/${db}`;
    const server = await startServer({
      env: { BERTH_METADATA_DRIVER: 'postgres', BERTH_METADATA_POSTGRES_URL: url.toString() },
    });
    try {
      await waitReady(server, 200);
      await gate.close();
      await waitReady(server, 503);
      assert.equal((await fetch(`${server.url}/healthz`)).status, 200, 'liveness is unaffected');
      const down = await fetch(`${server.url}/v2/team/app/tags/list`);
      assert.ok(down.status >= 500, `a request needing the database fails cleanly (${down.status})`);
      await gate.open(); // same port
      await waitReady(server, 200);
      const img = makeImage({ seed: 7 });
      await pushImage(server.url, 'team/app', 'v1', img);
      const r = await fetch(`${server.url}/v2/team/app/manifests/v1`);
      assert.equal(r.status, 200);
      assert.equal(sha256(Buffer.from(await r.arrayBuffer())), img.manifest.digest);
    } finally {
      await server.stop();
      await gate.close();
    }
  });

  test('bucket down: /readyz 503; back: ready again', async (t) => {
    if (!s3) return t.skip(s3Skip);
    const endpoint = new URL(s3.endpoint);
    const gate = new TcpGate(endpoint.hostname, Number(endpoint.port || 80));
    await gate.open();
    const server = await startServer({
      env: {
        BERTH_STORAGE_DRIVER: 's3',
        BERTH_STORAGE_S3_ENDPOINT: `http://127.0.0.1:${gate.port}`,
        BERTH_STORAGE_S3_BUCKET: s3.bucket,
        BERTH_STORAGE_S3_REGION: s3.region,
        BERTH_STORAGE_S3_ACCESSKEYID: s3.accessKeyId,
        BERTH_STORAGE_S3_SECRETACCESSKEY: s3.secretAccessKey,
        BERTH_STORAGE_S3_PREFIX: `ready-${randomBytes(4).toString('hex')}/`,
      },
    });
    try {
      await waitReady(server, 200);
      await gate.close();
      await waitReady(server, 503);
      await gate.open();
      await waitReady(server, 200);
    } finally {
      await server.stop();
      await gate.close();
    }
  });

  test('with storage.s3.redirect, blob GETs answer 307 to a presigned URL that serves the bytes and ranges', async (t) => {
    if (!s3) return t.skip(s3Skip);
    const server = await startServer({
      env: {
        BERTH_STORAGE_DRIVER: 's3',
        BERTH_STORAGE_S3_ENDPOINT: s3.endpoint,
        BERTH_STORAGE_S3_BUCKET: s3.bucket,
        BERTH_STORAGE_S3_REGION: s3.region,
        BERTH_STORAGE_S3_ACCESSKEYID: s3.accessKeyId,
        BERTH_STORAGE_S3_SECRETACCESSKEY: s3.secretAccessKey,
        BERTH_STORAGE_S3_PREFIX: `redirect-${randomBytes(4).toString('hex')}/`,
        BERTH_STORAGE_S3_REDIRECT: 'true',
      },
    });
    try {
      const img = makeImage({ seed: 9 });
      await pushImage(server.url, 'team/redirect', 'v1', img);
      const layer = img.layers[0]!;
      const r = await fetch(`${server.url}/v2/team/redirect/blobs/${layer.digest}`, { redirect: 'manual' });
      assert.equal(r.status, 307);
      assert.equal(r.headers.get('docker-content-digest'), layer.digest);
      const location = r.headers.get('location')!;
      assert.ok(location.startsWith(s3.endpoint), `redirects to the bucket: ${location}`);
      const full = await fetch(location);
      assert.equal(full.status, 200);
      assert.equal(sha256(Buffer.from(await full.arrayBuffer())), layer.digest);
      const part = await fetch(location, { headers: { Range: 'bytes=10-19' } });
      assert.equal(part.status, 206);
      assert.deepEqual(Buffer.from(await part.arrayBuffer()), layer.bytes.subarray(10, 20));
      // HEAD is answered by the node itself (sizes and digests come from metadata).
      const head = await fetch(`${server.url}/v2/team/redirect/blobs/${layer.digest}`, { method: 'HEAD', redirect: 'manual' });
      assert.equal(head.status, 200);
      assert.equal(head.headers.get('content-length'), String(layer.size));
    } finally {
      await server.stop();
    }
  });
});
