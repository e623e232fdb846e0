import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { AdvisoryDb } from './advisory-db.js';
import { AdvisoryDbError, AdvisoryDownloadError } from './errors.js';
import { buildZip, FIXTURES, tempDir } from './test-helpers.js';

// Two real records plus an incompressible non-JSON entry (ignored by the import), so a cut halfway leaves bytes on disk.
const ZIP = buildZip([
  ...['GHSA-whgm-jr23-g3j9.json', 'GHSA-p6mc-m468-83gw.json'].map((name) => ({ name, data: readFileSync(join(FIXTURES, 'records', 'npm', name)) })),
  { name: 'padding.bin', data: randomBytes(256 * 1024) },
]);
const ETAG = '"npm-export-1"';

/**
 * A stand-in for the OSV bucket on 127.0.0.1: serves ZIP at /npm/all.zip with
 * an ETag, honours Range + If-Range and If-None-Match (RFC 9110), and can cut
 * the connection halfway through the first full response.
 */
async function bucket(opts: { cutFirst?: boolean } = {}): Promise<{ url: string; seen: IncomingHttpHeaders[]; close: () => Promise<void> }> {
  const seen: IncomingHttpHeaders[] = [];
  let cut = opts.cutFirst === true;
  const server: Server = createServer((req, res) => {
    seen.push(req.headers);
    if (req.url !== '/npm/all.zip') {
      res.writeHead(404).end('no such object');
      return;
    }
    if (req.headers['if-none-match'] === ETAG) {
      res.writeHead(304, { etag: ETAG }).end();
      return;
    }
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (range && req.headers['if-range'] === ETAG) {
      const start = Number(range[1]);
      res.writeHead(206, { etag: ETAG, 'content-length': ZIP.length - start, 'content-range': `bytes ${start}-${ZIP.length - 1}/${ZIP.length}` });
      res.end(ZIP.subarray(start));
      return;
    }
    res.writeHead(200, { etag: ETAG, 'content-length': ZIP.length, 'content-type': 'application/zip' });
    if (cut) {
      cut = false;
      // Give the client time to store what it received before the connection drops.
      res.write(ZIP.subarray(0, Math.floor(ZIP.length / 2)), () => setTimeout(() => res.socket?.destroy(), 300));
      return;
    }
    res.end(ZIP);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function withDbAndBucket(opts: { cutFirst?: boolean }, fn: (db: AdvisoryDb, b: Awaited<ReturnType<typeof bucket>>, dir: string) => Promise<void>) {
  const { dir, cleanup } = tempDir();
  const db = AdvisoryDb.open(dir);
  const b = await bucket(opts);
  try {
    await fn(db, b, dir);
  } finally {
    await b.close();
    db.close();
    cleanup();
  }
}

test('update downloads an ecosystem export, imports it, and skips it when its ETag is unchanged', () =>
  withDbAndBucket({}, async (db, b) => {
    const phases = new Set<string>();
    const first = await db.update({ baseUrl: b.url, ecosystems: ['npm'], onProgress: (p) => phases.add(p.phase) });
    assert.equal(first.ecosystems.length, 1);
    assert.equal(first.ecosystems[0]?.status, 'updated');
    assert.equal(first.ecosystems[0]?.bytes, ZIP.length);
    assert.equal(first.ecosystems[0]?.import?.added, 2);
    assert.deepEqual([...phases].sort(), ['download', 'import']);
    assert.equal(db.status().records, 2);
    assert.equal(db.status().generation, 1);

    const second = await db.update({ baseUrl: `${b.url}/`, ecosystems: ['npm'] });
    assert.deepEqual(second.ecosystems, [{ name: 'npm', status: 'unchanged', bytes: 0 }]);
    assert.equal(b.seen.at(-1)?.['if-none-match'], ETAG);
    assert.equal(db.status().generation, 1);
  }));

test('a download cut halfway fails clearly, leaves the database unchanged, and resumes with Range', () =>
  withDbAndBucket({ cutFirst: true }, async (db, b, dir) => {
    await assert.rejects(
      db.update({ baseUrl: b.url, ecosystems: ['npm'] }),
      (e: unknown) => e instanceof AdvisoryDownloadError && /was cut after|ended after/.test(e.message) && /resumes/.test(e.message),
    );
    assert.equal(db.status().records, 0);
    assert.ok(statSync(join(dir, 'downloads', 'npm.zip.partial')).size > 0, 'the received bytes are kept');

    const summary = await db.update({ baseUrl: b.url, ecosystems: ['npm'] });
    assert.equal(summary.ecosystems[0]?.import?.added, 2);
    const resumed = b.seen.at(-1)!;
    assert.match(resumed.range ?? '', /^bytes=[1-9]\d*-$/);
    assert.equal(resumed['if-range'], ETAG);
    assert.ok(!existsSync(join(dir, 'downloads', 'npm.zip.partial')));
    assert.ok(!existsSync(join(dir, 'downloads', 'npm.zip')), 'the imported export is removed');
  }));

test('an unreachable server gives a clear error and changes nothing', async () => {
  const { dir, cleanup } = tempDir();
  const db = AdvisoryDb.open(dir);
  try {
    await db.import(join(FIXTURES, 'records', 'npm', 'GHSA-whgm-jr23-g3j9.json'));
    const before = db.status();
    const b = await bucket();
    const url = b.url;
    await b.close(); // nothing listens on the port any more
    await assert.rejects(
      db.update({ baseUrl: url, ecosystems: ['npm', 'PyPI'] }),
      (e: unknown) => e instanceof AdvisoryDownloadError && e.message.startsWith(`cannot reach ${url}/npm/all.zip`) && /ECONNREFUSED/.test(e.message),
    );
    assert.deepEqual(db.status(), before);
  } finally {
    db.close();
    cleanup();
  }
});

test('an error status or a bad ecosystem name fails before anything is imported', () =>
  withDbAndBucket({}, async (db, b) => {
    await assert.rejects(
      db.update({ baseUrl: b.url, ecosystems: ['npm', 'NoSuchEcosystem'] }),
      (e: unknown) => e instanceof AdvisoryDownloadError && e.message === `${b.url}/NoSuchEcosystem/all.zip answered 404 Not Found`,
    );
    assert.equal(db.status().records, 0, 'npm was downloaded but not imported');
    for (const name of ['', '../npm', 'a/b', '..']) {
      await assert.rejects(db.update({ baseUrl: b.url, ecosystems: [name] }), AdvisoryDbError, JSON.stringify(name));
    }
  }));

test('an export larger than allowed is refused', () =>
  withDbAndBucket({}, async (db, b) => {
    await assert.rejects(
      db.update({ baseUrl: b.url, ecosystems: ['npm'], maxBytes: 100 }),
      (e: unknown) => e instanceof AdvisoryDownloadError && /more than the 100 allowed/.test(e.message),
    );
    assert.equal(db.status().records, 0);
  }));
