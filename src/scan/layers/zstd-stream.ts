/*
 * Streaming zstd decompression with fzstd, guarded against hostile input.
 *
 * fzstd allocates each frame's whole window and copies the window once per
 * block, so a frame header declaring a 2 GiB window, or a stream of millions
 * of one-byte blocks under a large window, costs memory or CPU far beyond the
 * bytes it produces. A small scanner walks the frame and block headers
 * (RFC 8878 §3.1.1) ahead of the decoder: it refuses windows over
 * MAX_ZSTD_WINDOW and charges every frame and every block its window size
 * against a work budget the caller sizes. It also cuts the input at block
 * boundaries so that each push to fzstd completes at most one block (at most
 * 128 KiB out), and the generator yields after each: memory stays bounded
 * whatever the compression ratio.
 */
import { Decompress } from 'fzstd';

/**
 * The largest window accepted: 8 MiB, what the zstd CLI uses up to level 19
 * and what the Go encoder of containerd and BuildKit uses; `--long` and
 * `--ultra` streams with larger windows are refused.
 */
export const MAX_ZSTD_WINDOW = 8 * 1024 * 1024;
/** RFC 8878 §3.1.1.2.4: Block_Maximum_Size is at most 128 KiB. */
export const MAX_ZSTD_BLOCK = 128 * 1024;

/** Decoder work (bytes of window allocated or copied), shared by every layer of an image. */
export interface ZstdWorkBudget {
  used: number;
  readonly max: number;
}

const FRAME_MAGIC = 0xfd2fb528;
const SKIPPABLE_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;

type State = 'magic' | 'block-header' | 'block-body' | 'checksum' | 'skip';

/** Walks frame and block headers; throws on what it refuses. */
class FrameScanner {
  state: State = 'magic';
  private remaining = 0;
  private window = 0;
  private checksum = false;
  private lastBlock = false;

  constructor(private readonly budget: ZstdWorkBudget) {}

  /**
   * Consumes from `pos`: a whole header, or what is there of a body. Returns
   * the new position, with `header` set to where a header started; undefined
   * when the header at `pos` is not complete yet.
   */
  step(data: Buffer, pos: number): { pos: number; header?: number } | undefined {
    const left = data.length - pos;
    switch (this.state) {
      case 'magic': {
        if (left < 4) return undefined;
        const magic = data.readUInt32LE(pos);
        if ((magic & SKIPPABLE_MASK) >>> 0 === SKIPPABLE_MAGIC) {
          if (left < 8) return undefined;
          this.remaining = data.readUInt32LE(pos + 4);
          this.state = 'skip';
          return { pos: pos + 8, header: pos };
        }
        if (magic !== FRAME_MAGIC) throw new Error('not a zstd frame (bad magic number)');
        const length = this.frameHeader(data, pos);
        return length === undefined ? undefined : { pos: pos + length, header: pos };
      }
      case 'block-header': {
        if (left < 3) return undefined;
        const h = data.readUIntLE(pos, 3);
        const type = (h >> 1) & 3;
        const size = h >>> 3;
        if (type === 3) throw new Error('reserved zstd block type');
        if (size > Math.min(this.window, MAX_ZSTD_BLOCK)) throw new Error(`zstd block of ${size} bytes exceeds the maximum`);
        this.charge(this.window);
        this.lastBlock = (h & 1) === 1;
        this.remaining = type === 1 ? 1 : size; // an RLE block carries one byte
        this.state = 'block-body';
        return { pos: pos + 3, header: pos };
      }
      default: {
        const n = Math.min(this.remaining, left);
        this.remaining -= n;
        if (this.remaining === 0) this.endOfPart();
        return { pos: pos + n };
      }
    }
  }

