import { describe } from 'node:test';
import { contractCases } from '../../test/helpers/contract-case.js';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { StorageNotFoundError, StorageOffsetError, type StorageDriver } from './storage-driver.js';

/**
 * The contract every StorageDriver implementation must keep, as its doc
 * comments in storage-driver.ts promise. A driver's test file calls
 * `storageDriverContract('filesystem', make)`; `make` returns a fresh, empty,
 * initialised driver and a cleanup that removes everything it made.
 *
 * `options.skip` maps a case title to the reason it cannot run against this
 * implementation (node:test prints the reason).
 */
export interface StorageDriverFixture {
  driver: StorageDriver;
  cleanup(): Promise<void>;
}

export interface StorageDriverContractOptions {
  skip?: Record<string, string>;
}

const MiB = 1024 * 1024;
/** Upper bound for every single case, so a hanging driver fails instead of stalling the run. */
const CASE_TIMEOUT_MS = 60_000;

export function storageDriverContract(
  name: string,
  make: () => Promise<StorageDriverFixture>,
  options: StorageDriverContractOptions = {},
): void {
  const cases = contractCases(make, options.skip, CASE_TIMEOUT_MS);
  /** One node:test case with a fresh driver, always cleaned up. */
  const contractCase = (title: string, fn: (d: StorageDriver) => Promise<void>): void => cases(title, (fx) => fn(fx.driver));

  describe(`StorageDriver contract: ${name}`, () => {
    // --- stat ---------------------------------------------------------------

    contractCase('stat of a missing key is undefined', async (d) => {
      assert.equal(await d.stat('blobs/sha256/ab/missing'), undefined);
    });

    contractCase('stat of a key that is only a prefix of other keys is undefined', async (d) => {
      await d.put('dir/sub/object', bytes('x'));
      assert.equal(await d.stat('dir/sub'), undefined);
      assert.equal(await d.stat('dir'), undefined);
    });

    contractCase('stat reports the size of a stored object', async (d) => {
      await d.put('a/one', bytes('hello world'));
      assert.deepEqual(await d.stat('a/one'), { size: 11 });
    });

    // --- put ----------------------------------------------------------------

    contractCase('put of bytes then read returns the same bytes', async (d) => {
      const body = randomBytes(1000);
      await d.put('k/bytes', body);
      assert.deepEqual(await readAll(await d.read('k/bytes')), body);
    });

    contractCase('put of an empty body stores an empty object', async (d) => {
      await d.put('k/empty', new Uint8Array(0));
      assert.deepEqual(await d.stat('k/empty'), { size: 0 });
      assert.equal((await readAll(await d.read('k/empty'))).length, 0);
    });

    contractCase('put from a stream stores every chunk in order', async (d) => {
      const body = randomBytes(700 * 1024 + 13);
      await d.put('k/stream', Readable.from(chunksOf(body, [1, 7, 65536, 300000, 1])));
      assert.equal(sha256(await readAll(await d.read('k/stream'))), sha256(body));
    });

    contractCase('put twice of the same key and bytes (concurrently) keeps the object whole', async (d) => {
      const body = randomBytes(600 * 1024);
      await Promise.all([d.put('k/twice', Readable.from(chunksOf(body, [4096]))), d.put('k/twice', body)]);
      await d.put('k/twice', body);
      assert.deepEqual(await d.stat('k/twice'), { size: body.length });
      assert.equal(sha256(await readAll(await d.read('k/twice'))), sha256(body));
    });

    contractCase('put is atomic: during a slow streamed put the key shows nothing, never a prefix', async (d) => {
      const key = 'atomic/blob';
      const first = randomBytes(MiB); // larger than any sane write buffer, so bytes reach the backend
      const rest = randomBytes(MiB);
      const body = new Readable({ read() {} });
      const putting = d.put(key, body);
      let settled = false;
      putting.then(
        () => (settled = true),
        () => (settled = true),
      );
      body.push(first);
      // Give the driver time to consume and write the first chunk (bounded).
      for (let i = 0; i < 100 && body.readableLength > 0; i++) await sleep(10);
      await sleep(50);
      for (let i = 0; i < 5; i++) {
        assert.equal(settled, false, 'put must not finish before its body ends');
        assert.equal(await d.stat(key), undefined, 'a partial object is visible under the final key');
        await assertNotFound(d, key);
        assert.deepEqual(await listAll(d, 'atomic/'), [], 'a partial object is listed under the prefix');
        await sleep(10);
      }
      body.push(rest);
      body.push(null);
      await putting;
      const whole = Buffer.concat([first, rest]);
      assert.deepEqual(await d.stat(key), { size: whole.length });
      assert.equal(sha256(await readAll(await d.read(key))), sha256(whole));
    });

    contractCase('put from a stream that errors midway rejects and leaves nothing under the key', async (d) => {
      const key = 'failed/put';
      const body = failingStream([randomBytes(512 * 1024), randomBytes(512 * 1024)], new Error('client went away'));
      await assert.rejects(d.put(key, body), /client went away/);
      assert.equal(await d.stat(key), undefined);
      await assertNotFound(d, key);
      assert.deepEqual(await listAll(d, 'failed/'), []);
    });

    contractCase('put aborted by its signal rejects and leaves nothing under the key', async (d) => {
      const key = 'aborted/put';
      const ac = new AbortController();
      const body = new Readable({ read() {} });
      const putting = d.put(key, body, { signal: ac.signal });
      body.push(randomBytes(512 * 1024));
      for (let i = 0; i < 100 && body.readableLength > 0; i++) await sleep(10);
      ac.abort();
      // The body then ends normally: a driver that ignored the abort would store it and resolve.
      body.push(randomBytes(1024));
      body.push(null);
      await assert.rejects(putting);
      assert.equal(await d.stat(key), undefined);
      assert.deepEqual(await listAll(d, 'aborted/'), []);
    });

    // --- read -----------------------------------------------------------------

    contractCase('read of a missing key throws StorageNotFoundError naming the key', async (d) => {
      await assert.rejects(d.read('nope/missing'), (e: unknown) => {
        assert.ok(e instanceof StorageNotFoundError, `expected StorageNotFoundError, got ${String(e)}`);
        assert.equal(e.key, 'nope/missing');
        return true;
      });
    });

    contractCase('read of a key that is only a prefix of other keys throws StorageNotFoundError', async (d) => {
      await d.put('dir/sub/object', bytes('x'));
      await assertNotFound(d, 'dir/sub');
    });

    contractCase('read with start/end returns the inclusive byte range', async (d) => {
      const body = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      await d.put('range/k', body);
      const cases: { start?: number; end?: number; want: Buffer }[] = [
        { start: 10, end: 19, want: body.subarray(10, 20) },
        { start: 0, end: 0, want: body.subarray(0, 1) },
        { start: 255, end: 255, want: body.subarray(255, 256) },
        { start: 250, want: body.subarray(250) },
        { end: 4, want: body.subarray(0, 5) },
        { start: 0, end: 255, want: body },
        { want: body },
      ];
      for (const c of cases) {
        const got = await readAll(await d.read('range/k', { start: c.start, end: c.end }));
        assert.deepEqual(got, c.want, `range start=${c.start} end=${c.end}`);
      }
    });

    contractCase('read of a range of a large object returns exactly those bytes', async (d) => {
      const body = randomBytes(3 * MiB);
      await d.put('range/large', body);
      const start = MiB + 17;
      const end = 2 * MiB + 4095;
      const got = await readAll(await d.read('range/large', { start, end }));
      assert.equal(got.length, end - start + 1);
      assert.equal(sha256(got), sha256(body.subarray(start, end + 1)));
    });

    contractCase('read: the stream is destroyed when its signal aborts', async (d) => {
      await d.put('abort/read', randomBytes(3 * MiB));
      const ac = new AbortController();
      const stream = await d.read('abort/read', { signal: ac.signal });
      let chunks = 0;
      await assert.rejects(
        (async () => {
          for await (const _chunk of stream) {
            chunks++;
            if (chunks === 1) ac.abort();
            if (chunks > 10_000) break;
          }
        })(),
        (e: unknown) => (e as Error).name === 'AbortError',
      );
      assert.equal(stream.destroyed, true);
    });

    // --- append ---------------------------------------------------------------

    contractCase('append at offset 0 creates the object and resolves with its size', async (d) => {
      const a = randomBytes(1000);
      assert.equal(await d.append('uploads/u1/data', Readable.from([a]), 0), 1000);
      assert.deepEqual(await d.stat('uploads/u1/data'), { size: 1000 });
      assert.deepEqual(await readAll(await d.read('uploads/u1/data')), a);
    });

    contractCase('append of an empty body at offset 0 creates an empty object', async (d) => {
      assert.equal(await d.append('uploads/empty/data', Readable.from([]), 0), 0);
      assert.deepEqual(await d.stat('uploads/empty/data'), { size: 0 });
    });

    contractCase('append at the current size adds the bytes after the old ones', async (d) => {
      const parts = [randomBytes(1), randomBytes(300 * 1024 + 5), randomBytes(7), randomBytes(MiB)];
      let size = 0;
      for (const p of parts) {
        size = await d.append('uploads/u2/data', Readable.from(chunksOf(p, [65536])), size);
      }
      const whole = Buffer.concat(parts);
      assert.equal(size, whole.length);
      assert.deepEqual(await d.stat('uploads/u2/data'), { size: whole.length });
      assert.equal(sha256(await readAll(await d.read('uploads/u2/data'))), sha256(whole));
    });

    contractCase('append at a wrong offset throws StorageOffsetError and changes nothing', async (d) => {
      const key = 'uploads/u3/data';
      const first = randomBytes(100);
      await d.append(key, Readable.from([first]), 0);
      for (const offset of [0, 50, 99, 101, 5000]) {
        await assert.rejects(d.append(key, Readable.from([randomBytes(10)]), offset), (e: unknown) => {
          assert.ok(e instanceof StorageOffsetError, `offset ${offset}: expected StorageOffsetError, got ${String(e)}`);
          assert.equal(e.key, key);
          assert.equal(e.expected, offset);
          assert.equal(e.actual, 100);
          return true;
        });
        assert.deepEqual(await d.stat(key), { size: 100 }, `size changed by append at wrong offset ${offset}`);
      }
      assert.deepEqual(await readAll(await d.read(key)), first);
    });

    contractCase('append at a non-zero offset to a missing object throws StorageOffsetError and creates nothing', async (d) => {
      const key = 'uploads/u4/data';
      await assert.rejects(d.append(key, Readable.from([randomBytes(10)]), 5), (e: unknown) => {
        assert.ok(e instanceof StorageOffsetError, `expected StorageOffsetError, got ${String(e)}`);
        assert.equal(e.expected, 5);
        assert.equal(e.actual, 0);
        return true;
      });
      assert.equal(await d.stat(key), undefined);
    });

    contractCase('append of a stream that errors leaves a size to re-stat and continue from', async (d) => {
      const key = 'uploads/u5/data';
      const head = randomBytes(100);
      const body = randomBytes(2 * MiB);
      await d.append(key, Readable.from([head]), 0);
      const failing = failingStream(chunksOf(body.subarray(0, MiB), [256 * 1024]), new Error('connection reset'));
      await assert.rejects(d.append(key, failing, 100), /connection reset/);
      const after = await d.stat(key);
      assert.ok(after, 'the staging object must survive a failed append');
      // "holds its old bytes or more": old bytes intact, any extra bytes are a prefix of what was sent.
      assert.ok(after.size >= 100 && after.size <= 100 + MiB, `size after failed append: ${after.size}`);
      const kept = await readAll(await d.read(key));
      assert.equal(kept.length, after.size);
      assert.deepEqual(kept.subarray(0, 100), head);
      assert.deepEqual(kept.subarray(100), body.subarray(0, after.size - 100));
      // Continue from the re-stated size with the rest of the body.
      const final = await d.append(key, Readable.from(chunksOf(body.subarray(after.size - 100), [65536])), after.size);
      const whole = Buffer.concat([head, body]);
      assert.equal(final, whole.length);
      assert.equal(sha256(await readAll(await d.read(key))), sha256(whole));
    });

    // --- commit ---------------------------------------------------------------

    contractCase('commit moves a staging object to its final key', async (d) => {
      const body = randomBytes(500 * 1024);
      await d.append('uploads/c1/data', Readable.from([body]), 0);
      await d.commit('uploads/c1/data', 'blobs/sha256/aa/final');
      assert.equal(await d.stat('uploads/c1/data'), undefined);
      await assertNotFound(d, 'uploads/c1/data');
      assert.deepEqual(await d.stat('blobs/sha256/aa/final'), { size: body.length });
      assert.equal(sha256(await readAll(await d.read('blobs/sha256/aa/final'))), sha256(body));
    });

    contractCase('commit onto an existing destination deletes the source and keeps the destination', async (d) => {
      // Different bytes only so the test can tell which object survived.
      const existing = randomBytes(1000);
      const staged = randomBytes(1000);
      await d.put('blobs/sha256/bb/final', existing);
      await d.append('uploads/c2/data', Readable.from([staged]), 0);
      await d.commit('uploads/c2/data', 'blobs/sha256/bb/final');
      assert.equal(await d.stat('uploads/c2/data'), undefined);
      assert.deepEqual(await readAll(await d.read('blobs/sha256/bb/final')), existing);
    });

    // --- delete ---------------------------------------------------------------

    contractCase('delete removes an object', async (d) => {
      await d.put('del/k', bytes('bye'));
      await d.put('del/other', bytes('stay'));
      await d.delete('del/k');
      assert.equal(await d.stat('del/k'), undefined);
      await assertNotFound(d, 'del/k');
      assert.deepEqual(await listAll(d, 'del/'), ['del/other']);
      assert.deepEqual(await readAll(await d.read('del/other')), Buffer.from('stay'));
    });

    contractCase('delete of a missing key succeeds', async (d) => {
      await d.delete('del/never-existed');
      await d.put('del/once', bytes('x'));
      await d.delete('del/once');
      await d.delete('del/once');
      assert.equal(await d.stat('del/once'), undefined);
    });

    // --- list -----------------------------------------------------------------

    contractCase('list returns every key under a prefix, recursively, and none outside it', async (d) => {
      const inside = ['a/x', 'a/b/1', 'a/b/2', 'a/c/d/e/3'];
      const outside = ['ab/1', 'b/a/1', 'aa', 'x/a/1'];
      for (const k of [...inside, ...outside]) await d.put(k, bytes(k));
      await d.append('a/staging/data', Readable.from([bytes('s')]), 0);
      assert.deepEqual((await listAll(d, 'a/')).sort(), [...inside, 'a/staging/data'].sort());
      assert.deepEqual((await listAll(d, 'a/b/')).sort(), ['a/b/1', 'a/b/2']);
      await d.delete('a/b/1');
      assert.deepEqual((await listAll(d, 'a/b/')).sort(), ['a/b/2']);
    });

    contractCase('list of a prefix with no keys yields nothing', async (d) => {
      await d.put('some/key', bytes('x'));
      assert.deepEqual(await listAll(d, 'nothing/here/'), []);
    });

    contractCase('list yields many keys, each once', async (d) => {
      const keys = Array.from({ length: 150 }, (_, i) => `many/${String(i % 7)}/${String(i)}`);
      for (const k of keys) await d.put(k, bytes(k));
      const listed = await listAll(d, 'many/');
      assert.equal(listed.length, keys.length);
      assert.deepEqual([...listed].sort(), [...keys].sort());
    });

    // --- ping -----------------------------------------------------------------

    contractCase('ping resolves on a working backend', async (d) => {
      await d.ping();
      await d.ping();
    });

    // --- bytes round-trip -----------------------------------------------------

    contractCase('bytes round-trip exactly: random 3 MiB via put (bytes and stream) and append', async (d) => {
      const body = randomBytes(3 * MiB);
      const want = sha256(body);
      await d.put('rt/bytes', body);
      await d.put('rt/stream', Readable.from(chunksOf(body, [1, 1000, 16384, 65536, 777777])));
      let size = 0;
      for (const part of chunksOf(body, [1024 * 1024 - 1, 12345, 2 * 1024 * 1024])) {
        size = await d.append('rt/append', Readable.from([part]), size);
      }
      assert.equal(size, body.length);
      await d.commit('rt/append', 'rt/committed');
      for (const k of ['rt/bytes', 'rt/stream', 'rt/committed']) {
        assert.deepEqual(await d.stat(k), { size: body.length }, k);
        assert.equal(sha256(await readAll(await d.read(k))), want, k);
      }
    });
  });
}

