import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  AbortMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectsCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { S3Driver, type S3DriverOptions } from './s3.js';
import { storageDriverContract } from '../storage-driver.contract.js';
import { StorageNotFoundError, StorageOffsetError } from '../storage-driver.js';
import { ensureS3, stopS3, type S3Config } from '../../../test/helpers/s3-server.js';

/**
 * The S3 driver against a real S3-compatible server (Ceph RGW from
 * ../shared/scripts/s3-server.sh, or the one S3_ENDPOINT names). Every case
 * works under its own random key prefix and removes it afterwards.
 */
const MiB = 1024 * 1024;
const CASE = { timeout: 180_000 };
const s3 = await ensureS3();
after(() => stopS3());

if ('skip' in s3) {
  test('S3 driver (contract and specifics)', { skip: s3.skip }, () => {});
} else {
  const cfg: S3Config = s3;
  const raw = new S3Client({
    region: cfg.region,
    endpoint: cfg.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: cfg.accessKeyId, secretAccessKey: cfg.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  after(() => raw.destroy());

  const newPrefix = (): string => `berth-test/${randomUUID()}/`;

  const makeDriver = (prefix: string, opts: Partial<S3DriverOptions> = {}): S3Driver =>
    new S3Driver({
      endpoint: cfg.endpoint,
      region: cfg.region,
      bucket: cfg.bucket,
      accessKeyId: cfg.accessKeyId,
      secretAccessKey: cfg.secretAccessKey,
      forcePathStyle: true,
      prefix,
      ...opts,
    });

  /** Every key (raw, parts included) under `prefix`. */
  const rawKeys = async (prefix: string): Promise<{ key: string; size: number }[]> => {
    const out: { key: string; size: number }[] = [];
    let token: string | undefined;
    for (let page = 0; page < 1000; page++) {
      const res = await raw.send(new ListObjectsV2Command({ Bucket: cfg.bucket, Prefix: prefix, ContinuationToken: token }));
      for (const o of res.Contents ?? []) out.push({ key: o.Key!, size: o.Size ?? 0 });
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
      if (!token) break;
    }
    return out;
  };

  const rawUploads = async (prefix: string): Promise<{ key: string; uploadId: string }[]> => {
    const res = await raw.send(new ListMultipartUploadsCommand({ Bucket: cfg.bucket, Prefix: prefix }));
    return (res.Uploads ?? []).map((u) => ({ key: u.Key!, uploadId: u.UploadId! }));
  };

  /** Removes every object and multipart upload under `prefix`, without the driver under test. */
  const wipe = async (prefix: string): Promise<void> => {
    for (let round = 0; round < 100; round++) {
      const keys = await rawKeys(prefix);
      if (keys.length === 0) break;
      for (let i = 0; i < keys.length; i += 1000) {
        await raw.send(
          new DeleteObjectsCommand({
            Bucket: cfg.bucket,
            Delete: { Objects: keys.slice(i, i + 1000).map((k) => ({ Key: k.key })), Quiet: true },
          }),
        );
      }
    }
    for (const u of await rawUploads(prefix)) {
      await raw.send(new AbortMultipartUploadCommand({ Bucket: cfg.bucket, Key: u.key, UploadId: u.uploadId }));
    }
  };

  const fixture = (opts: Partial<S3DriverOptions> = {}) => {
    const prefix = newPrefix();
    const driver = makeDriver(prefix, opts);
    return {
      driver,
      prefix,
      cleanup: async () => {
        try {
          await wipe(prefix);
        } finally {
          await driver.close();
        }
      },
    };
  };

  storageDriverContract('s3 (16 MiB staging parts)', async () => fixture());
  // Small parts: every append of the contract spans many part objects, so
  // reads, ranges and commits cross part boundaries.
  storageDriverContract('s3 (100 KiB staging parts)', async () => fixture({ partSizeBytes: 100 * 1024 }));

  describe('S3Driver specifics', () => {
    test('a 40 MiB append is staged as 16 MiB parts and committed server-side with UploadPartCopy', CASE, async () => {
      const fx = fixture();
      try {
        const d = fx.driver;
        const body = randomBytes(40 * MiB);
        const size = await d.append('uploads/big/data', Readable.from(chunksOf(body, 1 * MiB + 3)), 0);
        assert.equal(size, body.length);
        const parts = await rawKeys(`${fx.prefix}uploads/big/data.parts/`);
        assert.deepEqual(
          parts.map((p) => p.size),
          [16 * MiB, 16 * MiB, 8 * MiB],
          'the append is stored as part objects of at most partSizeBytes',
        );

        const sent = recordCommands(d);
        await d.commit('uploads/big/data', 'blobs/sha256/cc/big');
        assert.equal(count(sent, 'UploadPartCopyCommand'), 3, `commands: ${sent.join(' ')}`);
        assert.equal(count(sent, 'CompleteMultipartUploadCommand'), 1);
        for (const bytesThroughNode of ['GetObjectCommand', 'UploadPartCommand', 'PutObjectCommand']) {
          assert.equal(count(sent, bytesThroughNode), 0, `${bytesThroughNode} during a server-side commit`);
        }
        const head = await raw.send(new HeadObjectCommand({ Bucket: cfg.bucket, Key: `${fx.prefix}blobs/sha256/cc/big` }));
        assert.match(head.ETag ?? '', /-3"?$/, 'a multipart object of 3 parts');

        assert.deepEqual(await d.stat('blobs/sha256/cc/big'), { size: body.length });
        assert.equal(sha256(await readAll(await d.read('blobs/sha256/cc/big'))), sha256(body));
        const start = 16 * MiB - 10;
        const end = 32 * MiB + 9;
        const range = await readAll(await d.read('blobs/sha256/cc/big', { start, end }));
        assert.equal(sha256(range), sha256(body.subarray(start, end + 1)));
        assert.equal(await d.stat('uploads/big/data'), undefined);
        assert.deepEqual(await rawKeys(`${fx.prefix}uploads/`), [], 'staging parts are deleted after the commit');
        assert.deepEqual(await rawUploads(fx.prefix), []);
      } finally {
        await fx.cleanup();
      }
    });

    test('small staged parts are committed by streaming them through one upload', CASE, async () => {
      const fx = fixture({ partSizeBytes: 64 * 1024 });
      try {
        const d = fx.driver;
        const pieces = [randomBytes(1), randomBytes(200 * 1024 + 5), randomBytes(64 * 1024), randomBytes(700 * 1024)];
        let size = 0;
        for (const p of pieces) size = await d.append('uploads/small/data', Readable.from(chunksOf(p, 10_000)), size);
        const whole = Buffer.concat(pieces);
        assert.equal(size, whole.length);
        assert.ok((await rawKeys(`${fx.prefix}uploads/small/data.parts/`)).length > 4, 'several part objects');

        const sent = recordCommands(d);
        await d.commit('uploads/small/data', 'blobs/sha256/dd/small');
        assert.equal(count(sent, 'UploadPartCopyCommand') + count(sent, 'CopyObjectCommand'), 0, sent.join(' '));
        assert.ok(count(sent, 'GetObjectCommand') > 0, `parts are read back: ${sent.join(' ')}`);
        assert.equal(sha256(await readAll(await d.read('blobs/sha256/dd/small'))), sha256(whole));
        assert.deepEqual(await rawKeys(`${fx.prefix}uploads/`), []);
      } finally {
        await fx.cleanup();
      }
    });

    test('12 MiB staged in 1 MiB parts is committed as a multipart upload of the streamed parts', CASE, async () => {
      const fx = fixture({ partSizeBytes: 1 * MiB });
      try {
        const d = fx.driver;
        const body = randomBytes(12 * MiB + 77);
        assert.equal(await d.append('uploads/mid/data', Readable.from(chunksOf(body, 300_000)), 0), body.length);
        const sent = recordCommands(d);
        await d.commit('uploads/mid/data', 'blobs/sha256/ee/mid');
        assert.ok(count(sent, 'UploadPartCommand') >= 2, `a multipart upload: ${sent.join(' ')}`);
        assert.equal(count(sent, 'UploadPartCopyCommand'), 0);
        assert.deepEqual(await d.stat('blobs/sha256/ee/mid'), { size: body.length });
        assert.equal(sha256(await readAll(await d.read('blobs/sha256/ee/mid'))), sha256(body));
        assert.deepEqual(await rawUploads(fx.prefix), []);
      } finally {
        await fx.cleanup();
      }
    });

    test('a single staged part is committed with CopyObject; an empty staging object as an empty object', CASE, async () => {
      const fx = fixture();
      try {
        const d = fx.driver;
        const body = randomBytes(3000);
        await d.append('uploads/one/data', Readable.from([body]), 0);
        const sent = recordCommands(d);
        await d.commit('uploads/one/data', 'blobs/sha256/ff/one');
        assert.equal(count(sent, 'CopyObjectCommand'), 1, sent.join(' '));
        assert.equal(count(sent, 'GetObjectCommand'), 0);
        assert.deepEqual(await readAll(await d.read('blobs/sha256/ff/one')), body);

        assert.equal(await d.append('uploads/empty/data', Readable.from([]), 0), 0);
        assert.deepEqual(await d.stat('uploads/empty/data'), { size: 0 });
        assert.equal(await d.append('uploads/empty/data', Readable.from([]), 0), 0, 'an empty append at 0 again');
        await d.commit('uploads/empty/data', 'blobs/sha256/00/empty');
        assert.deepEqual(await d.stat('blobs/sha256/00/empty'), { size: 0 });
        assert.equal(await d.stat('uploads/empty/data'), undefined);
        assert.deepEqual(await rawKeys(`${fx.prefix}uploads/`), []);
      } finally {
        await fx.cleanup();
      }
    });

    test('commit of a missing staging object throws StorageNotFoundError', CASE, async () => {
      const fx = fixture();
      try {
        await assert.rejects(fx.driver.commit('uploads/none/data', 'blobs/x'), StorageNotFoundError);
        assert.equal(await fx.driver.stat('blobs/x'), undefined);
      } finally {
        await fx.cleanup();
      }
    });

    test('two appends racing at the same offset: exactly one wins, the other gets StorageOffsetError', CASE, async () => {
      const fx = fixture();
      try {
        const d = fx.driver;
        const key = 'uploads/race/data';
        const head = randomBytes(1000);
        await d.append(key, Readable.from([head]), 0);
        for (const offset of [1000]) {
          // Both bodies wait until both appends have passed their offset check, so both really race.
          const gate = barrier(2);
          const bodies = [randomBytes(50_000), randomBytes(70_000)];
          const results = await Promise.allSettled(
            bodies.map((b) => d.append(key, Readable.from(gated(gate, [b])), offset)),
          );
          const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
          assert.equal(won.length, 1, `exactly one append wins: ${results.map((r) => r.status).join(', ')}`);
          const lost = results.find((r) => r.status === 'rejected');
          assert.ok(lost && lost.status === 'rejected' && lost.reason instanceof StorageOffsetError, String(lost));
          assert.equal(lost.reason.key, key);
          const winner = bodies[won[0]!]!;
          const whole = Buffer.concat([head, winner]);
          assert.equal((results[won[0]!] as PromiseFulfilledResult<number>).value, whole.length);
          assert.deepEqual(await d.stat(key), { size: whole.length });
          assert.equal(sha256(await readAll(await d.read(key))), sha256(whole));
        }
        // Six at once at offset 0 of a fresh object.
        const gate = barrier(6);
        const bodies = Array.from({ length: 6 }, () => randomBytes(10_000));
        const results = await Promise.allSettled(
          bodies.map((b) => d.append('uploads/race6/data', Readable.from(gated(gate, [b])), 0)),
        );
        const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
        assert.equal(won.length, 1);
        for (const r of results) if (r.status === 'rejected') assert.ok(r.reason instanceof StorageOffsetError, String(r.reason));
        assert.deepEqual(await readAll(await d.read('uploads/race6/data')), bodies[won[0]!]);
      } finally {
        await fx.cleanup();
      }
    });

    test('a part another writer stored first counts as written only when it holds the same bytes', CASE, async () => {
      // What a retried PUT meets when its first attempt did store the part: 412, yet the part is its own.
      const fx = fixture();
      try {
        const d = fx.driver;
        const partKey = (k: string) => `${fx.prefix}${k}.parts/${'0'.repeat(16)}`;
        // The body starts only once the driver has passed its offset check; the rival part is written then.
        const race = async (key: string, ours: Buffer, rival: Buffer): Promise<number> => {
          const started = latch();
          const release = latch();
          const appending = d.append(
            key,
            Readable.from(
              (async function* () {
                started.open();
                await release.wait;
                yield ours;
              })(),
            ),
            0,
          );
          appending.catch(() => undefined); // observed by the caller below
          await started.wait;
          await raw.send(new PutObjectCommand({ Bucket: cfg.bucket, Key: partKey(key), Body: rival }));
          release.open();
          return appending;
        };
        const same = randomBytes(5000);
        assert.equal(await race('uploads/same/data', same, Buffer.from(same)), 5000);
        assert.deepEqual(await readAll(await d.read('uploads/same/data')), same);

        const theirs = randomBytes(5000);
        await assert.rejects(race('uploads/other/data', randomBytes(5000), theirs), (e: unknown) => {
          assert.ok(e instanceof StorageOffsetError, String(e));
          assert.equal(e.actual, 5000);
          return true;
        });
        assert.deepEqual(await readAll(await d.read('uploads/other/data')), theirs);
      } finally {
        await fx.cleanup();
      }
    });

    test('an append aborted by its signal keeps the parts already written and rejects with AbortError', CASE, async () => {
      const fx = fixture({ partSizeBytes: 64 * 1024 });
      try {
        const d = fx.driver;
        const sent = randomBytes(300 * 1024);
        const ac = new AbortController();
        const body = new Readable({ read() {} });
        const appending = d.append('uploads/abort/data', body, 0, { signal: ac.signal });
        body.push(sent);
        // Wait (bounded) until the 4 whole parts the bytes sent make are stored: the driver then
        // waits for more body, and only the signal can end the append.
        for (let i = 0; i < 500 && (await rawKeys(`${fx.prefix}uploads/abort/data.parts/`)).length < 4; i++) await sleep(10);
        ac.abort();
        await assert.rejects(appending, (e: unknown) => (e as Error).name === 'AbortError');
        const after = await d.stat('uploads/abort/data');
        assert.ok(after && after.size >= 4 * 64 * 1024 && after.size <= sent.length, `size ${after?.size}`);
        assert.deepEqual(await readAll(await d.read('uploads/abort/data')), sent.subarray(0, after.size));
      } finally {
        await fx.cleanup();
      }
    });

    test('presignGet: a plain fetch of the URL returns the bytes, and a Range header works on it', CASE, async () => {
      const fx = fixture();
      try {
        const d = fx.driver;
        const body = randomBytes(100_000);
        await d.put('blobs/sha256/11/presigned', body);

        const url = await d.presignGet('blobs/sha256/11/presigned', { expiresSeconds: 300 });
        assert.match(url, /X-Amz-Signature=/);
        const whole = await fetch(url);
        assert.equal(whole.status, 200);
        assert.deepEqual(Buffer.from(await whole.arrayBuffer()), body);

        const ranged = await fetch(url, { headers: { Range: 'bytes=1000-1999' } });
        assert.equal(ranged.status, 206);
        assert.equal(ranged.headers.get('content-range'), `bytes 1000-1999/${body.length}`);
        assert.deepEqual(Buffer.from(await ranged.arrayBuffer()), body.subarray(1000, 2000));

        const signedRange = await d.presignGet('blobs/sha256/11/presigned', { start: 10, end: 19, expiresSeconds: 300 });
        const r = await fetch(signedRange, { headers: { Range: 'bytes=10-19' } });
        assert.equal(r.status, 206);
        assert.deepEqual(Buffer.from(await r.arrayBuffer()), body.subarray(10, 20));
        const unranged = await fetch(signedRange);
        assert.equal(unranged.status, 403, 'a URL signed for a range requires that Range header');
        await unranged.arrayBuffer();

        const tampered = new URL(url);
        tampered.pathname = tampered.pathname.replace('presigned', 'other');
        const forged = await fetch(tampered);
        assert.equal(forged.status, 403, 'a URL signed for one key does not open another');
        await forged.arrayBuffer();

        const missing = await fetch(await d.presignGet('blobs/sha256/11/missing', { expiresSeconds: 300 }));
        assert.equal(missing.status, 404);
        await missing.arrayBuffer();
      } finally {
        await fx.cleanup();
      }
    });

    test('abortStaleMultipartUploads aborts dangling multipart uploads under the prefix only, by age', CASE, async () => {
      const fx = fixture();
      const elsewhere = newPrefix();
      try {
        const d = fx.driver;
        const dangling = async (key: string): Promise<string> => {
          const mpu = await raw.send(new CreateMultipartUploadCommand({ Bucket: cfg.bucket, Key: key }));
          await raw.send(
            new UploadPartCommand({ Bucket: cfg.bucket, Key: key, UploadId: mpu.UploadId, PartNumber: 1, Body: randomBytes(1024) }),
          );
          return mpu.UploadId!;
        };
        const mine = await dangling(`${fx.prefix}blobs/sha256/22/crashed`);
        const theirs = await dangling(`${elsewhere}blobs/sha256/22/crashed`);
        assert.equal(await d.abortStaleMultipartUploads(3600_000), 0, 'a fresh upload is not stale');
        assert.deepEqual((await rawUploads(fx.prefix)).map((u) => u.uploadId), [mine]);
        await sleep(1100); // so the upload is more than 1 s old
        assert.equal(await d.abortStaleMultipartUploads(1000), 1);
        assert.deepEqual(await rawUploads(fx.prefix), []);
        assert.deepEqual((await rawUploads(elsewhere)).map((u) => u.uploadId), [theirs], 'outside the prefix: untouched');
        assert.equal(await d.abortStaleMultipartUploads(0), 0);
      } finally {
        await wipe(elsewhere);
        await fx.cleanup();
      }
    });

    test('a missing bucket is an error naming the key, never "not found"', CASE, async () => {
      const d = new S3Driver({
        endpoint: cfg.endpoint,
        region: cfg.region,
        bucket: `berth-missing-${randomUUID().slice(0, 8)}`,
        accessKeyId: cfg.accessKeyId,
        secretAccessKey: cfg.secretAccessKey,
        forcePathStyle: true,
      });
      try {
        await assert.rejects(d.ping());
        await assert.rejects(d.stat('blobs/k1'), (e: unknown) => !(e instanceof StorageNotFoundError) && /blobs\/k1/.test(String(e)));
        await assert.rejects(d.read('blobs/k2'), (e: unknown) => !(e instanceof StorageNotFoundError) && /blobs\/k2/.test(String(e)));
        await assert.rejects(d.put('blobs/k3', Buffer.from('x')), /blobs\/k3/);
        await assert.rejects(d.append('uploads/u/data', Readable.from([Buffer.from('x')]), 0), /uploads\/u\/data/);
      } finally {
        await d.close();
      }
    });

    test('an unreachable endpoint fails ping', CASE, async () => {
      const d = new S3Driver({
        endpoint: 'http://127.0.0.1:9', // discard port: nothing listens on loopback
        region: 'us-east-1',
        bucket: 'b',
        accessKeyId: 'a',
        secretAccessKey: 'b',
      });
      try {
        await assert.rejects(d.ping());
      } finally {
        await d.close();
      }
    });

    test('list takes its prefix as a directory, as the filesystem driver does', CASE, async () => {
      const fx = fixture();
      try {
        const d = fx.driver;
        for (const k of ['a/x', 'a/y/z', 'ab/1', 'aa']) await d.put(k, Buffer.from(k));
        assert.deepEqual((await listAll(d, 'a')).sort(), ['a/x', 'a/y/z']);
        assert.deepEqual((await listAll(d, 'a/')).sort(), ['a/x', 'a/y/z']);
        assert.deepEqual((await listAll(d, '')).sort(), ['a/x', 'a/y/z', 'aa', 'ab/1']);
      } finally {
        await fx.cleanup();
      }
    });

    test('keys that could escape the prefix or clash with staging parts are refused', CASE, async () => {
      const fx = fixture();
      try {
        const d = fx.driver;
        for (const key of ['', '/abs', 'a/../b', 'a//b', 'a/./b', 'a\\b', 'uploads/x/data.parts/0000000000000000', 'trailing/']) {
          await assert.rejects(d.stat(key), `stat ${JSON.stringify(key)}`);
          await assert.rejects(d.put(key, Buffer.from('x')), `put ${JSON.stringify(key)}`);
          await assert.rejects(d.append(key, Readable.from([Buffer.from('x')]), 0), `append ${JSON.stringify(key)}`);
        }
        assert.deepEqual(await rawKeys(fx.prefix), []);
      } finally {
        await fx.cleanup();
      }
    });
  });
}

// --- helpers -------------------------------------------------------------------

function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

async function readAll(s: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of s) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

function chunksOf(b: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let off = 0; off < b.length; off += size) out.push(b.subarray(off, off + size));
  return out;
}

async function listAll(d: S3Driver, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const k of d.list(prefix)) {
    out.push(k);
    if (out.length > 10_000) throw new Error('list did not end');
  }
  return out;
}

function count(names: string[], name: string): number {
  return names.filter((n) => n === name).length;
}

/** Records the name of every command the driver's client sends from now on. */
function recordCommands(d: S3Driver): string[] {
  const names: string[] = [];
  d.client.middlewareStack.add(
    (next, context) => async (args) => {
      names.push(String(context.commandName));
      return next(args);
    },
    { step: 'initialize', name: `record-${randomUUID()}` },
  );
  return names;
}

/** Resolves arrive() for everyone once `n` parties have arrived (bounded by a timeout, so a bug cannot hang). */
function barrier(n: number): { arrive(): Promise<void> } {
  let arrived = 0;
  let open!: () => void;
  const opened = new Promise<void>((res) => (open = res));
  return {
    async arrive() {
      if (++arrived >= n) open();
      const timeout = sleep(30_000, undefined, { ref: false }).then(() => Promise.reject(new Error('barrier timed out')));
      timeout.catch(() => undefined);
      await Promise.race([opened, timeout]);
    },
  };
}

/** Yields `chunks` only after passing the barrier: the driver reads a body only after its offset check. */
async function* gated(gate: { arrive(): Promise<void> }, chunks: Buffer[]): AsyncGenerator<Buffer> {
  await gate.arrive();
  yield* chunks;
}

/** A promise to open by hand. */
function latch(): { open(): void; wait: Promise<void> } {
  let open!: () => void;
  const wait = new Promise<void>((res) => (open = res));
  return { open, wait };
}
