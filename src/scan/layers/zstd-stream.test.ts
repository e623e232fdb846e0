import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { fixture } from './test-helpers.js';
import { MAX_ZSTD_WINDOW, zstdDecompress, type ZstdWorkBudget } from './zstd-stream.js';

const unlimited = (): ZstdWorkBudget => ({ used: 0, max: Number.MAX_SAFE_INTEGER });

async function* pieces(bytes: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}

async function decompress(bytes: Buffer, size = 65536, budget = unlimited()): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const chunk of zstdDecompress(pieces(bytes, size), budget)) out.push(chunk);
  return Buffer.concat(out);
}

/** The sha256 of the tar the zstd CLI compressed (make-zstd-layers.sh). */
const TAR_SHA256 = fixture('layers/layer.tar.sha256').toString().trim();

// RFC 8878 §3.1.1: magic, a frame header with a window descriptor, then blocks.
const MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);
function frame(windowDescriptor: number, blocks: Buffer[]): Buffer {
  return Buffer.concat([MAGIC, Buffer.from([0x00, windowDescriptor]), ...blocks]);
}
/** A block header (3 bytes, little-endian: last flag, type, size) and its content. */
function block(type: 0 | 1, size: number, last: boolean, content: Buffer): Buffer {
  const h = (size << 3) | (type << 1) | (last ? 1 : 0);
  return Buffer.concat([Buffer.from([h & 0xff, (h >> 8) & 0xff, (h >> 16) & 0xff]), content]);
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

test('decompresses what the zstd CLI and pzstd wrote, however the input is cut', async () => {
  for (const name of ['layer.tar.zst', 'two-frames.tar.zst', 'pzstd.tar.zst']) {
    const bytes = fixture(`layers/${name}`);
    for (const size of name === 'pzstd.tar.zst' ? [1, 13, 4096, bytes.length] : [13, 4096, bytes.length]) {
      assert.equal(sha256(await decompress(bytes, size)), TAR_SHA256, `${name} in ${size}-byte pieces`);
    }
  }
});

test('refuses a window over the limit before allocating it', async () => {
  await assert.rejects(decompress(fixture('layers/long-window.tar.zst')), /window of 134217728 bytes exceeds/);
  // A single-segment frame whose 8-byte content size (the window) is 2^40.
  const fcs8 = Buffer.concat([MAGIC, Buffer.from([0xe0]), Buffer.from([0, 0, 0, 0, 0, 1, 0, 0])]);
  await assert.rejects(decompress(fcs8), /window of 1099511627776 bytes/);
});

test('decodes raw and RLE blocks of a hand-built frame', async () => {
  // Window descriptor 0x00: 1 KiB.
  const bytes = frame(0x00, [block(0, 3, false, Buffer.from('abc')), block(1, 5, true, Buffer.from('x'))]);
  assert.equal((await decompress(bytes, 2)).toString(), 'abcxxxxx');
});

test('a stream of tiny blocks under a big window runs out of work budget (bounded by the timeout)', { timeout: 30_000 }, async () => {
  // 8 MiB window (descriptor 13 << 3), then 100000 one-byte raw blocks: fzstd would copy 8 MiB per block.
  const tiny = block(0, 1, false, Buffer.from('z'));
  const bytes = frame(13 << 3, [...Array<Buffer>(100_000).fill(tiny), block(0, 1, true, Buffer.from('z'))]);
  const budget = { used: 0, max: 64 * MAX_ZSTD_WINDOW };
  await assert.rejects(decompress(bytes, 65536, budget), /decoding work exceeds/);
});

test('malformed streams are errors', async () => {
  const good = fixture('layers/layer.tar.zst');
  await assert.rejects(decompress(good.subarray(0, good.length - 100)), /truncated/);
  await assert.rejects(decompress(Buffer.concat([good, Buffer.from('garbage!')])), /bad magic number/);
  await assert.rejects(decompress(frame(0x00, [block(0, 2000, true, Buffer.alloc(2000))])), /block of 2000 bytes exceeds/);
  const reserved = Buffer.concat([MAGIC, Buffer.from([0x00, 0x00, 0x07, 0x00, 0x00])]); // block type 3
  await assert.rejects(decompress(reserved), /reserved zstd block type/);
  const dict = Buffer.concat([MAGIC, Buffer.from([0x01, 0x00, 0x2a])]); // dictionary id 42
  await assert.rejects(decompress(dict), /dictionaries are not supported/);
});