// --- helpers -------------------------------------------------------------------

function bytes(s: string): Buffer {
  return Buffer.from(s, 'utf8');
}

function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

async function readAll(s: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of s) parts.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
  return Buffer.concat(parts);
}

/** read(key) must reject with StorageNotFoundError; a stream it wrongly returns is destroyed. */
async function assertNotFound(d: StorageDriver, key: string): Promise<void> {
  let stream: Readable;
  try {
    stream = await d.read(key);
  } catch (e) {
    assert.ok(e instanceof StorageNotFoundError, `read ${key}: expected StorageNotFoundError, got ${String(e)}`);
    return;
  }
  stream.destroy();
  assert.fail(`read ${key} resolved with a stream; expected StorageNotFoundError`);
}

async function listAll(d: StorageDriver, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const k of d.list(prefix)) {
    out.push(k);
    if (out.length > 100_000) throw new Error('list did not end');
  }
  return out;
}

/** Splits `b` into chunks whose sizes cycle through `sizes`. */
function chunksOf(b: Buffer, sizes: number[]): Buffer[] {
  const out: Buffer[] = [];
  let off = 0;
  for (let i = 0; off < b.length; i++) {
    const n = sizes[i % sizes.length]!;
    out.push(b.subarray(off, off + n));
    off += n;
  }
  return out;
}

/** A stream that yields `chunks` (letting the consumer run between them) and then fails with `err`. */
function failingStream(chunks: Buffer[], err: Error): Readable {
  return Readable.from(
    (async function* () {
      for (const c of chunks) {
        yield c;
        await sleep(5);
      }
      throw err;
    })(),
  );
}