  /** RFC 8878 §3.1.1.1: the frame header's length once all of it is there, after checking it. */
  private frameHeader(data: Buffer, pos: number): number | undefined {
    if (data.length - pos < 5) return undefined;
    const descriptor = data[pos + 4] as number;
    const singleSegment = (descriptor & 0x20) !== 0;
    if (descriptor & 0x08) throw new Error('zstd frame header has its reserved bit set');
    const dictLength = [0, 1, 2, 4][descriptor & 3] as number;
    const fcsFlag = descriptor >> 6;
    const fcsLength = fcsFlag === 0 ? (singleSegment ? 1 : 0) : ([0, 2, 4, 8][fcsFlag] as number);
    const length = 5 + (singleSegment ? 0 : 1) + dictLength + fcsLength;
    if (data.length - pos < length) return undefined;
    let at = pos + 5;
    let window = 0;
    if (!singleSegment) {
      const wd = data[at++] as number;
      const base = 2 ** (10 + (wd >> 3));
      window = base + (base / 8) * (wd & 7);
    }
    if (dictLength > 0 && data.readUIntLE(at, dictLength) !== 0) throw new Error('zstd dictionaries are not supported');
    at += dictLength;
    if (singleSegment) {
      // Frame_Content_Size is the window; 8 bytes are read as two halves to stay exact.
      window =
        fcsLength === 8
          ? data.readUInt32LE(at) + data.readUInt32LE(at + 4) * 2 ** 32
          : data.readUIntLE(at, fcsLength) + (fcsLength === 2 ? 256 : 0);
    }
    if (window > MAX_ZSTD_WINDOW) {
      throw new Error(`zstd window of ${window} bytes exceeds the ${MAX_ZSTD_WINDOW}-byte limit`);
    }
    this.window = window;
    this.checksum = (descriptor & 0x04) !== 0;
    this.charge(window);
    this.state = 'block-header';
    return length;
  }

  private endOfPart(): void {
    if (this.state === 'block-body' && !this.lastBlock) this.state = 'block-header';
    else if (this.state === 'block-body' && this.checksum) {
      this.state = 'checksum';
      this.remaining = 4;
    } else this.state = 'magic';
  }

  private charge(bytes: number): void {
    this.budget.used += bytes;
    if (this.budget.used > this.budget.max) {
      throw new Error(`zstd decoding work exceeds ${this.budget.max} bytes (too many blocks for the data they hold)`);
    }
  }
}

/**
 * Decompresses a zstd stream (one or more frames, skippable frames allowed).
 * Throws an Error naming the problem for a malformed or truncated stream, a
 * window over MAX_ZSTD_WINDOW, or once the decoding work passes `budget.max`.
 */
export async function* zstdDecompress(source: AsyncIterable<Buffer>, budget: ZstdWorkBudget): AsyncGenerator<Buffer> {
  const out: Buffer[] = [];
  const decoder = new Decompress((data) => {
    if (data.length > 0) out.push(Buffer.from(data));
  });
  const scanner = new FrameScanner(budget);
  let carry = Buffer.alloc(0);
  for await (const chunk of source) {
    const data = carry.length > 0 ? Buffer.concat([carry, chunk]) : chunk;
    let pos = 0;
    let fed = 0;
    for (;;) {
      const step = pos < data.length ? scanner.step(data, pos) : undefined;
      if (!step) break;
      if (step.header !== undefined && step.header > fed) {
        // Everything before this header is whole blocks already checked: decode them.
        decoder.push(data.subarray(fed, step.header));
        fed = step.header;
        yield* out.splice(0);
      }
      pos = step.pos;
    }
    // An incomplete header waits in `carry` for the next chunk, unseen by the decoder.
    if (pos > fed) decoder.push(data.subarray(fed, pos));
    carry = Buffer.from(data.subarray(pos));
    yield* out.splice(0);
  }
  if (carry.length > 0 || scanner.state !== 'magic') throw new Error('zstd stream is truncated');
  decoder.push(new Uint8Array(0), true);
  yield* out.splice(0);
}
