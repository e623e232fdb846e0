import { createCipheriv, createHash, type Hash } from 'node:crypto';

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;

/** Bytes that make each member of a family distinct. */
export const TAIL_BYTES = 32;

/** Largest buffer a family holds; bigger blobs repeat it (1 GiB = 16 x 64 MiB). */
const MAX_BASE = 64 * MiB;

/** One blob to push or pull: shared body parts plus its own tail, and its digest. */
export interface BenchBlob {
  digest: string;
  size: number;
  /** The body, in order; parts are shared between members of a family, never copied. */
  parts: readonly Buffer[];
}

/**
 * Deterministic, incompressible bytes: the AES-128-CTR keystream for a key
 * derived from `seed`. Fast (GB/s) and the same on every run.
 */
export function pseudoRandomBytes(size: number, seed: string): Buffer {
  const key = createHash('sha256').update(seed).digest().subarray(0, 16);
  const cipher = createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
  return Buffer.concat([cipher.update(Buffer.alloc(size)), cipher.final()]);
}

/**
 * Blobs of one size that share one pseudo-random body and differ in their last
 * 32 bytes. Every push can then send new content (no registry can skip it as a
 * duplicate) while the client holds the body once and hashes it once: a
 * member's digest continues a copy of the body's SHA-256 state with its tail.
 */
export class BlobFamily {
  readonly size: number;
  private readonly body: Buffer[];
  private readonly bodyHash: Hash;

  constructor(size: number, seed: string) {
    if (size <= TAIL_BYTES) throw new Error(`blob size ${size} must exceed ${TAIL_BYTES} bytes`);
    this.size = size;
    const bodySize = size - TAIL_BYTES;
    const base = pseudoRandomBytes(Math.min(bodySize, MAX_BASE), seed);
    this.body = [];
    for (let left = bodySize; left > 0; left -= base.length) {
      this.body.push(left >= base.length ? base : base.subarray(0, left));
    }
    this.bodyHash = createHash('sha256');
    for (const part of this.body) this.bodyHash.update(part);
  }

  /** The member called `name`; the same name gives the same blob on every run. */
  member(name: string): BenchBlob {
    const tail = createHash('sha256').update(name).digest();
    const digest = 'sha256:' + this.bodyHash.copy().update(tail).digest('hex');
    return { digest, size: this.size, parts: [...this.body, tail] };
  }
}

/** Cuts a blob body into slices of at most `sliceBytes` (views, no copies). */
export function* slices(blob: BenchBlob, sliceBytes = MiB): Generator<Buffer> {
  for (const part of blob.parts) {
    for (let off = 0; off < part.length; off += sliceBytes) yield part.subarray(off, off + sliceBytes);
  }
}

/** "1MiB", "100MiB", "1GiB": the label used in scenario ids. */
export function sizeLabel(bytes: number): string {
  if (bytes % GiB === 0) return `${bytes / GiB}GiB`;
  if (bytes % MiB === 0) return `${bytes / MiB}MiB`;
  if (bytes % KiB === 0) return `${bytes / KiB}KiB`;
  return `${bytes}B`;
}
